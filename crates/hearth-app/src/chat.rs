//! Channels, direct conversations and messages: post, edit with history, delete, threads and
//! history pages.

use crate::actor::Actor;
use crate::audit::record;
use crate::communities::{require, role_in};
use crate::events::{MEMBER_JOINED, MEMBER_LEFT};
use crate::uploads::{attachment_ids, fill_attachments};
use crate::{App, AppError};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::model::{Channel, ChannelKind, Message, MessageRevision, PublicUser, Role};
use hearth_core::permissions::{Action, allows, may_delete_message};
use hearth_core::validate::{self, MAX_DIRECT_PARTICIPANTS, MAX_EDITS_PER_MESSAGE};
use hearth_core::{
    ChannelId, CommunityId, DomainError, MessageId, PageSize, Timestamp, UploadId, UserId,
    debug_fields,
};
use hearth_store::Edit;
use hearth_store::{Conn, NewMessage, QuickPost, Tx};

/// The feed's event for a new message or reply; its object is the message.
const MESSAGE_POSTED: &str = "message.posted";

/// A channel to create.
#[derive(Clone)]
pub struct NewChannel {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub topic: String,
    /// Public or private (direct conversations are opened, not created).
    pub kind: ChannelKind,
}

debug_fields!(NewChannel { kind });

/// One page of history, newest first, with the cursor for the next (older) page.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    /// The messages.
    pub messages: Vec<Message>,
    /// Pass as `before` to get the next page; `None` at the beginning of the channel.
    pub next_before: Option<MessageId>,
}

/// Unread counts stop here (pages show "99+").
pub const MAX_UNREAD_COUNTED: i64 = 100;

/// What the caller may do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MessageActions {
    /// Edit it (their own).
    pub edit: bool,
    /// Delete it (their own, or as a moderator who outranks its author).
    pub delete: bool,
}

/// What the caller may do in a channel they can see.
pub(crate) struct Access {
    pub(crate) channel: Channel,
    /// Their role in the channel's community (none for direct conversations).
    pub(crate) role: Option<Role>,
    /// Whether they have joined the channel.
    pub(crate) member: bool,
}

/// Finds a channel the caller may see. Channels they may not see are reported as not found,
/// so their existence does not leak.
pub(crate) async fn access(
    conn: &mut Conn<'_>,
    user: UserId,
    id: ChannelId,
) -> Result<Access, AppError> {
    let not_found = || AppError::from(DomainError::NotFound("channel"));
    let (channel, member, mut role) = conn
        .channel_with_access(id, user)
        .await?
        .ok_or_else(not_found)?;
    if channel.community_id.is_some() && role.is_none() {
        return Err(not_found());
    }
    // A moderator or admin of a community that requires a second factor acts as a member
    // without one (the community's rule, as `role_in` applies it).
    if let (Some(community), Some(r)) = (channel.community_id, role)
        && r != Role::Owner
        && r.at_least(Role::Moderator)
    {
        role = Some(crate::communities::role_in(conn, community, user).await?);
    }
    let visible = match channel.kind {
        ChannelKind::Public => true,
        ChannelKind::Private => member || role.is_some_and(|r| allows(r, Action::ManageChannels)),
        ChannelKind::Direct => member,
    };
    if !visible {
        return Err(not_found());
    }
    Ok(Access {
        channel,
        role,
        member,
    })
}

impl Access {
    /// Reading needs membership of the community for public channels, and of the channel
    /// itself otherwise.
    pub(crate) fn may_read(&self) -> bool {
        self.member || self.channel.kind == ChannelKind::Public
    }
}

/// Finds a message in a channel the caller may read.
async fn readable_message(
    conn: &mut Conn<'_>,
    user: UserId,
    id: MessageId,
) -> Result<(Message, Access), AppError> {
    let message = conn
        .message(id)
        .await?
        .ok_or(DomainError::NotFound("message"))?;
    let access = read_access(conn, user, &message).await?;
    Ok((message, access))
}

