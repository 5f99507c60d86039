//! A community's settings for its admins: general settings, channels and invitations; and
//! the page where an invitation is accepted. Member roles and removal are on the members page.

use crate::WebState;
use crate::extract::OverHttps;
use crate::pages::accounts::form_error;
use crate::pages::ages::{
    AgeForm, answer_from_form, parent_asked, refused_here_before, remember_refusal,
};
use crate::pages::chat::parse_id;
use crate::pages::profiles::{FieldInput, answers_from_form, inputs};
use crate::pages::settings::day_and_time;
use crate::pages::{Layout, PageError, TokenOnly, Visitor, render, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use hearth_app::{AgeAnswer, CommunitySettings, Joining, NewChannel, NewInvite};
use hearth_core::model::{ChannelKind, JoinPolicy, Role};
use hearth_core::permissions::{Action, allows};
use hearth_core::{CommunityId, InviteId, PageSize, UserId};
use serde::Deserialize;

struct InviteView {
    id: InviteId,
    link: String,
    expires: String,
    uses: String,
}

#[derive(Template)]
#[template(path = "community_settings.html")]
struct SettingsPage {
    layout: Layout,
    id: CommunityId,
    name: String,
    description: String,
    invite_only: bool,
    invites: Vec<InviteView>,
    may_invite: bool,
    may_edit: bool,
    may_create_channels: bool,
    is_owner: bool,
    require_two_factor: bool,
    /// The visitor's powers here wait for their second factor.
    held_back: bool,
    /// How it asks ages (`none`, `birth_date`, `bracket`), and the youngest it admits.
    age_question: &'static str,
    minimum_age: u8,
    error: Option<String>,
}

/// The community and the visitor's role in it; only members get this far.
async fn community_role(
    state: &WebState,
    visitor: &Visitor,
    id: CommunityId,
) -> Result<(hearth_core::model::Community, Role), PageError> {
    let me = visitor.require()?;
    let (community, role) = state.app.community(&me.actor, id).await?;
    let role = role.ok_or_else(PageError::not_found)?;
    Ok((community, role))
}

async fn settings_page(
    state: &WebState,
    visitor: &Visitor,
    (headers, https): (&HeaderMap, bool),
    id: CommunityId,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let (community, actual) = community_role(state, visitor, id).await?;
    let (role, held_back) = state.app.acting_role(&me.actor, id).await?;
    let may_edit = allows(role, Action::EditSettings);
    let may_invite = allows(role, Action::ManageInvites);
    let may_create_channels = allows(role, Action::CreatePublicChannel);
    if !(may_edit || may_invite || may_create_channels || held_back) {
        return Err(PageError::Problem(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Only the community's admins manage it",
        )));
    }
    let invites = if may_invite {
        state
            .app
            .invites(
                &me.actor,
                id,
                None,
                PageSize::requested(Some(PageSize::MAX))?,
            )
            .await?
    } else {
        Vec::new()
    };
    // The link is shown with the configured public address, or else the address the admin
    // reached Hearth by.
    let base = if state.config.public_url.is_empty() {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
            })
            .unwrap_or("localhost");
        format!("{}://{host}", if https { "https" } else { "http" })
    } else {
        state.config.public_url.clone()
    };
    let ages = state.app.age_policy(Some(&me.actor), id, None).await?;
    let page = SettingsPage {
        age_question: ages.question.code(),
        minimum_age: ages.minimum_age,
        layout: Layout::new(format!("Settings · {}", community.name), visitor),
        id,
        name: community.name,
        description: community.description,
        invite_only: community.join_policy == JoinPolicy::Invite,
        invites: invites
            .into_iter()
            .map(|i| InviteView {
                id: i.id,
                link: format!("{base}/invite/{}", i.code),
                expires: i
                    .expires_at
                    .map(day_and_time)
                    .unwrap_or_else(|| "never".into()),
                uses: match i.max_uses {
                    Some(max) => format!("{} of {max}", i.uses),
                    None => i.uses.to_string(),
                },
            })
            .collect(),
        may_invite,
        may_edit,
        may_create_channels,
        is_owner: actual == Role::Owner,
        require_two_factor: community.require_two_factor,
        held_back,
        error: error.as_ref().map(form_error),
    };
    let status = error.map_or(StatusCode::OK, |e| e.status());
    Ok(render_with_status(status, &page, visitor))
}

/// `GET /communities/{id}/settings`.
pub(crate) async fn show(
    State(state): State<WebState>,
    visitor: Visitor,
    OverHttps(https): OverHttps,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = CommunityId(parse_id(&id)?);
    if let Some(to) = crate::pages::terms::terms_gate(&state, &visitor, id).await? {
        return Ok(to);
    }
    settings_page(&state, &visitor, (&headers, https), id, None).await
}

/// Shows the settings page again with `error`, or goes back to it.
async fn after(
    state: &WebState,
    visitor: &Visitor,
    headers: (&HeaderMap, bool),
    id: CommunityId,
    result: Result<(), hearth_app::AppError>,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(see_other(&format!("/communities/{id}/settings"))),
        Err(error) => settings_page(state, visitor, headers, id, Some(error.into())).await,
    }
}

