//! `/api/v1/me/privacy`: the caller's choices about the sale and sharing of their personal
//! information and the use of their sensitive personal information. A request carrying the
//! Global Privacy Control signal (`Sec-GPC: 1`) opts the account out anywhere in the API.

use crate::WebState;
use crate::extract::{ApiJson, ApiPath, Authed};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_app::{Choice, ChoiceBy, ExportInfo, ExportRange, ExportState, Outcome};
use hearth_core::requests::RequestKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(show, change))
        .routes(routes!(requests, make_request))
        .routes(routes!(exports))
        .routes(routes!(export))
        .routes(routes!(download))
}

/// A copy of the caller's data.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExportView {
    id: String,
    /// `preparing`, `ready` (downloadable until `expires_at`) or `failed` (see `error`).
    state: &'static str,
    /// The first instant of the messages, files and activity it covers; null: from the start.
    from: Option<hearth_core::Timestamp>,
    /// The instant after the last; null: up to when it was made.
    to: Option<hearth_core::Timestamp>,
    requested_at: hearth_core::Timestamp,
    ready_at: Option<hearth_core::Timestamp>,
    expires_at: Option<hearth_core::Timestamp>,
    /// Its size in bytes, once ready.
    bytes: Option<i64>,
    /// The SHA-256 of the ZIP, hex, once ready.
    sha256: Option<String>,
    /// Why it could not be made, in plain words.
    error: Option<String>,
    /// Where to download it, once ready.
    download: Option<String>,
}

impl From<ExportInfo> for ExportView {
    fn from(export: ExportInfo) -> Self {
        let ready = export.state == ExportState::Ready;
        Self {
            id: export.id.to_string(),
            state: match export.state {
                ExportState::Preparing => "preparing",
                ExportState::Ready => "ready",
                ExportState::Failed => "failed",
            },
            from: export.from,
            to: export.to,
            requested_at: export.requested_at,
            ready_at: export.ready_at,
            expires_at: export.expires_at,
            bytes: export.bytes,
            sha256: export.sha256,
            error: export.error,
            download: ready.then(|| format!("/api/v1/me/exports/{}/download", export.id)),
        }
    }
}

/// The caller's copies of their data, newest first.
#[utoipa::path(get, path = "/api/v1/me/exports", tag = "privacy",
    responses((status = 200, body = [ExportView]), (status = 401, body = Problem)))]
async fn exports(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<ExportView>>, ApiError> {
    let list = state.app.my_exports(&actor).await?;
    Ok(Json(list.into_iter().map(ExportView::from).collect()))
}

/// One of the caller's copies.
#[utoipa::path(get, path = "/api/v1/me/exports/{export_id}", tag = "privacy",
    params(("export_id" = String, Path, description = "The copy's id")),
    responses((status = 200, body = ExportView), (status = 401, body = Problem),
              (status = 404, body = Problem)))]
async fn export(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ExportView>, ApiError> {
    Ok(Json(state.app.my_export(&actor, id).await?.into()))
}

/// Downloads one of the caller's ready copies: a ZIP (JSON with schemas, CSV, files, an
/// offline index page and a manifest of SHA-256 sums). 404 once it expired.
#[utoipa::path(get, path = "/api/v1/me/exports/{export_id}/download", tag = "privacy",
    params(("export_id" = String, Path, description = "The copy's id")),
    responses((status = 200, description = "The ZIP", content_type = "application/zip"),
              (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn download(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let (export, path) = state.app.export_file(&actor, id).await?;
    export_response(&export, &path).await
}

/// Streams a copy's ZIP as a download, never cached: a week later it is gone.
pub(crate) async fn export_response(
    export: &ExportInfo,
    path: &std::path::Path,
) -> Result<Response, ApiError> {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::open(path).await.map_err(|_| {
        ApiError::from(hearth_app::AppError::from(
            hearth_core::DomainError::NotFound("export"),
        ))
    })?;
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        let mut buffer = vec![0u8; 64 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(read) => {
                buffer.truncate(read);
                Some((Ok::<_, std::io::Error>(buffer), file))
            }
            Err(error) => Some((Err(error), file)),
        }
    });
    let day = export
        .ready_at
        .map(|at| at.to_rfc3339().chars().take(10).collect::<String>())
        .unwrap_or_default();
    let mut response = axum::body::Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"hearth-data-{day}.zip\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Some(bytes) = export.bytes
        && let Ok(value) = HeaderValue::from_str(&bytes.to_string())
    {
        headers.insert(header::CONTENT_LENGTH, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// What a request asks; the choices (opt-out, limit) are made with `PUT /api/v1/me/privacy`.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum NewRequestKind {
    /// Which categories of personal information are held about the caller, where from, why
    /// and for how long, and whether any was sold or shared. Needs no password.
    Know,
    /// A copy of the caller's data (access and portability), made by a job: the answer is
    /// the copy, preparing; `GET /api/v1/me/exports/{id}` says when it is ready.
    Access,
    /// Delete the account and everything about the caller, as the privacy statement says.
    Delete,
    /// Correct something held about the caller (`correction`).
    Correct,
}

impl NewRequestKind {
    fn kind(self) -> RequestKind {
        match self {
            NewRequestKind::Know => RequestKind::Know,
            NewRequestKind::Access => RequestKind::Access,
            NewRequestKind::Delete => RequestKind::Delete,
            NewRequestKind::Correct => RequestKind::Correct,
        }
    }
}

/// A request about the caller's own personal information. All but a request to know act on
/// the data itself, so they ask for the password again, and for a second factor when one is
/// on.
#[derive(Deserialize, ToSchema)]
pub(crate) struct NewRequest {
    kind: NewRequestKind,
    /// The community asked (one the caller belongs to): its admins answer, under its law and
    /// its choice of what they approve first. Left out: this Hearth's operator.
    community_id: Option<String>,
    /// The caller's password, entered again (all but `know`).
    password: Option<String>,
    /// With two-factor sign-in on: the current code, or an unused recovery code.
    code: Option<String>,
    /// For `correct`: what to correct.
    correction: Option<crate::api::requests::CorrectionBody>,
    /// For `access`: the first instant of the messages, files and activity to copy. With
    /// neither `from` nor `to`, the last twelve months; `everything: true` copies all.
    from: Option<hearth_core::Timestamp>,
    /// For `access`: the instant after the last (default: now).
    to: Option<hearth_core::Timestamp>,
    /// For `access`: copy everything held, whatever its date.
    #[serde(default)]
    everything: bool,
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

/// The answer to a request to delete, carried out at once.
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
    /// What legal holds kept: the deletion is then complete but for these.
    held: Vec<HeldView>,
    /// Messages kept, shown as by "Deleted user", where their communities chose so.
    kept_as_deleted_user: u64,
}

/// What a legal hold kept through an erasure.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HeldView {
    /// The community that holds it.
    community: String,
    /// Why.
    reason: String,
    /// How many messages.
    messages: u64,
}

/// A request answered at once: an erasure, or a request to know or a correction.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum Answered {
    /// The account is erased.
    Erased(AnswerView),
    /// Answered: the request, with its answer.
    Done(Box<crate::api::requests::RequestDetailView>),
}

/// A request accepted for later: a copy being made, or a request waiting for an admin.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum Accepted {
    /// The copy, being made.
    Copy(ExportView),
    /// The request, waiting for an admin's approval.
    Waiting(Box<crate::api::requests::RequestDetailView>),
}