/// The caller's access to a message's channel, if they may read it; else the message is not
/// found.
pub(crate) async fn read_access(
    conn: &mut Conn<'_>,
    user: UserId,
    message: &Message,
) -> Result<Access, AppError> {
    let access = access(conn, user, message.channel_id)
        .await
        .map_err(|_| AppError::from(DomainError::NotFound("message")))?;
    if !access.may_read() {
        return Err(DomainError::NotFound("message").into());
    }
    Ok(access)
}

/// The thread a reply to `parent` joins: the parent's own thread if it is a reply, else the
/// parent. Both must stand (not deleted) and be in `channel`.
async fn thread_root_for_reply(
    tx: &mut hearth_store::Tx,
    channel: ChannelId,
    parent: MessageId,
) -> Result<MessageId, AppError> {
    let parent = tx
        .conn()
        .message(parent)
        .await?
        .filter(|m| m.channel_id == channel && m.deleted_at.is_none())
        .ok_or(DomainError::NotFound("message"))?;
    let Some(root) = parent.thread_root_id else {
        return Ok(parent.id);
    };
    tx.conn()
        .message(root)
        .await?
        .filter(|m| m.deleted_at.is_none())
        .ok_or(DomainError::NotFound("message"))?;
    Ok(root)
}

impl App {
    /// Creates a channel in a community; the creator joins it.
    pub async fn create_channel(
        &self,
        actor: &Actor,
        community: CommunityId,
        input: NewChannel,
    ) -> Result<Channel, AppError> {
        let name = validate::name("name", &input.name)?;
        let topic = validate::description("topic", &input.topic)?;
        let action = match input.kind {
            ChannelKind::Public => Action::CreatePublicChannel,
            ChannelKind::Private => Action::CreatePrivateChannel,
            ChannelKind::Direct => {
                return Err(DomainError::invalid("kind", "must be public or private").into());
            }
        };
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, user).await?;
                    require(role, action, "you may not create this kind of channel")?;
                    let channel = Channel {
                        id: ChannelId(tx.next_id()),
                        community_id: Some(community),
                        kind: input.kind,
                        name,
                        topic,
                        created_at: Timestamp::now(),
                    };
                    tx.conn().insert_channel(&channel, user, None).await?;
                    tx.conn()
                        .insert_channel_member(channel.id, user, channel.created_at)
                        .await?;
                    tx.append_event(channel.id, MEMBER_JOINED, user.0);
                    record(
                        tx,
                        Some(user),
                        AuditAction::ChannelCreated,
                        (ObjectKind::Channel, Some(channel.id.0)),
                        Some(community),
                    );
                    Ok(channel)
                })
            })
            .await
    }

    /// A page of the channels of a community the caller may see, by id, after `after`.
    pub async fn channels(
        &self,
        actor: &Actor,
        community: CommunityId,
        after: Option<ChannelId>,
        size: PageSize,
    ) -> Result<Vec<Channel>, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let role = role_in(&mut conn, community, actor.user).await?;
        let all_private = allows(role, Action::ManageChannels);
        Ok(conn
            .channels_visible(community, actor.user, all_private, after, size.get())
            .await?)
    }

    /// Marks the caller's channel read up to `up_to` (markers only move forward). Nothing is
    /// written when the marker is already there.
    pub async fn mark_read(
        &self,
        actor: &Actor,
        channel: ChannelId,
        up_to: MessageId,
    ) -> Result<(), AppError> {
        let user = actor.user;
        {
            let mut reader = self.store.reader().await?;
            let mut conn = reader.conn();
            let access = access(&mut conn, user, channel).await?;
            if !access.member {
                return Err(
                    DomainError::Forbidden("join the channel to keep your place in it").into(),
                );
            }
            if conn
                .read_marker(user, channel)
                .await?
                .is_some_and(|at| at >= up_to)
            {
                return Ok(());
            }
        }
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    Ok::<_, AppError>(tx.conn().mark_read(user, channel, up_to, now).await?)
                })
            })
            .await
    }

    /// Unread top-level messages by others in each of `channels` the caller has joined
    /// (counted up to [`MAX_UNREAD_COUNTED`]); channels they have not joined count none.
    pub async fn unread_counts(
        &self,
        actor: &Actor,
        channels: &[ChannelId],
    ) -> Result<Vec<(ChannelId, i64)>, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let joined: std::collections::HashSet<ChannelId> =
            conn.channel_ids_of(actor.user).await?.into_iter().collect();
        let mut counts = Vec::with_capacity(channels.len());
        for channel in channels {
            let count = if joined.contains(channel) {
                // Look at a few times the cap, so that the reader's own and deleted messages
                // rarely hide unread ones, and never at more.
                conn.unread_in(actor.user, *channel, MAX_UNREAD_COUNTED * 5)
                    .await?
                    .min(MAX_UNREAD_COUNTED)
            } else {
                0
            };
            counts.push((*channel, count));
        }
        Ok(counts)
    }

    /// One channel the caller may see.
    pub async fn channel(&self, actor: &Actor, id: ChannelId) -> Result<Channel, AppError> {
        let mut reader = self.store.reader().await?;
        Ok(access(&mut reader.conn(), actor.user, id).await?.channel)
    }

    /// A page of the members of a channel the caller may read, by user id, after `after`.
    pub async fn channel_members(
        &self,
        actor: &Actor,
        id: ChannelId,
        after: Option<UserId>,
        size: PageSize,
    ) -> Result<Vec<PublicUser>, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let access = access(&mut conn, actor.user, id).await?;
        if !access.may_read() {
            return Err(DomainError::NotFound("channel").into());
        }
        Ok(conn.channel_members(id, after, size.get()).await?)
    }

    /// Joins a public channel, or adds `member` to a channel the caller belongs to.
    pub async fn add_channel_member(
        &self,
        actor: &Actor,
        id: ChannelId,
        member: Option<UserId>,
    ) -> Result<(), AppError> {
        let user = actor.user;
        let member = member.unwrap_or(user);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let access = access(&mut tx.conn(), user, id).await?;
                    let community = match (access.channel.kind, access.channel.community_id) {
                        (ChannelKind::Direct, _) | (_, None) => {
                            return Err(DomainError::Forbidden(
                                "direct conversations keep their participants",
                            )
                            .into());
                        }
                        (_, Some(community)) => community,
                    };
                    let may_add = if member == user {
                        access.channel.kind == ChannelKind::Public || access.member
                    } else {
                        access.member
                            || access
                                .role
                                .is_some_and(|r| allows(r, Action::ManageChannels))
                    };
                    if !may_add {
                        return Err(DomainError::Forbidden(
                            "you may not add members to this channel",
                        )
                        .into());
                    }
                    if tx.conn().member_role(community, member).await?.is_none() {
                        return Err(DomainError::NotFound("member").into());
                    }
                    if tx
                        .conn()
                        .insert_channel_member(id, member, Timestamp::now())
                        .await?
                    {
                        tx.append_event(id, MEMBER_JOINED, member.0);
                        record(
                            tx,
                            Some(user),
                            AuditAction::ChannelMemberAdded,
                            (ObjectKind::Channel, Some(id.0)),
                            Some(community),
                        );
                    }
                    Ok(())
                })
            })
            .await
    }

    /// Leaves a channel.
    pub async fn leave_channel(&self, actor: &Actor, id: ChannelId) -> Result<(), AppError> {
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let access = access(&mut tx.conn(), user, id).await?;
                    if access.channel.kind == ChannelKind::Direct {
                        // Its participants are its identity: opening a conversation with the
                        // same people finds this one again.
                        return Err(
                            DomainError::Conflict("direct conversations cannot be left").into()
                        );
                    }
                    if !tx.conn().delete_channel_member(id, user).await? {
                        return Err(DomainError::Conflict("not a member of this channel").into());
                    }
                    tx.append_event(id, MEMBER_LEFT, user.0);
                    record(
                        tx,
                        Some(user),
                        AuditAction::ChannelMemberRemoved,
                        (ObjectKind::Channel, Some(id.0)),
                        access.channel.community_id,
                    );
                    Ok(())
                })
            })
            .await
    }

    /// Opens (or finds) the direct conversation between the caller and `others`. Everyone in
    /// it must share a community with the caller.
    pub async fn open_direct(
        &self,
        actor: &Actor,
        others: Vec<UserId>,
    ) -> Result<Channel, AppError> {
        let user = actor.user;
        let mut participants: Vec<UserId> = others;
        participants.push(user);
        participants.sort();
        participants.dedup();
        if participants.len() < 2 {
            return Err(
                DomainError::invalid("user_ids", "must name someone besides yourself").into(),
            );
        }
        if participants.len() > MAX_DIRECT_PARTICIPANTS {
            return Err(DomainError::invalid(
                "user_ids",
                format!("a direct conversation holds at most {MAX_DIRECT_PARTICIPANTS} people"),
            )
            .into());
        }
        let key = participants
            .iter()
            .map(|u| u.0.to_string())
            .collect::<Vec<_>>()
            .join(",");
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if let Some(existing) = tx.conn().direct_channel(&key).await? {
                        return Ok(existing);
                    }
                    for other in participants.iter().filter(|p| **p != user) {
                        if !tx.conn().share_a_community(user, *other).await? {
                            return Err(DomainError::NotFound("user").into());
                        }
                    }
                    let now = Timestamp::now();
                    let channel = Channel {
                        id: ChannelId(tx.next_id()),
                        community_id: None,
                        kind: ChannelKind::Direct,
                        name: String::new(),
                        topic: String::new(),
                        created_at: now,
                    };
                    tx.conn().insert_channel(&channel, user, Some(&key)).await?;
                    for p in &participants {
                        tx.conn().insert_channel_member(channel.id, *p, now).await?;
                        // Before its first message, so each participant's live feed learns of
                        // the conversation in time.
                        tx.append_event(channel.id, MEMBER_JOINED, p.0);
                    }
                    record(
                        tx,
                        Some(user),
                        AuditAction::DirectOpened,
                        (ObjectKind::Channel, Some(channel.id.0)),
                        None,
                    );
                    Ok(channel)
                })
            })
            .await
    }

    /// A page of the caller's direct conversations, by id, after `after`.
    pub async fn direct_conversations(
        &self,
        actor: &Actor,
        after: Option<ChannelId>,
        size: PageSize,
    ) -> Result<Vec<Channel>, AppError> {
        let mut reader = self.store.reader().await?;
        Ok(reader
            .conn()
            .direct_channels_of(actor.user, after, size.get())
            .await?)
    }

    /// Posts a message, or a reply when `reply_to` names a message in the same channel (a
    /// reply to a reply joins the same thread), with the caller's uploads to this channel
    /// named in `attachments` (the text may then be empty).
    pub async fn post_message(
        &self,
        actor: &Actor,
        channel: ChannelId,
        body: &str,
        reply_to: Option<MessageId>,
        attachments: &[UploadId],
    ) -> Result<Message, AppError> {
        let attachments = attachment_ids(attachments)?;
        let body = post_body(body, &attachments)?;
        let user = actor.user;
        if !attachments.is_empty() {
            // Attaching is a second statement that can fail: it needs the writer's savepoint.
            return self
                .store
                .write(move |tx| {
                    Box::pin(async move {
                        post_in(tx, user, channel, body, reply_to, &attachments).await
                    })
                })
                .await;
        }
        // The common case, a top-level post by a member, is written with the other posts of
        // the moment; anything else, or a post that did not pass, takes the path that
        // explains refusals.
        if reply_to.is_none() {
            let post = QuickPost {
                channel,
                author: user,
                body: body.clone(),
                audit_action: AuditAction::MessagePosted,
                event_kind: MESSAGE_POSTED,
            };
            if let Some(posted) = self.store.post_if_member(post).await? {
                return Ok(Message {
                    id: posted.id,
                    channel_id: channel,
                    author_id: Some(user),
                    thread_root_id: None,
                    body: Some(body),
                    created_at: posted.created_at,
                    edited_at: None,
                    deleted_at: None,
                    reply_count: 0,
                    attachments: Vec::new(),
                });
            }
        }
        self.store
            .write_single_statement(move |tx| {
                Box::pin(async move { post_in(tx, user, channel, body, reply_to, &[]).await })
            })
            .await
    }

    /// Posts a message as [`App::post_message`] does, once per `key`: retried with the same
    /// key (because the answer was lost, say), it returns the message the first request made
    /// instead of posting again, with `true` for a replay. The same key with a different
    /// request is a conflict. Keys are remembered for a day.
    pub async fn post_message_once(
        &self,
        actor: &Actor,
        channel: ChannelId,
        body: &str,
        reply_to: Option<MessageId>,
        attachments: &[UploadId],
        key: &str,
    ) -> Result<(Message, bool), AppError> {
        let attachments = attachment_ids(attachments)?;
        let body = post_body(body, &attachments)?;
        let key = validate::idempotency_key(key)?;
        let user = actor.user;
        let request_hash = post_request_hash(&self.key, channel, reply_to, &body, &attachments);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if let Some((earlier, hash)) = tx.conn().idempotent_post(user, &key).await? {
                        if hash != request_hash {
                            return Err(DomainError::Conflict(
                                "this idempotency key was used for a different post",
                            )
                            .into());
                        }
                        let mut message = tx
                            .conn()
                            .message(earlier)
                            .await?
                            .ok_or(DomainError::NotFound("message"))?;
                        fill_attachments(&mut tx.conn(), std::slice::from_mut(&mut message))
                            .await?;
                        return Ok((message, true));
                    }
                    let message = post_in(tx, user, channel, body, reply_to, &attachments).await?;
                    let now = message.created_at;
                    if !tx
                        .conn()
                        .remember_idempotent_post(user, &key, &request_hash, message.id, now)
                        .await?
                    {
                        return Err(DomainError::Conflict(
                            "a post with this idempotency key is in progress; retry it",
                        )
                        .into());
                    }
                    Ok((message, false))
                })
            })
            .await
    }

    /// A page of a channel's top-level messages, newest first, older than `before`.
    pub async fn history(
        &self,
        actor: &Actor,
        channel: ChannelId,
        before: Option<MessageId>,
        size: PageSize,
    ) -> Result<HistoryPage, AppError> {
        let limit = size.get();
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let access = access(&mut conn, actor.user, channel).await?;
        if !access.may_read() {
            return Err(DomainError::NotFound("channel").into());
        }
        let mut messages = conn.channel_history(channel, before, limit).await?;
        fill_attachments(&mut conn, &mut messages).await?;
        let next_before = if messages.len() as i64 == limit {
            messages.last().map(|m| m.id)
        } else {
            None
        };
        Ok(HistoryPage {
            messages,
            next_before,
        })
    }

    /// What the caller may do with each of `messages` (all of one channel they can read):
    /// edit their own, and delete as [`may_delete_message`] decides. The pages show the
    /// matching buttons; the use cases check again when one is pressed.
    pub async fn message_actions(
        &self,
        actor: &Actor,
        channel: ChannelId,
        messages: &[Message],
    ) -> Result<Vec<MessageActions>, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let access = access(&mut conn, actor.user, channel).await?;
        let mut author_roles: std::collections::HashMap<UserId, Option<Role>> =
            std::collections::HashMap::new();
        let mut actions = Vec::with_capacity(messages.len());
        for message in messages {
            let live = message.deleted_at.is_none() && message.channel_id == channel;
            let is_author = message.author_id == Some(actor.user);
            let author_role = match (access.channel.community_id, message.author_id) {
                (Some(community), Some(author)) if !is_author => {
                    if let Some(role) = author_roles.get(&author) {
                        *role
                    } else {
                        let role = conn.member_role(community, author).await?;
                        author_roles.insert(author, role);
                        role
                    }
                }
                _ => None,
            };
            actions.push(MessageActions {
                edit: live && is_author,
                delete: live && may_delete_message(access.role, is_author, author_role),
            });
        }
        Ok(actions)
    }

    /// One message the caller may read.
    pub async fn message(&self, actor: &Actor, id: MessageId) -> Result<Message, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let mut message = readable_message(&mut conn, actor.user, id).await?.0;
        fill_attachments(&mut conn, std::slice::from_mut(&mut message)).await?;
        Ok(message)
    }

    /// A thread: its root and a page of replies, oldest first, newer than `after`.
    pub async fn thread(
        &self,
        actor: &Actor,
        root: MessageId,
        after: Option<MessageId>,
        size: PageSize,
    ) -> Result<(Message, Vec<Message>), AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let (message, _) = readable_message(&mut conn, actor.user, root).await?;
        let root_id = message.thread_root_id.unwrap_or(message.id);
        let mut root = if root_id == message.id {
            message
        } else {
            conn.message(root_id)
                .await?
                .ok_or(DomainError::NotFound("message"))?
        };
        let mut replies = conn.thread_replies(root_id, after, size.get()).await?;
        fill_attachments(&mut conn, std::slice::from_mut(&mut root)).await?;
        fill_attachments(&mut conn, &mut replies).await?;
        Ok((root, replies))
    }

    /// Edits the caller's own message, keeping the earlier text as a revision.
    pub async fn edit_message(
        &self,
        actor: &Actor,
        id: MessageId,
        body: &str,
    ) -> Result<Message, AppError> {
        let body = validate::message_body(body)?;
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let (mut message, access) = readable_message(&mut tx.conn(), user, id).await?;
                    if message.deleted_at.is_some() {
                        return Err(DomainError::NotFound("message").into());
                    }
                    if message.author_id != Some(user) {
                        return Err(
                            DomainError::Forbidden("only the author edits a message").into()
                        );
                    }
                    let now = Timestamp::now();
                    let revision = tx.next_id();
                    let edited_at = match tx
                        .conn()
                        .edit_message(id, user, revision, &body, now, MAX_EDITS_PER_MESSAGE)
                        .await?
                    {
                        Edit::Done(at) => at,
                        Edit::Gone => return Err(DomainError::NotFound("message").into()),
                        Edit::TooMany => {
                            return Err(DomainError::Conflict(
                                "this message has been edited 100 times, the most allowed",
                            )
                            .into());
                        }
                    };
                    record(
                        tx,
                        Some(user),
                        AuditAction::MessageEdited,
                        (ObjectKind::Message, Some(id.0)),
                        access.channel.community_id,
                    );
                    tx.append_event(message.channel_id, "message.edited", id.0);
                    tx.conn()
                        .index_message(id, message.channel_id, user, &body)
                        .await?;
                    message.body = Some(body);
                    message.edited_at = Some(edited_at);
                    fill_attachments(&mut tx.conn(), std::slice::from_mut(&mut message)).await?;
                    Ok(message)
                })
            })
            .await
    }

    /// The earlier versions of a message the caller may read.
    pub async fn message_revisions(
        &self,
        actor: &Actor,
        id: MessageId,
    ) -> Result<Vec<MessageRevision>, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let (message, _) = readable_message(&mut conn, actor.user, id).await?;
        Ok(conn.message_revisions(&message).await?)
    }

    /// Deletes a message: its author may (even after leaving), and so may moderators of its
    /// community whom the author does not outrank. The text and its revisions are removed; a
    /// tombstone keeps the thread whole.
    pub async fn delete_message(&self, actor: &Actor, id: MessageId) -> Result<(), AppError> {
        let user = actor.user;
        let files = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let not_found = || AppError::from(DomainError::NotFound("message"));
                    let message = tx
                        .conn()
                        .message(id)
                        .await?
                        .filter(|m| m.deleted_at.is_none())
                        .ok_or_else(not_found)?;
                    let is_author = message.author_id == Some(user);
                    // Authors reach their own messages without reading access, which they
                    // lose on leaving; everyone else must be able to read the message.
                    let (community, role) = if is_author {
                        let channel = tx
                            .conn()
                            .channel(message.channel_id)
                            .await?
                            .ok_or_else(not_found)?;
                        (channel.community_id, None)
                    } else {
                        let access = read_access(&mut tx.conn(), user, &message).await?;
                        (access.channel.community_id, access.role)
                    };
                    // No role for an author who left, or whose account is gone.
                    let author_role = match (community, message.author_id) {
                        (Some(community), Some(author)) if !is_author => {
                            tx.conn().member_role(community, author).await?
                        }
                        _ => None,
                    };
                    if !may_delete_message(role, is_author, author_role) {
                        return Err(DomainError::Forbidden(
                            "only the author, or a moderator they do not outrank, deletes a message",
                        )
                        .into());
                    }
                    let now = Timestamp::now();
                    if !tx.conn().delete_message(&message, now).await? {
                        return Err(DomainError::NotFound("message").into());
                    }
                    let files = tx.conn().delete_uploads_of_message(id).await?;
                    tx.conn().unindex_message(id).await?;
                    tx.truncate_journal_after_commit();
                    record(
                        tx,
                        Some(user),
                        AuditAction::MessageDeleted,
                        (ObjectKind::Message, Some(id.0)),
                        community,
                    );
                    tx.append_event(message.channel_id, "message.deleted", id.0);
                    Ok::<_, AppError>(files)
                })
            })
            .await?;
        self.remove_files(files).await;
        Ok(())
    }
}

