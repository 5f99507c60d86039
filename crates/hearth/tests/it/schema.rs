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
pub(crate) async fn delete_account(store: &Store, id: &str) -> Result<bool, StoreError> {
    let id = UserId(id.parse().unwrap());
    let deleted = store
        .write(move |tx| Box::pin(async move { tx.delete_user(id).await }))
        .await?;
    // Their words leave SQLite's search index right after, in batches, as the app does.
    while store
        .write(|tx| Box::pin(async move { tx.purge_search_batch(1000).await }))
        .await?
        == 1000
    {}
    Ok(deleted)
}

/// What every string Alice writes starts with, so that none of it can hide anywhere.
const CANARY: &str = "qzcanary";

async fn deleting_a_person_keeps_everyone_elses_messages_and_threads(backend: Backend) {
    let server = TestServer::start(backend).await;
    let bob = server.member("bob").await;
    // Her username, email and display name all carry the canary.
    let alice = server.member("qzcanaryalice").await;
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
    reply(&alice, &question, "qzcanary I do").await;
    reply(&carol, &question, "Alice does").await;
    // Alice starts a thread of her own, edits it twice, and Bob answers.
    let lunch = alice.say(&general, "qzcanary lunch at noon?").await;
    for body in ["qzcanary lunch at one?", "qzcanary lunch at two?"] {
        alice
            .patch(
                &format!("/api/v1/messages/{lunch}"),
                json!({ "body": body }),
            )
            .await
            .expect_status(200);
    }
    reply(&bob, &lunch, "Count me in").await;
    // A post she may retry, and a token she named.
    let crate::harness::Auth::Bearer(token) = &alice.client.auth else {
        panic!("members use tokens")
    };
    let retried = alice
        .client
        .http
        .post(format!(
            "{}/api/v1/channels/{general}/messages",
            server.base
        ))
        .bearer_auth(token)
        .header("Idempotency-Key", "qzcanary-retry")
        .json(&json!({ "body": "qzcanary once only" }))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 201);
    alice
        .post("/api/v1/me/tokens", json!({ "name": "qzcanary laptop" }))
        .await
        .expect_status(201);
    // And a direct conversation with Carol.
    let direct = alice
        .post("/api/v1/direct", json!({ "user_ids": [carol.id] }))
        .await
        .expect_status(200)
        .str("id");
    alice.say(&direct, "qzcanary psst").await;
    carol.say(&direct, "See you there").await;

    let mut raw = Raw::connect(&server.config.database_url).await;
    assert!(
        !raw.columns_containing(CANARY.as_bytes()).await.is_empty(),
        "the canary was not planted"
    );

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

    // Nothing Alice wrote is left in any column of any table, nor is her id.
    assert_eq!(
        raw.columns_containing(CANARY.as_bytes()).await,
        Vec::<String>::new(),
        "Alice's words survived her erasure"
    );
    assert_eq!(raw.rows_naming(&alice.id).await, Vec::<String>::new());
    drop(raw);
    // On SQLite, nor in any file of the data directory: the write-ahead log is truncated soon
    // after the erasure, and deleted cells are overwritten.
    if backend == Backend::Sqlite {
        let dir = &server.config.data_dir;
        let wal = dir.join("hearth.db-wal");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::metadata(&wal).map_or(0, |m| m.len()) > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the write-ahead log was not truncated after the erasure"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap_or_default();
            assert!(
                !contains(&bytes, CANARY.as_bytes()),
                "Alice's words survived her erasure in {}",
                path.display()
            );
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A connection of the test's own to a database, outside any store.
pub(crate) enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Raw {
    pub(crate) async fn connect(url: &str) -> Self {
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

    /// Every (table, column, holds bytes) of the live schema, whatever the catalog says.
    async fn all_columns(&mut self) -> Vec<(String, String, bool)> {
        match self {
            Raw::Sqlite(c) => sqlx::query_as(
                "SELECT m.name, p.name, FALSE FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table'",
            )
            .fetch_all(c)
            .await,
            Raw::Postgres(c) => {
                sqlx::query_as(
                    "SELECT table_name::text, column_name::text, data_type = 'bytea' \
                 FROM information_schema.columns WHERE table_schema = 'public'",
                )
                .fetch_all(c)
                .await
            }
        }
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every value of a column, as the bytes stored (text as UTF-8, numbers as their digits).
    async fn raw_values(&mut self, table: &str, column: &str, bytes: bool) -> Vec<Vec<u8>> {
        let sql = match self {
            Raw::Sqlite(_) => format!("SELECT CAST(\"{column}\" AS BLOB) FROM \"{table}\""),
            Raw::Postgres(_) if bytes => format!("SELECT \"{column}\" FROM \"{table}\""),
            Raw::Postgres(_) => {
                format!("SELECT convert_to(\"{column}\"::text, 'UTF8') FROM \"{table}\"")
            }
        };
        let sql = sqlx::AssertSqlSafe(sql);
        let rows: Vec<(Option<Vec<u8>>,)> = match self {
            Raw::Sqlite(c) => sqlx::query_as(sql).fetch_all(c).await,
            Raw::Postgres(c) => sqlx::query_as(sql).fetch_all(c).await,
        }
        .unwrap_or_else(|e| panic!("{table}.{column}: {e}"));
        rows.into_iter().filter_map(|(v,)| v).collect()
    }

    /// The columns, of every table, holding `needle` anywhere in a value.
    pub(crate) async fn columns_containing(&mut self, needle: &[u8]) -> Vec<String> {
        let mut found = Vec::new();
        for (table, column, bytes) in self.all_columns().await {
            let values = self.raw_values(&table, &column, bytes).await;
            if values.iter().any(|v| contains(v, needle)) {
                found.push(format!("{table}.{column}"));
            }
        }
        found
    }

    /// The columns, of every table, with a value that is `id`, or lists it among others
    /// separated by commas.
    pub(crate) async fn rows_naming(&mut self, id: &str) -> Vec<String> {
        let mut found = Vec::new();
        for (table, column, bytes) in self.all_columns().await {
            let values = self.raw_values(&table, &column, bytes).await;
            let names = |v: &Vec<u8>| v.split(|b| *b == b',').any(|part| part == id.as_bytes());
            if values.iter().any(names) {
                found.push(format!("{table}.{column}"));
            }
        }
        found
    }

    /// The number of rows of every table the catalog declares that the foundation (0001)
    /// already had.
    async fn row_counts(&mut self) -> Vec<(&'static str, Option<i64>)> {
        const LATER: &[&str] = &[
            "sign_in_throttles",
            "event_sequence",
            "post_idempotency",
            "instance_key_check",
            "channel_reads",
            "uploads",
            "message_search",
            "profile_fields",
            "profile_values",
            "jobs",
            "account_links",
            "two_factor",
            "recovery_codes",
            "external_identities",
            "privacy_requests",
            "exports",
            "webhooks",
            "webhook_deliveries",
            "webhook_reached",
            "legal_holds",
            "held_messages",
            "request_verifications",
            "erased_identifiers",
            "search_purge",
            "privacy_statements",
            "statement_acknowledgements",
            "legal_terms",
            "terms_acceptances",
            "parental_consents",
            "generated_statements",
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
