//! A person's copy of their data: asked for in the API and on the pages, made by the jobs
//! table, offered to them alone, and complete: every kind of data the catalog declares is in
//! it as JSON that follows its schema and as CSV, with their files, an index page that opens
//! offline, and a manifest whose sums hold; nothing of anyone else is in it.

use crate::browser::Browser;
use crate::erasure::plant_alice;
use crate::harness::{Auth, Backend, Member, TestServer, on_both_backends, password_of};
use crate::mail::mails_in;
use hearth_core::Timestamp;
use hearth_core::catalog::Category;
use hearth_core::export::{self, Shown};
use serde_json::{Value, json};
use std::path::Path;

on_both_backends!(
    a_copy_holds_every_catalogued_field_of_its_person_and_nothing_of_anyone_else,
    a_member_asks_for_a_copy_on_the_privacy_page_and_opens_it_offline,
    an_operator_makes_a_copy_from_the_command_line,
);

const REQUESTS: &str = "/api/v1/me/privacy/requests";

/// Personal columns a member's everyday use leaves empty in their copy, and why.
const NOT_FILLED: &[(&str, &str)] = &[
    // Sign-in with an identity provider and two-factor sign-in are off for this member
    // (tests/it/oidc.rs and two_factor.rs cover them).
    ("external_identities.*", "no identity provider linked"),
    ("two_factor.*", "two-factor sign-in off"),
    // Held only while a request made on the public form waits (tests/it/public_requests.rs).
    (
        "request_verifications.*",
        "no request from the public form is open",
    ),
    ("recovery_codes.*", "two-factor sign-in off"),
    // Filled once an answer or a change happens.
    (
        "users.email_verified_at",
        "the address is not confirmed yet",
    ),
    ("users.sale_opt_out_at", "no opt-out made"),
    ("users.sensitive_limit_at", "no limit asked"),
    (
        "privacy_requests.acknowledge_by",
        "the access request needs no separate notice",
    ),
    (
        "privacy_requests.extended_to",
        "CCPA: set only when extended",
    ),
    ("privacy_requests.denial_reason", "not denied"),
    // An admin's hand and a correction fill these (tests/it/requests.rs).
    ("privacy_requests.details", "no correction asked"),
    (
        "privacy_requests.answer",
        "the copy is being made as it is read",
    ),
    ("privacy_requests.note", "no admin wrote to her"),
    (
        "privacy_requests.responded_at",
        "the copy is being made as it is read",
    ),
    ("exports.ready_at", "the copy is being made as it is read"),
    ("exports.expires_at", "the copy is being made as it is read"),
    ("exports.range_from", "this copy covers everything"),
    ("exports.range_to", "this copy covers everything"),
    ("jobs.last_error", "no job failed"),
    ("jobs.dedupe_key", "her jobs need none"),
    ("account_links.new_email", "no change of address pending"),
    ("sessions.last_seen_at", "refreshed only after a while"),
    ("sign_in_throttles.*", "she never mistyped her password"),
    ("invites.*", "she made no invitation"),
    ("webhooks.*", "she set up no webhook (tests/it/webhooks.rs)"),
    ("webhook_deliveries.*", "no webhook received her messages"),
    ("webhook_reached.*", "no webhook received her messages"),
    (
        "legal_holds.*",
        "no legal hold on her (tests/it/requests.rs)",
    ),
    (
        "held_messages.*",
        "filled only once a held person is erased",
    ),
    (
        "privacy_statements.*",
        "she published no statement (tests/it/statements.rs)",
    ),
    (
        "legal_terms.*",
        "she is not the operator (tests/it/terms.rs)",
    ),
    (
        "terms_acceptances.*",
        "she owns no community (tests/it/terms.rs exports an owner's)",
    ),
    (
        "parental_consents.*",
        "she joined at 13 to 15, on her own consent (tests/it/minors.rs exports a child's)",
    ),
    ("channels.*", "she made no channel"),
    ("communities.*", "she owns no community"),
    (
        "message_edits.*",
        "replaced only by edits, which plant_alice checks in messages",
    ),
];

