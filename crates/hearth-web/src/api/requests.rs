//! Privacy requests through the API: one's own (`/api/v1/me/privacy/requests/{id}`), and the
//! desks that answer them, a community's admins (`/api/v1/communities/{id}/privacy/...`) and
//! the operator (`/api/v1/privacy/...`): the inbox, decisions, how a community answers, the
//! yearly metrics and the request log.

use crate::WebState;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use hearth_app::{AppError, Decision, Desk, InboxEntry, KnowAnswer, RequestInfo};
use hearth_core::requests::{DenialReason, Handling, KindMetrics, LawProfile, RequestKind};
use hearth_core::{CommunityId, DomainError, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(my_request))
        .routes(routes!(community_inbox))
        .routes(routes!(community_request))
        .routes(routes!(community_decision))
        .routes(routes!(handling, set_handling))
        .routes(routes!(holds, place_hold))
        .routes(routes!(release_hold))
        .routes(routes!(community_report))
        .routes(routes!(operator_inbox))
        .routes(routes!(operator_request))
        .routes(routes!(operator_decision))
        .routes(routes!(operator_report))
        .routes(routes!(operator_log))
}

/// What a correction asks.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct CorrectionBody {
    /// `display_name`, `about`, `profile:<field id>` (an answer to a community's question),
    /// or `other` (anything else, explained for an admin).
    pub(crate) field: String,
    /// The right value.
    pub(crate) value: String,
    /// What is wrong and where (needed for `other`).
    #[serde(default)]
    pub(crate) explanation: String,
}

/// One category of personal information held about the requester.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HeldCategoryView {
    /// The category's code, as the data catalog names it.
    category: &'static str,
    /// Its name, as a privacy statement lists it.
    label: &'static str,
    /// Whether any of it is sensitive personal information.
    sensitive: bool,
    /// Where it came from.
    sources: Vec<&'static str>,
    /// Why it is kept.
    purposes: Vec<&'static str>,
    /// For how long.
    retention: Vec<String>,
    /// The kinds of data it is found in.
    found_in: Vec<&'static str>,
    /// Whether any of it was sold or shared.
    sold_or_shared: bool,
}

/// The answer to a request to know.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KnowView {
    categories: Vec<HeldCategoryView>,
    /// Who receives personal information, and what.
    recipients: Vec<String>,
    /// Whether any personal information was sold or shared in the past twelve months.
    sold_or_shared: bool,
}

impl From<KnowAnswer> for KnowView {
    fn from(answer: KnowAnswer) -> Self {
        Self {
            categories: answer
                .categories
                .into_iter()
                .map(|h| HeldCategoryView {
                    category: h.category.code(),
                    label: h.category.label(),
                    sensitive: h.sensitive,
                    sources: h.sources.iter().map(|s| s.label()).collect(),
                    purposes: h.purposes.iter().map(|p| p.label()).collect(),
                    retention: h.retention,
                    found_in: h.found_in,
                    sold_or_shared: h.sold_or_shared,
                })
                .collect(),
            recipients: answer.recipients,
            sold_or_shared: answer.sold_or_shared,
        }
    }
}

/// A privacy request, whole.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestDetailView {
    /// Its reference.
    id: String,
    /// `know`, `access`, `delete`, `correct`, `opt_out` or `limit`.
    kind: &'static str,
    /// `received`, `verified`, `in_progress`, `extended`, `completed` or `denied`.
    state: &'static str,
    /// The law its deadlines follow: `ccpa`, `gdpr`, `virginia` or `colorado`.
    law: &'static str,
    /// How it came: `page`, `api`, `signal` or `operator`.
    manner: String,
    /// The community asked; null: the operator.
    community_id: Option<String>,
    /// The requester's username (admins' view), while they have an account.
    requester: Option<String>,
    received_at: Timestamp,
    /// Receipt confirmed by this day, when the law asks (`YYYY-MM-DD`).
    acknowledge_by: Option<String>,
    /// The answer is due by this day (the extended one, once extended).
    due: String,
    /// Open and past its deadline.
    overdue: bool,
    /// Open and due within a week.
    due_soon: bool,
    extended: bool,
    /// Beyond the law's yearly quota of requests of its kind (the law allows refusing it).
    beyond_quota: bool,
    answered_at: Option<Timestamp>,
    /// Why it was refused (or, completed, why a part was): a code from the law's list.
    denial_reason: Option<&'static str>,
    /// That reason, as the requester reads it.
    denial_text: Option<&'static str>,
    /// The answer, in plain words.
    answer: Option<String>,
    /// An admin's words to the requester.
    note: Option<String>,
    /// Why its last step failed, in plain words, until it is run again.
    failure: Option<String>,
    /// What a correction asks, while it is open.
    correction: Option<CorrectionBody>,
    /// A completed request to know: what is held.
    know: Option<KnowView>,
    /// A request from the public form, on an admin's desk while it is open: what
    /// verification collected, to review.
    verification: Option<VerificationView>,
}

