//! The audit log and the events feed: appended inside the same transaction as the write they
//! describe.

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use hearth_core::audit::AuditEntry;
use hearth_core::{ChannelId, CommunityId, Timestamp, UserId};

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

impl Conn<'_> {
    /// Appends an audit entry.
    pub async fn append_audit(
        &mut self,
        id: i64,
        at: Timestamp,
        entry: &AuditEntry,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO audit_log (id, at, actor_id, action, object_kind, object_id, \
             community_id) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(id).bind(at.0).bind(entry.actor.map(|u| u.0)).bind(entry.action.code())
            .bind(entry.object_kind.code()).bind(entry.object_id)
            .bind(entry.community.map(|c| c.0))
            .execute(&mut **c).await?.rows_affected());
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

    /// A community's audit entries older than `before`, newest first.
    pub async fn audit_of_community(
        &mut self,
        community: CommunityId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as(
            "SELECT id, at, actor_id, action, object_kind, object_id, community_id \
             FROM audit_log WHERE community_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3")
            .bind(community.0).bind(before.unwrap_or(i64::MAX)).bind(limit)
            .fetch_all(&mut **c).await?))
    }

    /// Appends a change to the events feed.
    pub async fn append_event(
        &mut self,
        channel: ChannelId,
        kind: &'static str,
        object_id: i64,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO events (channel_id, kind, object_id, at) VALUES ($1, $2, $3, $4)")
            .bind(channel.0).bind(kind).bind(object_id).bind(at.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
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
