//! The group-commit writer. A task per write connection (one on SQLite, which has a single
//! writer; on PostgreSQL one by default, or a few, so that one batch's statements overlap
//! another's commit) takes jobs from one queue; callers hand it jobs and wait. Whatever arrived while the connection's
//! previous commit was flushing runs as one transaction, each job inside its own savepoint,
//! and every caller hears back only after that transaction is durable. One disk flush thus
//! serves a whole batch instead of one message. A batch that collides with another transaction
//! (on PostgreSQL, shared by several nodes and connections: a serialization failure or a
//! deadlock) is rolled back and run again from fresh clones of its jobs. The events feed stays
//! in commit order across connections: its numbers come from a counter row that each batch
//! locks with its last statement before COMMIT.

use crate::StoreError;
use crate::audit::{PendingAudit, PendingEvent};
use crate::checkpoint::Checkpoints;
use crate::conn::{Conn, DbConn};
use crate::posting::{self, Inserted, PendingPost, Posted, QuickPost};
use crate::sealing::Sealer;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use hearth_core::audit::AuditEntry;
use hearth_core::{ChannelId, CommunityId, IdGenerator, MessageId, Timestamp};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, PgConnection, SqliteConnection};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use tokio::sync::{RwLock, mpsc, oneshot};

pub(crate) enum OwnedConn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// How to open the write connection again after it broke.
#[derive(Clone)]
pub(crate) enum Reconnect {
    Sqlite(SqliteConnectOptions),
    Postgres(PgConnectOptions),
}

/// The writer's transaction as a job sees it: queries, fresh ids and the clock.
pub struct Tx {
    conn: OwnedConn,
    reconnect: Reconnect,
    sealer: Arc<dyn Sealer>,
    /// Shared by every write connection of the node: ids are unique per node.
    ids: SharedIds,
    /// Append-only rows nobody reads back inside the transaction: buffered, and written as
    /// one multi-row insert per table just before the batch commits.
    audit: Vec<PendingAudit>,
    events: Vec<PendingEvent>,
    /// Whether the current job runs inside a savepoint of its own.
    savepoint: Savepoint,
    /// The hook counts when the current job started.
    job_started_with: Option<(u64, u64)>,
    /// Whether a single-statement job had changed rows before taking its savepoint: those
    /// changes are beyond the savepoint's reach.
    wrote_before_savepoint: bool,
    /// On SQLite: counts of row changes and rollbacks, from the connection's hooks.
    watch: Option<Arc<Watch>>,
    /// On SQLite: the task that checkpoints the write-ahead log.
    checkpoints: Option<Checkpoints>,
    /// Told after a batch that wrote events commits: the node's events tailer wakes at once
    /// instead of at its next poll.
    events_committed: Arc<tokio::sync::Notify>,
    /// Whether the batch being written holds events.
    wrote_events: bool,
    /// Whether a job in this batch asked for the journal to be truncated after the commit.
    truncate_after_commit: bool,
    /// On PostgreSQL: the batch's posts, written by its final statement (see posting.rs).
    posts: Vec<PendingPost>,
    /// The posts the last final statement inserted.
    inserted: Inserted,
    /// Whether this run of the batch got as far as its final statement succeeding: after
    /// that, a failure leaves it unknown whether COMMIT took effect.
    flushed: bool,
    /// Whether the connection failed other than by the database refusing a statement: it may
    /// be broken, so a statement that commits by itself reconnects first.
    suspect: bool,
}

/// The node's id generator, shared by its write connections.
pub(crate) type SharedIds = Arc<Mutex<IdGenerator>>;

/// The current job's savepoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Savepoint {
    /// None, and none to take: the job is alone in its transaction.
    Off,
    /// None yet; the job takes one with [`Tx::savepoint`] before any work that could fail
    /// after writing.
    Available,
    /// Taken: a failure rolls back to it.
    Taken,
}

/// What SQLite's hooks report about the write connection.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    changes: AtomicU64,
    rollbacks: AtomicU64,
}

impl Watch {
    fn counts(&self) -> (u64, u64) {
        (
            self.changes.load(Ordering::Relaxed),
            self.rollbacks.load(Ordering::Relaxed),
        )
    }
}

/// The tables in which SQLite's full-text index (the virtual table `message_search_index`)
/// keeps its words.
const FULL_TEXT_INDEX_TABLES: [&str; 5] = [
    "message_search_index_data",
    "message_search_index_idx",
    "message_search_index_content",
    "message_search_index_docsize",
    "message_search_index_config",
];

