//! The `jobs` table: enqueue (once per dedupe key), claim under a lease, and settle.

use crate::StoreError;
use crate::conn::{Conn, dispatch, placeholders};
use hearth_core::jobs::JobState;
use hearth_core::{Timestamp, UserId};

/// A job as stored.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobRow {
    /// Its id.
    pub id: i64,
    /// Which handler runs it.
    pub kind: String,
    /// What it works on, as its handler wrote it (JSON).
    pub payload: String,
    /// Whose data it handles, if anyone's: erasing them deletes it.
    pub user_id: Option<i64>,
    /// Enqueuing again with the same key does nothing while the row exists.
    pub dedupe_key: Option<String>,
    /// Where it stands (see [`JobState`]).
    pub state: String,
    /// When it is (next) due.
    pub run_at: i64,
    /// For a periodic job, its period.
    pub every_ms: Option<i64>,
    /// Attempts made so far.
    pub attempts: i64,
    /// Attempts allowed before it fails for good.
    pub max_attempts: i64,
    /// The node run holding it, while it runs.
    pub lease_owner: Option<String>,
    /// When that hold ends.
    pub lease_until: Option<i64>,
    /// Why the last attempt failed, in plain words.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

impl JobRow {
    /// Its state, parsed.
    pub fn state(&self) -> Result<JobState, StoreError> {
        JobState::parse(&self.state)
            .ok_or_else(|| StoreError::Corrupt(format!("job {} has state {}", self.id, self.state)))
    }
}

/// A job to enqueue.
#[derive(Clone)]
pub struct NewJob<'a> {
    /// Its id.
    pub id: i64,
    /// Which handler runs it.
    pub kind: &'a str,
    /// What it works on (JSON).
    pub payload: &'a str,
    /// Whose data it handles, if anyone's.
    pub user: Option<UserId>,
    /// At most one job with this key exists.
    pub dedupe_key: Option<&'a str>,
    /// When it is first due.
    pub run_at: Timestamp,
    /// Run again this long after each due time.
    pub every_ms: Option<i64>,
    /// Attempts allowed.
    pub max_attempts: i64,
}

// Payloads and errors may name people: debug output shows neither.
hearth_core::debug_fields!(JobRow {
    id,
    kind,
    state,
    run_at,
    every_ms,
    attempts,
    max_attempts
});
hearth_core::debug_fields!(NewJob<'_> {
    id,
    kind,
    run_at,
    every_ms,
    max_attempts
});

const COLUMNS: &str = "id, kind, payload, user_id, dedupe_key, state, run_at, every_ms, \
                       attempts, max_attempts, lease_owner, lease_until, last_error, \
                       created_at, updated_at";

/// Whether a job may be claimed at `$1`: queued and due, or running under a lease that ended
/// (its node died mid-run).
const CLAIMABLE: &str = "((state = 'queued' AND run_at <= $1) \
                         OR (state = 'running' AND lease_until < $1))";

