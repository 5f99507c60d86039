//! What verifying a request from the public form collected, and the suppression list of
//! erased identifiers.

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use hearth_core::Timestamp;

/// What verifying a request from the public form collected, until the request closes.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VerificationRow {
    /// The request it verifies.
    pub request_id: i64,
    /// The address the link was mailed to (the person's, for an agent's request).
    pub email: String,
    /// The agent's name, when an agent asked.
    pub agent_name: Option<String>,
    /// The agent's address, when an agent asked.
    pub agent_email: Option<String>,
    /// The agent's account of the person's signed permission.
    pub permission: Option<String>,
    /// When an unconfirmed request expires.
    pub expires_at: i64,
    /// When it was made.
    pub created_at: i64,
}

hearth_core::debug_fields!(VerificationRow {
    request_id,
    expires_at,
    created_at
});

const COLUMNS: &str =
    "request_id, email, agent_name, agent_email, permission, expires_at, created_at";

impl Conn<'_> {
    /// Keeps what verifying a request collected.
    pub async fn insert_verification(&mut self, row: &VerificationRow) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO request_verifications (request_id, email, agent_name, agent_email, \
             permission, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(row.request_id).bind(&row.email).bind(&row.agent_name)
            .bind(&row.agent_email).bind(&row.permission).bind(row.expires_at)
            .bind(row.created_at)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// What verifying `request` collected, while it is open.
    pub async fn verification(
        &mut self,
        request: i64,
    ) -> Result<Option<VerificationRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM request_verifications WHERE request_id = $1");
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, VerificationRow>(sqlx::AssertSqlSafe(sql))
            .bind(request).fetch_optional(&mut **c).await?),
        )
    }

    /// Forgets what verifying `request` collected (it closed).
    pub async fn delete_verification(&mut self, request: i64) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "DELETE FROM request_verifications WHERE request_id = $1")
            .bind(request).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// The addresses at `domain` that requests made since `since` were mailed to and that
    /// are still open.
    pub async fn open_verifications_at(
        &mut self,
        domain: &str,
        since: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        // `_` and `%` in a domain only widen the match: the limit is stricter, never looser.
        let pattern = format!("%@{domain}");
        Ok(dispatch!(self, c => sqlx::query_scalar::<_, String>(
            "SELECT email FROM request_verifications WHERE email LIKE $1 AND created_at >= $2")
            .bind(pattern).bind(since.0).fetch_all(&mut **c).await?))
    }

    /// Puts identifiers on the suppression list (`(digest, kind)`); one already there stays.
    pub async fn suppress_identifiers(
        &mut self,
        digests: &[(String, &'static str)],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        for (digest, kind) in digests {
            dispatch!(self, c => sqlx::query(
                "INSERT INTO erased_identifiers (digest, kind, erased_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (digest) DO NOTHING")
                .bind(digest).bind(*kind).bind(now.0)
                .execute(&mut **c).await?.rows_affected());
        }
        Ok(())
    }

    /// When the identifier whose digest is `digest` was erased, if it was.
    pub async fn suppressed_since(&mut self, digest: &str) -> Result<Option<i64>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_scalar::<_, i64>(
            "SELECT erased_at FROM erased_identifiers WHERE digest = $1")
            .bind(digest).fetch_optional(&mut **c).await?))
    }
}
