//! The hottest write, a member's top-level post, in as few round trips as the engine allows.
//!
//! On PostgreSQL the writer gathers the posts that arrive together and writes them all in its
//! batch's final statement, beside the batch's audit entries and events: one statement checks
//! every author's membership, inserts the messages that pass, and writes their audit entries and
//! feed events. A batch of nothing but posts needs no BEGIN or COMMIT either: that one statement
//! commits by itself. Per post, that saves the round trips (and the database's per-statement
//! work) that made posting cost several times what the rows themselves cost.
//!
//! A post that does not pass the check is not written and its caller hears `None`: it then
//! takes the ordinary path, which tells a missing channel from a missing membership.

use crate::StoreError;
use crate::audit::{PendingAudit, PendingEvent};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::{ChannelId, CommunityId, MessageId, Timestamp, UserId};
use sqlx::PgConnection;

/// A top-level post by someone who should be a member of the channel.
#[derive(Clone)]
pub struct QuickPost {
    /// Where it goes.
    pub channel: ChannelId,
    /// Who wrote it.
    pub author: UserId,
    /// Its text, in the clear; sealed on the way in.
    pub body: String,
    /// What the audit log records of it; its object is the new message.
    pub audit_action: AuditAction,
    /// Its kind in the events feed; the event's object is the new message.
    pub event_kind: &'static str,
}

hearth_core::debug_fields!(QuickPost {
    channel,
    author,
    audit_action,
    event_kind
});

/// A post that was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posted {
    /// The new message.
    pub id: MessageId,
    /// When it was written.
    pub created_at: Timestamp,
    /// The channel's community (none for a direct conversation).
    pub community: Option<CommunityId>,
}

/// A post as the final statement writes it: ids and time given, body sealed.
pub(crate) struct PendingPost {
    pub id: i64,
    pub audit_id: i64,
    pub channel: ChannelId,
    pub author: UserId,
    pub sealed: Vec<u8>,
    /// The text in the clear, for the search index.
    pub body: String,
    pub at: Timestamp,
    pub audit_action: AuditAction,
    pub event_kind: &'static str,
}

/// The messages one final statement inserted: each with its channel's community.
pub(crate) type Inserted = Vec<(i64, Option<i64>)>;

