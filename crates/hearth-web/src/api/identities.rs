//! `/api/v1/me/identities`: the identity providers an account is linked to.

use crate::WebState;
use crate::extract::Authed;
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hearth_core::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new().routes(routes!(list, unlink))
}

/// A link to an identity provider.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IdentityView {
    /// The provider's issuer URL.
    issuer: String,
    /// When the account was linked.
    linked_at: Timestamp,
}

/// The identity providers signing in through which signs in to this account.
#[utoipa::path(get, path = "/api/v1/me/identities", tag = "accounts",
    responses((status = 200, body = [IdentityView]), (status = 401, body = Problem)))]
async fn list(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<IdentityView>>, ApiError> {
    let linked = state.app.linked_identities(&actor).await?;
    Ok(Json(
        linked
            .into_iter()
            .map(|(issuer, linked_at)| IdentityView { issuer, linked_at })
            .collect(),
    ))
}

/// Unlink the account from its identity providers.
#[utoipa::path(delete, path = "/api/v1/me/identities", tag = "accounts",
    responses((status = 204), (status = 401, body = Problem),
              (status = 404, body = Problem, description = "the account is linked to none")))]
async fn unlink(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<StatusCode, ApiError> {
    state.app.unlink_identities(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
