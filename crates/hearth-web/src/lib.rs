//! Hearth's HTTP edge: the web pages, the JSON API under `/api/v1` (documented at
//! `/api/v1/openapi.json`), health and metrics endpoints. It parses and authenticates; the app layer decides.
#![forbid(unsafe_code)]

mod api;
mod assets;
mod extract;
mod live;
mod markdown;
mod ops;
mod pages;
mod problem;
mod statement_html;
mod telemetry;
mod unconfirmed;

pub use ops::MetricsToken;
pub use telemetry::install_metrics;

use axum::Router;
use hearth_app::App;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Settings of the HTTP edge.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Mark cookies `Secure` (set when Hearth is served over HTTPS).
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` header is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// When set, `/metrics` answers only requests that bear this token.
    pub metrics_token: Option<MetricsToken>,
    /// `/metrics` is served on a listener of its own ([`serve_metrics`]), not beside the API.
    pub metrics_elsewhere: bool,
    /// The address people reach Hearth by, for links the pages hand out; empty: the address
    /// each request came to.
    pub public_url: String,
}

/// Shared state of every handler.
#[derive(Clone)]
pub(crate) struct WebState {
    pub app: App,
    pub config: WebConfig,
    /// Live frames written once for all sockets.
    pub frames: std::sync::Arc<live::FrameCache>,
}

/// The whole HTTP surface.
pub fn router(app: App, config: WebConfig) -> Router {
    let metrics_here = !config.metrics_elsewhere;
    let max_upload_bytes = app.max_upload_bytes();
    let state = WebState {
        app,
        config,
        frames: std::sync::Arc::default(),
    };
    let (api, openapi) = api::routes();
    let openapi_json = std::sync::Arc::new(openapi);
    Router::new()
        .merge(api)
        .merge(pages::routes(max_upload_bytes))
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = openapi_json.clone();
                async move { axum::Json((*doc).clone()) }
            }),
        )
        .merge(ops::router(metrics_here))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            unconfirmed::hold_unconfirmed,
        ))
        .route_layer(axum::middleware::from_fn(telemetry::track_request))
        .fallback(problem::not_found_fallback)
        .method_not_allowed_fallback(problem::method_not_allowed_fallback)
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

/// Serves Hearth on `listener` until `shutdown` resolves, then lets in-flight requests finish
/// and commits every queued write before returning.
pub async fn serve(
    listener: TcpListener,
    app: App,
    config: WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let store = app.store().clone();
    let service = router(app, config).into_make_service_with_connect_info::<SocketAddr>();
    // Small writes go out at once: a websocket's frames come one by one, and waiting for the
    // peer's acknowledgement of the last (Nagle's algorithm) would hold each next one back.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY on a connection");
        }
    });
    let result = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await;
    store.close().await;
    result
}

/// Serves `/metrics` alone on `listener` (the `metrics_listen` address) until `shutdown`
/// resolves.
pub async fn serve_metrics(
    listener: TcpListener,
    app: App,
    config: WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = ops::metrics_router()
        .fallback(problem::not_found_fallback)
        .with_state(WebState {
            app,
            config,
            frames: std::sync::Arc::default(),
        });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
