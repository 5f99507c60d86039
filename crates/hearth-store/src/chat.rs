//! Channels, direct conversations and messages. Message bodies pass through the sealer.

use crate::StoreError;
use crate::conn::{Backend, Conn, dispatch, placeholders};
use crate::rows::{ChannelRow, parse_role};
use hearth_core::model::{Channel, Message, MessageRevision, PublicUser, Role};
use hearth_core::{ChannelId, CommunityId, MessageId, Timestamp, UserId, debug_fields};

/// A message as stored; the body is still sealed.
#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    channel_id: i64,
    author_id: Option<i64>,
    thread_root_id: Option<i64>,
    body: Option<Vec<u8>>,
    created_at: i64,
    edited_at: Option<i64>,
    deleted_at: Option<i64>,
    reply_count: i64,
}

debug_fields!(MessageRow {
    id,
    channel_id,
    author_id,
    thread_root_id,
    created_at,
    edited_at,
    deleted_at,
    reply_count
});

#[derive(Debug, sqlx::FromRow)]
struct AccessRow {
    #[sqlx(flatten)]
    channel: ChannelRow,
    is_member: bool,
    role: Option<String>,
}

macro_rules! select_message {
    ($filter:literal) => {
        concat!(
            "SELECT id, channel_id, author_id, thread_root_id, body, created_at, edited_at, ",
            "deleted_at, reply_count FROM messages ",
            $filter
        )
    };
}

macro_rules! select_channel {
    ($filter:literal) => {
        concat!(
            "SELECT id, community_id, kind, name, topic, created_at FROM channels ",
            $filter
        )
    };
}

/// A channel of a sidebar, with the reader's place in it.
#[derive(sqlx::FromRow)]
struct SidebarRow {
    #[sqlx(flatten)]
    channel: ChannelRow,
    joined: bool,
    marker: Option<i64>,
}

/// What became of an edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The body was replaced, at this time, and the one it replaced kept as a revision.
    Done(Timestamp),
    /// The message is deleted, or not the author's: nothing was written.
    Gone,
    /// The message has as many revisions as allowed: nothing was written.
    TooMany,
}

/// A new message, validated by the caller.
#[derive(Clone)]
pub struct NewMessage<'a> {
    /// Its id.
    pub id: MessageId,
    /// Where it goes.
    pub channel: ChannelId,
    /// Who wrote it.
    pub author: UserId,
    /// The thread it replies to.
    pub thread_root: Option<MessageId>,
    /// Its text, in the clear; sealed on the way in.
    pub body: &'a str,
    /// When it was posted.
    pub now: Timestamp,
}

debug_fields!(NewMessage<'_> {
    id,
    channel,
    author,
    thread_root,
    now
});

