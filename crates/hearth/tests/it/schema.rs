//! The schema's personal links do what the data catalog declares when a person's account goes,
//! and migrating a database keeps every row it holds.

use crate::harness::{Backend, TestServer, fresh_database, on_both_backends};
use hearth_app::{Store, StoreError, StoreOptions};
use hearth_core::UserId;
use serde_json::json;
use sqlx::Connection;

on_both_backends!(
    deleting_a_person_keeps_everyone_elses_messages_and_threads,
    migrating_a_foundation_database_keeps_every_row,
);

/// Deletes an account row the way account deletion will, once its content is erased.
async fn delete_account(store: &Store, id: &str) -> Result<bool, StoreError> {
    let id = UserId(id.parse().unwrap());
    store
        .write(move |tx| Box::pin(async move { tx.conn().delete_user(id).await }))
        .await
}

async fn deleting_a_person_keeps_everyone_elses_messages_and_threads(backend: Backend) {
    let server = TestServer::start(backend).await;
    let bob = server.member("bob").await;
    let alice = server.member("alice").await;
    let carol = server.member("carol").await;
    let community = bob.create_community("threads").await;
    alice.join(&community).await;
    carol.join(&community).await;
    let general = bob.general_channel(&community).await;
    let reply = |author: &crate::harness::Member, to: &str, body: &str| {
        let path = format!("/api/v1/channels/{general}/messages");
        let body = json!({ "body": body, "reply_to": to });
        let client = author.client.clone();
        async move { client.post(&path, body).await.expect_status(201).str("id") }
    };

    // Bob asks; Alice and Carol answer in his thread.
    let question = bob.say(&general, "Who has the keys?").await;
    reply(&alice, &question, "I do").await;
    reply(&carol, &question, "Alice does").await;
    // Alice starts a thread of her own, edits it, and Bob answers.
    let lunch = alice.say(&general, "Lunch at noon?").await;
    alice
        .patch(
            &format!("/api/v1/messages/{lunch}"),
            json!({ "body": "Lunch at one?" }),
        )
        .await
        .expect_status(200);
    reply(&bob, &lunch, "Count me in").await;
    // And a direct conversation with Carol.
    let direct = alice
        .post("/api/v1/direct", json!({ "user_ids": [carol.id] }))
        .await
        .expect_status(200)
        .str("id");
    carol.say(&direct, "See you there").await;

    // An owner's account cannot go while the community needs them.
    let store = server.app().store();
    assert!(matches!(
        delete_account(store, &bob.id).await,
        Err(StoreError::ForeignKeyViolation)
    ));

    assert!(delete_account(store, &alice.id).await.unwrap());

    // Bob's thread keeps every reply: Alice's as a tombstone from a deleted user.
    let thread = bob
        .get(&format!("/api/v1/messages/{question}/thread"))
        .await
        .expect_status(200);
    let replies = thread.body["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 2, "{}", thread.body);
    assert!(replies[0]["author_id"].is_null());
    assert!(replies[0]["body"].is_null());
    assert_eq!(replies[1]["body"], "Alice does");
    assert_eq!(replies[1]["author_id"], carol.id.as_str());

    // Alice's own thread stands, unreadable, with Bob's answer in it.
    let thread = bob
        .get(&format!("/api/v1/messages/{lunch}/thread"))
        .await
        .expect_status(200);
    assert!(thread.body["root"]["author_id"].is_null());
    assert!(thread.body["root"]["body"].is_null());
    assert_eq!(thread.body["replies"][0]["body"], "Count me in");
    let revisions = bob
        .get(&format!("/api/v1/messages/{lunch}/revisions"))
        .await
        .expect_status(200);
    assert_eq!(revisions.body, json!([]));

    // Carol keeps her side of the direct conversation.
    let history = carol
        .get(&format!("/api/v1/channels/{direct}/messages"))
        .await
        .expect_status(200);
    assert_eq!(history.body["messages"][0]["body"], "See you there");
}

/// A connection of the test's own to a database, outside any store.
enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Raw {
    async fn connect(url: &str) -> Self {
        if url.starts_with("sqlite:") {
            use sqlx::ConnectOptions;
            use std::str::FromStr;
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .unwrap()
                .create_if_missing(true)
                .foreign_keys(true);
            Raw::Sqlite(options.connect().await.unwrap())
        } else {
            Raw::Postgres(sqlx::PgConnection::connect(url).await.unwrap())
        }
    }

    /// Applies the migrations up to and including `version`, as an older Hearth did.
    async fn migrate_to(&mut self, version: i64) {
        let folder = match self {
            Raw::Sqlite(_) => "sqlite",
            Raw::Postgres(_) => "postgres",
        };
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../hearth-store/migrations")
            .join(folder);
        let migrator = sqlx::migrate::Migrator::new(path).await.unwrap();
        match self {
            Raw::Sqlite(c) => migrator.run_to(version, c).await.unwrap(),
            Raw::Postgres(c) => migrator.run_to(version, c).await.unwrap(),
        }
    }

    /// A byte string literal in this engine's spelling.
    fn bytes(&self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        match self {
            Raw::Sqlite(_) => format!("X'{hex}'"),
            Raw::Postgres(_) => format!("'\\x{hex}'::bytea"),
        }
    }

    /// A message body as the store seals it (plain, behind its format byte).
    fn sealed(&self, text: &str) -> String {
        let mut bytes = vec![0u8];
        bytes.extend_from_slice(text.as_bytes());
        self.bytes(&bytes)
    }

    async fn execute(&mut self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self {
            Raw::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ()),
            Raw::Postgres(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{e}"));
    }

    async fn number(&mut self, sql: &str) -> Option<i64> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        let row: (Option<i64>,) = match self {
            Raw::Sqlite(c) => sqlx::query_as(sql).fetch_one(c).await,
            Raw::Postgres(c) => sqlx::query_as(sql).fetch_one(c).await,
        }
        .unwrap_or_else(|e| panic!("{e}"));
        row.0
    }

    /// The number of rows of every table the catalog declares that the foundation (0001)
    /// already had.
    async fn row_counts(&mut self) -> Vec<(&'static str, Option<i64>)> {
        const LATER: &[&str] = &[
            "sign_in_throttles",
            "event_sequence",
            "post_idempotency",
            "instance_key_check",
        ];
        let mut counts = Vec::new();
        for table in hearth_core::catalog::TABLES
            .iter()
            .filter(|t| !LATER.contains(&t.name))
        {
            let sql = format!("SELECT COUNT(*) FROM {}", table.name);
            counts.push((table.name, self.number(&sql).await));
        }
        counts
    }
}

async fn migrating_a_foundation_database_keeps_every_row(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let mut raw = Raw::connect(&url).await;
    raw.migrate_to(1).await;
    // One row or more in every table, written as the foundation (migration 0001) wrote them:
    // Bob owns a community where Alice answers his question and he answers her edited one.
    let script = format!(
        "INSERT INTO users (id, username, display_name, email, password_hash, created_at, \
         updated_at) VALUES (1, 'alice', 'Alice', 'alice@example.org', 'h', 1, 1), \
         (2, 'bob', 'Bob', 'bob@example.org', 'h', 1, 1);
         INSERT INTO sessions VALUES ({session}, 1, 1, 9999999999999, 1);
         INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) \
         VALUES (5, 1, 'cli', {token}, 1);
         INSERT INTO communities VALUES (10, 'club', 'Club', 'About', 'open', 2, 1, 1);
         INSERT INTO community_members VALUES (10, 1, 'member', 1), (10, 2, 'owner', 1);
         INSERT INTO invites (id, community_id, code, created_by, created_at) \
         VALUES (11, 10, 'code', 2, 1);
         INSERT INTO channels VALUES (20, 10, 'public', 'general', '', NULL, 2, 1), \
         (21, NULL, 'direct', '', '', '1,2', 1, 1);
         INSERT INTO channel_members VALUES (20, 1, 1), (20, 2, 1), (21, 1, 1), (21, 2, 1);
         INSERT INTO messages (id, channel_id, author_id, thread_root_id, body, created_at, \
         edited_at, reply_count) VALUES \
         (103, 20, 2, 102, {bobs_answer}, 5, NULL, 0), \
         (100, 20, 2, NULL, {question}, 2, NULL, 1), \
         (101, 20, 1, 100, {alices_answer}, 3, NULL, 0), \
         (102, 20, 1, NULL, {lunch}, 4, 6, 1), \
         (104, 21, 1, NULL, {direct}, 7, NULL, 0);
         INSERT INTO message_edits VALUES (200, 102, 1, {lunch_before}, 6);
         INSERT INTO audit_log VALUES (300, 1, 1, 'message.posted', 'message', 101, 10);
         INSERT INTO events (channel_id, kind, object_id, at) \
         VALUES (20, 'message.posted', 101, 3);",
        session = raw.bytes(&[1; 32]),
        token = raw.bytes(&[2; 32]),
        question = raw.sealed("Who has the keys?"),
        alices_answer = raw.sealed("I do"),
        lunch = raw.sealed("Lunch at one?"),
        lunch_before = raw.sealed("Lunch at noon?"),
        bobs_answer = raw.sealed("Count me in"),
        direct = raw.sealed("Psst"),
    );
    raw.execute(&script).await;
    let before = raw.row_counts().await;
    assert!(before.iter().all(|(_, n)| *n >= Some(1)), "{before:?}");
    drop(raw);

    // Today's Hearth opens it, applying the later migrations.
    let store = Store::open(&StoreOptions::new(url.clone())).await.unwrap();
    let mut reader = store.reader().await.unwrap();
    let mut conn = reader.conn();
    let answer = conn
        .message(hearth_core::MessageId(101))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.body.as_deref(), Some("I do"));
    assert_eq!(answer.thread_root_id, Some(hearth_core::MessageId(100)));
    assert_eq!(answer.author_id, Some(UserId(1)));
    let lunch = conn
        .message(hearth_core::MessageId(102))
        .await
        .unwrap()
        .unwrap();
    let revisions = conn.message_revisions(&lunch).await.unwrap();
    let bodies: Vec<&str> = revisions.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(bodies, ["Lunch at noon?"], "revisions were lost");
    drop(reader);
    store.close().await;

    let mut raw = Raw::connect(&url).await;
    assert_eq!(raw.row_counts().await, before);
    if backend == Backend::Sqlite {
        let violations = raw
            .number("SELECT COUNT(*) FROM pragma_foreign_key_check")
            .await;
        assert_eq!(violations, Some(0));
    }
    drop(raw);

    // The migrated links behave as declared: Alice's account goes, the threads stay.
    let store = Store::open(&StoreOptions::new(url.clone())).await.unwrap();
    assert!(delete_account(&store, "1").await.unwrap());
    store.close().await;
    let mut raw = Raw::connect(&url).await;
    assert_eq!(
        raw.number("SELECT COUNT(*) FROM messages").await,
        Some(5),
        "messages were deleted with their author"
    );
    assert_eq!(
        raw.number("SELECT author_id FROM messages WHERE id = 101")
            .await,
        None
    );
    assert_eq!(
        raw.number("SELECT thread_root_id FROM messages WHERE id = 103")
            .await,
        Some(102)
    );
    // Foreign keys are still enforced.
    let orphan = "INSERT INTO messages (id, channel_id, author_id, created_at) \
                  VALUES (900, 999, NULL, 1)";
    let refused = match &mut raw {
        Raw::Sqlite(c) => sqlx::raw_sql(sqlx::AssertSqlSafe(orphan))
            .execute(c)
            .await
            .is_err(),
        Raw::Postgres(c) => sqlx::raw_sql(sqlx::AssertSqlSafe(orphan))
            .execute(c)
            .await
            .is_err(),
    };
    assert!(refused, "a message in no channel was accepted");
}
