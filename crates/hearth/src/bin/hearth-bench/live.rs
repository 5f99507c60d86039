//! The live-delivery benchmark: K websocket clients listen in one channel while one member
//! posts at a steady rate; it reports how long each message took from the poster's
//! acknowledgement to its arrival at every client, and the server's memory per idle
//! connection.
//!
//! All K sockets belong to one member (registering thousands of members would measure
//! password hashing instead): each is a subscription of its own on the server, filtered and
//! fed like any other.

use anyhow::Context;
use futures_util::StreamExt;
use serde_json::{Value, json};

/// The message id of a `message.posted` frame, found without parsing the whole frame.
fn posted_id(frame: &str) -> Option<&str> {
    if !frame.contains("\"type\":\"message.posted\"") {
        return None;
    }
    let (_, rest) = frame.split_once("\"message_id\":\"")?;
    rest.split('"').next()
}
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// What one run measured.
pub(crate) struct LiveReport {
    pub clients: usize,
    pub posted: usize,
    /// Delivery latencies (acknowledgement to receipt), every client and message.
    pub latencies: Vec<Duration>,
    /// Deliveries that never came within the wait.
    pub missing: usize,
    /// Server memory (KiB) before the sockets opened and with all of them idle.
    pub rss_before_kib: u64,
    pub rss_idle_kib: u64,
}

/// Opens `clients` sockets as `listener`, then posts `messages` as `poster` at `rate` per
/// second into `channel`. `rss` reads the server's resident memory in KiB.
pub(crate) async fn run(
    base: &str,
    (listener, poster): (&str, &str),
    channel: &str,
    (clients, messages, rate): (usize, usize, f64),
    rss: impl Fn() -> anyhow::Result<u64>,
) -> anyhow::Result<LiveReport> {
    let rss_before_kib = rss()?;
    // Each client keeps its own receipts (message id, instant), so that thousands of them do
    // not queue on one lock; a shared counter says when all have arrived.
    let received = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let ws_url = format!("{}/api/v1/ws", base.replacen("http://", "ws://", 1));
    let mut readers = Vec::with_capacity(clients);
    for i in 0..clients {
        let mut request = ws_url.as_str().into_client_request()?;
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {listener}").parse()?);
        // Thousands of sockets share this machine with the server: each keeps small buffers
        // (frames are a few hundred bytes), so that the clients cost little beside it.
        let config = WebSocketConfig::default()
            .read_buffer_size(4 * 1024)
            .write_buffer_size(4 * 1024);
        let (mut socket, _) =
            tokio_tungstenite::connect_async_with_config(request, Some(config), true)
                .await
                .with_context(|| format!("opening websocket {i}"))?;
        // The hello frame: the subscription is in place.
        socket.next().await.context("no hello")??;
        let received = received.clone();
        let mut stopped = stopped.clone();
        readers.push(tokio::spawn(async move {
            let mut receipts: Vec<(i64, Instant)> = Vec::new();
            loop {
                let frame = tokio::select! {
                    frame = socket.next() => frame,
                    _ = stopped.changed() => break,
                };
                let Some(Ok(Message::Text(text))) = frame else {
                    if frame.is_none() {
                        break;
                    }
                    continue;
                };
                let at = Instant::now();
                if let Some(id) = posted_id(&text).and_then(|id| id.parse().ok()) {
                    receipts.push((id, at));
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
            receipts
        }));
    }
    // Let the sockets settle, then see what they cost the server at rest.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_idle_kib = rss()?;

    let http = reqwest::Client::new();
    let url = format!("{base}/api/v1/channels/{channel}/messages");
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.1));
    let mut acknowledged: Vec<(i64, Instant)> = Vec::with_capacity(messages);
    let start = Instant::now();
    for i in 0..messages {
        tokio::time::sleep_until((start + interval * i as u32).into()).await;
        let response = http
            .post(&url)
            .bearer_auth(poster)
            .json(&json!({ "body": format!("live bench message {i}") }))
            .send()
            .await?;
        let at = Instant::now();
        anyhow::ensure!(
            response.status().is_success(),
            "post failed: {}",
            response.status()
        );
        let posted: Value = response.json().await?;
        let id: i64 = posted["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .context("no message id")?;
        acknowledged.push((id, at));
    }
    // Wait for the last deliveries (up to 10 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) < clients * acknowledged.len()
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    let acked: HashMap<i64, Instant> = acknowledged.iter().copied().collect();
    let mut latencies = Vec::with_capacity(clients * messages);
    let mut delivered = 0;
    for reader in readers {
        for (id, at) in reader.await.unwrap_or_default() {
            if let Some(acked_at) = acked.get(&id) {
                delivered += 1;
                // A client may hear of a message before the poster has its answer: 0 then.
                latencies.push(at.saturating_duration_since(*acked_at));
            }
        }
    }
    let missing = (clients * acknowledged.len()).saturating_sub(delivered);
    latencies.sort();
    Ok(LiveReport {
        clients,
        posted: acknowledged.len(),
        latencies,
        missing,
        rss_before_kib,
        rss_idle_kib,
    })
}
