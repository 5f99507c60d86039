//! The public privacy request form, for people without a session and for authorized agents,
//! and the page its mailed link opens: confirm the request, then read its answer there (and
//! download a copy).
//!
//! The link's page only shows a button: the request is confirmed when that is pressed, so
//! that a mail scanner fetching the link in advance confirms nothing.

use crate::WebState;
use crate::extract::ClientAddress;
use crate::pages::accounts::form_error;
use crate::pages::requests::{KnowView, kind_label, state_label};
use crate::pages::settings::day_and_time;
use crate::pages::{Layout, PageError, Visitor, link_page, render_with_status};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use hearth_app::{
    AgentDetails, CONFIRM_DAYS, Correction, ExportRange, ExportState, PublicRequest, PublicView,
    Submitted,
};
use hearth_core::requests::{RequestKind, RequestState};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "public_request_form.html")]
struct FormPage {
    layout: Layout,
    kinds: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    /// `link`, `applied`, or empty while asking.
    sent: &'static str,
    days: u32,
    kind: String,
    email: String,
    range: String,
    declared: bool,
    explanation: String,
    value: String,
    agent_name: String,
    agent_email: String,
    permission: String,
}

/// The six requests in the form's words.
fn kinds() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "know",
            "Tell me what personal information you hold about me",
        ),
        ("access", "Send me a copy of my personal information"),
        ("delete", "Delete my personal information"),
        ("correct", "Correct personal information about me"),
        ("opt_out", "Do not sell or share my personal information"),
        (
            "limit",
            "Limit the use of my sensitive personal information",
        ),
    ]
}

/// `GET /privacy/request`: the form.
pub(crate) async fn form(visitor: Visitor) -> Response {
    let page = FormPage {
        layout: Layout::new("Make a privacy request", &visitor),
        kinds: kinds(),
        error: None,
        sent: "",
        days: CONFIRM_DAYS,
        kind: String::new(),
        email: String::new(),
        range: String::new(),
        declared: false,
        explanation: String::new(),
        value: String::new(),
        agent_name: String::new(),
        agent_email: String::new(),
        permission: String::new(),
    };
    render_with_status(StatusCode::OK, &page, &visitor)
}

#[derive(Deserialize)]
pub(crate) struct RequestForm {
    form_token: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    range: String,
    #[serde(default)]
    declared: Option<String>,
    #[serde(default)]
    explanation: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    agent_name: String,
    #[serde(default)]
    agent_email: String,
    #[serde(default)]
    permission: String,
}

/// The request a filled-in form (or an API body) makes: an agent's particulars count when
/// any is given.
pub(crate) fn public_request(
    kind: RequestKind,
    email: &str,
    range: &str,
    declared: bool,
    correction: Option<(String, String)>,
    agent: Option<(String, String, String)>,
) -> PublicRequest {
    PublicRequest {
        kind,
        email: email.to_string(),
        agent: agent
            .filter(|(name, email, permission)| {
                !(name.trim().is_empty() && email.trim().is_empty() && permission.trim().is_empty())
            })
            .map(|(name, email, permission)| AgentDetails {
                name,
                email,
                permission,
            }),
        declared,
        range: if range == "everything" {
            ExportRange::Everything
        } else {
            ExportRange::LastTwelveMonths
        },
        correction: correction.map(|(explanation, value)| Correction {
            field: "other".into(),
            value,
            explanation,
        }),
    }
}

/// `POST /privacy/request`: the same answer whether or not an account has the address.
pub(crate) async fn submit(
    State(state): State<WebState>,
    visitor: Visitor,
    ClientAddress(address): ClientAddress,
    Form(form): Form<RequestForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let declared = form.declared.is_some();
    let outcome = match RequestKind::parse(&form.kind) {
        None => Err(ApiError::from(hearth_app::AppError::from(
            hearth_core::DomainError::invalid("kind", "choose what you ask"),
        ))),
        Some(kind) => {
            let correction = (kind == RequestKind::Correct)
                .then(|| (form.explanation.clone(), form.value.clone()));
            let new = public_request(
                kind,
                &form.email,
                &form.range,
                declared,
                correction,
                Some((
                    form.agent_name.clone(),
                    form.agent_email.clone(),
                    form.permission.clone(),
                )),
            );
            state
                .app
                .submit_public_request(new, address)
                .await
                .map_err(ApiError::from)
        }
    };
    let (status, sent, error) = match outcome {
        Ok(Submitted::LinkMailed) => (StatusCode::OK, "link", None),
        Ok(Submitted::Applied) => (StatusCode::OK, "applied", None),
        Err(problem) => (problem.status(), "", Some(form_error(&problem))),
    };
    let page = FormPage {
        layout: Layout::new("Make a privacy request", &visitor),
        kinds: kinds(),
        error,
        sent,
        days: CONFIRM_DAYS,
        kind: form.kind,
        email: form.email,
        range: form.range,
        declared,
        explanation: form.explanation,
        value: form.value,
        agent_name: form.agent_name,
        agent_email: form.agent_email,
        permission: form.permission,
    };
    Ok(render_with_status(status, &page, &visitor))
}

