//! Community profiles: the custom profile fields admins define, the answers members give (at
//! join, and on their community profile), and a member's profile as others in the community
//! see it.

use crate::WebState;
use crate::pages::accounts::form_error;
use crate::pages::chat::parse_id;
use crate::pages::{Layout, PageError, Visitor, render, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_app::Answers;
use hearth_core::catalog::Category;
use hearth_core::model::Community;
use hearth_core::permissions::{Action, allows};
use hearth_core::profile::{
    self, FieldDefinition, FieldKind, FieldVisibility, ProfileAnswer, ProfileField,
};
use hearth_core::{CommunityId, ProfileFieldId, UserId};

/// A field as a form asks it, with what the member answered so far.
pub(crate) struct FieldInput {
    pub id: ProfileFieldId,
    pub label: String,
    pub help: String,
    /// The kind's stored spelling, which the template switches on.
    pub kind: &'static str,
    pub choices: Vec<String>,
    pub required: bool,
    pub value: String,
    pub admins_only: bool,
    pub category: &'static str,
    pub sensitive: bool,
}

impl FieldInput {
    /// Whether a checkbox is ticked.
    pub fn checked(&self) -> bool {
        self.value == "true"
    }
}

/// The inputs for `fields`, filled with `values` (the answers so far, or what a refused form
/// sent).
pub(crate) fn inputs(
    fields: Vec<ProfileField>,
    values: &[(ProfileFieldId, String)],
) -> Vec<FieldInput> {
    fields
        .into_iter()
        .map(|f| FieldInput {
            value: values
                .iter()
                .find(|(id, _)| *id == f.id)
                .map(|(_, v)| match f.kind {
                    // A ticked box comes back from a form as "on".
                    FieldKind::Checkbox if v == "on" => "true".to_string(),
                    _ => v.clone(),
                })
                .unwrap_or_default(),
            id: f.id,
            label: f.label,
            help: f.help,
            kind: f.kind.as_str(),
            choices: f.choices,
            required: f.required,
            admins_only: f.visibility == FieldVisibility::Admins,
            category: f.category.label(),
            sensitive: f.sensitive,
        })
        .collect()
}

/// The form's token and its answers: the `field_<id>` inputs. With `every_field`, fields the
/// form left out (an unticked box) count as answered empty, since the form showed them all.
pub(crate) fn answers_from_form(
    form: &[(String, String)],
    every_field: Option<&[ProfileField]>,
) -> (String, Answers) {
    let token = form
        .iter()
        .find(|(k, _)| k == "form_token")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut answers: Answers = form
        .iter()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix("field_")?.parse().ok()?;
            Some((ProfileFieldId(id), v.clone()))
        })
        .collect();
    if let Some(fields) = every_field {
        for field in fields {
            if !answers.iter().any(|(id, _)| *id == field.id) {
                answers.push((field.id, String::new()));
            }
        }
    }
    (token, answers)
}

#[derive(Template)]
#[template(path = "community_profile.html")]
struct MyAnswersPage {
    layout: Layout,
    community: Community,
    fields: Vec<FieldInput>,
    saved: bool,
    error: Option<String>,
}

/// `GET /communities/{id}/profile`: the visitor's answers to the community's fields.
pub(crate) async fn my_answers(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<SavedQuery>,
) -> Result<Response, PageError> {
    let id = CommunityId(parse_id(&id)?);
    let me = visitor.require()?;
    let (community, role) = state.app.community(&me.actor, id).await?;
    role.ok_or_else(PageError::not_found)?;
    let fields = state.app.profile_fields(&me.actor, id).await?;
    let answers = state
        .app
        .profile_answers(&me.actor, id, me.actor.user)
        .await?;
    let values: Vec<_> = answers.into_iter().map(|a| (a.field_id, a.value)).collect();
    let page = MyAnswersPage {
        layout: Layout::new(format!("Your profile · {}", community.name), &visitor),
        community,
        fields: inputs(fields, &values),
        saved: query.saved.is_some(),
        error: None,
    };
    Ok(render(&page, &visitor))
}

#[derive(serde::Deserialize)]
pub(crate) struct SavedQuery {
    saved: Option<String>,
}

/// `POST /communities/{id}/profile`: saves the visitor's answers.
pub(crate) async fn save_answers(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id = CommunityId(parse_id(&id)?);
    let me = visitor.require()?;
    let fields = state.app.profile_fields(&me.actor, id).await?;
    let (token, answers) = answers_from_form(&form, Some(&fields));
    visitor.check_form(&token)?;
    match state
        .app
        .set_profile_answers(&me.actor, id, answers.clone())
        .await
    {
        Ok(_) => Ok(see_other(&format!("/communities/{id}/profile?saved=1"))),
        Err(error) => {
            let error = ApiError::from(error);
            let (community, _) = state.app.community(&me.actor, id).await?;
            let page = MyAnswersPage {
                layout: Layout::new(format!("Your profile · {}", community.name), &visitor),
                community,
                fields: inputs(fields, &answers),
                saved: false,
                error: Some(form_error(&error)),
            };
            Ok(render_with_status(error.status(), &page, &visitor))
        }
    }
}

