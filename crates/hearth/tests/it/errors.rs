//! Every error a client can cause, with its status and problem type.

use crate::harness::{Backend, TestServer, on_both_backends};
use serde_json::json;

on_both_backends!(
    malformed_and_incomplete_requests_are_refused_with_problems,
    too_long_text_is_refused_and_nothing_is_written,
    unknown_ids_and_other_peoples_channels_are_not_found,
    acting_without_permission_is_forbidden,
    missing_or_bad_credentials_are_unauthenticated,
    conflicts_are_reported,
    sign_ins_are_throttled_per_address,
    cookie_writes_from_other_sites_are_refused,
);

async fn malformed_and_incomplete_requests_are_refused_with_problems(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let community = alice.create_community("errs").await;
    let channel = alice.create_channel(&community, "c", "public").await;
    let url = format!("{}/api/v1/channels/{channel}/messages", server.base);
    let token = match &alice.client.auth {
        crate::harness::Auth::Bearer(t) => t.clone(),
        _ => unreachable!(),
    };
    let http = crate::harness::http();
    let send = |body: &'static str, content_type: Option<&'static str>| {
        let mut request = http.post(&url).bearer_auth(&token).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let ct = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_string();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, ct, body)
        }
    };

    let (status, ct, body) = send("{\"body\": ", Some("application/json")).await;
    assert_eq!(
        (status, ct.as_str(), body["type"].as_str()),
        (
            400,
            "application/problem+json",
            Some("/problems/malformed-json")
        )
    );

    let (status, _, body) = send("{\"body\": \"hi\"}", None).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (415, Some("/problems/unsupported-media-type"))
    );

    let (status, _, body) = send("{}", Some("application/json")).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (422, Some("/problems/validation"))
    );
    assert!(body["detail"].as_str().unwrap().contains("body"), "{body}");

    let (status, _, body) = send("{\"body\": 42}", Some("application/json")).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (422, Some("/problems/validation"))
    );

    // Registration with missing and invalid fields.
    let anon = server.anonymous();
    anon.post("/api/v1/accounts", json!({ "email": "x@example.org" }))
        .await
        .expect_problem(422, "validation");
    let bad_email = anon
        .post("/api/v1/accounts", json!({ "email": "nope", "username": "xavier", "display_name": "X", "password": "long enough password" }))
        .await
        .expect_problem(422, "validation");
    assert_eq!(bad_email.body["field"], "email");
    let short = anon
        .post("/api/v1/accounts", json!({ "email": "x@example.org", "username": "xavier", "display_name": "X", "password": "short" }))
        .await
        .expect_problem(422, "validation");
    assert_eq!(short.body["field"], "password");

    // Bad query parameters, unknown endpoints and methods.
    alice
        .get(&format!("/api/v1/channels/{channel}/messages?limit=lots"))
        .await
        .expect_problem(400, "bad-query");
    alice
        .get("/api/v1/nothing-here")
        .await
        .expect_problem(404, "not-found");
    alice
        .put(&format!("/api/v1/channels/{channel}/messages"), json!({}))
        .await
        .expect_problem(405, "method-not-allowed");

    // Bodies beyond 64 KiB.
    let huge = "x".repeat(70 * 1024);
    alice
        .post(
            &format!("/api/v1/channels/{channel}/messages"),
            json!({ "body": huge }),
        )
        .await
        .expect_problem(413, "payload-too-large");
}

async fn too_long_text_is_refused_and_nothing_is_written(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let community = alice.create_community("long").await;
    let channel = alice.create_channel(&community, "c", "public").await;
    let too_long = "é".repeat(8_001);
    let refused = alice
        .post(
            &format!("/api/v1/channels/{channel}/messages"),
            json!({ "body": too_long }),
        )
        .await
        .expect_problem(422, "validation");
    assert_eq!(refused.body["field"], "body");
    alice
        .post(
            &format!("/api/v1/channels/{channel}/messages"),
            json!({ "body": "   " }),
        )
        .await
        .expect_problem(422, "validation");
    alice.say(&channel, &"é".repeat(8_000)).await;
    let history = alice
        .get(&format!("/api/v1/channels/{channel}/messages"))
        .await
        .expect_status(200);
    assert_eq!(history.body["messages"].as_array().unwrap().len(), 1);

    let name = "n".repeat(81);
    alice
        .post(
            &format!("/api/v1/communities/{community}/channels"),
            json!({ "name": name }),
        )
        .await
        .expect_problem(422, "validation");
    let channels = alice
        .get(&format!("/api/v1/communities/{community}/channels"))
        .await
        .expect_status(200);
    assert_eq!(
        channels.body.as_array().unwrap().len(),
        2,
        "general and c only"
    );
}

async fn unknown_ids_and_other_peoples_channels_are_not_found(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let mallory = server.member("mallory").await;
    let community = alice.create_community("home").await;
    let private = alice.create_channel(&community, "secret", "private").await;
    let message = alice.say(&private, "for members only").await;

    for path in [
        "/api/v1/channels/999/messages".to_string(),
        "/api/v1/channels/not-a-number".to_string(),
        "/api/v1/messages/12345".to_string(),
        "/api/v1/communities/777/channels".to_string(),
        // Someone else's community, channel and message.
        format!("/api/v1/communities/{community}/members"),
        format!("/api/v1/channels/{private}/messages"),
        format!("/api/v1/messages/{message}"),
        format!("/api/v1/messages/{message}/thread"),
    ] {
        mallory.get(&path).await.expect_problem(404, "not-found");
    }
    mallory
        .post(
            &format!("/api/v1/channels/{private}/messages"),
            json!({ "body": "let me in" }),
        )
        .await
        .expect_problem(404, "not-found");
    mallory
        .delete(&format!("/api/v1/messages/{message}"))
        .await
        .expect_problem(404, "not-found");

    // Even a fellow community member cannot see a private channel they are not in.
    mallory.join(&community).await;
    mallory
        .get(&format!("/api/v1/channels/{private}/messages"))
        .await
        .expect_problem(404, "not-found");
    let visible = mallory
        .get(&format!("/api/v1/communities/{community}/channels"))
        .await
        .expect_status(200);
    assert!(
        visible
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != private.as_str())
    );

    // Direct conversations need a shared community, and replies a message in the channel.
    let stranger = server.member("stranger").await;
    alice
        .post("/api/v1/direct", json!({ "user_ids": [stranger.id] }))
        .await
        .expect_problem(404, "not-found");
    alice
        .post("/api/v1/direct", json!({ "user_ids": [] }))
        .await
        .expect_problem(422, "validation");
    let general = alice.general_channel(&community).await;
    alice
        .post(
            &format!("/api/v1/channels/{general}/messages"),
            json!({ "body": "x", "reply_to": message }),
        )
        .await
        .expect_problem(404, "not-found");
}