/// Installs hooks that count every changed row and every rollback on a SQLite connection, so
/// the writer can tell whether a failed job wrote anything and whether SQLite itself ended
/// the transaction (as it does on some I/O errors).
pub(crate) async fn watch_sqlite(conn: &mut SqliteConnection) -> Result<Arc<Watch>, StoreError> {
    let watch = Arc::new(Watch::default());
    let mut handle = conn.lock_handle().await?;
    let changes = watch.clone();
    handle.set_update_hook(move |change| {
        // The full-text index keeps its words in tables of its own, and writes them when it
        // flushes, which may be during a later job's statement: those writes follow from rows
        // counted already, and would make an unwritten job look as if it had written.
        if !FULL_TEXT_INDEX_TABLES.contains(&change.table) {
            changes.changes.fetch_add(1, Ordering::Relaxed);
        }
    });
    let rollbacks = watch.clone();
    handle.set_rollback_hook(move || {
        rollbacks.rollbacks.fetch_add(1, Ordering::Relaxed);
    });
    Ok(watch)
}

impl Tx {
    pub(crate) fn new(
        conn: OwnedConn,
        reconnect: Reconnect,
        sealer: Arc<dyn Sealer>,
        ids: SharedIds,
        watch: Option<Arc<Watch>>,
        checkpoints: Option<Checkpoints>,
        events_committed: Arc<tokio::sync::Notify>,
    ) -> Self {
        Self {
            checkpoints,
            events_committed,
            wrote_events: false,
            truncate_after_commit: false,
            posts: Vec::new(),
            inserted: Vec::new(),
            flushed: false,
            suspect: false,
            savepoint: Savepoint::Off,
            job_started_with: None,
            wrote_before_savepoint: false,
            watch,
            conn,
            reconnect,
            sealer,
            ids,
            audit: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Appends an audit entry to this transaction: it commits, or rolls back, with the
    /// job's other writes.
    pub fn append_audit(&mut self, entry: AuditEntry) {
        let id = self.next_id();
        self.audit.push(PendingAudit {
            id,
            at: Timestamp::now(),
            entry,
        });
    }

    /// Appends a change to the events feed, in this transaction.
    pub fn append_event(&mut self, channel: ChannelId, kind: &'static str, object_id: i64) {
        self.wrote_events = true;
        self.events.push(PendingEvent {
            channel,
            kind,
            object_id,
            at: Timestamp::now(),
        });
    }

    /// Marks this job as one that deleted personal text: soon after its transaction commits,
    /// the store truncates its journal, so that the pages as they were before the delete do
    /// not linger on disk (on SQLite, a TRUNCATE checkpoint of the write-ahead log). Nothing
    /// to do on PostgreSQL, which keeps its own log.
    pub fn truncate_journal_after_commit(&mut self) {
        self.truncate_after_commit = true;
    }

    /// Writes the buffered rows. It is also the last statement before COMMIT, and it matters
    /// that one runs: PostgreSQL answers COMMIT of a transaction spoiled by an earlier error
    /// by rolling back without an error, so a statement must first be allowed to fail.
    async fn flush_appends(&mut self) -> Result<(), StoreError> {
        let audit = std::mem::take(&mut self.audit);
        let events = std::mem::take(&mut self.events);
        if let OwnedConn::Postgres(c) = &mut self.conn {
            self.inserted = posting::flush_postgres(c, &audit, &events, &self.posts).await?;
            self.flushed = true;
            return Ok(());
        }
        // Posts take the writer's own lane on PostgreSQL only (see `Store::post_if_member`).
        debug_assert!(self.posts.is_empty());
        if audit.is_empty() && events.is_empty() {
            return self.execute("SELECT 1").await;
        }
        self.conn().insert_audit_rows(&audit).await?;
        self.conn().insert_event_rows(&events).await?;
        self.flushed = true;
        Ok(())
    }

    fn discard_appends_since(&mut self, mark: (usize, usize)) {
        self.audit.truncate(mark.0);
        self.events.truncate(mark.1);
    }

    /// The connection inside the current transaction.
    pub fn conn(&mut self) -> Conn<'_> {
        let db = match &mut self.conn {
            OwnedConn::Sqlite(c) => DbConn::Sqlite(c),
            OwnedConn::Postgres(c) => DbConn::Postgres(c),
        };
        Conn {
            db,
            sealer: &*self.sealer,
        }
    }

    /// A new, time-ordered id for a row this job inserts.
    pub fn next_id(&mut self) -> i64 {
        // Nothing can panic while the generator is held; a poisoned lock guards a sound one.
        let now = Timestamp::now().millis();
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next(now)
    }

    async fn execute(&mut self, statement: &'static str) -> Result<(), StoreError> {
        match &mut self.conn {
            OwnedConn::Sqlite(c) => {
                sqlx::raw_sql(statement).execute(c).await?;
            }
            OwnedConn::Postgres(c) => {
                sqlx::raw_sql(statement).execute(c).await?;
            }
        };
        Ok(())
    }

    /// Replaces a broken write connection with a new one.
    async fn reconnect(&mut self) -> Result<(), StoreError> {
        self.conn = match &self.reconnect {
            Reconnect::Sqlite(options) => {
                let mut conn = options.connect().await?;
                self.watch = Some(watch_sqlite(&mut conn).await?);
                OwnedConn::Sqlite(conn)
            }
            Reconnect::Postgres(options) => OwnedConn::Postgres(options.connect().await?),
        };
        Ok(())
    }

    /// Takes the current job's savepoint if it has none yet. Jobs submitted with
    /// [`Store::write_single_statement`](crate::Store::write_single_statement) call this
    /// before any work beyond their one statement; for other jobs it does nothing.
    pub async fn savepoint(&mut self) -> Result<(), StoreError> {
        if self.savepoint == Savepoint::Available {
            self.wrote_before_savepoint = self.watch_counts() != self.job_started_with;
            self.execute("SAVEPOINT job").await?;
            self.savepoint = Savepoint::Taken;
        }
        Ok(())
    }

    /// Whether the transaction has written anything so far, asked of the database: on
    /// PostgreSQL, whether it has taken a transaction id, which it does at its first write.
    /// An error means the transaction is aborted and can do nothing more. Only PostgreSQL
    /// runs batches without savepoints, so only it is asked.
    async fn has_written(&mut self) -> Result<bool, StoreError> {
        match &mut self.conn {
            OwnedConn::Sqlite(_) => Ok(true),
            OwnedConn::Postgres(c) => {
                let (written,): (bool,) =
                    sqlx::query_as("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")
                        .fetch_one(c)
                        .await?;
                Ok(written)
            }
        }
    }

    fn watch_counts(&self) -> Option<(u64, u64)> {
        self.watch.as_ref().map(|w| w.counts())
    }

    /// Begins a transaction, reconnecting once if the connection has broken. A lock held
    /// elsewhere (SQLite busy) is no broken connection: it is the caller's to wait out.
    async fn begin(&mut self) -> Result<(), StoreError> {
        if let Err(error) = self.execute(self.begin_statement()).await {
            if error.is_conflict() {
                return Err(error);
            }
            tracing::warn!(%error, "the write connection failed; reconnecting");
            self.reconnect().await?;
            self.execute(self.begin_statement()).await?;
        }
        Ok(())
    }

    fn begin_statement(&self) -> &'static str {
        match self.conn {
            // IMMEDIATE takes the write lock up front, so a CLI command writing beside the
            // server waits on the busy timeout instead of failing mid-transaction.
            OwnedConn::Sqlite(_) => "BEGIN IMMEDIATE",
            OwnedConn::Postgres(_) => "BEGIN",
        }
    }
}

