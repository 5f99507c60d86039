//! Privacy requests on the pages: a member's request to know or to correct (and the page
//! each request keeps, with its answer), and the desks that answer them: a community's
//! admins at `/communities/{id}/requests`, the operator at `/admin/requests`, each with the
//! open requests and their deadlines, one request with its actions, and the yearly report.

use crate::WebState;
use crate::pages::accounts::form_error;
use crate::pages::settings::day_and_time;
use crate::pages::{Layout, PageError, Visitor, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_app::{
    AppError, ChoiceBy, Correction, Decision, Desk, NewRequest, Outcome, RequestInfo,
};
use hearth_core::requests::{DenialReason, Handling, LawProfile, RequestKind, RequestState, Span};
use hearth_core::{CommunityId, DomainError, Timestamp};
use serde::Deserialize;

/// What a request asks, as its pages say it.
pub(crate) fn kind_label(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Know => "Know what is held",
        RequestKind::Access => "A copy of my data",
        RequestKind::Delete => "Delete my data",
        RequestKind::Correct => "Correct my data",
        RequestKind::OptOut => "Opt out of sale and sharing",
        RequestKind::Limit => "Limit sensitive information",
    }
}

pub(crate) fn state_label(state: RequestState) -> &'static str {
    match state {
        RequestState::Received => "received",
        RequestState::Verified => "waiting",
        RequestState::InProgress => "in progress",
        RequestState::Extended => "extended",
        RequestState::Completed => "answered",
        RequestState::Denied => "refused",
    }
}

fn law_label(law: LawProfile) -> &'static str {
    match law {
        LawProfile::Ccpa => "California (CCPA)",
        LawProfile::Gdpr => "EU and UK (GDPR)",
        LawProfile::Virginia => "Virginia (VCDPA)",
        LawProfile::Colorado => "Colorado (CPA)",
    }
}

fn reason_label(reason: DenialReason) -> &'static str {
    match reason {
        DenialReason::CannotVerify => "Identity could not be verified",
        DenialReason::LegalException => "A legal exception applies",
        DenialReason::DisproportionateEffort => "Disproportionate effort",
        DenialReason::TooFrequent => "Too frequent (beyond the yearly quota)",
        DenialReason::LikelyAccurate => "The information is likely accurate",
        DenialReason::Fraudulent => "Believed fraudulent",
        DenialReason::NothingHeld => "Nothing is held about them",
    }
}

/// What a correction names, in words.
pub(crate) fn field_label(field: &str) -> String {
    match field {
        "display_name" => "the display name".into(),
        "about" => "the \"about\" text of the profile".into(),
        "other" => "something else".into(),
        other => format!("a profile answer ({other})"),
    }
}

#[derive(Deserialize)]
pub(crate) struct RequestForm {
    form_token: String,
    /// `know` or `correct`.
    kind: String,
    /// The community asked, by id; empty: the operator.
    #[serde(default)]
    community: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    explanation: Option<String>,
}

/// The community a form names, if any.
pub(crate) fn community_of(form_value: Option<&str>) -> Result<Option<CommunityId>, ApiError> {
    match form_value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(id) => id.parse().map(|id| Some(CommunityId(id))).map_err(|_| {
            AppError::from(DomainError::invalid("community", "must be one of yours")).into()
        }),
    }
}

/// Where a request made on a page leads: its own page, or the copy's.
pub(crate) fn after_request(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Done(request) | Outcome::Waiting(request) => {
            Some(format!("/privacy/requests/{}", request.id))
        }
        Outcome::Copy(export) => Some(format!("/privacy/exports/{}", export.id)),
        Outcome::Erased(_) => None,
    }
}

/// `POST /privacy/requests`: a request to know, or to correct.
pub(crate) async fn make(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<RequestForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let kind = match form.kind.as_str() {
        "know" => RequestKind::Know,
        "correct" => RequestKind::Correct,
        _ => return Err(PageError::bad_request("no such request")),
    };
    let made = match community_of(form.community.as_deref()) {
        Ok(community) => {
            let new = NewRequest {
                kind,
                community,
                password: form.password.filter(|p| !p.is_empty()),
                code: form.code.filter(|c| !c.is_empty()),
                correction: (kind == RequestKind::Correct).then(|| Correction {
                    field: form.field.unwrap_or_default(),
                    value: form.value.unwrap_or_default(),
                    explanation: form.explanation.unwrap_or_default(),
                }),
                range: hearth_app::ExportRange::LastTwelveMonths,
            };
            state
                .app
                .make_request(&me.actor, new, ChoiceBy::Page)
                .await
                .map_err(ApiError::from)
        }
        Err(error) => Err(error),
    };
    match made {
        Ok(outcome) => match after_request(&outcome) {
            Some(to) => Ok(see_other(&to)),
            None => Ok(see_other("/")),
        },
        Err(error) => crate::pages::privacy::page(&state, &visitor, None, Some(error)).await,
    }
}

