//! People: a community's members, a member's profile, and one's direct conversations.

use crate::WebState;
use crate::pages::chat::{ChannelLink, direct_links, parse_id};
use crate::pages::communities::role_name;
use crate::pages::{Layout, PageError, Visitor, render, see_other};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use hearth_core::{ChannelId, CommunityId, PageSize, UserId};
use serde::Deserialize;

/// A member as the list shows them.
struct MemberView {
    id: UserId,
    display_name: String,
    username: String,
    role: &'static str,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    layout: Layout,
    community_id: CommunityId,
    community_name: String,
    members: Vec<MemberView>,
}

/// `GET /communities/{id}/members`: who belongs, with their roles (members only).
pub(crate) async fn members(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = CommunityId(parse_id(&id)?);
    let me = visitor.require()?;
    let (community, _) = state.app.community(&me.actor, id).await?;
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
            .map(|m| MemberView {
                id: m.user.id,
                display_name: m.user.display_name,
                username: m.user.username,
                role: role_name(m.role),
            })
            .collect(),
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
    let user = state.app.user(&me.actor, id).await?;
    let page = ProfilePage {
        layout: Layout::new(user.display_name.clone(), &visitor),
        id,
        display_name: user.display_name,
        username: user.username,
        is_me: id == me.actor.user,
    };
    Ok(render(&page, &visitor))
}

#[derive(Template)]
#[template(path = "direct.html")]
struct DirectPage {
    layout: Layout,
    conversations: Vec<ChannelLink>,
}

/// `GET /direct`: one's direct conversations.
pub(crate) async fn direct(
    State(state): State<WebState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let conversations = direct_links(&state.app, &me.actor, ChannelId(0)).await?;
    let page = DirectPage {
        layout: Layout::new("Direct messages", &visitor),
        conversations,
    };
    Ok(render(&page, &visitor))
}

#[derive(Deserialize)]
pub(crate) struct OpenForm {
    form_token: String,
    with: String,
}

/// `POST /direct`: opens (or finds) the conversation with one person.
pub(crate) async fn open(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<OpenForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let with = UserId(parse_id(&form.with)?);
    let conversation = state.app.open_direct(&me.actor, vec![with]).await?;
    Ok(see_other(&format!("/channels/{}", conversation.id)))
}