#[derive(Template)]
#[template(path = "member.html")]
struct MemberPage {
    layout: Layout,
    community: Community,
    id: UserId,
    display_name: String,
    username: String,
    about: String,
    avatar: Option<String>,
    answers: Vec<ProfileAnswer>,
    is_me: bool,
}

/// `GET /communities/{id}/members/{user}`: a member's profile in the community, with the
/// answers the visitor may see.
pub(crate) async fn member(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, user)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = CommunityId(parse_id(&id)?);
    let user = UserId(parse_id(&user)?);
    let me = visitor.require()?;
    let (community, role) = state.app.community(&me.actor, id).await?;
    role.ok_or_else(PageError::not_found)?;
    let answers = state.app.profile_answers(&me.actor, id, user).await?;
    let profile = state.app.profile(&me.actor, user).await?;
    let page = MemberPage {
        layout: Layout::new(
            format!("{} · {}", profile.user.display_name, community.name),
            &visitor,
        ),
        community,
        id: user,
        avatar: profile
            .avatar_id
            .map(|v| format!("/api/v1/users/{user}/avatar?v={v}")),
        display_name: profile.user.display_name,
        username: profile.user.username,
        about: profile.about,
        answers,
        is_me: user == me.actor.user,
    };
    Ok(render(&page, &visitor))
}

/// A field's definition as the admin form shows it.
struct DefinitionView {
    label: String,
    help: String,
    kind: &'static str,
    choices: String,
    required: bool,
    admins_only: bool,
    category: &'static str,
}

impl DefinitionView {
    fn blank() -> Self {
        Self {
            label: String::new(),
            help: String::new(),
            kind: FieldKind::Text.as_str(),
            choices: String::new(),
            required: false,
            admins_only: false,
            category: Category::Identifiers.code(),
        }
    }

    fn of(field: &ProfileField) -> Self {
        Self {
            label: field.label.clone(),
            help: field.help.clone(),
            kind: field.kind.as_str(),
            choices: field.choices.join("\n"),
            required: field.required,
            admins_only: field.visibility == FieldVisibility::Admins,
            category: field.category.code(),
        }
    }

    fn of_form(form: &DefinitionForm) -> Self {
        Self {
            label: form.label.clone(),
            help: form.help.clone(),
            kind: FieldKind::parse(&form.kind).map_or("text", FieldKind::as_str),
            choices: form.choices.clone(),
            required: form.required.is_some(),
            admins_only: form.visibility == "admins",
            category: Category::from_code(&form.category).map_or("", Category::code),
        }
    }
}

/// A field as the admin list shows it.
struct FieldRow {
    id: ProfileFieldId,
    label: String,
    kind: &'static str,
    required: bool,
    admins_only: bool,
    category: &'static str,
    sensitive: bool,
}

/// The kinds and categories the definition form offers: (value, label).
struct Options {
    kinds: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, String)>,
}

impl Options {
    fn new() -> Self {
        Self {
            kinds: FieldKind::ALL
                .iter()
                .map(|k| (k.as_str(), k.label()))
                .collect(),
            categories: Category::for_profile_fields()
                .map(|c| {
                    let label = if c.always_sensitive() {
                        format!("{} (sensitive)", c.label())
                    } else {
                        c.label().to_string()
                    };
                    (c.code(), label)
                })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "profile_fields.html")]
struct FieldsPage {
    layout: Layout,
    community: Community,
    fields: Vec<FieldRow>,
    new: DefinitionView,
    options: Options,
    error: Option<String>,
}

/// The community, for one who may manage its fields.
async fn as_field_manager(
    state: &WebState,
    visitor: &Visitor,
    id: CommunityId,
) -> Result<Community, PageError> {
    let me = visitor.require()?;
    let (community, role) = state.app.community(&me.actor, id).await?;
    let role = role.ok_or_else(PageError::not_found)?;
    if !allows(role, Action::ManageProfileFields) {
        return Err(PageError::Problem(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Only the community's admins define its profile fields",
        )));
    }
    Ok(community)
}

async fn fields_page(
    state: &WebState,
    visitor: &Visitor,
    id: CommunityId,
    new: DefinitionView,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let community = as_field_manager(state, visitor, id).await?;
    let fields = state.app.profile_fields(&me.actor, id).await?;
    let page = FieldsPage {
        layout: Layout::new(format!("Profile fields · {}", community.name), visitor),
        community,
        fields: fields
            .into_iter()
            .map(|f| FieldRow {
                id: f.id,
                label: f.label,
                kind: f.kind.label(),
                required: f.required,
                admins_only: f.visibility == FieldVisibility::Admins,
                category: f.category.label(),
                sensitive: f.sensitive,
            })
            .collect(),
        new,
        options: Options::new(),
        error: error.as_ref().map(form_error),
    };
    let status = error.map_or(StatusCode::OK, |e| e.status());
    Ok(render_with_status(status, &page, visitor))
}