#[derive(Deserialize)]
pub(crate) struct GeneralForm {
    form_token: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    invite_only: Option<String>,
}

/// `POST /communities/{id}/settings`: name, description, join policy.
pub(crate) async fn general(
    State(state): State<WebState>,
    visitor: Visitor,
    OverHttps(https): OverHttps,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<GeneralForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let id = CommunityId(parse_id(&id)?);
    let me = visitor.require()?;
    let settings = CommunitySettings {
        name: Some(form.name),
        description: Some(form.description),
        join_policy: Some(if form.invite_only.is_some() {
            JoinPolicy::Invite
        } else {
            JoinPolicy::Open
        }),
        require_two_factor: None,
    };
    let result = state.app.update_community(&me.actor, id, settings).await;
    after(&state, &visitor, (&headers, https), id, result.map(|_| ())).await
}

#[derive(Deserialize)]
pub(crate) struct TwoFactorRuleForm {
    form_token: String,
    #[serde(default)]
    require: Option<String>,
}

/// `POST /communities/{id}/settings/two-factor`: whether moderators and admins must sign in
/// with a second factor (the owner's choice).
pub(crate) async fn two_factor_rule(
    State(state): State<WebState>,
    visitor: Visitor,
    OverHttps(https): OverHttps,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<TwoFactorRuleForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let id = CommunityId(parse_id(&id)?);
    let me = visitor.require()?;
    let settings = CommunitySettings {
        require_two_factor: Some(form.require.is_some()),
        ..CommunitySettings::default()
    };
    let result = state.app.update_community(&me.actor, id, settings).await;
    after(&state, &visitor, (&headers, https), id, result.map(|_| ())).await
}

#[derive(Deserialize)]
pub(crate) struct AgesForm {
    form_token: String,
    age_question: String,
    minimum_age: i64,
}

/// `POST /communities/{id}/settings/ages`: the ages admitted and how they are asked.
pub(crate) async fn ages(
    State(state): State<WebState>,
    visitor: Visitor,
    OverHttps(https): OverHttps,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<AgesForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let id = CommunityId(parse_id(&id)?);
    let me = visitor.require()?;
    let result = match (
        hearth_core::ages::AgeQuestion::parse(&form.age_question),
        hearth_core::ages::minimum_age(form.minimum_age),
    ) {
        (Ok(question), Ok(minimum_age)) => state
            .app
            .set_age_policy(
                &me.actor,
                id,
                hearth_app::AgePolicy {
                    question,
                    minimum_age,
                },
            )
            .await
            .map(|_| ()),
        (Err(e), _) | (_, Err(e)) => Err(e.into()),
    };
    after(&state, &visitor, (&headers, https), id, result).await
}

#[derive(Deserialize)]
pub(crate) struct ChannelForm {
    form_token: String,
    name: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    private: Option<String>,
}

/// `POST /communities/{id}/channels`: creates a channel and opens it.
pub(crate) async fn create_channel(
    State(state): State<WebState>,
    visitor: Visitor,
    OverHttps(https): OverHttps,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ChannelForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let id = CommunityId(parse_id(&id)?);
    let me = visitor.require()?;
    let input = NewChannel {
        name: form.name,
        topic: form.topic,
        kind: if form.private.is_some() {
            ChannelKind::Private
        } else {
            ChannelKind::Public
        },
    };
    match state.app.create_channel(&me.actor, id, input).await {
        Ok(channel) => Ok(see_other(&format!("/channels/{}", channel.id))),
        Err(error) => after(&state, &visitor, (&headers, https), id, Err(error)).await,
    }
}

#[derive(Deserialize)]
pub(crate) struct InviteForm {
    form_token: String,
    /// Days until it expires; empty for never.
    #[serde(default)]
    days: String,
    /// Joins it allows; empty for no limit.
    #[serde(default)]
    uses: String,
}

/// A number typed into a form; empty means none.
fn optional_number(field: &'static str, text: &str) -> Result<Option<i64>, PageError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>().map(Some).map_err(|_| {
        PageError::from(hearth_core::DomainError::invalid(
            field,
            "must be a whole number",
        ))
    })
}

/// `POST /communities/{id}/invites`.
pub(crate) async fn create_invite(
    State(state): State<WebState>,
    visitor: Visitor,
    OverHttps(https): OverHttps,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<InviteForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let id = CommunityId(parse_id(&id)?);
    let me = visitor.require()?;
    let days = optional_number("days", &form.days)?;
    let input = NewInvite {
        expires_in_secs: days.map(|d| d.saturating_mul(24 * 3600)),
        max_uses: optional_number("uses", &form.uses)?,
    };
    let result = state.app.create_invite(&me.actor, id, input).await;
    after(&state, &visitor, (&headers, https), id, result.map(|_| ())).await
}