/// What verifying a request from the public form collected.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerificationView {
    /// The address the link went to.
    email: String,
    /// An authorized agent's name, address and account of the person's signed permission.
    agent_name: Option<String>,
    agent_email: Option<String>,
    permission: Option<String>,
    /// Until when the person may confirm it.
    expires_at: Timestamp,
}

impl RequestDetailView {
    pub(crate) fn new(request: RequestInfo, requester: Option<String>) -> Self {
        let today = Timestamp::now().to_datetime().date();
        Self {
            id: request.id.to_string(),
            kind: request.kind.code(),
            state: request.state.code(),
            law: request.law.code(),
            overdue: request.overdue(today),
            due_soon: request.due_soon(today),
            manner: request.manner,
            community_id: request.community.map(|c| c.0.to_string()),
            requester,
            received_at: request.received_at,
            acknowledge_by: request.acknowledge_by.map(|d| d.to_string()),
            due: request.due.to_string(),
            extended: request.extended,
            beyond_quota: request.beyond_quota,
            answered_at: request.answered_at,
            denial_reason: request.denial.map(DenialReason::code),
            denial_text: request.denial.map(DenialReason::consumer_text),
            answer: request.answer,
            note: request.note,
            failure: request.failure,
            correction: request.correction.map(|c| CorrectionBody {
                field: c.field,
                value: c.value,
                explanation: c.explanation,
            }),
            know: None,
            verification: None,
        }
    }

    /// Sets the answer to a completed request to know.
    pub(crate) fn set_know(&mut self, know: Option<KnowView>) {
        self.know = know;
    }

    /// Adds the answer to a completed request to know.
    pub(crate) async fn with_know(
        mut self,
        state: &WebState,
        actor: &hearth_app::Actor,
    ) -> Result<Self, ApiError> {
        if self.kind == RequestKind::Know.code() && self.state == "completed" {
            self.know = Some(state.app.know_answer(actor).await?.into());
        }
        Ok(self)
    }
}

impl From<InboxEntry> for RequestDetailView {
    fn from(entry: InboxEntry) -> Self {
        let mut view = Self::new(entry.request, entry.requester);
        view.verification = entry.verification.map(|v| VerificationView {
            email: v.email,
            agent_name: v.agent_name,
            agent_email: v.agent_email,
            permission: v.permission,
            expires_at: v.expires_at,
        });
        view
    }
}

/// One of the caller's privacy requests, with its answer: for a completed request to know,
/// the categories of personal information held about them, their sources and purposes.
#[utoipa::path(get, path = "/api/v1/me/privacy/requests/{request_id}", tag = "privacy",
    params(("request_id" = String, Path, description = "The request's reference")),
    responses((status = 200, body = RequestDetailView), (status = 401, body = Problem),
              (status = 404, body = Problem)))]
async fn my_request(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<RequestDetailView>, ApiError> {
    let request = state.app.my_request(&actor, id).await?;
    Ok(Json(
        RequestDetailView::new(request, None)
            .with_know(&state, &actor)
            .await?,
    ))
}

/// What an admin does with a request.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DecisionAction {
    /// Carry it out: answer, correct, make the copy, erase.
    Approve,
    /// Refuse it: `reason` from the law's list, the facts in `note`.
    Deny,
    /// Extend its deadline once; `note` tells the requester why.
    Extend,
    /// Mark it done by hand; `note` says what was done.
    Complete,
    /// Run its failed step again.
    Retry,
}

/// An admin's decision on a request.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct DecisionBody {
    action: DecisionAction,
    /// For `deny`: `cannot_verify`, `legal_exception`, `disproportionate_effort`,
    /// `too_frequent`, `likely_accurate`, `fraudulent` or `nothing_held`.
    reason: Option<String>,
    /// For the requester: the facts behind a refusal, why more time is needed, what was done.
    #[serde(default)]
    note: String,
}

