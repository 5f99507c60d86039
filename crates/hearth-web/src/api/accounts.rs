//! `/api/v1/accounts`, `/sessions` and `/me`.

use crate::WebState;
use crate::api::paging::BeforePage;
use crate::extract::{
    ApiJson, ApiPath, ApiQuery, Authed, ClientAddress, DEVICE_COOKIE, OverHttps, SESSION_COOKIE,
};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use hearth_app::NewAccount;
use hearth_core::model::{Account, ApiToken, SessionInfo};
use hearth_core::{Timestamp, TokenId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(sign_in))
        .routes(routes!(sign_out))
        .routes(routes!(me, rename))
        .routes(routes!(change_password))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_sessions, end_other_sessions))
        .routes(routes!(end_session))
}

/// Registration form.
#[derive(Deserialize, ToSchema)]
pub(crate) struct RegisterRequest {
    #[schema(format = Email, min_length = 3, max_length = 254)]
    email: String,
    /// Letters, digits, `_`, `.` and `-`, starting with a letter or digit; stored lowercase.
    #[schema(
        min_length = 3,
        max_length = 32,
        pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]*$"
    )]
    username: String,
    #[schema(min_length = 1, max_length = 80)]
    display_name: String,
    #[schema(min_length = 10, max_length = 1024)]
    password: String,
}

/// What registration answers. It is the same whether or not the email address already
/// belonged to an account (in which case nothing was created), so the form cannot be used to
/// find out who has an account here; sign in to continue.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegistrationView {
    /// The handle registered.
    username: String,
    /// What to do next.
    detail: &'static str,
}

/// Register an account. A taken username is a 409; a taken email address is not revealed.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", security(()),
    request_body = RegisterRequest,
    responses((status = 202, body = RegistrationView), (status = 403, body = Problem),
              (status = 409, body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn register(
    State(state): State<WebState>,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<RegistrationView>), ApiError> {
    let registration = state
        .app
        .register(
            NewAccount {
                email: body.email,
                username: body.username,
                display_name: body.display_name,
                password: body.password,
            },
            address,
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RegistrationView {
            username: registration.username,
            detail: "Registration received: we mailed a link to confirm the address. Sign \
                     in with your username and password; if the email address already had an \
                     account here, none was created and its owner was told.",
        }),
    ))
}

/// Sign-in form.
#[derive(Deserialize, ToSchema)]
pub(crate) struct SignInRequest {
    /// Username or email.
    #[schema(min_length = 1, max_length = 254)]
    login: String,
    password: String,
    /// For an account with two-factor sign-in: the current code from its authenticator app,
    /// or one of its recovery codes. Without it such an account is answered
    /// `401 two-factor-required`.
    #[schema(max_length = 64)]
    code: Option<String>,
}

/// A started session.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionView {
    account: Account,
    expires_at: Timestamp,
}

/// Sign in; the session travels in an HttpOnly cookie.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts", security(()),
    request_body = SignInRequest,
    responses((status = 201, body = SessionView, headers(("set-cookie" = String))),
              (status = 401, body = Problem), (status = 429, body = Problem)))]
async fn sign_in(
    State(state): State<WebState>,
    ClientAddress(address): ClientAddress,
    OverHttps(https): OverHttps,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignInRequest>,
) -> Result<(StatusCode, HeaderMap, Json<SessionView>), ApiError> {
    let from = crate::extract::sign_in_from(address, &headers);
    let signed_in = state
        .app
        .sign_in(&body.login, body.password, &from, body.code.as_deref())
        .await?;
    let mut headers = HeaderMap::new();
    headers.append(header::SET_COOKIE, session_cookie(&signed_in, https)?);
    headers.append(header::SET_COOKIE, device_cookie(&signed_in, https)?);
    Ok((
        StatusCode::CREATED,
        headers,
        Json(SessionView {
            account: signed_in.account,
            expires_at: signed_in.expires_at,
        }),
    ))
}

/// The session cookie for a sign-in.
pub(crate) fn session_cookie(
    signed_in: &hearth_app::SignedIn,
    https: bool,
) -> Result<HeaderValue, ApiError> {
    let max_age = (signed_in.expires_at.0 - Timestamp::now().0) / 1000;
    cookie_header(&format!(
        "{SESSION_COOKIE}={}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        signed_in.session_secret,
        if https { "; Secure" } else { "" }
    ))
}

