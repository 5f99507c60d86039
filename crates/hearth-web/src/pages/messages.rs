//! One message's pages: edit it, delete it, and its thread with a reply box.

use crate::WebState;
use crate::pages::accounts::form_error;
use crate::pages::chat::{MessageView, message_views, parse_id, post_or_explain};
use crate::pages::{Layout, PageError, TokenOnly, Visitor, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_core::model::Message;
use hearth_core::{MessageId, PageSize};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "message_edit.html")]
struct EditPage {
    layout: Layout,
    id: MessageId,
    channel: String,
    draft: String,
    error: Option<String>,
}

/// The message `id` as the visitor may read it.
async fn readable(state: &WebState, visitor: &Visitor, id: &str) -> Result<Message, PageError> {
    let id = parse_id(id).map(MessageId)?;
    let me = visitor.require()?;
    Ok(state.app.message(&me.actor, id).await?)
}

/// `GET /messages/{id}/edit`.
pub(crate) async fn edit_page(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let message = readable(&state, &visitor, &id).await?;
    let Some(body) = message.body.clone() else {
        return Err(PageError::not_found());
    };
    let page = EditPage {
        layout: Layout::new("Edit message", &visitor),
        id: message.id,
        channel: message.channel_id.to_string(),
        draft: body,
        error: None,
    };
    Ok(render_with_status(StatusCode::OK, &page, &visitor))
}

#[derive(Deserialize)]
pub(crate) struct EditForm {
    form_token: String,
    body: String,
}

/// `POST /messages/{id}/edit`: saves the new text and goes back to the message.
pub(crate) async fn edit(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<EditForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let message = readable(&state, &visitor, &id).await?;
    let me = visitor.require()?;
    match state
        .app
        .edit_message(&me.actor, message.id, &form.body)
        .await
    {
        Ok(edited) => Ok(see_other(&back_to(&edited))),
        Err(error) => {
            let problem = ApiError::from(error);
            if problem.status() != StatusCode::UNPROCESSABLE_ENTITY {
                return Err(problem.into());
            }
            let page = EditPage {
                layout: Layout::new("Edit message", &visitor),
                id: message.id,
                channel: message.channel_id.to_string(),
                draft: form.body,
                error: Some(form_error(&problem)),
            };
            Ok(render_with_status(problem.status(), &page, &visitor))
        }
    }
}

/// Where a message lives: its thread for a reply, its channel otherwise.
fn back_to(message: &Message) -> String {
    match message.thread_root_id {
        Some(root) => format!("/messages/{root}/thread#m{}", message.id),
        None => format!("/channels/{}#m{}", message.channel_id, message.id),
    }
}

#[derive(Template)]
#[template(path = "message_delete.html")]
struct DeletePage {
    layout: Layout,
    id: MessageId,
    back: String,
    m: MessageView,
}

/// `GET /messages/{id}/delete`: asks first.
pub(crate) async fn delete_page(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let message = readable(&state, &visitor, &id).await?;
    let me = visitor.require()?;
    let mut views = message_views(
        &state.app,
        &me.actor,
        message.channel_id,
        std::slice::from_ref(&message),
    )
    .await?;
    let m = views.pop().ok_or_else(PageError::not_found)?;
    let page = DeletePage {
        layout: Layout::new("Delete message", &visitor),
        id: message.id,
        back: back_to(&message),
        m,
    };
    Ok(render_with_status(StatusCode::OK, &page, &visitor))
}

/// `POST /messages/{id}/delete`.
pub(crate) async fn delete(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let id = parse_id(&id).map(MessageId)?;
    // Authors may delete what they can no longer read (after leaving): where to go back
    // to is looked up only if it is still readable.
    let back = match state.app.message(&me.actor, id).await {
        Ok(message) => back_to(&message),
        Err(_) => "/communities".to_string(),
    };
    state.app.delete_message(&me.actor, id).await?;
    Ok(see_other(&back))
}