impl DecisionBody {
    fn decision(self) -> Result<Decision, ApiError> {
        Ok(match self.action {
            DecisionAction::Approve => Decision::Approve,
            DecisionAction::Retry => Decision::Retry,
            DecisionAction::Extend => Decision::Extend { note: self.note },
            DecisionAction::Complete => Decision::Complete { note: self.note },
            DecisionAction::Deny => {
                let reason = self
                    .reason
                    .as_deref()
                    .and_then(DenialReason::parse)
                    .ok_or_else(|| {
                        AppError::from(DomainError::invalid(
                            "reason",
                            "must be one of the law's reasons for refusing",
                        ))
                    })?;
                Decision::Deny {
                    reason,
                    note: self.note,
                }
            }
        })
    }
}

/// The community's open privacy requests, oldest first, with their deadlines (admins).
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/privacy/requests",
    tag = "privacy", params(("community_id" = i64, Path)),
    responses((status = 200, body = [RequestDetailView]), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn community_inbox(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<RequestDetailView>>, ApiError> {
    let desk = Desk::Community(CommunityId(id));
    let entries = state.app.request_inbox(&actor, desk).await?;
    Ok(Json(entries.into_iter().map(Into::into).collect()))
}

/// One privacy request addressed to the community (admins).
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/privacy/requests/{request_id}",
    tag = "privacy", params(("community_id" = i64, Path), ("request_id" = i64, Path)),
    responses((status = 200, body = RequestDetailView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn community_request(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath((id, request)): ApiPath<(i64, i64)>,
) -> Result<Json<RequestDetailView>, ApiError> {
    let desk = Desk::Community(CommunityId(id));
    Ok(Json(
        state.app.desk_request(&actor, desk, request).await?.into(),
    ))
}

/// Decide on a privacy request addressed to the community (admins): approve, deny with a
/// reason, extend once with a note, complete by hand, or run a failed step again.
#[utoipa::path(post,
    path = "/api/v1/communities/{community_id}/privacy/requests/{request_id}/decision",
    tag = "privacy", params(("community_id" = i64, Path), ("request_id" = i64, Path)),
    request_body = DecisionBody,
    responses((status = 200, body = RequestDetailView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn community_decision(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath((id, request)): ApiPath<(i64, i64)>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Json<RequestDetailView>, ApiError> {
    decide(
        &state,
        &actor,
        Desk::Community(CommunityId(id)),
        request,
        body,
    )
    .await
}

async fn decide(
    state: &WebState,
    actor: &hearth_app::Actor,
    desk: Desk,
    request: i64,
    body: DecisionBody,
) -> Result<Json<RequestDetailView>, ApiError> {
    let decision = body.decision()?;
    state
        .app
        .decide_request(actor, desk, request, decision)
        .await?;
    // Read back as the desk sees it (an erased requester's request is still at the desk).
    let entry = state.app.desk_request(actor, desk, request).await?;
    Ok(Json(entry.into()))
}

/// How a community answers privacy requests.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct HandlingView {
    /// The law its deadlines follow: `ccpa`, `gdpr`, `virginia` or `colorado`.
    law: String,
    /// The kinds of request that wait for an admin's approval (any of `know`, `access`,
    /// `delete`, `correct`); the others are carried out at once for a verified requester.
    approved: Vec<String>,
    /// What erasing a member does to their messages here: `remove` (the text goes; they
    /// stay as tombstones in threads) or `keep` (they stay, shown as by "Deleted user").
    /// Left out of a change: as it is.
    #[serde(default)]
    erased_messages: Option<String>,
}

impl HandlingView {
    fn new(handling: Handling, erased: hearth_app::ErasedMessages) -> Self {
        Self {
            law: handling.law.code().into(),
            approved: handling
                .approved
                .iter()
                .map(|k| k.code().to_string())
                .collect(),
            erased_messages: Some(erased.code().into()),
        }
    }
}

/// How the community answers privacy requests (admins).
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/privacy/handling",
    tag = "privacy", params(("community_id" = i64, Path)),
    responses((status = 200, body = HandlingView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn handling(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<HandlingView>, ApiError> {
    let community = CommunityId(id);
    let handling = state.app.request_handling(&actor, community).await?;
    let erased = state.app.erased_messages(&actor, community).await?;
    Ok(Json(HandlingView::new(handling, erased)))
}

/// Choose how the community answers privacy requests: its law, and which kinds wait for an
/// admin's approval (admins). Opt-outs and limits are always carried out at once.
#[utoipa::path(put, path = "/api/v1/communities/{community_id}/privacy/handling",
    tag = "privacy", params(("community_id" = i64, Path)), request_body = HandlingView,
    responses((status = 200, body = HandlingView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn set_handling(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<HandlingView>,
) -> Result<Json<HandlingView>, ApiError> {
    let law = LawProfile::parse(body.law.trim()).ok_or_else(|| {
        AppError::from(DomainError::invalid(
            "law",
            "must be ccpa, gdpr, virginia or colorado",
        ))
    })?;
    let mut approved = Vec::new();
    for code in &body.approved {
        let kind = RequestKind::parse(code.trim())
            .filter(|k| Handling::approvable().any(|a| a == *k))
            .ok_or_else(|| {
                AppError::from(DomainError::invalid(
                    "approved",
                    "may hold know, access, delete and correct (opt-outs and limits are never held back)",
                ))
            })?;
        approved.push(kind);
    }
    let erased = match body.erased_messages.as_deref() {
        Some(code) => Some(
            hearth_app::ErasedMessages::parse(code.trim()).ok_or_else(|| {
                AppError::from(DomainError::invalid(
                    "erased_messages",
                    "must be remove or keep",
                ))
            })?,
        ),
        None => None,
    };
    let community = CommunityId(id);
    let handling = state
        .app
        .set_request_handling(&actor, community, Handling { law, approved })
        .await?;
    if let Some(erased) = erased {
        state
            .app
            .set_erased_messages(&actor, community, erased)
            .await?;
    }
    let erased = state.app.erased_messages(&actor, community).await?;
    Ok(Json(HandlingView::new(handling, erased)))
}

/// Which year a report covers.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct YearQuery {
    /// The calendar year (default: this one).
    #[param(minimum = 2000, maximum = 9999)]
    year: Option<i32>,
}

impl YearQuery {
    fn year(&self) -> Result<i32, ApiError> {
        let year = self
            .year
            .unwrap_or_else(|| Timestamp::now().to_datetime().year());
        if !(2000..=9999).contains(&year) {
            return Err(
                AppError::from(DomainError::invalid("year", "must be from 2000 to 9999")).into(),
            );
        }
        Ok(year)
    }
}

/// The metrics of one kind of request in a year.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KindMetricsView {
    kind: &'static str,
    received: u32,
    complied_in_whole: u32,
    complied_in_part: u32,
    /// Refused, in all.
    denied: u32,
    /// Refused, by reason code.
    denied_by_reason: std::collections::BTreeMap<&'static str, u32>,
    open: u32,
    /// Median calendar days from receipt to answer.
    median_days: Option<f64>,
    /// Mean calendar days from receipt to answer.
    mean_days: Option<f64>,
}

/// The yearly metrics of privacy requests (Cal. Code Regs. tit. 11, §7102).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReportView {
    year: i32,
    kinds: Vec<KindMetricsView>,
}

pub(crate) fn report_view(year: i32, metrics: Vec<KindMetrics>) -> ReportView {
    ReportView {
        year,
        kinds: metrics
            .into_iter()
            .map(|m| KindMetricsView {
                kind: m.kind.code(),
                received: m.received,
                complied_in_whole: m.complied_in_whole,
                complied_in_part: m.complied_in_part,
                denied: m.denied.iter().map(|(_, n)| n).sum(),
                denied_by_reason: m.denied.iter().map(|(r, n)| (r.code(), *n)).collect(),
                open: m.open,
                median_days: m.median_days,
                mean_days: m.mean_days,
            })
            .collect(),
    }
}

/// The community's privacy request metrics for a calendar year (admins).
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/privacy/report",
    tag = "privacy", params(("community_id" = i64, Path), YearQuery),
    responses((status = 200, body = ReportView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn community_report(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<YearQuery>,
) -> Result<Json<ReportView>, ApiError> {
    let year = query.year()?;
    let desk = Desk::Community(CommunityId(id));
    let metrics = state.app.request_metrics(Some(&actor), desk, year).await?;
    Ok(Json(report_view(year, metrics)))
}

/// Every open privacy request on this Hearth, oldest first (the operator).
#[utoipa::path(get, path = "/api/v1/privacy/requests", tag = "privacy",
    responses((status = 200, body = [RequestDetailView]), (status = 401, body = Problem),
              (status = 403, body = Problem)))]
async fn operator_inbox(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<RequestDetailView>>, ApiError> {
    let entries = state.app.request_inbox(&actor, Desk::Operator).await?;
    Ok(Json(entries.into_iter().map(Into::into).collect()))
}

/// One privacy request (the operator).
#[utoipa::path(get, path = "/api/v1/privacy/requests/{request_id}", tag = "privacy",
    params(("request_id" = i64, Path)),
    responses((status = 200, body = RequestDetailView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn operator_request(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(request): ApiPath<i64>,
) -> Result<Json<RequestDetailView>, ApiError> {
    Ok(Json(
        state
            .app
            .desk_request(&actor, Desk::Operator, request)
            .await?
            .into(),
    ))
}

/// Decide on any privacy request (the operator).
#[utoipa::path(post, path = "/api/v1/privacy/requests/{request_id}/decision", tag = "privacy",
    params(("request_id" = i64, Path)), request_body = DecisionBody,
    responses((status = 200, body = RequestDetailView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn operator_decision(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(request): ApiPath<i64>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Json<RequestDetailView>, ApiError> {
    decide(&state, &actor, Desk::Operator, request, body).await
}

/// The privacy request metrics of the whole Hearth for a calendar year (the operator).
#[utoipa::path(get, path = "/api/v1/privacy/report", tag = "privacy", params(YearQuery),
    responses((status = 200, body = ReportView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn operator_report(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiQuery(query): ApiQuery<YearQuery>,
) -> Result<Json<ReportView>, ApiError> {
    let year = query.year()?;
    let metrics = state
        .app
        .request_metrics(Some(&actor), Desk::Operator, year)
        .await?;
    Ok(Json(report_view(year, metrics)))
}

/// The log of every privacy request received in a calendar year, as CSV (the operator): one
/// row per request, naming requesters by account id only.
#[utoipa::path(get, path = "/api/v1/privacy/log", tag = "privacy", params(YearQuery),
    responses((status = 200, description = "The log", content_type = "text/csv"),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
async fn operator_log(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiQuery(query): ApiQuery<YearQuery>,
) -> Result<Response, ApiError> {
    let year = query.year()?;
    let span = hearth_app::year_span(year)?;
    let requests = state
        .app
        .requests_received(Some(&actor), Desk::Operator, span)
        .await?;
    let csv = hearth_app::request_log_csv(&requests)?;
    Ok(csv_response(csv, &format!("hearth-requests-{year}.csv")))
}

/// A CSV document as a download.
pub(crate) fn csv_response(csv: String, name: &str) -> Response {
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A legal hold on a person's messages in the community.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HoldView {
    id: String,
    /// The person's username, while they have an account.
    username: Option<String>,
    /// Their account's id (kept once the account is gone).
    user_id: String,
    reason: String,
    set_at: Timestamp,
}

impl From<hearth_app::LegalHold> for HoldView {
    fn from(hold: hearth_app::LegalHold) -> Self {
        Self {
            id: hold.id.to_string(),
            username: hold.username,
            user_id: hold.person.to_string(),
            reason: hold.reason,
            set_at: hold.set_at,
        }
    }
}

/// A legal hold to place.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewHold {
    /// The member whose messages here are held.
    username: String,
    /// Why (a matter, a court order).
    reason: String,
}

/// The community's legal holds, newest first (admins).
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/legal-holds", tag = "privacy",
    params(("community_id" = i64, Path)),
    responses((status = 200, body = [HoldView]), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn holds(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<HoldView>>, ApiError> {
    let holds = state.app.holds(&actor, CommunityId(id)).await?;
    Ok(Json(holds.into_iter().map(Into::into).collect()))
}

/// Place a legal hold on a member's messages in the community (admins): they stay through
/// an erasure of the member, which then completes in part and says so, until released.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/legal-holds", tag = "privacy",
    params(("community_id" = i64, Path)), request_body = NewHold,
    responses((status = 201, body = HoldView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn place_hold(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewHold>,
) -> Result<(axum::http::StatusCode, Json<HoldView>), ApiError> {
    let hold = state
        .app
        .place_hold(&actor, CommunityId(id), &body.username, &body.reason)
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(hold.into())))
}

/// Release a legal hold (admins): it goes, and with it what it kept of a person already
/// erased.
#[utoipa::path(post,
    path = "/api/v1/communities/{community_id}/legal-holds/{hold_id}/release",
    tag = "privacy", params(("community_id" = i64, Path), ("hold_id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn release_hold(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath((id, hold)): ApiPath<(i64, i64)>,
) -> Result<axum::http::StatusCode, ApiError> {
    state
        .app
        .release_hold(&actor, CommunityId(id), hold)
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
