//! Live events over the websocket: members hear of every change in their channels, in order,
//! once, from the very next event after a membership change, and nothing from channels they
//! are not in; a client that falls behind is told to resync, never silently skipped.

use crate::harness::{Auth, Backend, Member, TestServer, on_both_backends};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

on_both_backends!(
    members_hear_of_new_messages_in_their_channels_only,
    the_first_message_of_a_new_conversation_is_heard,
    joining_and_leaving_take_effect_for_the_very_next_event,
    every_event_arrives_once_and_in_order,
    a_client_that_falls_behind_is_told_to_resync,
    a_subscriber_behind_the_feed_sees_each_channel_while_it_was_a_member,
);

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `member`'s websocket and reads its hello frame.
pub(crate) async fn listen(server: &TestServer, member: &Member) -> Socket {
    let Auth::Bearer(token) = member.client.auth.clone() else {
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
    let hello = next_frame(&mut socket).await;
    assert_eq!(hello["type"], "hello", "{hello}");
    assert!(hello["seq"].is_i64(), "{hello}");
    socket
}

/// The next JSON frame, within 10 s.
async fn next_frame(socket: &mut Socket) -> Value {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str::<Value>(&text).unwrap();
                }
                Some(Ok(_)) => continue,
                other => panic!("socket ended: {other:?}"),
            }
        }
    })
    .await
    .expect("no live event within 10 s")
}

/// The next frame about a message, skipping membership frames.
pub(crate) async fn next_message_frame(socket: &mut Socket) -> Value {
    loop {
        let frame = next_frame(socket).await;
        if frame["type"]
            .as_str()
            .unwrap_or_default()
            .starts_with("message.")
        {
            return frame;
        }
    }
}

async fn members_hear_of_new_messages_in_their_channels_only(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let community = alice.create_community("live").await;
    bob.join(&community).await;
    let general = alice.general_channel(&community).await;
    let private = alice.create_channel(&community, "private", "private").await;
    let mut socket = listen(&server, &bob).await;

    let metrics = server.metrics().await;
    let clients = crate::harness::metric_value(&metrics, "hearth_websocket_clients");
    assert!(clients >= 1.0, "{metrics}");

    alice.say(&private, "bob must not hear of this").await;
    let public = alice.say(&general, "hello everyone").await;
    let frame = next_frame(&mut socket).await;
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

async fn the_first_message_of_a_new_conversation_is_heard(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let community = alice.create_community("direct").await;
    bob.join(&community).await;
    let mut socket = listen(&server, &bob).await;
    // A conversation bob's feed has never heard of, and its first message at once.
    let opened = alice
        .post("/api/v1/direct", json!({ "user_ids": [bob.id] }))
        .await;
    assert!(
        opened.status == 200 || opened.status == 201,
        "{:?}",
        opened.body
    );
    let conversation = opened.str("id");
    let first = alice.say(&conversation, "hi bob").await;
    let joined = next_frame(&mut socket).await;
    assert_eq!(joined["type"], "member.joined", "{joined}");
    assert_eq!(joined["channel_id"], conversation.as_str());
    let frame = next_message_frame(&mut socket).await;
    assert_eq!(frame["message_id"], first.as_str(), "{frame}");
}

async fn joining_and_leaving_take_effect_for_the_very_next_event(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let community = alice.create_community("rooms").await;
    bob.join(&community).await;
    let general = alice.general_channel(&community).await;
    let random = alice.create_channel(&community, "random", "public").await;
    let mut socket = listen(&server, &bob).await;

    // Bob joins #random and alice speaks there at once: bob hears it.
    bob.post(&format!("/api/v1/channels/{random}/members"), json!({}))
        .await
        .expect_status(204);
    let said = alice.say(&random, "welcome to random").await;
    let frame = next_message_frame(&mut socket).await;
    assert_eq!(frame["message_id"], said.as_str(), "{frame}");

    // He leaves, and the very next message there is not his to hear.
    bob.delete(&format!("/api/v1/channels/{random}/members/me"))
        .await
        .expect_status(204);
    alice.say(&random, "bob has gone").await;
    let after = alice.say(&general, "in general").await;
    let frame = next_message_frame(&mut socket).await;
    assert_eq!(frame["message_id"], after.as_str(), "{frame}");
}

async fn every_event_arrives_once_and_in_order(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let community = alice.create_community("busy").await;
    bob.join(&community).await;
    let general = alice.general_channel(&community).await;
    let mut socket = listen(&server, &bob).await;
    // Posted concurrently, so they commit in shared batches.
    let posts = (0..60).map(|i| {
        let alice = &alice;
        let general = &general;
        async move { alice.say(general, &format!("message {i}")).await }
    });
    let mut posted: Vec<String> = futures_util::future::join_all(posts).await;
    let mut heard = Vec::new();
    let mut last_seq = 0;
    while heard.len() < posted.len() {
        let frame = next_message_frame(&mut socket).await;
        let seq = frame["seq"].as_i64().unwrap();
        assert!(seq > last_seq, "out of order: {seq} after {last_seq}");
        last_seq = seq;
        heard.push(frame["message_id"].as_str().unwrap().to_string());
    }
    let mut unique = heard.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), heard.len(), "an event arrived twice");
    posted.sort();
    assert_eq!(unique, posted);
}