async fn acting_without_permission_is_forbidden(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let community = alice.create_community("perm").await;
    bob.join(&community).await;
    let channel = alice
        .create_channel(&community, "announcements", "public")
        .await;
    let message = alice.say(&channel, "Welcome").await;

    // Bob sees the public channel but must join it to post.
    bob.get(&format!("/api/v1/channels/{channel}/messages"))
        .await
        .expect_status(200);
    bob.post(
        &format!("/api/v1/channels/{channel}/messages"),
        json!({ "body": "hi" }),
    )
    .await
    .expect_problem(403, "forbidden");
    bob.patch(
        &format!("/api/v1/messages/{message}"),
        json!({ "body": "defaced" }),
    )
    .await
    .expect_problem(403, "forbidden");
    bob.delete(&format!("/api/v1/messages/{message}"))
        .await
        .expect_problem(403, "forbidden");
    bob.patch(
        &format!("/api/v1/communities/{community}"),
        json!({ "name": "Mine now" }),
    )
    .await
    .expect_problem(403, "forbidden");
    let still = alice
        .get(&format!("/api/v1/messages/{message}"))
        .await
        .expect_status(200);
    assert_eq!(still.str("body"), "Welcome");
}

async fn missing_or_bad_credentials_are_unauthenticated(backend: Backend) {
    let server = TestServer::start(backend).await;
    let anon = server.anonymous();
    let response = anon
        .get("/api/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    assert_eq!(response.headers["www-authenticate"], "Bearer");
    let mut forged = anon.clone();
    forged.auth = crate::harness::Auth::Bearer("hth_forged".into());
    forged
        .get("/api/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    forged.auth = crate::harness::Auth::Cookie("hearth_session=forged".into());
    forged
        .get("/api/v1/communities")
        .await
        .expect_problem(401, "unauthenticated");
    anon.post(
        "/api/v1/sessions",
        json!({ "login": "nobody", "password": "whatever it is" }),
    )
    .await
    .expect_problem(401, "bad-credentials");
}

async fn conflicts_are_reported(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let anon = server.anonymous();
    let taken = anon
        .post("/api/v1/accounts", json!({ "email": "other@example.org", "username": "ALICE", "display_name": "A", "password": "long enough password" }))
        .await
        .expect_problem(409, "conflict");
    assert!(taken.str("detail").contains("username"));
    // A taken email address is not revealed: the answer is the same as for a new account,
    // and nothing is created.
    let fresh = anon
        .post("/api/v1/accounts", json!({ "email": "fresh@example.org", "username": "fresh", "display_name": "F", "password": "long enough password" }))
        .await
        .expect_status(202);
    let taken = anon
        .post("/api/v1/accounts", json!({ "email": "Alice@Example.org", "username": "alice2", "display_name": "A", "password": "long enough password" }))
        .await
        .expect_status(202);
    assert_eq!(fresh.body["detail"], taken.body["detail"]);
    assert_eq!(taken.body["username"], "alice2");
    anon.post(
        "/api/v1/sessions",
        json!({ "login": "alice2", "password": "long enough password" }),
    )
    .await
    .expect_problem(401, "bad-credentials");
    alice.get("/api/v1/me").await.expect_status(200);
    let community = alice.create_community("dupe").await;
    alice
        .post(
            "/api/v1/communities",
            json!({ "slug": "dupe", "name": "again" }),
        )
        .await
        .expect_problem(409, "conflict");
    alice
        .post(&format!("/api/v1/communities/{community}/join"), json!({}))
        .await
        .expect_problem(409, "conflict");
}

async fn sign_ins_are_throttled_per_address(backend: Backend) {
    // A burst of attempts from one address is cut off, whichever accounts it names.
    let server = TestServer::start_with(backend, |c| c.sign_ins_per_minute_per_address = 5).await;
    let anon = server.anonymous();
    let mut statuses = Vec::new();
    for i in 0..7 {
        let r = anon
            .post(
                "/api/v1/sessions",
                json!({ "login": format!("ghost{i}"), "password": "whatever it is" }),
            )
            .await;
        statuses.push(r.status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
}

async fn cookie_writes_from_other_sites_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let crate::harness::Auth::Cookie(cookie) = alice.session.auth.clone() else {
        unreachable!()
    };
    let http = crate::harness::http();
    let url = format!("{}/api/v1/communities", server.base);
    let body = json!({ "slug": "csrf", "name": "csrf" });
    let cross = http
        .post(&url)
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status().as_u16(), 403);
    let fetch_site = http
        .post(&url)
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(fetch_site.status().as_u16(), 403);
    let same = http
        .post(&url)
        .header("cookie", &cookie)
        .header("origin", &server.base)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(same.status().as_u16(), 201);
}
