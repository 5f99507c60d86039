//! Profiles: custom profile fields are asked at join (a required checkbox is a consent that
//! must be ticked), shown by their visibility, kept only while the membership lasts; a
//! picture loses its location and reaches only those who share a community with its person.

use crate::harness::{Auth, Backend, Client, Member, Resp, TestServer, on_both_backends};
use crate::uploads::{jpeg_with_gps, send_bytes};
use serde_json::{Value, json};

on_both_backends!(
    custom_fields_are_asked_at_join_and_shown_by_visibility,
    an_invitation_asks_the_same_fields,
    a_picture_loses_its_location_and_reaches_only_those_who_share_a_community,
);

/// Defines a field in `community` as `admin`.
async fn define(admin: &Member, community: &str, field: Value) -> Resp {
    admin
        .post(
            &format!("/api/v1/communities/{community}/profile-fields"),
            field,
        )
        .await
}

/// `reader`'s view of `member`'s answers: label to value.
async fn answers_seen(reader: &Client, community: &str, member: &str) -> Vec<(String, String)> {
    let seen = reader
        .get(&format!(
            "/api/v1/communities/{community}/members/{member}/profile"
        ))
        .await
        .expect_status(200);
    seen.body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["label"].as_str().unwrap().to_string(),
                a["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn labels(answers: &[(String, String)]) -> Vec<&str> {
    answers.iter().map(|(l, _)| l.as_str()).collect()
}

async fn custom_fields_are_asked_at_join_and_shown_by_visibility(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let carol = server.member("carol").await;
    let community = alice.create_community("club").await;

    let consent = define(
        &alice,
        &community,
        json!({ "label": "I am 13 to 16 and my parent agrees I may join", "kind": "checkbox",
                "required": true, "visibility": "admins",
                "category": "protected_characteristics" }),
    )
    .await
    .expect_status(201);
    assert_eq!(consent.body["sensitive"], false);
    let consent = consent.str("id");
    let pronouns = define(
        &alice,
        &community,
        json!({ "label": "Pronouns", "kind": "choice", "choices": ["she", "he", "they"],
                "category": "protected_characteristics" }),
    )
    .await
    .expect_status(201)
    .str("id");
    let allergies = define(
        &alice,
        &community,
        json!({ "label": "Allergies", "kind": "long_text", "visibility": "admins",
                "category": "health" }),
    )
    .await
    .expect_status(201);
    assert_eq!(allergies.body["sensitive"], true);
    let allergies = allergies.str("id");

    // Definitions that break the rules are refused, and only admins define fields.
    define(
        &alice,
        &community,
        json!({ "label": "Password", "kind": "text", "category": "account_credentials" }),
    )
    .await
    .expect_problem(422, "validation");
    define(
        &alice,
        &community,
        json!({ "label": "Colour", "kind": "choice", "choices": ["red"],
                "category": "inferences" }),
    )
    .await
    .expect_problem(422, "validation");

    // Anyone who may join sees the questions; joining without ticking the consent is
    // refused, and leaves bob outside with nothing kept.
    let fields = bob
        .get(&format!("/api/v1/communities/{community}/profile-fields"))
        .await
        .expect_status(200);
    assert_eq!(fields.body.as_array().unwrap().len(), 3);
    let join = format!("/api/v1/communities/{community}/join");
    let refused = bob
        .post(&join, json!({ "profile": { pronouns.clone(): "they" } }))
        .await
        .expect_problem(422, "validation");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("must be ticked")
    );
    bob.post(&join, json!({ "profile": { consent.clone(): false } }))
        .await
        .expect_problem(422, "validation");
    bob.post(
        &join,
        json!({ "profile": { consent.clone(): true, pronouns.clone(): "it" } }),
    )
    .await
    .expect_problem(422, "validation");
    bob.get(&format!("/api/v1/communities/{community}/members"))
        .await
        .expect_problem(404, "not-found");
    bob.post(&format!("/api/v1/communities/{community}/leave"), json!({}))
        .await
        .expect_problem(404, "not-found");

    bob.post(
        &join,
        json!({ "profile": { consent.clone(): true, pronouns.clone(): "they",
                             allergies.clone(): "Peanuts" } }),
    )
    .await
    .expect_status(201);
    carol
        .post(&join, json!({ "profile": { consent.clone(): "on" } }))
        .await
        .expect_status(201);
    define(
        &bob,
        &community,
        json!({ "label": "Mine", "kind": "text", "category": "identifiers" }),
    )
    .await
    .expect_problem(403, "forbidden");

    // Carol sees what members may; bob and the owner see everything of bob's.
    let seen_by_carol = answers_seen(&carol, &community, &bob.id).await;
    assert_eq!(seen_by_carol, [("Pronouns".into(), "they".into())]);
    let seen_by_alice = answers_seen(&alice, &community, &bob.id).await;
    assert_eq!(
        labels(&seen_by_alice),
        [
            "I am 13 to 16 and my parent agrees I may join",
            "Pronouns",
            "Allergies"
        ]
    );
    assert_eq!(seen_by_alice[0].1, "true");
    assert_eq!(answers_seen(&bob, &community, &bob.id).await, seen_by_alice);
    let outsider = server.member("dave").await;
    outsider
        .get(&format!(
            "/api/v1/communities/{community}/members/{}/profile",
            bob.id
        ))
        .await
        .expect_problem(404, "not-found");

    // Bob changes an answer; the consent cannot be withdrawn while he stays, and a field
    // the community does not ask cannot be answered.
    let mine = format!("/api/v1/communities/{community}/profile");
    let changed = bob
        .put(&mine, json!({ "profile": { pronouns.clone(): "he" } }))
        .await
        .expect_status(200);
    assert_eq!(changed.body[1]["value"], "he");
    assert_eq!(changed.body[2]["value"], "Peanuts");
    bob.put(&mine, json!({ "profile": { consent.clone(): false } }))
        .await
        .expect_problem(422, "validation");
    bob.put(&mine, json!({ "profile": { "12345": "x" } }))
        .await
        .expect_problem(422, "validation");
    bob.put(&mine, json!({ "profile": { "not-an-id": "x" } }))
        .await
        .expect_problem(422, "validation");

    // A field's kind never changes; new choices and a line of help keep the answers.
    let field_url = format!("/api/v1/communities/{community}/profile-fields/{pronouns}");
    alice
        .put(
            &field_url,
            json!({ "label": "Pronouns", "kind": "text", "category": "identifiers" }),
        )
        .await
        .expect_problem(409, "conflict");
    let pronouns_as = |label: &str, choices: &[&str]| {
        json!({ "label": label, "kind": "choice", "choices": choices,
                "help": "Only if you like", "category": "protected_characteristics" })
    };
    alice
        .put(
            &field_url,
            pronouns_as("Pronouns", &["she", "he", "they", "ask me"]),
        )
        .await
        .expect_status(200);
    assert_eq!(
        answers_seen(&carol, &community, &bob.id).await,
        [("Pronouns".into(), "he".into())]
    );
    // Removing a choice deletes the answers that chose it.
    alice
        .put(
            &field_url,
            pronouns_as("Pronouns", &["she", "they", "ask me"]),
        )
        .await
        .expect_status(200);
    assert!(answers_seen(&carol, &community, &bob.id).await.is_empty());
    // Another question deletes every answer: they answered the old one.
    bob.put(&mine, json!({ "profile": { pronouns.clone(): "they" } }))
        .await
        .expect_status(200);
    alice
        .put(
            &field_url,
            pronouns_as("Political party", &["she", "they", "ask me"]),
        )
        .await
        .expect_status(200);
    assert!(answers_seen(&carol, &community, &bob.id).await.is_empty());
    // A sensitive category's answers are never shown to all members.
    let allergies_url = format!("/api/v1/communities/{community}/profile-fields/{allergies}");
    alice
        .put(
            &allergies_url,
            json!({ "label": "Allergies", "kind": "long_text", "visibility": "members",
                    "category": "health" }),
        )
        .await
        .expect_problem(422, "validation");
    // Other words on the consent void every tick given for the old ones: members owe an
    // answer again.
    let consent_url = format!("/api/v1/communities/{community}/profile-fields/{consent}");
    alice
        .put(
            &consent_url,
            json!({ "label": "I am 13 to 16, my parent agrees, and I accept the rules",
                    "kind": "checkbox", "required": true, "visibility": "admins",
                    "category": "protected_characteristics" }),
        )
        .await
        .expect_status(200);
    let seen = answers_seen(&alice, &community, &bob.id).await;
    assert_eq!(labels(&seen), ["Allergies"]);
    bob.put(&mine, json!({ "profile": { consent.clone(): true } }))
        .await
        .expect_status(200);

    // Leaving ends the answers: back in, bob has only what he gives again.
    bob.post(&format!("/api/v1/communities/{community}/leave"), json!({}))
        .await
        .expect_status(204);
    bob.post(&join, json!({ "profile": { consent.clone(): true } }))
        .await
        .expect_status(201);
    assert_eq!(
        labels(&answers_seen(&alice, &community, &bob.id).await),
        ["I am 13 to 16, my parent agrees, and I accept the rules"]
    );

    // Deleting a field deletes every answer to it.
    alice
        .delete(&format!(
            "/api/v1/communities/{community}/profile-fields/{consent}"
        ))
        .await
        .expect_status(204);
    assert!(answers_seen(&alice, &community, &bob.id).await.is_empty());
    assert!(answers_seen(&alice, &community, &carol.id).await.is_empty());
    // Now nothing is required, and a join needs no body at all.
    let erin = server.member("erin").await;
    let joined = erin
        .request(reqwest::Method::POST, &join, None)
        .await
        .expect_status(201);
    assert_eq!(joined.body["role"], "member");
}

