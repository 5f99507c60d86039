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
    /// The community whose admins answer it; none: the operator.
    pub community_id: Option<i64>,
    /// What a correction asks (JSON), until the request closes.
    pub details: Option<String>,
    /// The answer, in plain words.
    pub answer: Option<String>,
    /// An admin's words to the requester: why it was refused or extended.
    pub note: Option<String>,
    /// Whether it went beyond the law's yearly quota for its kind.
    pub beyond_quota: bool,
    /// Why its last step failed, in plain words, until it is run again.
    pub failure: Option<String>,
}

hearth_core::debug_fields!(PrivacyRequestRow {
    id,
    kind,
    state,
    law,
    manner,
    received_at,
    respond_by,
    extended,
    community_id,
    beyond_quota
});

const COLUMNS: &str = "id, user_id, kind, state, law, manner, received_at, acknowledge_by, \
                       respond_by, extended_to, extended, denial_reason, responded_at, \
                       community_id, details, answer, note, beyond_quota, failure";

/// Which open requests an inbox lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbox {
    /// Those addressed to one community.
    Community(hearth_core::CommunityId),
    /// Every one: the operator's view.
    All,
}

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
             updated_at, community_id, details, answer, note, beyond_quota, failure) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20)")
            .bind(row.id).bind(row.user_id).bind(&row.kind).bind(&row.state).bind(&row.law)
            .bind(&row.manner).bind(row.received_at).bind(&row.acknowledge_by)
            .bind(&row.respond_by).bind(&row.extended_to).bind(row.extended)
            .bind(&row.denial_reason).bind(row.responded_at).bind(now.0)
            .bind(row.community_id).bind(&row.details).bind(&row.answer).bind(&row.note)
            .bind(row.beyond_quota).bind(&row.failure)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Completes a request that is in progress (a copy made), with its answer; a request
    /// refused or closed meanwhile is left as it is. Returns whether it was completed.
    pub async fn complete_request_in_progress(
        &mut self,
        id: i64,
        answer: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "UPDATE privacy_requests SET state = 'completed', responded_at = $2, answer = $3, \
             failure = NULL, updated_at = $2 WHERE id = $1 AND state = 'in_progress'")
            .bind(id).bind(now.0).bind(answer)
            .execute(&mut **c).await?.rows_affected());
        if done > 0 {
            // What verification collected goes when the request closes.
            self.delete_verification(id).await?;
        }
        Ok(done > 0)
    }

    /// Clears the failure a request shows, if it shows one: the one who does so runs the
    /// step again (two admins pressing at once run it once). Returns whether it did.
    pub async fn take_privacy_request_failure(
        &mut self,
        id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "UPDATE privacy_requests SET failure = NULL, updated_at = $2 \
             WHERE id = $1 AND failure IS NOT NULL")
            .bind(id).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(done > 0)
    }

    /// A person's requests, newest first, at most `limit`.
    pub async fn privacy_requests_of(
        &mut self,
        user: UserId,
        limit: i64,
    ) -> Result<Vec<PrivacyRequestRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM privacy_requests WHERE user_id = $1 \
             ORDER BY received_at DESC, id DESC LIMIT $2"
        );
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, PrivacyRequestRow>(sqlx::AssertSqlSafe(sql))
            .bind(user.0).bind(limit).fetch_all(&mut **c).await?),
        )
    }

    /// One request.
    pub async fn privacy_request(
        &mut self,
        id: i64,
    ) -> Result<Option<PrivacyRequestRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM privacy_requests WHERE id = $1");
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, PrivacyRequestRow>(sqlx::AssertSqlSafe(sql))
            .bind(id).fetch_optional(&mut **c).await?),
        )
    }

    /// Requests from the public form still waiting for their person's confirmation, received
    /// before `before` (their link has expired), at most `limit`. Read from the requests
    /// themselves: an erasure by another path takes their verification rows with it.
    pub async fn unconfirmed_expired(
        &mut self,
        before: Timestamp,
        limit: i64,
    ) -> Result<Vec<PrivacyRequestRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM privacy_requests WHERE state = 'received' \
             AND manner IN ('form', 'agent') AND received_at < $1 \
             ORDER BY received_at LIMIT $2"
        );
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, PrivacyRequestRow>(sqlx::AssertSqlSafe(sql))
            .bind(before.0).bind(limit).fetch_all(&mut **c).await?),
        )
    }

    /// Writes a request's new standing, provided it still stands where it was read
    /// (`was_state`): two admins acting at once cannot both move it. Returns whether it was
    /// written.
    pub async fn update_privacy_request(
        &mut self,
        row: &PrivacyRequestRow,
        was_state: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "UPDATE privacy_requests SET state = $3, extended = $4, denial_reason = $5, \
             responded_at = $6, details = $7, answer = $8, note = $9, failure = $10, \
             updated_at = $11 WHERE id = $1 AND state = $2")
            .bind(row.id).bind(was_state).bind(&row.state).bind(row.extended)
            .bind(&row.denial_reason).bind(row.responded_at).bind(&row.details)
            .bind(&row.answer).bind(&row.note).bind(&row.failure).bind(now.0)
            .execute(&mut **c).await?.rows_affected());
        if done > 0 && matches!(row.state.as_str(), "completed" | "denied") {
            // What verification collected goes when the request closes.
            self.delete_verification(row.id).await?;
        }
        Ok(done > 0)
    }

    /// Records why a request's step failed (none: it was run again), whatever its state.
    pub async fn set_privacy_request_failure(
        &mut self,
        id: i64,
        failure: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "UPDATE privacy_requests SET failure = $2, updated_at = $3 WHERE id = $1")
            .bind(id).bind(failure).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Open requests (not completed, not denied) in `inbox`, and closed ones whose last step
    /// failed (an erasure whose recipients could not be told), oldest first, at most `limit`.
    /// Requests from the public form that their person has not confirmed are left out: they
    /// are no one's to act on, and expire by themselves.
    pub async fn open_privacy_requests(
        &mut self,
        inbox: Inbox,
        limit: i64,
    ) -> Result<Vec<PrivacyRequestRow>, StoreError> {
        let (filter, community) = match inbox {
            Inbox::Community(id) => ("community_id = $2 AND", id.0),
            Inbox::All => ("$2 = $2 AND", 0),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM privacy_requests WHERE {filter} \
             (state NOT IN ('completed', 'denied') OR failure IS NOT NULL) \
             AND NOT (state = 'received' AND manner IN ('form', 'agent')) \
             ORDER BY received_at, id LIMIT $1"
        );
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, PrivacyRequestRow>(sqlx::AssertSqlSafe(sql))
            .bind(limit).bind(community).fetch_all(&mut **c).await?),
        )
    }

    /// Every request received from `from` (inclusive) to `to` (exclusive), oldest first:
    /// the request log and the yearly metrics read them.
    pub async fn privacy_requests_received(
        &mut self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<PrivacyRequestRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM privacy_requests WHERE received_at >= $1 AND received_at < $2 \
             ORDER BY received_at, id"
        );
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, PrivacyRequestRow>(sqlx::AssertSqlSafe(sql))
            .bind(from.0).bind(to.0).fetch_all(&mut **c).await?),
        )
    }

    /// How many requests of `kinds` the person made since `since` that were confirmed and
    /// not refused: the yearly quota counts them (a stranger's unconfirmed request on the
    /// public form does not use up the person's quota).
    pub async fn privacy_requests_counted(
        &mut self,
        user: UserId,
        kinds: &[&str],
        since: Timestamp,
    ) -> Result<i64, StoreError> {
        let kinds = kinds.join(",");
        let (count,): (i64,) = dispatch!(self, c => sqlx::query_as(
            "SELECT COUNT(*) FROM privacy_requests WHERE user_id = $1 AND received_at >= $2 \
             AND state NOT IN ('denied', 'received') \
             AND (',' || $3 || ',') LIKE ('%,' || kind || ',%')")
            .bind(user.0).bind(since.0).bind(kinds).fetch_one(&mut **c).await?);
        Ok(count)
    }

    /// How a community answers privacy requests: its law (none: the instance's) and the
    /// kinds its admins approve, as stored.
    pub async fn request_handling(
        &mut self,
        community: hearth_core::CommunityId,
    ) -> Result<Option<(Option<String>, String)>, StoreError> {
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, (Option<String>, String)>(
            "SELECT privacy_law, approved_requests FROM communities WHERE id = $1")
            .bind(community.0).fetch_optional(&mut **c).await?),
        )
    }

    /// Sets how a community answers privacy requests.
    pub async fn set_request_handling(
        &mut self,
        community: hearth_core::CommunityId,
        law: &str,
        approved: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "UPDATE communities SET privacy_law = $2, approved_requests = $3, updated_at = $4 \
             WHERE id = $1")
            .bind(community.0).bind(law).bind(approved).bind(now.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(done > 0)
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
