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

    /// Writes buffered events as multi-row inserts.
    pub(crate) async fn insert_event_rows(
        &mut self,
        rows: &[PendingEvent],
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let sql = multi_row_insert("events (channel_id, kind, object_id, at)", 4, chunk.len());
            dispatch!(self, c => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).persistent(false);
                for row in chunk {
                    query = query.bind(row.channel.0).bind(row.kind).bind(row.object_id).bind(row.at.0);
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

    /// The newest event's position, or 0.
    pub async fn last_event_seq(&mut self) -> Result<i64, StoreError> {
        let (seq,): (Option<i64>,) = dispatch!(self, c =>
            sqlx::query_as("SELECT MAX(seq) FROM events").fetch_one(&mut **c).await?);
        Ok(seq.unwrap_or(0))
    }
}
