//! `GET /api/v1/ws`: a websocket that pushes the caller's live events as JSON text frames.
//! It opens with `{"type": "hello", "seq": N}` (the feed position it starts after), then
//! sends `{"type": "message.posted" | "message.edited" | "message.deleted", "channel_id",
//! "message_id", "seq"}` and `{"type": "member.joined" | "member.left", "channel_id",
//! "user_id", "seq"}`, in feed order, each once; or `{"type": "resync", "after_seq": N}` when
//! events after `N` may have been missed, so the client reloads from the API. Frames carry
//! ids only; clients read the message through the API, which checks access again.

use crate::WebState;
use crate::extract::Authed;
use crate::problem::ApiError;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use hearth_app::{EventRecord, EventSubscription, LiveEvent};
use std::time::Duration;

/// How often an idle connection is pinged, so dead peers are noticed.
const PING_EVERY: Duration = Duration::from_secs(30);
/// Clients have nothing to say on this socket but pings and pongs: more frames than this in
/// [`CLIENT_FRAME_WINDOW`] close it.
const CLIENT_FRAMES_PER_WINDOW: u32 = 30;
const CLIENT_FRAME_WINDOW: Duration = Duration::from_secs(10);

/// Largest message (and frame) a client may send. Clients have nothing to say on this socket
/// but pings and close frames; anything larger ends the connection.
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

/// The read and write buffers of one connection.
const SOCKET_BUFFER: usize = 8 * 1024;

/// Live events of the caller's channels, over a websocket. Browsers authenticate with the
/// session cookie (same-origin only), other clients with a bearer token.
#[utoipa::path(get, path = "/api/v1/ws", tag = "chat",
    responses((status = 101, description = "switching to the websocket protocol"),
              (status = 400, body = crate::problem::Problem,
               description = "not a websocket handshake"),
              (status = 401, body = crate::problem::Problem),
              (status = 426, body = crate::problem::Problem,
               description = "the connection cannot be upgraded")))]
pub(crate) async fn upgrade(
    State(state): State<WebState>,
    Authed(actor): Authed,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::new(
            rejection.status(),
            "not-a-websocket",
            "Not a websocket handshake",
        )
        .detail(rejection.body_text())
    })?;
    let subscription = state.app.subscribe(&actor).await?;
    let frames = state.frames.clone();
    Ok(upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        // Frames are small both ways: buffers sized for them keep an idle connection cheap
        // (the defaults reserve 128 KiB each).
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .on_upgrade(move |socket| serve(socket, subscription, frames)))
}

/// Counts connected websocket clients for `/metrics`.
struct Connected;

impl Connected {
    fn new() -> Self {
        metrics::gauge!("hearth_websocket_clients").increment(1.0);
        Connected
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        metrics::gauge!("hearth_websocket_clients").decrement(1.0);
    }
}

fn frame(event: &LiveEvent, frames: &FrameCache) -> Utf8Bytes {
    match event {
        LiveEvent::Event(event) => frames.frame(event),
        LiveEvent::Resync { after_seq } => {
            serde_json::json!({ "type": "resync", "after_seq": after_seq })
                .to_string()
                .into()
        }
    }
}

fn event_frame(event: &EventRecord) -> String {
    let object = if event.kind.starts_with("member.") {
        "user_id"
    } else {
        "message_id"
    };
    serde_json::json!({
        "type": event.kind,
        "channel_id": event.channel_id.to_string(),
        object: event.object_id.to_string(),
        "seq": event.seq,
    })
    .to_string()
}

/// The frames of the newest events, each written once and shared by every socket that
/// sends it: with thousands of clients in one channel, writing the same JSON for each of
/// them would cost more than sending it.
#[derive(Default)]
pub(crate) struct FrameCache {
    recent: std::sync::Mutex<std::collections::VecDeque<(i64, Utf8Bytes)>>,
}

/// Frames kept: far more than the events a busy node writes between two sockets' turns.
const CACHED_FRAMES: usize = 256;

impl FrameCache {
    fn frame(&self, event: &EventRecord) -> Utf8Bytes {
        if let Ok(recent) = self.recent.lock()
            && let Some((_, frame)) = recent.iter().rev().find(|(seq, _)| *seq == event.seq)
        {
            return frame.clone();
        }
        let frame = Utf8Bytes::from(event_frame(event));
        if let Ok(mut recent) = self.recent.lock() {
            if recent.len() >= CACHED_FRAMES {
                recent.pop_front();
            }
            recent.push_back((event.seq, frame.clone()));
        }
        frame
    }
}

struct FrameBudget {
    window_start: tokio::time::Instant,
    used: u32,
}

impl FrameBudget {
    fn new() -> Self {
        Self {
            window_start: tokio::time::Instant::now(),
            used: 0,
        }
    }

    /// Takes one frame; false once the window's budget is spent.
    fn take(&mut self) -> bool {
        if self.window_start.elapsed() >= CLIENT_FRAME_WINDOW {
            self.window_start = tokio::time::Instant::now();
            self.used = 0;
        }
        self.used += 1;
        self.used <= CLIENT_FRAMES_PER_WINDOW
    }
}

async fn serve(
    mut socket: WebSocket,
    mut subscription: EventSubscription,
    frames: std::sync::Arc<FrameCache>,
) {
    let _connected = Connected::new();
    let hello = serde_json::json!({ "type": "hello", "seq": subscription.started_after() });
    if socket
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut budget = FrameBudget::new();
    loop {
        tokio::select! {
            // `next` is cancel-safe: an event it received is kept if another branch wins.
            event = subscription.next() => {
                let Ok(event) = event else { break };
                if socket.send(Message::Text(frame(&event, &frames))).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => {
                match incoming {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    // Pings are answered by the protocol layer; nothing else is expected.
                    Some(Ok(_)) => {
                        if !budget.take() {
                            let _ = socket
                                .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                                    code: axum::extract::ws::close_code::POLICY,
                                    reason: "too many frames".into(),
                                })))
                                .await;
                            break;
                        }
                    }
                }
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
}
