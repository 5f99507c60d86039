//! The start page, one's communities, the directory, and a community's front door.

use crate::WebState;
use crate::extract::OverHttps;
use crate::pages::accounts::form_error;
use crate::pages::ages::{
    AgeForm, answer_from_form, parent_asked, refused_here_before, remember_refusal,
};
use crate::pages::profiles::{FieldInput, answers_from_form, inputs};
use crate::pages::{Layout, PageError, Visitor, render, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use hearth_app::{AgeAnswer, Joining, NewCommunity};
use hearth_core::model::{Community, JoinPolicy, Role};
use hearth_core::{CommunityId, PageSize};
use serde::Deserialize;

/// A community as a list shows it.
pub(crate) struct CommunityItem {
    id: CommunityId,
    name: String,
    description: String,
    role: Option<&'static str>,
}

impl CommunityItem {
    fn of(community: Community, role: Option<Role>) -> Self {
        Self {
            id: community.id,
            name: community.name,
            description: community.description,
            role: role.map(role_name),
        }
    }
}

/// How a role reads on a page.
pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => "Owner",
        Role::Admin => "Admin",
        Role::Moderator => "Moderator",
        Role::Member => "Member",
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    communities: Vec<CommunityItem>,
    setup_open: bool,
}

/// `GET /`: what this instance is, and its open communities; signed in, one's communities.
pub(crate) async fn home(
    State(state): State<WebState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    if visitor.signed_in.is_some() {
        return Ok(see_other("/communities"));
    }
    let open = state
        .app
        .community_directory(None, PageSize::DEFAULT)
        .await?;
    let page = HomePage {
        setup_open: state.app.setup_open().await?,
        layout: Layout::new("Welcome", &visitor),
        communities: open
            .into_iter()
            .map(|c| CommunityItem::of(c, None))
            .collect(),
    };
    Ok(render(&page, &visitor))
}

#[derive(Template)]
#[template(path = "communities.html")]
struct MyCommunitiesPage {
    layout: Layout,
    communities: Vec<CommunityItem>,
    form: CreateForm,
    /// The legal terms in force, which creating a community accepts.
    terms: Vec<TermsLink>,
    /// Their ids, as the form sends them back.
    terms_ids: String,
    error: Option<String>,
}

/// A legal document in force, linked from a form that accepts it.
pub(crate) struct TermsLink {
    pub(crate) id: i64,
    pub(crate) label: &'static str,
    pub(crate) version: i32,
}

impl TermsLink {
    pub(crate) fn of(terms: &hearth_app::LegalTerms) -> TermsLink {
        TermsLink {
            id: terms.id,
            label: terms.kind.label(),
            version: terms.version,
        }
    }
}

/// The ids a form's hidden `terms` field carries, if its acceptance box was ticked.
pub(crate) fn accepted_ids(ticked: bool, ids: &str) -> Result<Vec<i64>, PageError> {
    if !ticked {
        return Ok(Vec::new());
    }
    ids.split(',')
        .filter(|id| !id.is_empty())
        .map(|id| {
            id.parse()
                .map_err(|_| PageError::bad_request("the terms accepted are not valid"))
        })
        .collect()
}

#[derive(Default, Deserialize)]
pub(crate) struct CreateForm {
    #[serde(default)]
    form_token: String,
    name: String,
    slug: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    invite_only: Option<String>,
    /// The versions of the legal terms the form showed.
    #[serde(default)]
    terms: String,
    /// Ticked: they are accepted.
    #[serde(default)]
    accept_terms: Option<String>,
}

/// `GET /communities`: the communities one belongs to, and a form to create one.
pub(crate) async fn mine(
    State(state): State<WebState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    my_communities_page(&state, &visitor, CreateForm::default(), None).await
}

async fn my_communities_page(
    state: &WebState,
    visitor: &Visitor,
    form: CreateForm,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let mine = state
        .app
        .my_communities(&me.actor, None, PageSize::requested(Some(PageSize::MAX))?)
        .await?;
    let terms = state.app.terms_in_force().await?;
    let page = MyCommunitiesPage {
        layout: Layout::new("My communities", visitor),
        terms_ids: terms
            .iter()
            .map(|t| t.id.to_string())
            .collect::<Vec<_>>()
            .join(","),
        terms: terms.iter().map(TermsLink::of).collect(),
        communities: mine
            .into_iter()
            .map(|(c, role)| CommunityItem::of(c, Some(role)))
            .collect(),
        form,
        error: error.as_ref().map(form_error),
    };
    let status = error.map_or(axum::http::StatusCode::OK, |e| e.status());
    Ok(render_with_status(status, &page, visitor))
}

/// `POST /communities`: creates a community and opens it.
pub(crate) async fn create(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<CreateForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let input = NewCommunity {
        slug: form.slug.clone(),
        name: form.name.clone(),
        description: form.description.clone(),
        join_policy: if form.invite_only.is_some() {
            JoinPolicy::Invite
        } else {
            JoinPolicy::Open
        },
        accepted_terms: accepted_ids(form.accept_terms.is_some(), &form.terms)?,
    };
    match state.app.create_community(&me.actor, input).await {
        Ok(community) => Ok(see_other(&format!("/communities/{}", community.id))),
        Err(error) => my_communities_page(&state, &visitor, form, Some(error.into())).await,
    }
}

#[derive(Template)]
#[template(path = "directory.html")]
struct DirectoryPage {
    layout: Layout,
    communities: Vec<CommunityItem>,
}

