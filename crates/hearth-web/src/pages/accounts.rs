//! Sign in, register and sign out, as pages.

use crate::WebState;
use crate::api::{device_cookie, session_cookie};
use crate::extract::{ClientAddress, OverHttps, cookie};
use crate::pages::{Layout, PageError, TokenOnly, Visitor, render, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_app::NewAccount;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    layout: Layout,
    login: String,
    error: Option<String>,
    /// The identity provider's name, when one is offered.
    provider: Option<String>,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    layout: Layout,
    email: String,
    username: String,
    display_name: String,
    registered: bool,
    error: Option<String>,
    /// What the form collects, and why (the notice at collection).
    notice: crate::pages::CollectionNotice,
}

/// What registering stores: the account, its confirmation link, and the record of it.
const REGISTER_TABLES: &[&str] = &["users", "account_links", "audit_log"];

/// `GET /sign-in`.
pub(crate) async fn sign_in_page(State(state): State<WebState>, visitor: Visitor) -> Response {
    if visitor.signed_in.is_some() {
        return see_other("/communities");
    }
    let page = SignInPage {
        layout: Layout::new("Sign in", &visitor),
        login: String::new(),
        error: None,
        provider: state.app.oidc_name().map(str::to_string),
    };
    with_provider_form(&state, render(&page, &visitor)).await
}

/// A sign-in page whose form may lead on to the identity provider: the redirect that answers
/// "Sign in with ..." goes to the provider's site, which the page's `form-action` must name.
async fn with_provider_form(state: &WebState, mut response: Response) -> Response {
    if let Some(origin) = state.app.oidc_origin().await
        && let Some(policy) = response
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
        && let Ok(value) = HeaderValue::from_str(&policy.replace(
            "form-action 'self'",
            &format!("form-action 'self' {origin}"),
        ))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

#[derive(Deserialize)]
pub(crate) struct SignInForm {
    form_token: String,
    login: String,
    password: String,
}

/// `POST /sign-in`: starts a session and goes to the person's communities.
pub(crate) async fn sign_in(
    State(state): State<WebState>,
    visitor: Visitor,
    ClientAddress(address): ClientAddress,
    OverHttps(https): OverHttps,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    // Signing in again ends the session this browser had, rather than leaving it behind.
    if let Some(previous) = &visitor.signed_in {
        state.app.sign_out(&previous.actor).await?;
    }
    let from = crate::extract::sign_in_from(address, &headers);
    match state
        .app
        .sign_in(&form.login, form.password, &from, None)
        .await
    {
        Ok(signed_in) => signed_in_response(&state, &headers, &signed_in, https).await,
        Err(hearth_app::AppError::SecondFactorRequired(challenge)) => {
            // The checked password waits in a cookie for the code, on this page only.
            code_page_with_challenge(&visitor, &challenge, https)
        }
        Err(error) => {
            let problem = ApiError::from(error);
            let page = SignInPage {
                layout: Layout::new("Sign in", &visitor),
                login: form.login,
                error: Some(form_error(&problem)),
                provider: state.app.oidc_name().map(str::to_string),
            };
            Ok(with_provider_form(
                &state,
                render_with_status(problem.status(), &page, &visitor),
            )
            .await)
        }
    }
}

/// The cookie that holds a checked password's challenge while the code is asked for.
const CHALLENGE_COOKIE: &str = "hearth_challenge";

#[derive(Template)]
#[template(path = "sign_in_code.html")]
struct CodePage {
    layout: Layout,
    error: Option<String>,
}

/// Where a sign-in leads: the person's communities, with the session and device cookies (and
/// the challenge cookie, if any, cleared).
async fn signed_in_response(
    state: &WebState,
    headers: &HeaderMap,
    signed_in: &hearth_app::SignedIn,
    https: bool,
) -> Result<Response, PageError> {
    // Privacy choices made in this browser before signing in are the account's now.
    let carried =
        crate::pages::choices::carry_into_account(state, headers, signed_in.account.id, https)
            .await;
    let mut response = see_other("/communities");
    let cookies = response.headers_mut();
    if let Some(clear) = carried {
        cookies.append(header::SET_COOKIE, clear);
    }
    cookies.append(header::SET_COOKIE, session_cookie(signed_in, https)?);
    cookies.append(header::SET_COOKIE, device_cookie(signed_in, https)?);
    cookies.append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "hearth_challenge=; Path=/sign-in; Max-Age=0; HttpOnly; SameSite=Strict",
        ),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    form_token: String,
    code: String,
}