async fn an_invitation_asks_the_same_fields(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let community = alice.create_community("private-club").await;
    alice
        .patch(
            &format!("/api/v1/communities/{community}"),
            json!({ "join_policy": "invite" }),
        )
        .await
        .expect_status(200);
    let consent = define(
        &alice,
        &community,
        json!({ "label": "I accept the house rules", "kind": "checkbox", "required": true,
                "category": "inferences" }),
    )
    .await
    .expect_status(201)
    .str("id");
    let born = define(
        &alice,
        &community,
        json!({ "label": "Birth date", "kind": "date", "visibility": "admins",
                "category": "protected_characteristics" }),
    )
    .await
    .expect_status(201)
    .str("id");
    // Outsiders do not see an invitation-only community's questions.
    bob.get(&format!("/api/v1/communities/{community}/profile-fields"))
        .await
        .expect_problem(404, "not-found");
    let code = alice
        .post(
            &format!("/api/v1/communities/{community}/invites"),
            json!({ "max_uses": 1 }),
        )
        .await
        .expect_status(201)
        .str("code");

    // A refused answer does not use the invitation up.
    bob.post("/api/v1/invites/accept", json!({ "code": code }))
        .await
        .expect_problem(422, "validation");
    bob.post(
        "/api/v1/invites/accept",
        json!({ "code": code, "profile": { consent.clone(): true, born.clone(): "2011-02-30" } }),
    )
    .await
    .expect_problem(422, "validation");
    bob.post(
        "/api/v1/invites/accept",
        json!({ "code": code, "profile": { consent.clone(): true, born.clone(): "2011-02-28" } }),
    )
    .await
    .expect_status(201);
    let seen = answers_seen(&alice, &community, &bob.id).await;
    assert_eq!(
        seen,
        [
            ("I accept the house rules".into(), "true".into()),
            ("Birth date".into(), "2011-02-28".into())
        ]
    );
}

