//! `/api/v1/channels`, `/api/v1/direct` and `/api/v1/messages`.

use crate::WebState;
use crate::api::paging::{AfterPage, BeforePage};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use hearth_app::NewChannel;
use hearth_core::model::{Channel, ChannelKind, Message, MessageRevision, PublicUser};
use hearth_core::{ChannelId, CommunityId, DomainError, MessageId, UploadId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(list_channels, create_channel))
        .routes(routes!(get_channel))
        .routes(routes!(list_channel_members, add_channel_member))
        .routes(routes!(leave_channel))
        .routes(routes!(unread, mark_read))
        .routes(routes!(history, post_message))
        .routes(routes!(list_direct, open_direct))
        .routes(routes!(get_message, edit_message, delete_message))
        .routes(routes!(thread))
        .routes(routes!(revisions))
}

/// A page of the channels of a community the caller may see, by id.
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/channels", tag = "chat",
    params(("community_id" = i64, Path), AfterPage),
    responses((status = 200, body = Vec<Channel>), (status = 404, body = Problem)))]
async fn list_channels(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<AfterPage>,
) -> Result<Json<Vec<Channel>>, ApiError> {
    let after = page.after.map(ChannelId);
    Ok(Json(
        state
            .app
            .channels(&actor, CommunityId(id), after, page.size()?)
            .await?,
    ))
}

/// A channel to create.
#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateChannelRequest {
    #[schema(min_length = 1, max_length = 80)]
    name: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    topic: String,
    /// `public` (default) or `private`.
    kind: Option<ChannelKind>,
}

/// Create a channel; the creator joins it.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/channels", tag = "chat",
    params(("community_id" = i64, Path)), request_body = CreateChannelRequest,
    responses((status = 201, body = Channel), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn create_channel(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CreateChannelRequest>,
) -> Result<(StatusCode, Json<Channel>), ApiError> {
    let channel = state
        .app
        .create_channel(
            &actor,
            CommunityId(id),
            NewChannel {
                name: body.name,
                topic: body.topic,
                kind: body.kind.unwrap_or(ChannelKind::Public),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

/// A channel or direct conversation the caller may see.
#[utoipa::path(get, path = "/api/v1/channels/{channel_id}", tag = "chat",
    params(("channel_id" = i64, Path)),
    responses((status = 200, body = Channel), (status = 404, body = Problem)))]
async fn get_channel(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Channel>, ApiError> {
    Ok(Json(state.app.channel(&actor, ChannelId(id)).await?))
}

/// A page of the members of a channel, by user id.
#[utoipa::path(get, path = "/api/v1/channels/{channel_id}/members", tag = "chat",
    params(("channel_id" = i64, Path), AfterPage),
    responses((status = 200, body = Vec<PublicUser>), (status = 404, body = Problem)))]
async fn list_channel_members(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<AfterPage>,
) -> Result<Json<Vec<PublicUser>>, ApiError> {
    let after = page.after.map(UserId);
    Ok(Json(
        state
            .app
            .channel_members(&actor, ChannelId(id), after, page.size()?)
            .await?,
    ))
}

/// Whom to add; the caller when absent (joining a public channel).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct AddMemberRequest {
    user_id: Option<UserId>,
}

/// Join a public channel, or add a community member to a channel the caller belongs to.
#[utoipa::path(post, path = "/api/v1/channels/{channel_id}/members", tag = "chat",
    params(("channel_id" = i64, Path)), request_body = AddMemberRequest,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn add_channel_member(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<AddMemberRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .add_channel_member(&actor, ChannelId(id), body.user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How far the caller has read a channel.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ReadMarker {
    /// The newest message seen.
    message_id: MessageId,
}

/// Unread messages in a channel.
#[derive(Serialize, ToSchema)]
pub(crate) struct UnreadCount {
    /// Top-level messages by others after the caller's read marker, counted up to 100.
    unread: i64,
}

/// The caller's unread count in a channel they have joined (0 in one they have not).
#[utoipa::path(get, path = "/api/v1/channels/{channel_id}/read", tag = "chat",
    params(("channel_id" = i64, Path)),
    responses((status = 200, body = UnreadCount), (status = 401, body = Problem),
              (status = 404, body = Problem)))]
