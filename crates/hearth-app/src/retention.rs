//! The retention sweep: deletes what the data catalog says is kept no longer. Events go once
//! they are older than their catalogued days, audit entries once older than their catalogued
//! months, sessions once they have expired (their lifetime is the `session_days` setting). Deletion runs in bounded batches, one transaction of the
//! writer each, so that a backlog never holds the writer for long.

use crate::{App, AppError};
use futures_util::future::BoxFuture;
use hearth_core::Timestamp;
use hearth_core::catalog::{self, Retention, Table};
use hearth_store::{StoreError, TimeOrderedLog, Tx};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Rows deleted per transaction.
const BATCH: i64 = 500;

/// How long after start-up the first sweep runs: out of the way of a starting node's own work.
const FIRST_SWEEP_AFTER: Duration = Duration::from_secs(60);

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Events past their retention.
    pub events: u64,
    /// Audit entries past their retention.
    pub audit_entries: u64,
    /// Expired sessions.
    pub sessions: u64,
    /// Sign-in meters that neither slow nor trust anyone any more.
    pub sign_in_meters: u64,
    /// Idempotency keys of posts older than a day.
    pub idempotency_keys: u64,
    /// Uploaded files never attached to a message within a day, and files left without a
    /// row.
    pub uploads: u64,
    /// Finished jobs older than their catalogued days.
    pub jobs: u64,
    /// Mailed account links that expired unused.
    pub account_links: u64,
    /// Messages in the outbox older than a week.
    pub outbox: u64,
    /// Records of privacy requests older than their catalogued months.
    pub privacy_requests: u64,
    /// Copies of people's data whose week of download lapsed (files and rows), and failed
    /// ones a week old.
    pub exports: u64,
    /// Webhook deliveries older than their catalogued days.
    pub webhook_deliveries: u64,
    /// Requests from the public form whose link expired unconfirmed: refused as
    /// unverifiable, and what verification collected forgotten.
    pub unconfirmed_requests: u64,
    /// Erased messages whose words a stopped erasure left in the search index.
    pub search_purged: u64,
}

/// When a sweep of one table stops.
#[derive(Debug, Clone, Copy)]
enum Until {
    /// A batch deletes fewer rows than it could: no more are due.
    ShortBatch,
    /// A batch deletes nothing: for deletes that look only at the [`BATCH`] oldest rows of a
    /// time-ordered table, the head then holds nothing old.
    NothingDeleted,
}

/// The instant before which the rows of `table` have outlived the retention the catalog
/// declares for whole rows: a number of days, or of calendar months for legal records.
fn expired_before(table: &str, now: Timestamp) -> Result<Timestamp, AppError> {
    match catalog::table(table).and_then(Table::row_retention) {
        Some(Retention::Days(days)) => Ok(now.plus_seconds(-i64::from(days) * 24 * 3600)),
        Some(Retention::LegalRecordMonths(months)) => Ok(now.minus_months(months)),
        other => Err(AppError::Internal(format!(
            "the catalog gives {table} no retention in days or months ({other:?})"
        ))),
    }
}

impl App {
    /// Deletes events and audit entries older than their catalogued retention and sessions
    /// past their expiry, until none is left; returns how many of each went.
    pub async fn sweep_retention(&self) -> Result<SweepReport, AppError> {
        let now = Timestamp::now();
        let mut report = SweepReport::default();
        for (log, table) in [
            (TimeOrderedLog::Events, "events"),
            (TimeOrderedLog::Audit, "audit_log"),
        ] {
            let before = expired_before(table, now)?;
            let deleted = self
                .sweep(Until::NothingDeleted, move |tx| {
                    Box::pin(async move { tx.conn().delete_old_at_head(log, before, BATCH).await })
                })
                .await?;
            match log {
                TimeOrderedLog::Events => report.events = deleted,
                TimeOrderedLog::Audit => report.audit_entries = deleted,
            }
        }
        report.sessions = self
            .sweep(Until::ShortBatch, move |tx| {
                Box::pin(async move { tx.conn().delete_expired_sessions(now, BATCH).await })
            })
            .await?;
        // A meter counts attempts within an hour; once that has passed and it neither delays
        // nor trusts anyone, it says nothing any more.
        let quiet_since = now.plus_seconds(-3600);
        report.sign_in_meters = self
            .sweep(Until::ShortBatch, move |tx| {
                Box::pin(async move {
                    tx.conn()
                        .delete_stale_sign_in_meters(quiet_since, now, BATCH)
                        .await
                })
            })
            .await?;
        let day_ago = now.plus_seconds(-24 * 3600);
        report.idempotency_keys = self
            .sweep(Until::ShortBatch, move |tx| {
                Box::pin(async move {
                    tx.conn()
                        .delete_idempotency_keys_before(day_ago, BATCH)
                        .await
                })
            })
            .await?;
        report.uploads = self.sweep_uploads().await?;
        let jobs_before = expired_before("jobs", now)?;
        report.jobs = self
            .sweep(Until::ShortBatch, move |tx| {
                Box::pin(async move { tx.conn().delete_finished_jobs(jobs_before, BATCH).await })
            })
            .await?;
        report.account_links = self
            .sweep(Until::ShortBatch, move |tx| {
                Box::pin(async move { tx.conn().delete_expired_account_links(now, BATCH).await })
            })
            .await?;
        report.outbox = self.sweep_outbox(now).await?;
        report.exports = self.sweep_exports(now).await?;
        report.unconfirmed_requests = self.expire_unconfirmed_requests(now).await?;
        // Words of erased people a stopped process left in the search index.
        report.search_purged = self.purge_search_index().await?;
        let deliveries_before = expired_before("webhook_deliveries", now)?;
        report.webhook_deliveries = self
            .sweep(Until::ShortBatch, move |tx| {
                Box::pin(async move {
                    tx.conn()
                        .delete_old_deliveries(deliveries_before, BATCH)
                        .await
                })
            })
            .await?;
        let requests_before = expired_before("privacy_requests", now)?;
        report.privacy_requests = self
            .sweep(Until::ShortBatch, move |tx| {
                Box::pin(async move {
                    tx.conn()
                        .delete_old_privacy_requests(requests_before, BATCH)
                        .await
                })
            })
            .await?;
        Ok(report)
    }