impl Conn<'_> {
    /// Enqueues a job; with a dedupe key another job holds, nothing is written. Returns
    /// whether it was.
    pub async fn enqueue_job(
        &mut self,
        job: &NewJob<'_>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let written = dispatch!(self, c => sqlx::query(
            "INSERT INTO jobs (id, kind, payload, user_id, dedupe_key, state, run_at, every_ms, \
             attempts, max_attempts, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, 0, $8, $9, $9) \
             ON CONFLICT (dedupe_key) DO NOTHING")
            .bind(job.id).bind(job.kind).bind(job.payload).bind(job.user.map(|u| u.0))
            .bind(job.dedupe_key).bind(job.run_at.0).bind(job.every_ms).bind(job.max_attempts)
            .bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(written == 1)
    }

    /// Claims the job due first among `kinds`, for `owner` until `lease_until`. The claim is
    /// one conditional UPDATE that checks again, on the row it changes, that the job is still
    /// claimable: of two nodes that picked the same job, the second changes nothing.
    pub async fn claim_job(
        &mut self,
        kinds: &[&str],
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<JobRow>, StoreError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let kinds_list = placeholders(4, kinds.len());
        let sql = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $2, lease_until = $3, \
             attempts = attempts + 1, updated_at = $1 \
             WHERE id = (SELECT id FROM jobs WHERE {CLAIMABLE} AND kind IN ({kinds_list}) \
                         ORDER BY run_at, id LIMIT 1) \
             AND {CLAIMABLE} RETURNING {COLUMNS}"
        );
        Ok(dispatch!(self, c => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(now.0).bind(owner).bind(lease_until.0);
            for kind in kinds {
                query = query.bind(*kind);
            }
            query.fetch_optional(&mut **c).await?
        }))
    }

    /// Whether a job of one of `kinds` is due at `now` (a read, so that idle nodes do not
    /// write to look).
    pub async fn job_due(&mut self, kinds: &[&str], now: Timestamp) -> Result<bool, StoreError> {
        if kinds.is_empty() {
            return Ok(false);
        }
        let sql = format!(
            "SELECT id FROM jobs WHERE {CLAIMABLE} AND kind IN ({}) LIMIT 1",
            placeholders(2, kinds.len())
        );
        let row: Option<(i64,)> = dispatch!(self, c => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(now.0);
            for kind in kinds {
                query = query.bind(*kind);
            }
            query.fetch_optional(&mut **c).await?
        });
        Ok(row.is_some())
    }

    /// Settles the jobs whose node stopped (or whose lease ran out) during their last
    /// attempt: a one-off job fails with that said, a periodic one comes round again with its
    /// attempts afresh. Without this, a job that crashes its node would be taken up again
    /// for ever. Returns how many.
    pub async fn settle_abandoned_jobs(&mut self, now: Timestamp) -> Result<u64, StoreError> {
        Ok(dispatch!(self, c => sqlx::query(
            "UPDATE jobs SET state = CASE WHEN every_ms IS NULL THEN 'failed' ELSE 'queued' END, \
             attempts = CASE WHEN every_ms IS NULL THEN attempts ELSE 0 END, \
             last_error = 'its node stopped, or its lease ran out, during its last attempt', \
             lease_owner = NULL, lease_until = NULL, updated_at = $1 \
             WHERE state = 'running' AND lease_until < $1 AND attempts >= max_attempts")
            .bind(now.0).execute(&mut **c).await?.rows_affected()))
    }

    /// Ends the leases held by earlier runs of a node (lease owners starting with `prefix`,
    /// other than `owner`, the node's run now), which died with their node: their jobs are
    /// taken over at once, as if the leases had run out, instead of minutes later.
    pub async fn end_leases_of_earlier_runs(
        &mut self,
        prefix: &str,
        owner: &str,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let pattern = format!("{}%", prefix.replace(['%', '_', '\\'], ""));
        Ok(dispatch!(self, c => sqlx::query(
            "UPDATE jobs SET lease_until = $3 \
             WHERE state = 'running' AND lease_owner LIKE $1 AND lease_owner <> $2")
            .bind(pattern).bind(owner).bind(now.0 - 1).execute(&mut **c).await?.rows_affected()))
    }

    /// Extends the lease `owner` holds on a running job to `until`. False when it no longer
    /// holds it (taken over, or cancelled): its handler should stop.
    pub async fn renew_job_lease(
        &mut self,
        id: i64,
        owner: &str,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = dispatch!(self, c => sqlx::query(
            "UPDATE jobs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 \
             AND state = 'running'")
            .bind(id).bind(owner).bind(until.0).execute(&mut **c).await?.rows_affected());
        Ok(changed == 1)
    }

    /// Settles a job `owner` holds: to `state`, due again at `run_at` (a retry or the next
    /// period), with `error`, its attempts counted afresh with `reset` (a periodic job's next
    /// period). False when `owner` no longer holds it (its lease ran out and another node
    /// took it, or it was cancelled): then nothing changes.
    pub async fn settle_job(
        &mut self,
        (id, owner): (i64, &str),
        state: JobState,
        run_at: Option<Timestamp>,
        error: Option<&str>,
        reset: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = dispatch!(self, c => sqlx::query(
            "UPDATE jobs SET state = $3, run_at = COALESCE($4, run_at), last_error = $5, \
             attempts = CASE WHEN $6 THEN 0 ELSE attempts END, \
             lease_owner = NULL, lease_until = NULL, updated_at = $7 \
             WHERE id = $1 AND state = 'running' AND lease_owner = $2")
            .bind(id).bind(owner).bind(state.as_str()).bind(run_at.map(|t| t.0)).bind(error)
            .bind(reset).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(changed == 1)
    }

    /// Replaces a finished job's payload with an empty object: what it held (a mail's
    /// address and letter) is not kept once it is done.
    pub async fn forget_job_payload(&mut self, id: i64) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query("UPDATE jobs SET payload = '{}' WHERE id = $1")
            .bind(id).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// A job by id.
    pub async fn job(&mut self, id: i64) -> Result<Option<JobRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
        Ok(
            dispatch!(self, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id).fetch_optional(&mut **c).await?),
        )
    }

    /// Up to `limit` jobs, newest first, of one state or all.
    pub async fn jobs(
        &mut self,
        state: Option<JobState>,
        limit: i64,
    ) -> Result<Vec<JobRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM jobs WHERE ($1 = '' OR state = $1) ORDER BY id DESC LIMIT $2"
        );
        Ok(
            dispatch!(self, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(state.map_or("", JobState::as_str)).bind(limit).fetch_all(&mut **c).await?),
        )
    }

    /// Queues a failed or cancelled job to run again now (a job cancelled mid-run: once the
    /// lease of that run has ended, so that the two never overlap), with its attempts afresh.
    /// False when it is not failed or cancelled.
    pub async fn requeue_job(&mut self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        let changed = dispatch!(self, c => sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, updated_at = $2, \
             run_at = CASE WHEN lease_until IS NOT NULL AND lease_until > $2 \
                           THEN lease_until ELSE $2 END, \
             lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND state IN ('failed', 'cancelled')")
            .bind(id).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(changed == 1)
    }

    /// Cancels a job that has not finished. A running one finishes its attempt (its lease is
    /// kept, so a retry waits for it), but its end is not recorded over the cancellation.
    /// Built-in schedules (dedupe keys `schedule:...`) cannot be cancelled: nothing would
    /// bring them back. False when it had already finished, or is such a schedule.
    pub async fn cancel_job(&mut self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        let changed = dispatch!(self, c => sqlx::query(
            "UPDATE jobs SET state = 'cancelled', updated_at = $2 \
             WHERE id = $1 AND state IN ('queued', 'running', 'failed') \
             AND (dedupe_key IS NULL OR dedupe_key NOT LIKE 'schedule:%')")
            .bind(id).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(changed == 1)
    }

    /// The ids of the jobs of `kind` done for `user`, as long as their rows are kept.
    pub async fn job_ids_for(&mut self, user: UserId, kind: &str) -> Result<Vec<i64>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_scalar(
            "SELECT id FROM jobs WHERE user_id = $1 AND kind = $2 ORDER BY id")
            .bind(user.0).bind(kind).fetch_all(&mut **c).await?))
    }

    /// Deletes up to `limit` finished jobs (done, failed or cancelled) last changed before
    /// `before`; returns how many.
    pub async fn delete_finished_jobs(
        &mut self,
        before: Timestamp,
        limit: i64,
    ) -> Result<u64, StoreError> {
        Ok(dispatch!(self, c => sqlx::query(
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs \
             WHERE state IN ('done', 'failed', 'cancelled') AND updated_at < $1 LIMIT $2)")
            .bind(before.0).bind(limit).execute(&mut **c).await?.rows_affected()))
    }
}
