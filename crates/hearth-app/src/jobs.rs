//! Background jobs: durable, typed, run by whichever node claims them first. Compliance work
//! (retention, and next mail, exports and erasure) goes through here, never through a task a
//! restart would lose.
//!
//! A handler is an idempotent piece of work of one kind: it may run again after a crash
//! between doing its work and recording it done. A failed attempt waits longer each time
//! (see [`retry_delay_secs`]) and after its last one the job stops in the failed state with
//! its error, for an operator to see (`hearth jobs list --state failed`) and retry. A
//! periodic job is queued again for its next period instead, keeping its last error.

use crate::{App, AppError};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use hearth_core::jobs::{JobState, next_run, retry_delay_secs};
use hearth_core::{Timestamp, UserId};
use hearth_store::{JobRow, NewJob};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How long a node holds a job it claimed: a node that dies mid-run gives the job up to
/// another after this. Handlers finish well within it.
pub const LEASE: Duration = Duration::from_secs(300);

/// How often a node looks for due jobs when nothing wakes it.
const POLL: Duration = Duration::from_secs(1);

/// Jobs one pass runs at most, so that a long queue does not starve the node's other work.
const PER_PASS: usize = 100;

/// Claims a pass retries after another runner took the job it picked.
const MAX_COLLISIONS: usize = 20;

/// Attempts a job gets unless it asks for another number.
pub const DEFAULT_ATTEMPTS: i64 = 5;

/// The later of a pass's clock and the real one: a pass that has run a while counts leases
/// and retries from now, and a test's clock set ahead is kept.
fn later(now: Timestamp) -> Timestamp {
    Timestamp(now.0.max(Timestamp::now().0))
}

/// One kind of job and how to run it.
pub trait JobHandler: Send + Sync {
    /// The kind it runs; stored with each job.
    fn kind(&self) -> &'static str;

    /// Runs one job. An error says, in plain words and without personal data, why it failed.
    fn run<'a>(&'a self, app: &'a App, job: &'a JobRow) -> BoxFuture<'a, Result<(), String>>;

    /// Whether its payload holds personal data (a mail's address and letter): then it is
    /// forgotten once the job is done, rather than kept with the finished job's row for
    /// weeks. A failed job keeps it, so that an operator can run it again.
    fn payload_is_personal(&self) -> bool {
        false
    }
}

/// The handlers a node knows.
#[derive(Default)]
pub(crate) struct JobRegistry {
    handlers: RwLock<Vec<Arc<dyn JobHandler>>>,
}

impl JobRegistry {
    fn kinds(&self) -> Vec<&'static str> {
        self.handlers
            .read()
            .map(|h| h.iter().map(|h| h.kind()).collect())
            .unwrap_or_default()
    }

    fn handler(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers
            .read()
            .ok()?
            .iter()
            .find(|h| h.kind() == kind)
            .cloned()
    }
}

/// A job to enqueue.
#[derive(Clone)]
pub struct Enqueue {
    /// Which handler runs it.
    pub kind: &'static str,
    /// What it works on (JSON, read by its handler).
    pub payload: String,
    /// Whose data it handles, if anyone's: erasing them deletes the job.
    pub user: Option<UserId>,
    /// At most one job with this key exists at a time.
    pub dedupe_key: Option<String>,
    /// When it is first due.
    pub run_at: Timestamp,
    /// Run it again this often, for ever.
    pub every: Option<Duration>,
    /// Attempts allowed.
    pub max_attempts: i64,
}

// A payload may name people: debug output leaves it out.
hearth_core::debug_fields!(Enqueue {
    kind,
    run_at,
    every,
    max_attempts
});

impl Enqueue {
    /// A job of `kind` with `payload`, due now, allowed [`DEFAULT_ATTEMPTS`].
    pub fn new(kind: &'static str, payload: impl Into<String>) -> Self {
        Self {
            kind,
            payload: payload.into(),
            user: None,
            dedupe_key: None,
            run_at: Timestamp::now(),
            every: None,
            max_attempts: DEFAULT_ATTEMPTS,
        }
    }
}

/// How one attempt at a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// It finished (a periodic job is queued for its next period).
    Done,
    /// It failed and runs again at the given time.
    Retrying(Timestamp),
    /// It failed its last attempt and stops, with this error.
    Failed(String),
    /// Its lease ran out before it finished, and another node took it over or an operator
    /// cancelled it: what it did is not recorded.
    LostLease,
}

/// One attempt made by [`App::run_due_jobs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    /// The job.
    pub id: i64,
    /// Its kind.
    pub kind: String,
    /// How it ended.
    pub outcome: JobOutcome,
}

impl App {
    /// Adds a handler for a kind of job (built-in ones are added at start).
    pub fn register_job_handler(&self, handler: Arc<dyn JobHandler>) {
        if let Ok(mut handlers) = self.jobs.handlers.write() {
            handlers.retain(|h| h.kind() != handler.kind());
            handlers.push(handler);
        }
    }

