//! Privacy requests without a session, through the API: the public form's twin. The answer
//! to a new request is the same whether an account uses the address or not; the mailed link's
//! `token` then confirms it and reads its answer.

use crate::WebState;
use crate::api::requests::{KnowView, RequestDetailView};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientAddress};
use crate::pages::public_requests::public_request;
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use hearth_app::{ExportState, PublicView, Submitted};
use hearth_core::DomainError;
use hearth_core::requests::RequestKind;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(submit))
        .routes(routes!(show))
        .routes(routes!(confirm))
}

/// An authorized agent asking for someone.
#[derive(Deserialize, ToSchema)]
pub(crate) struct AgentBody {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    #[schema(format = Email, min_length = 3, max_length = 254)]
    email: String,
    /// The person's signed permission: its words, or where it can be seen.
    #[schema(min_length = 1, max_length = 4000)]
    permission: String,
}

/// A correction asked without a session: always looked at by the operator.
#[derive(Deserialize, ToSchema)]
pub(crate) struct PublicCorrectionBody {
    /// What is wrong, and where.
    #[schema(min_length = 1, max_length = 4000)]
    explanation: String,
    /// What it should say.
    #[schema(min_length = 1, max_length = 4000)]
    value: String,
}

/// A privacy request made without a session.
#[derive(Deserialize, ToSchema)]
pub(crate) struct PublicRequestBody {
    /// `know`, `access`, `delete`, `correct`, `opt_out` or `limit`.
    kind: String,
    /// The address the person is known by.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    email: String,
    /// For `access`: `last_twelve_months` (the default) or `everything`.
    #[serde(default)]
    range: Option<String>,
    /// For `access`: the requester declares, under penalty of perjury, that they are the
    /// person or their authorized agent.
    #[serde(default)]
    declared: bool,
    /// For `correct`.
    #[serde(default)]
    correction: Option<PublicCorrectionBody>,
    /// When an authorized agent asks.
    #[serde(default)]
    agent: Option<AgentBody>,
}

/// What happens next.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Received {
    /// `link_mailed`: a link to confirm the request went to the address; `applied`: an
    /// opt-out or limit, carried out for any account using the address.
    status: &'static str,
    detail: &'static str,
}

/// Make a privacy request without a session, for oneself or as an authorized agent. Opting
/// out and limiting are carried out at once; anything else waits for the person to confirm
/// it by the link mailed to the address. The answer is the same whether an account uses the
/// address or not.
#[utoipa::path(post, path = "/api/v1/privacy/public-requests", tag = "privacy", security(()),
    request_body = PublicRequestBody,
    responses((status = 202, body = Received), (status = 400, body = Problem),
              (status = 422, body = Problem),
              (status = 429, body = Problem, description = "three requests to one address a day")))]
async fn submit(
    State(state): State<WebState>,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<PublicRequestBody>,
) -> Result<(StatusCode, Json<Received>), ApiError> {
    let kind = RequestKind::parse(&body.kind).ok_or_else(|| {
        DomainError::invalid(
            "kind",
            "must be know, access, delete, correct, opt_out or limit",
        )
    })?;
    let new = public_request(
        kind,
        &body.email,
        body.range.as_deref().unwrap_or_default(),
        body.declared,
        body.correction.map(|c| (c.explanation, c.value)),
        body.agent.map(|a| (a.name, a.email, a.permission)),
    );
    let received = match state.app.submit_public_request(new, address).await? {
        Submitted::LinkMailed => Received {
            status: "link_mailed",
            detail: "We mailed a link to the address: the request is carried out once it is \
                     confirmed there.",
        },
        Submitted::Applied => Received {
            status: "applied",
            detail: "Done, for any account using the address; no confirmation is needed.",
        },
    };
    Ok((StatusCode::ACCEPTED, Json(received)))
}

/// The mailed link's secret.
#[derive(Deserialize, IntoParams, ToSchema)]
pub(crate) struct PassQuery {
    /// The `token` parameter of the mailed link.
    #[param(min_length = 1, max_length = 200)]
    #[schema(min_length = 1, max_length = 200)]
    token: String,
}

