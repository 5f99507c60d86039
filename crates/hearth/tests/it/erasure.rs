//! A request to delete, through the API, the pages and the command line: the person's account
//! and everything about them goes, on both backends, out of every table, file and index, with
//! only what the catalog declares kept left (each with its reason), and a record of the request.

use crate::browser::Browser;
use crate::harness::{Backend, Member, TestServer, on_both_backends, password_of};
use crate::schema::Raw;
use crate::uploads::{png_with_location, send_bytes, upload};
use hearth_core::Timestamp;
use serde_json::json;
use std::path::Path;

on_both_backends!(
    a_member_who_asks_to_be_deleted_leaves_nothing_behind,
    a_member_deletes_their_account_from_the_privacy_page,
    an_operator_erases_an_account_from_the_command_line,
);

/// What every string Alice writes holds, so that none of it can hide anywhere.
const CANARY: &str = "qzerase";

const REQUESTS: &str = "/api/v1/me/privacy/requests";

/// Every file under `dir`, however deep.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

/// The files under `dir` whose bytes hold `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|path| {
            std::fs::read(path).is_ok_and(|bytes| {
                bytes
                    .windows(needle.len())
                    .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
            })
        })
        .map(|path| path.display().to_string())
        .collect()
}

/// On SQLite, waits until the write-ahead log has been truncated after an erasure.
async fn wait_for_truncated_journal(server: &TestServer) {
    let wal = server.config.data_dir.join("hearth.db-wal");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::metadata(&wal).map_or(0, |m| m.len()) > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the write-ahead log was not truncated after the erasure"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The words search finds for `reader` for `query`.
async fn hits(reader: &Member, query: &str) -> usize {
    reader
        .get(&format!("/api/v1/search?q={query}"))
        .await
        .expect_status(200)
        .body["hits"]
        .as_array()
        .map_or(0, Vec::len)
}

/// Alice, a member who wrote, uploaded and answered everything a member can, with the canary
/// in all of it; Bob owns the community. Returns the ids of her file and her thread reply.
pub(crate) async fn plant_alice(
    server: &TestServer,
    bob: &Member,
    alice: &Member,
) -> (String, String) {
    let community = bob.create_community("club").await;
    let field = bob
        .post(
            &format!("/api/v1/communities/{community}/profile-fields"),
            json!({ "label": "Favourite word", "kind": "text", "category": "identifiers" }),
        )
        .await
        .expect_status(201)
        .str("id");
    // The club asks ages; she joins at 13 to 15, ticking her own consent and allowing sale
    // and sharing herself: the records of her age group and her consents.
    bob.put(
        &format!("/api/v1/communities/{community}/age-policy"),
        json!({ "age_question": "bracket", "minimum_age": 13 }),
    )
    .await
    .expect_status(200);
    alice
        .post(
            &format!("/api/v1/communities/{community}/join"),
            json!({ "age": { "age_group": "13_15", "consent": true, "allow_sale": true } }),
        )
        .await
        .expect_status(201);
    // The club's statement, which she acknowledges: the record that she was told.
    let statement = format!("/api/v1/communities/{community}/privacy-statement");
    bob.post(
        &statement,
        json!({ "markdown": "# The club's privacy statement" }),
    )
    .await
    .expect_status(201);
    alice
        .post(
            &format!("{statement}/acknowledgement"),
            json!({ "version": 1 }),
        )
        .await
        .expect_status(200);
    alice
        .put(
            &format!("/api/v1/communities/{community}/profile"),
            json!({ "profile": { field: "qzerase field answer" } }),
        )
        .await
        .expect_status(200);
    alice
        .patch(
            "/api/v1/me",
            json!({ "about": "qzerase about me", "display_name": "Qzerase Alice" }),
        )
        .await
        .expect_status(200);
    let url = format!("{}/api/v1/me/avatar", alice.base);
    send_bytes(
        alice,
        alice.http.put(url),
        "application/octet-stream",
        png_with_location(8, 8),
    )
    .await
    .expect_status(200);
    let general = bob.general_channel(&community).await;
    let question = bob.say(&general, "Who has the keys?").await;
    let reply = alice
        .post(
            &format!("/api/v1/channels/{general}/messages"),
            json!({ "body": "qzerase I do", "reply_to": question }),
        )
        .await
        .expect_status(201)
        .str("id");
    let lunch = alice.say(&general, "qzerase lunch at noon?").await;
    alice
        .patch(
            &format!("/api/v1/messages/{lunch}"),
            json!({ "body": "qzerase lunch at two?" }),
        )
        .await
        .expect_status(200);
    let file = upload(
        alice,
        &general,
        "qzerase-notes.txt",
        "text/plain",
        b"qzerase the file's own words".to_vec(),
    )
    .await
    .expect_status(201)
    .str("id");
    alice
        .post(
            &format!("/api/v1/channels/{general}/messages"),
            json!({ "body": "qzerase notes attached", "attachments": [file] }),
        )
        .await
        .expect_status(201);
    let direct = alice
        .post("/api/v1/direct", json!({ "user_ids": [bob.id] }))
        .await
        .expect_status(200)
        .str("id");
    alice.say(&direct, "qzerase psst").await;
    bob.say(&direct, "See you there").await;
    // A token she named and later revoked; a post she may retry; her read marker; a
    // message she deleted.
    let laptop = alice
        .post("/api/v1/me/tokens", json!({ "name": "qzerase laptop" }))
        .await
        .expect_status(201)
        .body["token"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    alice
        .delete(&format!("/api/v1/me/tokens/{laptop}"))
        .await
        .expect_status(204);
    let crate::harness::Auth::Bearer(token) = &alice.client.auth else {
        panic!("members use tokens")
    };
    let retried = alice
        .http
        .post(format!("{}/api/v1/channels/{general}/messages", alice.base))
        .bearer_auth(token)
        .header("Idempotency-Key", "qzerase-retry")
        .json(&json!({ "body": "qzerase once only" }))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 201);
    alice
        .put(
            &format!("/api/v1/channels/{general}/read"),
            json!({ "message_id": reply }),
        )
        .await
        .expect_status(204);
    let regret = alice.say(&general, "qzerase regret").await;
    alice
        .delete(&format!("/api/v1/messages/{regret}"))
        .await
        .expect_status(204);
    // Her confirmation mail, in the outbox.
    server
        .app()
        .run_due_jobs("test-runner", Timestamp::now())
        .await
        .unwrap();
    (file, reply)
}

async fn a_member_who_asks_to_be_deleted_leaves_nothing_behind(backend: Backend) {
    let server = TestServer::start(backend).await;
    let bob = server.member("bob").await;
    // Her username, address and display name hold the canary too.
    let alice = server.member("qzerasealice").await;
    let (file, reply) = plant_alice(&server, &bob, &alice).await;
    let mut raw = Raw::connect(&server.config.database_url).await;
    assert!(
        !raw.columns_containing(CANARY.as_bytes()).await.is_empty(),
        "the canary was not planted"
    );
    assert!(
        !files_holding(&server.config.data_dir, CANARY).is_empty(),
        "no file holds the canary before the erasure"
    );
    assert!(hits(&bob, CANARY).await > 0);

    // An owner must hand the community on first; a wrong password or a missing field
    // changes nothing.
    bob.post(
        REQUESTS,
        json!({ "kind": "delete", "password": password_of("bob") }),
    )
    .await
    .expect_problem(409, "conflict");
    alice
        .post(
            REQUESTS,
            json!({ "kind": "delete", "password": "not her password" }),
        )
        .await
        .expect_problem(422, "validation");
    alice
        .post(REQUESTS, json!({ "kind": "forget me" }))
        .await
        .expect_status(422);
    alice.get("/api/v1/me").await.expect_status(200);

    let answer = alice
        .post(
            REQUESTS,
            json!({ "kind": "delete", "password": password_of("qzerasealice") }),
        )
        .await
        .expect_status(200);
    assert_eq!(answer.body["state"], "completed", "{}", answer.body);
    let kept: Vec<&str> = answer.body["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["table"].as_str().unwrap())
        .collect();
    for table in ["privacy_requests", "audit_log", "messages"] {
        assert!(kept.contains(&table), "{table} is not in {kept:?}");
    }
    assert!(
        answer.body["kept"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| !k["reason"].as_str().unwrap_or_default().is_empty())
    );

    // Her token and her session are refused; she cannot sign in.
    alice.get("/api/v1/me").await.expect_status(401);
    alice.session.get("/api/v1/me").await.expect_status(401);
    server
        .anonymous()
        .post(
            "/api/v1/sessions",
            json!({ "login": "qzerasealice", "password": password_of("qzerasealice") }),
        )
        .await
        .expect_status(401);
    // Her file and picture answer 404; search finds none of her words.
    bob.get(&format!("/api/v1/uploads/{file}"))
        .await
        .expect_status(404);
    bob.get(&format!("/api/v1/users/{}/avatar", alice.id))
        .await
        .expect_status(404);
    assert_eq!(hits(&bob, CANARY).await, 0);
    // Bob's thread keeps her reply's place, without its text or author.
    let tombstone = bob
        .get(&format!("/api/v1/messages/{reply}"))
        .await
        .expect_status(200);
    assert!(tombstone.body["body"].is_null(), "{}", tombstone.body);
    assert!(tombstone.body["author_id"].is_null());

    // No column of any table holds her words; her id is left only in the audit entry that
    // proves the erasure, by id.
    assert_eq!(
        raw.columns_containing(CANARY.as_bytes()).await,
        Vec::<String>::new(),
        "her words survived the erasure"
    );
    assert_eq!(raw.rows_naming(&alice.id).await, ["audit_log.object_id"]);
    let record = server
        .app()
        .store()
        .reader()
        .await
        .unwrap()
        .conn()
        .count_unchecked(
            "SELECT COUNT(*) FROM privacy_requests WHERE kind = 'delete' \
             AND state = 'completed' AND manner = 'api' AND user_id IS NULL \
             AND responded_at IS NOT NULL"
                .into(),
        )
        .await
        .unwrap();
    assert_eq!(record, 1, "the request's record");
    drop(raw);
    // No file under the data directory holds them: not the database nor its write-ahead log
    // (SQLite), not the uploads folder, not the outbox.
    if backend == Backend::Sqlite {
        wait_for_truncated_journal(&server).await;
    }
    assert_eq!(
        files_holding(&server.config.data_dir, CANARY),
        Vec::<String>::new(),
        "her words survived the erasure in a file"
    );
    assert!(!server.config.uploads_path().join(&alice.id).exists());

    // Someone may sign up again with her name and address: the new account starts empty.
    let again = server.member("qzerasealice").await;
    assert_ne!(again.id, alice.id);
    let communities = again.get("/api/v1/communities").await.expect_status(200);
    assert_eq!(
        communities.body.as_array().map_or(0, Vec::len),
        0,
        "{}",
        communities.body
    );
}

async fn a_member_deletes_their_account_from_the_privacy_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    let bob = server.member("bob").await;
    let alice = server.member("qzerasealice").await;
    plant_alice(&server, &bob, &alice).await;
    let shots = |name: &str| format!("{name}-{backend:?}").to_lowercase();

    // Bob owns a community: the page says so and offers no form.
    let browser = Browser::start().await;
    browser.sign_in(&server, "bob").await;
    browser.open(&server, "/privacy/delete").await;
    browser
        .wait_for_text(".error", "hand each one on to another member first")
        .await;
    browser.screenshots(&shots("delete-account-owner")).await;
    browser.sign_out().await;

    // Alice goes from her privacy page, enters a wrong password, then the right one.
    browser.sign_in(&server, "qzerasealice").await;
    browser.open(&server, "/privacy").await;
    browser.click("a[href='/privacy/delete']").await;
    browser.wait_for_text("h1", "Delete your account").await;
    browser.wait_for_text("ul.kept", "24 months").await;
    browser.screenshots(&shots("delete-account")).await;
    browser.assert_accessible("the account deletion page").await;
    browser.fill("#delete_password", "not her password").await;
    browser.click("form[action='/privacy/delete'] button").await;
    browser
        .wait_for_text(".error", "not your current password")
        .await;
    browser
        .fill("#delete_password", &password_of("qzerasealice"))
        .await;
    browser.click("form[action='/privacy/delete'] button").await;
    browser.wait_for_text("h1", "Your account is deleted").await;
    browser.screenshots(&shots("account-deleted")).await;
    browser.assert_accessible("the deletion's answer").await;
    // Signed out: the header offers sign-in, and her token is refused.
    browser.find("a[href='/sign-in']").await;
    alice.get("/api/v1/me").await.expect_status(401);
    let manner = server
        .app()
        .store()
        .reader()
        .await
        .unwrap()
        .conn()
        .count_unchecked(
            "SELECT COUNT(*) FROM privacy_requests WHERE kind = 'delete' AND manner = 'page'"
                .into(),
        )
        .await
        .unwrap();
    assert_eq!(manner, 1);
    if backend == Backend::Sqlite {
        wait_for_truncated_journal(&server).await;
    }
    assert_eq!(
        files_holding(&server.config.data_dir, CANARY),
        Vec::<String>::new()
    );
    browser.client.clone().close().await.unwrap();
}

async fn an_operator_erases_an_account_from_the_command_line(backend: Backend) {
    let server = TestServer::start(backend).await;
    let bob = server.member("bob").await;
    let carol = server.member("carol").await;
    let community = bob.create_community("club").await;
    carol.join(&community).await;
    let general = bob.general_channel(&community).await;
    carol.say(&general, "qzerase from carol").await;
    let hearth = |args: &[&str]| crate::jobs::run_cli(&server, args);

    // Without --yes nothing happens; an unknown account is an error.
    let unconfirmed = hearth(&["privacy", "erase", "carol"]);
    assert!(!unconfirmed.status.success());
    assert!(String::from_utf8_lossy(&unconfirmed.stderr).contains("--yes"));
    carol.get("/api/v1/me").await.expect_status(200);
    let unknown = hearth(&["privacy", "erase", "nobody@example.org", "--yes"]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    // An owner must hand the community on first.
    let owner = hearth(&["privacy", "erase", "bob", "--yes"]);
    assert!(!owner.status.success());

    let erased = hearth(&["privacy", "erase", "carol@example.org", "--yes"]);
    let said = String::from_utf8_lossy(&erased.stdout).to_string();
    assert!(
        erased.status.success(),
        "{}",
        String::from_utf8_lossy(&erased.stderr)
    );
    assert!(
        said.contains("completed") && said.contains("audit_log"),
        "{said}"
    );
    // Each step of the erasure plan is shown as it goes, by table.
    let steps = String::from_utf8_lossy(&erased.stderr).to_string();
    assert!(
        steps.contains("erasing 0/") && steps.contains(": messages") && steps.contains(": users"),
        "{steps}"
    );
    // The server forgets her token within its credential cache's few seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while carol.get("/api/v1/me").await.status != 401 {
        assert!(
            std::time::Instant::now() < deadline,
            "her token still works"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let mut raw = Raw::connect(&server.config.database_url).await;
    assert_eq!(
        raw.columns_containing(CANARY.as_bytes()).await,
        Vec::<String>::new()
    );
    let store = server.app().store();
    let count = |sql: &str| {
        let sql = sql.to_string();
        async move {
            let mut reader = store.reader().await.unwrap();
            reader.conn().count_unchecked(sql).await.unwrap()
        }
    };
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM privacy_requests WHERE kind = 'delete' AND manner = 'operator'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.account_erased_by_operator' \
             AND actor_id IS NULL"
        )
        .await,
        1
    );
}
