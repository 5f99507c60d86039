//! Communities' privacy statements through the API: reading the one in force (or any
//! published version), its admins' template, publishing and settings, and members'
//! acknowledgements.

use crate::WebState;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed, MaybeAuthed};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hearth_app::{PrivacyStatement, Publication, StatementOptions};
use hearth_core::{CommunityId, DomainError, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(statement, publish))
        .routes(routes!(template))
        .routes(routes!(versions))
        .routes(routes!(acknowledge))
        .routes(routes!(options, set_options))
        .routes(routes!(to_acknowledge))
}

/// A community's privacy statement.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StatementView {
    community_id: String,
    community_name: String,
    /// The published version shown; null while nothing is published and the statement
    /// written from the data catalog stands in.
    version: Option<i32>,
    /// Hearth's own page, as Markdown.
    markdown: Option<String>,
    /// The same, as HTML (raw HTML shown as text, unsafe links removed).
    html: Option<String>,
    /// Or a link to the owner's own policy.
    url: Option<String>,
    published_at: Option<Timestamp>,
    /// When the caller acknowledged this version, if they did.
    acknowledged_at: Option<Timestamp>,
    /// Whether a newer version than this one is published.
    superseded: bool,
}

impl From<PrivacyStatement> for StatementView {
    fn from(statement: PrivacyStatement) -> Self {
        Self {
            community_id: statement.community.0.to_string(),
            community_name: statement.community_name,
            version: statement.version,
            html: statement
                .markdown
                .as_deref()
                .map(crate::statement_html::to_safe_html),
            markdown: statement.markdown,
            url: statement.url,
            published_at: statement.published_at,
            acknowledged_at: statement.acknowledged_at,
            superseded: statement.superseded,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct VersionQuery {
    /// A published version (default: the one in force).
    version: Option<i32>,
}

/// A community's privacy statement: the version in force, or `version`. Anyone may read an
/// open community's; an invitation-only community's, its members.
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/privacy-statement",
    tag = "privacy", params(("community_id" = i64, Path), VersionQuery),
    responses((status = 200, body = StatementView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn statement(
    State(state): State<WebState>,
    MaybeAuthed(actor): MaybeAuthed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<VersionQuery>,
) -> Result<Json<StatementView>, ApiError> {
    let statement = state
        .app
        .privacy_statement(actor.as_ref(), CommunityId(id), query.version)
        .await?;
    Ok(Json(statement.into()))
}

/// A version to publish: Hearth's own page in Markdown, or a link to the owner's own policy.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewStatement {
    /// The statement, as Markdown.
    markdown: Option<String>,
    /// Or the `https` address of the owner's own policy.
    url: Option<String>,
}

/// Publish a new version of the community's privacy statement (admins); members are asked
/// to acknowledge it.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/privacy-statement",
    tag = "privacy", params(("community_id" = i64, Path)), request_body = NewStatement,
    responses((status = 201, body = StatementView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn publish(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewStatement>,
) -> Result<(StatusCode, Json<StatementView>), ApiError> {
    let publication = match (body.markdown, body.url) {
        (Some(markdown), None) => Publication::Markdown(markdown),
        (None, Some(url)) => Publication::Url(url),
        _ => {
            return Err(DomainError::invalid(
                "markdown",
                "give the statement's Markdown or the address of your own policy, not both",
            )
            .into());
        }
    };
    let statement = state
        .app
        .publish_statement(&actor, CommunityId(id), publication)
        .await?;
    Ok((StatusCode::CREATED, Json(statement.into())))
}

/// The statement as written today from the data catalog and the community's settings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TemplateView {
    markdown: String,
}

/// The statement written from the data catalog and the community's settings, to start from
/// (admins).
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/privacy-statement/template",
    tag = "privacy", params(("community_id" = i64, Path)),
    responses((status = 200, body = TemplateView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn template(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TemplateView>, ApiError> {
    let markdown = state
        .app
        .statement_template(&actor, CommunityId(id))
        .await?;
    Ok(Json(TemplateView { markdown }))
}

/// One published version.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VersionView {
    version: i32,
    /// Set when the version was a link to the owner's own policy.
    url: Option<String>,
    published_at: Timestamp,
}

/// Every published version of the community's privacy statement, newest first.
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/privacy-statement/versions",
    tag = "privacy", params(("community_id" = i64, Path)),
    responses((status = 200, body = [VersionView]), (status = 401, body = Problem),
              (status = 404, body = Problem)))]
async fn versions(
    State(state): State<WebState>,
    MaybeAuthed(actor): MaybeAuthed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<VersionView>>, ApiError> {
    let versions = state
        .app
        .statement_versions(actor.as_ref(), CommunityId(id))
        .await?;
    Ok(Json(
        versions
            .into_iter()
            .map(|v| VersionView {
                version: v.version,
                url: v.url,
                published_at: v.published_at,
            })
            .collect(),
    ))
}

/// The version acknowledged.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Acknowledgement {
    /// The version read: the one in force.
    version: i32,
}

/// Acknowledge the version of the community's privacy statement in force (members).
#[utoipa::path(post,
    path = "/api/v1/communities/{community_id}/privacy-statement/acknowledgement",
    tag = "privacy", params(("community_id" = i64, Path)), request_body = Acknowledgement,
    responses((status = 200, body = StatementView), (status = 401, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
async fn acknowledge(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Acknowledgement>,
) -> Result<Json<StatementView>, ApiError> {
    let statement = state
        .app
        .acknowledge_statement(&actor, CommunityId(id), body.version)
        .await?;
    Ok(Json(statement.into()))
}

/// What the statement says of the community beyond the data catalog.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct OptionsView {
    /// Where people write about their privacy (an address or a page); null: the statement
    /// points to the community's admins and the request form.
    contact: Option<String>,
    /// Whether the statement publishes last year's request figures.
    publish_metrics: bool,
}

/// What the community's statement says of it beyond the data catalog (admins).
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/privacy-statement/settings",
    tag = "privacy", params(("community_id" = i64, Path)),
    responses((status = 200, body = OptionsView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn options(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<OptionsView>, ApiError> {
    let options = state.app.statement_options(&actor, CommunityId(id)).await?;
    Ok(Json(OptionsView {
        contact: options.contact,
        publish_metrics: options.publish_metrics,
    }))
}

/// Set what the community's statement says of it beyond the data catalog (admins).
#[utoipa::path(put, path = "/api/v1/communities/{community_id}/privacy-statement/settings",
    tag = "privacy", params(("community_id" = i64, Path)), request_body = OptionsView,
    responses((status = 200, body = OptionsView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn set_options(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<OptionsView>,
) -> Result<Json<OptionsView>, ApiError> {
    let options = state
        .app
        .set_statement_options(
            &actor,
            CommunityId(id),
            StatementOptions {
                contact: body.contact,
                publish_metrics: body.publish_metrics,
            },
        )
        .await?;
    Ok(Json(OptionsView {
        contact: options.contact,
        publish_metrics: options.publish_metrics,
    }))
}

/// A statement the caller has yet to acknowledge.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ToAcknowledgeView {
    community_id: String,
    community_name: String,
    version: i32,
}

/// The statements of the caller's communities published since they last acknowledged one.
#[utoipa::path(get, path = "/api/v1/me/privacy-statements", tag = "privacy",
    responses((status = 200, body = [ToAcknowledgeView]), (status = 401, body = Problem)))]
async fn to_acknowledge(
    State(state): State<WebState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<ToAcknowledgeView>>, ApiError> {
    let due = state.app.statements_to_acknowledge(&actor).await?;
    Ok(Json(
        due.into_iter()
            .map(|d| ToAcknowledgeView {
                community_id: d.community.0.to_string(),
                community_name: d.community_name,
                version: d.version,
            })
            .collect(),
    ))
}
