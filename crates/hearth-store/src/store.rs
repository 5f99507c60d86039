//! Opening a store: connect, migrate, start the writer, open the read pool.

use crate::StoreError;
use crate::conn::{Backend, PooledConn, Reader};
use crate::sealing::{PlainSealer, Sealer};
use crate::writer::{Guard, OwnedConn, Reconnect, Tx, Writer, watch_sqlite};
use futures_util::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, PgPool, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
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
    /// This node's number, part of every id it makes (0–1023).
    pub node_id: u16,
}

hearth_core::debug_fields!(StoreOptions {
    read_connections,
    max_batch,
    node_id
});

impl StoreOptions {
    /// Options with Hearth's defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            read_connections: 8,
            max_batch: 256,
            node_id: 0,
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
    sealer: Arc<dyn Sealer>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

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
            .busy_timeout(Duration::from_secs(5))
            // Deleted content is overwritten, not left in free pages.
            .pragma("secure_delete", "on")
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
        let reconnect = Reconnect::Sqlite(base.clone());
        let watch = watch_sqlite(&mut write).await?;
        let tx = Tx::new(
            OwnedConn::Sqlite(write),
            reconnect,
            sealer.clone(),
            options.node_id,
            Some(watch),
        );
        Ok(Self {
            backend: Backend::Sqlite,
            readers: ReadPool::Sqlite(readers),
            writer: Writer::spawn(tx, options.max_batch),
            sealer,
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
        let mut write = base.connect().await?;
        POSTGRES_MIGRATIONS.run(&mut write).await?;
        let readers = PgPoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .connect_with(base.clone())
            .await?;
        let reconnect = Reconnect::Postgres(base);
        let tx = Tx::new(
            OwnedConn::Postgres(write),
            reconnect,
            sealer.clone(),
            options.node_id,
            None,
        );
        Ok(Self {
            backend: Backend::Postgres,
            readers: ReadPool::Postgres(readers),
            // Each job in a batch is a savepoint, that is a subtransaction; PostgreSQL keeps 64
            // of them per transaction in memory and slows every reader down beyond that.
            writer: Writer::spawn(tx, options.max_batch.min(64)),
            sealer,
        })
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
    pub async fn write<T, E, F>(&self, job: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
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
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.writer.write(Guard::Job, job).await
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
        match &self.readers {
            ReadPool::Sqlite(pool) => pool.close().await,
            ReadPool::Postgres(pool) => pool.close().await,
        }
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}
