//! `/api/v1/me/privacy`: the caller's choices about the sale and sharing of their personal
//! information and the use of their sensitive personal information. A request carrying the
//! Global Privacy Control signal (`Sec-GPC: 1`) opts the account out anywhere in the API.

use crate::WebState;
use crate::extract::{ApiJson, Authed};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use hearth_app::{Choice, ChoiceBy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(show, change))
        .routes(routes!(requests, make_request))
}

/// What a request asks; the choices (opt-out, limit) are made with `PUT /api/v1/me/privacy`.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum NewRequestKind {
    /// Delete the account and everything about the caller, as the privacy statement says.
    Delete,
}

/// A request about the caller's own personal information. It acts on everything the caller
/// holds, so it asks for the password again, and for a second factor when one is on.
#[derive(Deserialize, ToSchema)]
pub(crate) struct NewRequest {
    kind: NewRequestKind,
    /// The caller's password, entered again.
    password: String,
    /// With two-factor sign-in on: the current code, or an unused recovery code.
    code: Option<String>,
}

/// Something a carried-out request left in place, and why.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeptView {
    /// The table, as the data catalog names it.
    table: &'static str,
    /// What its rows are.
    what: &'static str,
    /// Why they stay.
    reason: &'static str,
}

/// The answer to a request carried out at once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AnswerView {
    /// The request's reference.
    id: String,
    /// `delete`.
    kind: &'static str,
    /// `completed`.
    state: &'static str,
    completed_at: hearth_core::Timestamp,
    /// What stays, as the law allows, with each reason.
    kept: Vec<KeptView>,
}

/// Make a privacy request. `delete` erases the account at once: everything the data catalog
/// holds about the caller goes (their messages stay as tombstones in others' threads, with
/// no text or author), their files and sessions with it; the answer lists what the law lets
/// stay. An owner must hand their communities on first (409).
#[utoipa::path(post, path = "/api/v1/me/privacy/requests", tag = "privacy",
    request_body = NewRequest,
    responses((status = 200, body = AnswerView), (status = 401, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem),
              (status = 429, body = Problem)))]
async fn make_request(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<NewRequest>,
) -> Result<Json<AnswerView>, ApiError> {
    match body.kind {
        NewRequestKind::Delete => {
            let answer = state
                .app
                .erase_own_account(&actor, body.password, body.code.as_deref(), ChoiceBy::Api)
                .await?;
            Ok(Json(AnswerView {
                id: answer.request_id.to_string(),
                kind: "delete",
                state: "completed",
                completed_at: answer.completed_at,
                kept: answer
                    .kept
                    .into_iter()
                    .map(|k| KeptView {
                        table: k.table,
                        what: k.what,
                        reason: k.reason,
                    })
                    .collect(),
            }))
        }
    }
}

/// A privacy request in the caller's record.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestView {
    /// `know`, `access`, `delete`, `correct`, `opt_out` or `limit`.
    kind: &'static str,
    /// `received`, `verified`, `in_progress`, `extended`, `completed` or `denied`.
    state: &'static str,
    /// How it came: `page`, `api` or `signal` (the browser's Global Privacy Control).
    manner: String,
    received_at: hearth_core::Timestamp,
    /// The day it is (or was) due, `YYYY-MM-DD`.
    due: String,
    answered_at: Option<hearth_core::Timestamp>,
}

/// The caller's privacy requests, newest first (the last hundred): what was asked, how, when,
/// when it was due and when it was answered.
#[utoipa::path(get, path = "/api/v1/me/privacy/requests", tag = "privacy",
    responses((status = 200, body = [RequestView]), (status = 401, body = Problem)))]
async fn requests(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<RequestView>>, ApiError> {
    let requests = state.app.my_privacy_requests(&actor).await?;
    Ok(Json(
        requests
            .into_iter()
            .map(|r| RequestView {
                kind: r.kind.code(),
                state: r.state.code(),
                manner: r.manner,
                received_at: r.received_at,
                due: r.due,
                answered_at: r.answered_at,
            })
            .collect(),
    ))
}

/// The caller's privacy choices.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PrivacyView {
    /// Opted out of the sale and sharing of their personal information.
    sale_opt_out: bool,
    /// Asked to limit the use of their sensitive personal information.
    sensitive_limit: bool,
}

/// The caller's privacy choices.
#[utoipa::path(get, path = "/api/v1/me/privacy", tag = "privacy",
    responses((status = 200, body = PrivacyView), (status = 401, body = Problem)))]
async fn show(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<Json<PrivacyView>, ApiError> {
    let account = state.app.me(&actor).await?;
    Ok(Json(PrivacyView {
        sale_opt_out: account.sale_opt_out,
        sensitive_limit: account.sensitive_limit,
    }))
}

/// Choices to make or withdraw; one left out stays as it is.
#[derive(Deserialize, ToSchema)]
pub(crate) struct PrivacyChange {
    sale_opt_out: Option<bool>,
    sensitive_limit: Option<bool>,
    /// Must be true to withdraw a choice (false for either field): a second, deliberate step.
    #[serde(default)]
    confirm: bool,
}

/// Make or withdraw privacy choices. Making one needs nothing more; withdrawing one needs
/// `confirm: true`. Each change is audited.
#[utoipa::path(put, path = "/api/v1/me/privacy", tag = "privacy", request_body = PrivacyChange,
    responses((status = 200, body = PrivacyView), (status = 401, body = Problem),
              (status = 422, body = Problem)))]
async fn change(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<PrivacyChange>,
) -> Result<Json<PrivacyView>, ApiError> {
    for (choice, wanted) in [
        (Choice::SaleOptOut, body.sale_opt_out),
        (Choice::SensitiveLimit, body.sensitive_limit),
    ] {
        if let Some(on) = wanted {
            state
                .app
                .set_privacy_choice(&actor, choice, on, body.confirm, ChoiceBy::Api)
                .await?;
        }
    }
    show(State(state), Authed(actor)).await
}