async fn a_client_that_falls_behind_is_told_to_resync(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.live_event_buffer = 16).await;
    let alice = server.member("alice").await;
    let community = alice.create_community("flood").await;
    let general = alice.general_channel(&community).await;
    // Subscribed in process and not read while far more events than the buffer arrive.
    let actor = server
        .app()
        .authenticate_token(match &alice.client.auth {
            Auth::Bearer(token) => token,
            _ => unreachable!(),
        })
        .await
        .unwrap();
    let mut subscription = server.app().subscribe(&actor).await.unwrap();
    let start = subscription.started_after();
    for i in 0..60 {
        alice.say(&general, &format!("flood {i}")).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let first = tokio::time::timeout(Duration::from_secs(10), subscription.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first,
        hearth_app::LiveEvent::Resync { after_seq: start },
        "a lagging subscriber must hear that it missed events"
    );
}

async fn a_subscriber_behind_the_feed_sees_each_channel_while_it_was_a_member(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let community = alice.create_community("behind").await;
    bob.join(&community).await;
    let random = alice.create_channel(&community, "random", "public").await;
    let Auth::Bearer(token) = bob.client.auth.clone() else {
        unreachable!()
    };
    let actor = server.app().authenticate_token(&token).await.unwrap();
    let mut feed = server.app().subscribe(&actor).await.unwrap();
    // While bob's subscription is not reading, he joins #random, alice speaks there, he
    // leaves, and she speaks again.
    bob.post(&format!("/api/v1/channels/{random}/members"), json!({}))
        .await
        .expect_status(204);
    let while_member = alice.say(&random, "while bob is here").await;
    bob.delete(&format!("/api/v1/channels/{random}/members/me"))
        .await
        .expect_status(204);
    alice.say(&random, "after bob left").await;
    let marker = alice.create_channel(&community, "marker", "public").await;
    bob.post(&format!("/api/v1/channels/{marker}/members"), json!({}))
        .await
        .expect_status(204);
    // Reading now, he gets what happened while he was a member, and nothing after.
    let mut seen = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), feed.next()).await;
        let hearth_app::LiveEvent::Event(event) = next.unwrap().unwrap() else {
            panic!("unexpected resync");
        };
        seen.push((event.kind.clone(), event.object_id.to_string()));
        if event.channel_id.to_string() == marker {
            break;
        }
    }
    let bob_id = bob.id.clone();
    assert_eq!(
        seen,
        [
            ("member.joined".to_string(), bob_id.clone()),
            ("message.posted".to_string(), while_member),
            ("member.left".to_string(), bob_id.clone()),
            ("member.joined".to_string(), bob_id),
        ]
    );
}