pub(crate) struct KnowView {
    pub(crate) sold_or_shared: bool,
    pub(crate) categories: Vec<CategoryView>,
    pub(crate) recipients: Vec<String>,
}

impl From<hearth_app::KnowAnswer> for KnowView {
    fn from(answer: hearth_app::KnowAnswer) -> Self {
        KnowView {
            sold_or_shared: answer.sold_or_shared,
            categories: answer
                .categories
                .into_iter()
                .map(|c| CategoryView {
                    label: c.category.label(),
                    sensitive: c.sensitive,
                    sources: c.sources.iter().map(|s| s.label()).collect(),
                    purposes: c.purposes.iter().map(|p| p.label()).collect(),
                    retention: c.retention,
                    found_in: c.found_in,
                })
                .collect(),
            recipients: answer.recipients,
        }
    }
}

pub(crate) struct CategoryView {
    pub(crate) label: &'static str,
    pub(crate) sensitive: bool,
    pub(crate) sources: Vec<&'static str>,
    pub(crate) purposes: Vec<&'static str>,
    pub(crate) retention: Vec<String>,
    pub(crate) found_in: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "privacy_request.html")]
struct RequestPage {
    layout: Layout,
    id: i64,
    what: &'static str,
    stands: &'static str,
    received: String,
    asked: String,
    due: String,
    extended: bool,
    open: bool,
    waiting: bool,
    answered: String,
    answer: Option<String>,
    denial: Option<&'static str>,
    note: Option<String>,
    export_link: Option<String>,
    /// What a correction asks: the field, the value, the explanation.
    correction: Option<(String, String, String)>,
    know: Option<KnowView>,
}

/// Whom a request was asked of, in words.
async fn asked_of(state: &WebState, visitor: &Visitor, community: Option<CommunityId>) -> String {
    let Some(community) = community else {
        return "this Hearth's operator".into();
    };
    let Ok(me) = visitor.require() else {
        return "a community".into();
    };
    match state.app.community(&me.actor, community).await {
        Ok((c, _)) => c.name,
        Err(_) => "a community".into(),
    }
}

/// `GET /privacy/requests/{id}`: one of the visitor's requests, with its answer.
pub(crate) async fn show(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let request = state.app.my_request(&me.actor, id).await?;
    let know = if request.kind == RequestKind::Know && request.state == RequestState::Completed {
        Some(KnowView::from(state.app.know_answer(&me.actor).await?))
    } else {
        None
    };
    let export_link = if request.kind == RequestKind::Access {
        state
            .app
            .my_exports(&me.actor)
            .await?
            .into_iter()
            .find(|e| e.request_id == request.id)
            .map(|e| format!("/privacy/exports/{}", e.id))
    } else {
        None
    };
    let asked = asked_of(&state, &visitor, request.community).await;
    let page = RequestPage {
        layout: Layout::new(kind_label(request.kind), &visitor),
        id: request.id,
        what: kind_label(request.kind),
        stands: state_label(request.state),
        received: day_and_time(request.received_at),
        asked,
        due: request.due.to_string(),
        extended: request.extended,
        open: !request.state.is_closed(),
        waiting: matches!(
            request.state,
            RequestState::Received | RequestState::Verified | RequestState::Extended
        ),
        answered: request.answered_at.map(day_and_time).unwrap_or_default(),
        answer: request.answer,
        denial: (request.state == RequestState::Denied)
            .then_some(request.denial.map(DenialReason::consumer_text))
            .flatten(),
        note: request.note,
        export_link,
        correction: request
            .correction
            .map(|c| (field_label(&c.field), c.value, c.explanation)),
        know,
    };
    Ok(render_with_status(StatusCode::OK, &page, &visitor))
}

/// The desk a page works at, its base path and its name.
struct DeskPlace {
    base: String,
    name: String,
    back: Option<(String, String)>,
}

