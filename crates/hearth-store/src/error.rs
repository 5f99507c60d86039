//! Storage errors, free of backend types so that callers never see sqlx.

use sqlx::error::DatabaseError;
use thiserror::Error;

/// Why a storage operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A unique constraint refused the write.
    #[error("unique constraint violated")]
    UniqueViolation,
    /// A foreign key pointed nowhere.
    #[error("foreign key violated")]
    ForeignKeyViolation,
    /// Stored data could not be decoded (a sealed value that will not open, an unknown enum).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The configuration names no usable database.
    #[error("bad database configuration: {0}")]
    Config(String),
    /// The writer has stopped (shutdown) or lost its database; the write was not made.
    #[error("the store is not accepting writes")]
    Unavailable,
    /// The transaction collided with a concurrent one (a serialization failure or a deadlock;
    /// on SQLite, the database kept busy by another connection past the busy timeout) and was
    /// rolled back; the same write may well succeed if made again.
    #[error("conflict with a concurrent transaction: {0}")]
    Conflict(String),
    /// The database gave up waiting: a lock it could not get in time, or a statement past its
    /// timeout (PostgreSQL's `lock_timeout` and `statement_timeout`). Nothing was written; try
    /// again shortly.
    #[error("the database is busy: {0}")]
    Busy(String),
    /// The batch this write belonged to failed to commit; the write was not made.
    #[error("commit failed: {0}")]
    CommitFailed(String),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Anything else the database said.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// A file system error around the database.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// Whether the failed transaction collided with a concurrent one, and is worth running
    /// again.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict(_))
    }

    /// Whether the database gave up waiting for a lock or a statement.
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Busy(_))
    }

    /// Whether the database itself answered with this error, so that the statement it
    /// answered did not take effect. Otherwise (the connection broke, say) a statement that
    /// commits by itself may or may not have committed.
    pub(crate) fn is_refusal(&self) -> bool {
        match self {
            StoreError::UniqueViolation
            | StoreError::ForeignKeyViolation
            | StoreError::Conflict(_)
            | StoreError::Busy(_) => true,
            // Not the errors that end the connection or the server (connection exceptions,
            // operator intervention such as a terminated backend, lack of resources, internal
            // errors): those can come after a statement committed.
            StoreError::Database(sqlx::Error::Database(db)) => !matches!(
                db.code().as_deref().and_then(|c| c.get(..2)),
                Some("08" | "57" | "53" | "XX")
            ),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if matches!(error, sqlx::Error::PoolClosed) {
            return StoreError::Unavailable;
        }
        if let sqlx::Error::Database(db) = &error {
            if db.is_unique_violation() {
                return StoreError::UniqueViolation;
            }
            if db.is_foreign_key_violation() {
                return StoreError::ForeignKeyViolation;
            }
            // serialization_failure, deadlock_detected
            if matches!(db.code().as_deref(), Some("40001" | "40P01")) {
                return StoreError::Conflict(db.message().to_string());
            }
            // SQLITE_BUSY and SQLITE_LOCKED, with their extended codes (the low byte): another
            // connection held the database past the busy timeout, which running the
            // transaction again a little later can get past, like a serialization failure.
            if let Some(sqlite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>()
                && let Some(Ok(code)) = sqlite.code().map(|c| c.parse::<i32>())
                && matches!(code & 0xff, 5 | 6)
            {
                return StoreError::Conflict(db.message().to_string());
            }
            // lock_not_available, query_canceled (the statement timeout)
            if matches!(db.code().as_deref(), Some("55P03" | "57014")) {
                return StoreError::Busy(db.message().to_string());
            }
        }
        StoreError::Database(error)
    }
}
