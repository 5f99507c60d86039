//! `/api/v1/communities` and `/api/v1/invites`.

use crate::WebState;
use crate::api::paging::{AfterPage, BeforePage};
use crate::api::profiles::{AnswerMap, answers};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed, OptionalApiJson};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hearth_app::{AgeAnswer, CommunitySettings, Joining, NewCommunity, NewInvite};
use hearth_core::model::{Community, Invite, JoinPolicy, Membership, Role};
use hearth_core::{CommunityId, InviteId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(my_communities, create_community))
        .routes(routes!(directory))
        .routes(routes!(get_community, update_community))
        .routes(routes!(join_community))
        .routes(routes!(leave_community))
        .routes(routes!(list_members))
        .routes(routes!(remove_member))
        .routes(routes!(set_role))
        .routes(routes!(transfer_ownership))
        .routes(routes!(list_invites, create_invite))
        .routes(routes!(revoke_invite))
        .routes(routes!(accept_invite))
}

/// A community with the caller's role in it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CommunityView {
    #[serde(flatten)]
    community: Community,
    /// The caller's role; absent when they are not a member.
    role: Option<Role>,
}

/// A page of the communities the caller belongs to, by id.
#[utoipa::path(get, path = "/api/v1/communities", tag = "communities", params(AfterPage),
    responses((status = 200, body = Vec<CommunityView>)))]
async fn my_communities(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiQuery(page): ApiQuery<AfterPage>,
) -> Result<Json<Vec<CommunityView>>, ApiError> {
    let after = page.after.map(CommunityId);
    let list = state
        .app
        .my_communities(&actor, after, page.size()?)
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|(community, role)| CommunityView {
                community,
                role: Some(role),
            })
            .collect(),
    ))
}

/// A community to create.
#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateCommunityRequest {
    /// URL-safe unique name: letters, digits and `-`, not starting with `-`; stored
    /// lowercase.
    #[schema(
        min_length = 2,
        max_length = 40,
        pattern = "^[A-Za-z0-9][A-Za-z0-9-]*$"
    )]
    slug: String,
    #[schema(min_length = 1, max_length = 80)]
    name: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    description: String,
    /// Defaults to `open`.
    join_policy: Option<JoinPolicy>,
    /// The ids of the legal terms in force (`GET /api/v1/terms`), accepted for the community:
    /// every one of them, once the operator has published any.
    #[serde(default)]
    #[schema(max_items = 10)]
    accept_terms: Vec<i64>,
}

/// Create a community; the caller becomes its owner.
#[utoipa::path(post, path = "/api/v1/communities", tag = "communities",
    request_body = CreateCommunityRequest,
    responses((status = 201, body = CommunityView), (status = 403, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_community(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<CreateCommunityRequest>,
) -> Result<(StatusCode, Json<CommunityView>), ApiError> {
    let community = state
        .app
        .create_community(
            &actor,
            NewCommunity {
                slug: body.slug,
                name: body.name,
                description: body.description,
                join_policy: body.join_policy.unwrap_or(JoinPolicy::Open),
                accepted_terms: body.accept_terms,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CommunityView {
            community,
            role: Some(Role::Owner),
        }),
    ))
}

/// A page of the open communities anyone may join, by id.
#[utoipa::path(get, path = "/api/v1/communities/directory", tag = "communities",
    params(AfterPage), responses((status = 200, body = Vec<Community>)))]
async fn directory(
    State(state): State<WebState>,
    Authed(_actor): Authed,
    ApiQuery(page): ApiQuery<AfterPage>,
) -> Result<Json<Vec<Community>>, ApiError> {
    Ok(Json(
        state
            .app
            .community_directory(page.after.map(CommunityId), page.size()?)
            .await?,
    ))
}

/// A community the caller belongs to, or an open one.
#[utoipa::path(get, path = "/api/v1/communities/{community_id}", tag = "communities",
    params(("community_id" = i64, Path)),
    responses((status = 200, body = CommunityView), (status = 404, body = Problem)))]
async fn get_community(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CommunityView>, ApiError> {
    let (community, role) = state.app.community(&actor, CommunityId(id)).await?;
    Ok(Json(CommunityView { community, role }))
}

/// Settings to change.
#[derive(Deserialize, ToSchema)]
pub(crate) struct UpdateCommunityRequest {
    #[schema(min_length = 1, max_length = 80)]
    name: Option<String>,
    #[schema(max_length = 1000)]
    description: Option<String>,
    join_policy: Option<JoinPolicy>,
    /// Whether moderators and admins must sign in with a second factor to use their powers
    /// (without it they act as members). Only the owner changes it, and only with two-factor
    /// sign-in on themself.
    require_two_factor: Option<bool>,
}

/// Change a community's settings (admins).
#[utoipa::path(patch, path = "/api/v1/communities/{community_id}", tag = "communities",
    params(("community_id" = i64, Path)), request_body = UpdateCommunityRequest,
    responses((status = 200, body = CommunityView), (status = 403, body = Problem),
              (status = 404, body = Problem),
              (status = 409, body = Problem,
               description = "requiring two-factor sign-in without having it on oneself")))]