#[derive(Template)]
#[template(path = "public_request.html")]
struct RequestPage {
    layout: Layout,
    id: i64,
    token: String,
    error: Option<String>,
    what: &'static str,
    stands: &'static str,
    received_at: String,
    unconfirmed: bool,
    open: bool,
    waiting: bool,
    extended: bool,
    due: String,
    answered: String,
    agent: Option<String>,
    agent_email: Option<String>,
    confirmable: bool,
    password_needed: bool,
    failure: Option<String>,
    answer: Option<String>,
    note: Option<String>,
    copy: Option<String>,
    download: Option<String>,
    know: Option<KnowView>,
}

impl RequestPage {
    fn new(view: PublicView, token: String, visitor: &Visitor, error: Option<String>) -> Self {
        let request = view.request;
        let copy_ready = view.copy.as_ref().is_some_and(|c| {
            c.state == ExportState::Ready
                && c.expires_at
                    .is_some_and(|at| at.0 > hearth_core::Timestamp::now().0)
        });
        let copy = view.copy.as_ref().map(|c| match c.state {
            ExportState::Preparing => {
                "Your copy is being made; we mail you when it is ready.".to_string()
            }
            ExportState::Ready if copy_ready => format!(
                "Your copy is ready: {} bytes, offered until {}.",
                c.bytes.unwrap_or(0),
                c.expires_at.map(day_and_time).unwrap_or_default()
            ),
            ExportState::Ready => "The copy's week of download has passed.".to_string(),
            ExportState::Failed => {
                "The copy could not be made; the operator has been told.".to_string()
            }
        });
        let download = copy_ready.then(|| {
            format!(
                "/privacy/request/{}/copy?token={}",
                request.id,
                urlencoding(&token)
            )
        });
        RequestPage {
            layout: Layout::new(kind_label(request.kind), visitor),
            id: request.id,
            token,
            error,
            what: kind_label(request.kind),
            stands: state_label(request.state),
            received_at: day_and_time(request.received_at),
            unconfirmed: request.state == RequestState::Received,
            open: !request.state.is_closed(),
            waiting: matches!(
                request.state,
                RequestState::Verified | RequestState::Extended
            ),
            extended: request.extended,
            due: request.due.to_string(),
            answered: request.answered_at.map(day_and_time).unwrap_or_default(),
            agent: view.agent,
            agent_email: view.agent_email,
            confirmable: view.confirmable,
            password_needed: view.password_needed,
            failure: request.failure,
            answer: request.answer,
            note: request.note,
            copy,
            download,
            know: view.know.map(KnowView::from),
        }
    }
}

/// The link's secret as part of a URL: it is URL-safe base64, so only checked.
fn urlencoding(token: &str) -> String {
    token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[derive(Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /privacy/request/{id}?token=…`: the request, with the button that confirms it.
pub(crate) async fn show(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let view = state.app.public_request(id, &query.token).await?;
    let page = RequestPage::new(view, query.token, &visitor, None);
    Ok(link_page(StatusCode::OK, &page, &visitor))
}

#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    form_token: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// `POST /privacy/request/{id}/confirm`.
pub(crate) async fn confirm(
    State(state): State<WebState>,
    visitor: Visitor,
    ClientAddress(address): ClientAddress,
    Path(id): Path<i64>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let confirmed = state
        .app
        .confirm_public_request(
            id,
            &form.token,
            form.password,
            form.code.as_deref(),
            address,
        )
        .await;
    match confirmed {
        Ok(view) => {
            let page = RequestPage::new(view, form.token, &visitor, None);
            Ok(link_page(StatusCode::OK, &page, &visitor))
        }
        // A wrong password (or code) leaves the page asking again, saying why.
        Err(error @ hearth_app::AppError::Domain(hearth_core::DomainError::Invalid { .. }))
        | Err(error @ hearth_app::AppError::Domain(hearth_core::DomainError::RateLimited { .. })) =>
        {
            let problem = ApiError::from(error);
            let view = state.app.public_request(id, &form.token).await?;
            let page = RequestPage::new(view, form.token, &visitor, Some(form_error(&problem)));
            Ok(link_page(problem.status(), &page, &visitor))
        }
        Err(error) => Err(error.into()),
    }
}

/// `GET /privacy/request/{id}/copy?token=…`: the copy's ZIP, to the link's holder, while it
/// is offered.
pub(crate) async fn download(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let (export, path) = state.app.public_copy_file(id, &query.token).await?;
    let mut response = crate::api::export_response(&export, &path).await?;
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}
