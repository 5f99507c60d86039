//! The web pages: server-rendered HTML from compile-time-checked templates, calling the same
//! use cases as the JSON API. Every form works without JavaScript; the one script only makes
//! chat live.

mod accounts;
mod admin;
mod ages;
mod chat;
mod choices;
mod communities;
mod mail_links;
mod messages;
mod people;
pub(crate) mod privacy;
mod profiles;
pub(crate) mod public_requests;
mod requests;
mod search;
pub(crate) mod settings;
mod setup;
mod statements;
mod terms;
mod two_factor;
mod visitor;
mod webhooks;

use crate::WebState;
use crate::problem::ApiError;
use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hearth_app::AppError;
pub(crate) use visitor::Visitor;

/// The pages' routes.
pub(crate) fn routes(max_upload_bytes: usize) -> Router<WebState> {
    Router::new()
        .route("/", get(communities::home))
        .route(
            "/sign-in",
            get(accounts::sign_in_page).post(accounts::sign_in),
        )
        .route(
            "/register",
            get(accounts::register_page).post(accounts::register),
        )
        .route("/sign-out", post(accounts::sign_out))
        .route("/sign-in/code", post(accounts::sign_in_code))
        .route("/sign-in/oidc", post(accounts::oidc_start))
        .route("/sign-in/oidc/callback", get(accounts::oidc_callback))
        .route(
            "/verify-email",
            get(mail_links::confirm_page).post(mail_links::confirm),
        )
        .route(
            "/forgot-password",
            get(mail_links::forgot_page).post(mail_links::forgot),
        )
        .route(
            "/reset-password",
            get(mail_links::reset_page).post(mail_links::reset),
        )
        .route("/setup", get(setup::setup_page).post(setup::set_up))
        .route(
            "/communities",
            get(communities::mine).post(communities::create),
        )
        .route("/directory", get(communities::directory))
        .route("/search", get(search::search))
        .route("/communities/{id}", get(communities::community))
        .route("/communities/{id}/join", post(communities::join))
        .route("/communities/{id}/members", get(people::members))
        .route("/communities/{id}/members/{user}", get(profiles::member))
        .route(
            "/communities/{id}/profile",
            get(profiles::my_answers).post(profiles::save_answers),
        )
        .route(
            "/communities/{id}/fields",
            get(profiles::fields).post(profiles::create_field),
        )
        .route(
            "/communities/{id}/fields/{field}",
            get(profiles::field).post(profiles::update_field),
        )
        .route(
            "/communities/{id}/fields/{field}/delete",
            post(profiles::delete_field),
        )
        .route("/communities/{id}/transfer", post(people::transfer))
        .route(
            "/communities/{id}/transfer/{user}",
            get(people::transfer_page),
        )
        .route(
            "/communities/{id}/settings",
            get(admin::show).post(admin::general),
        )
        .route(
            "/communities/{id}/settings/two-factor",
            post(admin::two_factor_rule),
        )
        .route("/communities/{id}/settings/ages", post(admin::ages))
        .route("/communities/{id}/channels", post(admin::create_channel))
        .route("/communities/{id}/invites", post(admin::create_invite))
        .route(
            "/communities/{id}/invites/{invite}/revoke",
            post(admin::revoke_invite),
        )
        .route(
            "/communities/{id}/members/{user}/role",
            post(admin::set_role),
        )
        .route(
            "/communities/{id}/members/{user}/remove",
            post(admin::remove),
        )
        .route("/invite", post(admin::accept))
        .route("/invite/{code}", get(admin::invite_page))
        .route("/users/{id}", get(people::profile))
        .route("/direct", get(people::direct).post(people::open))
        .route(
            "/channels/{id}",
            get(chat::channel)
                .post(chat::post)
                .layer(axum::extract::DefaultBodyLimit::max(
                    chat::composer_body_limit(max_upload_bytes),
                )),
        )
        .route("/channels/{id}/join", post(chat::join))
        .route("/channels/{id}/read", post(chat::read))
        .route(
            "/channels/{id}/fragments/messages/{message}",
            get(chat::message_fragment),
        )
        .route(
            "/channels/{id}/fragments/latest",
            get(chat::latest_fragment),
        )
        .route(
            "/messages/{id}/edit",
            get(messages::edit_page).post(messages::edit),
        )
        .route(
            "/messages/{id}/delete",
            get(messages::delete_page).post(messages::delete),
        )
        .route(
            "/messages/{id}/thread",
            get(messages::thread_page).post(messages::reply).layer(
                axum::extract::DefaultBodyLimit::max(chat::composer_body_limit(max_upload_bytes)),
            ),
        )
        .route("/settings", get(settings::show))
        .route("/settings/profile", post(settings::profile))
        .route(
            "/settings/avatar",
            post(settings::avatar).layer(axum::extract::DefaultBodyLimit::max(
                settings::avatar_body_limit(),
            )),
        )
        .route("/settings/avatar/remove", post(settings::remove_avatar))
        .route(
            "/settings/sessions/end-others",
            post(settings::end_other_sessions),
        )
        .route("/settings/sessions/{id}/end", post(settings::end_session))
        .route("/settings/password", post(settings::password))
        .route("/settings/email", post(settings::email))
        .route("/privacy", get(privacy::show).post(privacy::choose))
        .route("/privacy/choices", get(choices::show).post(choices::choose))
        .route("/privacy/statement", get(statements::instance))
        .route(
            "/privacy/delete",
            get(privacy::confirm_delete).post(privacy::delete),
        )
        .route("/privacy/exports", post(privacy::request_copy))
        .route(
            "/privacy/request",
            get(public_requests::form).post(public_requests::submit),
        )
        .route("/privacy/request/{id}", get(public_requests::show))
        .route(
            "/privacy/request/{id}/confirm",
            post(public_requests::confirm),
        )
        .route("/privacy/request/{id}/copy", get(public_requests::download))
        .route("/privacy/requests", post(requests::make))
        .route("/privacy/requests/{id}", get(requests::show))
        .route("/communities/{id}/requests", get(requests::community_inbox))
        .route(
            "/communities/{id}/requests/handling",
            post(requests::set_handling),
        )
        .route(
            "/communities/{id}/requests/report",
            get(requests::community_report),
        )
        .route(
            "/communities/{id}/requests/holds",
            post(requests::place_hold),
        )
        .route(
            "/communities/{id}/requests/holds/{hold}/release",
            post(requests::release_hold),
        )
        .route(
            "/communities/{id}/requests/{request}",
            get(requests::community_request).post(requests::community_decide),
        )
        .route(
            "/communities/{id}/webhooks",
            get(webhooks::show).post(webhooks::create),
        )
        .route("/communities/{id}/webhooks/{hook}", get(webhooks::log))
        .route("/communities/{id}/privacy", get(statements::show))
        .route(
            "/communities/{id}/privacy/acknowledge",
            post(statements::acknowledge),
        )
        .route(
            "/communities/{id}/privacy/edit",
            get(statements::edit).post(statements::save),
        )
        .route(
            "/communities/{id}/privacy/settings",
            post(statements::settings),
        )
        .route(
            "/communities/{id}/webhooks/{hook}/delete",
            post(webhooks::remove),
        )
        .route(
            "/parental-consent/{community}",
            get(ages::consent_page).post(ages::answer),
        )
        .route(
            "/parental-consent/{community}/withdraw",
            get(ages::withdraw_page).post(ages::withdraw),
        )
        .route("/parental-consent/{community}/copy", post(ages::ask_copy))
        .route(
            "/parental-consent/{community}/copies/{id}",
            get(ages::download_copy),
        )
        .route("/terms", get(terms::in_force))
        .route("/terms/{id}", get(terms::version))
        .route("/admin/terms", get(terms::admin).post(terms::publish))
        .route(
            "/communities/{id}/terms",
            get(terms::community).post(terms::accept),
        )
        .route("/admin/requests", get(requests::operator_inbox))
        .route("/admin/requests/report", get(requests::operator_report))
        .route("/admin/requests/log", get(requests::operator_log))
        .route(
            "/admin/requests/{request}",
            get(requests::operator_request).post(requests::operator_decide),
        )
        .route("/privacy/exports/{id}", get(privacy::show_copy))
        .route(
            "/privacy/exports/{id}/download",
            get(privacy::download_copy),
        )
        .route(
            "/settings/identities/unlink",
            post(settings::unlink_identities),
        )
        .route(
            "/settings/email/cancel",
            post(settings::cancel_email_change),
        )
        .route("/settings/two-factor", post(two_factor::begin))
        .route("/settings/two-factor/confirm", post(two_factor::confirm))
        .route("/settings/two-factor/disable", post(two_factor::disable))
        .route(
            "/settings/two-factor/recovery-codes",
            post(two_factor::renew_codes),
        )
        .route(
            "/settings/email/confirmation",
            post(settings::resend_confirmation),
        )
        .route("/settings/tokens", post(settings::create_token))
        .route("/settings/tokens/{id}/revoke", post(settings::revoke_token))
        .route(
            "/messages/{id}/fragments/replies",
            get(messages::replies_fragment),
        )
        .route(
            "/messages/{id}/fragments/replies/{reply}",
            get(messages::reply_fragment),
        )
        .route("/assets/{name}", get(crate::assets::serve))
}