async fn update_community(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateCommunityRequest>,
) -> Result<Json<CommunityView>, ApiError> {
    let id = CommunityId(id);
    let community = state
        .app
        .update_community(
            &actor,
            id,
            CommunitySettings {
                name: body.name,
                description: body.description,
                join_policy: body.join_policy,
                require_two_factor: body.require_two_factor,
            },
        )
        .await?;
    let (_, role) = state.app.community(&actor, id).await?;
    Ok(Json(CommunityView { community, role }))
}

/// The caller's new membership, or that a parent's consent is awaited.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Joined {
    /// `joined`, or `awaiting_parent`: the caller said they are under 13, their parent was
    /// mailed a link to consent, and they join (by asking again) once the parent has.
    status: String,
    /// Their role, once joined.
    role: Option<Role>,
}

/// What a joining member tells of their age, where the community asks it (see its
/// `age-policy`). Only the age group is kept, never the birth date; a join refused for age
/// keeps nothing.
#[derive(Deserialize, ToSchema, Default)]
pub(crate) struct AgeBody {
    /// Where the community asks the birth date: `YYYY-MM-DD`.
    #[schema(max_length = 10)]
    birth_date: Option<String>,
    /// Where it asks the age group: `under_13`, `13_15`, `16_17` or `18_plus`.
    #[schema(max_length = 10)]
    age_group: Option<String>,
    /// Aged 13 to 15: `true` to consent to joining (required).
    #[serde(default)]
    consent: bool,
    /// Aged 13 to 15: `true` to allow the sale and sharing of your personal information;
    /// otherwise you are opted out of it.
    #[serde(default)]
    allow_sale: bool,
    /// Under 13, where the community admits children: a parent's email address, mailed a link
    /// to consent.
    #[schema(max_length = 254)]
    parent_email: Option<String>,
}

impl From<AgeBody> for AgeAnswer {
    fn from(body: AgeBody) -> Self {
        AgeAnswer {
            birth_date: body.birth_date,
            age_group: body.age_group,
            consent: body.consent,
            allow_sale: body.allow_sale,
            parent_email: body.parent_email,
        }
    }
}

/// The status a join answers with, and its body.
fn joined(joining: Joining) -> (StatusCode, Json<Joined>) {
    match joining {
        Joining::Joined => (
            StatusCode::CREATED,
            Json(Joined {
                status: "joined".into(),
                role: Some(Role::Member),
            }),
        ),
        Joining::AwaitingParent => (
            StatusCode::ACCEPTED,
            Json(Joined {
                status: "awaiting_parent".into(),
                role: None,
            }),
        ),
    }
}

/// Answers to the community's profile fields, given when joining.
#[derive(Deserialize, ToSchema)]
pub(crate) struct JoinRequest {
    /// Answers by field id (see the community's `profile-fields`); every required field must
    /// be answered, and a required checkbox be `true`.
    #[serde(default)]
    #[schema(value_type = Object)]
    profile: AnswerMap,
    /// The caller's age, where the community asks it.
    #[serde(default)]
    age: AgeBody,
}

/// Join an open community. The body, which may be left out when the community asks no
/// required profile fields, answers them.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/join", tag = "communities",
    params(("community_id" = i64, Path)), request_body = Option<JoinRequest>,
    responses((status = 201, body = Joined), (status = 202, body = Joined),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem),
              (status = 429, body = Problem)))]
async fn join_community(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    OptionalApiJson(body): OptionalApiJson<JoinRequest>,
) -> Result<(StatusCode, Json<Joined>), ApiError> {
    let (profile, age) = body.map(|b| (b.profile, b.age)).unwrap_or_default();
    let given = answers(profile)?;
    let joining = state
        .app
        .join_community(&actor, CommunityId(id), given, age.into())
        .await?;
    Ok(joined(joining))
}

/// Leave a community.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/leave", tag = "communities",
    params(("community_id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn leave_community(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state.app.leave_community(&actor, CommunityId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of a community's members, by user id.
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/members", tag = "communities",
    params(("community_id" = i64, Path), AfterPage),
    responses((status = 200, body = Vec<Membership>), (status = 404, body = Problem)))]