/// On PostgreSQL, the batch's last statement, one round trip: the posts that pass their
/// membership check (with their text in the search index), then the audit entries (the batch's and the posts'), then the events (the
/// batch's, then the posts'), numbered from the counter, whose row stays locked until COMMIT.
/// The lock is taken this late so that connections committing side by side wait on one another
/// only for the last statement and the commit. With nothing to write it still runs, and fails
/// if the transaction is spoiled (see `Tx::flush_appends`).
pub(crate) async fn flush_postgres(
    conn: &mut PgConnection,
    audit: &[PendingAudit],
    events: &[PendingEvent],
    posts: &[PendingPost],
) -> Result<Inserted, StoreError> {
    let rows: Inserted = sqlx::query_as(
        "WITH posted AS (INSERT INTO messages \
           (id, channel_id, author_id, thread_root_id, body, created_at) \
           SELECT p.id, p.channel_id, p.author_id, NULL, p.body, p.at \
           FROM unnest($13::bigint[], $14::bigint[], $15::bigint[], $16::bytea[], \
             $17::bigint[]) AS p(id, channel_id, author_id, body, at) \
           WHERE EXISTS (SELECT 1 FROM channel_members m \
             JOIN channels ch ON ch.id = m.channel_id \
             WHERE m.channel_id = p.channel_id AND m.user_id = p.author_id \
             AND (ch.community_id IS NULL OR EXISTS (SELECT 1 FROM community_members cm \
               WHERE cm.community_id = ch.community_id AND cm.user_id = p.author_id))) \
           RETURNING id, channel_id, author_id, created_at, \
             (SELECT community_id FROM channels WHERE channels.id = messages.channel_id) \
               AS community_id), \
         audit AS (INSERT INTO audit_log \
           (id, at, actor_id, action, object_kind, object_id, community_id) \
           SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], \
             $5::text[], $6::bigint[], $7::bigint[]) \
           UNION ALL \
           SELECT a.audit_id, posted.created_at, posted.author_id, a.action, $19::text, \
             posted.id, posted.community_id \
           FROM posted JOIN unnest($13::bigint[], $18::bigint[], $20::text[]) \
             AS a(id, audit_id, action) ON a.id = posted.id), \
         searchable AS (INSERT INTO message_search (message_id, channel_id, author_id, body) \
           SELECT posted.id, posted.channel_id, posted.author_id, t.body \
           FROM posted JOIN unnest($13::bigint[], $22::text[]) AS t(id, body) \
             ON t.id = posted.id), \
         tally AS (SELECT $8::bigint + count(*) AS total FROM posted), \
         counter AS (UPDATE event_sequence SET last = last + tally.total FROM tally \
           WHERE id = 1 AND tally.total > 0 RETURNING last, tally.total), \
         feed AS (INSERT INTO events (seq, channel_id, kind, object_id, at) \
           SELECT counter.last - counter.total + e.n, e.channel_id, e.kind, e.object_id, e.at \
           FROM counter, (SELECT * FROM unnest($9::bigint[], $10::text[], $11::bigint[], \
               $12::bigint[]) WITH ORDINALITY AS x(channel_id, kind, object_id, at, n) \
             UNION ALL \
             SELECT posted.channel_id, k.kind, posted.id, posted.created_at, \
               $8::bigint + row_number() OVER (ORDER BY posted.id) \
             FROM posted JOIN unnest($13::bigint[], $21::text[]) AS k(id, kind) \
               ON k.id = posted.id) AS e) \
         SELECT id, community_id FROM posted",
    )
    .bind(audit.iter().map(|a| a.id).collect::<Vec<_>>())
    .bind(audit.iter().map(|a| a.at.0).collect::<Vec<_>>())
    .bind(
        audit
            .iter()
            .map(|a| a.entry.actor.map(|u| u.0))
            .collect::<Vec<_>>(),
    )
    .bind(
        audit
            .iter()
            .map(|a| a.entry.action.code())
            .collect::<Vec<_>>(),
    )
    .bind(
        audit
            .iter()
            .map(|a| a.entry.object_kind.code())
            .collect::<Vec<_>>(),
    )
    .bind(audit.iter().map(|a| a.entry.object_id).collect::<Vec<_>>())
    .bind(
        audit
            .iter()
            .map(|a| a.entry.community.map(|c| c.0))
            .collect::<Vec<_>>(),
    )
    .bind(events.len() as i64)
    .bind(events.iter().map(|e| e.channel.0).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.kind).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.object_id).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.at.0).collect::<Vec<_>>())
    .bind(posts.iter().map(|p| p.id).collect::<Vec<_>>())
    .bind(posts.iter().map(|p| p.channel.0).collect::<Vec<_>>())
    .bind(posts.iter().map(|p| p.author.0).collect::<Vec<_>>())
    .bind(
        posts
            .iter()
            .map(|p| p.sealed.as_slice())
            .collect::<Vec<_>>(),
    )
    .bind(posts.iter().map(|p| p.at.0).collect::<Vec<_>>())
    .bind(posts.iter().map(|p| p.audit_id).collect::<Vec<_>>())
    .bind(ObjectKind::Message.code())
    .bind(
        posts
            .iter()
            .map(|p| p.audit_action.code())
            .collect::<Vec<_>>(),
    )
    .bind(posts.iter().map(|p| p.event_kind).collect::<Vec<_>>())
    .bind(posts.iter().map(|p| p.body.as_str()).collect::<Vec<_>>())
    .fetch_all(conn)
    .await?;
    Ok(rows)
}
