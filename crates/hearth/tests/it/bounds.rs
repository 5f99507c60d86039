//! Bounded inputs and outputs: text fields refuse control characters, lists come in pages, and
//! what a person may pile up (tokens, edits) has a ceiling.

use crate::harness::{Auth, Backend, Client, TestServer, on_both_backends};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

on_both_backends!(
    nul_bytes_in_any_text_field_are_refused_and_name_the_field,
    every_list_comes_in_pages_walked_with_a_cursor,
    live_tokens_and_edits_of_one_message_are_capped,
    a_websocket_client_sending_a_large_message_is_disconnected,
);

/// `value` with a NUL byte slipped into `field`, after its first character.
fn with_nul(value: &Value, field: &str) -> Value {
    let mut value = value.clone();
    let text = value[field].as_str().unwrap_or_default();
    let (first, rest) = text.split_at(1);
    value[field] = json!(format!("{first}\u{0}{rest}"));
    value
}

async fn nul_bytes_in_any_text_field_are_refused_and_name_the_field(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let community = alice.create_community("nul").await;
    let channel = alice.general_channel(&community).await;
    let message = alice.say(&channel, "hello").await;
    let anon = server.anonymous();

    let registration = json!({
        "email": "zed@example.org", "username": "zed", "display_name": "Zed",
        "password": "a long enough password",
    });
    let sign_in = json!({ "login": "alice", "password": "whatever it is" });
    let password_change = json!({
        "current_password": crate::harness::password_of("alice"),
        "new_password": "another long password",
    });
    let new_community = json!({ "slug": "other", "name": "Other", "description": "About" });
    let settings = json!({ "name": "Renamed", "description": "Now about this" });
    let new_channel = json!({ "name": "random", "topic": "Anything" });
    let post = json!({ "body": "hi" });
    let cases = [
        (
            &anon,
            "POST",
            "/api/v1/accounts".to_string(),
            &registration,
            "email",
        ),
        (
            &anon,
            "POST",
            "/api/v1/accounts".into(),
            &registration,
            "username",
        ),
        (
            &anon,
            "POST",
            "/api/v1/accounts".into(),
            &registration,
            "display_name",
        ),
        (
            &anon,
            "POST",
            "/api/v1/accounts".into(),
            &registration,
            "password",
        ),
        (&anon, "POST", "/api/v1/sessions".into(), &sign_in, "login"),
        (
            &alice.client,
            "PUT",
            "/api/v1/me/password".into(),
            &password_change,
            "new_password",
        ),
        (
            &alice.client,
            "POST",
            "/api/v1/me/tokens".into(),
            &json!({ "name": "ci" }),
            "name",
        ),
        (
            &alice.client,
            "POST",
            "/api/v1/communities".into(),
            &new_community,
            "slug",
        ),
        (
            &alice.client,
            "POST",
            "/api/v1/communities".into(),
            &new_community,
            "name",
        ),
        (
            &alice.client,
            "POST",
            "/api/v1/communities".into(),
            &new_community,
            "description",
        ),
        (
            &alice.client,
            "PATCH",
            format!("/api/v1/communities/{community}"),
            &settings,
            "name",
        ),
        (
            &alice.client,
            "PATCH",
            format!("/api/v1/communities/{community}"),
            &settings,
            "description",
        ),
        (
            &alice.client,
            "POST",
            format!("/api/v1/communities/{community}/channels"),
            &new_channel,
            "name",
        ),
        (
            &alice.client,
            "POST",
            format!("/api/v1/communities/{community}/channels"),
            &new_channel,
            "topic",
        ),
        (
            &alice.client,
            "POST",
            format!("/api/v1/channels/{channel}/messages"),
            &post,
            "body",
        ),
        (
            &alice.client,
            "PATCH",
            format!("/api/v1/messages/{message}"),
            &post,
            "body",
        ),
        (
            &alice.client,
            "POST",
            "/api/v1/invites/accept".into(),
            &json!({ "code": "abc" }),
            "code",
        ),
    ];
    let mut wrong = Vec::new();
    for (client, method, path, body, field) in cases {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let refused = client
            .request(method.clone(), &path, Some(with_nul(body, field)))
            .await;
        let named = refused.body["field"].as_str() == Some(field);
        if refused.status != 422 || !named || refused.body["type"] != "/problems/validation" {
            wrong.push(format!(
                "{method} {path} with a NUL in {field}: {}",
                refused.body
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    // A NUL in the password given to sign in is just a wrong password.
    anon.post(
        "/api/v1/sessions",
        json!({ "login": "alice", "password": "bad\u{0}password" }),
    )
    .await
    .expect_problem(401, "bad-credentials");

    // Nothing was written: the message and the community are as they were.
    let unchanged = alice.get(&format!("/api/v1/messages/{message}")).await;
    assert_eq!(unchanged.str("body"), "hello");
    let community = alice.get(&format!("/api/v1/communities/{community}")).await;
    assert_eq!(community.str("name"), "nul");
}

/// Reads a whole list two items at a time, following the cursor (`after` or `before`, the
/// last id of each page, found at the JSON pointer `id_at`) until a short page; checks the
/// pages add up to the list read at once.
async fn walk(client: &Client, path: &str, cursor: &str, id_at: &str) -> usize {
    let id_of = |item: &Value| {
        item.pointer(id_at)
            .and_then(Value::as_str)
            .unwrap()
            .to_string()
    };
    let join = if path.contains('?') { '&' } else { '?' };
    let whole = client
        .get(&format!("{path}{join}limit=200"))
        .await
        .expect_status(200);
    let whole: Vec<String> = whole.body.as_array().unwrap().iter().map(id_of).collect();
    let mut walked = Vec::new();
    let mut url = format!("{path}{join}limit=2");
    loop {
        let page = client.get(&url).await.expect_status(200);
        let items = page.body.as_array().unwrap();
        assert!(items.len() <= 2, "{path}: a page of {}", items.len());
        walked.extend(items.iter().map(id_of));
        if items.len() < 2 {
            break;
        }
        url = format!("{path}{join}limit=2&{cursor}={}", walked.last().unwrap());
    }
    assert_eq!(walked, whole, "{path}");
    for refused in ["0", "201", "-5"] {
        let problem = client
            .get(&format!("{path}{join}limit={refused}"))
            .await
            .expect_problem(422, "validation");
        assert_eq!(problem.body["field"], "limit");
    }
    whole.len()
}

async fn every_list_comes_in_pages_walked_with_a_cursor(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let carol = server.member("carol").await;
    let dave = server.member("dave").await;
    let mut communities = Vec::new();
    for slug in ["one", "two", "three"] {
        communities.push(alice.create_community(slug).await);
    }
    let home = &communities[0];
    for member in [&bob, &carol, &dave] {
        member.join(home).await;
    }
    for name in ["a", "b", "c"] {
        alice.create_channel(home, name, "public").await;
    }
    let general = alice.general_channel(home).await;
    for people in [
        vec![&bob.id],
        vec![&carol.id],
        vec![&dave.id],
        vec![&bob.id, &carol.id],
    ] {
        alice
            .post("/api/v1/direct", json!({ "user_ids": people }))
            .await
            .expect_status(200);
    }
    for name in ["ci", "laptop", "phone"] {
        alice
            .post("/api/v1/me/tokens", json!({ "name": name }))
            .await
            .expect_status(201);
    }
    for _ in 0..3 {
        alice
            .post(&format!("/api/v1/communities/{home}/invites"), json!({}))
            .await
            .expect_status(201);
    }
    let root = alice.say(&general, "root").await;
    for i in 0..3 {
        alice.say(&general, &format!("top {i}")).await;
        alice
            .post(
                &format!("/api/v1/channels/{general}/messages"),
                json!({ "body": format!("reply {i}"), "reply_to": root }),
            )
            .await
            .expect_status(201);
    }

    let (id, user_id) = ("/id", "/user/id");
    assert_eq!(walk(&alice, "/api/v1/communities", "after", id).await, 3);
    assert_eq!(
        walk(&alice, "/api/v1/communities/directory", "after", id).await,
        3
    );
    let members = format!("/api/v1/communities/{home}/members");
    assert_eq!(walk(&alice, &members, "after", user_id).await, 4);
    let channels = format!("/api/v1/communities/{home}/channels");
    assert_eq!(walk(&alice, &channels, "after", id).await, 4);
    let in_general = format!("/api/v1/channels/{general}/members");
    assert_eq!(walk(&alice, &in_general, "after", id).await, 4);
    assert_eq!(walk(&alice, "/api/v1/direct", "after", id).await, 4);
    assert_eq!(walk(&alice, "/api/v1/me/tokens", "before", id).await, 4);
    let invites = format!("/api/v1/communities/{home}/invites");
    assert_eq!(walk(&alice, &invites, "before", id).await, 3);

    // Message history and threads page the same way.
    let history = alice
        .get(&format!("/api/v1/channels/{general}/messages?limit=2"))
        .await
        .expect_status(200);
    assert_eq!(history.body["messages"].as_array().unwrap().len(), 2);
    alice
        .get(&format!("/api/v1/channels/{general}/messages?limit=201"))
        .await
        .expect_problem(422, "validation");
    let thread = alice
        .get(&format!("/api/v1/messages/{root}/thread?limit=2"))
        .await
        .expect_status(200);
    assert_eq!(thread.body["replies"].as_array().unwrap().len(), 2);
    alice
        .get(&format!("/api/v1/messages/{root}/thread?limit=0"))
        .await
        .expect_problem(422, "validation");
}

async fn live_tokens_and_edits_of_one_message_are_capped(backend: Backend) {
    let server = TestServer::start(backend).await;
    // The harness gave Alice one token already.
    let alice = server.member("alice").await;
    let mut last = String::new();
    for i in 1..100 {
        last = alice
            .post("/api/v1/me/tokens", json!({ "name": format!("t{i}") }))
            .await
            .expect_status(201)
            .body["token"]["id"]
            .as_str()
            .unwrap()
            .to_string();
    }
    let refused = alice
        .post("/api/v1/me/tokens", json!({ "name": "one too many" }))
        .await
        .expect_problem(409, "conflict");
    assert!(refused.str("detail").contains("revoke"), "{}", refused.body);
    // Revoking one makes room.
    alice
        .delete(&format!("/api/v1/me/tokens/{last}"))
        .await
        .expect_status(204);
    alice
        .post("/api/v1/me/tokens", json!({ "name": "replacement" }))
        .await
        .expect_status(201);

    let community = alice.create_community("edits").await;
    let channel = alice.general_channel(&community).await;
    let message = alice.say(&channel, "version 0").await;
    for i in 1..=100 {
        alice
            .patch(
                &format!("/api/v1/messages/{message}"),
                json!({ "body": format!("version {i}") }),
            )
            .await
            .expect_status(200);
    }
    alice
        .patch(
            &format!("/api/v1/messages/{message}"),
            json!({ "body": "version 101" }),
        )
        .await
        .expect_problem(409, "conflict");
    let revisions = alice
        .get(&format!("/api/v1/messages/{message}/revisions"))
        .await
        .expect_status(200);
    assert_eq!(revisions.body.as_array().unwrap().len(), 100);
    let current = alice.get(&format!("/api/v1/messages/{message}")).await;
    assert_eq!(current.str("body"), "version 100");
}

async fn a_websocket_client_sending_a_large_message_is_disconnected(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let Auth::Bearer(token) = alice.client.auth.clone() else {
        unreachable!()
    };
    let url = format!(
        "ws://{}/api/v1/ws",
        server.base.trim_start_matches("http://")
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();

    // Small chatter is ignored and the connection stays up: a ping is answered.
    socket.send(Message::text("hello")).await.unwrap();
    socket
        .send(Message::Ping(b"still there?".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Pong(payload))) => return payload,
                Some(Ok(_)) => continue,
                other => panic!("socket ended: {other:?}"),
            }
        }
    })
    .await
    .expect("no pong within 10 s");
    assert_eq!(&pong[..], b"still there?");

    // A message over 4 KiB ends the connection.
    socket
        .send(Message::text("x".repeat(8 * 1024)))
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection stayed open");

    // A plain GET is not a handshake: a problem, not a bare 400.
    alice
        .get("/api/v1/ws")
        .await
        .expect_problem(400, "not-a-websocket");
}