async fn unread(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<UnreadCount>, ApiError> {
    let channel = ChannelId(id);
    state.app.channel(&actor, channel).await?;
    let counts = state.app.unread_counts(&actor, &[channel]).await?;
    Ok(Json(UnreadCount {
        unread: counts.first().map_or(0, |(_, n)| *n),
    }))
}

/// Moves the caller's read marker forward to a message (never back).
#[utoipa::path(put, path = "/api/v1/channels/{channel_id}/read", tag = "chat",
    params(("channel_id" = i64, Path)), request_body = ReadMarker,
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn mark_read(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ReadMarker>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .mark_read(&actor, ChannelId(id), body.message_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Leave a channel.
#[utoipa::path(delete, path = "/api/v1/channels/{channel_id}/members/me", tag = "chat",
    params(("channel_id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn leave_channel(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state.app.leave_channel(&actor, ChannelId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One page of history, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HistoryView {
    messages: Vec<Message>,
    /// Pass as `before` for the next, older page; absent at the start of the channel.
    next_before: Option<MessageId>,
}

/// A channel's top-level messages, newest first. Replies are read through their thread.
#[utoipa::path(get, path = "/api/v1/channels/{channel_id}/messages", tag = "chat",
    params(("channel_id" = i64, Path), BeforePage),
    responses((status = 200, body = HistoryView), (status = 404, body = Problem)))]
async fn history(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<BeforePage>,
) -> Result<Json<HistoryView>, ApiError> {
    let page = state
        .app
        .history(
            &actor,
            ChannelId(id),
            page.before.map(MessageId),
            page.size()?,
        )
        .await?;
    Ok(Json(HistoryView {
        messages: page.messages,
        next_before: page.next_before,
    }))
}

/// A message to post.
#[derive(Deserialize, ToSchema)]
pub(crate) struct PostMessageRequest {
    /// The text, up to 8,000 characters; it may be empty when files are attached.
    #[schema(max_length = 8000)]
    body: String,
    /// Reply in the thread of this message.
    reply_to: Option<MessageId>,
    /// Files to attach: ids of the caller's uploads to this channel, not attached yet (see
    /// `POST /api/v1/channels/{channel_id}/uploads`), at most 10.
    #[serde(default)]
    #[schema(max_items = 10)]
    attachments: Vec<UploadId>,
}

/// Post a message, or a thread reply with `reply_to`. Answered once it is on disk. With an
/// `Idempotency-Key` header, a retry of the same post (say, after a lost answer) returns the
/// message the first one made, marked `Idempotent-Replayed: true`, instead of a second copy.
#[utoipa::path(post, path = "/api/v1/channels/{channel_id}/messages", tag = "chat",
    params(("channel_id" = i64, Path),
           ("Idempotency-Key" = Option<String>, Header,
            description = "1-128 visible ASCII characters naming this post, kept for a day")),
    request_body = PostMessageRequest,
    responses((status = 201, body = Message,
               headers(("idempotent-replayed" = String, description = "true on a replay"))),
              (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
async fn post_message(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PostMessageRequest>,
) -> Result<(StatusCode, HeaderMap, Json<Message>), ApiError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => Some(value.to_str().map_err(|_| {
            ApiError::from(hearth_app::AppError::from(DomainError::invalid(
                "Idempotency-Key",
                "must be 1 to 128 visible ASCII characters",
            )))
        })?),
    };
    let mut answer = HeaderMap::new();
    let message = match key {
        None => {
            state
                .app
                .post_message(
                    &actor,
                    ChannelId(id),
                    &body.body,
                    body.reply_to,
                    &body.attachments,
                )
                .await?
        }
        Some(key) => {
            let (message, replayed) = state
                .app
                .post_message_once(
                    &actor,
                    ChannelId(id),
                    &body.body,
                    body.reply_to,
                    &body.attachments,
                    key,
                )
                .await?;
            if replayed {
                answer.insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            message
        }
    };
    Ok((StatusCode::CREATED, answer, Json(message)))
}

/// A page of the caller's direct conversations, by id.
#[utoipa::path(get, path = "/api/v1/direct", tag = "chat", params(AfterPage),
    responses((status = 200, body = Vec<Channel>)))]
async fn list_direct(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiQuery(page): ApiQuery<AfterPage>,
) -> Result<Json<Vec<Channel>>, ApiError> {
    let after = page.after.map(ChannelId);
    Ok(Json(
        state
            .app
            .direct_conversations(&actor, after, page.size()?)
            .await?,
    ))
}

/// Whom to talk to.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct OpenDirectRequest {
    /// The other participants (one to seven), who must share a community with the caller.
    #[schema(min_items = 1, max_items = 7)]
    user_ids: Vec<UserId>,
}

