//! Profiles: `/api/v1/users/{id}` and its picture, `/api/v1/me/avatar`, a community's custom
//! profile fields and its members' answers.

use crate::WebState;
use crate::api::uploads::{file_response, read_body};
use crate::extract::{ApiJson, ApiPath, Authed};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use hearth_app::Answers;
use hearth_core::catalog::Category;
use hearth_core::model::{Account, Profile};
use hearth_core::profile::{self, FieldKind, FieldVisibility, ProfileAnswer, ProfileField};
use hearth_core::{CommunityId, DomainError, ProfileFieldId, UserId};
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(get_user))
        .routes(routes!(get_avatar))
        .routes(routes!(set_avatar, remove_avatar))
        .routes(routes!(list_fields, create_field))
        .routes(routes!(update_field, delete_field))
        .routes(routes!(member_answers))
        .routes(routes!(set_my_answers))
}

/// An answer to a profile field: text (a date as `YYYY-MM-DD`, a choice as one of the
/// field's choices) or, for a checkbox, a boolean. An empty text or `false` clears it.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum AnswerValue {
    /// A checkbox.
    Flag(bool),
    /// Anything else.
    Text(String),
}

/// Answers to a community's profile fields, by field id.
pub(crate) type AnswerMap = BTreeMap<String, AnswerValue>;

/// Turns answers keyed by field id into the app's list; a key that is not an id is refused.
pub(crate) fn answers(map: AnswerMap) -> Result<Answers, ApiError> {
    map.into_iter()
        .map(|(key, value)| {
            let id = key.parse::<i64>().map_err(|_| {
                ApiError::from(hearth_app::AppError::from(DomainError::invalid(
                    "profile",
                    "is keyed by field id",
                )))
            })?;
            let value = match value {
                AnswerValue::Flag(flag) => flag.to_string(),
                AnswerValue::Text(text) => text,
            };
            Ok((ProfileFieldId(id), value))
        })
        .collect()
}

/// Someone the caller shares a community or conversation with: who they are, what they say
/// about themself, and whether they have a picture.
#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "accounts",
    params(("user_id" = i64, Path)),
    responses((status = 200, body = Profile), (status = 404, body = Problem)))]
async fn get_user(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Profile>, ApiError> {
    Ok(Json(state.app.profile(&actor, UserId(id)).await?))
}

/// Someone's picture, to those who may see them.
#[utoipa::path(get, path = "/api/v1/users/{user_id}/avatar", tag = "accounts",
    params(("user_id" = i64, Path)),
    responses((status = 200, description = "The picture", content(
                  (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/gif"),
                  (Vec<u8> = "image/webp"))),
              (status = 404, body = Problem)))]
async fn get_avatar(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    Ok(file_response(state.app.avatar(&actor, UserId(id)).await?))
}

/// Replace the caller's picture. The body is the image (JPEG, PNG, WebP or GIF, at most
/// 2 MiB), its type sniffed from its bytes; its location and camera metadata are cut.
#[utoipa::path(put, path = "/api/v1/me/avatar", tag = "accounts",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Account), (status = 413, body = Problem),
              (status = 415, body = Problem)))]
async fn set_avatar(
    State(state): State<WebState>,
    Authed(actor): Authed,
    body: Body,
) -> Result<Json<Account>, ApiError> {
    let bytes = read_body(body, state.app.max_avatar_bytes()).await?;
    Ok(Json(state.app.set_avatar(&actor, &bytes).await?))
}

/// Remove the caller's picture.
#[utoipa::path(delete, path = "/api/v1/me/avatar", tag = "accounts",
    responses((status = 204)))]
