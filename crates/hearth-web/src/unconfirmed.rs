//! Accounts held to reading until their owner confirms their email address (the instance's
//! `unconfirmed_accounts = "read_only"` rule): every request that would change something is
//! refused here, in one place, unless it looks after the account itself. A route added later
//! is held back by default.

use crate::WebState;
use crate::extract::{is_safe_method, session_cookie};
use crate::problem::ApiError;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Paths (and their sub-paths) an account held to reading may still write to: its own
/// account, its sessions, its privacy rights (which no rule of the instance may hold back),
/// and the confirmation itself.
const ACCOUNT_PATHS: &[&str] = &[
    "/api/v1/me",
    "/privacy",
    "/api/v1/sessions",
    "/api/v1/email-confirmations",
    "/api/v1/password-reset",
    "/settings",
    "/sign-in",
    "/sign-out",
    "/verify-email",
    "/forgot-password",
    "/reset-password",
    // A parent answering a mailed link, whatever session the browser holds.
    "/parental-consent",
];

/// Whether `path` is `prefix` or below it.
fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Refuses a change by an account held to reading, outside its own account.
pub(crate) async fn hold_unconfirmed(
    State(state): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if is_safe_method(request.method()) || ACCOUNT_PATHS.iter().any(|p| under(path, p)) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // The credential the handler will go by: the API takes a bearer token before the session
    // cookie; pages take only the cookie (whatever else the request carries).
    let api = parts.uri.path().starts_with("/api/");
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .filter(|_| api)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .unwrap_or_default()
        });
    // A credential that does not work is left to the handler, which refuses it as usual.
    let actor = match (bearer, session_cookie(&parts)) {
        (Some(token), _) => state.app.authenticate_token(token).await.ok(),
        (None, Some(secret)) => state.app.authenticate_session(&secret).await.ok(),
        (None, None) => None,
    };
    if !actor.is_some_and(|a| a.read_only) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let problem = ApiError::new(
        StatusCode::FORBIDDEN,
        "email-unconfirmed",
        "Email address not confirmed",
    )
    .detail(
        "confirm your email address with the link we mailed you first; account settings \
         can send it again",
    );
    if api {
        problem.into_response()
    } else {
        crate::pages::PageError::from(problem).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_paths_match_whole_segments_only() {
        assert!(under("/api/v1/me", "/api/v1/me"));
        assert!(under("/api/v1/me/email", "/api/v1/me"));
        assert!(!under("/api/v1/messages", "/api/v1/me"));
        assert!(!under("/settingsx", "/settings"));
    }
}
