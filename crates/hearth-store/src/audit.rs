//! The audit log and the events feed: appended inside the same transaction as the write they
//! describe.

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use hearth_core::audit::AuditEntry;
use hearth_core::{ChannelId, Timestamp, UserId};

/// One stored audit entry.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRecord {
    /// Entry id (time-ordered).
    pub id: i64,
    /// When.
    pub at: i64,
    /// Who, by id.
    pub actor_id: Option<i64>,
    /// What, as a stable code.
    pub action: String,
    /// What kind of object.
    pub object_kind: String,
    /// Which object.
    pub object_id: Option<i64>,
    /// In which community.
    pub community_id: Option<i64>,
}

/// One change on the events feed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRecord {
    /// Position in the feed.
    pub seq: i64,
    /// The channel it happened in.
    pub channel_id: i64,
    /// What happened, as a stable code.
    pub kind: String,
    /// The object it happened to.
    pub object_id: i64,
    /// When.
    pub at: i64,
}

/// An audit entry waiting for its transaction's commit.
#[derive(Debug, Clone)]
pub(crate) struct PendingAudit {
    pub id: i64,
    pub at: Timestamp,
    pub entry: AuditEntry,
}

/// An event waiting for its transaction's commit.
#[derive(Debug, Clone)]
pub(crate) struct PendingEvent {
    pub channel: ChannelId,
    pub kind: &'static str,
    pub object_id: i64,
    pub at: Timestamp,
}

/// Rows per multi-row INSERT; well under both engines' limits on bound parameters.
const ROWS_PER_INSERT: usize = 200;

/// `INSERT INTO table (columns) VALUES ($1, ..), ($n, ..)` for `rows` rows. Only placeholders
/// are generated, never values, so the statement is safe to build.
pub fn multi_row_insert(table_and_columns: &str, columns: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table_and_columns} VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", row * columns + column + 1));
        }
        sql.push(')');
    }
    sql
}

/// A table written in time order, whose key orders its rows by age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeOrderedLog {
    /// The events feed, keyed by its commit-ordered sequence.
    Events,
    /// The audit log, keyed by time-ordered ids (they begin with the millisecond they were
    /// made in).
    Audit,
}