impl Conn<'_> {
    fn open_message(&self, row: MessageRow) -> Result<Message, StoreError> {
        let author = row.author_id.map(UserId);
        // A body is sealed for its author; once their account is gone, so is anyone who
        // could open it, and the message reads as erased, unless it was kept (under "Deleted
        // user" or a legal hold) and sealed again for no one.
        let body = match (row.body, author) {
            (Some(sealed), Some(author)) => Some(self.sealer.open(author, &sealed)?),
            (Some(sealed), None) => Some(self.sealer.open(crate::sealing::NO_ONE, &sealed)?),
            (None, _) => None,
        };
        Ok(Message {
            id: MessageId(row.id),
            channel_id: ChannelId(row.channel_id),
            author_id: author,
            thread_root_id: row.thread_root_id.map(MessageId),
            body,
            created_at: Timestamp(row.created_at),
            edited_at: row.edited_at.map(Timestamp),
            deleted_at: row.deleted_at.map(Timestamp),
            reply_count: row.reply_count,
            // Read for a page of messages at once: see `Conn::attachments_of`.
            attachments: Vec::new(),
        })
    }

    /// Inserts a channel or direct conversation.
    pub async fn insert_channel(
        &mut self,
        channel: &Channel,
        created_by: UserId,
        direct_key: Option<&str>,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO channels (id, community_id, kind, name, topic, direct_key, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(channel.id.0).bind(channel.community_id.map(|c| c.0))
            .bind(channel.kind.as_str()).bind(&channel.name).bind(&channel.topic)
            .bind(direct_key).bind(created_by.0).bind(channel.created_at.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// The channel with this id.
    pub async fn channel(&mut self, id: ChannelId) -> Result<Option<Channel>, StoreError> {
        let row: Option<ChannelRow> = dispatch!(self, c =>
            sqlx::query_as(select_channel!("WHERE id = $1"))
                .bind(id.0).fetch_optional(&mut **c).await?);
        row.map(Channel::try_from).transpose()
    }

    /// A channel together with whether `user` belongs to it and their role in its community,
    /// in one round trip: every chat action starts with this check.
    pub async fn channel_with_access(
        &mut self,
        id: ChannelId,
        user: UserId,
    ) -> Result<Option<(Channel, bool, Option<Role>)>, StoreError> {
        let row: Option<AccessRow> = dispatch!(self, c => sqlx::query_as(
            "SELECT c.id, c.community_id, c.kind, c.name, c.topic, c.created_at, \
             EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = c.id \
             AND m.user_id = $2) AS is_member, \
             (SELECT cm.role FROM community_members cm WHERE cm.community_id = c.community_id \
             AND cm.user_id = $2) AS role FROM channels c WHERE c.id = $1")
            .bind(id.0).bind(user.0).fetch_optional(&mut **c).await?);
        row.map(|r| {
            let role = r.role.as_deref().map(parse_role).transpose()?;
            Ok((Channel::try_from(r.channel)?, r.is_member, role))
        })
        .transpose()
    }

    /// The direct conversation with this participant key.
    pub async fn direct_channel(&mut self, key: &str) -> Result<Option<Channel>, StoreError> {
        let row: Option<ChannelRow> = dispatch!(self, c =>
            sqlx::query_as(select_channel!("WHERE direct_key = $1"))
                .bind(key).fetch_optional(&mut **c).await?);
        row.map(Channel::try_from).transpose()
    }

    /// A page of the channels of a community that `user` may see, by id, after the given
    /// one: every public one, and the private ones they belong to (all of them when
    /// `all_private` is set, for admins).
    pub async fn channels_visible(
        &mut self,
        community: CommunityId,
        user: UserId,
        all_private: bool,
        after: Option<ChannelId>,
        limit: i64,
    ) -> Result<Vec<Channel>, StoreError> {
        let rows: Vec<ChannelRow> = dispatch!(self, c => sqlx::query_as(select_channel!(
            "WHERE community_id = $1 AND (kind = 'public' OR $3 OR EXISTS \
             (SELECT 1 FROM channel_members m WHERE m.channel_id = channels.id \
             AND m.user_id = $2)) AND id > $4 ORDER BY id LIMIT $5"))
            .bind(community.0).bind(user.0).bind(all_private)
            .bind(after.map_or(0, |a| a.0)).bind(limit)
            .fetch_all(&mut **c).await?);
        rows.into_iter().map(Channel::try_from).collect()
    }

    /// The sidebar of a community's channel page: the channels `user` may see (public ones,
    /// those they belong to, and with `all_private` every private one), each with whether they
    /// have joined it and how far they have read it, in one query.
    pub async fn sidebar_channels(
        &mut self,
        community: CommunityId,
        user: UserId,
        all_private: bool,
        limit: i64,
    ) -> Result<Vec<(Channel, bool, Option<MessageId>)>, StoreError> {
        let rows: Vec<SidebarRow> = dispatch!(self, c => sqlx::query_as(
            "SELECT * FROM (SELECT id, community_id, kind, name, topic, created_at, \
             EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = channels.id \
                     AND m.user_id = $2) AS joined, \
             (SELECT r.last_read_id FROM channel_reads r WHERE r.user_id = $2 \
              AND r.channel_id = channels.id) AS marker \
             FROM channels WHERE community_id = $1) AS visible \
             WHERE kind = 'public' OR $3 OR joined ORDER BY id LIMIT $4")
            .bind(community.0).bind(user.0).bind(all_private).bind(limit)
            .fetch_all(&mut **c).await?);
        rows.into_iter()
            .map(|r| {
                Ok((
                    Channel::try_from(r.channel)?,
                    r.joined,
                    r.marker.map(MessageId),
                ))
            })
            .collect()
    }

    /// A community's first public channel, the #general made with it, which new members join.
    pub async fn first_public_channel(
        &mut self,
        community: CommunityId,
    ) -> Result<Option<ChannelId>, StoreError> {
        let row: Option<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT id FROM channels WHERE community_id = $1 AND kind = 'public' \
             ORDER BY id LIMIT 1")
            .bind(community.0).fetch_optional(&mut **c).await?);
        Ok(row.map(|(id,)| ChannelId(id)))
    }

    /// A page of the direct conversations `user` takes part in, by id, after the given one.
    pub async fn direct_channels_of(
        &mut self,
        user: UserId,
        after: Option<ChannelId>,
        limit: i64,
    ) -> Result<Vec<Channel>, StoreError> {
        let rows: Vec<ChannelRow> = dispatch!(self, c => sqlx::query_as(select_channel!(
            "WHERE kind = 'direct' AND id IN \
             (SELECT channel_id FROM channel_members WHERE user_id = $1) AND id > $2 \
             ORDER BY id LIMIT $3"))
            .bind(user.0).bind(after.map_or(0, |a| a.0)).bind(limit)
            .fetch_all(&mut **c).await?);
        rows.into_iter().map(Channel::try_from).collect()
    }

    /// Every channel and direct conversation `user` belongs to.
    pub async fn channel_ids_of(&mut self, user: UserId) -> Result<Vec<ChannelId>, StoreError> {
        let rows: Vec<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT channel_id FROM channel_members WHERE user_id = $1")
            .bind(user.0).fetch_all(&mut **c).await?);
        Ok(rows.into_iter().map(|(id,)| ChannelId(id)).collect())
    }

    /// Adds a channel member; does nothing if they already are one.
    pub async fn insert_channel_member(
        &mut self,
        channel: ChannelId,
        user: UserId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "INSERT INTO channel_members (channel_id, user_id, joined_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING")
            .bind(channel.0).bind(user.0).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(done > 0)
    }

    /// Removes a channel member; returns whether they were one.
    pub async fn delete_channel_member(
        &mut self,
        channel: ChannelId,
        user: UserId,
    ) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "DELETE FROM channel_members WHERE channel_id = $1 AND user_id = $2")
            .bind(channel.0).bind(user.0).execute(&mut **c).await?.rows_affected());
        // Where one no longer takes part, how far one read says nothing worth keeping.
        dispatch!(self, c => sqlx::query(
            "DELETE FROM channel_reads WHERE channel_id = $1 AND user_id = $2")
            .bind(channel.0).bind(user.0).execute(&mut **c).await?.rows_affected());
        Ok(done > 0)
    }

    /// Whether two people take part in at least one common channel or direct conversation.
    pub async fn share_a_channel(&mut self, a: UserId, b: UserId) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT x.channel_id FROM channel_members x JOIN channel_members y \
             ON x.channel_id = y.channel_id WHERE x.user_id = $1 AND y.user_id = $2 LIMIT 1")
            .bind(a.0).bind(b.0).fetch_optional(&mut **c).await?);
        Ok(row.is_some())
    }

    /// A page of a channel's members, by user id, after the given one.
    pub async fn channel_members(
        &mut self,
        channel: ChannelId,
        after: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<PublicUser>, StoreError> {
        let rows: Vec<(i64, String, String)> = dispatch!(self, c => sqlx::query_as(
            "SELECT u.id, u.username, u.display_name FROM channel_members m \
             JOIN users u ON u.id = m.user_id WHERE m.channel_id = $1 AND m.user_id > $2 \
             ORDER BY m.user_id LIMIT $3")
            .bind(channel.0).bind(after.map_or(0, |a| a.0)).bind(limit)
            .fetch_all(&mut **c).await?);
        Ok(rows
            .into_iter()
            .map(|(id, username, display_name)| PublicUser {
                id: UserId(id),
                username,
                display_name,
            })
            .collect())
    }

    /// Inserts a message, sealing its body; a reply also bumps its root's reply count.
    pub async fn insert_message(&mut self, message: &NewMessage<'_>) -> Result<(), StoreError> {
        let sealed = self.sealer.seal(message.author, message.body);
        dispatch!(self, c => sqlx::query(
            "INSERT INTO messages (id, channel_id, author_id, thread_root_id, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(message.id.0).bind(message.channel.0).bind(message.author.0)
            .bind(message.thread_root.map(|m| m.0)).bind(&sealed).bind(message.now.0)
            .execute(&mut **c).await?.rows_affected());
        if let Some(root) = message.thread_root {
            self.adjust_reply_count(root, 1).await?;
        }
        Ok(())
    }

    /// Inserts a top-level message only if its author may post in the channel (belongs to it
    /// and, for a community channel, to the community), checking and writing in one
    /// statement. Returns `None` if it was not inserted, else the channel's community.
    pub async fn insert_message_if_member(
        &mut self,
        message: &NewMessage<'_>,
    ) -> Result<Option<Option<CommunityId>>, StoreError> {
        let sealed = self.sealer.seal(message.author, message.body);
        let row: Option<(Option<i64>,)> = dispatch!(self, c => sqlx::query_as(
            "INSERT INTO messages (id, channel_id, author_id, thread_root_id, body, created_at) \
             SELECT $1, $2, $3, NULL, $4, $5 WHERE EXISTS (SELECT 1 FROM channel_members m \
             JOIN channels ch ON ch.id = m.channel_id WHERE m.channel_id = $2 \
             AND m.user_id = $3 AND (ch.community_id IS NULL OR EXISTS (SELECT 1 \
             FROM community_members cm WHERE cm.community_id = ch.community_id \
             AND cm.user_id = $3))) \
             RETURNING (SELECT community_id FROM channels WHERE channels.id = messages.channel_id)")
            .bind(message.id.0).bind(message.channel.0).bind(message.author.0)
            .bind(&sealed).bind(message.now.0)
            .fetch_optional(&mut **c).await?);
        Ok(row.map(|(community,)| community.map(CommunityId)))
    }

    /// The message an earlier post with this idempotency key made, and the hash of that
    /// request.
    pub async fn idempotent_post(
        &mut self,
        user: UserId,
        key: &str,
    ) -> Result<Option<(MessageId, Vec<u8>)>, StoreError> {
        let row: Option<(i64, Vec<u8>)> = dispatch!(self, c => sqlx::query_as(
            "SELECT message_id, request_hash FROM post_idempotency \
             WHERE user_id = $1 AND idempotency_key = $2")
            .bind(user.0).bind(key).fetch_optional(&mut **c).await?);
        Ok(row.map(|(id, hash)| (MessageId(id), hash)))
    }

    /// Remembers which message a post with this idempotency key made; returns false if the
    /// key was taken meanwhile (the same post racing on another node).
    pub async fn remember_idempotent_post(
        &mut self,
        user: UserId,
        key: &str,
        request_hash: &[u8],
        message: MessageId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "INSERT INTO post_idempotency \
             (user_id, idempotency_key, request_hash, message_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, idempotency_key) DO NOTHING")
            .bind(user.0).bind(key).bind(request_hash).bind(message.0).bind(now.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(done == 1)
    }

    /// Forgets up to `limit` idempotency keys older than `before`; returns how many.
    pub async fn delete_idempotency_keys_before(
        &mut self,
        before: Timestamp,
        limit: i64,
    ) -> Result<u64, StoreError> {
        Ok(dispatch!(self, c => sqlx::query(
            "DELETE FROM post_idempotency WHERE (user_id, idempotency_key) IN \
             (SELECT user_id, idempotency_key FROM post_idempotency WHERE created_at < $1 \
             LIMIT $2)")
            .bind(before.0).bind(limit).execute(&mut **c).await?.rows_affected()))
    }

    async fn adjust_reply_count(&mut self, root: MessageId, by: i64) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "UPDATE messages SET reply_count = reply_count + $2 WHERE id = $1")
            .bind(root.0).bind(by).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// The message with this id, body opened.
    pub async fn message(&mut self, id: MessageId) -> Result<Option<Message>, StoreError> {
        let row: Option<MessageRow> = dispatch!(self, c =>
            sqlx::query_as(select_message!("WHERE id = $1"))
                .bind(id.0).fetch_optional(&mut **c).await?);
        row.map(|r| self.open_message(r)).transpose()
    }

    /// A page of a channel's top-level messages older than `before`, newest first.
    pub async fn channel_history(
        &mut self,
        channel: ChannelId,
        before: Option<MessageId>,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        let rows: Vec<MessageRow> = dispatch!(self, c => sqlx::query_as(select_message!(
            "WHERE channel_id = $1 AND thread_root_id IS NULL AND id < $2 \
             ORDER BY id DESC LIMIT $3"))
            .bind(channel.0).bind(before.map_or(i64::MAX, |m| m.0)).bind(limit)
            .fetch_all(&mut **c).await?);
        rows.into_iter().map(|r| self.open_message(r)).collect()
    }

    /// A page of a thread's replies newer than `after`, oldest first.
    pub async fn thread_replies(
        &mut self,
        root: MessageId,
        after: Option<MessageId>,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        let rows: Vec<MessageRow> = dispatch!(self, c => sqlx::query_as(select_message!(
            "WHERE thread_root_id = $1 AND id > $2 ORDER BY id LIMIT $3"))
            .bind(root.0).bind(after.map_or(0, |m| m.0)).bind(limit)
            .fetch_all(&mut **c).await?);
        rows.into_iter().map(|r| self.open_message(r)).collect()
    }

    /// Replaces the body of a message by `author`, keeping the body it replaces as a revision,
    /// unless the message has `max_edits` revisions already. The message row is locked first
    /// (on PostgreSQL; SQLite has one writer), so that edits racing on other nodes take turns:
    /// the revision is copied from the body as it is once this edit has the row, never from
    /// an earlier read, so no replaced text goes missing, and the cap is counted with no
    /// other edit in between. A delete racing on another node is waited for and then seen, so
    /// an edit can never bring deleted text back.
    pub async fn edit_message(
        &mut self,
        message: MessageId,
        author: UserId,
        revision_id: i64,
        new_body: &str,
        now: Timestamp,
        max_edits: i64,
    ) -> Result<Edit, StoreError> {
        if self.backend() == Backend::Postgres {
            dispatch!(self, c => sqlx::query(
                "SELECT 1 FROM messages WHERE id = $1 FOR NO KEY UPDATE")
                .bind(message.0).execute(&mut **c).await?.rows_affected());
        }
        // The replaced body's time is the edit's, or just after the edit before it if that
        // one (made on a node whose clock runs ahead, or that took the row first) is later:
        // revisions are in the order they were made whatever the clocks say.
        let kept: Option<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "INSERT INTO message_edits (id, message_id, author_id, body, replaced_at) \
             SELECT $2, id, author_id, body, CASE WHEN COALESCE(edited_at, created_at) >= $3 \
             THEN COALESCE(edited_at, created_at) + 1 ELSE $3 END \
             FROM messages WHERE id = $1 AND deleted_at IS NULL AND author_id = $4 \
             AND (SELECT COUNT(*) FROM message_edits WHERE message_id = $1) < $5 \
             RETURNING replaced_at")
            .bind(message.0).bind(revision_id).bind(now.0).bind(author.0).bind(max_edits)
            .fetch_optional(&mut **c).await?);
        let Some((replaced_at,)) = kept else {
            let live: Option<(i64,)> = dispatch!(self, c => sqlx::query_as(
                "SELECT id FROM messages WHERE id = $1 AND deleted_at IS NULL AND author_id = $2")
                .bind(message.0).bind(author.0).fetch_optional(&mut **c).await?);
            return Ok(if live.is_some() {
                Edit::TooMany
            } else {
                Edit::Gone
            });
        };
        let new_sealed = self.sealer.seal(author, new_body);
        dispatch!(self, c => sqlx::query(
            "UPDATE messages SET body = $2, edited_at = $3 WHERE id = $1")
            .bind(message.0).bind(&new_sealed).bind(replaced_at).execute(&mut **c).await?.rows_affected());
        Ok(Edit::Done(Timestamp(replaced_at)))
    }

    /// A message's earlier versions, oldest first; none once its author's account is gone
    /// (they were sealed for the author, like the body).
    pub async fn message_revisions(
        &mut self,
        message: &Message,
    ) -> Result<Vec<MessageRevision>, StoreError> {
        let Some(author) = message.author_id else {
            return Ok(Vec::new());
        };
        let rows: Vec<(Vec<u8>, i64)> = dispatch!(self, c => sqlx::query_as(
            "SELECT body, replaced_at FROM message_edits WHERE message_id = $1 \
             ORDER BY replaced_at, id")
            .bind(message.id.0).fetch_all(&mut **c).await?);
        rows.into_iter()
            .map(|(body, at)| {
                Ok(MessageRevision {
                    body: self.sealer.open(author, &body)?,
                    replaced_at: Timestamp(at),
                })
            })
            .collect()
    }

    /// Deletes a message's content and history, leaving a tombstone that keeps threads
    /// whole; returns false if it was already deleted. The row is updated (and so locked)
    /// before the revisions go: on PostgreSQL an edit racing on another node has then either
    /// committed its revision, which this delete sees and removes, or not yet touched the row,
    /// and will find it deleted.
    pub async fn delete_message(
        &mut self,
        message: &Message,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let updated = dispatch!(self, c => sqlx::query(
            "UPDATE messages SET body = NULL, deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
            .bind(message.id.0).bind(now.0).execute(&mut **c).await?.rows_affected());
        if updated == 0 {
            return Ok(false);
        }
        dispatch!(self, c => sqlx::query("DELETE FROM message_edits WHERE message_id = $1")
            .bind(message.id.0).execute(&mut **c).await?.rows_affected());
        if let Some(root) = message.thread_root_id {
            self.adjust_reply_count(root, -1).await?;
        }
        Ok(true)
    }
}