/// Sends `bytes` as the caller's picture.
async fn put_avatar(client: &Client, bytes: Vec<u8>) -> Resp {
    let url = format!("{}/api/v1/me/avatar", client.base);
    send_bytes(
        client,
        client.http.put(url),
        "application/octet-stream",
        bytes,
    )
    .await
}

/// Fetches someone's picture: status, content type and bytes.
async fn get_avatar(client: &Client, user: &str) -> (u16, String, Vec<u8>) {
    let mut request = client
        .http
        .get(format!("{}/api/v1/users/{user}/avatar", client.base));
    if let Auth::Bearer(token) = &client.auth {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, kind, response.bytes().await.unwrap().to_vec())
}

async fn a_picture_loses_its_location_and_reaches_only_those_who_share_a_community(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let stranger = server.member("stranger").await;
    let community = alice.create_community("faces").await;
    bob.join(&community).await;

    let account = put_avatar(&bob, jpeg_with_gps()).await.expect_status(200);
    let first = account.str("avatar_id");
    let folder = server.config.data_dir.join("uploads").join(&bob.id);
    let stored = std::fs::read(folder.join(&first)).unwrap();
    assert!(stored.starts_with(&[0xff, 0xd8]));
    let text = String::from_utf8_lossy(&stored);
    assert!(!text.contains("GPS") && !text.contains("Pixel 9"));

    let (status, kind, bytes) = get_avatar(&alice, &bob.id).await;
    assert_eq!((status, kind.as_str()), (200, "image/jpeg"));
    assert_eq!(bytes, stored);
    assert_eq!(get_avatar(&stranger, &bob.id).await.0, 404);
    assert_eq!(get_avatar(&server.anonymous(), &bob.id).await.0, 401);
    let profile = alice
        .get(&format!("/api/v1/users/{}", bob.id))
        .await
        .expect_status(200);
    assert_eq!(profile.body["avatar_id"], first.as_str());
    assert_eq!(profile.body["username"], "bob");

    // Not a picture, or too large: refused, and the picture stays.
    put_avatar(&bob, b"<html><script>alert(1)</script>".to_vec())
        .await
        .expect_problem(415, "unsupported-type");
    let mut huge = jpeg_with_gps();
    huge.resize(3 * 1024 * 1024, 0);
    put_avatar(&bob, huge)
        .await
        .expect_problem(413, "too-large");
    assert_eq!(get_avatar(&alice, &bob.id).await.0, 200);

    // The upload sweep keeps a picture's file, however old.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(folder.join(&first))
        .unwrap()
        .set_modified(old)
        .unwrap();
    server.app().sweep_retention().await.unwrap();
    assert!(folder.join(&first).exists());

    // A new picture replaces the old, whose file goes; removing it removes the file.
    let second = put_avatar(&bob, crate::uploads::png_with_location(8, 8))
        .await
        .expect_status(200)
        .str("avatar_id");
    assert_ne!(first, second);
    assert!(!folder.join(&first).exists());
    assert_eq!(get_avatar(&alice, &bob.id).await.1, "image/png");
    bob.delete("/api/v1/me/avatar").await.expect_status(204);
    assert!(!folder.join(&second).exists());
    assert_eq!(get_avatar(&alice, &bob.id).await.0, 404);

    // The about text: shown to those who share a community, length-checked.
    bob.patch(
        "/api/v1/me",
        json!({ "about": "Climber.\nTea, not coffee." }),
    )
    .await
    .expect_status(200);
    let profile = alice
        .get(&format!("/api/v1/users/{}", bob.id))
        .await
        .expect_status(200);
    assert_eq!(profile.body["about"], "Climber.\nTea, not coffee.");
    assert_eq!(profile.body["display_name"], "bob Example");
    bob.patch("/api/v1/me", json!({ "about": "x".repeat(1001) }))
        .await
        .expect_problem(422, "validation");
    let me = bob.get("/api/v1/me").await.expect_status(200);
    assert_eq!(me.body["about"], "Climber.\nTea, not coffee.");
    assert_eq!(me.body["avatar_id"], Value::Null);
}
