//! A borrowed connection to either backend. Every query is a method on [`Conn`], written once
//! with `$n` placeholders that SQLite and PostgreSQL both accept, and dispatched by [`dispatch!`].

use crate::sealing::Sealer;
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, Postgres, Sqlite, SqliteConnection};
use std::sync::Arc;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

pub(crate) enum DbConn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

/// A connection borrowed for some queries: inside the writer's transaction, or from the read
/// pool.
pub struct Conn<'c> {
    pub(crate) db: DbConn<'c>,
    pub(crate) sealer: &'c dyn Sealer,
}

impl Conn<'_> {
    /// The engine behind this connection.
    pub fn backend(&self) -> Backend {
        match self.db {
            DbConn::Sqlite(_) => Backend::Sqlite,
            DbConn::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Runs the same expression against whichever backend `$conn` holds; `$c` is bound to a
/// `&mut &mut XConnection`, so queries execute on `&mut **$c`.
macro_rules! dispatch {
    ($conn:expr, $c:ident => $body:expr) => {
        match &mut $conn.db {
            $crate::conn::DbConn::Sqlite($c) => $body,
            $crate::conn::DbConn::Postgres($c) => $body,
        }
    };
}
pub(crate) use dispatch;

/// `$from, $from+1, ...` for `count` parameters: the list of an `IN (...)` built for a
/// slice of values.
pub(crate) fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) enum PooledConn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// A connection from the read pool.
pub struct Reader {
    pub(crate) conn: PooledConn,
    pub(crate) sealer: Arc<dyn Sealer>,
}

impl Reader {
    /// The connection, for queries.
    pub fn conn(&mut self) -> Conn<'_> {
        let db = match &mut self.conn {
            PooledConn::Sqlite(c) => DbConn::Sqlite(&mut *c),
            PooledConn::Postgres(c) => DbConn::Postgres(&mut *c),
        };
        Conn {
            db,
            sealer: &*self.sealer,
        }
    }
}