impl Conn<'_> {
    /// Writes buffered audit entries as multi-row inserts.
    pub(crate) async fn insert_audit_rows(
        &mut self,
        rows: &[PendingAudit],
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let sql = multi_row_insert(
                "audit_log (id, at, actor_id, action, object_kind, object_id, community_id)",
                7,
                chunk.len(),
            );
            dispatch!(self, c => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).persistent(false);
                for row in chunk {
                    query = query
                        .bind(row.id).bind(row.at.0).bind(row.entry.actor.map(|u| u.0))
                        .bind(row.entry.action.code()).bind(row.entry.object_kind.code())
                        .bind(row.entry.object_id).bind(row.entry.community.map(|c| c.0));
                }
                query.execute(&mut **c).await?.rows_affected()
            });
        }
        Ok(())
    }

    /// Writes buffered events as multi-row inserts, numbered from the event counter. Taking
    /// the numbers locks the counter's row until COMMIT, so numbers follow commit order even
    /// across nodes; this should be the transaction's last statement, to hold it briefly.
    pub(crate) async fn insert_event_rows(
        &mut self,
        rows: &[PendingEvent],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let count = rows.len() as i64;
        let (last,): (i64,) = dispatch!(self, c => sqlx::query_as(
            "UPDATE event_sequence SET last = last + $1 WHERE id = 1 RETURNING last")
            .bind(count).fetch_one(&mut **c).await?);
        let mut seq = last - count;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let sql = multi_row_insert(
                "events (seq, channel_id, kind, object_id, at)",
                5,
                chunk.len(),
            );
            dispatch!(self, c => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).persistent(false);
                for row in chunk {
                    seq += 1;
                    query = query.bind(seq).bind(row.channel.0).bind(row.kind)
                        .bind(row.object_id).bind(row.at.0);
                }
                query.execute(&mut **c).await?.rows_affected()
            });
        }
        Ok(())
    }

    /// Audit entries about one actor, newest first.
    pub async fn audit_by_actor(
        &mut self,
        actor: UserId,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as(
            "SELECT id, at, actor_id, action, object_kind, object_id, community_id \
             FROM audit_log WHERE actor_id = $1 ORDER BY id DESC LIMIT $2")
            .bind(actor.0).bind(limit).fetch_all(&mut **c).await?))
    }

    /// The newest audit entries of one action (its stable name, e.g. `session.sign_in_failed`).
    pub async fn audit_by_action(
        &mut self,
        action: &str,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as(
            "SELECT id, at, actor_id, action, object_kind, object_id, community_id \
             FROM audit_log WHERE action = $1 ORDER BY id DESC LIMIT $2")
            .bind(action).bind(limit).fetch_all(&mut **c).await?))
    }

    /// Events after `seq`, oldest first.
    pub async fn events_after(
        &mut self,
        seq: i64,
        limit: i64,
    ) -> Result<Vec<EventRecord>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as(
            "SELECT seq, channel_id, kind, object_id, at FROM events WHERE seq > $1 \
             ORDER BY seq LIMIT $2")
            .bind(seq).bind(limit).fetch_all(&mut **c).await?))
    }

    /// Deletes those of the `limit` oldest rows of `log` that were written before `before`;
    /// returns how many. Only the head of the log is looked at, by its key, never the whole
    /// table: both logs are written in time order (give or take the moments that commits on
    /// several nodes overlap), so the old rows are at the head, and a sweep with nothing due
    /// reads `limit` rows.
    pub async fn delete_old_at_head(
        &mut self,
        log: TimeOrderedLog,
        before: Timestamp,
        limit: i64,
    ) -> Result<u64, StoreError> {
        let sql = match log {
            TimeOrderedLog::Events => {
                "DELETE FROM events WHERE seq IN \
                 (SELECT seq FROM events ORDER BY seq LIMIT $2) AND at < $1"
            }
            TimeOrderedLog::Audit => {
                "DELETE FROM audit_log WHERE id IN \
                 (SELECT id FROM audit_log ORDER BY id LIMIT $2) AND at < $1"
            }
        };
        Ok(dispatch!(self, c => sqlx::query(sql)
            .bind(before.0).bind(limit).execute(&mut **c).await?.rows_affected()))
    }

    /// Every audit entry, every column, as lines of text: whatever columns the table has, so
    /// that a test searching it for personal data sees all of it.
    pub async fn audit_dump(&mut self) -> Result<String, StoreError> {
        use sqlx::{Column, Row};
        fn cell<'r, R: Row>(row: &'r R, i: usize) -> String
        where
            usize: sqlx::ColumnIndex<R>,
            Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        {
            if let Ok(text) = row.try_get::<Option<String>, _>(i) {
                return text.unwrap_or_default();
            }
            if let Ok(number) = row.try_get::<Option<i64>, _>(i) {
                return number.map(|n| n.to_string()).unwrap_or_default();
            }
            row.try_get::<Option<Vec<u8>>, _>(i)
                .ok()
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        }
        let mut out = String::new();
        dispatch!(self, c => {
            let rows = sqlx::query("SELECT * FROM audit_log ORDER BY id")
                .fetch_all(&mut **c).await?;
            for row in &rows {
                let cells: Vec<String> = (0..row.columns().len())
                    .map(|i| format!("{}={}", row.columns()[i].name(), cell(row, i)))
                    .collect();
                out.push_str(&cells.join(" "));
                out.push('\n');
            }
        });
        Ok(out)
    }

    /// The last event position that has committed, or 0. It is read from the event counter,
    /// not the feed: the retention sweep may have emptied the feed, but numbering goes on
    /// from the counter, and its committed value is exactly the last committed number.
    pub async fn last_event_seq(&mut self) -> Result<i64, StoreError> {
        let row: Option<(i64,)> = dispatch!(self, c =>
            sqlx::query_as("SELECT last FROM event_sequence WHERE id = 1")
                .fetch_optional(&mut **c).await?);
        Ok(row.map_or(0, |(last,)| last))
    }
}