/// How a job's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    Ok,
    Failed,
    /// Failed because its transaction collided with another one (see [`StoreError::Conflict`]).
    Collided,
    /// Failed because the database gave up waiting for a lock or a statement (see
    /// [`StoreError::Busy`]): it wrote nothing, and running it again at once would only make
    /// its batch wait as long again.
    Busy,
    /// Panicked: its caller hears [`StoreError::Unavailable`].
    Panicked,
}

/// A job as the writer holds it. It can run more than once: when its batch collides with
/// another transaction, the whole batch is rolled back and run again.
trait Job: Send {
    /// Runs a fresh copy of the job, keeping its result for [`Job::finish`].
    fn run<'t>(&'t mut self, tx: &'t mut Tx) -> BoxFuture<'t, Ran>;
    /// Forgets the result of an earlier run.
    fn forget(&mut self);
    /// Tells the caller what became of the job, given its batch's fate.
    fn finish(self: Box<Self>, fate: &Result<(), String>);
}

/// A caller's job, with the channel its result goes back on.
struct Submitted<F, T, E> {
    job: F,
    outcome: Option<Result<T, E>>,
    done: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Job for Submitted<F, T, E>
where
    F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, E>> + Clone + Send + 'static,
    T: Send + 'static,
    E: JobError + Send + 'static,
{
    fn run<'t>(&'t mut self, tx: &'t mut Tx) -> BoxFuture<'t, Ran> {
        let job = self.job.clone();
        Box::pin(async move {
            let outcome = job(tx).await;
            let ran = match &outcome {
                Ok(_) => Ran::Ok,
                Err(error) if error.store_error().is_some_and(StoreError::is_conflict) => {
                    Ran::Collided
                }
                Err(error) if error.store_error().is_some_and(StoreError::is_busy) => Ran::Busy,
                Err(_) => Ran::Failed,
            };
            self.outcome = Some(outcome);
            ran
        })
    }

    fn forget(&mut self) {
        self.outcome = None;
    }

    fn finish(self: Box<Self>, fate: &Result<(), String>) {
        let reply = match (fate, self.outcome) {
            // Panicked, or never ran because its batch broke first.
            (_, None) => Err(E::from(StoreError::Unavailable)),
            (Ok(()), Some(outcome)) => outcome,
            (Err(reason), Some(_)) => Err(E::from(StoreError::CommitFailed(reason.clone()))),
        };
        let _ = self.done.send(reply);
    }
}

/// The error type of a write job: made from a [`StoreError`], and showing the one it carries,
/// so that the writer can tell a collision worth running the batch again for.
pub trait JobError: From<StoreError> {
    /// The storage error inside, if that is what this is.
    fn store_error(&self) -> Option<&StoreError>;
}

impl JobError for StoreError {
    fn store_error(&self) -> Option<&StoreError> {
        Some(self)
    }
}

/// Who protects a job's partial writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// The writer takes a savepoint before the job.
    Writer,
    /// The job is one statement that writes all or nothing, and takes a savepoint itself
    /// (with [`Tx::savepoint`]) before doing more. Honoured on SQLite, where a failed statement
    /// undoes only itself; PostgreSQL jobs always get the writer's savepoint, since any failed
    /// statement there spoils the whole transaction.
    Job,
}

