//! Checkpoints of SQLite's write-ahead log, kept off the commit path.
//!
//! The writer never checkpoints (`wal_autocheckpoint=0`): a checkpoint copies pages into the
//! database file and flushes it, and run inside a commit it makes every post waiting on that
//! commit pay for it. A task of its own, on a connection of its own, does the work instead:
//! - a PASSIVE checkpoint shortly after commits; it never holds the writer back;
//! - a RESTART when the log has grown long all the same: while commits keep landing during
//!   passive checkpoints, SQLite never finds the log fully copied and never starts it over, so
//!   now and then new commits wait a moment for the last frames to be copied;
//! - a TRUNCATE soon after a job that deleted personal text asks for one: the log still holds
//!   the pages as they were before the delete, and truncating it is what removes them. One
//!   TRUNCATE serves every request made before it starts, and they run at most once every
//!   [`TRUNCATE_AT_MOST_EVERY`]: a run of deletes defers its requests, never drops them, and
//!   the pages of each are gone within that interval (plus a checkpoint's time) of its commit.
//!
//! RESTART and TRUNCATE need the database's write lock. Polling for it against a busy writer
//! (SQLite's busy handler sleeps, it does not queue) can take a hundred milliseconds or fail,
//! so they take turns with the writer through a gate instead: the writer holds the gate
//! shared for each batch, a blocking checkpoint holds it alone, and gets its turn as soon as
//! the batch in progress has committed.

use crate::StoreError;
use sqlx::SqliteConnection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OwnedRwLockReadGuard, RwLock, watch};

/// How soon after a commit a passive checkpoint runs, and so how often at most.
const PASSIVE_EVERY: Duration = Duration::from_millis(250);
/// Frames in the log beyond which a RESTART checkpoint makes SQLite start it over: 32 MiB of
/// 4 KiB pages, half the size the log is cut back to.
const RESTART_AFTER_FRAMES: i64 = 8192;
/// How soon a blocking checkpoint that could not finish (a long reader) is tried again, at
/// first and at most.
const RETRY_AFTER: Duration = Duration::from_millis(100);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);
/// The least time between the starts of two TRUNCATE checkpoints: each holds new commits back
/// while it runs, so deletes in quick succession share one instead of stalling the writer
/// again and again.
const TRUNCATE_AT_MOST_EVERY: Duration = Duration::from_secs(1);

/// A handle to the checkpointer task; cheap to clone.
#[derive(Clone)]
pub(crate) struct Checkpoints {
    shared: Arc<Shared>,
}

struct Shared {
    /// Commits since start, counted by the writer.
    commits: AtomicU64,
    /// Truncations asked for since start.
    truncations_wanted: AtomicU64,
    stopping: AtomicBool,
    /// Woken by every commit.
    committed: Notify,
    /// Woken by truncation requests and stop.
    urgent: Notify,
    progress: watch::Sender<Progress>,
    /// Shared by the writer's batches, taken alone by blocking checkpoints.
    gate: Arc<RwLock<()>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    /// Truncation requests satisfied: every request numbered up to this one.
    truncations_done: u64,
    /// TRUNCATE checkpoints started, finished or not.
    truncations_run: u64,
    stopped: bool,
}

/// The checkpoint modes Hearth uses.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Passive,
    Restart,
    Truncate,
}

impl Mode {
    fn statement(self) -> &'static str {
        match self {
            Mode::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
            Mode::Restart => "PRAGMA wal_checkpoint(RESTART)",
            Mode::Truncate => "PRAGMA wal_checkpoint(TRUNCATE)",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Mode::Passive => "passive",
            Mode::Restart => "restart",
            Mode::Truncate => "truncate",
        }
    }
}

/// What SQLite reports after a checkpoint.
#[derive(Debug, sqlx::FromRow)]
struct Outcome {
    /// 1 when a blocking checkpoint could not get the locks it waits for.
    busy: i64,
    /// Frames in the log.
    log: i64,
    /// Frames of the log now copied into the database file.
    checkpointed: i64,
}

