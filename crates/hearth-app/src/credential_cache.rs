//! A short-lived, per-node memory of resolved credentials, so that a busy client does not cost
//! a database read per request. Revocations on this node take effect at once; a revocation
//! made through another node takes effect here within [`TTL`].

use crate::actor::{Actor, Credential};
use hearth_core::UserId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a resolved credential is trusted without asking the database again.
pub(crate) const TTL: Duration = Duration::from_secs(5);
/// Beyond this many entries the cache starts over, bounding its memory.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub(crate) struct CredentialCache {
    /// Keyed by the SHA-256 of the secret, never the secret itself.
    entries: Mutex<HashMap<Vec<u8>, (Actor, Instant)>>,
}

impl CredentialCache {
    pub(crate) fn get(&self, hash: &[u8]) -> Option<Actor> {
        let entries = self.entries.lock().ok()?;
        let (actor, at) = entries.get(hash)?;
        (at.elapsed() < TTL).then(|| actor.clone())
    }

    pub(crate) fn put(&self, hash: Vec<u8>, actor: Actor) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(hash, (actor, Instant::now()));
        }
    }

    /// Forgets one credential (sign-out, token revocation).
    pub(crate) fn forget(&self, matches: impl Fn(&Credential) -> bool) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (actor, _)| !matches(&actor.credential));
        }
    }

    /// Forgets every credential of a person (password change).
    pub(crate) fn forget_user(&self, user: UserId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (actor, _)| actor.user != user);
        }
    }
}