    /// Enqueues a job; returns its id, or `None` when a job with its dedupe key exists.
    pub async fn enqueue(&self, job: Enqueue) -> Result<Option<i64>, AppError> {
        let id = self.store.next_id();
        let every_ms = job
            .every
            .map(|e| i64::try_from(e.as_millis()).unwrap_or(i64::MAX));
        let written = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let new = NewJob {
                        id,
                        kind: job.kind,
                        payload: &job.payload,
                        user: job.user,
                        dedupe_key: job.dedupe_key.as_deref(),
                        run_at: job.run_at,
                        every_ms,
                        max_attempts: job.max_attempts.max(1),
                    };
                    Ok::<_, AppError>(tx.conn().enqueue_job(&new, Timestamp::now()).await?)
                })
            })
            .await?;
        Ok(written.then_some(id))
    }

    /// Runs the jobs due at `now` that this node has handlers for, one at a time, as
    /// `owner` (a name unique to this runner), up to a pass's worth; returns what each
    /// attempt came to. The background runner calls it with the clock's time; tests with
    /// their own.
    pub async fn run_due_jobs(&self, owner: &str, now: Timestamp) -> Result<Vec<JobRun>, AppError> {
        let kinds = self.jobs.kinds();
        let mut runs = Vec::new();
        let mut collisions = 0;
        // Looked for with a read first: an idle node costs the writer nothing.
        if !self
            .store
            .reader()
            .await?
            .conn()
            .job_due(&kinds, now)
            .await?
        {
            return Ok(runs);
        }
        while runs.len() < PER_PASS {
            let claimed = {
                let kinds = kinds.clone();
                let owner = owner.to_string();
                // The lease counts from when the job is claimed, not from when the pass began.
                let lease_until = later(now).plus_seconds(LEASE.as_secs() as i64);
                self.store
                    .write(move |tx| {
                        Box::pin(async move {
                            tx.conn().settle_abandoned_jobs(now).await?;
                            Ok::<_, AppError>(
                                tx.conn()
                                    .claim_job(&kinds, &owner, now, lease_until)
                                    .await?,
                            )
                        })
                    })
                    .await?
            };
            let Some(job) = claimed else {
                // Another runner took the job this one picked (on PostgreSQL the claim then
                // changes nothing): look again, a few times, while jobs are still due.
                collisions += 1;
                if collisions <= MAX_COLLISIONS
                    && self
                        .store
                        .reader()
                        .await?
                        .conn()
                        .job_due(&kinds, now)
                        .await?
                {
                    continue;
                }
                break;
            };
            let outcome = self.attempt(owner, &job, now).await?;
            runs.push(JobRun {
                id: job.id,
                kind: job.kind,
                outcome,
            });
        }
        Ok(runs)
    }

    /// Runs one claimed job and records how it went.
    async fn attempt(
        &self,
        owner: &str,
        job: &JobRow,
        now: Timestamp,
    ) -> Result<JobOutcome, AppError> {
        let handler = self.jobs.handler(&job.kind);
        let personal = handler.as_ref().is_some_and(|h| h.payload_is_personal());
        let result = match handler {
            // A handler that panics fails its attempt like one that returns an error; the
            // runner, and the node's other jobs, carry on.
            Some(handler) => {
                let work = std::panic::AssertUnwindSafe(handler.run(self, job))
                    .catch_unwind()
                    .map(|r| r.unwrap_or_else(|_| Err("the job's handler panicked".to_string())));
                match self.while_leased(job.id, owner, work).await? {
                    Some(result) => result,
                    None => return Ok(JobOutcome::LostLease),
                }
            }
            None => Err(format!("no handler for jobs of kind {}", job.kind)),
        };
        // Retries and next periods count from the attempt's end.
        let now = later(now);
        let (state, run_at, error, outcome) = match (result, job.every_ms) {
            (Ok(()), Some(every)) => {
                let next = next_run(Timestamp(job.run_at), every, now);
                (JobState::Queued, Some(next), None, JobOutcome::Done)
            }
            (Ok(()), None) => (JobState::Done, None, None, JobOutcome::Done),
            (Err(error), every) if job.attempts >= job.max_attempts => {
                tracing::warn!(job = job.id, kind = %job.kind, attempts = job.attempts, "a job failed its last attempt");
                match every {
                    // A schedule carries on; its error stays on show until a run succeeds.
                    Some(every) => {
                        let next = next_run(Timestamp(job.run_at), every, now);
                        (
                            JobState::Queued,
                            Some(next),
                            Some(error.clone()),
                            JobOutcome::Failed(error),
                        )
                    }
                    None => (
                        JobState::Failed,
                        None,
                        Some(error.clone()),
                        JobOutcome::Failed(error),
                    ),
                }
            }
            (Err(error), _) => {
                let at = now.plus_seconds(retry_delay_secs(job.attempts));
                tracing::info!(job = job.id, kind = %job.kind, attempts = job.attempts, "a job failed; it runs again later");
                (
                    JobState::Queued,
                    Some(at),
                    Some(error),
                    JobOutcome::Retrying(at),
                )
            }
        };
        let owner = owner.to_string();
        let id = job.id;
        // A periodic job's next period starts its attempts afresh, whatever this one did.
        let reset = job.every_ms.is_some()
            && state == JobState::Queued
            && (error.is_none() || job.attempts >= job.max_attempts);
        let settled = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let settled = tx
                        .conn()
                        .settle_job(
                            (id, &owner),
                            state,
                            run_at,
                            error.as_deref(),
                            reset,
                            Timestamp::now(),
                        )
                        .await?;
                    if settled && personal && state == JobState::Done {
                        tx.conn().forget_job_payload(id).await?;
                    }
                    Ok::<_, AppError>(settled)
                })
            })
            .await?;
        Ok(if settled {
            outcome
        } else {
            JobOutcome::LostLease
        })
    }

    /// Runs `work` while renewing `owner`'s lease on job `id` every third of [`LEASE`], so
    /// that a long job is not taken over while it runs. `None` when a renewal finds the lease
    /// gone (another node took the job, or an operator cancelled it): the work is dropped.
    async fn while_leased<T>(
        &self,
        id: i64,
        owner: &str,
        work: impl std::future::Future<Output = T>,
    ) -> Result<Option<T>, AppError> {
        let every = LEASE / 3;
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tokio::pin!(work);
        loop {
            tokio::select! {
                done = &mut work => return Ok(Some(done)),
                _ = renew.tick() => {
                    let owner = owner.to_string();
                    let until = Timestamp::now().plus_seconds(LEASE.as_secs() as i64);
                    let kept = self
                        .store
                        .write(move |tx| {
                            Box::pin(async move {
                                Ok::<_, AppError>(tx.conn().renew_job_lease(id, &owner, until).await?)
                            })
                        })
                        .await?;
                    if !kept {
                        tracing::warn!(job = id, "a job's lease was lost while it ran; it stops here");
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Runs due jobs until the store closes: a pass every second, each as this node.
    pub fn spawn_job_runner(&self, node: u16) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        let owner = format!(
            "node-{node}-{}",
            crate::secrets::random_token(6).unwrap_or_default()
        );
        tokio::spawn(async move {
            // Node numbers are unique among running nodes, so leases of this number's other
            // runs were held by a run that died: its jobs need not wait for them to run out.
            let prefix = format!("node-{node}-");
            let mine = owner.clone();
            let ended = app
                .store
                .write(move |tx| {
                    Box::pin(async move {
                        let now = Timestamp::now();
                        Ok::<_, AppError>(
                            tx.conn()
                                .end_leases_of_earlier_runs(&prefix, &mine, now)
                                .await?,
                        )
                    })
                })
                .await;
            match ended {
                Ok(0) => {}
                Ok(jobs) => tracing::info!(jobs, "took back jobs this node held when it stopped"),
                Err(error) => tracing::warn!(%error, "cannot take back this node's earlier jobs"),
            }
            loop {
                match app.run_due_jobs(&owner, Timestamp::now()).await {
                    Ok(runs) if runs.len() == PER_PASS => continue,
                    Ok(_) => {}
                    Err(AppError::Store(hearth_store::StoreError::Unavailable)) => return,
                    Err(error) => tracing::warn!(%error, "running jobs failed"),
                }
                tokio::time::sleep(POLL).await;
            }
        })
    }

    /// Up to `limit` jobs, newest first, of one state or all (for operators).
    pub async fn jobs(&self, state: Option<JobState>, limit: i64) -> Result<Vec<JobRow>, AppError> {
        let mut reader = self.store.reader().await?;
        Ok(reader.conn().jobs(state, limit).await?)
    }

    /// Queues a failed or cancelled job to run again now (for operators).
    pub async fn retry_job(&self, id: i64) -> Result<(), AppError> {
        let requeued = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    Ok::<_, AppError>(tx.conn().requeue_job(id, Timestamp::now()).await?)
                })
            })
            .await?;
        self.changed_job(
            id,
            requeued,
            "only a failed or cancelled job can be retried",
        )
        .await
    }

    /// Cancels a job that has not finished (for operators).
    pub async fn cancel_job(&self, id: i64) -> Result<(), AppError> {
        let cancelled = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    Ok::<_, AppError>(tx.conn().cancel_job(id, Timestamp::now()).await?)
                })
            })
            .await?;
        self.changed_job(
            id,
            cancelled,
            "the job has finished, or is a built-in schedule, which cannot be cancelled",
        )
        .await
    }

    /// The answer to an operator's change to job `id`: done if `changed`, else not found or
    /// refused with `refusal`.
    async fn changed_job(
        &self,
        id: i64,
        changed: bool,
        refusal: &'static str,
    ) -> Result<(), AppError> {
        if changed {
            Ok(())
        } else if self.store.reader().await?.conn().job(id).await?.is_none() {
            Err(hearth_core::DomainError::NotFound("job").into())
        } else {
            Err(hearth_core::DomainError::Conflict(refusal).into())
        }
    }
}
