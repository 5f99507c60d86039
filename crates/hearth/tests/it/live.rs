//! Live events over the websocket: members hear about new messages in their channels, and
//! nothing from channels they are not in.

use crate::harness::{Auth, Backend, TestServer, on_both_backends};
use futures_util::StreamExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

on_both_backends!(members_hear_of_new_messages_in_their_channels_only);

async fn members_hear_of_new_messages_in_their_channels_only(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let community = alice.create_community("live").await;
    bob.join(&community).await;
    let general = alice.general_channel(&community).await;
    let private = alice.create_channel(&community, "private", "private").await;

    let Auth::Bearer(token) = bob.client.auth.clone() else {
        unreachable!()
    };
    let mut request = format!(
        "ws://{}/api/v1/ws",
        server.base.trim_start_matches("http://")
    )
    .into_client_request()
    .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();

    let metrics = server.metrics().await;
    let clients = crate::harness::metric_value(&metrics, "hearth_websocket_clients");
    assert!(clients >= 1.0, "{metrics}");

    alice.say(&private, "bob must not hear of this").await;
    let public = alice.say(&general, "hello everyone").await;
    let frame = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str::<serde_json::Value>(&text).unwrap();
                }
                Some(Ok(_)) => continue,
                other => panic!("socket ended: {other:?}"),
            }
        }
    })
    .await
    .expect("no live event within 10 s");
    assert_eq!(frame["type"], "message.posted");
    assert_eq!(frame["channel_id"], general.as_str());
    assert_eq!(
        frame["message_id"],
        public.as_str(),
        "the first event bob hears is the public one"
    );

    // Cookie-authenticated handshakes from another site are refused.
    let Auth::Cookie(cookie) = bob.session.auth.clone() else {
        unreachable!()
    };
    let mut cross = format!(
        "ws://{}/api/v1/ws",
        server.base.trim_start_matches("http://")
    )
    .into_client_request()
    .unwrap();
    cross
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    cross
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(cross).await;
    assert!(
        refused.is_err(),
        "a cross-site websocket handshake was accepted"
    );
}
