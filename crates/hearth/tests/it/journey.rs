//! The whole journey of two members, and the audit trail it leaves.

use crate::harness::{Backend, TestServer, on_both_backends};
use serde_json::json;

on_both_backends!(
    two_members_talk_in_channels_threads_and_direct_messages,
    history_pages_cover_a_channel_exactly_once_newest_first,
    invitation_only_communities_admit_invite_holders_only,
    sessions_end_on_sign_out_and_password_change,
    every_write_leaves_an_audit_entry,
);

async fn two_members_talk_in_channels_threads_and_direct_messages(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;

    // Strangers are not visible to each other; people who share a community are.
    alice
        .get(&format!("/api/v1/users/{}", bob.id))
        .await
        .expect_problem(404, "not-found");
    let me = alice.get("/api/v1/me").await.expect_status(200);
    assert_eq!(me.str("username"), "alice");
    assert_eq!(me.str("email"), "alice@example.org");

    // Alice founds a community; Bob joins it and lands in #general.
    let community = alice.create_community("makers").await;
    let joined = bob
        .post(&format!("/api/v1/communities/{community}/join"), json!({}))
        .await;
    assert_eq!(joined.expect_status(201).body["role"], "member");
    let seen = alice
        .get(&format!("/api/v1/users/{}", bob.id))
        .await
        .expect_status(200);
    assert_eq!(seen.str("username"), "bob");
    assert_eq!(seen.str("display_name"), "bob Example");
    assert!(
        seen.body.get("email").is_none(),
        "others never see an email address"
    );
    let channels = bob
        .get(&format!("/api/v1/communities/{community}/channels"))
        .await
        .expect_status(200);
    let general = channels.body[0]["id"].as_str().unwrap().to_string();
    assert_eq!(channels.body[0]["name"], "general");
    let members = alice
        .get(&format!("/api/v1/channels/{general}/members"))
        .await
        .expect_status(200);
    assert_eq!(members.body.as_array().unwrap().len(), 2);

    // A new channel; Bob joins and both post.
    let dev = alice.create_channel(&community, "dev", "public").await;
    bob.post(&format!("/api/v1/channels/{dev}/members"), json!({}))
        .await
        .expect_status(204);
    let question = alice.say(&dev, "Who is reviewing the release notes?").await;
    let posted = bob
        .post(
            &format!("/api/v1/channels/{dev}/messages"),
            json!({ "body": "I am", "reply_to": question }),
        )
        .await
        .expect_status(201);
    let reply = posted.str("id");
    assert_eq!(posted.body["thread_root_id"], question.as_str());

    // A reply to the reply joins the same thread.
    let nested = alice
        .post(
            &format!("/api/v1/channels/{dev}/messages"),
            json!({ "body": "Thanks!", "reply_to": reply }),
        )
        .await
        .expect_status(201);
    assert_eq!(nested.body["thread_root_id"], question.as_str());

    let thread = bob
        .get(&format!("/api/v1/messages/{question}/thread"))
        .await
        .expect_status(200);
    assert_eq!(thread.body["root"]["reply_count"], 2);
    let bodies: Vec<&str> = thread.body["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["I am", "Thanks!"]);

    // Channel history holds top-level messages only.
    let history = bob
        .get(&format!("/api/v1/channels/{dev}/messages"))
        .await
        .expect_status(200);
    let ids: Vec<&str> = history.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [question.as_str()]);

    // Alice edits her question; the earlier text is kept as a revision.
    let edited = alice
        .patch(
            &format!("/api/v1/messages/{question}"),
            json!({ "body": "Who reviews the notes?" }),
        )
        .await
        .expect_status(200);
    assert_eq!(edited.str("body"), "Who reviews the notes?");
    assert!(edited.body["edited_at"].is_string());
    let revisions = bob
        .get(&format!("/api/v1/messages/{question}/revisions"))
        .await
        .expect_status(200);
    assert_eq!(
        revisions.body[0]["body"],
        "Who is reviewing the release notes?"
    );

    // Bob deletes his reply: the text goes, a tombstone keeps the thread whole.
    bob.delete(&format!("/api/v1/messages/{reply}"))
        .await
        .expect_status(204);
    let gone = alice
        .get(&format!("/api/v1/messages/{reply}"))
        .await
        .expect_status(200);
    assert!(gone.body["body"].is_null());
    assert!(gone.body["deleted_at"].is_string());
    let thread = alice
        .get(&format!("/api/v1/messages/{question}/thread"))
        .await
        .expect_status(200);
    assert_eq!(thread.body["root"]["reply_count"], 1);

    // A direct conversation, found again rather than duplicated.
    let direct = alice
        .post("/api/v1/direct", json!({ "user_ids": [bob.id] }))
        .await
        .expect_status(200);
    let direct_id = direct.str("id");
    assert_eq!(direct.body["kind"], "direct");
    let again = bob
        .post("/api/v1/direct", json!({ "user_ids": [alice.id] }))
        .await
        .expect_status(200);
    assert_eq!(again.str("id"), direct_id);
    alice.say(&direct_id, "Lunch at noon?").await;
    let dms = bob
        .get(&format!("/api/v1/channels/{direct_id}/messages"))
        .await
        .expect_status(200);
    assert_eq!(dms.body["messages"][0]["body"], "Lunch at noon?");
    assert_eq!(dms.body["messages"][0]["author_id"], alice.id.as_str());
    let listed = bob.get("/api/v1/direct").await.expect_status(200);
    assert_eq!(listed.body[0]["id"], direct_id.as_str());
    bob.delete(&format!("/api/v1/channels/{direct_id}/members/me"))
        .await
        .expect_problem(409, "conflict");

    // Leaving: Bob leaves #dev and the community.
    bob.delete(&format!("/api/v1/channels/{dev}/members/me"))
        .await
        .expect_status(204);
    bob.post(&format!("/api/v1/communities/{community}/leave"), json!({}))
        .await
        .expect_status(204);
    let mine = bob.get("/api/v1/communities").await.expect_status(200);
    assert_eq!(mine.body, json!([]));
}

