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

/// Which kind of secret an entry was resolved from. Sessions and API tokens live in separate
/// key spaces: a session secret must never work as a bearer token, nor the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SecretKind {
    Session,
    Token,
}

/// The kind of secret and the SHA-256 of the secret, never the secret itself.
type CacheKey = (SecretKind, Vec<u8>);

#[derive(Default)]
pub(crate) struct CredentialCache {
    entries: Mutex<HashMap<CacheKey, (Actor, Instant)>>,
}

impl CredentialCache {
    pub(crate) fn get(&self, kind: SecretKind, hash: &[u8]) -> Option<Actor> {
        let entries = self.entries.lock().ok()?;
        let (actor, at) = entries.get(&(kind, hash.to_vec()))?;
        (at.elapsed() < TTL).then(|| actor.clone())
    }

    pub(crate) fn put(&self, kind: SecretKind, hash: Vec<u8>, actor: Actor) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert((kind, hash), (actor, Instant::now()));
        }
    }

    /// Forgets one credential (sign-out, token revocation).
    pub(crate) fn forget(&self, matches: impl Fn(&Credential) -> bool) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (actor, _)| !matches(&actor.credential));
        }
    }

    /// Forgets a person's sessions but `keep` ("sign out everywhere else").
    pub(crate) fn forget_sessions_of(&self, user: UserId, keep: Option<&[u8]>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (actor, _)| match &actor.credential {
                Credential::Session(hash) => actor.user != user || keep == Some(hash.as_slice()),
                _ => true,
            });
        }
    }

    /// Forgets every credential of a person (password change).
    pub(crate) fn forget_user(&self, user: UserId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (actor, _)| actor.user != user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_secret_is_not_a_token_and_the_reverse() {
        let cache = CredentialCache::default();
        let actor = Actor {
            user: UserId(7),
            credential: Credential::Session(vec![1, 2, 3]),
            read_only: false,
        };
        cache.put(SecretKind::Session, vec![1, 2, 3], actor.clone());
        assert_eq!(cache.get(SecretKind::Session, &[1, 2, 3]), Some(actor));
        assert_eq!(cache.get(SecretKind::Token, &[1, 2, 3]), None);
    }
}