/// A privacy request made without a session, as its link's holder sees it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PublicRequestView {
    request: RequestDetailView,
    /// `person` or `agent`: whose link this is.
    holder: &'static str,
    /// The agent who asked, while the request is open.
    agent: Option<String>,
    /// The agent's address, where their answers go, while the request is open.
    agent_email: Option<String>,
    /// Whether the person may confirm it now.
    confirmable: bool,
    /// Whether confirming asks for the account's `password` (and `code`): a copy or a
    /// deletion of an account.
    password_needed: bool,
    /// A request for a copy: `preparing`, `ready` or `failed`.
    copy_state: Option<&'static str>,
    /// Where to download the copy while it is offered.
    copy_download: Option<String>,
}

fn view_of(view: PublicView, id: i64, token: &str) -> PublicRequestView {
    let now = hearth_core::Timestamp::now().0;
    let copy_state = view.copy.as_ref().map(|c| match c.state {
        ExportState::Preparing => "preparing",
        ExportState::Ready => "ready",
        ExportState::Failed => "failed",
    });
    let copy_download = view
        .copy
        .as_ref()
        .filter(|c| c.state == ExportState::Ready && c.expires_at.is_some_and(|at| at.0 > now))
        .map(|_| format!("/privacy/request/{id}/copy?token={token}"));
    let mut request = RequestDetailView::new(view.request, None);
    request.set_know(view.know.map(KnowView::from));
    PublicRequestView {
        request,
        holder: match view.holder {
            hearth_app::Holder::Person => "person",
            hearth_app::Holder::Agent => "agent",
        },
        agent: view.agent,
        agent_email: view.agent_email,
        confirmable: view.confirmable,
        password_needed: view.password_needed,
        copy_state,
        copy_download,
    }
}

/// Checks a token's shape before it is compared: URL-safe base64 only.
fn checked(token: &str) -> Result<&str, ApiError> {
    if token.is_empty()
        || token.len() > 200
        || !token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(DomainError::NotFound("privacy request").into());
    }
    Ok(token)
}

/// A privacy request made without a session, by its mailed link's `token`: where it stands,
/// its answer, and its copy. An unknown request and a wrong token get the same 404.
#[utoipa::path(get, path = "/api/v1/privacy/public-requests/{id}", tag = "privacy",
    security(()), params(("id" = String, Path), PassQuery),
    responses((status = 200, body = PublicRequestView), (status = 400, body = Problem),
              (status = 404, body = Problem)))]
async fn show(
    State(state): State<WebState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<PassQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let token = checked(&query.token)?;
    let view = state.app.public_request(id, token).await?;
    Ok(private(Json(view_of(view, id, token))))
}

/// An answer holding a link's secret and what is held about someone: no cache keeps it.
fn private(json: Json<PublicRequestView>) -> impl IntoResponse {
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        json,
    )
}

/// The person's confirmation of their request.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ConfirmBody {
    /// The `token` parameter of the mailed link.
    #[schema(min_length = 1, max_length = 200)]
    token: String,
    /// The account's password, when `password_needed` (a copy or a deletion of an account).
    #[serde(default)]
    password: Option<String>,
    /// A code from the authenticator (or a recovery code), when two-factor sign-in is on.
    #[serde(default)]
    code: Option<String>,
}

/// Confirm a privacy request made without a session (the person, by their link's `token`):
/// it is verified, and carried out at once unless it waits for the operator (an agent's
/// request, a correction, or a kind the operator approves). Confirming again changes nothing.
#[utoipa::path(post, path = "/api/v1/privacy/public-requests/{id}/confirmation",
    tag = "privacy", security(()), params(("id" = String, Path)),
    request_body = ConfirmBody,
    responses((status = 200, body = PublicRequestView), (status = 400, body = Problem),
              (status = 403, body = Problem, description = "the agent's link cannot confirm"),
              (status = 404, body = Problem),
              (status = 422, body = Problem, description = "a wrong password or code"),
              (status = 429, body = Problem)))]
async fn confirm(
    State(state): State<WebState>,
    ClientAddress(address): ClientAddress,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ConfirmBody>,
) -> Result<impl IntoResponse, ApiError> {
    let token = checked(&body.token)?;
    let view = state
        .app
        .confirm_public_request(id, token, body.password, body.code.as_deref(), address)
        .await?;
    Ok(private(Json(view_of(view, id, token))))
}
