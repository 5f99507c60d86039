//! The pages mailed links open: confirming an address, and choosing a new password; and the
//! form that asks for a reset link.
//!
//! A link's page only shows a button or a form: the link is used when that is sent, so that a
//! mail scanner fetching the link in advance uses nothing up.

use crate::WebState;
use crate::extract::ClientAddress;
use crate::pages::accounts::form_error;
use crate::pages::{Layout, PageError, Visitor, link_page, render_with_status};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_app::Confirmed;
use serde::Deserialize;

/// Where a mailed link's page stands.
#[derive(PartialEq, Eq)]
enum Step {
    /// Showing the button or form.
    Ask,
    /// It worked.
    Done,
    /// The link is unknown, expired or used.
    Expired,
}

impl Step {
    /// Where a refused link leaves the page: asking again, unless the link itself is gone.
    fn after(problem: &ApiError) -> Step {
        if problem.kind() == "link-expired" {
            Step::Expired
        } else {
            Step::Ask
        }
    }
}

#[derive(Template)]
#[template(path = "verify_email.html")]
struct ConfirmPage {
    layout: Layout,
    token: String,
    step: Step,
    moved: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPage {
    layout: Layout,
    email: String,
    sent: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    step: Step,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct LinkQuery {
    #[serde(default)]
    token: String,
}

/// `GET /verify-email?token=…`: a button that confirms the address.
pub(crate) async fn confirm_page(visitor: Visitor, Query(query): Query<LinkQuery>) -> Response {
    let page = ConfirmPage {
        layout: Layout::new("Confirm your email address", &visitor),
        token: query.token,
        step: Step::Ask,
        moved: false,
        error: None,
    };
    link_page(StatusCode::OK, &page, &visitor)
}

#[derive(Deserialize)]
pub(crate) struct LinkForm {
    form_token: String,
    token: String,
}

/// `POST /verify-email`.
pub(crate) async fn confirm(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<LinkForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let (status, step, moved, error) = match state.app.confirm_email(&form.token).await {
        Ok(confirmed) => (
            StatusCode::OK,
            Step::Done,
            confirmed == Confirmed::NewAddress,
            None,
        ),
        Err(error) => {
            let problem = ApiError::from(error);
            let step = Step::after(&problem);
            (problem.status(), step, false, Some(form_error(&problem)))
        }
    };
    let mut layout = Layout::new("Confirm your email address", &visitor);
    // The visitor was looked up before the link was used: if it confirmed their own
    // address, the banner asking for that is already out of date.
    if let Some(me) = visitor.signed_in.as_ref().filter(|_| step == Step::Done) {
        layout.unconfirmed &= !state.app.me(&me.actor).await?.email_verified;
    }
    let page = ConfirmPage {
        layout,
        token: form.token,
        step,
        moved,
        error,
    };
    Ok(link_page(status, &page, &visitor))
}

/// `GET /forgot-password`.
pub(crate) async fn forgot_page(visitor: Visitor) -> Response {
    let page = ForgotPage {
        layout: Layout::new("Reset your password", &visitor),
        email: String::new(),
        sent: false,
        error: None,
    };
    render_with_status(StatusCode::OK, &page, &visitor)
}

#[derive(Deserialize)]
pub(crate) struct ForgotForm {
    form_token: String,
    email: String,
}

/// `POST /forgot-password`: the same answer whether or not an account has the address.
pub(crate) async fn forgot(
    State(state): State<WebState>,
    visitor: Visitor,
    ClientAddress(address): ClientAddress,
    Form(form): Form<ForgotForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let (status, sent, error) = match state.app.request_password_reset(&form.email, address).await {
        Ok(()) => (StatusCode::OK, true, None),
        Err(error) => {
            let problem = ApiError::from(error);
            (problem.status(), false, Some(form_error(&problem)))
        }
    };
    let page = ForgotPage {
        layout: Layout::new("Reset your password", &visitor),
        email: form.email,
        sent,
        error,
    };
    Ok(render_with_status(status, &page, &visitor))
}

/// `GET /reset-password?token=…`: the new password's form, if the link still works.
pub(crate) async fn reset_page(
    State(state): State<WebState>,
    visitor: Visitor,
    Query(query): Query<LinkQuery>,
) -> Result<Response, PageError> {
    let (status, step) = match state.app.check_reset_link(&query.token).await {
        Ok(()) => (StatusCode::OK, Step::Ask),
        Err(error) => (ApiError::from(error).status(), Step::Expired),
    };
    let page = ResetPage {
        layout: Layout::new("Choose a new password", &visitor),
        token: query.token,
        step,
        error: None,
    };
    Ok(link_page(status, &page, &visitor))
}

#[derive(Deserialize)]
pub(crate) struct ResetForm {
    form_token: String,
    token: String,
    password: String,
}

/// `POST /reset-password`: sets the password; every session ends, this browser's too.
pub(crate) async fn reset(
    State(state): State<WebState>,
    visitor: Visitor,
    ClientAddress(address): ClientAddress,
    Form(form): Form<ResetForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let (status, step, error) = match state
        .app
        .reset_password(&form.token, form.password, address)
        .await
    {
        Ok(()) => (StatusCode::OK, Step::Done, None),
        Err(error) => {
            let problem = ApiError::from(error);
            let step = Step::after(&problem);
            (problem.status(), step, Some(form_error(&problem)))
        }
    };
    // The session this browser had ended with the others.
    let signed_out = Visitor {
        signed_in: None,
        ..visitor
    };
    let page = ResetPage {
        layout: Layout::new("Choose a new password", &signed_out),
        token: form.token,
        step,
        error,
    };
    Ok(link_page(status, &page, &signed_out))
}