/// What identifies a post's request, so a reused idempotency key can be told from a retry: a
/// keyed hash, so that the stored value cannot confirm a guessed text.
fn post_request_hash(
    key: &crate::InstanceKey,
    channel: ChannelId,
    reply_to: Option<MessageId>,
    body: &str,
    attachments: &[UploadId],
) -> Vec<u8> {
    let attachments: Vec<u8> = attachments.iter().flat_map(|a| a.0.to_be_bytes()).collect();
    key.keyed_hash(
        crate::instance_key::KeyedPurpose::PostRequest,
        &[
            &channel.0.to_be_bytes(),
            &reply_to.map_or(0, |m| m.0).to_be_bytes(),
            body.as_bytes(),
            &attachments,
        ],
    )
}

/// A post's text, checked: it may be empty only when files are attached.
fn post_body(body: &str, attachments: &[UploadId]) -> Result<String, DomainError> {
    if !attachments.is_empty() && body.trim().is_empty() {
        return Ok(String::new());
    }
    validate::message_body(body)
}

/// Posts inside the writer's transaction: the common case, a top-level post by a member,
/// checks and inserts in one statement; anything else takes the path that explains refusals,
/// under a savepoint of its own.
async fn post_in(
    tx: &mut Tx,
    user: UserId,
    channel: ChannelId,
    body: String,
    reply_to: Option<MessageId>,
    attachments: &[UploadId],
) -> Result<Message, AppError> {
    let now = Timestamp::now();
    let id = MessageId(tx.next_id());
    let new = NewMessage {
        id,
        channel,
        author: user,
        thread_root: None,
        body: &body,
        now,
    };
    let inserted = match reply_to {
        None => tx.conn().insert_message_if_member(&new).await?,
        Some(_) => None,
    };
    let (community, thread_root) = if let Some(community) = inserted {
        // The single statement is done; the rest must go under a savepoint. (Should indexing
        // fail after the insert wrote, the whole batch fails rather than half-writing.)
        tx.savepoint().await?;
        (community, None)
    } else {
        tx.savepoint().await?;
        let access = access(&mut tx.conn(), user, channel).await?;
        if !access.member {
            return Err(DomainError::Forbidden("join the channel to post in it").into());
        }
        let thread_root = match reply_to {
            None => None,
            Some(parent) => Some(thread_root_for_reply(tx, channel, parent).await?),
        };
        tx.conn()
            .insert_message(&NewMessage { thread_root, ..new })
            .await?;
        (access.channel.community_id, thread_root)
    };
    record(
        tx,
        Some(user),
        AuditAction::MessagePosted,
        (ObjectKind::Message, Some(id.0)),
        community,
    );
    tx.append_event(channel, MESSAGE_POSTED, id.0);
    tx.conn().index_message(id, channel, user, &body).await?;
    let mut attached = Vec::new();
    if !attachments.is_empty() {
        // Only run inside a job with the writer's savepoint (see `App::post_message`).
        let count = tx
            .conn()
            .attach_uploads(attachments, user, channel, id)
            .await?;
        if count != attachments.len() as u64 {
            return Err(DomainError::Invalid {
                field: "attachments",
                message: "names a file that is not an unattached upload of yours to this \
                          channel"
                    .into(),
            }
            .into());
        }
        attached = tx
            .conn()
            .attachments_of(&[id])
            .await?
            .into_iter()
            .map(|(_, a)| a)
            .collect();
    }
    Ok(Message {
        id,
        channel_id: channel,
        author_id: Some(user),
        thread_root_id: thread_root,
        body: Some(body),
        created_at: now,
        edited_at: None,
        deleted_at: None,
        reply_count: 0,
        attachments: attached,
    })
}
