//! Search: only over what the searcher may read, best match first, with matched words marked;
//! an edit or a delete changes what is found at once, and erasing a person takes their words
//! out of the index.

use crate::harness::{Backend, Member, TestServer, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    search_finds_only_what_the_searcher_may_read,
    edits_deletes_and_erasure_change_what_search_finds_at_once,
);

async fn found(member: &Member, query: &str) -> Vec<String> {
    let path = format!("/api/v1/search?{query}");
    let answer = member.get(&path).await.expect_status(200);
    answer.body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            h["message"]["body"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

async fn search_finds_only_what_the_searcher_may_read(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let carol = server.member("carol").await;
    let community = alice.create_community("library").await;
    bob.join(&community).await;
    carol.join(&community).await;
    let general = alice.general_channel(&community).await;
    let secret = alice.create_channel(&community, "secret", "private").await;
    alice.say(&general, "the quick brown fox jumps").await;
    alice.say(&general, "a lazy dog sleeps all day").await;
    alice.say(&secret, "the quick secret plan").await;
    let direct = alice
        .post("/api/v1/direct", json!({ "user_ids": [carol.id] }))
        .await
        .str("id");
    alice.say(&direct, "a quick note for carol").await;
    let root = alice.say(&general, "lunch plans?").await;
    bob.post(
        &format!("/api/v1/channels/{general}/messages"),
        json!({ "body": "a quick lunch, yes", "reply_to": root }),
    )
    .await
    .expect_status(201);

    // Bob reads #general only: not the private channel, not alice's conversation with carol.
    let mut bobs = found(&bob, "q=quick").await;
    bobs.sort();
    assert_eq!(bobs, ["a quick lunch, yes", "the quick brown fox jumps"]);
    // Every word must occur; case and accents do not matter.
    assert_eq!(
        found(&bob, "q=QUICK+fox").await,
        ["the quick brown fox jumps"]
    );
    assert!(found(&bob, "q=quick+cat").await.is_empty());
    // The matched word is marked in the snippet.
    let answer = bob.get("/api/v1/search?q=lazy").await.expect_status(200);
    let snippet = &answer.body["hits"][0]["snippet"];
    let marked: Vec<&Value> = snippet
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["hit"] == true)
        .collect();
    assert_eq!(marked.len(), 1, "{snippet}");
    assert_eq!(marked[0]["text"].as_str().unwrap().to_lowercase(), "lazy");

    // Alice reads all four; scopes narrow it.
    assert_eq!(found(&alice, "q=quick").await.len(), 4);
    assert_eq!(
        found(&alice, &format!("q=quick&community_id={community}"))
            .await
            .len(),
        3
    );
    assert_eq!(
        found(&alice, "q=quick&direct=true").await,
        ["a quick note for carol"]
    );
    assert_eq!(found(&carol, "q=quick&direct=true").await.len(), 1);
    // Someone outside the community cannot search it.
    let outsider = server.member("outsider").await;
    outsider
        .get(&format!("/api/v1/search?q=quick&community_id={community}"))
        .await
        .expect_problem(404, "not-found");
    assert!(found(&outsider, "q=quick").await.is_empty());

    // Paging: one at a time, then no more.
    let first = alice
        .get("/api/v1/search?q=quick&limit=3")
        .await
        .expect_status(200);
    assert_eq!(first.body["next_offset"], 3);
    let rest = alice
        .get("/api/v1/search?q=quick&limit=3&offset=3")
        .await
        .expect_status(200);
    assert_eq!(rest.body["hits"].as_array().unwrap().len(), 1);
    assert!(rest.body["next_offset"].is_null());

    // Whatever is typed is searched for, never read as query syntax; bad input is refused.
    for odd in [
        "%22unbalanced",
        "body%3Aquick*",
        "NEAR(quick",
        "quick%20-fox",
        "%27%3B--",
    ] {
        bob.get(&format!("/api/v1/search?q={odd}"))
            .await
            .expect_status(200);
    }
    bob.get("/api/v1/search?q=%20%20")
        .await
        .expect_problem(422, "validation");
    bob.get("/api/v1/search?q=a%00b")
        .await
        .expect_problem(422, "validation");
    bob.get("/api/v1/search?q=quick&offset=5000")
        .await
        .expect_problem(422, "validation");
    server
        .anonymous()
        .get("/api/v1/search?q=quick")
        .await
        .expect_status(401);
}

async fn edits_deletes_and_erasure_change_what_search_finds_at_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    // Bob owns the community, so that alice's account can be erased (an owner's cannot).
    let community = bob.create_community("changes").await;
    alice.join(&community).await;
    let general = bob.general_channel(&community).await;
    let message = alice.say(&general, "meet at the harbour").await;
    assert_eq!(found(&bob, "q=harbour").await, ["meet at the harbour"]);

    alice
        .patch(
            &format!("/api/v1/messages/{message}"),
            json!({ "body": "meet at the station" }),
        )
        .await
        .expect_status(200);
    assert!(found(&bob, "q=harbour").await.is_empty());
    assert_eq!(found(&bob, "q=station").await, ["meet at the station"]);

    alice
        .delete(&format!("/api/v1/messages/{message}"))
        .await
        .expect_status(204);
    assert!(found(&bob, "q=station").await.is_empty());

    // Erasing alice takes every word of hers out of the index.
    alice.say(&general, "remember the lighthouse").await;
    assert_eq!(found(&bob, "q=lighthouse").await.len(), 1);
    let store = server.app().store().clone();
    assert!(
        crate::schema::delete_account(&store, &alice.id)
            .await
            .unwrap()
    );
    assert!(found(&bob, "q=lighthouse").await.is_empty());
    let left = store
        .reader()
        .await
        .unwrap()
        .conn()
        .count_unchecked("SELECT COUNT(*) FROM message_search".into())
        .await
        .unwrap();
    assert_eq!(left, 0);
}
