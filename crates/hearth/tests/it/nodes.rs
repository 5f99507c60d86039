//! Several nodes on one PostgreSQL database: live events cross nodes, and writes racing on two
//! nodes keep their promises.

use crate::harness::{Backend, Client, Member, TestServer};
use serde_json::json;

/// Two nodes on one PostgreSQL database, and Alice, signed up through the first, with a
/// client of hers that goes through the second.
async fn alice_on_two_nodes() -> (TestServer, TestServer, Member, Client) {
    let first = TestServer::start(Backend::Postgres).await;
    let second = first.another_node(1).await;
    let alice = first.member("alice").await;
    let mut on_second = alice.client.clone();
    on_second.base = second.base.clone();
    (first, second, alice, on_second)
}

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
    // The same person on both nodes.
    let (first, _second, alice, on_second) = alice_on_two_nodes().await;
    let community = alice.create_community("races").await;
    let general = alice.general_channel(&community).await;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_racing_on_two_nodes_keep_every_replaced_text_as_a_revision() {
    let (_first, _second, alice, on_second) = alice_on_two_nodes().await;
    let community = alice.create_community("edits").await;
    let general = alice.general_channel(&community).await;

    for round in 0..10 {
        let original = format!("round {round} original");
        let id = alice.say(&general, &original).await;
        let path = format!("/api/v1/messages/{id}");
        let edit = |client: &Client, n: usize| {
            let client = client.clone();
            let path = path.clone();
            let body = format!("round {round} edit {n}");
            async move { client.patch(&path, json!({ "body": body })).await }
        };
        // Two edits through each node at once.
        let edits = futures_util::future::join_all([
            edit(&alice.client, 1),
            edit(&on_second, 2),
            edit(&alice.client, 3),
            edit(&on_second, 4),
        ])
        .await;
        for edited in &edits {
            assert_eq!(edited.status, 200, "{:?}", edited.body);
        }
        // Whatever order they landed in, every text the message had is either its current
        // body or one of its revisions, once.
        let current = alice.get(&path).await.expect_status(200).body["body"]
            .as_str()
            .unwrap()
            .to_string();
        let revisions = alice
            .get(&format!("{path}/revisions"))
            .await
            .expect_status(200);
        let mut seen: Vec<String> = revisions
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["body"].as_str().unwrap().to_string())
            .collect();
        // And they are listed in the order they were replaced: the first is the original.
        assert_eq!(seen.first(), Some(&original), "round {round}: {seen:?}");
        seen.push(current);
        seen.sort();
        let mut expected: Vec<String> =
            (1..=4).map(|n| format!("round {round} edit {n}")).collect();
        expected.push(original);
        expected.sort();
        assert_eq!(seen, expected, "round {round}: a replaced text was lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_edit_caps_hold_exactly_when_two_nodes_race() {
    use crate::harness::Resp;
    let (first, _second, alice, on_second) = alice_on_two_nodes().await;
    // Ten requests at once, alternately through each node.
    let race = |method: reqwest::Method, path: String, body: fn(usize) -> serde_json::Value| {
        let nodes = [alice.client.clone(), on_second.clone()];
        async move {
            let calls = (0..10).map(|n| {
                let client: Client = nodes[n % 2].clone();
                let (method, path) = (method.clone(), path.clone());
                async move { client.request(method, &path, Some(body(n))).await }
            });
            futures_util::future::join_all(calls).await
        }
    };
    let count =
        |answers: &[Resp], status: u16| answers.iter().filter(|a| a.status == status).count();
    let user = hearth_core::UserId(alice.id.parse().unwrap());

    // Alice holds 96 tokens (one from signing up); ten more are asked for at once: four are
    // made, six refused. Three rounds, revoking the four in between.
    for n in 0..95 {
        alice
            .post("/api/v1/me/tokens", json!({ "name": format!("token {n}") }))
            .await
            .expect_status(201);
    }
    for round in 0..3 {
        let answers = race(
            reqwest::Method::POST,
            "/api/v1/me/tokens".into(),
            |n| json!({ "name": format!("racing {n}") }),
        )
        .await;
        let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
        assert_eq!(count(&answers, 201), 4, "round {round}: {statuses:?}");
        assert_eq!(count(&answers, 409), 6, "round {round}: {statuses:?}");
        let mut reader = first.app().store().reader().await.unwrap();
        assert_eq!(reader.conn().live_token_count(user).await.unwrap(), 100);
        drop(reader);
        for made in answers.iter().filter(|a| a.status == 201) {
            let id = made.body["token"]["id"].as_str().unwrap();
            alice
                .delete(&format!("/api/v1/me/tokens/{id}"))
                .await
                .expect_status(204);
        }
    }

    // A message edited 96 times; ten more edits at once: four land. Three rounds.
    let community = alice.create_community("caps").await;
    let general = alice.general_channel(&community).await;
    for round in 0..3 {
        let id = alice.say(&general, "edit me").await;
        let path = format!("/api/v1/messages/{id}");
        for n in 0..96 {
            alice
                .patch(&path, json!({ "body": format!("edit {n}") }))
                .await
                .expect_status(200);
        }
        let answers = race(
            reqwest::Method::PATCH,
            path.clone(),
            |n| json!({ "body": format!("racing edit {n}") }),
        )
        .await;
        let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
        assert_eq!(count(&answers, 200), 4, "round {round}: {statuses:?}");
        assert_eq!(count(&answers, 409), 6, "round {round}: {statuses:?}");
        let revisions = alice
            .get(&format!("{path}/revisions"))
            .await
            .expect_status(200);
        assert_eq!(
            revisions.body.as_array().unwrap().len(),
            100,
            "round {round}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_account_while_they_post_on_another_node_leaves_none_of_their_text() {
    let first = TestServer::start(Backend::Postgres).await;
    let second = first.another_node(1).await;
    let owner = first.member("owner").await;
    let community = owner.create_community("erasure").await;
    let general = owner.general_channel(&community).await;
    for round in 0..5 {
        let poster = first.member(&format!("poster{round}")).await;
        poster.join(&community).await;
        // The poster keeps posting through the second node until their account is gone.
        let mut on_second = poster.client.clone();
        on_second.base = second.base.clone();
        let path = format!("/api/v1/channels/{general}/messages");
        let posting = tokio::spawn(async move {
            for n in 0.. {
                let body = json!({ "body": format!("qzcanary {n}") });
                if on_second.post(&path, body).await.status != 201 {
                    return n;
                }
            }
            unreachable!()
        });
        tokio::time::sleep(std::time::Duration::from_millis(50 + 20 * round)).await;
        let store = first.app().store();
        assert!(
            crate::schema::delete_account(store, &poster.id)
                .await
                .unwrap()
        );
        let posted = posting.await.unwrap();
        assert!(posted > 0, "round {round}: nothing was posted");
        let mut raw = crate::schema::Raw::connect(&first.config.database_url).await;
        assert_eq!(
            raw.columns_containing(b"qzcanary").await,
            Vec::<String>::new(),
            "round {round}: text posted while the account went survived it"
        );
    }
}
