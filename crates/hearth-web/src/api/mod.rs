//! The JSON API under `/api/v1`. Routes and their OpenAPI documentation are declared together.

mod accounts;
mod mail_links;
pub(crate) use accounts::{device_cookie, session_cookie};
mod chat;
mod communities;
mod document;
mod identities;
mod paging;
mod privacy;
pub(crate) use privacy::export_response;
mod ages;
mod profiles;
mod public_requests;
pub(crate) mod requests;
mod search;
mod statements;
mod terms;
mod two_factor;
pub(crate) mod uploads;
mod webhooks;

use crate::WebState;
use crate::problem::Problem;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hearth API",
        description = "Communities, channels, threads and direct messages. Errors are \
                       application/problem+json (RFC 9457) with a stable `type`.",
    ),
    components(schemas(Problem)),
    modifiers(&Security),
    security(("token" = []), ("session" = [])),
    tags(
        (name = "accounts", description = "Registration, sessions, passwords and API tokens"),
        (name = "communities", description = "Communities, members and invitations"),
        (name = "chat", description = "Channels, direct conversations and messages"),
        (name = "privacy", description = "A person's privacy choices"),
        (name = "terms", description = "This Hearth's legal terms, and communities' acceptances"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::extract::SESSION_COOKIE,
            ))),
        );
    }
}

/// The API's routes and its OpenAPI document, completed with what every operation shares.
pub(crate) fn routes() -> (axum::Router<WebState>, utoipa::openapi::OpenApi) {
    let (routes, mut doc) = router().split_for_parts();
    document::complete(&mut doc);
    (routes, doc)
}

fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(accounts::router())
        .merge(mail_links::router())
        .merge(two_factor::router())
        .merge(identities::router())
        .merge(privacy::router())
        .merge(requests::router())
        .merge(public_requests::router())
        .merge(webhooks::router())
        .merge(statements::router())
        .merge(terms::router())
        .merge(ages::router())
        .merge(communities::router())
        .merge(chat::router())
        .merge(uploads::router())
        .merge(profiles::router())
        .merge(search::router())
        .routes(utoipa_axum::routes!(crate::live::upgrade))
}