impl Checkpoints {
    /// Starts the checkpointer on its own connection to the database.
    pub(crate) fn start(conn: SqliteConnection) -> Self {
        let (progress, _) = watch::channel(Progress::default());
        let shared = Arc::new(Shared {
            commits: AtomicU64::new(0),
            truncations_wanted: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            committed: Notify::new(),
            urgent: Notify::new(),
            progress,
            gate: Arc::new(RwLock::new(())),
        });
        tokio::spawn(run(conn, shared.clone()));
        Self { shared }
    }

    /// The writer's pass for one batch: while it is held, no blocking checkpoint runs.
    pub(crate) async fn pass(&self) -> OwnedRwLockReadGuard<()> {
        self.shared.gate.clone().read_owned().await
    }

    /// Tells the checkpointer that the writer committed.
    pub(crate) fn committed(&self) {
        self.shared.commits.fetch_add(1, Ordering::Release);
        self.shared.committed.notify_one();
    }

    /// Asks for the log to be truncated soon; returns the request's number.
    pub(crate) fn request_truncate(&self) -> u64 {
        let number = self
            .shared
            .truncations_wanted
            .fetch_add(1, Ordering::AcqRel)
            + 1;
        self.shared.urgent.notify_one();
        number
    }

    /// Truncates the log and returns once that is done.
    pub(crate) async fn truncate(&self) -> Result<(), StoreError> {
        let number = self.request_truncate();
        let mut progress = self.shared.progress.subscribe();
        let reached = progress
            .wait_for(|p| p.truncations_done >= number || p.stopped)
            .await
            .map_err(|_| StoreError::Unavailable)?;
        if reached.truncations_done >= number {
            Ok(())
        } else {
            Err(StoreError::Unavailable)
        }
    }

    /// Asks the checkpointer to truncate the log one last time and stop.
    pub(crate) fn stop_soon(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.urgent.notify_one();
    }

    /// Stops the checkpointer and waits for its last truncation.
    pub(crate) async fn stop(&self) {
        self.stop_soon();
        let mut progress = self.shared.progress.subscribe();
        let _ = progress.wait_for(|p| p.stopped).await;
    }
}

/// When a blocking checkpoint (RESTART, TRUNCATE) may run next. One that cannot finish (a
/// long reader) has held new commits back for up to its busy timeout: after each such failure
/// the next try waits twice as long, so a long reader does not keep the writer half stalled.
struct Backoff {
    next_allowed: Instant,
    delay: Duration,
}

impl Backoff {
    fn new() -> Self {
        Self {
            next_allowed: Instant::now(),
            delay: Duration::ZERO,
        }
    }

    fn allows(&self, now: Instant) -> bool {
        now >= self.next_allowed
    }

    fn record(&mut self, finished: bool) {
        self.delay = if finished {
            Duration::ZERO
        } else {
            (self.delay * 2).clamp(RETRY_AFTER, MAX_RETRY_AFTER)
        };
        self.next_allowed = Instant::now() + self.delay;
    }
}