/// What every page's layout needs.
pub(crate) struct Layout {
    /// The page's title (before " · Hearth").
    pub title: String,
    /// The style sheet's URL.
    pub css: String,
    /// The script's URL, on pages that use it.
    pub js: Option<String>,
    /// The signed-in person's display name and handle, if any.
    pub me: Option<(String, String)>,
    /// The token this page's forms carry.
    pub form_token: String,
    /// The signed-in person is held to reading until they confirm their address.
    pub unconfirmed: bool,
    /// The browser sent the Global Privacy Control signal, which was honoured.
    pub privacy_signal: bool,
    /// Someone is signed in (for the footer's link to their privacy choices).
    pub signed_in: bool,
    /// New versions of their communities' privacy statements to read: community id, name
    /// and version.
    pub statements_due: Vec<(i64, String, i32)>,
}

impl Layout {
    pub(crate) fn new(title: impl Into<String>, visitor: &Visitor) -> Self {
        Self {
            title: title.into(),
            css: crate::assets::css_url(),
            js: None,
            me: visitor
                .signed_in
                .as_ref()
                .map(|s| (s.account.display_name.clone(), s.account.username.clone())),
            form_token: visitor.form_token.clone(),
            unconfirmed: visitor
                .signed_in
                .as_ref()
                .is_some_and(|s| s.actor.read_only),
            privacy_signal: visitor.privacy_signal,
            signed_in: visitor.signed_in.is_some(),
            statements_due: visitor
                .signed_in
                .as_ref()
                .map(|s| {
                    s.statements_due
                        .iter()
                        .map(|d| (d.community.0, d.community_name.clone(), d.version))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// Renders a page with the headers every page carries.
pub(crate) fn render(template: &impl Template, visitor: &Visitor) -> Response {
    render_with_status(StatusCode::OK, template, visitor)
}

/// The notice at collection on a form that stores personal information (Reg. §7012).
pub(crate) struct CollectionNotice {
    /// Each category the form stores, why and for how long, from the data catalog.
    pub lines: Vec<hearth_core::statement::NoticeLine>,
    /// The privacy statement that says the rest, when the form is a community's.
    pub statement: Option<String>,
    /// Whether the community sends anything to third parties (its webhooks).
    pub shares: bool,
}

/// The notice at collection for a form that stores into `tables` but for what stays
/// `unfilled` (and asks profile fields of `profile_categories`), from the data catalog.
pub(crate) fn collection_notice(
    (tables, unfilled): (&[&str], &[hearth_core::ages::Unfilled]),
    profile_categories: &[hearth_core::catalog::Category],
    statement: Option<String>,
    shares: bool,
) -> CollectionNotice {
    let tables: Vec<&'static hearth_core::catalog::Table> = tables
        .iter()
        .filter_map(|name| hearth_core::catalog::table(name))
        .collect();
    CollectionNotice {
        lines: hearth_core::statement::notice_at_collection(&tables, profile_categories, unfilled),
        statement,
        shares,
    }
}

/// Renders a page whose address or forms hold a mailed link's secret: no other site may see
/// it in a `Referer` (and, as for every page, no cache may keep it).
pub(crate) fn link_page(status: StatusCode, page: &impl Template, visitor: &Visitor) -> Response {
    let mut response = render_with_status(status, page, visitor);
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Renders a page with `status`.
pub(crate) fn render_with_status(
    status: StatusCode,
    template: &impl Template,
    visitor: &Visitor,
) -> Response {
    let mut response = match template.render() {
        Ok(html) => (status, html).into_response(),
        Err(error) => {
            tracing::error!(%error, "a page failed to render");
            return PageError::internal().into_response();
        }
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    security_headers(headers);
    // Pages show personal data: no shared cache may keep them.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = &visitor.new_form_cookie {
        headers.append(header::SET_COOKIE, cookie.clone());
    }
    response
}

/// The headers that keep a page to itself: no script but ours, no framing, no referrer
/// beyond this site, no content sniffing.
fn security_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// A form that carries nothing but its token (a button).
#[derive(serde::Deserialize)]
pub(crate) struct TokenOnly {
    pub form_token: String,
}

/// A 303 to `to` after a form was handled (so reloading does not submit it again).
pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Why a page could not be shown.
#[derive(Debug)]
pub(crate) enum PageError {
    /// Not signed in: off to the sign-in page.
    SignIn,
    /// A form from another site.
    CrossSite,
    /// A form whose token does not match (old page, or another site's).
    FormExpired,
    /// Anything else, as the API would describe it.
    Problem(ApiError),
}

impl PageError {
    pub(crate) fn internal() -> Self {
        Self::Problem(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        ))
    }

    pub(crate) fn not_found() -> Self {
        Self::Problem(ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
        ))
    }

    /// A form that could not be read at all.
    pub(crate) fn bad_request(why: &'static str) -> Self {
        Self::Problem(
            ApiError::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request").detail(why),
        )
    }
}

impl From<ApiError> for PageError {
    fn from(problem: ApiError) -> Self {
        Self::Problem(problem)
    }
}

impl From<hearth_core::DomainError> for PageError {
    fn from(error: hearth_core::DomainError) -> Self {
        Self::from(AppError::from(error))
    }
}

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        let problem = ApiError::from(error);
        if problem.status() == StatusCode::UNAUTHORIZED {
            return Self::SignIn;
        }
        Self::Problem(problem)
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: String,
    detail: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, detail) = match self {
            Self::SignIn => return see_other("/sign-in"),
            Self::CrossSite => (
                StatusCode::FORBIDDEN,
                "This form came from another site".to_string(),
                "Hearth accepts forms only from its own pages.".to_string(),
            ),
            Self::FormExpired => (
                StatusCode::FORBIDDEN,
                "This form has expired".to_string(),
                "Go back, reload the page and try again.".to_string(),
            ),
            Self::Problem(problem) => (
                problem.status(),
                problem.title().to_string(),
                problem.detail_text().unwrap_or_default().to_string(),
            ),
        };
        // The error page needs no visitor: it shows no personal data and no forms.
        let visitor = Visitor {
            signed_in: None,
            form_token: String::new(),
            new_form_cookie: None,
            from_elsewhere: false,
            privacy_signal: false,
        };
        let page = ErrorPage {
            layout: Layout::new(heading.clone(), &visitor),
            heading,
            detail,
        };
        render_with_status(status, &page, &visitor)
    }
}
