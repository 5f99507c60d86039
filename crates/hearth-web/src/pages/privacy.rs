//! "My privacy": the signed-in person's choices about the sale and sharing of their personal
//! information and the use of their sensitive personal information, each made in one step and
//! withdrawn in two.

use crate::WebState;
use crate::pages::accounts::form_error;
use crate::pages::{Layout, PageError, Visitor, render_with_status, see_other};
use crate::problem::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_app::{Choice, ChoiceBy, ExportInfo, ExportRange, ExportState};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    layout: Layout,
    sale_opt_out: bool,
    sensitive_limit: bool,
    /// The person's requests: page, what, how, received, answered.
    requests: Vec<(String, String, String, String, String)>,
    /// The communities the person belongs to, whom a request may be asked of: id, name.
    communities: Vec<(String, String)>,
    /// What a correction may name: code, label.
    fields: Vec<(String, String)>,
    /// Their copies: page, what it covers, where it stands.
    exports: Vec<(String, String, &'static str)>,
    two_factor_on: bool,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct PrivacyQuery {
    changed: Option<String>,
}

pub(crate) async fn page(
    state: &WebState,
    visitor: &Visitor,
    notice: Option<&'static str>,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let account = state.app.me(&me.actor).await?;
    let requests = state
        .app
        .my_privacy_requests(&me.actor)
        .await?
        .into_iter()
        .map(|r| {
            let what = match r.kind {
                hearth_core::requests::RequestKind::OptOut => "Opt out of sale and sharing",
                hearth_core::requests::RequestKind::Limit => "Limit sensitive information",
                hearth_core::requests::RequestKind::Know => "Know what is held",
                hearth_core::requests::RequestKind::Access => "A copy of my data",
                hearth_core::requests::RequestKind::Delete => "Delete my data",
                hearth_core::requests::RequestKind::Correct => "Correct my data",
            };
            let how = match r.manner.as_str() {
                "signal" => "your browser's privacy signal",
                "api" => "the API",
                "operator" => "this Hearth's operator",
                "browser" => "this browser, before you signed in",
                "parent" => "your parent, withdrawing their consent",
                _ => "this page",
            };
            let answered = r
                .answered_at
                .map(crate::pages::settings::day_and_time)
                .unwrap_or_else(|| format!("due by {}", r.due));
            (
                format!("/privacy/requests/{}", r.id),
                what.to_string(),
                how.to_string(),
                crate::pages::settings::day_and_time(r.received_at),
                answered,
            )
        })
        .collect();
    let exports = state
        .app
        .my_exports(&me.actor)
        .await?
        .into_iter()
        .map(|export| {
            let stands = match export.state {
                ExportState::Preparing => "being made",
                ExportState::Ready => "ready to download",
                ExportState::Failed => "could not be made",
            };
            (
                format!("/privacy/exports/{}", export.id),
                covers(&export),
                stands,
            )
        })
        .collect();
    let two_factor_on = state.app.two_factor_status(&me.actor).await?.enabled;
    let (communities, fields) = askable(state, &me.actor).await?;
    let status = error.as_ref().map_or(StatusCode::OK, ApiError::status);
    let page = PrivacyPage {
        requests,
        communities,
        fields,
        exports,
        two_factor_on,
        layout: Layout::new("Your privacy choices", visitor),
        sale_opt_out: account.sale_opt_out,
        sensitive_limit: account.sensitive_limit,
        notice,
        error: error.as_ref().map(form_error),
    };
    Ok(render_with_status(status, &page, visitor))
}

/// The communities a request may be asked of (id, name), and what a correction may name
/// (code, label): one's own fields, one's answers to each community's questions, or
/// anything else.
async fn askable(
    state: &WebState,
    actor: &hearth_app::Actor,
) -> Result<(Vec<(String, String)>, Vec<(String, String)>), PageError> {
    let mine = state
        .app
        .my_communities(
            actor,
            None,
            hearth_core::PageSize::requested(Some(hearth_core::PageSize::MAX))?,
        )
        .await?;
    let mut fields = vec![
        ("display_name".to_string(), "Your display name".to_string()),
        (
            "about".to_string(),
            "The \"about\" text of your profile".to_string(),
        ),
    ];
    let mut communities = Vec::new();
    for (community, _) in mine {
        for field in state.app.profile_fields(actor, community.id).await? {
            fields.push((
                format!("profile:{}", field.id.0),
                format!("{}: {}", community.name, field.label),
            ));
        }
        communities.push((community.id.0.to_string(), community.name));
    }
    fields.push((
        "other".to_string(),
        "Something else (say what and where below)".to_string(),
    ));
    Ok((communities, fields))
}

/// `GET /privacy`.
pub(crate) async fn show(
    State(state): State<WebState>,
    visitor: Visitor,
    Query(query): Query<PrivacyQuery>,
) -> Result<Response, PageError> {
    let notice = query.changed.as_deref().map(|_| "Your choice is saved.");
    page(&state, &visitor, notice, None).await
}

#[derive(Deserialize)]
pub(crate) struct ChoiceForm {
    form_token: String,
    /// `sale_opt_out` or `sensitive_limit`.
    choice: String,
    /// `on` to make the choice, `off` to withdraw it.
    set: String,
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /privacy`: makes or withdraws one choice.
pub(crate) async fn choose(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<ChoiceForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let choice = match form.choice.as_str() {
        "sale_opt_out" => Choice::SaleOptOut,
        "sensitive_limit" => Choice::SensitiveLimit,
        _ => return Err(PageError::bad_request("no such choice")),
    };
    let on = form.set == "on";
    match state
        .app
        .set_privacy_choice(
            &me.actor,
            choice,
            on,
            form.confirm.is_some(),
            ChoiceBy::Page,
        )
        .await
    {
        Ok(_) => Ok(see_other("/privacy?changed=1")),
        Err(error) => page(&state, &visitor, None, Some(error.into())).await,
    }
}

#[derive(Template)]
#[template(path = "privacy_delete.html")]
struct DeletePage {
    layout: Layout,
    /// Communities the person owns, by name and path: each must be handed on first.
    owned: Vec<(String, String)>,
    /// Whom the request may be asked of: id, name.
    communities: Vec<(String, String)>,
    two_factor_on: bool,
    kept: Vec<hearth_core::catalog::KeptAfterErasure>,
    error: Option<String>,
}

async fn delete_page(
    state: &WebState,
    visitor: &Visitor,
    error: Option<ApiError>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let owned = state
        .app
        .communities_owned(&me.actor)
        .await?
        .into_iter()
        .map(|c| (c.name, format!("/communities/{}/settings", c.id)))
        .collect();
    let two_factor_on = state.app.two_factor_status(&me.actor).await?.enabled;
    let (communities, _) = askable(state, &me.actor).await?;
    let status = error.as_ref().map_or(StatusCode::OK, ApiError::status);
    let page = DeletePage {
        layout: Layout::new("Delete your account", visitor),
        owned,
        communities,
        two_factor_on,
        kept: hearth_core::catalog::kept_after_erasure(),
        error: error.as_ref().map(form_error),
    };
    Ok(render_with_status(status, &page, visitor))
}

/// `GET /privacy/delete`: what deleting the account does, and the form that does it.
pub(crate) async fn confirm_delete(
    State(state): State<WebState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    delete_page(&state, &visitor, None).await
}

#[derive(Deserialize)]
pub(crate) struct DeleteForm {
    form_token: String,
    password: String,
    #[serde(default)]
    code: Option<String>,
    /// The community asked, by id; empty: the operator.
    #[serde(default)]
    community: Option<String>,
}

#[derive(Template)]
#[template(path = "privacy_deleted.html")]
struct DeletedPage {
    layout: Layout,
    reference: String,
    completed: String,
    kept: Vec<hearth_core::catalog::KeptAfterErasure>,
    held: Vec<hearth_app::HeldPart>,
    kept_as_deleted_user: u64,
}

/// `POST /privacy/delete`: deletes the account and answers on the spot (the answer cannot be
/// mailed: the address is gone with the rest), signed out.
pub(crate) async fn delete(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<DeleteForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let made = match crate::pages::requests::community_of(form.community.as_deref()) {
        Ok(community) => state
            .app
            .make_request(
                &me.actor,
                hearth_app::NewRequest {
                    kind: hearth_core::requests::RequestKind::Delete,
                    community,
                    password: Some(form.password),
                    code: form.code.filter(|c| !c.is_empty()),
                    correction: None,
                    range: ExportRange::LastTwelveMonths,
                },
                ChoiceBy::Page,
            )
            .await
            .map_err(ApiError::from),
        Err(error) => Err(error),
    };
    let answer = match made {
        Ok(hearth_app::Outcome::Erased(answer)) => answer,
        Ok(other) => {
            let to = crate::pages::requests::after_request(&other).unwrap_or_default();
            return Ok(see_other(&to));
        }
        Err(error) => return delete_page(&state, &visitor, Some(error)).await,
    };
    let signed_out = Visitor {
        signed_in: None,
        form_token: String::new(),
        new_form_cookie: None,
        from_elsewhere: false,
        privacy_signal: visitor.privacy_signal,
    };
    let page = DeletedPage {
        layout: Layout::new("Your account is deleted", &signed_out),
        reference: answer.request_id.to_string(),
        completed: crate::pages::settings::day_and_time(answer.completed_at),
        kept: answer.kept,
        held: answer.held,
        kept_as_deleted_user: answer.kept_as_deleted_user,
    };
    let mut response = render_with_status(StatusCode::OK, &page, &signed_out);
    response.headers_mut().append(
        axum::http::header::SET_COOKIE,
        axum::http::HeaderValue::from_static(
            "hearth_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
        ),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct CopyForm {
    form_token: String,
    password: String,
    #[serde(default)]
    code: Option<String>,
    /// `year` (the last twelve months), `all`, or `between`.
    range: String,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    /// The community asked, by id; empty: the operator.
    #[serde(default)]
    community: Option<String>,
}

/// A `YYYY-MM-DD` from a date field, as the instant that day starts (UTC).
fn day_start(field: &'static str, value: Option<&str>) -> Result<hearth_core::Timestamp, ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    value
        .and_then(|v| time::Date::parse(v.trim(), &format).ok())
        .map(|date| hearth_core::Timestamp::from_datetime(date.midnight().assume_utc()))
        .ok_or_else(|| {
            hearth_app::AppError::from(hearth_core::DomainError::invalid(field, "must be a date"))
                .into()
        })
}

/// `POST /privacy/exports`: asks for a copy of one's data, after the password again.
pub(crate) async fn request_copy(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<CopyForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let me = visitor.require()?;
    let range = match form.range.as_str() {
        "all" => Ok(ExportRange::Everything),
        "between" => day_start("from", form.from.as_deref()).and_then(|from| {
            // The last day chosen is included: the range ends when the next one starts.
            day_start("to", form.to.as_deref()).map(|to| ExportRange::Between {
                from,
                to: to.plus_seconds(24 * 3600),
            })
        }),
        _ => Ok(ExportRange::LastTwelveMonths),
    };
    let asked = match (
        range,
        crate::pages::requests::community_of(form.community.as_deref()),
    ) {
        (Ok(range), Ok(community)) => state
            .app
            .make_request(
                &me.actor,
                hearth_app::NewRequest {
                    kind: hearth_core::requests::RequestKind::Access,
                    community,
                    password: Some(form.password),
                    code: form.code.filter(|c| !c.is_empty()),
                    correction: None,
                    range,
                },
                ChoiceBy::Page,
            )
            .await
            .map_err(ApiError::from),
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    match asked {
        Ok(outcome) => Ok(see_other(
            &crate::pages::requests::after_request(&outcome).unwrap_or_default(),
        )),
        Err(error) => page(&state, &visitor, None, Some(error)).await,
    }
}

#[derive(Template)]
#[template(path = "privacy_export.html")]
struct ExportPage {
    layout: Layout,
    id: i64,
    /// `preparing`, `ready` or `failed`.
    state: &'static str,
    covers: String,
    requested: String,
    ready: String,
    expires: String,
    size: String,
    sha256: String,
    error: String,
}

/// `GET /privacy/exports/{id}`: where a copy stands, and its download once ready (the link
/// mailed to its person leads here).
pub(crate) async fn show_copy(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let export = state.app.my_export(&me.actor, id).await?;
    let when = |at: Option<hearth_core::Timestamp>| {
        at.map(crate::pages::settings::day_and_time)
            .unwrap_or_default()
    };
    let page = ExportPage {
        layout: Layout::new("Your copy of your data", &visitor),
        id,
        state: match export.state {
            ExportState::Preparing => "preparing",
            ExportState::Ready => "ready",
            ExportState::Failed => "failed",
        },
        covers: covers(&export),
        requested: when(Some(export.requested_at)),
        ready: when(export.ready_at),
        expires: when(export.expires_at),
        size: export.bytes.map(size_in_words).unwrap_or_default(),
        sha256: export.sha256.unwrap_or_default(),
        error: export.error.unwrap_or_default(),
    };
    Ok(render_with_status(StatusCode::OK, &page, &visitor))
}

/// A file's size as people read it: bytes, kB or MB.
fn size_in_words(bytes: i64) -> String {
    match bytes {
        ..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{:.0} kB", bytes as f64 / 1_000.0),
        _ => format!("{:.1} MB", bytes as f64 / 1_000_000.0),
    }
}

/// What a copy covers, in words.
pub(crate) fn covers(export: &ExportInfo) -> String {
    let day = |at: hearth_core::Timestamp| at.to_rfc3339().chars().take(10).collect::<String>();
    match (export.from, export.to) {
        (Some(from), Some(to)) => format!(
            "your account and profile, and your messages, files and activity from {} to {}",
            day(from),
            day(to.plus_seconds(-1))
        ),
        _ => "everything held about you".to_string(),
    }
}

/// `GET /privacy/exports/{id}/download`: the ZIP, to its person alone, while it is offered.
pub(crate) async fn download_copy(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let (export, path) = state.app.export_file(&me.actor, id).await?;
    Ok(crate::api::export_response(&export, &path).await?)
}