async fn run(mut conn: SqliteConnection, shared: Arc<Shared>) {
    let mut commits_seen = 0;
    let mut truncations_done = 0;
    let mut last_checkpoint = Instant::now();
    let mut blocking = Backoff::new();
    // When the next TRUNCATE may start, however urgent.
    let mut truncate_not_before = Instant::now();
    loop {
        let now = Instant::now();
        let stopping = shared.stopping.load(Ordering::Acquire);
        let wanted = shared.truncations_wanted.load(Ordering::Acquire);
        let truncation_pending = wanted > truncations_done;
        let truncate_at = blocking.next_allowed.max(truncate_not_before);
        if stopping || (truncation_pending && now >= truncate_at) {
            let commits = shared.commits.load(Ordering::Acquire);
            truncate_not_before = now + TRUNCATE_AT_MOST_EVERY;
            shared.progress.send_modify(|p| p.truncations_run += 1);
            let finished = finished(checkpoint(&mut conn, &shared.gate, Mode::Truncate).await);
            blocking.record(finished);
            if finished {
                truncations_done = wanted;
                commits_seen = commits;
                last_checkpoint = now;
                shared
                    .progress
                    .send_modify(|p| p.truncations_done = truncations_done);
            }
            // Otherwise the request stays pending, for a later try.
            if stopping {
                break;
            }
            continue;
        }
        let commits = shared.commits.load(Ordering::Acquire);
        let due = last_checkpoint + PASSIVE_EVERY;
        if commits == commits_seen || now < due {
            let mut wake = (commits != commits_seen).then_some(due);
            if truncation_pending {
                wake = Some(wake.map_or(truncate_at, |w| w.min(truncate_at)));
            }
            match wake {
                Some(wake) => tokio::select! {
                    _ = tokio::time::sleep_until(wake.into()) => {}
                    _ = shared.urgent.notified() => {}
                },
                None => tokio::select! {
                    _ = shared.committed.notified() => {}
                    _ = shared.urgent.notified() => {}
                },
            }
            continue;
        }
        commits_seen = commits;
        last_checkpoint = now;
        if let Some(outcome) = checkpoint(&mut conn, &shared.gate, Mode::Passive).await
            && outcome.log > RESTART_AFTER_FRAMES
            && blocking.allows(Instant::now())
        {
            blocking.record(finished(
                checkpoint(&mut conn, &shared.gate, Mode::Restart).await,
            ));
        }
    }
    drop(conn);
    shared.progress.send_modify(|p| p.stopped = true);
}

/// Whether a blocking checkpoint got every lock it waited for and did all its work.
fn finished(outcome: Option<Outcome>) -> bool {
    outcome.is_some_and(|o| o.busy == 0)
}

/// Runs one checkpoint; a failure is logged and reported as `None`.
async fn checkpoint(conn: &mut SqliteConnection, gate: &RwLock<()>, mode: Mode) -> Option<Outcome> {
    // Blocking modes wait for the writer's batch in progress, and hold the next one back.
    let _turn = match mode {
        Mode::Passive => None,
        Mode::Restart | Mode::Truncate => Some(gate.write().await),
    };
    let started = Instant::now();
    let outcome = sqlx::query_as::<_, Outcome>(mode.statement())
        .fetch_one(&mut *conn)
        .await;
    metrics::histogram!("hearth_wal_checkpoint_duration_seconds", "mode" => mode.label())
        .record(started.elapsed().as_secs_f64());
    match outcome {
        Ok(outcome) => {
            if outcome.busy != 0 || outcome.checkpointed < outcome.log {
                tracing::debug!(mode = mode.label(), ?outcome, "checkpoint did not finish");
            }
            Some(outcome)
        }
        Err(error) => {
            tracing::warn!(mode = mode.label(), %error, "checkpoint failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::ConnectOptions;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

    #[tokio::test]
    async fn truncations_asked_for_back_to_back_share_a_checkpoint_and_none_is_dropped() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("no temporary directory")
        };
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("checkpoints.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let conn = match options.connect().await {
            Ok(conn) => conn,
            Err(error) => panic!("{error}"),
        };
        let checkpoints = Checkpoints::start(conn);
        let mut progress = checkpoints.shared.progress.subscribe();

        // Twenty deletes in a row, 10 ms apart, each asking for the log to be truncated.
        let started = Instant::now();
        let mut last = 0;
        for _ in 0..20 {
            last = checkpoints.request_truncate();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The last request is served, and soon: the one deferred TRUNCATE covers it.
        let served = progress
            .wait_for(|p| p.truncations_done >= last)
            .await
            .map(|p| p.truncations_run);
        let elapsed = started.elapsed();
        assert!(
            served.as_ref().is_ok_and(|runs| *runs <= 2),
            "{served:?} TRUNCATE checkpoints for 20 requests"
        );
        assert!(elapsed < TRUNCATE_AT_MOST_EVERY * 2, "{elapsed:?}");
        checkpoints.stop().await;
    }
}