enum Command {
    Run(Box<dyn Job>, Guard),
    Post(QueuedPost),
    Stop(oneshot::Sender<()>),
}

/// A post waiting for its batch, with the channel its outcome goes back on: the post, `None`
/// when it did not pass its membership check (or its final statement failed before
/// committing), for the caller to take the ordinary path.
struct QueuedPost {
    post: QuickPost,
    done: oneshot::Sender<Result<Option<Posted>, StoreError>>,
}

/// Most posts one batch writes. They take no savepoint, so they are not bound by the limit on
/// jobs; this keeps the final statement's arrays a sensible size.
const MAX_POSTS: usize = 256;

/// A handle to the writer tasks; cheap to clone.
#[derive(Clone)]
pub(crate) struct Writer {
    commands: mpsc::Sender<Command>,
}

/// What the writer tasks share.
struct Queue {
    /// Jobs waiting for a connection. The task holding it takes the next batch; the others
    /// are committing theirs, or wait their turn.
    commands: tokio::sync::Mutex<mpsc::Receiver<Command>>,
    /// Held shared by each task while it runs a batch, so that a stop can wait them out.
    in_flight: RwLock<()>,
}

impl Writer {
    /// Starts a writer task on each of `txs`, committing at most `max_batch` jobs at a time
    /// on each.
    pub(crate) fn spawn(txs: Vec<Tx>, max_batch: usize) -> Self {
        let max_batch = max_batch.max(1);
        let (commands, rx) = mpsc::channel(max_batch * 4 * txs.len().max(1));
        let queue = Arc::new(Queue {
            commands: tokio::sync::Mutex::new(rx),
            in_flight: RwLock::new(()),
        });
        for tx in txs {
            tokio::spawn(run(tx, queue.clone(), max_batch));
        }
        Self { commands }
    }

