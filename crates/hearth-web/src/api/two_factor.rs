//! `/api/v1/me/two-factor`: setting up, using and turning off two-factor sign-in.

use crate::WebState;
use crate::extract::{ApiJson, Authed};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(status, begin))
        .routes(routes!(confirm))
        .routes(routes!(disable))
        .routes(routes!(renew_codes))
}

/// Where the caller's two-factor sign-in stands.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StatusView {
    /// Whether signing in asks for a code.
    enabled: bool,
    /// Unused recovery codes left.
    recovery_codes_left: i64,
}

/// Whether the caller's sign-in asks for a second factor.
#[utoipa::path(get, path = "/api/v1/me/two-factor", tag = "accounts",
    responses((status = 200, body = StatusView), (status = 401, body = Problem)))]
async fn status(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<Json<StatusView>, ApiError> {
    let status = state.app.two_factor_status(&actor).await?;
    Ok(Json(StatusView {
        enabled: status.enabled,
        recovery_codes_left: status.recovery_codes_left,
    }))
}

/// The caller's password.
#[derive(Deserialize, ToSchema)]
pub(crate) struct PasswordRequest {
    #[schema(max_length = 1024)]
    password: String,
}

/// What to give the authenticator app.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SetupView {
    /// The seed in base32, to type in by hand.
    secret: String,
    /// The `otpauth://totp/...` URL (what the settings page's QR code carries).
    otpauth_url: String,
}

/// Start setting up two-factor sign-in: a new seed for the authenticator, which guards
/// nothing until a code from it is confirmed. Starting again replaces an unconfirmed seed.
#[utoipa::path(post, path = "/api/v1/me/two-factor", tag = "accounts",
    request_body = PasswordRequest,
    responses((status = 201, body = SetupView), (status = 401, body = Problem),
              (status = 409, body = Problem, description = "two-factor sign-in is already on"),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn begin(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<PasswordRequest>,
) -> Result<(StatusCode, Json<SetupView>), ApiError> {
    let setup = state.app.begin_two_factor(&actor, body.password).await?;
    Ok((
        StatusCode::CREATED,
        Json(SetupView {
            secret: setup.secret,
            otpauth_url: setup.otpauth_url,
        }),
    ))
}

/// A code from the authenticator app.
#[derive(Deserialize, ToSchema)]
pub(crate) struct CodeRequest {
    #[schema(max_length = 64)]
    code: String,
}

/// Recovery codes, shown this once: each signs in once in place of the authenticator.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecoveryCodesView {
    recovery_codes: Vec<String>,
}

/// Confirm the setup with the authenticator's current code: two-factor sign-in is on from
/// now, and ten recovery codes are returned.
#[utoipa::path(post, path = "/api/v1/me/two-factor/confirm", tag = "accounts",
    request_body = CodeRequest,
    responses((status = 200, body = RecoveryCodesView), (status = 401, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn confirm(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<Json<RecoveryCodesView>, ApiError> {
    let recovery_codes = state.app.confirm_two_factor(&actor, &body.code).await?;
    Ok(Json(RecoveryCodesView { recovery_codes }))
}

/// The password and a second factor.
#[derive(Deserialize, ToSchema)]
pub(crate) struct PasswordAndCodeRequest {
    #[schema(max_length = 1024)]
    password: String,
    /// The authenticator's current code, or an unused recovery code.
    #[schema(max_length = 64)]
    code: String,
}

/// Turn two-factor sign-in off: needs the password and a code.
#[utoipa::path(post, path = "/api/v1/me/two-factor/disable", tag = "accounts",
    request_body = PasswordAndCodeRequest,
    responses((status = 204), (status = 401, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn disable(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<PasswordAndCodeRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .disable_two_factor(&actor, body.password, &body.code)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace the recovery codes with ten new ones: needs the password and a code.
#[utoipa::path(post, path = "/api/v1/me/two-factor/recovery-codes", tag = "accounts",
    request_body = PasswordAndCodeRequest,
    responses((status = 200, body = RecoveryCodesView), (status = 401, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem),
              (status = 429, body = Problem)))]
async fn renew_codes(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<PasswordAndCodeRequest>,
) -> Result<Json<RecoveryCodesView>, ApiError> {
    let recovery_codes = state
        .app
        .renew_recovery_codes(&actor, body.password, &body.code)
        .await?;
    Ok(Json(RecoveryCodesView { recovery_codes }))
}
