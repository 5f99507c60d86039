//! Bounded inputs and outputs: text fields refuse control characters, lists come in pages, and
//! what a person may pile up (tokens, edits) has a ceiling.

use crate::harness::{Backend, TestServer, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(nul_bytes_in_any_text_field_are_refused_and_name_the_field,);

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
