//! What mailed links do, through the API: confirming an address, changing it, and resetting
//! a forgotten password.

use crate::WebState;
use crate::extract::{ApiJson, Authed, ClientAddress};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hearth_app::Confirmed;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(change_email))
        .routes(routes!(cancel_email_change))
        .routes(routes!(resend_confirmation))
        .routes(routes!(confirm_email))
        .routes(routes!(request_reset))
        .routes(routes!(complete_reset))
}

/// What was done, in a sentence.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Accepted {
    /// What happens next.
    detail: &'static str,
}

/// A new address for the caller's account.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ChangeEmailRequest {
    #[schema(format = Email, min_length = 3, max_length = 254)]
    email: String,
    /// The caller's current password.
    password: String,
}

/// Ask to move the caller's account to another address. A link goes to the new address; the
/// account keeps its address until the link is used, and the old address is told then.
#[utoipa::path(put, path = "/api/v1/me/email", tag = "accounts",
    request_body = ChangeEmailRequest,
    responses((status = 202, body = Accepted), (status = 401, body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn change_email(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<ChangeEmailRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    state
        .app
        .request_email_change(&actor, &body.email, body.password)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            detail: "We mailed a link to the new address: your account moves there once the \
                     link is used.",
        }),
    ))
}

/// Cancel the caller's pending change of address: the link mailed for it stops working.
/// (Changing the password, a reset, and signing out everywhere else cancel it too.)
#[utoipa::path(delete, path = "/api/v1/me/email/pending", tag = "accounts",
    responses((status = 204), (status = 401, body = Problem),
              (status = 404, body = Problem, description = "no change is pending")))]
async fn cancel_email_change(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<StatusCode, ApiError> {
    state.app.cancel_email_change(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mail the caller a new link confirming their address (or the one they asked to move to);
/// one a minute at most.
#[utoipa::path(post, path = "/api/v1/me/email/confirmation", tag = "accounts",
    responses((status = 202, body = Accepted), (status = 401, body = Problem),
              (status = 409, body = Problem, description = "the address is already confirmed"),
              (status = 429, body = Problem)))]
async fn resend_confirmation(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    state.app.resend_confirmation(&actor).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            detail: "We mailed you a new link.",
        }),
    ))
}

/// A mailed link's secret.
#[derive(Deserialize, ToSchema)]
pub(crate) struct LinkToken {
    /// The `token` parameter of the mailed link.
    #[schema(min_length = 1, max_length = 200)]
    token: String,
}

/// What a confirmation link did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConfirmedView {
    /// `address`: the account's address is confirmed; `new_address`: the account moved to
    /// the address the link was sent to.
    confirmed: &'static str,
}

/// Use a confirmation link (no sign-in needed: the link is the proof). Unknown, expired and
/// used links all get the same 400.
#[utoipa::path(post, path = "/api/v1/email-confirmations", tag = "accounts", security(()),
    request_body = LinkToken,
    responses((status = 200, body = ConfirmedView), (status = 400, body = Problem),
              (status = 409, body = Problem, description = "another account took the address"),
              (status = 422, body = Problem)))]
async fn confirm_email(
    State(state): State<WebState>,
    ApiJson(body): ApiJson<LinkToken>,
) -> Result<Json<ConfirmedView>, ApiError> {
    let confirmed = state.app.confirm_email(&body.token).await?;
    Ok(Json(ConfirmedView {
        confirmed: match confirmed {
            Confirmed::Address => "address",
            Confirmed::NewAddress => "new_address",
        },
    }))
}

/// Whose password to reset.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ResetRequest {
    #[schema(format = Email, min_length = 3, max_length = 254)]
    email: String,
}

/// Ask for a password reset link. The answer is the same whether or not an account has the
/// address; the link works once, for an hour.
#[utoipa::path(post, path = "/api/v1/password-reset", tag = "accounts", security(()),
    request_body = ResetRequest,
    responses((status = 202, body = Accepted), (status = 422, body = Problem),
              (status = 429, body = Problem)))]
async fn request_reset(
    State(state): State<WebState>,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    state
        .app
        .request_password_reset(&body.email, address)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            detail: "If an account here uses that address, we mailed it a link to choose a \
                     new password. The link works once, for an hour.",
        }),
    ))
}

/// A reset link's secret and the new password.
#[derive(Deserialize, ToSchema)]
pub(crate) struct CompleteResetRequest {
    /// The `token` parameter of the mailed link.
    #[schema(min_length = 1, max_length = 200)]
    token: String,
    #[schema(min_length = 10, max_length = 1024)]
    password: String,
}

/// Set a new password with a reset link. Every session and API token of the account ends.
/// Unknown, expired and used links all get the same 400.
#[utoipa::path(post, path = "/api/v1/password-reset/complete", tag = "accounts",
    security(()), request_body = CompleteResetRequest,
    responses((status = 204), (status = 400, body = Problem), (status = 422, body = Problem),
              (status = 429, body = Problem)))]
async fn complete_reset(
    State(state): State<WebState>,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<CompleteResetRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .reset_password(&body.token, body.password, address)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