#[derive(Template)]
#[template(path = "thread.html")]
struct ThreadPage {
    layout: Layout,
    channel: String,
    root: MessageView,
    root_id: MessageId,
    messages: Vec<MessageView>,
    draft: String,
    error: Option<String>,
}

/// `GET /messages/{id}/thread`: a message and its replies, with a reply box.
pub(crate) async fn thread_page(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_id(&id).map(MessageId)?;
    show_thread(&state, &visitor, id, String::new(), None).await
}

async fn show_thread(
    state: &WebState,
    visitor: &Visitor,
    id: MessageId,
    draft: String,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let size = PageSize::requested(Some(PageSize::MAX))?;
    let (root, replies) = state.app.thread(&me.actor, id, None, size).await?;
    let channel = root.channel_id;
    let mut roots =
        message_views(&state.app, &me.actor, channel, std::slice::from_ref(&root)).await?;
    let mut root_view = roots.pop().ok_or_else(PageError::not_found)?;
    root_view.hide_thread_link();
    let mut messages = message_views(&state.app, &me.actor, channel, &replies).await?;
    for reply in &mut messages {
        reply.hide_thread_link();
    }
    let mut layout = Layout::new("Thread", visitor);
    layout.js = Some(crate::assets::js_url());
    let page = ThreadPage {
        layout,
        channel: channel.to_string(),
        root: root_view,
        root_id: root.id,
        messages,
        draft,
        error: error.as_ref().map(form_error),
    };
    let status = error.map_or(StatusCode::OK, |e| e.status());
    Ok(render_with_status(status, &page, visitor))
}

/// `POST /messages/{id}/thread`: replies in the thread, with the files chosen in the form.
pub(crate) async fn reply(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> Result<Response, PageError> {
    // Signed in before any of the body is read: only members send large forms.
    let me = visitor.require()?;
    let id = parse_id(&id).map(MessageId)?;
    let root = state.app.message(&me.actor, id).await?;
    let target = (root.channel_id, Some(id));
    match post_or_explain(&state, &visitor, &me.actor, target, request).await? {
        Ok(reply) => Ok(see_other(&back_to(&reply))),
        Err((draft, problem)) => show_thread(&state, &visitor, id, draft, Some(problem)).await,
    }
}

/// Replies as list items, for the script.
#[derive(Template)]
#[template(path = "message_list.html")]
struct RepliesFragment {
    messages: Vec<MessageView>,
}

/// One reply as a list item, for the script.
#[derive(Template)]
#[template(path = "message.html")]
struct ReplyFragment {
    m: MessageView,
}

/// `GET /messages/{id}/fragments/replies`: the thread's replies as the page shows them.
pub(crate) async fn replies_fragment(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_id(&id).map(MessageId)?;
    let me = visitor.require()?;
    let size = PageSize::requested(Some(PageSize::MAX))?;
    let (root, replies) = state.app.thread(&me.actor, id, None, size).await?;
    let mut messages = message_views(&state.app, &me.actor, root.channel_id, &replies).await?;
    for reply in &mut messages {
        reply.hide_thread_link();
    }
    Ok(render_with_status(
        StatusCode::OK,
        &RepliesFragment { messages },
        &visitor,
    ))
}

/// `GET /messages/{id}/fragments/replies/{reply}`: one reply of this thread (404 for any
/// other message).
pub(crate) async fn reply_fragment(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, reply)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let root = parse_id(&id).map(MessageId)?;
    let reply = parse_id(&reply).map(MessageId)?;
    let me = visitor.require()?;
    let found = state.app.message(&me.actor, reply).await?;
    if found.thread_root_id != Some(root) {
        return Err(PageError::not_found());
    }
    let mut views = message_views(
        &state.app,
        &me.actor,
        found.channel_id,
        std::slice::from_ref(&found),
    )
    .await?;
    let mut m = views.pop().ok_or_else(PageError::not_found)?;
    m.hide_thread_link();
    Ok(render_with_status(
        StatusCode::OK,
        &ReplyFragment { m },
        &visitor,
    ))
}
