//! This Hearth's legal terms as pages: the versions in force and every earlier one for
//! anyone, the operator's page that publishes a new version, and a community's page where its
//! owner accepts what is due (its admin pages lead there until they do).

use crate::WebState;
use crate::pages::accounts::form_error;
use crate::pages::communities::accepted_ids;
use crate::pages::settings::day_and_time;
use crate::pages::{Layout, PageError, Visitor, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_app::LegalTerms;
use hearth_core::CommunityId;
use hearth_core::terms::TermsKind;
use serde::Deserialize;

/// A version as a page shows it.
struct Document {
    id: i64,
    title: &'static str,
    version: i32,
    published: String,
    /// Its text as safe HTML; empty in lists.
    html: String,
}

impl Document {
    fn of(terms: &LegalTerms) -> Self {
        Document {
            id: terms.id,
            title: terms.kind.label(),
            version: terms.version,
            published: day_and_time(terms.published_at),
            html: if terms.body.is_empty() {
                String::new()
            } else {
                crate::statement_html::to_safe_html(&terms.body)
            },
        }
    }
}

#[derive(Template)]
#[template(path = "terms.html")]
struct TermsPage {
    layout: Layout,
    /// The documents shown in full.
    documents: Vec<Document>,
    /// Every version, for the list of them.
    versions: Vec<Document>,
    /// Whether this is one version rather than the ones in force.
    single: bool,
    is_operator: bool,
}

async fn is_operator(state: &WebState, visitor: &Visitor) -> Result<bool, PageError> {
    Ok(match &visitor.signed_in {
        Some(me) => state.app.is_operator(&me.actor).await?,
        None => false,
    })
}

/// `GET /terms`: the versions in force, and the list of every version.
pub(crate) async fn in_force(
    State(state): State<WebState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    let documents = state.app.terms_in_force().await?;
    let versions = state.app.terms_versions().await?;
    let page = TermsPage {
        layout: Layout::new("Terms", &visitor),
        documents: documents.iter().map(Document::of).collect(),
        versions: versions.iter().map(Document::of).collect(),
        single: false,
        is_operator: is_operator(&state, &visitor).await?,
    };
    Ok(render_with_status(StatusCode::OK, &page, &visitor))
}

/// `GET /terms/{id}`: one version.
pub(crate) async fn version(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let terms = state.app.terms_version(id).await?;
    let page = TermsPage {
        layout: Layout::new(
            format!("{}, version {}", terms.kind.label(), terms.version),
            &visitor,
        ),
        documents: vec![Document::of(&terms)],
        versions: Vec::new(),
        single: true,
        is_operator: false,
    };
    Ok(render_with_status(StatusCode::OK, &page, &visitor))
}

#[derive(Template)]
#[template(path = "terms_admin.html")]
struct AdminPage {
    layout: Layout,
    kinds: Vec<(&'static str, &'static str)>,
    kind: String,
    markdown: String,
    /// Every version, with how many communities accepted it.
    versions: Vec<(Document, i64)>,
    published: Option<String>,
    error: Option<String>,
}

#[derive(Default, Deserialize)]
pub(crate) struct PublishForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    markdown: String,
}

async fn admin_page(
    state: &WebState,
    visitor: &Visitor,
    form: PublishForm,
    published: Option<String>,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let counts = state.app.terms_acceptance_counts(&me.actor).await?;
    let versions = state.app.terms_versions().await?;
    let page = AdminPage {
        layout: Layout::new("Legal terms", visitor),
        kinds: TermsKind::ALL
            .into_iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        kind: form.kind,
        markdown: form.markdown,
        versions: versions
            .iter()
            .map(|v| {
                let accepted = counts
                    .iter()
                    .find(|(id, _)| *id == v.id)
                    .map_or(0, |(_, n)| *n);
                (Document::of(v), accepted)
            })
            .collect(),
        published,
        error: error.as_ref().map(form_error),
    };
    let status = error.map_or(StatusCode::OK, |e| e.status());
    Ok(render_with_status(status, &page, visitor))
}

