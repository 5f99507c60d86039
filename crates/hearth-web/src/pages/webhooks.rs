//! A community's outgoing webhooks, for its admins: the list, a form to set one up (its
//! signing key shown once), each one's delivery log, and its removal.

use crate::WebState;
use crate::pages::accounts::form_error;
use crate::pages::settings::day_and_time;
use crate::pages::{Layout, PageError, TokenOnly, Visitor, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_app::{AppError, NewWebhook};
use hearth_core::model::ChannelKind;
use hearth_core::webhooks::Recipient;
use hearth_core::{ChannelId, CommunityId, DomainError, PageSize};

struct HookView {
    id: i64,
    name: String,
    url: String,
    recipient: &'static str,
    channels: String,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    id: i64,
    name: String,
    hooks: Vec<HookView>,
    /// The community's channels: id, name, private.
    channels: Vec<(i64, String, bool)>,
    secret: Option<String>,
    error: Option<String>,
}

async fn webhooks_page(
    state: &WebState,
    visitor: &Visitor,
    id: CommunityId,
    secret: Option<String>,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let (community, _) = state.app.community(&me.actor, id).await?;
    let hooks = state.app.webhooks(&me.actor, id).await?;
    let channels = state
        .app
        .channels(
            &me.actor,
            id,
            None,
            PageSize::requested(Some(PageSize::MAX))?,
        )
        .await?;
    let name_of = |channel: &ChannelId| {
        channels
            .iter()
            .find(|c| c.id == *channel)
            .map(|c| format!("#{}", c.name))
            .unwrap_or_else(|| "a removed channel".into())
    };
    let page = WebhooksPage {
        layout: Layout::new(format!("Webhooks · {}", community.name), visitor),
        id: id.0,
        hooks: hooks
            .iter()
            .map(|h| HookView {
                id: h.id,
                name: h.name.clone(),
                url: h.url.clone(),
                recipient: h.recipient.label(),
                channels: h
                    .channels
                    .iter()
                    .map(name_of)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        channels: channels
            .iter()
            .map(|c| (c.id.0, c.name.clone(), c.kind != ChannelKind::Public))
            .collect(),
        name: community.name,
        secret,
        error: error.as_ref().map(form_error),
    };
    let status = error.as_ref().map_or(StatusCode::OK, ApiError::status);
    Ok(render_with_status(status, &page, visitor))
}

/// `GET /communities/{id}/webhooks`.
pub(crate) async fn show(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    if let Some(to) = crate::pages::terms::terms_gate(&state, &visitor, CommunityId(id)).await? {
        return Ok(to);
    }
    webhooks_page(&state, &visitor, CommunityId(id), None, None).await
}

/// `POST /communities/{id}/webhooks`: sets one up and shows its key once. The form is flat
/// (several `channel` fields), so it comes as pairs.
pub(crate) async fn create(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let value = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    visitor.check_form(&value("form_token"))?;
    let me = visitor.require()?;
    let community = CommunityId(id);
    let channels: Vec<ChannelId> = form
        .iter()
        .filter(|(k, _)| k == "channel")
        .filter_map(|(_, v)| v.parse().ok().map(ChannelId))
        .collect();
    let made = match Recipient::parse(&value("recipient")) {
        Some(recipient) => state
            .app
            .create_webhook(
                &me.actor,
                community,
                NewWebhook {
                    name: value("name"),
                    url: value("url"),
                    channels,
                    recipient,
                    attestation: Some(value("attestation")),
                },
            )
            .await
            .map_err(ApiError::from),
        None => Err(ApiError::from(AppError::from(DomainError::invalid(
            "recipient",
            "say whether it is a service provider or a third party",
        )))),
    };
    match made {
        Ok((_, secret)) => webhooks_page(&state, &visitor, community, Some(secret), None).await,
        Err(error) => webhooks_page(&state, &visitor, community, None, Some(error)).await,
    }
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct WebhookPage {
    layout: Layout,
    id: i64,
    hook_id: i64,
    hook_name: String,
    url: String,
    recipient: &'static str,
    attestation: Option<String>,
    /// Queued, event, state, attempts, answer.
    deliveries: Vec<(String, String, String, i64, String)>,
}

/// `GET /communities/{id}/webhooks/{hook}`: its delivery log.
pub(crate) async fn log(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, hook)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let (info, deliveries) = state
        .app
        .webhook_log(&me.actor, CommunityId(id), hook)
        .await?;
    let page = WebhookPage {
        layout: Layout::new(format!("Webhook · {}", info.name), &visitor),
        id,
        hook_id: hook,
        url: info.url,
        recipient: info.recipient.label(),
        attestation: info.attestation,
        hook_name: info.name,
        deliveries: deliveries
            .into_iter()
            .map(|d| {
                let answer = match (d.status_code, d.error) {
                    (_, Some(error)) => error,
                    (Some(status), None) => status.to_string(),
                    (None, None) => String::new(),
                };
                (
                    day_and_time(hearth_core::Timestamp(d.created_at)),
                    d.event,
                    d.state,
                    d.attempts,
                    answer,
                )
            })
            .collect(),
    };
    Ok(render_with_status(StatusCode::OK, &page, &visitor))
}

/// `POST /communities/{id}/webhooks/{hook}/delete`.
pub(crate) async fn remove(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, hook)): Path<(i64, i64)>,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    state
        .app
        .delete_webhook(&me.actor, CommunityId(id), hook)
        .await?;
    Ok(see_other(&format!("/communities/{id}/webhooks")))
}
