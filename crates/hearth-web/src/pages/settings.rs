//! Account settings: the shown name, the password, and personal API tokens.

use crate::WebState;
use crate::pages::accounts::form_error;
use crate::pages::chat::{clock_time, read_field};
use crate::pages::{Layout, PageError, TokenOnly, Visitor, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_core::{PageSize, Timestamp, TokenId};
use serde::Deserialize;

/// An API token as the page lists it.
struct TokenView {
    id: TokenId,
    name: String,
    created: String,
    last_used: String,
    revoked: bool,
}

pub(crate) fn day_and_time(at: Timestamp) -> String {
    let date = at.to_datetime().date();
    format!("{date} {} UTC", clock_time(at))
}

/// A signed-in session as the page lists it.
struct SessionView {
    id: String,
    created: String,
    last_used: String,
    current: bool,
    device: String,
    network: Option<String>,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    display_name: String,
    about: String,
    avatar: Option<String>,
    avatar_limit: String,
    username: String,
    email: String,
    email_confirmed: bool,
    pending_email: Option<String>,
    two_factor_on: bool,
    recovery_codes_left: i64,
    /// Identity providers the account is linked to: issuer, when.
    linked: Vec<(String, String)>,
    provider: Option<String>,
    tokens: Vec<TokenView>,
    sessions: Vec<SessionView>,
    /// A token just created: its secret, shown this once.
    new_token: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

/// What to say on the page after a form.
#[derive(Default)]
struct Outcome {
    new_token: Option<String>,
    notice: Option<&'static str>,
    error: Option<ApiError>,
}

impl Outcome {
    fn failed(error: hearth_app::AppError) -> Self {
        Self {
            error: Some(error.into()),
            ..Self::default()
        }
    }
}

/// The settings page saying why a form on it was refused.
pub(crate) async fn with_error(
    state: &WebState,
    visitor: &Visitor,
    error: hearth_app::AppError,
) -> Result<Response, PageError> {
    settings_page(state, visitor, Outcome::failed(error)).await
}

async fn settings_page(
    state: &WebState,
    visitor: &Visitor,
    outcome: Outcome,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let account = state.app.me(&me.actor).await?;
    let tokens = state
        .app
        .tokens(&me.actor, None, PageSize::requested(Some(PageSize::MAX))?)
        .await?;
    let sessions = state.app.sessions(&me.actor).await?;
    let pending_email = state.app.pending_email(&me.actor).await?;
    let two_factor = state.app.two_factor_status(&me.actor).await?;
    let linked = state
        .app
        .linked_identities(&me.actor)
        .await?
        .into_iter()
        .map(|(issuer, at)| (issuer, day_and_time(at)))
        .collect();
    let page = SettingsPage {
        sessions: sessions
            .into_iter()
            .map(|s| SessionView {
                id: s.id,
                created: day_and_time(s.created_at),
                last_used: day_and_time(s.last_seen_at),
                current: s.current,
                device: s.device,
                network: s.network,
            })
            .collect(),
        layout: Layout::new("Account settings", visitor),
        display_name: account.display_name,
        about: account.about,
        avatar: account
            .avatar_id
            .map(|v| format!("/api/v1/users/{}/avatar?v={v}", account.id)),
        avatar_limit: format!("{} MiB", state.app.max_avatar_bytes() / (1024 * 1024)),
        username: account.username,
        email: account.email,
        email_confirmed: account.email_verified,
        two_factor_on: two_factor.enabled,
        linked,
        provider: state.app.oidc_name().map(str::to_string),
        recovery_codes_left: two_factor.recovery_codes_left,
        pending_email,
        tokens: tokens
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                name: t.name,
                created: day_and_time(t.created_at),
                last_used: t
                    .last_used_at
                    .map(day_and_time)
                    .unwrap_or_else(|| "never".into()),
                revoked: t.revoked_at.is_some(),
            })
            .collect(),
        new_token: outcome.new_token,
        notice: outcome.notice.map(str::to_string),
        error: outcome.error.as_ref().map(form_error),
    };
    let status = outcome.error.map_or(StatusCode::OK, |e| e.status());
    Ok(render_with_status(status, &page, visitor))
}

#[derive(Deserialize)]
pub(crate) struct SettingsQuery {
    changed: Option<String>,
}

/// `GET /settings` (`?changed=password` after a password change).
pub(crate) async fn show(
    State(state): State<WebState>,
    visitor: Visitor,
    Query(query): Query<SettingsQuery>,
) -> Result<Response, PageError> {
    let outcome = Outcome {
        notice: match query.changed.as_deref() {
            Some("password") => {
                Some("Your password is changed; you are signed out everywhere else.")
            }
            Some("profile") => Some("Your profile is saved."),
            Some("avatar") => Some("Your picture is changed."),
            Some("sessions") => Some("Signed out."),
            Some("email") => Some(
                "We mailed a link to the new address: your account moves there once it is used.",
            ),
            Some("confirmation") => Some("We mailed you a new confirmation link."),
            Some("email-kept") => Some("The change of address is cancelled."),
            Some("unlinked") => Some("Your account is no longer linked to single sign-on."),
            Some("two-factor-off") => Some("Two-factor sign-in is off."),
            _ => None,
        },
        ..Outcome::default()
    };
    settings_page(&state, &visitor, outcome).await
}

#[derive(Deserialize)]
pub(crate) struct ProfileForm {
    form_token: String,
    display_name: String,
    #[serde(default)]
    about: String,
}