async fn place(state: &WebState, visitor: &Visitor, desk: Desk) -> Result<DeskPlace, PageError> {
    let me = visitor.require()?;
    Ok(match desk {
        Desk::Community(id) => {
            let (community, _) = state.app.community(&me.actor, id).await?;
            DeskPlace {
                base: format!("/communities/{}/requests", id.0),
                back: Some((
                    format!("/communities/{}/settings", id.0),
                    community.name.clone(),
                )),
                name: community.name,
            }
        }
        Desk::Operator => DeskPlace {
            base: "/admin/requests".into(),
            name: "this Hearth".into(),
            back: None,
        },
    })
}

struct EntryView {
    id: i64,
    what: &'static str,
    requester: String,
    stands: &'static str,
    received: String,
    due: String,
    left: String,
    overdue: bool,
    due_soon: bool,
    failed: bool,
    beyond_quota: bool,
}

/// A kind of request that may wait for approval: its code, its label, whether it does.
type ApprovalChoice = (&'static str, &'static str, bool);

#[derive(Template)]
#[template(path = "request_inbox.html")]
struct InboxPage {
    layout: Layout,
    desk_name: String,
    base: String,
    back: Option<(String, String)>,
    entries: Vec<EntryView>,
    /// The law, and each kind that may wait: code, label, held for approval.
    handling: Option<(&'static str, Vec<ApprovalChoice>)>,
    laws: Vec<(&'static str, &'static str)>,
    /// Whether erased members' messages are kept under "Deleted user".
    keep_messages: bool,
    /// The community's legal holds: id, username, reason, placed.
    holds: Vec<(i64, String, String, String)>,
    log_link: Option<String>,
    notice: Option<&'static str>,
    error: Option<String>,
}

fn days_left(days: i64) -> String {
    match days {
        0 => "today".into(),
        1 => "1 day left".into(),
        d if d > 1 => format!("{d} days left"),
        -1 => "1 day late".into(),
        d => format!("{} days late", -d),
    }
}

async fn inbox_page(
    state: &WebState,
    visitor: &Visitor,
    desk: Desk,
    notice: Option<&'static str>,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let place = place(state, visitor, desk).await?;
    let entries = state.app.request_inbox(&me.actor, desk).await?;
    let today = Timestamp::now().to_datetime().date();
    let (keep_messages, holds) = match desk {
        Desk::Community(id) => (
            state.app.erased_messages(&me.actor, id).await? == hearth_app::ErasedMessages::Keep,
            state
                .app
                .holds(&me.actor, id)
                .await?
                .into_iter()
                .map(|h| {
                    (
                        h.id,
                        h.username
                            .unwrap_or_else(|| format!("a deleted account ({})", h.person)),
                        h.reason,
                        day_and_time(h.set_at),
                    )
                })
                .collect(),
        ),
        Desk::Operator => (false, Vec::new()),
    };
    let handling = match desk {
        Desk::Community(id) => {
            let h = state.app.request_handling(&me.actor, id).await?;
            Some((
                h.law.code(),
                Handling::approvable()
                    .map(|k| (k.code(), kind_label(k), h.approved.contains(&k)))
                    .collect(),
            ))
        }
        Desk::Operator => None,
    };
    let page = InboxPage {
        layout: Layout::new(format!("Privacy requests · {}", place.name), visitor),
        entries: entries
            .into_iter()
            .map(|e| {
                let r = &e.request;
                EntryView {
                    id: r.id,
                    what: kind_label(r.kind),
                    requester: e
                        .requester
                        .clone()
                        .unwrap_or_else(|| "a deleted account".into()),
                    stands: state_label(r.state),
                    received: day_and_time(r.received_at),
                    due: r.due.to_string(),
                    left: days_left(r.days_left(today)),
                    overdue: r.overdue(today),
                    due_soon: r.due_soon(today),
                    failed: r.failure.is_some(),
                    beyond_quota: r.beyond_quota,
                }
            })
            .collect(),
        handling,
        laws: LawProfile::ALL
            .iter()
            .map(|l| (l.code(), law_label(*l)))
            .collect(),
        keep_messages,
        holds,
        log_link: (desk == Desk::Operator).then(|| "/admin/requests/log".to_string()),
        desk_name: place.name,
        base: place.base,
        back: place.back,
        notice,
        error: error.as_ref().map(form_error),
    };
    let status = error.as_ref().map_or(StatusCode::OK, ApiError::status);
    Ok(render_with_status(status, &page, visitor))
}

#[derive(Deserialize)]
pub(crate) struct InboxQuery {
    saved: Option<String>,
}

/// `GET /communities/{id}/requests`.
pub(crate) async fn community_inbox(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Query(query): Query<InboxQuery>,
) -> Result<Response, PageError> {
    let notice = query.saved.map(|_| "Saved.");
    inbox_page(
        &state,
        &visitor,
        Desk::Community(CommunityId(id)),
        notice,
        None,
    )
    .await
}

/// `GET /admin/requests`.
pub(crate) async fn operator_inbox(
    State(state): State<WebState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    inbox_page(&state, &visitor, Desk::Operator, None, None).await
}

/// `POST /communities/{id}/requests/handling`: the law and what waits for approval. The
/// form is flat, so the checkboxes come as a list of pairs.
pub(crate) async fn set_handling(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let value = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    visitor.check_form(value("form_token").unwrap_or_default())?;
    let me = visitor.require()?;
    let community = CommunityId(id);
    let law = value("law")
        .and_then(LawProfile::parse)
        .ok_or_else(|| PageError::bad_request("no such law"))?;
    let approved = Handling::approvable()
        .filter(|k| value(&format!("approve_{}", k.code())) == Some("on"))
        .collect();
    let erased = value("erased_messages")
        .and_then(hearth_app::ErasedMessages::parse)
        .unwrap_or(hearth_app::ErasedMessages::Remove);
    let saved = match state
        .app
        .set_request_handling(&me.actor, community, Handling { law, approved })
        .await
    {
        Ok(_) => {
            state
                .app
                .set_erased_messages(&me.actor, community, erased)
                .await
        }
        Err(error) => Err(error),
    };
    match saved {
        Ok(_) => Ok(see_other(&format!("/communities/{id}/requests?saved=1"))),
        Err(error) => {
            inbox_page(
                &state,
                &visitor,
                Desk::Community(community),
                None,
                Some(error.into()),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "request_desk.html")]
struct DeskPage {
    layout: Layout,
    base: String,
    id: i64,
    what: &'static str,
    requester: String,
    stands: &'static str,
    manner: String,
    law: &'static str,
    received: String,
    acknowledge_by: Option<String>,
    due: String,
    extended: bool,
    overdue: bool,
    due_soon: bool,
    beyond_quota: bool,
    answered: Option<String>,
    answer: Option<String>,
    note: Option<String>,
    correction: Option<(String, String, String)>,
    failure: Option<String>,
    open: bool,
    approvable: bool,
    completable: bool,
    approve_label: &'static str,
    approve_help: &'static str,
    extendable: bool,
    extend_to: String,
    reasons: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    /// A request from the public form: the address it was confirmed at, and an agent's
    /// name, address and permission to review.
    verification: Option<hearth_app::Verification>,
}

fn approve_words(request: &RequestInfo) -> (&'static str, &'static str) {
    match request.kind {
        RequestKind::Know => (
            "Answer it",
            "They see the categories of personal information held about them, where each came from, why and for how long.",
        ),
        RequestKind::Access => (
            "Make the copy",
            "A copy of their data is made in the background; they are mailed when it is ready.",
        ),
        RequestKind::Delete => (
            "Erase the account",
            "Their account and everything about them is erased now, as the privacy statement says. This cannot be undone.",
        ),
        RequestKind::Correct => (
            "Make the correction",
            "The field they named is changed to the value they gave.",
        ),
        RequestKind::OptOut | RequestKind::Limit => ("Carry it out", ""),
    }
}

async fn desk_page(
    state: &WebState,
    visitor: &Visitor,
    desk: Desk,
    id: i64,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let place = place(state, visitor, desk).await?;
    let entry = state.app.desk_request(&me.actor, desk, id).await?;
    let r = entry.request;
    let today = Timestamp::now().to_datetime().date();
    let rules = r.law.rules(r.kind);
    let (approve_label, approve_help) = approve_words(&r);
    let extend_to = match rules.extension {
        Some(Span::Days(days)) => format!("{days} more days"),
        Some(Span::Months(months)) => format!("{months} more months"),
        Some(Span::BusinessDays(days)) => format!("{days} more business days"),
        None => String::new(),
    };
    let correction = r
        .correction
        .clone()
        .map(|c| (field_label(&c.field), c.value, c.explanation));
    let page = DeskPage {
        layout: Layout::new(format!("{} · privacy request", kind_label(r.kind)), visitor),
        base: place.base,
        id: r.id,
        what: kind_label(r.kind),
        requester: entry.requester.unwrap_or_else(|| {
            if entry.verification.is_some() {
                "someone with no account".into()
            } else {
                "a deleted account".into()
            }
        }),
        stands: state_label(r.state),
        manner: match r.manner.as_str() {
            "api" => "through the API".into(),
            "signal" => "by the browser's privacy signal".into(),
            "operator" => "through the operator".into(),
            "form" => "on the public request form".into(),
            "agent" => "on the public request form, by an authorized agent".into(),
            "browser" => "on the privacy choices page before signing in".into(),
            "parent" => "by a parent withdrawing their consent".into(),
            _ => "on the privacy page".into(),
        },
        law: law_label(r.law),
        received: day_and_time(r.received_at),
        acknowledge_by: r.acknowledge_by.map(|d| d.to_string()),
        due: r.due.to_string(),
        extended: r.extended,
        overdue: r.overdue(today),
        due_soon: r.due_soon(today),
        beyond_quota: r.beyond_quota,
        answered: r.answered_at.map(day_and_time),
        answer: r.answer.clone(),
        note: r.note.clone(),
        correction,
        failure: r.failure.clone(),
        open: !r.state.is_closed(),
        completable: r.kind == RequestKind::Correct,
        approvable: r.kind.needs_verification()
            && matches!(r.state, RequestState::Verified | RequestState::Extended)
            && !(r.kind == RequestKind::Correct
                && r.correction.as_ref().is_some_and(|c| c.field == "other")),
        approve_label,
        approve_help,
        extendable: !r.extended && rules.extension.is_some(),
        extend_to,
        reasons: DenialReason::ALL
            .into_iter()
            .filter(|reason| reason.applies_to(r.kind))
            .map(|reason| (reason.code(), reason_label(reason)))
            .collect(),
        error: error.as_ref().map(form_error),
        verification: entry.verification,
    };
    let status = error.as_ref().map_or(StatusCode::OK, ApiError::status);
    Ok(render_with_status(status, &page, visitor))
}

/// `GET /communities/{id}/requests/{request}`.
pub(crate) async fn community_request(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, request)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    desk_page(
        &state,
        &visitor,
        Desk::Community(CommunityId(id)),
        request,
        None,
    )
    .await
}

/// `GET /admin/requests/{request}`.
pub(crate) async fn operator_request(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(request): Path<i64>,
) -> Result<Response, PageError> {
    desk_page(&state, &visitor, Desk::Operator, request, None).await
}

#[derive(Deserialize)]
pub(crate) struct DecisionForm {
    form_token: String,
    /// `approve`, `deny`, `extend`, `complete` or `retry`.
    action: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

async fn decide(
    state: &WebState,
    visitor: &Visitor,
    desk: Desk,
    request: i64,
    form: DecisionForm,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let note = form.note.unwrap_or_default();
    let decision = match form.action.as_str() {
        "approve" => Decision::Approve,
        "retry" => Decision::Retry,
        "extend" => Decision::Extend { note },
        "complete" => Decision::Complete { note },
        "deny" => Decision::Deny {
            reason: form
                .reason
                .as_deref()
                .and_then(DenialReason::parse)
                .ok_or_else(|| PageError::bad_request("no such reason"))?,
            note,
        },
        _ => return Err(PageError::bad_request("no such action")),
    };
    let place = place(state, visitor, desk).await?;
    match state
        .app
        .decide_request(&me.actor, desk, request, decision)
        .await
    {
        Ok(_) => Ok(see_other(&format!("{}/{request}", place.base))),
        Err(error) => desk_page(state, visitor, desk, request, Some(error.into())).await,
    }
}

/// `POST /communities/{id}/requests/{request}`: an admin's decision.
pub(crate) async fn community_decide(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, request)): Path<(i64, i64)>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, PageError> {
    decide(
        &state,
        &visitor,
        Desk::Community(CommunityId(id)),
        request,
        form,
    )
    .await
}

/// `POST /admin/requests/{request}`: the operator's decision.
pub(crate) async fn operator_decide(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(request): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, PageError> {
    decide(&state, &visitor, Desk::Operator, request, form).await
}

#[derive(Deserialize)]
pub(crate) struct ReportQuery {
    year: Option<String>,
    /// `csv` or `json`; a page otherwise.
    format: Option<String>,
}

struct ReportRow {
    what: &'static str,
    received: u32,
    whole: u32,
    part: u32,
    denied: u32,
    reasons: String,
    open: u32,
    median: String,
    mean: String,
}

#[derive(Template)]
#[template(path = "request_report.html")]
struct ReportPage {
    layout: Layout,
    desk_name: String,
    base: String,
    year: i32,
    rows: Vec<ReportRow>,
}

async fn report(
    state: &WebState,
    visitor: &Visitor,
    desk: Desk,
    query: ReportQuery,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let year = match query.year.as_deref().map(str::trim) {
        None | Some("") => Timestamp::now().to_datetime().year(),
        Some(y) => y
            .parse::<i32>()
            .ok()
            .filter(|y| (2000..=9999).contains(y))
            .ok_or_else(|| {
                PageError::from(ApiError::from(AppError::from(DomainError::invalid(
                    "year",
                    "must be from 2000 to 9999",
                ))))
            })?,
    };
    let place = place(state, visitor, desk).await?;
    let metrics = state
        .app
        .request_metrics(Some(&me.actor), desk, year)
        .await?;
    match query.format.as_deref() {
        Some("csv") => {
            let csv = hearth_app::metrics_csv(year, &metrics)?;
            return Ok(crate::api::requests::csv_response(
                csv,
                &format!("hearth-request-metrics-{year}.csv"),
            ));
        }
        Some("json") => {
            return Ok(axum::Json(crate::api::requests::report_view(year, metrics)).into_response());
        }
        _ => {}
    }
    let days = |d: Option<f64>| d.map(|d| format!("{d:.1}")).unwrap_or_else(|| "–".into());
    let page = ReportPage {
        layout: Layout::new(format!("Privacy requests in {year}"), visitor),
        rows: metrics
            .iter()
            .map(|m| ReportRow {
                what: kind_label(m.kind),
                received: m.received,
                whole: m.complied_in_whole,
                part: m.complied_in_part,
                denied: m.denied.iter().map(|(_, n)| n).sum(),
                reasons: m
                    .denied
                    .iter()
                    .map(|(r, n)| format!("{}: {n}", reason_label(*r)))
                    .collect::<Vec<_>>()
                    .join("; "),
                open: m.open,
                median: days(m.median_days),
                mean: days(m.mean_days),
            })
            .collect(),
        desk_name: place.name,
        base: place.base,
        year,
    };
    Ok(render_with_status(StatusCode::OK, &page, visitor))
}

/// `GET /communities/{id}/requests/report`.
pub(crate) async fn community_report(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, PageError> {
    report(&state, &visitor, Desk::Community(CommunityId(id)), query).await
}

/// `GET /admin/requests/report`.
pub(crate) async fn operator_report(
    State(state): State<WebState>,
    visitor: Visitor,
    Query(query): Query<ReportQuery>,
) -> Result<Response, PageError> {
    report(&state, &visitor, Desk::Operator, query).await
}

/// `GET /admin/requests/log`: every request received in a year, as CSV.
pub(crate) async fn operator_log(
    State(state): State<WebState>,
    visitor: Visitor,
    Query(query): Query<ReportQuery>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let year = query
        .year
        .as_deref()
        .and_then(|y| y.trim().parse::<i32>().ok())
        .filter(|y| (2000..=9999).contains(y))
        .unwrap_or_else(|| Timestamp::now().to_datetime().year());
    let span = hearth_app::year_span(year)?;
    let requests = state
        .app
        .requests_received(Some(&me.actor), Desk::Operator, span)
        .await?;
    let csv = hearth_app::request_log_csv(&requests)?;
    Ok(crate::api::requests::csv_response(
        csv,
        &format!("hearth-requests-{year}.csv"),
    ))
}

#[derive(Deserialize)]
pub(crate) struct HoldForm {
    form_token: String,
    username: String,
    reason: String,
}

/// `POST /communities/{id}/requests/holds`: places a legal hold.
pub(crate) async fn place_hold(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Form(form): Form<HoldForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let community = CommunityId(id);
    match state
        .app
        .place_hold(&me.actor, community, &form.username, &form.reason)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/communities/{id}/requests?saved=1"))),
        Err(error) => {
            inbox_page(
                &state,
                &visitor,
                Desk::Community(community),
                None,
                Some(error.into()),
            )
            .await
        }
    }
}

/// `POST /communities/{id}/requests/holds/{hold}/release`.
pub(crate) async fn release_hold(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, hold)): Path<(i64, i64)>,
    Form(form): Form<crate::pages::TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    state
        .app
        .release_hold(&me.actor, CommunityId(id), hold)
        .await?;
    Ok(see_other(&format!("/communities/{id}/requests?saved=1")))
}