/// `POST /sign-in/code`: the second factor of a sign-in whose password was checked.
pub(crate) async fn sign_in_code(
    State(state): State<WebState>,
    visitor: Visitor,
    ClientAddress(address): ClientAddress,
    OverHttps(https): OverHttps,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let Some(challenge) = cookie(&headers, CHALLENGE_COOKIE) else {
        // The wait ran out, or the browser never had the password checked.
        return Ok(see_other("/sign-in"));
    };
    let from = crate::extract::sign_in_from(address, &headers);
    let challenge = hearth_app::SecondFactorChallenge(challenge);
    match state
        .app
        .sign_in_with_code(&challenge, &form.code, &from)
        .await
    {
        Ok(signed_in) => signed_in_response(&state, &headers, &signed_in, https).await,
        Err(error) => {
            let problem = ApiError::from(error);
            let page = CodePage {
                layout: Layout::new("Two-factor sign-in", &visitor),
                error: Some(form_error(&problem)),
            };
            Ok(render_with_status(problem.status(), &page, &visitor))
        }
    }
}

/// The cookie that keeps a sign-in with the identity provider while the browser is there.
const OIDC_COOKIE: &str = "hearth_oidc";

/// `POST /sign-in/oidc`: off to the identity provider. A form of this site's, not a link:
/// another site cannot send a browser through single sign-on into an account here.
pub(crate) async fn oidc_start(
    State(state): State<WebState>,
    visitor: Visitor,
    ClientAddress(address): ClientAddress,
    OverHttps(https): OverHttps,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let start = state.app.oidc_start(address).await?;
    let mut response = see_other(&start.redirect_to);
    // Lax, not Strict: the provider sends the browser back with a top-level navigation from
    // its own site, which must carry the cookie.
    let value = format!(
        "{OIDC_COOKIE}={}; Path=/sign-in/oidc; Max-Age=600; HttpOnly; SameSite=Lax{}",
        start.cookie,
        if https { "; Secure" } else { "" }
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&value).map_err(|_| PageError::internal())?,
    );
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct OidcReturn {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: Option<String>,
}

/// `GET /sign-in/oidc/callback`: the provider's answer; a session, the code page, or the
/// sign-in page saying why not.
pub(crate) async fn oidc_callback(
    State(state): State<WebState>,
    visitor: Visitor,
    ClientAddress(address): ClientAddress,
    OverHttps(https): OverHttps,
    headers: HeaderMap,
    axum::extract::Query(answer): axum::extract::Query<OidcReturn>,
) -> Result<Response, PageError> {
    let from = crate::extract::sign_in_from(address, &headers);
    let result = match (cookie(&headers, OIDC_COOKIE), answer.error) {
        (_, Some(_)) => Err(hearth_core::DomainError::Forbidden(
            "the identity provider did not sign you in",
        )
        .into()),
        (None, None) => Err(hearth_core::DomainError::Forbidden(
            "the sign-in took too long or came from elsewhere: start again",
        )
        .into()),
        (Some(kept), None) => {
            state
                .app
                .oidc_finish(&kept, &answer.state, &answer.code, &from)
                .await
        }
    };
    let mut response = match result {
        Ok(signed_in) => signed_in_response(&state, &headers, &signed_in, https).await?,
        Err(hearth_app::AppError::SecondFactorRequired(challenge)) => {
            code_page_with_challenge(&visitor, &challenge, https)?
        }
        Err(error) => {
            let problem = ApiError::from(error);
            let page = SignInPage {
                layout: Layout::new("Sign in", &visitor),
                login: String::new(),
                error: Some(form_error(&problem)),
                provider: state.app.oidc_name().map(str::to_string),
            };
            with_provider_form(
                &state,
                render_with_status(problem.status(), &page, &visitor),
            )
            .await
        }
    };
    // The state is used up, whatever came of it.
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "hearth_oidc=; Path=/sign-in/oidc; Max-Age=0; HttpOnly; SameSite=Lax",
        ),
    );
    Ok(response)
}