/// `POST /settings/profile`.
pub(crate) async fn profile(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<ProfileForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    match state
        .app
        .update_profile(&me.actor, Some(&form.display_name), Some(&form.about))
        .await
    {
        Ok(_) => Ok(see_other("/settings?changed=profile")),
        Err(error) => settings_page(&state, &visitor, Outcome::failed(error)).await,
    }
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    form_token: String,
    current_password: String,
    new_password: String,
    #[serde(default)]
    keep_tokens: Option<String>,
}

/// `POST /settings/password`: ends the other sessions, and revokes the API tokens unless
/// asked to keep them.
pub(crate) async fn password(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    match state
        .app
        .change_password(
            &me.actor,
            form.current_password,
            form.new_password,
            form.keep_tokens.is_none(),
        )
        .await
    {
        // Reloading the page that follows must not send the change again.
        Ok(()) => Ok(see_other("/settings?changed=password")),
        Err(error) => settings_page(&state, &visitor, Outcome::failed(error)).await,
    }
}

#[derive(Deserialize)]
pub(crate) struct EmailForm {
    form_token: String,
    email: String,
    password: String,
}

/// `POST /settings/email`: mails a link to the new address.
pub(crate) async fn email(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<EmailForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    match state
        .app
        .request_email_change(&me.actor, &form.email, form.password)
        .await
    {
        Ok(()) => Ok(see_other("/settings?changed=email")),
        Err(error) => settings_page(&state, &visitor, Outcome::failed(error)).await,
    }
}

/// `POST /settings/identities/unlink`: signing in through the identity provider no longer
/// signs in to this account.
pub(crate) async fn unlink_identities(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    match state.app.unlink_identities(&me.actor).await {
        Ok(()) => Ok(see_other("/settings?changed=unlinked")),
        Err(error) => settings_page(&state, &visitor, Outcome::failed(error)).await,
    }
}

/// `POST /settings/email/cancel`: the pending change of address is dropped.
pub(crate) async fn cancel_email_change(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    match state.app.cancel_email_change(&me.actor).await {
        Ok(()) => Ok(see_other("/settings?changed=email-kept")),
        Err(error) => settings_page(&state, &visitor, Outcome::failed(error)).await,
    }
}

/// `POST /settings/email/confirmation`: mails the confirmation link again.
pub(crate) async fn resend_confirmation(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    match state.app.resend_confirmation(&me.actor).await {
        Ok(()) => Ok(see_other("/settings?changed=confirmation")),
        Err(error) => settings_page(&state, &visitor, Outcome::failed(error)).await,
    }
}

#[derive(Deserialize)]
pub(crate) struct TokenForm {
    form_token: String,
    name: String,
}

/// `POST /settings/tokens`: makes a token and shows its secret once.
pub(crate) async fn create_token(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let outcome = match state.app.create_token(&me.actor, &form.name).await {
        Ok((_, secret)) => Outcome {
            new_token: Some(secret),
            ..Outcome::default()
        },
        Err(error) => Outcome::failed(error),
    };
    settings_page(&state, &visitor, outcome).await
}

/// `POST /settings/tokens/{id}/revoke`.
pub(crate) async fn revoke_token(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let id = TokenId(crate::pages::chat::parse_id(&id)?);
    state.app.revoke_token(&me.actor, id).await?;
    Ok(see_other("/settings"))
}

/// Room for the form's other fields around the picture.
const AVATAR_FORM_SLACK: usize = 16 * 1024;

/// The largest body the picture form may send.
pub(crate) fn avatar_body_limit() -> usize {
    hearth_app::MAX_AVATAR_BYTES + AVATAR_FORM_SLACK
}

/// `POST /settings/avatar` (multipart): replaces the visitor's picture. The form's token must
/// come before the file, as the page sends it.
pub(crate) async fn avatar(
    State(state): State<WebState>,
    visitor: Visitor,
    mut parts: axum::extract::Multipart,
) -> Result<Response, PageError> {
    let unreadable = || PageError::bad_request("the form could not be read");
    let me = visitor.require()?;
    let mut token_checked = false;
    let mut outcome = None;
    while let Some(mut field) = parts.next_field().await.map_err(|_| unreadable())? {
        match field.name() {
            Some("form_token") => {
                let token = read_field(&mut field, 256).await?.ok_or_else(unreadable)?;
                visitor.check_form(&String::from_utf8_lossy(&token))?;
                token_checked = true;
            }
            Some("avatar") if token_checked => {
                let limit = state.app.max_avatar_bytes();
                outcome = Some(match read_field(&mut field, limit).await? {
                    Some(bytes) => state.app.set_avatar(&me.actor, &bytes).await.map(|_| ()),
                    None => Err(hearth_core::DomainError::TooLarge {
                        limit_bytes: limit as u64,
                    }
                    .into()),
                });
            }
            Some("avatar") => return Err(PageError::FormExpired),
            _ => {}
        }
    }
    match outcome {
        Some(Ok(())) => Ok(see_other("/settings?changed=avatar")),
        Some(Err(error)) => settings_page(&state, &visitor, Outcome::failed(error)).await,
        None => Err(unreadable()),
    }
}

/// `POST /settings/avatar/remove`.
pub(crate) async fn remove_avatar(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    state.app.remove_avatar(&me.actor).await?;
    Ok(see_other("/settings?changed=avatar"))
}

/// `POST /settings/sessions/{id}/end`: signs one of the visitor's other sessions out.
pub(crate) async fn end_session(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    state.app.end_session(&me.actor, &id).await?;
    Ok(see_other("/settings?changed=sessions"))
}

/// `POST /settings/sessions/end-others`: signs out everywhere but this browser.
pub(crate) async fn end_other_sessions(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    state.app.end_other_sessions(&me.actor).await?;
    Ok(see_other("/settings?changed=sessions"))
}
