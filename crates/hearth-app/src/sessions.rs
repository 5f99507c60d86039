//! One's signed-in sessions: the list in the account settings, signing one of them out, and
//! "sign out everywhere else".

use crate::audit::record;
use crate::{Actor, App, AppError, Credential};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::model::SessionInfo;
use hearth_core::{DomainError, Timestamp};

/// The name a session goes by in lists: the first bytes of the hash of its secret, which
/// tell sessions apart without being of any use to sign in with.
fn session_id(hash: &[u8]) -> String {
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

impl App {
    /// The caller's sessions, most recently used first.
    pub async fn sessions(&self, actor: &Actor) -> Result<Vec<SessionInfo>, AppError> {
        let mut reader = self.store.reader().await?;
        let sessions = reader
            .conn()
            .sessions_of(actor.user, Timestamp::now())
            .await?;
        let current = match &actor.credential {
            Credential::Session(hash) => Some(hash.as_slice()),
            _ => None,
        };
        Ok(sessions
            .into_iter()
            .map(|s| SessionInfo {
                id: session_id(&s.token_hash),
                created_at: Timestamp(s.created_at),
                last_seen_at: Timestamp(s.last_seen_at),
                expires_at: Timestamp(s.expires_at),
                current: current == Some(s.token_hash.as_slice()),
                device: s.device.unwrap_or_else(|| "Unknown device".into()),
                network: s.network,
            })
            .collect())
    }

    /// Signs out one of the caller's sessions, named by its id from [`App::sessions`].
    pub async fn end_session(&self, actor: &Actor, id: &str) -> Result<(), AppError> {
        let user = actor.user;
        let id = id.to_string();
        let ended = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let sessions = tx.conn().sessions_of(user, Timestamp::now()).await?;
                    let hash = sessions
                        .into_iter()
                        .map(|s| s.token_hash)
                        .find(|hash| session_id(hash) == id)
                        .ok_or(DomainError::NotFound("session"))?;
                    tx.conn().delete_session(&hash).await?;
                    record(
                        tx,
                        Some(user),
                        AuditAction::SignedOut,
                        (ObjectKind::User, Some(user.0)),
                        None,
                    );
                    Ok::<_, AppError>(hash)
                })
            })
            .await?;
        self.credentials
            .forget(|c| matches!(c, Credential::Session(hash) if *hash == ended));
        Ok(())
    }

    /// Signs out every session of the caller's but the one making the request (all of them
    /// when the request comes with an API token); returns how many ended.
    pub async fn end_other_sessions(&self, actor: &Actor) -> Result<u64, AppError> {
        let user = actor.user;
        let keep = match &actor.credential {
            Credential::Session(hash) => Some(hash.clone()),
            _ => None,
        };
        let kept = keep.clone();
        let ended = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let ended = tx
                        .conn()
                        .delete_other_sessions(user, keep.as_deref())
                        .await?;
                    // A change of address asked for from a session that was just ended may
                    // have been someone else's.
                    tx.conn().delete_pending_address_changes(user).await?;
                    if ended > 0 {
                        record(
                            tx,
                            Some(user),
                            AuditAction::SessionsEnded,
                            (ObjectKind::User, Some(user.0)),
                            None,
                        );
                    }
                    Ok::<_, AppError>(ended)
                })
            })
            .await?;
        // This node forgets them at once; others within the credential cache's few seconds.
        self.credentials.forget_sessions_of(user, kept.as_deref());
        Ok(ended)
    }
}