/// The device cookie for a sign-in. It outlives sign-out on purpose: it says "this browser
/// signed in here before", nothing more.
pub(crate) fn device_cookie(
    signed_in: &hearth_app::SignedIn,
    https: bool,
) -> Result<HeaderValue, ApiError> {
    let max_age = (signed_in.device_expires_at.0 - Timestamp::now().0) / 1000;
    cookie_header(&format!(
        "{DEVICE_COOKIE}={}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        signed_in.device_secret,
        if https { "; Secure" } else { "" }
    ))
}

fn cookie_header(value: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(value).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        )
    })
}

/// Sign out of the current session.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "accounts",
    responses((status = 204), (status = 401, body = Problem),
              (status = 422, body = Problem,
               description = "signed in with an API token, which is revoked instead")))]
async fn sign_out(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<(StatusCode, HeaderMap), ApiError> {
    state.app.sign_out(&actor).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_static("hearth_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
    );
    Ok((StatusCode::NO_CONTENT, headers))
}

/// The caller's account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = Account), (status = 401, body = Problem)))]
async fn me(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<Json<Account>, ApiError> {
    Ok(Json(state.app.me(&actor).await?))
}

/// Changes to the caller's profile; a field left out stays as it is.
#[derive(Deserialize, ToSchema)]
pub(crate) struct RenameRequest {
    /// The name shown to others.
    #[schema(min_length = 1, max_length = 100)]
    display_name: Option<String>,
    /// What they say about themself (empty to clear).
    #[schema(max_length = 1000)]
    about: Option<String>,
}

/// Change the caller's shown name or about text.
#[utoipa::path(patch, path = "/api/v1/me", tag = "accounts", request_body = RenameRequest,
    responses((status = 200, body = Account), (status = 401, body = Problem),
              (status = 422, body = Problem)))]
async fn rename(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<RenameRequest>,
) -> Result<Json<Account>, ApiError> {
    Ok(Json(
        state
            .app
            .update_profile(&actor, body.display_name.as_deref(), body.about.as_deref())
            .await?,
    ))
}

/// Password change form.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ChangePasswordRequest {
    current_password: String,
    #[schema(min_length = 10, max_length = 1024)]
    new_password: String,
    /// Also revoke every API token (default: yes, since a password is usually changed
    /// because something leaked).
    #[serde(default = "revoke_by_default")]
    revoke_tokens: bool,
}

fn revoke_by_default() -> bool {
    true
}

/// Change the caller's password; their other sessions end, and their API tokens are revoked
/// unless `revoke_tokens` is false.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "accounts",
    request_body = ChangePasswordRequest,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem),
              (status = 429, body = Problem)))]
async fn change_password(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .change_password(
            &actor,
            body.current_password,
            body.new_password,
            body.revoke_tokens,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's signed-in sessions, most recently used first; `current` marks the one
/// making the request.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "accounts",
    responses((status = 200, body = Vec<SessionInfo>)))]
async fn list_sessions(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<SessionInfo>>, ApiError> {
    Ok(Json(state.app.sessions(&actor).await?))
}

/// How many sessions were signed out.
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionsEnded {
    ended: u64,
}

/// Sign out everywhere else: every session but the one making the request (every session,
/// when the request comes with an API token).
#[utoipa::path(delete, path = "/api/v1/me/sessions", tag = "accounts",
    responses((status = 200, body = SessionsEnded)))]
async fn end_other_sessions(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<Json<SessionsEnded>, ApiError> {
    let ended = state.app.end_other_sessions(&actor).await?;
    Ok(Json(SessionsEnded { ended }))
}

/// Sign out one of the caller's sessions.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{session_id}", tag = "accounts",
    params(("session_id" = String, Path, description = "an `id` from the list")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn end_session(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.app.end_session(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of the caller's API tokens, revoked ones included, newest first (secrets are never
/// shown again).
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "accounts", params(BeforePage),
    responses((status = 200, body = Vec<ApiToken>)))]
async fn list_tokens(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiQuery(page): ApiQuery<BeforePage>,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    let before = page.before.map(TokenId);
    Ok(Json(state.app.tokens(&actor, before, page.size()?).await?))
}

/// A token to create.
#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateTokenRequest {
    /// A label to recognise it by.
    #[schema(min_length = 1, max_length = 80)]
    name: String,
}

/// A new token with its secret, shown this once.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedToken {
    token: ApiToken,
    /// Send as `Authorization: Bearer <secret>`.
    secret: String,
}

/// Create a personal API token; one holds at most 100 unrevoked ones.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "accounts",
    request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedToken), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
async fn create_token(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let (token, secret) = state.app.create_token(&actor, &body.name).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })))
}

/// Revoke one of the caller's API tokens.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{token_id}", tag = "accounts",
    params(("token_id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn revoke_token(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(token_id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state.app.revoke_token(&actor, TokenId(token_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