async fn history_pages_cover_a_channel_exactly_once_newest_first(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let community = alice.create_community("pages").await;
    let channel = alice.create_channel(&community, "long", "public").await;
    let mut posted = Vec::new();
    for i in 0..120 {
        posted.push(alice.say(&channel, &format!("message {i}")).await);
    }
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(before) => format!("/api/v1/channels/{channel}/messages?limit=50&before={before}"),
            None => format!("/api/v1/channels/{channel}/messages?limit=50"),
        };
        let page = alice.get(&path).await.expect_status(200);
        pages += 1;
        for m in page.body["messages"].as_array().unwrap() {
            seen.push(m["id"].as_str().unwrap().to_string());
        }
        match page.body["next_before"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    posted.reverse();
    assert_eq!(seen, posted, "every message once, newest first");
}

async fn invitation_only_communities_admit_invite_holders_only(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let carol = server.member("carol").await;
    let dave = server.member("dave").await;
    let created = alice
        .post(
            "/api/v1/communities",
            json!({ "slug": "inner", "name": "Inner", "join_policy": "invite" }),
        )
        .await
        .expect_status(201);
    let community = created.str("id");

    // Outsiders cannot see or join it.
    carol
        .get(&format!("/api/v1/communities/{community}"))
        .await
        .expect_problem(404, "not-found");
    carol
        .post(&format!("/api/v1/communities/{community}/join"), json!({}))
        .await
        .expect_problem(404, "not-found");

    // Members may not create invitations; admins may.
    let invite = alice
        .post(
            &format!("/api/v1/communities/{community}/invites"),
            json!({ "max_uses": 1 }),
        )
        .await
        .expect_status(201);
    let code = invite.str("code");
    let accepted = carol
        .post("/api/v1/invites/accept", json!({ "code": code }))
        .await
        .expect_status(201);
    assert_eq!(accepted.str("id"), community);
    carol
        .post(
            &format!("/api/v1/communities/{community}/invites"),
            json!({}),
        )
        .await
        .expect_problem(403, "forbidden");

    // The invitation was for one use only.
    dave.post("/api/v1/invites/accept", json!({ "code": code }))
        .await
        .expect_problem(404, "not-found");

    // Members are listed; an admin removes one; the owner cannot be removed or leave.
    let members = alice
        .get(&format!("/api/v1/communities/{community}/members"))
        .await
        .expect_status(200);
    assert_eq!(members.body.as_array().unwrap().len(), 2);
    carol
        .delete(&format!(
            "/api/v1/communities/{community}/members/{}",
            alice.id
        ))
        .await
        .expect_problem(403, "forbidden");
    alice
        .post(&format!("/api/v1/communities/{community}/leave"), json!({}))
        .await
        .expect_problem(409, "conflict");
    alice
        .delete(&format!(
            "/api/v1/communities/{community}/members/{}",
            carol.id
        ))
        .await
        .expect_status(204);
    carol
        .get(&format!("/api/v1/communities/{community}/channels"))
        .await
        .expect_problem(404, "not-found");

    // Settings: the owner opens the community, and Dave may join.
    let updated = alice
        .patch(
            &format!("/api/v1/communities/{community}"),
            json!({ "join_policy": "open", "description": "All welcome" }),
        )
        .await
        .expect_status(200);
    assert_eq!(updated.body["join_policy"], "open");
    dave.join(&community).await;
    let directory = dave
        .get("/api/v1/communities/directory")
        .await
        .expect_status(200);
    assert_eq!(directory.body[0]["slug"], "inner");

    // Revoked invitations stop working.
    let second = alice
        .post(
            &format!("/api/v1/communities/{community}/invites"),
            json!({ "expires_in_secs": 3600 }),
        )
        .await
        .expect_status(201);
    let invite_id = second.str("id");
    alice
        .delete(&format!(
            "/api/v1/communities/{community}/invites/{invite_id}"
        ))
        .await
        .expect_status(204);
    let listed = alice
        .get(&format!("/api/v1/communities/{community}/invites"))
        .await
        .expect_status(200);
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != invite_id.as_str())
    );
}