impl Conn<'_> {
    /// Moves `user`'s read marker in `channel` forward to `last_read` (never back).
    pub async fn mark_read(
        &mut self,
        user: UserId,
        channel: ChannelId,
        last_read: MessageId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO channel_reads (user_id, channel_id, last_read_id, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, channel_id) DO UPDATE SET \
             last_read_id = excluded.last_read_id, updated_at = excluded.updated_at \
             WHERE channel_reads.last_read_id < excluded.last_read_id")
            .bind(user.0).bind(channel.0).bind(last_read.0).bind(now.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// The display names of `authors`, each with their role in `community` (if any) and
    /// whether they belong to `channel`: what a channel's page needs to name each message's
    /// author and to know who may delete it, in one query.
    pub async fn authors_in(
        &mut self,
        community: Option<CommunityId>,
        channel: ChannelId,
        authors: &[UserId],
    ) -> Result<Vec<(UserId, String, Option<Role>, bool)>, StoreError> {
        if authors.is_empty() {
            return Ok(Vec::new());
        }
        let list = placeholders(3, authors.len());
        let sql = format!(
            "SELECT u.id, u.display_name, cm.role, \
             EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = $2 \
                     AND m.user_id = u.id) AS in_channel \
             FROM users u LEFT JOIN community_members cm \
             ON cm.community_id = $1 AND cm.user_id = u.id \
             WHERE u.id IN ({list})"
        );
        let rows: Vec<(i64, String, Option<String>, bool)> = dispatch!(self, c => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(community.map_or(0, |c| c.0)).bind(channel.0);
            for author in authors {
                query = query.bind(author.0);
            }
            query.fetch_all(&mut **c).await?
        });
        rows.into_iter()
            .map(|(id, name, role, in_channel)| {
                let role = role.as_deref().map(parse_role).transpose()?;
                Ok((UserId(id), name, role, in_channel))
            })
            .collect()
    }

    /// `user`'s read marker in `channel`, if any.
    pub async fn read_marker(
        &mut self,
        user: UserId,
        channel: ChannelId,
    ) -> Result<Option<MessageId>, StoreError> {
        let row: Option<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT last_read_id FROM channel_reads WHERE user_id = $1 AND channel_id = $2")
            .bind(user.0).bind(channel.0).fetch_optional(&mut **c).await?);
        Ok(row.map(|(id,)| MessageId(id)))
    }

    /// How many live top-level messages by others `channel` holds after `user`'s read marker,
    /// looking at no more than `cap` messages after it (deleted ones and the reader's own
    /// included), so that no channel costs more than that to count.
    pub async fn unread_in(
        &mut self,
        user: UserId,
        channel: ChannelId,
        cap: i64,
    ) -> Result<i64, StoreError> {
        let (count,): (i64,) = dispatch!(self, c => sqlx::query_as(
            "SELECT COUNT(*) FROM (SELECT m.author_id, m.deleted_at FROM messages m \
             WHERE m.channel_id = $2 AND m.thread_root_id IS NULL \
             AND m.id > COALESCE((SELECT r.last_read_id FROM channel_reads r \
                                  WHERE r.user_id = $1 AND r.channel_id = $2), 0) \
             ORDER BY m.id LIMIT $3) AS later \
             WHERE later.deleted_at IS NULL AND (later.author_id IS NULL OR later.author_id <> $1)")
            .bind(user.0).bind(channel.0).bind(cap).fetch_one(&mut **c).await?);
        Ok(count)
    }
}
