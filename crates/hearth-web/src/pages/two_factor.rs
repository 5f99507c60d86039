//! Two-factor sign-in in the account settings: set it up with a QR code, see the recovery
//! codes once, renew them, turn it off.

use crate::WebState;
use crate::pages::accounts::form_error;
use crate::pages::{Layout, PageError, Visitor, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "two_factor_setup.html")]
struct SetupPage {
    layout: Layout,
    /// The QR code carrying the otpauth:// URL, as SVG markup made here.
    qr_svg: String,
    secret: String,
    /// Shown only in answer to the password: a refused code shows the form alone, so that a
    /// stolen session cannot fetch the seed by sending a wrong one.
    show_secret: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct CodesPage {
    layout: Layout,
    codes: Vec<String>,
    first_time: bool,
}

/// The QR code of `text` as an SVG element (dark modules on white, with the quiet zone).
fn qr_svg(text: &str) -> Result<String, PageError> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|_| PageError::internal())?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // An element inside the page, not a document of its own.
    let svg = match svg.find("<svg") {
        Some(start) => svg[start..].to_string(),
        None => svg,
    };
    Ok(svg.replacen(
        "<svg",
        "<svg role=\"img\" aria-label=\"QR code for your authenticator app\"",
        1,
    ))
}

/// The setup page for the visitor's waiting setup (shown only in answer to a form, never
/// at an address a stolen session could open later), or the settings if none waits.
async fn setup_page(
    state: &WebState,
    visitor: &Visitor,
    setup: Option<hearth_app::TwoFactorSetup>,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let show_secret = setup.is_some();
    let setup = match setup {
        Some(setup) => Some(setup),
        None => state.app.pending_two_factor(&me.actor).await?,
    };
    let Some(setup) = setup else {
        return Ok(see_other("/settings#two-factor-heading"));
    };
    let status = error.as_ref().map_or(StatusCode::OK, ApiError::status);
    let page = SetupPage {
        layout: Layout::new("Set up two-factor sign-in", visitor),
        qr_svg: if show_secret {
            qr_svg(&setup.otpauth_url)?
        } else {
            String::new()
        },
        // In groups of four, as authenticator apps show and accept it.
        show_secret,
        secret: setup
            .secret
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
        error: error.as_ref().map(form_error),
    };
    Ok(render_with_status(status, &page, visitor))
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    form_token: String,
    password: String,
}

/// `POST /settings/two-factor`: starts a setup, after the password.
pub(crate) async fn begin(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    match state.app.begin_two_factor(&me.actor, form.password).await {
        Ok(setup) => setup_page(&state, &visitor, Some(setup), None).await,
        Err(error) => crate::pages::settings::with_error(&state, &visitor, error).await,
    }
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    form_token: String,
    code: String,
}

/// `POST /settings/two-factor/confirm`: the first code turns it on; the recovery codes are
/// shown once.
pub(crate) async fn confirm(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    match state.app.confirm_two_factor(&me.actor, &form.code).await {
        Ok(codes) => Ok(codes_page(&visitor, codes, true)),
        Err(error) => setup_page(&state, &visitor, None, Some(error.into())).await,
    }
}

fn codes_page(visitor: &Visitor, codes: Vec<String>, first_time: bool) -> Response {
    let page = CodesPage {
        layout: Layout::new("Your recovery codes", visitor),
        codes,
        first_time,
    };
    render_with_status(StatusCode::OK, &page, visitor)
}

/// `POST /settings/two-factor/recovery-codes`: ten new codes replace the old.
pub(crate) async fn renew_codes(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<DisableForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    match state
        .app
        .renew_recovery_codes(&me.actor, form.password, &form.code)
        .await
    {
        Ok(codes) => Ok(codes_page(&visitor, codes, false)),
        Err(error) => crate::pages::settings::with_error(&state, &visitor, error).await,
    }
}

#[derive(Deserialize)]
pub(crate) struct DisableForm {
    form_token: String,
    password: String,
    code: String,
}

/// `POST /settings/two-factor/disable`: needs the password and a code.
pub(crate) async fn disable(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<DisableForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    match state
        .app
        .disable_two_factor(&me.actor, form.password, &form.code)
        .await
    {
        Ok(()) => Ok(see_other("/settings?changed=two-factor-off")),
        Err(error) => crate::pages::settings::with_error(&state, &visitor, error).await,
    }
}
