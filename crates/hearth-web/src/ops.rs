//! Operations endpoints: liveness, readiness and metrics. `/metrics` may be kept to a bearer
//! token, or moved off the main listener to an address of its own.

use crate::WebState;
use crate::problem::ApiError;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

/// The secret a scraper must send to read `/metrics`. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl MetricsToken {
    /// A token, or none when `token` is blank.
    pub fn new(token: &str) -> Option<Self> {
        let token = token.trim();
        (!token.is_empty()).then(|| Self(token.to_string()))
    }

    /// Whether `presented` is this token, in time that does not depend on where they differ.
    fn admits(&self, presented: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(..)")
    }
}

/// Liveness and readiness, and `/metrics` unless it has an address of its own.
pub(crate) fn router(metrics_here: bool) -> Router<WebState> {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if metrics_here {
        router.route("/metrics", get(metrics))
    } else {
        router
    }
}

/// `/metrics` alone, for its own listener.
pub(crate) fn metrics_router() -> Router<WebState> {
    Router::new().route("/metrics", get(metrics))
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can reach its database.
async fn readyz(State(state): State<WebState>) -> impl IntoResponse {
    match state.app.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

async fn metrics(
    State(state): State<WebState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(token) = &state.config.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !presented.is_some_and(|p| token.admits(p)) {
            return Err(ApiError::unauthenticated()
                .detail("send the metrics token as 'Authorization: Bearer <token>'"));
        }
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::render(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_token_admits_itself_only_and_never_prints() {
        let token = MetricsToken::new(" scrape-me ");
        assert!(MetricsToken::new("  ").is_none());
        let Some(token) = token else {
            panic!("a token")
        };
        assert!(token.admits("scrape-me"));
        assert!(!token.admits("scrape-mf"));
        assert!(!token.admits("scrape-me-too"));
        assert!(!token.admits(""));
        assert!(!format!("{token:?}").contains("scrape"));
    }
}