    /// Runs `delete` (which deletes at most [`BATCH`] rows) in one transaction after another
    /// until `until` says the table holds nothing due; returns how many rows went.
    async fn sweep<F>(&self, until: Until, delete: F) -> Result<u64, AppError>
    where
        F: for<'t> Fn(&'t mut Tx) -> BoxFuture<'t, Result<u64, StoreError>>
            + Send
            + Sync
            + Clone
            + 'static,
    {
        let mut total = 0;
        loop {
            let delete = delete.clone();
            let deleted: u64 = self
                .store
                .write(move |tx| delete(tx))
                .await
                .map_err(AppError::from)?;
            total += deleted;
            let done = match until {
                Until::ShortBatch => deleted < BATCH as u64,
                Until::NothingDeleted => deleted == 0,
            };
            if done {
                return Ok(total);
            }
        }
    }
}

/// The kind of the scheduled retention sweep.
pub const RETENTION_SWEEP: &str = "retention.sweep";

/// How often the retention sweep runs.
pub const RETENTION_SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// The retention sweep as a job: scheduled hourly, run by one node at a time.
pub(crate) struct RetentionSweep;

impl crate::JobHandler for RetentionSweep {
    fn kind(&self) -> &'static str {
        RETENTION_SWEEP
    }

    fn run<'a>(
        &'a self,
        app: &'a App,
        _job: &'a hearth_store::JobRow,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let report = app.sweep_retention().await.map_err(|e| e.to_string())?;
            if report != SweepReport::default() {
                tracing::info!(
                    events = report.events,
                    audit_entries = report.audit_entries,
                    sessions = report.sessions,
                    sign_in_meters = report.sign_in_meters,
                    idempotency_keys = report.idempotency_keys,
                    uploads = report.uploads,
                    jobs = report.jobs,
                    account_links = report.account_links,
                    outbox = report.outbox,
                    privacy_requests = report.privacy_requests,
                    exports = report.exports,
                    webhook_deliveries = report.webhook_deliveries,
                    unconfirmed_requests = report.unconfirmed_requests,
                    search_purged = report.search_purged,
                    "retention sweep deleted expired rows"
                );
            }
            Ok(())
        })
    }
}

impl App {
    /// Starts this node's background work: makes sure the schedules exist (once for the
    /// whole instance: their dedupe keys) and, with `run`, registers the built-in jobs and
    /// runs due jobs until the store closes. A node that does not run jobs knows no kind, so
    /// it never claims one.
    pub async fn start_background_work(
        &self,
        node: u16,
        run: bool,
    ) -> Result<Option<JoinHandle<()>>, AppError> {
        self.enqueue(crate::Enqueue {
            dedupe_key: Some(format!("schedule:{RETENTION_SWEEP}")),
            run_at: Timestamp::now().plus_seconds(FIRST_SWEEP_AFTER.as_secs() as i64),
            every: Some(RETENTION_SWEEP_EVERY),
            ..crate::Enqueue::new(RETENTION_SWEEP, "{}")
        })
        .await?;
        if !run {
            return Ok(None);
        }
        self.register_job_handler(std::sync::Arc::new(RetentionSweep));
        Ok(Some(self.spawn_job_runner(node)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_deletes_by_what_the_catalog_declares() {
        let now = Timestamp::now();
        assert!(expired_before("events", now).is_ok_and(|at| at < now));
        assert_eq!(
            expired_before("audit_log", now).ok(),
            Some(now.minus_months(24))
        );
        let sessions = catalog::table("sessions").and_then(Table::row_retention);
        assert_eq!(sessions, Some(Retention::SessionLifetime));
    }
}