async fn sessions_end_on_sign_out_and_password_change(backend: Backend) {
    let server = TestServer::start(backend).await;
    let erin = server.member("erin").await;
    let anon = server.anonymous();
    let phone = anon
        .sign_in("erin", &crate::harness::password_of("erin"))
        .await;
    phone.get("/api/v1/me").await.expect_status(200);

    // Changing the password from one session ends the others.
    erin.session
        .put(
            "/api/v1/me/password",
            json!({ "current_password": crate::harness::password_of("erin"), "new_password": "an entirely new secret",
                    "revoke_tokens": false }),
        )
        .await
        .expect_status(204);
    phone
        .get("/api/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    erin.session.get("/api/v1/me").await.expect_status(200);
    anon.post(
        "/api/v1/sessions",
        json!({ "login": "erin", "password": crate::harness::password_of("erin") }),
    )
    .await
    .expect_problem(401, "bad-credentials");
    let fresh = anon
        .sign_in("erin@example.org", "an entirely new secret")
        .await;

    // Signing out ends that session only.
    fresh
        .delete("/api/v1/sessions/current")
        .await
        .expect_status(204);
    fresh
        .get("/api/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    erin.session.get("/api/v1/me").await.expect_status(200);

    // Tokens are listed without secrets and stop working once revoked.
    let tokens = erin.get("/api/v1/me/tokens").await.expect_status(200);
    let token_id = tokens.body[0]["id"].as_str().unwrap().to_string();
    assert!(tokens.body[0].get("secret").is_none());
    erin.delete(&format!("/api/v1/me/tokens/{token_id}"))
        .await
        .expect_status(204);
    erin.get("/api/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
}

async fn every_write_leaves_an_audit_entry(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let community = alice.create_community("audited").await;
    bob.join(&community).await;
    let channel = alice.create_channel(&community, "ops", "private").await;
    let message = alice.say(&channel, "secret plans for the launch").await;
    alice
        .patch(
            &format!("/api/v1/messages/{message}"),
            json!({ "body": "new plans" }),
        )
        .await
        .expect_status(200);
    alice
        .delete(&format!("/api/v1/messages/{message}"))
        .await
        .expect_status(204);

    let alice_id = hearth_core::UserId(alice.id.parse().unwrap());
    let entries = server.app().audit_by_actor(alice_id, 100).await.unwrap();
    let actions: Vec<&str> = entries.iter().rev().map(|e| e.action.as_str()).collect();
    for expected in [
        "account.registered",
        "session.signed_in",
        "token.created",
        "community.created",
        "community.member_joined",
        "channel.created",
        "message.posted",
        "message.edited",
        "message.deleted",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let message_id: i64 = message.parse().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "message.posted" && e.object_id == Some(message_id))
    );
}
