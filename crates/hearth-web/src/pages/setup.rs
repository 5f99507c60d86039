//! The first-run page: creates the platform operator, given the setup code from the log.

use crate::WebState;
use crate::extract::ClientAddress;
use crate::pages::accounts::form_error;
use crate::pages::{Layout, PageError, Visitor, render, render_with_status};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use hearth_app::NewAccount;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    layout: Layout,
    email: String,
    username: String,
    display_name: String,
    done: bool,
    error: Option<String>,
}

/// `GET /setup`: the form, while the instance has no operator.
pub(crate) async fn setup_page(
    State(state): State<WebState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    if !state.app.setup_open().await? {
        return Err(PageError::not_found());
    }
    let page = SetupPage {
        layout: Layout::new("Set up Hearth", &visitor),
        email: String::new(),
        username: String::new(),
        display_name: String::new(),
        done: false,
        error: None,
    };
    Ok(render(&page, &visitor))
}

#[derive(Deserialize)]
pub(crate) struct SetupForm {
    form_token: String,
    code: String,
    email: String,
    username: String,
    display_name: String,
    password: String,
}

/// `POST /setup`: creates the operator.
pub(crate) async fn set_up(
    State(state): State<WebState>,
    visitor: Visitor,
    ClientAddress(address): ClientAddress,
    Form(form): Form<SetupForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    if !state.app.setup_open().await? {
        return Err(PageError::not_found());
    }
    let input = NewAccount {
        email: form.email.clone(),
        username: form.username.clone(),
        display_name: form.display_name.clone(),
        password: form.password,
    };
    let (status, done, error) = match state.app.set_up_operator(&form.code, input, address).await {
        Ok(_) => (StatusCode::OK, true, None),
        Err(error) => {
            let problem = ApiError::from(error);
            (problem.status(), false, Some(form_error(&problem)))
        }
    };
    let page = SetupPage {
        layout: Layout::new("Set up Hearth", &visitor),
        email: form.email,
        username: form.username,
        display_name: form.display_name,
        done,
        error,
    };
    Ok(render_with_status(status, &page, &visitor))
}