/// `GET /admin/terms`: the operator's page that publishes a new version.
pub(crate) async fn admin(
    State(state): State<WebState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    admin_page(&state, &visitor, PublishForm::default(), None, None).await
}

/// `POST /admin/terms`.
pub(crate) async fn publish(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<PublishForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let result = match TermsKind::parse(&form.kind) {
        Ok(kind) => {
            state
                .app
                .publish_terms(&me.actor, kind, &form.markdown)
                .await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(terms) => {
            let done = format!(
                "{}, version {}, is published. Every community's owner is asked to accept it.",
                terms.kind.label(),
                terms.version
            );
            admin_page(&state, &visitor, PublishForm::default(), Some(done), None).await
        }
        Err(error) => admin_page(&state, &visitor, form, None, Some(error.into())).await,
    }
}

#[derive(Template)]
#[template(path = "community_terms.html")]
struct CommunityPage {
    layout: Layout,
    id: i64,
    name: String,
    /// The versions due, in full.
    due: Vec<Document>,
    due_ids: String,
    may_accept: bool,
    /// Every acceptance: document, version, who, when.
    acceptances: Vec<(&'static str, i32, String, String)>,
    error: Option<String>,
}

async fn community_page(
    state: &WebState,
    visitor: &Visitor,
    community: CommunityId,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let (details, _) = state.app.community(&me.actor, community).await?;
    let standing = state.app.community_terms(&me.actor, community).await?;
    // The listing of what is due carries no text: the owner reads the versions in force.
    let in_force = state.app.terms_in_force().await?;
    let due: Vec<&LegalTerms> = in_force
        .iter()
        .filter(|t| standing.due.iter().any(|d| d.id == t.id))
        .collect();
    let page = CommunityPage {
        layout: Layout::new(format!("Terms · {}", details.name), visitor),
        id: community.0,
        name: details.name,
        due_ids: due
            .iter()
            .map(|t| t.id.to_string())
            .collect::<Vec<_>>()
            .join(","),
        due: due.into_iter().map(Document::of).collect(),
        may_accept: standing.may_accept,
        acceptances: standing
            .acceptances
            .iter()
            .map(|a| {
                (
                    a.kind.label(),
                    a.version,
                    a.accepted_by
                        .clone()
                        .unwrap_or_else(|| "a former owner whose account is gone".into()),
                    day_and_time(a.accepted_at),
                )
            })
            .collect(),
        error: error.as_ref().map(form_error),
    };
    let status = error.map_or(StatusCode::OK, |e| e.status());
    Ok(render_with_status(status, &page, visitor))
}

/// `GET /communities/{id}/terms`: what is due, and every acceptance on record.
pub(crate) async fn community(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    community_page(&state, &visitor, CommunityId(id), None).await
}

#[derive(Deserialize)]
pub(crate) struct AcceptForm {
    form_token: String,
    #[serde(default)]
    terms: String,
    #[serde(default)]
    accept_terms: Option<String>,
}

/// `POST /communities/{id}/terms`: the owner accepts what is due.
pub(crate) async fn accept(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Form(form): Form<AcceptForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let community = CommunityId(id);
    let accepted = accepted_ids(form.accept_terms.is_some(), &form.terms)?;
    match state.app.accept_terms(&me.actor, community, accepted).await {
        Ok(_) => Ok(see_other(&format!("/communities/{id}/settings"))),
        Err(error) => community_page(&state, &visitor, community, Some(error.into())).await,
    }
}

/// Where an admin page sends its owner or admins while the community has legal terms to
/// accept: to the page where they are accepted (or, for admins, explained).
pub(crate) async fn terms_gate(
    state: &WebState,
    visitor: &Visitor,
    community: CommunityId,
) -> Result<Option<Response>, PageError> {
    let Some(me) = &visitor.signed_in else {
        return Ok(None);
    };
    Ok(state
        .app
        .admin_terms_due(&me.actor, community)
        .await?
        .then(|| see_other(&format!("/communities/{}/terms", community.0))))
}
