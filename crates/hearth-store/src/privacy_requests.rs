//! The record of privacy requests.

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use hearth_core::{Timestamp, UserId};

/// A privacy request as stored.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PrivacyRequestRow {
    /// Its id.
    pub id: i64,
    /// Whose it is, while they have an account.
    pub user_id: Option<i64>,
    /// What it asks (`RequestKind` code).
    pub kind: String,
    /// Where it stands (`RequestState` code).
    pub state: String,
    /// The law its deadlines follow (`LawProfile` code).
    pub law: String,
    /// How it came: `page`, `api` or `signal`.
    pub manner: String,
    /// When it was received.
    pub received_at: i64,
    /// Confirm receipt by this date, if the law asks.
    pub acknowledge_by: Option<String>,
    /// Answer by this date.
    pub respond_by: String,
    /// Answer by this date once extended, if the law allows.
    pub extended_to: Option<String>,
    /// Whether it was extended.
    pub extended: bool,
    /// Why it was refused (`DenialReason` code).
    pub denial_reason: Option<String>,
    /// When it was answered.
    pub responded_at: Option<i64>,
}

hearth_core::debug_fields!(PrivacyRequestRow {
    id,
    kind,
    state,
    law,
    manner,
    received_at,
    respond_by,
    extended
});

impl Conn<'_> {
    /// Records a request.
    pub async fn insert_privacy_request(
        &mut self,
        row: &PrivacyRequestRow,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO privacy_requests (id, user_id, kind, state, law, manner, received_at, \
             acknowledge_by, respond_by, extended_to, extended, denial_reason, responded_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
            .bind(row.id).bind(row.user_id).bind(&row.kind).bind(&row.state).bind(&row.law)
            .bind(&row.manner).bind(row.received_at).bind(&row.acknowledge_by)
            .bind(&row.respond_by).bind(&row.extended_to).bind(row.extended)
            .bind(&row.denial_reason).bind(row.responded_at).bind(now.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Moves a request to `state`; with `answered`, records when it was answered.
    pub async fn set_privacy_request_state(
        &mut self,
        id: i64,
        state: &str,
        answered: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "UPDATE privacy_requests SET state = $2, \
             responded_at = COALESCE($3, responded_at), updated_at = $4 WHERE id = $1")
            .bind(id).bind(state).bind(answered.map(|a| a.0)).bind(now.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(done > 0)
    }

    /// A person's requests, newest first, at most `limit`.
    pub async fn privacy_requests_of(
        &mut self,
        user: UserId,
        limit: i64,
    ) -> Result<Vec<PrivacyRequestRow>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as::<_, PrivacyRequestRow>(
            "SELECT id, user_id, kind, state, law, manner, received_at, acknowledge_by, \
             respond_by, extended_to, extended, denial_reason, responded_at \
             FROM privacy_requests WHERE user_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2")
            .bind(user.0).bind(limit).fetch_all(&mut **c).await?))
    }

    /// Deletes up to `limit` request records received before `before`.
    pub async fn delete_old_privacy_requests(
        &mut self,
        before: Timestamp,
        limit: i64,
    ) -> Result<u64, StoreError> {
        Ok(dispatch!(self, c => sqlx::query(
            "DELETE FROM privacy_requests WHERE id IN \
             (SELECT id FROM privacy_requests WHERE received_at < $1 LIMIT $2)")
            .bind(before.0).bind(limit).execute(&mut **c).await?.rows_affected()))
    }
}
