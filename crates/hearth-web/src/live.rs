//! `GET /api/v1/ws`: a websocket that pushes the caller's live events as JSON text frames,
//! `{"type": "message.posted", "channel_id": "…", "message_id": "…", "seq": 42}`. Frames carry
//! ids only; clients read the message through the API, which checks access again.

use crate::WebState;
use crate::extract::Authed;
use crate::problem::ApiError;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use hearth_app::{EventRecord, EventSubscription};
use std::time::Duration;

/// How often an idle connection is pinged, so dead peers are noticed.
const PING_EVERY: Duration = Duration::from_secs(30);

/// Largest message (and frame) a client may send. Clients have nothing to say on this socket
/// but pings and close frames; anything larger ends the connection.
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

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
    Ok(upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| serve(socket, subscription)))
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

fn frame(event: &EventRecord) -> String {
    serde_json::json!({
        "type": event.kind,
        "channel_id": event.channel_id.to_string(),
        "message_id": event.object_id.to_string(),
        "seq": event.seq,
    })
    .to_string()
}

async fn serve(mut socket: WebSocket, mut subscription: EventSubscription) {
    let _connected = Connected::new();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            event = subscription.next() => {
                let Ok(event) = event else { break };
                if socket.send(Message::Text(frame(&event).into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => {
                match incoming {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    // Clients have nothing to say on this socket yet; pings are answered by
                    // the protocol layer.
                    Some(Ok(_)) => {}
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