fn not_filled(table: &str, column: &str) -> bool {
    NOT_FILLED
        .iter()
        .any(|(name, _)| *name == format!("{table}.*") || *name == format!("{table}.{column}"))
}

/// Downloads a copy with `client`'s credentials: status and bytes.
async fn fetch(client: &crate::harness::Client, path: &str) -> (u16, Vec<u8>) {
    let mut request = client.http.get(format!("{}{path}", client.base));
    request = match &client.auth {
        Auth::Bearer(token) => request.bearer_auth(token),
        Auth::Cookie(cookie) => request.header("cookie", cookie),
        Auth::None => request,
    };
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        response.bytes().await.unwrap().to_vec(),
    )
}

/// Unpacks and checks a copy with scripts/check-export.py (schemas, manifest, CSV): the
/// summary it prints.
fn check_with_python(zip: &Path, into: &Path) -> Value {
    let python = std::env::var("HEARTH_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/check-export.py");
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(zip)
        .arg(into)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the copy does not hold up: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Runs due jobs until the copy `id` of `member` is ready; returns it.
async fn wait_until_ready(server: &TestServer, member: &Member, id: &str) -> Value {
    for _ in 0..100 {
        server
            .app()
            .run_due_jobs("test-runner", Timestamp::now())
            .await
            .unwrap();
        let export = member
            .get(&format!("/api/v1/me/exports/{id}"))
            .await
            .expect_status(200);
        match export.body["state"].as_str() {
            Some("ready") => return export.body,
            Some("failed") => panic!("the copy failed: {}", export.body),
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("the copy was never ready")
}

/// Makes `member`'s whole copy through the API (their password is `name`'s), unpacks and
/// checks it, and returns every file in it as text: for tests that look for one record.
pub(crate) async fn whole_copy_text(server: &TestServer, member: &Member, name: &str) -> String {
    let asked = member
        .post(
            REQUESTS,
            json!({ "kind": "access", "password": password_of(name), "everything": true }),
        )
        .await
        .expect_status(202);
    let ready = wait_until_ready(server, member, &asked.str("id")).await;
    let (status, zip) = fetch(member, ready["download"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    let work = tempfile::tempdir().unwrap();
    let zip_path = work.path().join("copy.zip");
    std::fs::write(&zip_path, &zip).unwrap();
    let unpacked = work.path().join("copy");
    check_with_python(&zip_path, &unpacked);
    everything_in(&unpacked)
}

/// Every file under `dir` as text (lossy), joined: what a search of the copy sees.
fn everything_in(dir: &Path) -> String {
    let mut all = String::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                all.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
                all.push('\n');
            }
        }
    }
    all
}

async fn a_copy_holds_every_catalogued_field_of_its_person_and_nothing_of_anyone_else(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let bob = server.member("bob").await;
    let alice = server.member("qzerasealice").await;
    let (file, _) = plant_alice(&server, &bob, &alice).await;
    // Things Bob wrote that Alice's copy must not hold.
    let community_channels = bob.get("/api/v1/communities").await.expect_status(200);
    assert_eq!(community_channels.body.as_array().map(Vec::len), Some(1));

    // A copy needs the password again; a range must run forwards.
    alice
        .post(
            REQUESTS,
            json!({ "kind": "access", "password": "not hers", "everything": true }),
        )
        .await
        .expect_problem(422, "validation");
    alice
        .post(
            REQUESTS,
            json!({ "kind": "access", "password": password_of("qzerasealice"),
                    "from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z" }),
        )
        .await
        .expect_problem(422, "validation");

    let asked = alice
        .post(
            REQUESTS,
            json!({ "kind": "access", "password": password_of("qzerasealice"),
                    "everything": true }),
        )
        .await
        .expect_status(202);
    assert_eq!(asked.body["state"], "preparing");
    let id = asked.str("id");
    // Asking again while it is being made answers with the same copy.
    let again = alice
        .post(
            REQUESTS,
            json!({ "kind": "access", "password": password_of("qzerasealice") }),
        )
        .await
        .expect_status(202);
    assert_eq!(again.str("id"), id);
    let ready = wait_until_ready(&server, &alice, &id).await;
    let download = ready["download"].as_str().unwrap().to_string();

    // Hers alone: Bob and strangers get nothing.
    assert_eq!(fetch(&bob, &download).await.0, 404);
    assert_eq!(fetch(&server.anonymous(), &download).await.0, 401);
    bob.get(&format!("/api/v1/me/exports/{id}"))
        .await
        .expect_status(404);
    let (status, zip) = fetch(&alice, &download).await;
    assert_eq!(status, 200);
    assert_eq!(Some(zip.len() as u64), ready["bytes"].as_u64());

    let work = tempfile::tempdir().unwrap();
    let zip_path = work.path().join("copy.zip");
    std::fs::write(&zip_path, &zip).unwrap();
    let unpacked = work.path().join("copy");
    let summary = check_with_python(&zip_path, &unpacked);

    // Every kind the catalog declares is there, the same rows as JSON and as CSV.
    for kind in export::kinds() {
        let counts = &summary[kind.name()];
        assert_eq!(counts["json"], counts["csv"], "{}: {summary}", kind.name());
    }
    // Every personal column holds a value for her, unless her use of Hearth leaves it empty
    // (and the list says why): a column added to the catalog is covered here at once.
    let mut empty = Vec::new();
    for kind in export::kinds() {
        let data: Value = serde_json::from_slice(
            &std::fs::read(unpacked.join(format!("data/{}.json", kind.name()))).unwrap(),
        )
        .unwrap();
        let rows = data["rows"].as_array().unwrap();
        for (column, shown) in kind.columns() {
            if column.category == Category::NotPersonal {
                continue;
            }
            let values: Vec<&Value> = rows
                .iter()
                .map(|row| &row[column.name])
                .filter(|v| !v.is_null())
                .collect();
            if values.is_empty() && !not_filled(kind.name(), column.name) {
                empty.push(format!("{}.{}", kind.name(), column.name));
            }
            // Credentials are held, never disclosed.
            if shown == Shown::Held {
                assert!(
                    values.iter().all(|v| *v == export::HELD_NOT_DISCLOSED),
                    "{}.{} disclosed",
                    kind.name(),
                    column.name
                );
            }
        }
    }
    assert_eq!(
        empty,
        Vec::<String>::new(),
        "personal columns missing from her copy"
    );

    // What she wrote is there, in JSON and in CSV; her file and picture too.
    let all = everything_in(&unpacked);
    for planted in [
        "qzerase field answer",
        "qzerase about me",
        "Qzerase Alice",
        "qzerasealice@example.org",
        "qzerase I do",
        "qzerase lunch at two?",
        "qzerase lunch at noon?",
        "qzerase psst",
        "qzerase-notes.txt",
        "qzerase laptop",
        "qzerase the file's own words",
    ] {
        let in_json = everything_in(&unpacked.join("data")).contains(planted)
            || everything_in(&unpacked.join("files")).contains(planted);
        assert!(in_json, "{planted:?} is not in her copy");
        if !planted.contains("own words") {
            assert!(
                everything_in(&unpacked.join("csv")).contains(planted),
                "{planted:?} is not in her CSV"
            );
        }
    }
    // Her profile answers come with the questions they answer.
    let profile: Value =
        serde_json::from_str(&std::fs::read_to_string(unpacked.join("profile.json")).unwrap())
            .unwrap();
    assert_eq!(profile["answers"][0]["question"], "Favourite word");
    assert_eq!(profile["answers"][0]["answer"], "qzerase field answer");
    assert_eq!(profile["answers"][0]["community"], "club");
    let index = std::fs::read_to_string(unpacked.join("index.html")).unwrap();
    assert!(index.contains("Favourite word") && index.contains("qzerase field answer"));
    assert!(
        std::fs::read_dir(unpacked.join("files"))
            .unwrap()
            .flatten()
            .any(|f| f
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("{file}-")))
    );
    assert!(
        std::fs::read_dir(unpacked.join("files"))
            .unwrap()
            .flatten()
            .any(|f| f.file_name().to_string_lossy().starts_with("picture-"))
    );
    // Nothing of Bob's: not his words, name or address, nor his id.
    for his in [
        "Who has the keys?",
        "See you there",
        "bob@example.org",
        "bob Example",
    ] {
        assert!(!all.contains(his), "{his:?} is in her copy");
    }
    assert!(
        !all.contains(&format!("\"{}\"", bob.id)),
        "Bob's id is in her copy"
    );
    assert!(all.contains(export::ANOTHER_PERSON));

    // The request is on record, completed; she was mailed the page's link.
    let requests = alice
        .get("/api/v1/me/privacy/requests")
        .await
        .expect_status(200);
    let access = requests
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "access")
        .unwrap();
    assert_eq!(access["state"], "completed", "{access}");
    server
        .app()
        .run_due_jobs("test-runner", Timestamp::now())
        .await
        .unwrap();
    assert!(
        mails_in(&server.config.outbox_path())
            .iter()
            .any(|m| m.header("Subject").contains("copy of your data")
                && m.text.contains(&format!("/privacy/exports/{id}")))
    );

    // A range leaves out what falls outside it, but never the account itself.
    let future = alice
        .post(
            REQUESTS,
            json!({ "kind": "access", "password": password_of("qzerasealice"),
                    "from": "2099-01-01T00:00:00Z", "to": "2099-02-01T00:00:00Z" }),
        )
        .await
        .expect_status(202)
        .str("id");
    let ready = wait_until_ready(&server, &alice, &future).await;
    let (_, zip) = fetch(&alice, ready["download"].as_str().unwrap()).await;
    let zip_path = work.path().join("future.zip");
    std::fs::write(&zip_path, &zip).unwrap();
    let summary = check_with_python(&zip_path, &work.path().join("future"));
    assert_eq!(summary["messages"]["json"], 0, "{summary}");
    assert_eq!(summary["users"]["json"], 1, "{summary}");

    // Erasing her removes her copies' files too.
    alice
        .post(
            REQUESTS,
            json!({ "kind": "delete", "password": password_of("qzerasealice") }),
        )
        .await
        .expect_status(200);
    let left = std::fs::read_dir(server.config.exports_path())
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(left, 0, "her copies outlived her");

    // Files no copy on record owns (a copy finished after its person went, a crash's old
    // draft) are swept; a fresh draft may still be being written and stays.
    let exports = server.config.exports_path();
    std::fs::write(exports.join("12345.zip"), b"orphan").unwrap();
    std::fs::write(exports.join(".12345.1.partial"), b"old draft").unwrap();
    std::fs::write(exports.join(".12346.1.partial"), b"fresh draft").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    std::fs::File::options()
        .write(true)
        .open(exports.join(".12345.1.partial"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    server.app().sweep_retention().await.unwrap();
    let mut left: Vec<String> = std::fs::read_dir(&exports)
        .unwrap()
        .flatten()
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".12346.1.partial"]);
}

