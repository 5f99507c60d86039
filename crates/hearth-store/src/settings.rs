//! The durability and safety settings a connection actually runs with, as the database reports
//! them, so that a test can hold the store to its promises rather than to its source code.

use crate::StoreError;
use crate::conn::{Conn, DbConn};
use sqlx::Row;
use std::collections::BTreeMap;

/// SQLite pragmas that decide whether a commit is durable and deleted text is gone.
const SQLITE_PRAGMAS: &[&str] = &[
    "journal_mode",
    "synchronous",
    "secure_delete",
    "foreign_keys",
    "journal_size_limit",
    "wal_autocheckpoint",
    "busy_timeout",
];

/// PostgreSQL settings that decide whether a commit is durable and a stuck lock stalls a node.
const POSTGRES_SETTINGS: &[&str] = &[
    "synchronous_commit",
    "lock_timeout",
    "statement_timeout",
    "idle_in_transaction_session_timeout",
];

/// Settings in force, by name, as the engine prints them.
pub type Settings = BTreeMap<&'static str, String>;

/// The settings in force on the store's connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsInForce {
    /// On the writer's connection.
    pub writer: Settings,
    /// On a connection of the read pool.
    pub reader: Settings,
}

impl Conn<'_> {
    /// The settings this connection runs with.
    pub async fn settings_in_force(&mut self) -> Result<Settings, StoreError> {
        let mut settings = Settings::new();
        match &mut self.db {
            DbConn::Sqlite(c) => {
                for &name in SQLITE_PRAGMAS {
                    // Pragmas are not parameters; the names are our own constants.
                    let sql = format!("PRAGMA {name}");
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .fetch_one(&mut **c)
                        .await?;
                    // Some pragmas answer in text, most in integers: read either as text.
                    settings.insert(name, row.try_get_unchecked::<String, _>(0)?);
                }
            }
            DbConn::Postgres(c) => {
                for &name in POSTGRES_SETTINGS {
                    let (value,): (String,) = sqlx::query_as("SELECT current_setting($1)")
                        .bind(name)
                        .fetch_one(&mut **c)
                        .await?;
                    settings.insert(name, value);
                }
            }
        }
        Ok(settings)
    }
}
