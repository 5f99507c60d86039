//! The one audit writer: every use case that writes calls [`record`] inside its transaction,
//! so the entry commits or rolls back with the write it describes.

use hearth_core::audit::{AuditAction, AuditEntry, ObjectKind};
use hearth_core::{CommunityId, UserId};
use hearth_store::Tx;

/// Appends one audit entry to the transaction.
pub(crate) fn record(
    tx: &mut Tx,
    actor: Option<UserId>,
    action: AuditAction,
    object: (ObjectKind, Option<i64>),
    community: Option<CommunityId>,
) {
    tx.append_audit(AuditEntry {
        actor,
        action,
        object_kind: object.0,
        object_id: object.1,
        community,
    });
}

impl crate::App {
    /// The newest audit entries written by one account (the operator's view, and tests').
    pub async fn audit_by_actor(
        &self,
        actor: UserId,
        limit: i64,
    ) -> Result<Vec<hearth_store::AuditRecord>, crate::AppError> {
        let mut reader = self.store.reader().await?;
        Ok(reader
            .conn()
            .audit_by_actor(actor, limit.clamp(1, 1000))
            .await?)
    }
}