/// `GET /directory`: the open communities anyone may join.
pub(crate) async fn directory(
    State(state): State<WebState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    let open = state
        .app
        .community_directory(None, PageSize::requested(Some(PageSize::MAX))?)
        .await?;
    let page = DirectoryPage {
        layout: Layout::new("Directory", &visitor),
        communities: open
            .into_iter()
            .map(|c| CommunityItem::of(c, None))
            .collect(),
    };
    Ok(render(&page, &visitor))
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage {
    layout: Layout,
    community: CommunityItem,
    /// The profile fields joining asks.
    fields: Vec<FieldInput>,
    error: Option<String>,
    /// What joining collects, and why (the notice at collection).
    notice: crate::pages::CollectionNotice,
    /// The age questions, where the community asks.
    age: AgeForm,
}

/// Whether a join's refusal is about what the form said (its answers or the age given), so
/// that the form comes back, filled in as it was, saying why.
pub(crate) fn refused_for_form(error: &hearth_app::AppError) -> bool {
    matches!(
        error,
        hearth_app::AppError::Domain(
            hearth_core::DomainError::Invalid { .. }
                | hearth_core::DomainError::Forbidden(_)
                | hearth_core::DomainError::RateLimited { .. }
        )
    )
}

/// What the form shows again after a refusal: not the age that was refused, so that the
/// form does not lead to a different answer.
pub(crate) fn retry_with(error: &ApiError, age: AgeAnswer) -> AgeAnswer {
    if error.status() == axum::http::StatusCode::FORBIDDEN {
        AgeAnswer::default()
    } else {
        age
    }
}

/// The notice at collection for joining `community`, whose profile fields are `fields`; an
/// invitation's holder reads the statement of an invitation-only community through `invite`.
pub(crate) async fn join_notice(
    state: &WebState,
    community: CommunityId,
    fields: &[hearth_core::profile::ProfileField],
    invite: Option<&str>,
) -> Result<crate::pages::CollectionNotice, PageError> {
    let mut categories = Vec::new();
    for field in fields {
        if !categories.contains(&field.category) {
            categories.push(field.category);
        }
    }
    let tables: &[&str] = if fields.is_empty() {
        &["community_members", "parental_consents"]
    } else {
        &["community_members", "profile_values", "parental_consents"]
    };
    let query = invite
        .map(|code| format!("?invite={code}"))
        .unwrap_or_default();
    let shares = state.app.shares_with_third_parties(community).await?;
    // The age columns (and a parent's address) only where the community's ages call for them.
    let policy = state.app.age_policy(None, community, invite).await?;
    let unfilled = hearth_core::ages::unfilled_by(policy.question, policy.minimum_age);
    Ok(crate::pages::collection_notice(
        (tables, &unfilled),
        &categories,
        Some(format!("/communities/{}/privacy{query}", community.0)),
        shares,
    ))
}

/// `GET /communities/{id}`: a member goes to its first channel; others see how to join.
pub(crate) async fn community(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = CommunityId(id.parse().map_err(|_| PageError::not_found())?);
    let me = visitor.require()?;
    let (community, role) = state.app.community(&me.actor, id).await?;
    if role.is_some() {
        let channels = state
            .app
            .channels(&me.actor, id, None, PageSize::requested(Some(1))?)
            .await?;
        if let Some(first) = channels.first() {
            return Ok(see_other(&format!("/channels/{}", first.id)));
        }
    }
    let fields = state.app.profile_fields(&me.actor, id).await?;
    let notice = join_notice(&state, id, &fields, None).await?;
    let policy = state.app.age_policy(Some(&me.actor), id, None).await?;
    let page = JoinPage {
        layout: Layout::new(community.name.clone(), &visitor),
        community: CommunityItem::of(community, role),
        fields: inputs(fields, &[]),
        error: None,
        notice,
        age: AgeForm::of(policy, &AgeAnswer::default()),
    };
    Ok(render(&page, &visitor))
}

/// `POST /communities/{id}/join`: joins an open community.
pub(crate) async fn join(
    State(state): State<WebState>,
    visitor: Visitor,
    OverHttps(https): OverHttps,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (token, answers) = answers_from_form(&form, None);
    visitor.check_form(&token)?;
    let id = CommunityId(id.parse().map_err(|_| PageError::not_found())?);
    let me = visitor.require()?;
    let age = answer_from_form(&form);
    let joined = match refused_here_before(&headers, id) {
        Ok(()) => {
            state
                .app
                .join_community(&me.actor, id, answers.clone(), age.clone())
                .await
        }
        Err(refused) => Err(refused),
    };
    match joined {
        Ok(Joining::Joined) => Ok(see_other(&format!("/communities/{id}"))),
        Ok(Joining::AwaitingParent) => {
            let (community, _) = state.app.community(&me.actor, id).await?;
            Ok(parent_asked(&visitor, community.name))
        }
        Err(error) if refused_for_form(&error) => {
            let for_age = hearth_app::refused_for_age(&error);
            let error = ApiError::from(error);
            let (community, role) = state.app.community(&me.actor, id).await?;
            let fields = state.app.profile_fields(&me.actor, id).await?;
            let notice = join_notice(&state, id, &fields, None).await?;
            let policy = state.app.age_policy(Some(&me.actor), id, None).await?;
            let page = JoinPage {
                layout: Layout::new(community.name.clone(), &visitor),
                community: CommunityItem::of(community, role),
                fields: inputs(fields, &answers),
                error: Some(form_error(&error)),
                notice,
                age: AgeForm::of(policy, &retry_with(&error, age)),
            };
            let mut response = render_with_status(error.status(), &page, &visitor);
            if for_age {
                remember_refusal(&mut response, id, https);
            }
            Ok(response)
        }
        Err(error) => Err(error.into()),
    }
}