async fn list_members(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<AfterPage>,
) -> Result<Json<Vec<Membership>>, ApiError> {
    Ok(Json(
        state
            .app
            .members(
                &actor,
                CommunityId(id),
                page.after.map(UserId),
                page.size()?,
            )
            .await?,
    ))
}

/// Remove a member (admins; never the owner).
#[utoipa::path(delete, path = "/api/v1/communities/{community_id}/members/{user_id}",
    tag = "communities", params(("community_id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn remove_member(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath((id, user)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .remove_member(&actor, CommunityId(id), UserId(user))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A role to give.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct SetRoleRequest {
    /// `admin`, `moderator` or `member`.
    role: Role,
}

/// Change a member's role (admins, below their own).
#[utoipa::path(put, path = "/api/v1/communities/{community_id}/members/{user_id}/role",
    tag = "communities", params(("community_id" = i64, Path), ("user_id" = i64, Path)),
    request_body = SetRoleRequest,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn set_role(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath((id, user)): ApiPath<(i64, i64)>,
    ApiJson(body): ApiJson<SetRoleRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .set_member_role(&actor, CommunityId(id), UserId(user), body.role)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The member to hand a community to.
#[derive(Deserialize, ToSchema)]
pub(crate) struct TransferRequest {
    /// The new owner, who must be a member.
    user_id: UserId,
}

/// Hand the community to another member (the owner only); the old owner becomes an admin.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/transfer",
    tag = "communities", params(("community_id" = i64, Path)), request_body = TransferRequest,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn transfer_ownership(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<TransferRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .transfer_ownership(&actor, CommunityId(id), body.user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of a community's unrevoked invitations, newest first (admins).
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/invites", tag = "communities",
    params(("community_id" = i64, Path), BeforePage),
    responses((status = 200, body = Vec<Invite>), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn list_invites(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<BeforePage>,
) -> Result<Json<Vec<Invite>>, ApiError> {
    let before = page.before.map(InviteId);
    Ok(Json(
        state
            .app
            .invites(&actor, CommunityId(id), before, page.size()?)
            .await?,
    ))
}

/// An invitation to create.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct CreateInviteRequest {
    /// Seconds until it expires (60 s to a year); never if absent.
    expires_in_secs: Option<i64>,
    /// Joins it allows; unlimited if absent.
    max_uses: Option<i64>,
}

/// Create an invitation link (admins).
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/invites", tag = "communities",
    params(("community_id" = i64, Path)), request_body = CreateInviteRequest,
    responses((status = 201, body = Invite), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
async fn create_invite(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CreateInviteRequest>,
) -> Result<(StatusCode, Json<Invite>), ApiError> {
    let invite = state
        .app
        .create_invite(
            &actor,
            CommunityId(id),
            NewInvite {
                expires_in_secs: body.expires_in_secs,
                max_uses: body.max_uses,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(invite)))
}

/// Revoke an invitation (admins).
#[utoipa::path(delete, path = "/api/v1/communities/{community_id}/invites/{invite_id}",
    tag = "communities", params(("community_id" = i64, Path), ("invite_id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn revoke_invite(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath((id, invite)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .revoke_invite(&actor, CommunityId(id), InviteId(invite))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An invitation code to redeem.
#[derive(Deserialize, ToSchema)]
pub(crate) struct AcceptInviteRequest {
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]+$")]
    code: String,
    /// Answers to the community's profile fields, by field id, as when joining.
    #[serde(default)]
    #[schema(value_type = Object)]
    profile: AnswerMap,
    /// The caller's age, where the community asks it.
    #[serde(default)]
    age: AgeBody,
}

/// Join a community with an invitation code. 202 (no role) when the caller is under 13 and
/// their parent was mailed a link to consent: the invitation is used once they join.
#[utoipa::path(post, path = "/api/v1/invites/accept", tag = "communities",
    request_body = AcceptInviteRequest,
    responses((status = 201, body = CommunityView), (status = 202, body = CommunityView),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem),
              (status = 429, body = Problem)))]
async fn accept_invite(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<AcceptInviteRequest>,
) -> Result<(StatusCode, Json<CommunityView>), ApiError> {
    let given = answers(body.profile)?;
    let (community, joining) = state
        .app
        .accept_invite(&actor, &body.code, given, body.age.into())
        .await?;
    let (status, role) = match joining {
        Joining::Joined => (StatusCode::CREATED, Some(Role::Member)),
        Joining::AwaitingParent => (StatusCode::ACCEPTED, None),
    };
    Ok((status, Json(CommunityView { community, role })))
}
