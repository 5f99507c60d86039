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
