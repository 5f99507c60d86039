//! Prometheus metrics and the request log. The log names the route template, never the raw
//! path or query, so ids of invitations and the like stay out of it, and never a body.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide metrics recorder (once) and returns its handle.
pub fn install_metrics() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let latency = &[
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ];
            let batch = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
            PrometheusBuilder::new()
                .set_buckets(latency)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("hearth_commit_batch_size".into()),
                        batch,
                    )
                })
                .and_then(|b| b.install_recorder())
                .map_err(|error| tracing::warn!(%error, "metrics are disabled"))
                .ok()
                .inspect(|_| metrics::gauge!("hearth_websocket_clients").set(0.0))
        })
        .clone()
}

pub(crate) fn render() -> String {
    install_metrics().map(|h| h.render()).unwrap_or_default()
}

/// Counts and times every routed request.
pub(crate) async fn track_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16().to_string();
    let labels = [
        ("method", method.to_string()),
        ("route", route.clone()),
        ("status", status),
    ];
    metrics::counter!("hearth_http_requests_total", &labels).increment(1);
    metrics::histogram!("hearth_http_request_duration_seconds", &labels[..2])
        .record(elapsed.as_secs_f64());
    tracing::debug!(%method, route, status = response.status().as_u16(),
        micros = elapsed.as_micros() as u64, "request");
    response
}
