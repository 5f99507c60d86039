//! A community's privacy statement as a page: the version in force (or an earlier one) for
//! anyone who may see the community, the button a member presses to acknowledge it, and the
//! admins' editor with its preview.

use crate::WebState;
use crate::pages::accounts::form_error;
use crate::pages::settings::day_and_time;
use crate::pages::{Layout, PageError, Visitor, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_app::{Publication, StatementOptions};
use hearth_core::permissions::{Action, allows};
use hearth_core::{CommunityId, Timestamp};
use serde::Deserialize;

/// Days after which the law wants a statement reviewed (Civ. 1798.130(a)(5): every 12 months).
const REVIEW_DAYS: i64 = 365;

#[derive(Template)]
#[template(path = "statement.html")]
struct StatementPage {
    layout: Layout,
    id: i64,
    name: String,
    version_label: String,
    published_at: Option<String>,
    acknowledged_at: Option<String>,
    html: Option<String>,
    url: Option<String>,
    superseded: bool,
    can_acknowledge: bool,
    acknowledged_now: bool,
    /// Every published version: number and when.
    versions: Vec<(i32, String)>,
    is_admin: bool,
}

#[derive(Deserialize)]
pub(crate) struct StatementQuery {
    version: Option<i32>,
    #[serde(default)]
    acknowledged: bool,
    /// An invitation to an invitation-only community: its holder reads the statement before
    /// joining.
    invite: Option<String>,
}

/// `GET /communities/{id}/privacy`: the statement in force, or `?version=N`.
pub(crate) async fn show(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Query(query): Query<StatementQuery>,
) -> Result<Response, PageError> {
    let community = CommunityId(id);
    let actor = visitor.signed_in.as_ref().map(|s| &s.actor);
    let statement = state
        .app
        .privacy_statement_for(actor, community, query.version, query.invite.as_deref())
        .await?;
    let versions = if query.invite.is_some() {
        Vec::new()
    } else {
        state.app.statement_versions(actor, community).await?
    };
    let role = match actor {
        Some(actor) => state
            .app
            .community(actor, community)
            .await
            .ok()
            .and_then(|(_, role)| role),
        None => None,
    };
    let page = StatementPage {
        layout: Layout::new(
            format!("Privacy statement · {}", statement.community_name),
            &visitor,
        ),
        id,
        version_label: statement.version.map(|v| v.to_string()).unwrap_or_default(),
        published_at: statement.published_at.map(day_and_time),
        acknowledged_at: statement.acknowledged_at.map(day_and_time),
        html: statement
            .markdown
            .as_deref()
            .map(crate::statement_html::to_safe_html),
        url: statement.url,
        superseded: statement.superseded,
        can_acknowledge: role.is_some()
            && statement.version.is_some()
            && !statement.superseded
            && statement.acknowledged_at.is_none(),
        acknowledged_now: query.acknowledged && statement.acknowledged_at.is_some(),
        versions: versions
            .iter()
            .map(|v| (v.version, day_and_time(v.published_at)))
            .collect(),
        is_admin: role.is_some_and(|r| allows(r, Action::EditSettings)),
        name: statement.community_name,
    };
    Ok(render_with_status(StatusCode::OK, &page, &visitor))
}

#[derive(Template)]
#[template(path = "instance_statement.html")]
struct InstanceStatementPage {
    layout: Layout,
    html: String,
}

/// `GET /privacy/statement`: this Hearth's own statement, for what its operator holds about
/// everyone with an account.
pub(crate) async fn instance(
    State(state): State<WebState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    let markdown = state.app.instance_statement().await?;
    let page = InstanceStatementPage {
        layout: Layout::new("Privacy statement", &visitor),
        html: crate::statement_html::to_safe_html(&markdown),
    };
    Ok(render_with_status(StatusCode::OK, &page, &visitor))
}

#[derive(Deserialize)]
pub(crate) struct AcknowledgeForm {
    form_token: String,
    version: i32,
}

/// `POST /communities/{id}/privacy/acknowledge`.
pub(crate) async fn acknowledge(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Form(form): Form<AcknowledgeForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    state
        .app
        .acknowledge_statement(&me.actor, CommunityId(id), form.version)
        .await?;
    Ok(see_other(&format!(
        "/communities/{id}/privacy?acknowledged=true"
    )))
}

#[derive(Template)]
#[template(path = "statement_edit.html")]
struct EditPage {
    layout: Layout,
    id: i64,
    name: String,
    markdown: String,
    url: String,
    contact: String,
    publish_metrics: bool,
    preview: Option<String>,
    published: Option<i32>,
    review_due: bool,
    error: Option<String>,
}

/// What the editor starts from, or was sent.
struct Draft {
    markdown: Option<String>,
    url: Option<String>,
    preview: bool,
    published: Option<i32>,
    from_template: bool,
}

async fn edit_page(
    state: &WebState,
    visitor: &Visitor,
    community: CommunityId,
    draft: Draft,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let options = state.app.statement_options(&me.actor, community).await?;
    let current = state
        .app
        .privacy_statement(Some(&me.actor), community, None)
        .await?;
    let template =
        if draft.from_template || (draft.markdown.is_none() && current.markdown.is_none()) {
            Some(state.app.statement_template(&me.actor, community).await?)
        } else {
            None
        };
    let markdown = draft
        .markdown
        .clone()
        .or(template)
        .or(current.markdown.clone())
        .unwrap_or_default();
    let review_due = current
        .published_at
        .is_some_and(|at| Timestamp::now().0 - at.0 > REVIEW_DAYS * 24 * 3600 * 1000);
    let page = EditPage {
        layout: Layout::new(
            format!("Privacy statement · {}", current.community_name),
            visitor,
        ),
        id: community.0,
        name: current.community_name,
        preview: draft
            .preview
            .then(|| crate::statement_html::to_safe_html(&markdown)),
        markdown,
        url: draft.url.or(current.url).unwrap_or_default(),
        contact: options.contact.unwrap_or_default(),
        publish_metrics: options.publish_metrics,
        published: draft.published,
        review_due,
        error: error.as_ref().map(form_error),
    };
    let status = error.as_ref().map_or(StatusCode::OK, ApiError::status);
    Ok(render_with_status(status, &page, visitor))
}

#[derive(Deserialize)]
pub(crate) struct EditQuery {
    from: Option<String>,
    published: Option<i32>,
}

/// `GET /communities/{id}/privacy/edit` (admins).
pub(crate) async fn edit(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Query(query): Query<EditQuery>,
) -> Result<Response, PageError> {
    let draft = Draft {
        markdown: None,
        url: None,
        preview: false,
        published: query.published,
        from_template: query.from.as_deref() == Some("template"),
    };
    edit_page(&state, &visitor, CommunityId(id), draft, None).await
}

#[derive(Deserialize)]
pub(crate) struct EditForm {
    form_token: String,
    action: String,
    #[serde(default)]
    markdown: String,
    #[serde(default)]
    url: String,
}

/// `POST /communities/{id}/privacy/edit`: a preview, or a new version published.
pub(crate) async fn save(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Form(form): Form<EditForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let community = CommunityId(id);
    let publication = match form.action.as_str() {
        "publish" => Publication::Markdown(form.markdown.clone()),
        "link" => Publication::Url(form.url.clone()),
        _ => {
            let draft = Draft {
                markdown: Some(form.markdown),
                url: None,
                preview: true,
                published: None,
                from_template: false,
            };
            return edit_page(&state, &visitor, community, draft, None).await;
        }
    };
    match state
        .app
        .publish_statement(&me.actor, community, publication)
        .await
    {
        Ok(published) => Ok(see_other(&format!(
            "/communities/{id}/privacy/edit?published={}",
            published.version.unwrap_or_default()
        ))),
        Err(error) => {
            let draft = Draft {
                markdown: Some(form.markdown),
                url: Some(form.url),
                preview: false,
                published: None,
                from_template: false,
            };
            edit_page(&state, &visitor, community, draft, Some(error.into())).await
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct SettingsForm {
    form_token: String,
    #[serde(default)]
    contact: String,
    publish_metrics: Option<String>,
}

/// `POST /communities/{id}/privacy/settings` (admins).
pub(crate) async fn settings(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let community = CommunityId(id);
    let options = StatementOptions {
        contact: Some(form.contact),
        publish_metrics: form.publish_metrics.is_some(),
    };
    match state
        .app
        .set_statement_options(&me.actor, community, options)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/communities/{id}/privacy/edit"))),
        Err(error) => {
            let draft = Draft {
                markdown: None,
                url: None,
                preview: false,
                published: None,
                from_template: false,
            };
            edit_page(&state, &visitor, community, draft, Some(error.into())).await
        }
    }
}