    /// Runs `job` inside the next batch and returns its result once the batch has committed.
    /// If the job fails, its own writes are rolled back and the rest of the batch commits. If
    /// the batch collides with another transaction, a fresh clone of the job runs again.
    pub(crate) async fn write<T, E, F>(&self, guard: Guard, job: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, E>> + Clone + Send + 'static,
        T: Send + 'static,
        E: JobError + Send + 'static,
    {
        let (done, result) = oneshot::channel::<Result<T, E>>();
        let job: Box<dyn Job> = Box::new(Submitted {
            job,
            outcome: None,
            done,
        });
        self.commands
            .send(Command::Run(job, guard))
            .await
            .map_err(|_| E::from(StoreError::Unavailable))?;
        // A job dropped unrun (shutdown, lost database) closes its channel.
        result
            .await
            .unwrap_or_else(|_| Err(E::from(StoreError::Unavailable)))
    }

    /// Writes `post` with the next batch's final statement (see posting.rs) and returns once
    /// that batch has committed: `None` if it was not written, for the caller to take the
    /// ordinary path. For PostgreSQL stores only.
    pub(crate) async fn post(&self, post: QuickPost) -> Result<Option<Posted>, StoreError> {
        let (done, outcome) = oneshot::channel();
        self.commands
            .send(Command::Post(QueuedPost { post, done }))
            .await
            .map_err(|_| StoreError::Unavailable)?;
        outcome.await.unwrap_or(Err(StoreError::Unavailable))
    }

    /// Whether the writer task is still taking jobs.
    pub(crate) fn is_running(&self) -> bool {
        !self.commands.is_closed()
    }

    /// Commits everything queued before this call, then stops the writer.
    pub(crate) async fn stop(&self) {
        let (ack, stopped) = oneshot::channel();
        if self.commands.send(Command::Stop(ack)).await.is_ok() {
            let _ = stopped.await;
        }
    }
}

async fn run(mut tx: Tx, queue: Arc<Queue>, max_batch: usize) {
    let mut batch: Vec<Queued> = Vec::with_capacity(max_batch);
    let mut posts: Vec<QueuedPost> = Vec::new();
    let stop_checkpoints = |tx: &Tx| {
        if let Some(checkpoints) = &tx.checkpoints {
            checkpoints.stop_soon();
        }
    };
    loop {
        let mut stop = None;
        let in_flight = {
            let mut commands = queue.commands.lock().await;
            match commands.recv().await {
                Some(Command::Run(job, guard)) => batch.push(Queued::new(job, guard)),
                Some(Command::Post(post)) => posts.push(post),
                Some(Command::Stop(ack)) => stop = Some(ack),
                // Stopped, or every handle to the store is gone.
                None => break,
            }
            while stop.is_none() && batch.len() < max_batch && posts.len() < MAX_POSTS {
                match commands.try_recv() {
                    Ok(Command::Run(job, guard)) => batch.push(Queued::new(job, guard)),
                    Ok(Command::Post(post)) => posts.push(post),
                    Ok(Command::Stop(ack)) => stop = Some(ack),
                    Err(_) => break,
                }
            }
            if stop.is_some() {
                commands.close();
                // Jobs that raced the stop are dropped; their callers hear `Unavailable`.
                while commands.try_recv().is_ok() {}
            }
            // Taken before the queue is let go, so that a stop cannot slip in between.
            queue.in_flight.read().await
        };
        if !batch.is_empty() || !posts.is_empty() {
            commit_batch(&mut tx, &mut batch, &mut posts).await;
        }
        drop(in_flight);
        if let Some(ack) = stop {
            // The other connections finish the batches they hold.
            let _all_done = queue.in_flight.write().await;
            stop_checkpoints(&tx);
            let _ = ack.send(());
            return;
        }
    }
    stop_checkpoints(&tx);
}

/// Most times a batch runs when it keeps colliding with other transactions.
const MAX_ATTEMPTS: u32 = 4;

/// How one run of a batch ended.
enum Attempt {
    /// Committed or failed for good; the jobs' results stand.
    Settled(Result<(), String>),
    /// Rolled back after colliding with another transaction: worth running again.
    Collided(String),
    /// Run without savepoints, a job failed: rolled back, to run again with savepoints.
    NeedsSavepoints,
    /// A job failed for good and took the transaction down with it: rolled back, to run the
    /// rest again without it.
    WithoutSettled,
}

/// A job in a batch.
struct Queued {
    job: Box<dyn Job>,
    guard: Guard,
    /// Its result stands from an earlier run of the batch, which it failed for good: it does
    /// not run again, whatever becomes of the rest.
    settled: bool,
}

impl Queued {
    fn new(job: Box<dyn Job>, guard: Guard) -> Self {
        Self {
            job,
            guard,
            settled: false,
        }
    }
}

async fn commit_batch(tx: &mut Tx, batch: &mut Vec<Queued>, posts: &mut Vec<QueuedPost>) {
    let started = Instant::now();
    // No blocking checkpoint runs while this batch does (see checkpoint.rs).
    let _pass = match &tx.checkpoints {
        Some(checkpoints) => Some(checkpoints.pass().await),
        None => None,
    };
    let size = batch.len() + posts.len();
    // Every post is an event.
    tx.wrote_events = !posts.is_empty();
    tx.posts = posts
        .iter()
        .map(|queued| PendingPost {
            id: tx.next_id(),
            audit_id: tx.next_id(),
            channel: queued.post.channel,
            author: queued.post.author,
            sealed: tx.sealer.seal(queued.post.author, &queued.post.body),
            body: crate::search::searchable_text(&queued.post.body).into_owned(),
            at: Timestamp::now(),
            audit_action: queued.post.audit_action,
            event_kind: queued.post.event_kind,
        })
        .collect();
    let mut attempt = 1;
    // On PostgreSQL a savepoint per job is a round trip per job, and nearly every batch
    // succeeds whole: run it without them first, and only if a job fails, roll back and run
    // it again with them (jobs run again from fresh clones, as after a collision). On SQLite,
    // single-statement jobs already skip theirs, guarded by the connection's hooks.
    let mut savepoints = tx.watch.is_some() || batch.len() == 1;
    let fate = loop {
        let last = attempt == MAX_ATTEMPTS;
        let ran = if batch.is_empty() {
            run_posts_alone(tx, last).await
        } else {
            run_batch(tx, batch, last, savepoints).await
        };
        match ran {
            // The final statement never committed the posts: their callers take the ordinary
            // path, and the jobs, if any, run again without them.
            Attempt::Settled(Err(reason)) if !tx.posts.is_empty() && !tx.flushed => {
                // Expected only when a channel or an account goes while its posts are written.
                tracing::warn!(%reason, posts = tx.posts.len(), "a batch's posts go the ordinary way");
                metrics::counter!("hearth_posts_set_aside_total").increment(tx.posts.len() as u64);
                tx.posts.clear();
                for queued in posts.drain(..) {
                    let _ = queued.done.send(Ok(None));
                }
                if batch.is_empty() {
                    break Ok(());
                }
            }
            Attempt::Settled(fate) => break fate,
            Attempt::NeedsSavepoints => {
                metrics::counter!("hearth_commit_reruns_total").increment(1);
                savepoints = true;
            }
            // Ends: each time, one more job is settled.
            Attempt::WithoutSettled => {
                metrics::counter!("hearth_commit_reruns_total").increment(1);
            }
            Attempt::Collided(reason) => {
                tracing::warn!(attempt, %reason, "a write batch collided with another transaction; running it again");
                metrics::counter!("hearth_commit_retries_total").increment(1);
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
        }
    };
    if fate.is_ok() && tx.wrote_events {
        // A permit is kept if the tailer is not waiting yet, so no commit goes unnoticed.
        tx.events_committed.notify_one();
    }
    if fate.is_ok()
        && let Some(checkpoints) = &tx.checkpoints
    {
        checkpoints.committed();
        if tx.truncate_after_commit {
            checkpoints.request_truncate();
        }
    }
    metrics::histogram!("hearth_commit_batch_size").record(size as f64);
    metrics::histogram!("hearth_commit_duration_seconds").record(started.elapsed().as_secs_f64());
    let inserted = std::mem::take(&mut tx.inserted);
    for (queued, pending) in posts.drain(..).zip(std::mem::take(&mut tx.posts)) {
        let outcome = match &fate {
            Ok(()) => {
                Ok(inserted
                    .iter()
                    .find(|(id, _)| *id == pending.id)
                    .map(|&(id, community)| Posted {
                        id: MessageId(id),
                        created_at: pending.at,
                        community: community.map(CommunityId),
                    }))
            }
            // Whether COMMIT took effect is unknown: the caller must not post again blindly.
            Err(reason) => Err(StoreError::CommitFailed(reason.clone())),
        };
        let _ = queued.done.send(outcome);
    }
    for queued in batch.drain(..) {
        // A settled job's own failure stands, whatever became of its batch.
        let fate = if queued.settled { &Ok(()) } else { &fate };
        queued.job.finish(fate);
    }
}

/// A pause before running a collided batch again: growing, and jittered so that two nodes
/// that collided do not meet again at once.
fn backoff(attempt: u32) -> std::time::Duration {
    let base = 5u64 << attempt.min(6);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos(),
    ) % base;
    std::time::Duration::from_millis(base + jitter)
}

/// Writes a batch of posts alone: its final statement, with no BEGIN or COMMIT around it,
/// commits by itself. A refusal from the database leaves nothing written; any other failure
/// (the connection broke, say) leaves it unknown whether the statement committed.
async fn run_posts_alone(tx: &mut Tx, last: bool) -> Attempt {
    tx.flushed = false;
    tx.inserted.clear();
    if tx.suspect {
        // A statement sent on a broken connection fails in a way that cannot tell whether
        // it committed: reconnect before sending one that commits by itself.
        if let Err(error) = tx.reconnect().await {
            return Attempt::Settled(Err(error.to_string()));
        }
        tx.suspect = false;
    }
    let OwnedConn::Postgres(c) = &mut tx.conn else {
        return Attempt::Settled(Err("posts are written one by one on SQLite".into()));
    };
    match posting::flush_postgres(c, &[], &[], &tx.posts).await {
        Ok(inserted) => {
            tx.inserted = inserted;
            Attempt::Settled(Ok(()))
        }
        Err(error) if (error.is_conflict() || error.is_busy()) && !last => {
            Attempt::Collided(error.to_string())
        }
        Err(error) => {
            // Not refused by the database: it may have committed, so the posts must not be
            // written again, and the connection is suspect.
            tx.flushed = !error.is_refusal();
            if tx.flushed {
                tracing::error!(%error, "a batch of posts failed; whether it committed is unknown");
                if let Err(error) = tx.reconnect().await {
                    tracing::warn!(%error, "could not reconnect the write connection");
                }
            }
            Attempt::Settled(Err(error.to_string()))
        }
    }
}

/// Runs every job of the batch in one transaction and commits it. On the last attempt a job
/// that collides fails alone, like any failed job, instead of sending the batch round again.
/// Without `savepoints`, jobs run bare (on PostgreSQL), and a job that fails sends the batch
/// back only when it has to: when the database gave up waiting for it, it fails for good at
/// once and the rest run again without it ([`Attempt::WithoutSettled`]); when the transaction
/// is aborted or has written (perhaps that job's writes), the batch runs again with
/// savepoints ([`Attempt::NeedsSavepoints`]); otherwise the batch goes on without it.
async fn run_batch(tx: &mut Tx, batch: &mut [Queued], last: bool, savepoints: bool) -> Attempt {
    let size = batch.iter().filter(|q| !q.settled).count();
    tx.discard_appends_since((0, 0));
    tx.truncate_after_commit = false;
    tx.flushed = false;
    tx.inserted.clear();
    for queued in batch.iter_mut().filter(|q| !q.settled) {
        queued.job.forget();
    }
    if let Err(error) = tx.begin().await {
        if error.is_conflict() && !last {
            return Attempt::Collided(error.to_string());
        }
        // The jobs never ran; their callers hear `Unavailable`.
        tracing::error!(%error, "could not begin a write transaction");
        return Attempt::Settled(Err(error.to_string()));
    }
    // A lone job needs no savepoint: if it fails, the whole transaction rolls back. Savepoints
    // are not released: each job's "job" savepoint stacks on the previous one, which saves a
    // round trip per job, and COMMIT ends them all.
    // Posts share the transaction too: with them, a failing job must not roll back alone.
    let shared = size > 1 || !tx.posts.is_empty();
    let use_savepoints = shared && savepoints;
    let mut any_ok = false;
    let mut broken: Option<StoreError> = None;
    for queued in batch.iter_mut().filter(|q| !q.settled) {
        let self_guarded = queued.guard == Guard::Job && tx.watch.is_some();
        tx.savepoint = match (use_savepoints, self_guarded) {
            (false, _) => Savepoint::Off,
            (true, true) => Savepoint::Available,
            (true, false) => match tx.execute("SAVEPOINT job").await {
                Ok(()) => Savepoint::Taken,
                Err(error) => {
                    broken = Some(error);
                    break;
                }
            },
        };
        let watched_before = tx.watch_counts();
        tx.job_started_with = watched_before;
        tx.wrote_before_savepoint = false;
        let mark = (tx.audit.len(), tx.events.len());
        let truncate_before = tx.truncate_after_commit;
        // A panicking job fails alone (its caller hears `Unavailable`); the writer lives on.
        let ran = match AssertUnwindSafe(queued.job.run(tx)).catch_unwind().await {
            Ok(ran) => ran,
            Err(_) => {
                tracing::error!("a write job panicked; rolling back its writes");
                Ran::Panicked
            }
        };
        if ran == Ran::Collided && !last {
            // Its writes and its locks, and those of the jobs before it, go: the other
            // transaction may be waiting on any of them.
            broken = Some(StoreError::Conflict("a job collided".into()));
            break;
        }
        let ok = ran == Ran::Ok;
        if !ok && !use_savepoints && shared {
            let rerun = if ran == Ran::Busy {
                // It wrote nothing, but on PostgreSQL its error aborted the transaction.
                queued.settled = true;
                Some(Attempt::WithoutSettled)
            } else {
                match tx.has_written().await {
                    Ok(false) => None,
                    Ok(true) | Err(_) => Some(Attempt::NeedsSavepoints),
                }
            };
            if let Some(rerun) = rerun {
                let _ = tx.execute("ROLLBACK").await;
                tx.discard_appends_since((0, 0));
                return rerun;
            }
            // Nothing written and nothing broken: the batch goes on without it.
            tx.discard_appends_since(mark);
            tx.truncate_after_commit = truncate_before;
            continue;
        }
        any_ok |= ok;
        if !ok && tx.savepoint == Savepoint::Available {
            // A job that panicked may have left a statement running on the connection's
            // thread; one more round trip lets it finish, and its hook fire, before we count.
            if let Err(error) = tx.execute("SELECT 1").await {
                broken = Some(error);
                break;
            }
        }
        let watched_after = tx.watch_counts();
        if watched_before.map(|w| w.1) != watched_after.map(|w| w.1) {
            // SQLite ended the transaction by itself: nothing in it can be trusted.
            broken = Some(StoreError::CommitFailed(
                "the database rolled the transaction back".into(),
            ));
            break;
        } else if !ok {
            tx.discard_appends_since(mark);
            tx.truncate_after_commit = truncate_before;
            match tx.savepoint {
                Savepoint::Taken if tx.wrote_before_savepoint => {
                    broken = Some(StoreError::CommitFailed(
                        "a job failed after writing before its savepoint".into(),
                    ));
                    break;
                }
                Savepoint::Taken => {
                    if let Err(error) = tx.execute("ROLLBACK TO SAVEPOINT job").await {
                        broken = Some(error);
                        break;
                    }
                }
                // Without a savepoint, a failed job must have changed nothing; if it did, it
                // broke its promise and the only safe way out is to roll everything back.
                Savepoint::Available if watched_before != watched_after => {
                    broken = Some(StoreError::CommitFailed(
                        "a job failed after writing without a savepoint".into(),
                    ));
                    break;
                }
                Savepoint::Available | Savepoint::Off => {}
            }
        }
    }
    tx.savepoint = Savepoint::Off;
    let fate = match broken {
        Some(error) => Err(error),
        None if any_ok || !tx.posts.is_empty() => match tx.flush_appends().await {
            Ok(()) => tx.execute("COMMIT").await,
            // Waiting for the event counter, held by another connection or node through its
            // commit, ran out: no job of this batch failed, and the next try may well pass.
            Err(error) if error.is_busy() => Err(StoreError::Conflict(error.to_string())),
            Err(error) => Err(error),
        },
        None => tx.execute("ROLLBACK").await,
    };
    match fate {
        Ok(()) => Attempt::Settled(Ok(())),
        Err(error) => {
            tx.suspect |= !error.is_refusal();
            let _ = tx.execute("ROLLBACK").await;
            tx.discard_appends_since((0, 0));
            if error.is_conflict() && !last {
                Attempt::Collided(error.to_string())
            } else {
                tracing::error!(%error, "a write batch failed; rolling it back");
                Attempt::Settled(Err(error.to_string()))
            }
        }
    }
}