/// `GET /communities/{id}/fields`: the community's profile fields, and a form to add one.
pub(crate) async fn fields(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = CommunityId(parse_id(&id)?);
    if let Some(to) = crate::pages::terms::terms_gate(&state, &visitor, id).await? {
        return Ok(to);
    }
    fields_page(&state, &visitor, id, DefinitionView::blank(), None).await
}

/// The definition form.
#[derive(serde::Deserialize)]
pub(crate) struct DefinitionForm {
    form_token: String,
    label: String,
    #[serde(default)]
    help: String,
    kind: String,
    /// One choice per line.
    #[serde(default)]
    choices: String,
    required: Option<String>,
    visibility: String,
    category: String,
}

impl DefinitionForm {
    fn definition(&self) -> Result<FieldDefinition, PageError> {
        let kind =
            FieldKind::parse(&self.kind).ok_or_else(|| PageError::bad_request("unknown kind"))?;
        let visibility = FieldVisibility::parse(&self.visibility)
            .ok_or_else(|| PageError::bad_request("unknown visibility"))?;
        let category = Category::from_code(&self.category)
            .ok_or_else(|| PageError::bad_request("unknown category"))?;
        let choices: Vec<String> = self.choices.lines().map(str::to_string).collect();
        Ok(profile::definition(
            &self.label,
            &self.help,
            kind,
            &choices,
            self.required.is_some(),
            visibility,
            category,
        )?)
    }
}

/// `POST /communities/{id}/fields`: defines a field.
pub(crate) async fn create_field(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<DefinitionForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let id = CommunityId(parse_id(&id)?);
    let me = visitor.require()?;
    let created = match form.definition() {
        Ok(definition) => state
            .app
            .create_profile_field(&me.actor, id, definition)
            .await
            .map_err(ApiError::from),
        Err(PageError::Problem(problem)) => Err(problem),
        Err(other) => return Err(other),
    };
    match created {
        Ok(_) => Ok(see_other(&format!("/communities/{id}/fields"))),
        Err(error) => {
            fields_page(
                &state,
                &visitor,
                id,
                DefinitionView::of_form(&form),
                Some(error),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "profile_field.html")]
struct FieldPage {
    layout: Layout,
    community: Community,
    field_id: ProfileFieldId,
    kind_label: &'static str,
    current: DefinitionView,
    options: Options,
    error: Option<String>,
}

async fn field_page(
    state: &WebState,
    visitor: &Visitor,
    (id, field): (CommunityId, ProfileFieldId),
    shown: Option<DefinitionView>,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let community = as_field_manager(state, visitor, id).await?;
    let stored = state
        .app
        .profile_fields(&me.actor, id)
        .await?
        .into_iter()
        .find(|f| f.id == field)
        .ok_or_else(PageError::not_found)?;
    let page = FieldPage {
        layout: Layout::new(format!("{} · Profile fields", stored.label), visitor),
        community,
        field_id: field,
        kind_label: stored.kind.label(),
        current: shown.unwrap_or_else(|| DefinitionView::of(&stored)),
        options: Options::new(),
        error: error.as_ref().map(form_error),
    };
    let status = error.map_or(StatusCode::OK, |e| e.status());
    Ok(render_with_status(status, &page, visitor))
}

/// `GET /communities/{id}/fields/{field}`: a field's definition, to change.
pub(crate) async fn field(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, field)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let ids = (
        CommunityId(parse_id(&id)?),
        ProfileFieldId(parse_id(&field)?),
    );
    field_page(&state, &visitor, ids, None, None).await
}

/// `POST /communities/{id}/fields/{field}`: changes a field.
pub(crate) async fn update_field(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, field)): Path<(String, String)>,
    Form(form): Form<DefinitionForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let ids = (
        CommunityId(parse_id(&id)?),
        ProfileFieldId(parse_id(&field)?),
    );
    let me = visitor.require()?;
    let updated = match form.definition() {
        Ok(definition) => state
            .app
            .update_profile_field(&me.actor, ids.0, ids.1, definition)
            .await
            .map_err(ApiError::from),
        Err(PageError::Problem(problem)) => Err(problem),
        Err(other) => return Err(other),
    };
    match updated {
        Ok(_) => Ok(see_other(&format!("/communities/{}/fields", ids.0))),
        Err(error) => {
            let shown = DefinitionView::of_form(&form);
            field_page(&state, &visitor, ids, Some(shown), Some(error)).await
        }
    }
}

/// `POST /communities/{id}/fields/{field}/delete`: deletes a field and its answers.
pub(crate) async fn delete_field(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, field)): Path<(String, String)>,
    Form(form): Form<crate::pages::TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let (id, field) = (
        CommunityId(parse_id(&id)?),
        ProfileFieldId(parse_id(&field)?),
    );
    let me = visitor.require()?;
    state.app.delete_profile_field(&me.actor, id, field).await?;
    Ok(see_other(&format!("/communities/{id}/fields")))
}