async fn a_member_asks_for_a_copy_on_the_privacy_page_and_opens_it_offline(backend: Backend) {
    let server = TestServer::start(backend).await;
    let bob = server.member("bob").await;
    let alice = server.member("qzerasealice").await;
    plant_alice(&server, &bob, &alice).await;
    let shots = |name: &str| format!("{name}-{backend:?}").to_lowercase();

    let browser = Browser::start().await;
    browser.sign_in(&server, "qzerasealice").await;
    browser.open(&server, "/privacy").await;
    browser.wait_for_text("#copy-heading", "Get a copy").await;
    browser
        .fill("#copy_password", &password_of("qzerasealice"))
        .await;
    browser.screenshots(&shots("privacy-copy")).await;
    browser
        .click("form[action='/privacy/exports'] button[type=submit]")
        .await;
    browser.wait_for_text("h1", "Your copy of your data").await;
    browser.wait_for_text("main", "being made").await;
    browser.screenshots(&shots("copy-preparing")).await;
    browser.assert_accessible("a copy being made").await;
    let path = browser.path().await;
    let id = path.rsplit('/').next().unwrap().to_string();
    wait_until_ready(&server, &alice, &id).await;
    browser.open(&server, &path).await;
    browser.wait_for_text("main", "Download your data").await;
    browser.screenshots(&shots("copy-ready")).await;
    browser.assert_accessible("a copy ready to download").await;

    // The ZIP the page offers opens offline: its index page refers to nothing outside it.
    let session = browser.client.get_all_cookies().await.unwrap();
    let cookie = session
        .iter()
        .find(|c| c.name() == "hearth_session")
        .map(|c| format!("hearth_session={}", c.value()))
        .unwrap();
    let client = crate::harness::Client {
        http: crate::harness::http(),
        base: server.base.clone(),
        auth: Auth::Cookie(cookie),
    };
    let (status, zip) = fetch(&client, &format!("{path}/download")).await;
    assert_eq!(status, 200);
    let work = tempfile::tempdir().unwrap();
    let zip_path = work.path().join("copy.zip");
    std::fs::write(&zip_path, &zip).unwrap();
    let unpacked = work.path().join("copy");
    check_with_python(&zip_path, &unpacked);
    let index = std::fs::read_to_string(unpacked.join("index.html")).unwrap();
    for outside in ["http:", "https:", "//", "<script", "@import"] {
        assert!(
            !index.replace("<!DOCTYPE html>", "").contains(outside),
            "the index page reaches outside the copy: {outside}"
        );
    }
    browser
        .client
        .goto(&format!("file://{}", unpacked.join("index.html").display()))
        .await
        .unwrap();
    browser.wait_for_text("h1", "Your data from Hearth").await;
    browser.wait_for_text("#messages", "records").await;
    browser.screenshots(&shots("copy-index")).await;
    browser.assert_accessible("the copy's index page").await;
    browser.client.clone().close().await.unwrap();
}

