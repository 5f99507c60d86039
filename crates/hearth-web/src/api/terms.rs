//! The platform's legal terms through the API: reading the versions in force and every
//! version, the operator publishing, and a community's owner accepting.

use crate::WebState;
use crate::extract::{ApiJson, ApiPath, Authed, MaybeAuthed};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hearth_app::{CommunityTerms, LegalTerms, TermsAcceptance};
use hearth_core::terms::TermsKind;
use hearth_core::{CommunityId, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(in_force, publish))
        .routes(routes!(versions))
        .routes(routes!(version))
        .routes(routes!(community_terms))
        .routes(routes!(accept))
}

/// A version of one of this Hearth's legal documents.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TermsView {
    /// Its id, which an acceptance names.
    id: String,
    /// `terms` (terms and conditions), `sla` (service level agreement) or `dpa` (data
    /// processing agreement).
    kind: String,
    /// The document's name.
    title: String,
    version: i32,
    /// Its text as Markdown; absent in lists of versions.
    markdown: Option<String>,
    /// The same, as HTML (raw HTML shown as text, unsafe links removed).
    html: Option<String>,
    published_at: Timestamp,
}

impl TermsView {
    fn of(terms: LegalTerms, with_text: bool) -> Self {
        let (markdown, html) = if with_text {
            let html = crate::statement_html::to_safe_html(&terms.body);
            (Some(terms.body), Some(html))
        } else {
            (None, None)
        };
        Self {
            id: terms.id.to_string(),
            kind: terms.kind.code().into(),
            title: terms.kind.label().into(),
            version: terms.version,
            markdown,
            html,
            published_at: terms.published_at,
        }
    }
}

/// The versions in force, one per document the operator has published, with their text:
/// what creating a community accepts. Anyone may read them.
#[utoipa::path(get, path = "/api/v1/terms", tag = "terms",
    responses((status = 200, body = Vec<TermsView>)))]
async fn in_force(
    State(state): State<WebState>,
    MaybeAuthed(_actor): MaybeAuthed,
) -> Result<Json<Vec<TermsView>>, ApiError> {
    let terms = state.app.terms_in_force().await?;
    Ok(Json(
        terms.into_iter().map(|t| TermsView::of(t, true)).collect(),
    ))
}

/// Every version published, newest first within each document, without their text.
#[utoipa::path(get, path = "/api/v1/terms/versions", tag = "terms",
    responses((status = 200, body = Vec<TermsView>)))]
async fn versions(
    State(state): State<WebState>,
    MaybeAuthed(_actor): MaybeAuthed,
) -> Result<Json<Vec<TermsView>>, ApiError> {
    let terms = state.app.terms_versions().await?;
    Ok(Json(
        terms.into_iter().map(|t| TermsView::of(t, false)).collect(),
    ))
}

/// One version, with its text.
#[utoipa::path(get, path = "/api/v1/terms/{terms_id}", tag = "terms",
    params(("terms_id" = i64, Path)),
    responses((status = 200, body = TermsView), (status = 400, body = Problem),
              (status = 404, body = Problem)))]
async fn version(
    State(state): State<WebState>,
    MaybeAuthed(_actor): MaybeAuthed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TermsView>, ApiError> {
    Ok(Json(TermsView::of(
        state.app.terms_version(id).await?,
        true,
    )))
}

/// A version to publish.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewTerms {
    /// `terms`, `sla` or `dpa`.
    kind: String,
    /// Its text, as Markdown.
    #[schema(min_length = 1)]
    markdown: String,
}

/// Publish a new version of a legal document (the operator). Every community's owner must
/// accept it before the community's configuration can change again.
#[utoipa::path(post, path = "/api/v1/terms", tag = "terms", request_body = NewTerms,
    responses((status = 201, body = TermsView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
async fn publish(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<NewTerms>,
) -> Result<(StatusCode, Json<TermsView>), ApiError> {
    let kind = TermsKind::parse(&body.kind)?;
    let terms = state
        .app
        .publish_terms(&actor, kind, &body.markdown)
        .await?;
    Ok((StatusCode::CREATED, Json(TermsView::of(terms, true))))
}

/// An acceptance on a community's record.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AcceptanceView {
    terms_id: String,
    kind: String,
    version: i32,
    /// Who accepted it; absent once their account is gone.
    accepted_by: Option<String>,
    accepted_at: Timestamp,
}

impl From<TermsAcceptance> for AcceptanceView {
    fn from(a: TermsAcceptance) -> Self {
        Self {
            terms_id: a.terms_id.to_string(),
            kind: a.kind.code().into(),
            version: a.version,
            accepted_by: a.accepted_by,
            accepted_at: a.accepted_at,
        }
    }
}

/// Where a community stands with the legal terms.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CommunityTermsView {
    /// The versions in force it has not accepted: until its owner accepts them, the
    /// community's configuration cannot change.
    due: Vec<TermsView>,
    /// Every acceptance on record, newest first.
    acceptances: Vec<AcceptanceView>,
    /// Whether the caller is the owner, who accepts.
    may_accept: bool,
}

impl From<CommunityTerms> for CommunityTermsView {
    fn from(terms: CommunityTerms) -> Self {
        Self {
            due: terms
                .due
                .into_iter()
                .map(|t| TermsView::of(t, false))
                .collect(),
            acceptances: terms.acceptances.into_iter().map(Into::into).collect(),
            may_accept: terms.may_accept,
        }
    }
}

/// A community's standing with the legal terms: what is due and every acceptance (its owner
/// and admins).
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/terms", tag = "terms",
    params(("community_id" = i64, Path)),
    responses((status = 200, body = CommunityTermsView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn community_terms(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CommunityTermsView>, ApiError> {
    let terms = state.app.community_terms(&actor, CommunityId(id)).await?;
    Ok(Json(terms.into()))
}

/// The versions accepted.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Acceptance {
    /// The ids of the versions in force (`GET /api/v1/terms`): every one the community has
    /// not accepted (its `due`), and any others in force.
    #[schema(max_items = 10)]
    accept_terms: Vec<i64>,
}

/// Accept the versions in force for the community (its owner): `accept_terms` must name every
/// one it has not accepted and only versions in force, so a version published meanwhile is
/// not accepted unread (409).
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/terms/acceptance",
    tag = "terms", params(("community_id" = i64, Path)), request_body = Acceptance,
    responses((status = 200, body = CommunityTermsView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn accept(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Acceptance>,
) -> Result<Json<CommunityTermsView>, ApiError> {
    let terms = state
        .app
        .accept_terms(&actor, CommunityId(id), body.accept_terms)
        .await?;
    Ok(Json(terms.into()))
}
