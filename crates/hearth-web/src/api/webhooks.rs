//! `/api/v1/communities/{id}/webhooks`: outgoing webhooks, for a community's admins.

use crate::WebState;
use crate::extract::{ApiJson, ApiPath, Authed};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hearth_app::{AppError, NewWebhook, WebhookInfo};
use hearth_core::webhooks::Recipient;
use hearth_core::{ChannelId, CommunityId, DomainError, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(remove))
        .routes(routes!(deliveries))
}

/// An outgoing webhook.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookView {
    id: String,
    /// The recipient, as the admin named it.
    name: String,
    /// Where deliveries are posted.
    url: String,
    /// The channels whose new messages it receives.
    channel_ids: Vec<String>,
    /// `service_provider` or `third_party`. A third party receives nothing of a member who
    /// opted out of sale and sharing, and no private channel's message of one who limited
    /// the use of their sensitive information.
    recipient: &'static str,
    /// For a service provider: the words of its contract, on record.
    attestation: Option<String>,
    created_at: Timestamp,
}

impl From<WebhookInfo> for WebhookView {
    fn from(hook: WebhookInfo) -> Self {
        Self {
            id: hook.id.to_string(),
            name: hook.name,
            url: hook.url,
            channel_ids: hook.channels.iter().map(|c| c.0.to_string()).collect(),
            recipient: hook.recipient.code(),
            attestation: hook.attestation,
            created_at: hook.created_at,
        }
    }
}

/// A webhook just set up, with its signing key: shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedWebhook {
    webhook: WebhookView,
    /// The HMAC-SHA256 key. Each delivery carries `X-Hearth-Timestamp` (Unix seconds) and
    /// `X-Hearth-Signature: sha256=<hex>` over `<timestamp>.<body>`.
    secret: String,
}

/// A webhook to set up.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewWebhookBody {
    name: String,
    url: String,
    channel_ids: Vec<String>,
    /// `service_provider` (needs `attestation`) or `third_party`.
    recipient: String,
    /// For a service provider: the words of the contract that binds it to process the data
    /// only for the community.
    attestation: Option<String>,
}

/// The community's webhooks (admins).
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/webhooks", tag = "communities",
    params(("community_id" = i64, Path)),
    responses((status = 200, body = [WebhookView]), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    let hooks = state.app.webhooks(&actor, CommunityId(id)).await?;
    Ok(Json(hooks.into_iter().map(Into::into).collect()))
}

/// Set up a webhook (admins): new messages of the chosen channels are posted to `url`,
/// signed, retried, and logged. The answer carries the signing key, shown this once.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/webhooks", tag = "communities",
    params(("community_id" = i64, Path)), request_body = NewWebhookBody,
    responses((status = 201, body = CreatedWebhook), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewWebhookBody>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    let invalid = |field: &'static str, why: &'static str| {
        ApiError::from(AppError::from(DomainError::invalid(field, why)))
    };
    let recipient = Recipient::parse(body.recipient.trim())
        .ok_or_else(|| invalid("recipient", "must be service_provider or third_party"))?;
    let channels = body
        .channel_ids
        .iter()
        .map(|c| c.trim().parse().map(ChannelId))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| invalid("channel_ids", "must be channel ids"))?;
    let new = NewWebhook {
        name: body.name,
        url: body.url,
        channels,
        recipient,
        attestation: body.attestation,
    };
    let (hook, secret) = state
        .app
        .create_webhook(&actor, CommunityId(id), new)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            webhook: hook.into(),
            secret,
        }),
    ))
}

/// Remove a webhook (admins).
#[utoipa::path(delete, path = "/api/v1/communities/{community_id}/webhooks/{webhook_id}",
    tag = "communities", params(("community_id" = i64, Path), ("webhook_id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn remove(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath((id, hook)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_webhook(&actor, CommunityId(id), hook)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One delivery attempt's record.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryView {
    id: String,
    /// `message.posted` or `person.erased`.
    event: String,
    /// The message's id, or the erased account's former id.
    object_id: String,
    /// `queued`, `delivered` or `failed`.
    state: String,
    attempts: i64,
    /// The recipient's last HTTP status.
    status_code: Option<i64>,
    /// Why the last attempt failed, in plain words.
    error: Option<String>,
    created_at: Timestamp,
    delivered_at: Option<Timestamp>,
}

/// A webhook's latest deliveries, newest first (admins).
#[utoipa::path(get,
    path = "/api/v1/communities/{community_id}/webhooks/{webhook_id}/deliveries",
    tag = "communities", params(("community_id" = i64, Path), ("webhook_id" = i64, Path)),
    responses((status = 200, body = [DeliveryView]), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn deliveries(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath((id, hook)): ApiPath<(i64, i64)>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let (_, log) = state.app.webhook_log(&actor, CommunityId(id), hook).await?;
    Ok(Json(
        log.into_iter()
            .map(|d| DeliveryView {
                id: d.id.to_string(),
                event: d.event,
                object_id: d.object_id.to_string(),
                state: d.state,
                attempts: d.attempts,
                status_code: d.status_code,
                error: d.error,
                created_at: Timestamp(d.created_at),
                delivered_at: d.delivered_at.map(Timestamp),
            })
            .collect(),
    ))
}