async fn an_operator_makes_a_copy_from_the_command_line(backend: Backend) {
    let server = TestServer::start(backend).await;
    let bob = server.member("bob").await;
    let alice = server.member("qzerasealice").await;
    plant_alice(&server, &bob, &alice).await;
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("alice.zip");
    let hearth = |args: &[&str]| crate::jobs::run_cli(&server, args);
    let out_arg = out.display().to_string();
    let made = hearth(&[
        "privacy",
        "export",
        "qzerasealice@example.org",
        "--out",
        &out_arg,
        "--everything",
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(String::from_utf8_lossy(&made.stdout).contains("SHA-256"));
    // The command shows its progress, kind by kind, naming no one's data.
    let progress = String::from_utf8_lossy(&made.stderr).to_string();
    assert!(
        progress.contains("copying 0/")
            && progress.contains(": messages")
            && progress.contains(": files"),
        "{progress}"
    );
    assert!(
        progress
            .lines()
            .filter(|l| l.starts_with("copying"))
            .all(|l| !l.contains("qzerase")),
        "{progress}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let summary = check_with_python(&out, &work.path().join("unpacked"));
    assert!(summary["messages"]["json"].as_u64() >= Some(4), "{summary}");
    // It is on her page too, ready, and the request is on record as the operator's.
    let exports = alice.get("/api/v1/me/exports").await.expect_status(200);
    assert_eq!(exports.body[0]["state"], "ready", "{}", exports.body);
    let requests = alice
        .get("/api/v1/me/privacy/requests")
        .await
        .expect_status(200);
    assert_eq!(requests.body[0]["manner"], "operator", "{}", requests.body);
    // An existing file is never overwritten; an unknown account is an error.
    let again = hearth(&["privacy", "export", "qzerasealice", "--out", &out_arg]);
    assert!(!again.status.success());
    // (A path of this test's own: the other backend's run must not find it there.)
    let never = work.path().join("never.zip");
    let unknown = hearth(&[
        "privacy",
        "export",
        "nobody",
        "--out",
        &never.to_string_lossy(),
    ]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("not found"));
}