async fn remove_avatar(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<StatusCode, ApiError> {
    state.app.remove_avatar(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A profile field's definition.
#[derive(Deserialize, ToSchema)]
pub(crate) struct FieldRequest {
    /// The question, as members see it.
    #[schema(min_length = 1, max_length = 80)]
    label: String,
    /// A line of explanation under it.
    #[serde(default)]
    #[schema(max_length = 300)]
    help: String,
    /// What kind of answer it takes (it cannot change later).
    kind: FieldKind,
    /// For a single-choice field, its 2 to 30 choices.
    #[serde(default)]
    #[schema(max_items = 30)]
    choices: Vec<String>,
    /// Whether joining needs an answer; a required checkbox must be ticked (a consent).
    #[serde(default)]
    required: bool,
    /// Who sees the answers (default: members).
    #[serde(default = "members")]
    visibility: FieldVisibility,
    /// The privacy category of the answers (never `account_credentials`).
    category: Category,
}

fn members() -> FieldVisibility {
    FieldVisibility::Members
}

impl FieldRequest {
    fn definition(self) -> Result<profile::FieldDefinition, ApiError> {
        profile::definition(
            &self.label,
            &self.help,
            self.kind,
            &self.choices,
            self.required,
            self.visibility,
            self.category,
        )
        .map_err(|e| ApiError::from(hearth_app::AppError::from(e)))
    }
}

/// The community's profile fields, in the order they are asked: for members, and for
/// anyone who may join an open community.
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/profile-fields",
    tag = "communities", params(("community_id" = i64, Path)),
    responses((status = 200, body = Vec<ProfileField>), (status = 404, body = Problem)))]
async fn list_fields(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<ProfileField>>, ApiError> {
    Ok(Json(
        state.app.profile_fields(&actor, CommunityId(id)).await?,
    ))
}

/// Define a profile field, asked after the others (admins).
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/profile-fields",
    tag = "communities", params(("community_id" = i64, Path)), request_body = FieldRequest,
    responses((status = 201, body = ProfileField), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn create_field(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<FieldRequest>,
) -> Result<(StatusCode, Json<ProfileField>), ApiError> {
    let definition = body.definition()?;
    let field = state
        .app
        .create_profile_field(&actor, CommunityId(id), definition)
        .await?;
    Ok((StatusCode::CREATED, Json(field)))
}

/// Redefine a profile field (admins); its kind cannot change.
#[utoipa::path(put, path = "/api/v1/communities/{community_id}/profile-fields/{field_id}",
    tag = "communities", params(("community_id" = i64, Path), ("field_id" = i64, Path)),
    request_body = FieldRequest,
    responses((status = 200, body = ProfileField), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn update_field(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath((id, field)): ApiPath<(i64, i64)>,
    ApiJson(body): ApiJson<FieldRequest>,
) -> Result<Json<ProfileField>, ApiError> {
    let definition = body.definition()?;
    Ok(Json(
        state
            .app
            .update_profile_field(&actor, CommunityId(id), ProfileFieldId(field), definition)
            .await?,
    ))
}

/// Delete a profile field and every answer to it (admins).
#[utoipa::path(delete, path = "/api/v1/communities/{community_id}/profile-fields/{field_id}",
    tag = "communities", params(("community_id" = i64, Path), ("field_id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_field(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath((id, field)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_profile_field(&actor, CommunityId(id), ProfileFieldId(field))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member's answers to the community's profile fields: all of them for the member and for
/// admins, those shown to members for everyone else in the community.
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/members/{user_id}/profile",
    tag = "communities", params(("community_id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 200, body = Vec<ProfileAnswer>), (status = 404, body = Problem)))]
async fn member_answers(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath((id, user)): ApiPath<(i64, i64)>,
) -> Result<Json<Vec<ProfileAnswer>>, ApiError> {
    Ok(Json(
        state
            .app
            .profile_answers(&actor, CommunityId(id), UserId(user))
            .await?,
    ))
}

/// New answers to some of a community's profile fields.
#[derive(Deserialize, ToSchema)]
pub(crate) struct AnswersRequest {
    /// Answers by field id; fields not named stay as they are.
    #[schema(value_type = Object)]
    profile: AnswerMap,
}

/// Change some of the caller's answers in a community they belong to. A required field
/// cannot be cleared.
#[utoipa::path(put, path = "/api/v1/communities/{community_id}/profile",
    tag = "communities", params(("community_id" = i64, Path)), request_body = AnswersRequest,
    responses((status = 200, body = Vec<ProfileAnswer>), (status = 404, body = Problem)))]
async fn set_my_answers(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<AnswersRequest>,
) -> Result<Json<Vec<ProfileAnswer>>, ApiError> {
    let given = answers(body.profile)?;
    Ok(Json(
        state
            .app
            .set_profile_answers(&actor, CommunityId(id), given)
            .await?,
    ))
}
