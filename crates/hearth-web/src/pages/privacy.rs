//! "My privacy": the signed-in person's choices about the sale and sharing of their personal
//! information and the use of their sensitive personal information, each made in one step and
//! withdrawn in two.

use crate::WebState;
use crate::pages::accounts::form_error;
use crate::pages::{Layout, PageError, Visitor, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_app::{Choice, ChoiceBy};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    layout: Layout,
    sale_opt_out: bool,
    sensitive_limit: bool,
    /// The person's requests: what, how, received, answered.
    requests: Vec<(String, String, String, String)>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct PrivacyQuery {
    changed: Option<String>,
}

async fn page(
    state: &WebState,
    visitor: &Visitor,
    notice: Option<&'static str>,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let account = state.app.me(&me.actor).await?;
    let requests = state
        .app
        .my_privacy_requests(&me.actor)
        .await?
        .into_iter()
        .map(|r| {
            let what = match r.kind {
                hearth_core::requests::RequestKind::OptOut => "Opt out of sale and sharing",
                hearth_core::requests::RequestKind::Limit => "Limit sensitive information",
                hearth_core::requests::RequestKind::Know => "Know what is held",
                hearth_core::requests::RequestKind::Access => "A copy of my data",
                hearth_core::requests::RequestKind::Delete => "Delete my data",
                hearth_core::requests::RequestKind::Correct => "Correct my data",
            };
            let how = match r.manner.as_str() {
                "signal" => "your browser's privacy signal",
                "api" => "the API",
                _ => "this page",
            };
            let answered = r
                .answered_at
                .map(crate::pages::settings::day_and_time)
                .unwrap_or_else(|| format!("due by {}", r.due));
            (
                what.to_string(),
                how.to_string(),
                crate::pages::settings::day_and_time(r.received_at),
                answered,
            )
        })
        .collect();
    let status = error.as_ref().map_or(StatusCode::OK, ApiError::status);
    let page = PrivacyPage {
        requests,
        layout: Layout::new("Your privacy choices", visitor),
        sale_opt_out: account.sale_opt_out,
        sensitive_limit: account.sensitive_limit,
        notice,
        error: error.as_ref().map(form_error),
    };
    Ok(render_with_status(status, &page, visitor))
}

/// `GET /privacy`.
pub(crate) async fn show(
    State(state): State<WebState>,
    visitor: Visitor,
    Query(query): Query<PrivacyQuery>,
) -> Result<Response, PageError> {
    let notice = query.changed.as_deref().map(|_| "Your choice is saved.");
    page(&state, &visitor, notice, None).await
}

#[derive(Deserialize)]
pub(crate) struct ChoiceForm {
    form_token: String,
    /// `sale_opt_out` or `sensitive_limit`.
    choice: String,
    /// `on` to make the choice, `off` to withdraw it.
    set: String,
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /privacy`: makes or withdraws one choice.
pub(crate) async fn choose(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<ChoiceForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let choice = match form.choice.as_str() {
        "sale_opt_out" => Choice::SaleOptOut,
        "sensitive_limit" => Choice::SensitiveLimit,
        _ => return Err(PageError::bad_request("no such choice")),
    };
    let on = form.set == "on";
    match state
        .app
        .set_privacy_choice(
            &me.actor,
            choice,
            on,
            form.confirm.is_some(),
            ChoiceBy::Page,
        )
        .await
    {
        Ok(_) => Ok(see_other("/privacy?changed=1")),
        Err(error) => page(&state, &visitor, None, Some(error.into())).await,
    }
}

#[derive(Template)]
#[template(path = "privacy_delete.html")]
struct DeletePage {
    layout: Layout,
    /// Communities the person owns, by name and path: each must be handed on first.
    owned: Vec<(String, String)>,
    two_factor_on: bool,
    kept: Vec<hearth_core::catalog::KeptAfterErasure>,
    error: Option<String>,
}

async fn delete_page(
    state: &WebState,
    visitor: &Visitor,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let owned = state
        .app
        .communities_owned(&me.actor)
        .await?
        .into_iter()
        .map(|c| (c.name, format!("/communities/{}/settings", c.id)))
        .collect();
    let two_factor_on = state.app.two_factor_status(&me.actor).await?.enabled;
    let status = error.as_ref().map_or(StatusCode::OK, ApiError::status);
    let page = DeletePage {
        layout: Layout::new("Delete your account", visitor),
        owned,
        two_factor_on,
        kept: hearth_core::catalog::kept_after_erasure(),
        error: error.as_ref().map(form_error),
    };
    Ok(render_with_status(status, &page, visitor))
}

/// `GET /privacy/delete`: what deleting the account does, and the form that does it.
pub(crate) async fn confirm_delete(
    State(state): State<WebState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    delete_page(&state, &visitor, None).await
}

#[derive(Deserialize)]
pub(crate) struct DeleteForm {
    form_token: String,
    password: String,
    #[serde(default)]
    code: Option<String>,
}

#[derive(Template)]
#[template(path = "privacy_deleted.html")]
struct DeletedPage {
    layout: Layout,
    reference: String,
    completed: String,
    kept: Vec<hearth_core::catalog::KeptAfterErasure>,
}

/// `POST /privacy/delete`: deletes the account and answers on the spot (the answer cannot be
/// mailed: the address is gone with the rest), signed out.
pub(crate) async fn delete(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<DeleteForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let answer = match state
        .app
        .erase_own_account(
            &me.actor,
            form.password,
            form.code.as_deref(),
            ChoiceBy::Page,
        )
        .await
    {
        Ok(answer) => answer,
        Err(error) => return delete_page(&state, &visitor, Some(error.into())).await,
    };
    let signed_out = Visitor {
        signed_in: None,
        form_token: String::new(),
        new_form_cookie: None,
        from_elsewhere: false,
        privacy_signal: visitor.privacy_signal,
    };
    let page = DeletedPage {
        layout: Layout::new("Your account is deleted", &signed_out),
        reference: answer.request_id.to_string(),
        completed: crate::pages::settings::day_and_time(answer.completed_at),
        kept: answer.kept,
    };
    let mut response = render_with_status(StatusCode::OK, &page, &signed_out);
    response.headers_mut().append(
        axum::http::header::SET_COOKIE,
        axum::http::HeaderValue::from_static(
            "hearth_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
        ),
    );
    Ok(response)
}
