//! Several nodes on one PostgreSQL database: live events cross nodes, and writes racing on two
//! nodes keep their promises.

use crate::harness::{Backend, TestServer};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_posted_on_one_node_reaches_a_client_on_the_other() {
    let first = TestServer::start(Backend::Postgres).await;
    let second = first.another_node(1).await;
    let alice = first.member("alice").await;
    let bob = first.member("bob").await;
    let community = alice.create_community("nodes").await;
    bob.join(&community).await;
    let general = alice.general_channel(&community).await;

    // Bob listens on the second node; alice posts through the first.
    let mut socket = crate::live::listen(&second, &bob).await;
    let posted = alice.say(&general, "across the nodes").await;
    let frame = crate::live::next_message_frame(&mut socket).await;
    assert_eq!(frame["message_id"], posted.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_and_a_delete_racing_on_two_nodes_never_bring_text_back() {
    let first = TestServer::start(Backend::Postgres).await;
    let second = first.another_node(1).await;
    let alice = first.member("alice").await;
    let community = alice.create_community("races").await;
    let general = alice.general_channel(&community).await;
    // The same person on the second node.
    let mut on_second = alice.client.clone();
    on_second.base = second.base.clone();

    for round in 0..20 {
        let id = alice.say(&general, &format!("original text {round}")).await;
        let path = format!("/api/v1/messages/{id}");
        let (edited, deleted) = tokio::join!(
            alice.patch(&path, json!({ "body": format!("edited text {round}") })),
            on_second.delete(&path),
        );
        assert!(matches!(edited.status, 200 | 404), "{:?}", edited.body);
        assert_eq!(deleted.status, 204, "{:?}", deleted.body);
        // Whoever won, the message is deleted and no text of it remains, current or past.
        let mut reader = first.app().store().reader().await.unwrap();
        let mut conn = reader.conn();
        let message = conn
            .message(hearth_core::MessageId(id.parse().unwrap()))
            .await
            .unwrap()
            .unwrap();
        assert!(message.deleted_at.is_some());
        assert_eq!(message.body, None, "round {round}: deleted text came back");
        let revisions = conn.message_revisions(&message).await.unwrap();
        assert!(
            revisions.is_empty(),
            "round {round}: a revision survived the delete"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_is_never_used_more_often_than_it_allows() {
    let first = TestServer::start_with(Backend::Postgres, |c| {
        c.sign_ins_per_minute_per_address = 100
    })
    .await;
    let second = first.another_node(1).await;
    let owner = first.member("owner").await;
    let community = owner.create_community("limited").await;
    let code = owner
        .post(
            &format!("/api/v1/communities/{community}/invites"),
            json!({ "max_uses": 3 }),
        )
        .await
        .expect_status(201)
        .str("code");
    let mut guests = Vec::new();
    for i in 0..10 {
        let mut guest = first.member(&format!("guest{i}")).await.client;
        if i % 2 == 1 {
            guest.base = second.base.clone();
        }
        guests.push(guest);
    }
    let accepts = guests
        .iter()
        .map(|guest| guest.post("/api/v1/invites/accept", json!({ "code": code })));
    let answers = futures_util::future::join_all(accepts).await;
    let admitted = answers.iter().filter(|a| a.status == 201).count();
    assert!(answers.iter().all(|a| matches!(a.status, 201 | 404)));
    assert_eq!(admitted, 3, "three uses, whatever node each came through");
    let members = owner
        .get(&format!("/api/v1/communities/{community}/members"))
        .await
        .expect_status(200);
    assert_eq!(members.body.as_array().map(Vec::len), Some(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_another_master_key_refuses_to_start() {
    let first = TestServer::start(Backend::Postgres).await;
    // A second node that was not given the first one's key file makes a key of its own.
    let dir = tempfile::tempdir().unwrap();
    let mut config = first.config.clone();
    config.node_id = 2;
    config.data_dir = dir.path().to_path_buf();
    config.master_key_file = None;
    config.listen = "127.0.0.1:0".parse().unwrap();
    let refused = hearth::server::start(&config)
        .await
        .err()
        .map(|e| format!("{e:#}"));
    assert!(
        refused
            .as_deref()
            .is_some_and(|e| e.contains("another master key")),
        "{refused:?}"
    );
    // With the first node's key it runs.
    let second = first.another_node(3).await;
    let alice = second.member("alice").await;
    alice.get("/api/v1/me").await.expect_status(200);
}