/// The page that asks for the second factor, with the challenge cookie that waits for it.
fn code_page_with_challenge(
    visitor: &Visitor,
    challenge: &hearth_app::SecondFactorChallenge,
    https: bool,
) -> Result<Response, PageError> {
    let page = CodePage {
        layout: Layout::new("Two-factor sign-in", visitor),
        error: None,
    };
    let mut response = render_with_status(StatusCode::OK, &page, visitor);
    let value = format!(
        "{CHALLENGE_COOKIE}={}; Path=/sign-in; Max-Age=300; HttpOnly; SameSite=Strict{}",
        challenge.0,
        if https { "; Secure" } else { "" }
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&value).map_err(|_| PageError::internal())?,
    );
    Ok(response)
}

/// `GET /register`.
pub(crate) async fn register_page(visitor: Visitor) -> Response {
    if visitor.signed_in.is_some() {
        return see_other("/communities");
    }
    let page = RegisterPage {
        layout: Layout::new("Create an account", &visitor),
        email: String::new(),
        username: String::new(),
        display_name: String::new(),
        registered: false,
        error: None,
        notice: crate::pages::collection_notice((REGISTER_TABLES, &[]), &[], None, false),
    };
    render(&page, &visitor)
}

#[derive(Deserialize)]
pub(crate) struct RegisterForm {
    form_token: String,
    email: String,
    username: String,
    display_name: String,
    password: String,
}

/// `POST /register`: the same answer whether or not the email address already had an
/// account (see `App::register`).
pub(crate) async fn register(
    State(state): State<WebState>,
    visitor: Visitor,
    ClientAddress(address): ClientAddress,
    Form(form): Form<RegisterForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let input = NewAccount {
        email: form.email.clone(),
        username: form.username.clone(),
        display_name: form.display_name.clone(),
        password: form.password,
    };
    let (status, registered, error) = match state.app.register(input, address).await {
        Ok(_) => (StatusCode::OK, true, None),
        Err(error) => {
            let problem = ApiError::from(error);
            (problem.status(), false, Some(form_error(&problem)))
        }
    };
    let page = RegisterPage {
        layout: Layout::new("Create an account", &visitor),
        email: form.email,
        username: form.username,
        display_name: form.display_name,
        registered,
        error,
        notice: crate::pages::collection_notice((REGISTER_TABLES, &[]), &[], None, false),
    };
    Ok(render_with_status(status, &page, &visitor))
}

/// `POST /sign-out`: ends the session and forgets the cookie.
pub(crate) async fn sign_out(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    if let Some(signed_in) = &visitor.signed_in {
        state.app.sign_out(&signed_in.actor).await?;
    }
    let mut response = see_other("/").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        axum::http::HeaderValue::from_static(
            "hearth_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
        ),
    );
    Ok(response)
}

/// A refusal said in a sentence for the form.
pub(crate) fn form_error(problem: &ApiError) -> String {
    match (problem.detail_text(), problem.retry_after()) {
        (Some(detail), _) if problem.field().is_some() => capitalised(detail),
        (_, Some(secs)) => format!("Too many attempts: try again in {secs} seconds."),
        (Some(detail), None) => format!("{}: {detail}.", problem.title()),
        (None, None) => format!("{}.", problem.title()),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}
