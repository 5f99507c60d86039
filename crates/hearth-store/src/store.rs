//! Opening a store: connect, migrate, start the writer, open the read pool.

use crate::StoreError;
use crate::chat::NewMessage;
use crate::checkpoint::Checkpoints;
use crate::conn::{Backend, PooledConn, Reader};
use crate::posting::{Posted, QuickPost};
use crate::sealing::{PlainSealer, Sealer};
use crate::settings::SettingsInForce;
use crate::writer::{Guard, JobError, OwnedConn, Reconnect, SharedIds, Tx, Writer, watch_sqlite};
use futures_util::future::BoxFuture;
use hearth_core::audit::{AuditEntry, ObjectKind};
use hearth_core::{MessageId, Timestamp};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, PgPool, SqlitePool};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How to open a store. Its `Debug` leaves out the URL, which may hold a password.
#[derive(Clone)]
pub struct StoreOptions {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    pub url: String,
    /// Connections in the read pool.
    pub read_connections: u32,
    /// Most jobs the writer commits in one transaction.
    pub max_batch: usize,
    /// Write connections on PostgreSQL, each committing batches of its own while the others
    /// flush theirs. SQLite has a single writer, whatever this says.
    pub writer_connections: usize,
    /// This node's number, part of every id it makes (0–1023).
    pub node_id: u16,
    /// How long a write waits for a lock held elsewhere before it gives up: PostgreSQL's
    /// `lock_timeout` on the write connection, SQLite's busy timeout.
    pub lock_timeout: Duration,
}

hearth_core::debug_fields!(StoreOptions {
    read_connections,
    max_batch,
    writer_connections,
    node_id,
    lock_timeout
});

impl StoreOptions {
    /// Options with Hearth's defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            read_connections: 8,
            max_batch: 256,
            writer_connections: 1,
            node_id: 0,
            lock_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone)]
enum ReadPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The handle to Hearth's database: a read pool beside one group-commit writer.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    readers: ReadPool,
    writer: Writer,
    /// On SQLite: the task that checkpoints the write-ahead log.
    checkpoints: Option<Checkpoints>,
    sealer: Arc<dyn Sealer>,
    /// The node's id generator, shared with the writer.
    ids: SharedIds,
    /// Told when a batch holding events commits on this node.
    events_committed: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

