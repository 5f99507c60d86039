//! A post whose answer was lost can be retried safely with an idempotency key.

use crate::harness::{Auth, Backend, TestServer, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(a_post_retried_with_its_idempotency_key_is_made_once);

async fn a_post_retried_with_its_idempotency_key_is_made_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let community = alice.create_community("retries").await;
    let general = alice.general_channel(&community).await;
    let Auth::Bearer(token) = alice.client.auth.clone() else {
        unreachable!()
    };
    let post = |key: &'static str, body: &'static str| {
        let url = format!("{}/api/v1/channels/{general}/messages", server.base);
        let token = token.clone();
        async move {
            let response = crate::harness::http()
                .post(url)
                .bearer_auth(token)
                .header("idempotency-key", key)
                .json(&json!({ "body": body }))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let replayed = response.headers().get("idempotent-replayed").is_some();
            let body: Value = response.json().await.unwrap();
            (status, replayed, body)
        }
    };
    let (status, replayed, first) = post("7f1c9a2e-0001", "only once, please").await;
    assert_eq!((status, replayed), (201, false), "{first}");
    let (status, replayed, again) = post("7f1c9a2e-0001", "only once, please").await;
    assert_eq!((status, replayed), (201, true), "{again}");
    assert_eq!(again["id"], first["id"]);
    let history = alice
        .get(&format!("/api/v1/channels/{general}/messages"))
        .await
        .expect_status(200);
    let copies = history.body["messages"]
        .as_array()
        .or(history.body.as_array())
        .map(|list| {
            list.iter()
                .filter(|m| m["body"] == "only once, please")
                .count()
        });
    assert_eq!(copies, Some(1), "{}", history.body);

    // The same key for another post is refused; a malformed key too.
    let (status, _, problem) = post("7f1c9a2e-0001", "something else").await;
    assert_eq!(status, 409, "{problem}");
    let (status, _, problem) = post("has spaces in it", "hello").await;
    assert_eq!(status, 422, "{problem}");
    // Another key is another post.
    let (status, replayed, other) = post("7f1c9a2e-0002", "only once, please").await;
    assert_eq!((status, replayed), (201, false));
    assert_ne!(other["id"], first["id"]);
}