/// `POST /communities/{id}/invites/{invite}/revoke`.
pub(crate) async fn revoke_invite(
    State(state): State<WebState>,
    visitor: Visitor,
    OverHttps(https): OverHttps,
    headers: HeaderMap,
    Path((id, invite)): Path<(String, String)>,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let id = CommunityId(parse_id(&id)?);
    let invite = InviteId(parse_id(&invite)?);
    let me = visitor.require()?;
    let result = state.app.revoke_invite(&me.actor, id, invite).await;
    after(&state, &visitor, (&headers, https), id, result).await
}

#[derive(Deserialize)]
pub(crate) struct RoleForm {
    form_token: String,
    role: String,
}

/// `POST /communities/{id}/members/{user}/role`.
pub(crate) async fn set_role(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, user)): Path<(String, String)>,
    Form(form): Form<RoleForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let id = CommunityId(parse_id(&id)?);
    let user = UserId(parse_id(&user)?);
    let me = visitor.require()?;
    let role = Role::parse(&form.role)
        .ok_or_else(|| PageError::from(hearth_core::DomainError::invalid("role", "is unknown")))?;
    state.app.set_member_role(&me.actor, id, user, role).await?;
    Ok(see_other(&format!("/communities/{id}/members")))
}

/// `POST /communities/{id}/members/{user}/remove`.
pub(crate) async fn remove(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, user)): Path<(String, String)>,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let id = CommunityId(parse_id(&id)?);
    let user = UserId(parse_id(&user)?);
    let me = visitor.require()?;
    state.app.remove_member(&me.actor, id, user).await?;
    Ok(see_other(&format!("/communities/{id}/members")))
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    layout: Layout,
    community_name: String,
    code: String,
    /// The profile fields joining asks.
    fields: Vec<FieldInput>,
    error: Option<String>,
    /// What joining collects, and why (the notice at collection).
    notice: crate::pages::CollectionNotice,
    /// The age questions, where the community asks.
    age: crate::pages::ages::AgeForm,
}

/// `GET /invite/{code}`: asks the signed-in visitor to accept. Only a well-formed code is
/// shown back, and the form posts it as a field to a fixed address: a code crafted with
/// `../` cannot aim the page's form (and its token) at another action.
pub(crate) async fn invite_page(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    visitor.require()?;
    let code = hearth_core::validate::invite_code(&code).map_err(|_| PageError::not_found())?;
    let (community, fields) = state.app.invite_preview(&code).await?;
    let notice =
        crate::pages::communities::join_notice(&state, community.id, &fields, Some(&code)).await?;
    let me = visitor.require()?;
    let policy = state
        .app
        .age_policy(Some(&me.actor), community.id, Some(&code))
        .await?;
    let page = InvitePage {
        layout: Layout::new("Invitation", &visitor),
        community_name: community.name,
        code,
        fields: inputs(fields, &[]),
        error: None,
        notice,
        age: AgeForm::of(policy, &AgeAnswer::default()),
    };
    Ok(render(&page, &visitor))
}

/// `POST /invite`: joins the community the invitation opens, answering its profile fields.
pub(crate) async fn accept(
    State(state): State<WebState>,
    visitor: Visitor,
    OverHttps(https): OverHttps,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (token, answers) = answers_from_form(&form, None);
    visitor.check_form(&token)?;
    let me = visitor.require()?;
    let code = form
        .iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let age = answer_from_form(&form);
    // A browser the community refused for age today meets the same refusal.
    let (community, _) = state.app.invite_preview(&code).await?;
    let accepted = match refused_here_before(&headers, community.id) {
        Ok(()) => {
            state
                .app
                .accept_invite(&me.actor, &code, answers.clone(), age.clone())
                .await
        }
        Err(refused) => Err(refused),
    };
    match accepted {
        Ok((community, Joining::Joined)) => {
            Ok(see_other(&format!("/communities/{}", community.id)))
        }
        Ok((community, Joining::AwaitingParent)) => Ok(parent_asked(&visitor, community.name)),
        // Refused for its answers or the age given: the form again, as it was filled in,
        // saying why.
        Err(error) if crate::pages::communities::refused_for_form(&error) => {
            let for_age = hearth_app::refused_for_age(&error);
            let error = ApiError::from(error);
            let (community, fields) = state.app.invite_preview(&code).await?;
            let notice =
                crate::pages::communities::join_notice(&state, community.id, &fields, Some(&code))
                    .await?;
            let policy = state
                .app
                .age_policy(Some(&me.actor), community.id, Some(&code))
                .await?;
            let page = InvitePage {
                layout: Layout::new("Invitation", &visitor),
                community_name: community.name,
                code,
                fields: inputs(fields, &answers),
                error: Some(form_error(&error)),
                notice,
                age: AgeForm::of(policy, &crate::pages::communities::retry_with(&error, age)),
            };
            let mut response = render_with_status(error.status(), &page, &visitor);
            if for_age {
                remember_refusal(&mut response, community.id, https);
            }
            Ok(response)
        }
        Err(error) => Err(error.into()),
    }
}
