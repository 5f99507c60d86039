//! People: a community's members, a member's profile, and one's direct conversations.

use crate::WebState;
use crate::pages::accounts::form_error;
use crate::pages::chat::{ChannelLink, direct_links, parse_id};
use crate::pages::communities::role_name;
use crate::pages::{Layout, PageError, Visitor, render, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_core::model::Role;
use hearth_core::permissions::{Action, allows, may_assign, may_remove};
use hearth_core::{ChannelId, CommunityId, PageSize, UserId};
use serde::Deserialize;

/// The roles a member may be given on the members page (ownership moves by transfer).
const ASSIGNABLE: [Role; 3] = [Role::Admin, Role::Moderator, Role::Member];

/// A member as the list shows them.
struct MemberView {
    id: UserId,
    display_name: String,
    username: String,
    role: &'static str,
    /// The roles the visitor may give them (value, label); empty if none.
    assignable: Vec<(&'static str, &'static str)>,
    /// Whether the visitor may remove them.
    removable: bool,
    /// Whether the visitor (the owner) may hand them the community.
    may_inherit: bool,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    layout: Layout,
    community_id: CommunityId,
    community_name: String,
    members: Vec<MemberView>,
    may_manage: bool,
}

/// `GET /communities/{id}/members`: who belongs, with their roles (members only).
pub(crate) async fn members(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = CommunityId(parse_id(&id)?);
    let me = visitor.require()?;
    let (community, my_role) = state.app.community(&me.actor, id).await?;
    let my_role = my_role.ok_or_else(PageError::not_found)?;
    let members = state
        .app
        .members(
            &me.actor,
            id,
            None,
            PageSize::requested(Some(PageSize::MAX))?,
        )
        .await?;
    let page = MembersPage {
        layout: Layout::new(format!("Members · {}", community.name), &visitor),
        community_id: id,
        community_name: community.name,
        members: members
            .into_iter()
            .map(|m| {
                let assignable = if m.user.id == me.actor.user {
                    Vec::new()
                } else {
                    ASSIGNABLE
                        .iter()
                        .filter(|r| **r == m.role || may_assign(my_role, m.role, **r))
                        .map(|r| (r.as_str(), role_name(*r)))
                        .collect::<Vec<_>>()
                };
                MemberView {
                    id: m.user.id,
                    display_name: m.user.display_name,
                    username: m.user.username,
                    role: role_name(m.role),
                    // Only the current role: nothing to change.
                    assignable: if assignable.len() > 1 {
                        assignable
                    } else {
                        Vec::new()
                    },
                    removable: m.user.id != me.actor.user && may_remove(my_role, m.role),
                    may_inherit: my_role == Role::Owner && m.user.id != me.actor.user,
                }
            })
            .collect(),
        may_manage: allows(my_role, Action::EditSettings),
    };
    Ok(render(&page, &visitor))
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    layout: Layout,
    id: UserId,
    display_name: String,
    username: String,
    about: String,
    avatar: Option<String>,
    is_me: bool,
}

/// `GET /users/{id}`: someone one shares a community or conversation with.
pub(crate) async fn profile(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = UserId(parse_id(&id)?);
    let me = visitor.require()?;
    let profile = state.app.profile(&me.actor, id).await?;
    let page = ProfilePage {
        layout: Layout::new(profile.user.display_name.clone(), &visitor),
        id,
        display_name: profile.user.display_name,
        username: profile.user.username,
        about: profile.about,
        avatar: profile
            .avatar_id
            .map(|v| format!("/api/v1/users/{id}/avatar?v={v}")),
        is_me: id == me.actor.user,
    };
    Ok(render(&page, &visitor))
}

#[derive(Template)]
#[template(path = "direct.html")]
struct DirectPage {
    layout: Layout,
    conversations: Vec<ChannelLink>,
    /// What was typed in "New conversation", kept when it is refused.
    usernames: String,
    error: Option<String>,
}

async fn direct_page(
    state: &WebState,
    visitor: &Visitor,
    usernames: String,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let conversations = direct_links(&state.app, &me.actor, ChannelId(0)).await?;
    let page = DirectPage {
        layout: Layout::new("Direct messages", visitor),
        conversations,
        usernames,
        error: error.as_ref().map(form_error),
    };
    let status = error.map_or(StatusCode::OK, |e| e.status());
    Ok(render_with_status(status, &page, visitor))
}

/// `GET /direct`: one's direct conversations, and a form to start one with several people.
pub(crate) async fn direct(
    State(state): State<WebState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    direct_page(&state, &visitor, String::new(), None).await
}

#[derive(Deserialize)]
pub(crate) struct OpenForm {
    form_token: String,
    /// One person's id (a profile's "Send a direct message").
    with: Option<String>,
    /// Usernames, separated by spaces or commas ("New conversation").
    usernames: Option<String>,
}

/// `POST /direct`: opens (or finds) the conversation with one person, or with the people
/// named.
pub(crate) async fn open(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<OpenForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let opened = match (&form.with, &form.usernames) {
        (Some(with), _) => {
            let with = UserId(parse_id(with)?);
            state.app.open_direct(&me.actor, vec![with]).await
        }
        (None, Some(typed)) => {
            let names: Vec<String> = typed
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect();
            match state.app.people_named(&me.actor, &names).await {
                Ok(people) => state.app.open_direct(&me.actor, people).await,
                Err(error) => Err(error),
            }
        }
        (None, None) => return Err(PageError::bad_request("name someone to talk to")),
    };
    match opened {
        Ok(conversation) => Ok(see_other(&format!("/channels/{}", conversation.id))),
        Err(error) => {
            let problem = ApiError::from(error);
            if problem.status() != StatusCode::UNPROCESSABLE_ENTITY {
                return Err(problem.into());
            }
            let typed = form.usernames.unwrap_or_default();
            direct_page(&state, &visitor, typed, Some(problem)).await
        }
    }
}

#[derive(Template)]
#[template(path = "transfer.html")]
struct TransferPage {
    layout: Layout,
    community_id: CommunityId,
    community_name: String,
    heir_id: UserId,
    heir_name: String,
}

/// `GET /communities/{id}/transfer/{user}`: the owner confirms handing the community to
/// another member.
pub(crate) async fn transfer_page(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, user)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = CommunityId(parse_id(&id)?);
    let heir = UserId(parse_id(&user)?);
    let me = visitor.require()?;
    let (community, my_role) = state.app.community(&me.actor, id).await?;
    if my_role != Some(Role::Owner) || heir == me.actor.user {
        return Err(PageError::not_found());
    }
    // Anyone the owner shares a community with; the transfer itself insists on a member of
    // this one.
    let heir_name = state.app.user(&me.actor, heir).await?.display_name;
    let page = TransferPage {
        layout: Layout::new(format!("Transfer · {}", community.name), &visitor),
        community_id: id,
        community_name: community.name,
        heir_id: heir,
        heir_name,
    };
    Ok(render(&page, &visitor))
}

#[derive(Deserialize)]
pub(crate) struct TransferForm {
    form_token: String,
    user_id: String,
}

/// `POST /communities/{id}/transfer`: hands the community to another member; the old owner
/// stays on as an admin.
pub(crate) async fn transfer(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<TransferForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let id = CommunityId(parse_id(&id)?);
    let heir = UserId(parse_id(&form.user_id)?);
    let me = visitor.require()?;
    state.app.transfer_ownership(&me.actor, id, heir).await?;
    Ok(see_other(&format!("/communities/{id}/members")))
}
