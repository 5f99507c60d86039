//! A channel's page: its community's channels beside it, its history, and the composer.

use crate::WebState;
use crate::pages::accounts::form_error;
use crate::pages::{Layout, PageError, Visitor, render, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_app::{App, MessageActions};
use hearth_core::model::{Channel, ChannelKind, Message};
use hearth_core::{ChannelId, MessageId, PageSize, Timestamp, UserId};
use serde::Deserialize;
use std::collections::HashMap;

/// A channel in the sidebar.
pub(crate) struct ChannelLink {
    pub(crate) id: ChannelId,
    pub(crate) name: String,
    pub(crate) private: bool,
    pub(crate) direct: bool,
    pub(crate) current: bool,
    /// Unread messages, as the badge shows them ("99+" past the count's cap); empty if none.
    pub(crate) unread: String,
}

/// A message as the page shows it.
pub(crate) struct MessageView {
    pub(crate) id: MessageId,
    /// Whether the reader may edit it, or delete it.
    pub(crate) may_edit: bool,
    pub(crate) may_delete: bool,
    /// Whether to offer "Reply in thread" (not on replies shown inside their thread).
    pub(crate) offer_thread: bool,
    pub(crate) author: String,
    pub(crate) at: String,
    pub(crate) iso: String,
    /// The text as HTML (escaped, with the Markdown subset as markup); `None` once deleted.
    pub(crate) body_html: Option<String>,
    pub(crate) edited: bool,
    pub(crate) attachments: Vec<AttachmentView>,
}

/// A file attached to a message, as the page shows it: a picture inline, anything else as a
/// link to download.
pub(crate) struct AttachmentView {
    pub(crate) id: hearth_core::UploadId,
    pub(crate) name: String,
    pub(crate) is_image: bool,
    /// The size for people: "12 KB".
    pub(crate) size: String,
}

impl AttachmentView {
    fn of(attachment: &hearth_core::model::Attachment) -> Self {
        let is_image = hearth_core::uploads::FileType::from_media_type(&attachment.media_type)
            .is_some_and(|t| t.is_image());
        let size = match attachment.size {
            n if n < 1000 => format!("{n} bytes"),
            n if n < 1_000_000 => format!("{} KB", (n + 999) / 1000),
            n => format!("{:.1} MB", n as f64 / 1_000_000.0),
        };
        Self {
            id: attachment.id,
            name: attachment.name.clone(),
            is_image,
            size,
        }
    }
}

#[derive(Template)]
#[template(path = "channel.html")]
struct ChannelPage {
    layout: Layout,
    /// Where the sidebar's heading leads: the community, or the conversations.
    home_link: String,
    /// The channel's community, for the sidebar's search box.
    community_id: Option<hearth_core::CommunityId>,
    home_name: String,
    channel_id: ChannelId,
    /// `#name`, or the other participants of a conversation.
    channel_name: String,
    /// Whether the reader has joined it (else the page offers to join instead of a composer).
    joined: bool,
    topic: String,
    channels: Vec<ChannelLink>,
    messages: Vec<MessageView>,
    older: Option<MessageId>,
    draft: String,
    error: Option<String>,
    /// Whether the community asks something the reader has not answered (a field added, or
    /// made required, after they joined).
    owes_answers: bool,
}

#[derive(Deserialize)]
pub(crate) struct HistoryQuery {
    before: Option<String>,
}

/// `GET /channels/{id}`: the newest messages (or those before `?before=`), oldest first.
pub(crate) async fn channel(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Response, PageError> {
    let id = parse_id(&id).map(ChannelId)?;
    let before = query.before.as_deref().map(parse_id).transpose()?;
    channel_page(
        &state,
        &visitor,
        id,
        before.map(MessageId),
        String::new(),
        None,
    )
    .await
}

async fn channel_page(
    state: &WebState,
    visitor: &Visitor,
    id: ChannelId,
    before: Option<MessageId>,
    draft: String,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let app = &state.app;
    // Showing the newest messages is reading them, unless another site sent the reader here
    // (a GET must not let another site change anything).
    let reading = !visitor.from_elsewhere;
    let view = app
        .channel_view(&me.actor, id, before, PageSize::DEFAULT, reading)
        .await?;
    let channel = &view.channel;
    // A community channel sits beside its community's channels; a direct conversation
    // beside one's other conversations.
    let (home, home_link, siblings, name, title) = match &view.community {
        Some(community) => {
            let links = view
                .siblings
                .iter()
                .map(|(c, unread)| {
                    let mut link = link(c, id);
                    link.unread = unread_badge(*unread);
                    link
                })
                .collect();
            (
                community.name.clone(),
                format!("/communities/{}", community.id),
                links,
                format!("#{}", channel.name),
                format!("#{} · {}", channel.name, community.name),
            )
        }
        None => {
            let mut conversations = direct_links(app, &me.actor, id).await?;
            show_unread(app, &me.actor, &mut conversations).await?;
            let name = conversations
                .iter()
                .find(|c| c.current)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            let title = format!("{name} · Direct messages");
            (
                "Direct messages".to_string(),
                "/direct".to_string(),
                conversations,
                name,
                title,
            )
        }
    };
    let mut messages: Vec<MessageView> = view
        .history
        .messages
        .iter()
        .zip(view.actions.iter().copied())
        .map(|(m, a)| message_view(m, &view.authors, a))
        .collect();
    messages.reverse();
    let mut layout = Layout::new(title, visitor);
    layout.js = Some(crate::assets::js_url());
    let page = ChannelPage {
        layout,
        home_link,
        community_id: channel.community_id,
        home_name: home,
        channel_id: id,
        channel_name: name,
        joined: view.joined,
        topic: channel.topic.clone(),
        channels: siblings,
        messages,
        older: view.history.next_before,
        draft,
        error: error.as_ref().map(form_error),
        owes_answers: view.owes_answers,
    };
    let status = error.map_or(StatusCode::OK, |e| e.status());
    Ok(render_with_status(status, &page, visitor))
}

/// Fills in the sidebar's unread badges (none on the channel being shown).
async fn show_unread(
    app: &App,
    actor: &hearth_app::Actor,
    links: &mut [ChannelLink],
) -> Result<(), PageError> {
    let ids: Vec<ChannelId> = links.iter().map(|l| l.id).collect();
    let counts = app.unread_counts(actor, &ids).await?;
    for (link, (_, count)) in links.iter_mut().zip(counts) {
        link.unread = if link.current {
            String::new()
        } else {
            unread_badge(count)
        };
    }
    Ok(())
}

/// How a sidebar link shows an unread count.
fn unread_badge(count: i64) -> String {
    match count {
        0 => String::new(),
        n if n >= hearth_app::MAX_UNREAD_COUNTED => "99+".to_string(),
        n => n.to_string(),
    }
}

#[derive(Deserialize)]
pub(crate) struct ReadForm {
    form_token: String,
    up_to: String,
}

/// `POST /channels/{id}/read`: the script says the reader has seen up to `up_to`.
pub(crate) async fn read(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<ReadForm>,
) -> Result<StatusCode, PageError> {
    visitor.check_form(&form.form_token)?;
    let id = parse_id(&id).map(ChannelId)?;
    let up_to = parse_id(&form.up_to).map(MessageId)?;
    let me = visitor.require()?;
    state.app.mark_read(&me.actor, id, up_to).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One's direct conversations as sidebar links, named by the other participants.
pub(crate) async fn direct_links(
    app: &App,
    actor: &hearth_app::Actor,
    current: ChannelId,
) -> Result<Vec<ChannelLink>, PageError> {
    // The sidebar shows the newest conversations; each costs a query for its people.
    let conversations = app
        .direct_conversations(actor, None, PageSize::DEFAULT)
        .await?;
    let mut links = Vec::with_capacity(conversations.len());
    for conversation in conversations {
        let people = app
            .channel_members(actor, conversation.id, None, PageSize::DEFAULT)
            .await?;
        let others: Vec<String> = people
            .into_iter()
            .filter(|p| p.id != actor.user)
            .map(|p| p.display_name)
            .collect();
        links.push(ChannelLink {
            id: conversation.id,
            name: if others.is_empty() {
                "Just you".to_string()
            } else {
                others.join(", ")
            },
            private: false,
            direct: true,
            current: conversation.id == current,
            unread: String::new(),
        });
    }
    Ok(links)
}

fn link(channel: &Channel, current: ChannelId) -> ChannelLink {
    ChannelLink {
        id: channel.id,
        name: channel.name.clone(),
        private: channel.kind == ChannelKind::Private,
        direct: false,
        current: channel.id == current,
        unread: String::new(),
    }
}

impl MessageView {
    /// Inside a thread, a message offers no "Reply in thread" of its own.
    pub(crate) fn hide_thread_link(&mut self) {
        self.offer_thread = false;
    }
}

/// The messages as the reader sees them: names, times, text and the actions they may take.
pub(crate) async fn message_views(
    app: &App,
    actor: &hearth_app::Actor,
    channel: ChannelId,
    messages: &[Message],
) -> Result<Vec<MessageView>, PageError> {
    let names = author_names(app, actor, messages).await;
    let actions = app.message_actions(actor, channel, messages).await?;
    Ok(messages
        .iter()
        .zip(actions)
        .map(|(m, a)| message_view(m, &names, a))
        .collect())
}

/// The display names of the messages' authors (each looked up once).
async fn author_names(
    app: &App,
    actor: &hearth_app::Actor,
    messages: &[Message],
) -> HashMap<UserId, String> {
    let mut names = HashMap::new();
    for author in messages.iter().filter_map(|m| m.author_id) {
        if names.contains_key(&author) {
            continue;
        }
        // Someone who shares no community with the reader any more shows as unknown.
        let name = match app.user(actor, author).await {
            Ok(user) => user.display_name,
            Err(_) => "Former member".to_string(),
        };
        names.insert(author, name);
    }
    names
}

pub(crate) fn message_view(
    message: &Message,
    names: &HashMap<UserId, String>,
    actions: MessageActions,
) -> MessageView {
    let author = match message.author_id {
        Some(id) => names.get(&id).cloned().unwrap_or_default(),
        None => "Deleted user".to_string(),
    };
    MessageView {
        id: message.id,
        may_edit: actions.edit,
        may_delete: actions.delete,
        offer_thread: message.thread_root_id.is_none() && message.body.is_some(),
        author,
        at: clock_time(message.created_at),
        iso: message.created_at.to_rfc3339(),
        body_html: message.body.as_deref().map(crate::markdown::render),
        edited: message.edited_at.is_some(),
        attachments: message.attachments.iter().map(AttachmentView::of).collect(),
    }
}

/// `HH:MM` in UTC; the script shows local times where it runs.
pub(crate) fn clock_time(at: Timestamp) -> String {
    let minutes_of_day = at.millis().rem_euclid(86_400_000) / 60_000;
    format!("{:02}:{:02}", minutes_of_day / 60, minutes_of_day % 60)
}

pub(crate) fn parse_id(text: &str) -> Result<i64, PageError> {
    text.parse().map_err(|_| PageError::not_found())
}

#[derive(Deserialize)]
pub(crate) struct PostForm {
    form_token: String,
    body: String,
}

/// Most bytes of a composer's fields other than files (the text is at most 8,000
/// characters).
const FORM_FIELDS_LIMIT: usize = 64 * 1024;

/// The body a composer form may carry: every file it may attach, and the text beside them.
/// Only signed-in members get to send that much, and each file is read up to its own limit.
pub(crate) fn composer_body_limit(max_upload_bytes: usize) -> usize {
    max_upload_bytes
        .saturating_mul(hearth_app::MAX_ATTACHMENTS)
        .saturating_add(FORM_FIELDS_LIMIT)
}

/// How posting from the composer went wrong.
enum Posting {
    /// The app refused it: shown on the channel page with what was written, when the writer
    /// can fix it.
    Refused(hearth_app::AppError, String),
    /// The form itself was unusable.
    Failed(PageError),
}

impl From<PageError> for Posting {
    fn from(error: PageError) -> Self {
        Posting::Failed(error)
    }
}

/// A multipart field's bytes, up to `limit`; `None` past it.
pub(crate) async fn read_field(
    field: &mut axum::extract::multipart::Field<'_>,
    limit: usize,
) -> Result<Option<Vec<u8>>, PageError> {
    let mut out = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|_| PageError::bad_request("the form could not be read"))?
    {
        if out.len() + chunk.len() > limit {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

/// Reads the composer's form and posts it: plain fields, or multipart when it carries files
/// (as the page sends it). Files are uploaded one by one as they arrive, after the form's
/// token (which the page sends first), so a request holds at most one file in memory; their
/// ids go into `uploaded`.
async fn post_from_form(
    state: &WebState,
    visitor: &Visitor,
    actor: &hearth_app::Actor,
    (channel, reply_to): (ChannelId, Option<MessageId>),
    request: axum::extract::Request,
    uploaded: &mut Vec<hearth_core::UploadId>,
) -> Result<Message, Posting> {
    use axum::extract::FromRequest;
    let unreadable = || PageError::bad_request("the form could not be read");
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, FORM_FIELDS_LIMIT)
            .await
            .map_err(|_| unreadable())?;
        let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        let Form(form) = Form::<PostForm>::from_request(request, state)
            .await
            .map_err(|_| unreadable())?;
        visitor.check_form(&form.form_token)?;
        return match state
            .app
            .post_message(actor, channel, &form.body, reply_to, &[])
            .await
        {
            Ok(message) => Ok(message),
            Err(error) => Err(Posting::Refused(error, form.body)),
        };
    }
    let mut parts = axum::extract::Multipart::from_request(request, state)
        .await
        .map_err(|_| unreadable())?;
    let mut token_checked = false;
    let mut body = String::new();
    let max_file = state.app.max_upload_bytes();
    while let Some(mut field) = parts.next_field().await.map_err(|_| unreadable())? {
        match field.name() {
            Some("form_token") => {
                let token = read_field(&mut field, 256).await?.ok_or_else(unreadable)?;
                visitor.check_form(&String::from_utf8_lossy(&token))?;
                token_checked = true;
            }
            Some("body") => {
                let text = read_field(&mut field, FORM_FIELDS_LIMIT)
                    .await?
                    .ok_or_else(unreadable)?;
                body = String::from_utf8(text).map_err(|_| unreadable())?;
            }
            Some("files") => {
                if !token_checked {
                    return Err(Posting::Failed(PageError::FormExpired));
                }
                let name = field.file_name().unwrap_or_default().to_string();
                let Some(bytes) = read_field(&mut field, max_file).await? else {
                    let too_large = hearth_core::DomainError::TooLarge {
                        limit_bytes: max_file as u64,
                    };
                    return Err(Posting::Refused(too_large.into(), body));
                };
                // A file input left empty still sends one nameless, empty part.
                if name.is_empty() && bytes.is_empty() {
                    continue;
                }
                if uploaded.len() == hearth_app::MAX_ATTACHMENTS {
                    let too_many = hearth_core::DomainError::invalid(
                        "attachments",
                        "may name at most 10 files",
                    );
                    return Err(Posting::Refused(too_many.into(), body));
                }
                match state.app.upload(actor, channel, &name, &bytes).await {
                    Ok(attachment) => uploaded.push(attachment.id),
                    Err(error) => return Err(Posting::Refused(error, body)),
                }
            }
            _ => {}
        }
    }
    if !token_checked {
        return Err(Posting::Failed(PageError::FormExpired));
    }
    match state
        .app
        .post_message(actor, channel, &body, reply_to, uploaded)
        .await
    {
        Ok(message) => Ok(message),
        Err(error) => Err(Posting::Refused(error, body)),
    }
}

/// `POST /channels/{id}`: posts a message, with the files chosen in the form, then shows
/// the channel again.
pub(crate) async fn post(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> Result<Response, PageError> {
    // Signed in before any of the body is read: only members send large forms.
    let me = visitor.require()?;
    let id = parse_id(&id).map(ChannelId)?;
    match post_or_explain(&state, &visitor, &me.actor, (id, None), request).await? {
        Ok(_) => Ok(see_other(&format!("/channels/{id}"))),
        // Keep what was written, and say what is wrong with it.
        Err((draft, problem)) => {
            channel_page(&state, &visitor, id, None, draft, Some(problem)).await
        }
    }
}

/// Posts what a composer form holds. A refusal the writer can fix (the text, a file too
/// large or of a refused type) comes back with the draft, to show on the page; any other is
/// an error page. Files taken in for a post that was not made go at once, not in a day.
pub(crate) async fn post_or_explain(
    state: &WebState,
    visitor: &Visitor,
    actor: &hearth_app::Actor,
    target: (ChannelId, Option<MessageId>),
    request: axum::extract::Request,
) -> Result<Result<Message, (String, ApiError)>, PageError> {
    let mut uploaded = Vec::new();
    let outcome = post_from_form(state, visitor, actor, target, request, &mut uploaded).await;
    if outcome.is_err() {
        state.app.discard_uploads(actor, &uploaded).await;
    }
    match outcome {
        Ok(message) => Ok(Ok(message)),
        Err(Posting::Failed(error)) => Err(error),
        Err(Posting::Refused(error, draft)) => {
            let problem = ApiError::from(error);
            if matches!(
                problem.status(),
                StatusCode::UNPROCESSABLE_ENTITY
                    | StatusCode::PAYLOAD_TOO_LARGE
                    | StatusCode::UNSUPPORTED_MEDIA_TYPE
            ) {
                Ok(Err((draft, problem)))
            } else {
                Err(problem.into())
            }
        }
    }
}

/// One message as a list item, for the script to insert or replace.
#[derive(Template)]
#[template(path = "message.html")]
struct MessageFragment {
    m: MessageView,
}

/// The newest messages as list items, for the script to refill the list after a break.
#[derive(Template)]
#[template(path = "message_list.html")]
struct MessageListFragment {
    messages: Vec<MessageView>,
}

/// `GET /channels/{id}/fragments/messages/{message}`: one top-level message of the channel
/// as the page shows it (404 for anything else, thread replies included).
pub(crate) async fn message_fragment(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((channel, message)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let channel = parse_id(&channel).map(ChannelId)?;
    let message = parse_id(&message).map(MessageId)?;
    let me = visitor.require()?;
    let found = state.app.message(&me.actor, message).await?;
    if found.channel_id != channel || found.thread_root_id.is_some() {
        return Err(PageError::not_found());
    }
    let mut views =
        message_views(&state.app, &me.actor, channel, std::slice::from_ref(&found)).await?;
    let Some(m) = views.pop() else {
        return Err(PageError::not_found());
    };
    let fragment = MessageFragment { m };
    Ok(render(&fragment, &visitor))
}

/// `GET /channels/{id}/fragments/latest`: the newest page of messages as list items.
pub(crate) async fn latest_fragment(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(channel): Path<String>,
) -> Result<Response, PageError> {
    let channel = parse_id(&channel).map(ChannelId)?;
    let me = visitor.require()?;
    let history = state
        .app
        .history(&me.actor, channel, None, PageSize::DEFAULT)
        .await?;
    let mut messages = message_views(&state.app, &me.actor, channel, &history.messages).await?;
    messages.reverse();
    Ok(render(&MessageListFragment { messages }, &visitor))
}

/// `POST /channels/{id}/join`: joins a public channel of one's community.
pub(crate) async fn join(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<crate::pages::TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let id = parse_id(&id).map(ChannelId)?;
    let me = visitor.require()?;
    state.app.add_channel_member(&me.actor, id, None).await?;
    Ok(see_other(&format!("/channels/{id}")))
}
