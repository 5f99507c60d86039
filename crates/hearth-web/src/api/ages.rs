//! A community's age policy through the API: the ages it admits and how it asks, read by whoever
//! may join and set by its admins.

use crate::WebState;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed, MaybeAuthed};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use hearth_app::AgePolicy;
use hearth_core::CommunityId;
use hearth_core::ages::{AgeQuestion, minimum_age};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new().routes(routes!(policy, set_policy))
}

/// The ages a community admits, and how it asks.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct AgePolicyView {
    /// `none` (it does not ask), `birth_date` or `bracket` (the age group).
    age_question: String,
    /// The youngest age admitted: 13, 16 or 18; 0 admits children under 13 with a parent's
    /// consent. Members aged 13 to 15 consent themselves, and are opted out of sale and
    /// sharing unless they opt in.
    #[schema(minimum = 0, maximum = 18)]
    minimum_age: i64,
}

impl From<AgePolicy> for AgePolicyView {
    fn from(policy: AgePolicy) -> Self {
        Self {
            age_question: policy.question.code().into(),
            minimum_age: i64::from(policy.minimum_age),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct InviteQuery {
    /// An invitation to an invitation-only community: its holder reads the policy before
    /// joining.
    invite: Option<String>,
}

/// A community's age policy: for anyone about an open community, its members, or the holder
/// of an invitation to it.
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/age-policy",
    tag = "communities", params(("community_id" = i64, Path), InviteQuery),
    responses((status = 200, body = AgePolicyView), (status = 400, body = Problem),
              (status = 404, body = Problem)))]
async fn policy(
    State(state): State<WebState>,
    MaybeAuthed(actor): MaybeAuthed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<InviteQuery>,
) -> Result<Json<AgePolicyView>, ApiError> {
    let policy = state
        .app
        .age_policy(actor.as_ref(), CommunityId(id), query.invite.as_deref())
        .await?;
    Ok(Json(policy.into()))
}

/// Set the ages a community admits and how it asks (admins). It applies to those who join
/// from now on.
#[utoipa::path(put, path = "/api/v1/communities/{community_id}/age-policy",
    tag = "communities", params(("community_id" = i64, Path)), request_body = AgePolicyView,
    responses((status = 200, body = AgePolicyView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn set_policy(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<AgePolicyView>,
) -> Result<Json<AgePolicyView>, ApiError> {
    let policy = AgePolicy {
        question: AgeQuestion::parse(&body.age_question)?,
        minimum_age: minimum_age(body.minimum_age)?,
    };
    let policy = state
        .app
        .set_age_policy(&actor, CommunityId(id), policy)
        .await?;
    Ok(Json(policy.into()))
}