/// Bytes SQLite's write-ahead log keeps on disk after a checkpoint.
const WAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects, applies pending migrations and starts the writer.
    pub async fn open(options: &StoreOptions) -> Result<Self, StoreError> {
        let sealer: Arc<dyn Sealer> = Arc::new(PlainSealer);
        if is_postgres(&options.url) {
            Self::open_postgres(options, sealer).await
        } else if options.url.starts_with("sqlite:") {
            Self::open_sqlite(options, sealer).await
        } else {
            Err(StoreError::Config(
                "the database URL must start with sqlite: or postgres://".into(),
            ))
        }
    }

    async fn open_sqlite(
        options: &StoreOptions,
        sealer: Arc<dyn Sealer>,
    ) -> Result<Self, StoreError> {
        let base = SqliteConnectOptions::from_str(&options.url)
            .map_err(|e| StoreError::Config(e.to_string()))?
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before anyone is told it happened.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(options.lock_timeout)
            // Deleted content is overwritten, not left in free pages.
            .pragma("secure_delete", "on")
            // Once checkpointed, the WAL is cut back to this size rather than keeping the
            // high-water mark of a busy moment (and old frames of deleted text) on disk.
            .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string())
            // Checkpoints run beside the writer, never inside its commits (see checkpoint.rs).
            .pragma("wal_autocheckpoint", "0")
            .disable_statement_logging();
        if let Some(dir) = base.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let mut write = base.clone().create_if_missing(true).connect().await?;
        SQLITE_MIGRATIONS.run(&mut write).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .connect_with(base.clone().read_only(true))
            .await?;
        // A blocking checkpoint holds new commits back while it waits for a reader: it gives
        // up soon and tries again later instead.
        let checkpoints = Checkpoints::start(
            base.clone()
                .busy_timeout(Duration::from_millis(100))
                .connect()
                .await?,
        );
        let reconnect = Reconnect::Sqlite(base.clone());
        let watch = watch_sqlite(&mut write).await?;
        let ids = node_ids(options.node_id);
        let events_committed = Arc::new(tokio::sync::Notify::new());
        let tx = Tx::new(
            OwnedConn::Sqlite(write),
            reconnect,
            sealer.clone(),
            ids.clone(),
            Some(watch),
            Some(checkpoints.clone()),
            events_committed.clone(),
        );
        Ok(Self {
            backend: Backend::Sqlite,
            readers: ReadPool::Sqlite(readers),
            writer: Writer::spawn(vec![tx], options.max_batch),
            checkpoints: Some(checkpoints),
            sealer,
            ids,
            events_committed,
        })
    }

    async fn open_postgres(
        options: &StoreOptions,
        sealer: Arc<dyn Sealer>,
    ) -> Result<Self, StoreError> {
        let base = PgConnectOptions::from_str(&options.url)
            .map_err(|e| StoreError::Config(e.to_string()))?
            // Durable: a commit is flushed before anyone is told it happened.
            .options([("synchronous_commit", "on")])
            .disable_statement_logging();
        // Migrations may rebuild large tables: they run on a connection without timeouts.
        let mut migrate = base.connect().await?;
        POSTGRES_MIGRATIONS.run(&mut migrate).await?;
        migrate.close().await?;
        // One stuck lock or runaway statement must not stall the node: the writer gives up
        // on it (and its job fails) instead of holding every other write back.
        let lock_timeout = format!("{}ms", options.lock_timeout.as_millis());
        let writer = base.clone().options([
            ("lock_timeout", lock_timeout.as_str()),
            ("statement_timeout", "30s"),
            ("idle_in_transaction_session_timeout", "60s"),
        ]);
        let ids = node_ids(options.node_id);
        let events_committed = Arc::new(tokio::sync::Notify::new());
        let mut txs = Vec::new();
        for _ in 0..options.writer_connections.max(1) {
            txs.push(Tx::new(
                OwnedConn::Postgres(writer.connect().await?),
                Reconnect::Postgres(writer.clone()),
                sealer.clone(),
                ids.clone(),
                None,
                None,
                events_committed.clone(),
            ));
        }
        let readers = PgPoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .connect_with(base.options([("statement_timeout", "30s")]))
            .await?;
        Ok(Self {
            backend: Backend::Postgres,
            readers: ReadPool::Postgres(readers),
            // Each job in a batch is a savepoint, that is a subtransaction; PostgreSQL keeps 64
            // of them per transaction in memory and slows every reader down beyond that.
            writer: Writer::spawn(txs, options.max_batch.min(64)),
            checkpoints: None,
            sealer,
            ids,
            events_committed,
        })
    }

    /// Told each time a batch holding events commits on this node (a wake-up hint: events
    /// written by other nodes are found by polling).
    pub fn events_committed(&self) -> Arc<tokio::sync::Notify> {
        self.events_committed.clone()
    }

    /// The sealing seam the store writes personal text through: for reading such text back
    /// outside the store's own queries (a person's copy of their data).
    pub fn sealer(&self) -> Arc<dyn Sealer> {
        self.sealer.clone()
    }

    /// A new, time-ordered id, unique across the node (the writer draws from the same
    /// generator): for what must be named before its row is written, like an uploaded file.
    pub fn next_id(&self) -> i64 {
        let now = Timestamp::now().millis();
        self.ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next(now)
    }

    /// The engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection from the read pool.
    pub async fn reader(&self) -> Result<Reader, StoreError> {
        let conn = match &self.readers {
            ReadPool::Sqlite(pool) => PooledConn::Sqlite(pool.acquire().await?),
            ReadPool::Postgres(pool) => PooledConn::Postgres(pool.acquire().await?),
        };
        Ok(Reader {
            conn,
            sealer: self.sealer.clone(),
        })
    }

    /// Runs `job` in the writer's next transaction; returns once that transaction is durable.
    /// The job is cloned before it runs: if its transaction collides with another (on
    /// PostgreSQL, a serialization failure or a deadlock), a fresh clone runs again in a new
    /// transaction, a few times at most. A job's effects outside the database must therefore
    /// bear repeating.
    pub async fn write<T, E, F>(&self, job: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, E>> + Clone + Send + 'static,
        T: Send + 'static,
        E: JobError + Send + 'static,
    {
        self.writer.write(Guard::Writer, job).await
    }

    /// Like [`Store::write`], for a job whose first statement does all its writing in one
    /// go: it either changes nothing and fails, or succeeds and the job does nothing
    /// fallible after it. Before any further statement, the job must call
    /// [`Tx::savepoint`]. This saves a round trip per job on SQLite, for the hottest paths
    /// only. A job that breaks the promise fails its whole batch rather than half-writing.
    pub async fn write_single_statement<T, E, F>(&self, job: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, E>> + Clone + Send + 'static,
        T: Send + 'static,
        E: JobError + Send + 'static,
    {
        self.writer.write(Guard::Job, job).await
    }

    /// Posts a top-level message if its author may post in the channel (belongs to it and,
    /// for a community channel, to the community), with its audit entry and feed event, and
    /// returns once it is durable; `None` if it was not written, for the caller to find out
    /// why on the ordinary path. On PostgreSQL it is written by its batch's final statement,
    /// with the other posts of the moment (see posting.rs); on SQLite, whose one writer has
    /// no round trips to save, by a job of its own.
    pub async fn post_if_member(&self, post: QuickPost) -> Result<Option<Posted>, StoreError> {
        if self.backend == Backend::Postgres {
            return self.writer.post(post).await;
        }
        self.write_single_statement(move |tx| {
            Box::pin(async move {
                let now = Timestamp::now();
                let id = MessageId(tx.next_id());
                let new = NewMessage {
                    id,
                    channel: post.channel,
                    author: post.author,
                    thread_root: None,
                    body: &post.body,
                    now,
                };
                let Some(community) = tx.conn().insert_message_if_member(&new).await? else {
                    return Ok(None);
                };
                // The single statement is done; the rest must go under a savepoint. (Should
                // indexing fail after the insert wrote, the whole batch fails rather than
                // half-writing.)
                tx.savepoint().await?;
                tx.conn()
                    .index_message(id, post.channel, post.author, &post.body)
                    .await?;
                tx.append_audit(AuditEntry {
                    actor: Some(post.author),
                    action: post.audit_action,
                    object_kind: ObjectKind::Message,
                    object_id: Some(id.0),
                    community,
                });
                tx.append_event(post.channel, post.event_kind, id.0);
                Ok(Some(Posted {
                    id,
                    created_at: now,
                    community,
                }))
            })
        })
        .await
    }

    /// The durability and safety settings in force on the writer's connection and on the
    /// readers', as the database reports them.
    pub async fn settings_in_force(&self) -> Result<SettingsInForce, StoreError> {
        let writer = self
            .write(|tx| Box::pin(async move { tx.conn().settings_in_force().await }))
            .await?;
        let reader = self.reader().await?.conn().settings_in_force().await?;
        Ok(SettingsInForce { writer, reader })
    }

    /// Truncates the journal now, so that no page of text deleted before the call lingers in
    /// it (on SQLite, a TRUNCATE checkpoint of the write-ahead log; nothing to do on
    /// PostgreSQL). Jobs that delete personal text ask for the same with
    /// [`Tx::truncate_journal_after_commit`] without waiting for it.
    pub async fn truncate_journal(&self) -> Result<(), StoreError> {
        match &self.checkpoints {
            Some(checkpoints) => checkpoints.truncate().await,
            None => Ok(()),
        }
    }

    /// Whether the database answers and the writer takes jobs.
    pub async fn ping(&self) -> Result<(), StoreError> {
        if !self.writer.is_running() {
            return Err(StoreError::Unavailable);
        }
        let mut reader = self.reader().await?;
        reader.conn().ping().await
    }

    /// Commits what is queued, stops the writer and closes the pools.
    pub async fn close(&self) {
        self.writer.stop().await;
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.stop().await;
        }
        match &self.readers {
            ReadPool::Sqlite(pool) => pool.close().await,
            ReadPool::Postgres(pool) => pool.close().await,
        }
    }
}

/// The id generator of node `node`, for its write connections to share.
fn node_ids(node: u16) -> SharedIds {
    Arc::new(Mutex::new(hearth_core::IdGenerator::new(node)))
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}