/// Open (or find) a direct conversation.
#[utoipa::path(post, path = "/api/v1/direct", tag = "chat", request_body = OpenDirectRequest,
    responses((status = 200, body = Channel), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn open_direct(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<OpenDirectRequest>,
) -> Result<Json<Channel>, ApiError> {
    Ok(Json(state.app.open_direct(&actor, body.user_ids).await?))
}

/// One message.
#[utoipa::path(get, path = "/api/v1/messages/{message_id}", tag = "chat",
    params(("message_id" = i64, Path)),
    responses((status = 200, body = Message), (status = 404, body = Problem)))]
async fn get_message(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Message>, ApiError> {
    Ok(Json(state.app.message(&actor, MessageId(id)).await?))
}

/// New text for a message.
#[derive(Deserialize, ToSchema)]
pub(crate) struct EditMessageRequest {
    /// The new text, up to 8,000 characters.
    #[schema(min_length = 1, max_length = 8000)]
    body: String,
}

/// Edit one's own message, at most 100 times; the old text is kept as a revision.
#[utoipa::path(patch, path = "/api/v1/messages/{message_id}", tag = "chat",
    params(("message_id" = i64, Path)), request_body = EditMessageRequest,
    responses((status = 200, body = Message), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
async fn edit_message(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<EditMessageRequest>,
) -> Result<Json<Message>, ApiError> {
    Ok(Json(
        state
            .app
            .edit_message(&actor, MessageId(id), &body.body)
            .await?,
    ))
}

/// Delete a message (its author, or a moderator): text and revisions are removed.
#[utoipa::path(delete, path = "/api/v1/messages/{message_id}", tag = "chat",
    params(("message_id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_message(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_message(&actor, MessageId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A thread: its root and a page of replies, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ThreadView {
    root: Message,
    replies: Vec<Message>,
}

/// The thread a message belongs to.
#[utoipa::path(get, path = "/api/v1/messages/{message_id}/thread", tag = "chat",
    params(("message_id" = i64, Path), AfterPage),
    responses((status = 200, body = ThreadView), (status = 404, body = Problem)))]
async fn thread(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<AfterPage>,
) -> Result<Json<ThreadView>, ApiError> {
    let (root, replies) = state
        .app
        .thread(
            &actor,
            MessageId(id),
            page.after.map(MessageId),
            page.size()?,
        )
        .await?;
    Ok(Json(ThreadView { root, replies }))
}

/// Earlier versions of an edited message, oldest first (at most 100: a message is edited at
/// most 100 times).
#[utoipa::path(get, path = "/api/v1/messages/{message_id}/revisions", tag = "chat",
    params(("message_id" = i64, Path)),
    responses((status = 200, body = Vec<MessageRevision>), (status = 404, body = Problem)))]
async fn revisions(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<MessageRevision>>, ApiError> {
    Ok(Json(
        state.app.message_revisions(&actor, MessageId(id)).await?,
    ))
}