/// Make a privacy request. `know` answers at once with what is held. `access` asks for a
/// copy of one's data (202: it is being made). `delete` erases the account at once:
/// everything the data catalog holds about the caller goes (their messages stay as
/// tombstones in others' threads, with no text or author), their files and sessions with
/// it; the answer lists what the law lets stay. An owner must hand their communities on
/// first (409). `correct` changes one's own fields at once; anything else waits for an
/// admin. A community (or the operator) may hold any of these for an admin's approval: the
/// answer is then 202 with the request, waiting.
#[utoipa::path(post, path = "/api/v1/me/privacy/requests", tag = "privacy",
    request_body = NewRequest,
    responses((status = 200, body = Answered), (status = 202, body = Accepted),
              (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem),
              (status = 429, body = Problem)))]
async fn make_request(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<NewRequest>,
) -> Result<Response, ApiError> {
    let invalid = |field: &'static str, why: &'static str| {
        ApiError::from(hearth_app::AppError::from(
            hearth_core::DomainError::invalid(field, why),
        ))
    };
    let range = match (body.everything, body.from, body.to) {
        (true, None, None) => ExportRange::Everything,
        (true, _, _) => return Err(invalid("everything", "cannot go with from or to")),
        (false, None, None) => ExportRange::LastTwelveMonths,
        (false, from, to) => ExportRange::Between {
            from: from.unwrap_or(hearth_core::Timestamp(0)),
            to: to.unwrap_or_else(hearth_core::Timestamp::now),
        },
    };
    let community = match body.community_id.as_deref() {
        Some(id) => {
            Some(hearth_core::CommunityId(id.trim().parse().map_err(
                |_| invalid("community_id", "must be a community's id"),
            )?))
        }
        None => None,
    };
    let new = hearth_app::NewRequest {
        kind: body.kind.kind(),
        community,
        password: body.password,
        code: body.code,
        correction: body.correction.map(|c| hearth_app::Correction {
            field: c.field,
            value: c.value,
            explanation: c.explanation,
        }),
        range,
    };
    let outcome = state.app.make_request(&actor, new, ChoiceBy::Api).await?;
    Ok(match outcome {
        Outcome::Copy(export) => (
            StatusCode::ACCEPTED,
            Json(Accepted::Copy(ExportView::from(export))),
        )
            .into_response(),
        Outcome::Waiting(request) => (
            StatusCode::ACCEPTED,
            Json(Accepted::Waiting(Box::new(
                crate::api::requests::RequestDetailView::new(request, None),
            ))),
        )
            .into_response(),
        Outcome::Done(request) => {
            let view = crate::api::requests::RequestDetailView::new(request, None)
                .with_know(&state, &actor)
                .await?;
            Json(Answered::Done(Box::new(view))).into_response()
        }
        Outcome::Erased(answer) => Json(Answered::Erased(AnswerView {
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
            held: answer
                .held
                .into_iter()
                .map(|h| HeldView {
                    community: h.community,
                    reason: h.reason,
                    messages: h.messages,
                })
                .collect(),
            kept_as_deleted_user: answer.kept_as_deleted_user,
        }))
        .into_response(),
    })
}

/// A privacy request in the caller's record.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestView {
    /// Its reference: `GET /api/v1/me/privacy/requests/{id}` gives its answer.
    id: String,
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
                id: r.id.to_string(),
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
/// `confirm: true` (and is refused, `403`, for the opt-out of a member under 13). Each change
/// is audited.
#[utoipa::path(put, path = "/api/v1/me/privacy", tag = "privacy", request_body = PrivacyChange,
    responses((status = 200, body = PrivacyView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
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
