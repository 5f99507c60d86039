//! What a channel's page shows, read on one connection with one access check: the channel,
//! its community and sibling channels with their unread counts, a page of history with what
//! the reader may do to each message, and who wrote them. The page is read many times more
//! often than anything is written, so it is one use case rather than a dozen.

use crate::chat::{HistoryPage, MAX_UNREAD_COUNTED, MessageActions, access};
use crate::uploads::fill_attachments;
use crate::{Actor, App, AppError};
use hearth_core::model::{Channel, Community};
use hearth_core::permissions::{Action, allows, may_delete_message};
use hearth_core::{ChannelId, DomainError, MessageId, PageSize, Timestamp, UserId};
use std::collections::HashMap;

/// A channel's page, as the reader may see it.
#[derive(Debug)]
pub struct ChannelView {
    /// The channel.
    pub channel: Channel,
    /// Whether the reader has joined it.
    pub joined: bool,
    /// Its community; none for a direct conversation.
    pub community: Option<Community>,
    /// Whether the community asks the reader something they have not answered.
    pub owes_answers: bool,
    /// The community's channels the reader may see, each with how many messages by others
    /// they have not read (0 for those they have not joined); empty for a conversation.
    pub siblings: Vec<(Channel, i64)>,
    /// A page of history, newest first.
    pub history: HistoryPage,
    /// What the reader may do to each message of the page, in the same order.
    pub actions: Vec<MessageActions>,
    /// The name to show for each author: theirs, or "Former member" for someone the reader
    /// shares nothing with any more.
    pub authors: HashMap<UserId, String>,
}

impl App {
    /// A channel's page: the messages before `before` (the newest without it). With
    /// `reading`, showing the newest messages of a joined channel marks them read (a write
    /// only when the marker moves).
    pub async fn channel_view(
        &self,
        actor: &Actor,
        id: ChannelId,
        before: Option<MessageId>,
        size: PageSize,
        reading: bool,
    ) -> Result<ChannelView, AppError> {
        let user = actor.user;
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let access = access(&mut conn, user, id).await?;
        if !access.may_read() {
            return Err(DomainError::NotFound("channel").into());
        }
        // The reader's place in this channel, when it is a community's (read with the
        // sidebar); a conversation's is looked up below.
        let mut marker_here = None;
        let (community, owes_answers, siblings) = match (access.channel.community_id, access.role) {
            (Some(community_id), Some(role)) => {
                let (community, owed) = conn
                    .community_owing(community_id, user)
                    .await?
                    .ok_or(DomainError::NotFound("channel"))?;
                let all_private = allows(role, Action::ManageChannels);
                let channels = conn
                    .sidebar_channels(community_id, user, all_private, PageSize::MAX)
                    .await?;
                let mut siblings = Vec::with_capacity(channels.len());
                for (channel, joined, marker) in channels {
                    let unread = if channel.id == id {
                        marker_here = marker;
                        0
                    } else if joined {
                        // A few times the cap, so that the reader's own and deleted messages
                        // rarely hide unread ones, and never more.
                        conn.unread_in(user, channel.id, MAX_UNREAD_COUNTED * 5)
                            .await?
                            .min(MAX_UNREAD_COUNTED)
                    } else {
                        0
                    };
                    siblings.push((channel, unread));
                }
                (Some(community), owed > 0, siblings)
            }
            _ => (None, false, Vec::new()),
        };
        let limit = size.get();
        let mut messages = conn.channel_history(id, before, limit).await?;
        fill_attachments(&mut conn, &mut messages).await?;
        let next_before = (messages.len() as i64 == limit)
            .then(|| messages.last().map(|m| m.id))
            .flatten();

        let mut distinct: Vec<UserId> = messages.iter().filter_map(|m| m.author_id).collect();
        distinct.sort();
        distinct.dedup();
        let found = conn
            .authors_in(access.channel.community_id, id, &distinct)
            .await?;
        let mut authors = HashMap::with_capacity(found.len());
        let mut roles = HashMap::with_capacity(found.len());
        let mut unsure = Vec::new();
        for (author, name, role, in_channel) in found {
            roles.insert(author, role);
            // Members of the community or conversation are known to the reader; anyone
            // else only if they share another one (looked up below, rarely needed).
            if author == user || role.is_some() || in_channel {
                authors.insert(author, name);
            } else {
                unsure.push((author, name));
            }
        }
        let actions = messages
            .iter()
            .map(|message| {
                let live = message.deleted_at.is_none();
                let is_author = message.author_id == Some(user);
                let author_role = message
                    .author_id
                    .filter(|_| !is_author && access.channel.community_id.is_some())
                    .and_then(|a| roles.get(&a).copied().flatten());
                MessageActions {
                    edit: live && is_author,
                    delete: live && may_delete_message(access.role, is_author, author_role),
                }
            })
            .collect();
        let newest = messages.first().map(|m| m.id);
        let marker = match (&community, reading && access.member && newest.is_some()) {
            (Some(_), _) => marker_here,
            (None, true) => conn.read_marker(user, id).await?,
            (None, false) => None,
        };
        drop(reader);
        for (author, name) in unsure {
            // Someone who shares nothing with the reader any more is not named.
            let shown = if self.user(actor, author).await.is_ok() {
                name
            } else {
                "Former member".to_string()
            };
            authors.insert(author, shown);
        }
        if reading
            && access.member
            && before.is_none()
            && let Some(newest) = newest
            && marker.is_none_or(|at| at < newest)
        {
            self.store
                .write(move |tx| {
                    Box::pin(async move {
                        let now = Timestamp::now();
                        Ok::<_, AppError>(tx.conn().mark_read(user, id, newest, now).await?)
                    })
                })
                .await?;
        }
        Ok(ChannelView {
            channel: access.channel,
            joined: access.member,
            community,
            owes_answers,
            siblings,
            history: HistoryPage {
                messages,
                next_before,
            },
            actions,
            authors,
        })
    }
}
