//! Privacy requests as they arrive and move: answered at once, or waiting for a community's
//! admins, who approve, deny with a reason, extend once with a notice, or complete by hand;
//! a failed step shows in the inbox and runs again from there; the yearly metrics count and
//! time what happened, and the request log names no one.

use crate::browser::Browser;
use crate::harness::{Backend, Member, TestServer, on_both_backends, password_of};
use hearth_core::Timestamp;
use serde_json::{Value, json};

on_both_backends!(
    requests_are_answered_at_once_or_wait_for_the_admins_who_decide_them,
    a_member_asks_and_an_admin_answers_through_the_pages,
    the_metrics_report_counts_and_times_seeded_requests,
    a_failed_copy_shows_in_the_inbox_and_runs_again,
    a_legal_hold_keeps_messages_through_an_erasure_and_a_community_may_keep_them_as_deleted_user,
    what_the_operator_holds_for_approval_a_community_cannot_approve,
);

const REQUESTS: &str = "/api/v1/me/privacy/requests";

/// The single number `sql` selects.
pub(crate) async fn count(server: &TestServer, sql: &str) -> i64 {
    let mut reader = server.app().store().reader().await.unwrap();
    reader
        .conn()
        .count_unchecked(sql.to_string())
        .await
        .unwrap()
}

/// Runs a statement on the server's database.
pub(crate) async fn execute(server: &TestServer, sql: &str) {
    let sql = sql.to_string();
    server
        .app()
        .store()
        .write(move |tx| Box::pin(async move { tx.conn().execute_unchecked(sql).await }))
        .await
        .map_err(|e: hearth_app::StoreError| e)
        .unwrap();
}

/// Makes `name` a member and this Hearth's operator.
pub(crate) async fn operator(server: &TestServer, name: &str) -> Member {
    let ops = server.member(name).await;
    execute(
        server,
        &format!("UPDATE users SET is_operator = TRUE WHERE username = '{name}'"),
    )
    .await;
    ops
}

async fn run_jobs(server: &TestServer, at: Timestamp) {
    server.app().run_due_jobs("test-runner", at).await.unwrap();
}

fn kinds(report: &Value) -> Vec<Value> {
    report["kinds"].as_array().cloned().unwrap_or_default()
}

fn metrics_of(report: &Value, kind: &str) -> Value {
    kinds(report)
        .into_iter()
        .find(|k| k["kind"] == kind)
        .unwrap_or(Value::Null)
}

async fn requests_are_answered_at_once_or_wait_for_the_admins_who_decide_them(backend: Backend) {
    let server = TestServer::start(backend).await;
    let olga = server.member("olga").await;
    let ada = server.member("ada").await;
    let bea = server.member("bea").await;
    let guild = olga.create_community("guild").await;
    ada.join(&guild).await;
    bea.join(&guild).await;
    let general = ada.general_channel(&guild).await;
    ada.say(&general, "hello from ada").await;
    let inbox = format!("/api/v1/communities/{guild}/privacy/requests");

    // A request to know is answered at once, from the session alone.
    let know = ada
        .post(REQUESTS, json!({ "kind": "know", "community_id": guild }))
        .await
        .expect_status(200);
    assert_eq!(know.body["state"], "completed");
    assert_eq!(know.body["law"], "ccpa");
    let categories: Vec<&str> = know.body["know"]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["category"].as_str().unwrap_or_default())
        .collect();
    for held in [
        "identifiers",
        "account_credentials",
        "communications_content",
    ] {
        assert!(categories.contains(&held), "{held} in {categories:?}");
    }
    assert!(!categories.contains(&"not_personal"));
    let content = know.body["know"]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "communications_content")
        .cloned()
        .unwrap();
    assert_eq!(content["sensitive"], true);
    assert!(!content["sources"].as_array().unwrap().is_empty());
    assert!(!content["purposes"].as_array().unwrap().is_empty());
    assert_eq!(know.body["know"]["sold_or_shared"], false);
    // Its answer stays on its page.
    let id = know.str("id");
    let again = ada
        .get(&format!("{REQUESTS}/{id}"))
        .await
        .expect_status(200);
    assert!(again.body["know"]["categories"].as_array().is_some());
    bea.get(&format!("{REQUESTS}/{id}"))
        .await
        .expect_problem(404, "not-found");

    // A correction of one's own field is made at once, after the password again.
    ada.post(
        REQUESTS,
        json!({ "kind": "correct", "correction": { "field": "display_name", "value": "Ada L." } }),
    )
    .await
    .expect_problem(422, "validation");
    let corrected = ada
        .post(
            REQUESTS,
            json!({ "kind": "correct", "community_id": guild, "password": password_of("ada"),
                    "correction": { "field": "display_name", "value": "Ada L." } }),
        )
        .await
        .expect_status(200);
    assert_eq!(corrected.body["state"], "completed");
    assert!(corrected.str("answer").contains("display name"));
    assert_eq!(ada.get("/api/v1/me").await.body["display_name"], "Ada L.");
    assert!(corrected.body["correction"].is_null(), "cleared once done");

    // Anything else waits for an admin, with what is wrong in the requester's words.
    ada.post(
        REQUESTS,
        json!({ "kind": "correct", "community_id": guild, "password": password_of("ada"),
                "correction": { "field": "other", "value": "ada@example.org" } }),
    )
    .await
    .expect_problem(422, "validation");
    let other = ada
        .post(
            REQUESTS,
            json!({ "kind": "correct", "community_id": guild, "password": password_of("ada"),
                    "correction": { "field": "other", "value": "Lovelace",
                                    "explanation": "My surname is misspelt in an old post" } }),
        )
        .await
        .expect_status(202);
    assert_eq!(other.body["state"], "verified");
    let other_id = other.str("id");

    // Only the community's admins see its inbox; a community one is not in stays hidden.
    bea.get(&inbox).await.expect_problem(403, "forbidden");
    let stranger = server.member("cyd").await;
    stranger.get(&inbox).await.expect_problem(404, "not-found");
    stranger
        .post(REQUESTS, json!({ "kind": "know", "community_id": guild }))
        .await
        .expect_problem(404, "not-found");

    // The community holds copies, deletions and requests to know for approval, under the
    // GDPR.
    let handling = format!("/api/v1/communities/{guild}/privacy/handling");
    assert_eq!(
        olga.get(&handling).await.expect_status(200).body["law"],
        "ccpa"
    );
    bea.put(&handling, json!({ "law": "gdpr", "approved": ["access"] }))
        .await
        .expect_problem(403, "forbidden");
    olga.put(&handling, json!({ "law": "gdpr", "approved": ["opt_out"] }))
        .await
        .expect_problem(422, "validation");
    let set = olga
        .put(
            &handling,
            json!({ "law": "gdpr", "approved": ["delete", "access", "know"] }),
        )
        .await
        .expect_status(200);
    assert_eq!(set.body["approved"], json!(["know", "access", "delete"]));

    let copy = ada
        .post(
            REQUESTS,
            json!({ "kind": "access", "community_id": guild, "password": password_of("ada") }),
        )
        .await
        .expect_status(202);
    assert_eq!(copy.body["kind"], "access", "waiting, not a copy yet");
    assert_eq!(copy.body["law"], "gdpr");
    let copy_id = copy.str("id");
    let bea_know = bea
        .post(REQUESTS, json!({ "kind": "know", "community_id": guild }))
        .await
        .expect_status(202);
    let bea_know_id = bea_know.str("id");

    // The inbox: oldest first, with who asked and when each is due.
    let open = olga.get(&inbox).await.expect_status(200);
    let listed: Vec<String> = open
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        listed,
        vec![other_id.clone(), copy_id.clone(), bea_know_id.clone()]
    );
    assert_eq!(open.body[0]["requester"], "ada");
    assert_eq!(open.body[0]["correction"]["value"], "Lovelace");
    assert_eq!(open.body[0]["overdue"], false);

    // Extend once, with a reason; the law allows no second time.
    let decide = |id: &str| format!("{inbox}/{id}/decision");
    olga.post(&decide(&other_id), json!({ "action": "extend" }))
        .await
        .expect_problem(422, "validation");
    let extended = olga
        .post(
            &decide(&other_id),
            json!({ "action": "extend", "note": "We are checking the archived posts" }),
        )
        .await
        .expect_status(200);
    assert_eq!(extended.body["state"], "extended");
    assert_eq!(extended.body["extended"], true);
    olga.post(
        &decide(&other_id),
        json!({ "action": "extend", "note": "again" }),
    )
    .await
    .expect_problem(409, "conflict");
    bea.post(&decide(&other_id), json!({ "action": "approve" }))
        .await
        .expect_problem(403, "forbidden");
    let done = olga
        .post(
            &decide(&other_id),
            json!({ "action": "complete", "note": "Fixed the surname in the archive" }),
        )
        .await
        .expect_status(200);
    assert_eq!(done.body["state"], "completed");
    let seen = ada
        .get(&format!("{REQUESTS}/{other_id}"))
        .await
        .expect_status(200);
    assert_eq!(seen.body["note"], "Fixed the surname in the archive");
    assert!(
        seen.body["correction"].is_null(),
        "what it asked goes once closed"
    );

    // A refusal takes a reason from the law's list that fits the kind.
    olga.post(
        &decide(&bea_know_id),
        json!({ "action": "deny", "reason": "likely_accurate" }),
    )
    .await
    .expect_problem(409, "conflict");
    // ... and the facts on record: this is her first request this year, and she was
    // verified; a reason that needs facts needs a note.
    for reason in ["too_frequent", "cannot_verify"] {
        olga.post(
            &decide(&bea_know_id),
            json!({ "action": "deny", "reason": reason, "note": "no" }),
        )
        .await
        .expect_problem(409, "conflict");
    }
    olga.post(
        &decide(&bea_know_id),
        json!({ "action": "deny", "reason": "disproportionate_effort" }),
    )
    .await
    .expect_problem(422, "validation");
    // Only a correction is marked done by hand.
    olga.post(
        &decide(&bea_know_id),
        json!({ "action": "complete", "note": "done" }),
    )
    .await
    .expect_problem(409, "conflict");
    let denied = olga
        .post(
            &decide(&bea_know_id),
            json!({ "action": "deny", "reason": "disproportionate_effort",
                    "note": "The archive it would take is offline until January" }),
        )
        .await
        .expect_status(200);
    assert_eq!(denied.body["state"], "denied");
    let bea_sees = bea
        .get(&format!("{REQUESTS}/{bea_know_id}"))
        .await
        .expect_status(200);
    assert!(bea_sees.str("denial_text").contains("effort"));
    assert_eq!(
        bea_sees.body["note"],
        "The archive it would take is offline until January"
    );
    assert!(bea_sees.body["know"].is_null());

    // Approving the copy starts the job; the job completes the request.
    let started = olga
        .post(&decide(&copy_id), json!({ "action": "approve" }))
        .await
        .expect_status(200);
    assert_eq!(started.body["state"], "in_progress");
    // Approving again does not make a second copy.
    olga.post(&decide(&copy_id), json!({ "action": "approve" }))
        .await
        .expect_problem(409, "conflict");
    run_jobs(&server, Timestamp::now()).await;
    let copied = ada
        .get(&format!("{REQUESTS}/{copy_id}"))
        .await
        .expect_status(200);
    assert_eq!(copied.body["state"], "completed");
    let exports = ada.get("/api/v1/me/exports").await.expect_status(200);
    assert_eq!(exports.body[0]["state"], "ready");

    // A deletion waits too, and approving it erases the requester.
    let deletion = ada
        .post(
            REQUESTS,
            json!({ "kind": "delete", "community_id": guild, "password": password_of("ada") }),
        )
        .await
        .expect_status(202);
    let deletion_id = deletion.str("id");
    ada.get("/api/v1/me").await.expect_status(200);
    let erased = olga
        .post(&decide(&deletion_id), json!({ "action": "approve" }))
        .await
        .expect_status(200);
    assert_eq!(erased.body["state"], "completed");
    assert!(erased.body["requester"].is_null());
    ada.get("/api/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    assert_eq!(
        count(&server, "SELECT COUNT(*) FROM users WHERE username = 'ada'").await,
        0
    );
    assert!(olga.get(&inbox).await.body.as_array().unwrap().is_empty());
    olga.post(&decide(&deletion_id), json!({ "action": "approve" }))
        .await
        .expect_problem(409, "conflict");

    // Every step is in the audit log.
    for (action, at_least) in [
        ("privacy.request_received", 5),
        ("privacy.request_completed", 4),
        ("privacy.request_denied", 1),
        ("privacy.request_extended", 1),
        ("privacy.information_corrected", 1),
        ("community.request_handling_changed", 1),
    ] {
        let n = count(
            &server,
            &format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"),
        )
        .await;
        assert!(n >= at_least, "{action}: {n}");
    }

    // The metrics count what happened: the community's admins see theirs.
    let report = olga
        .get(&format!("/api/v1/communities/{guild}/privacy/report"))
        .await
        .expect_status(200);
    let know = metrics_of(&report.body, "know");
    assert_eq!(
        (
            &know["received"],
            &know["complied_in_whole"],
            &know["denied"]
        ),
        (&json!(2), &json!(1), &json!(1))
    );
    assert_eq!(know["denied_by_reason"]["disproportionate_effort"], 1);
    let correct = metrics_of(&report.body, "correct");
    assert_eq!(correct["received"], 2);
    assert_eq!(correct["complied_in_whole"], 2);
    assert_eq!(correct["median_days"], 0.0);
    assert_eq!(metrics_of(&report.body, "delete")["received"], 1);
    bea.get(&format!("/api/v1/communities/{guild}/privacy/report"))
        .await
        .expect_problem(403, "forbidden");

    // The operator sees every desk; no one else does.
    olga.get("/api/v1/privacy/requests")
        .await
        .expect_problem(403, "forbidden");
    let ops = operator(&server, "ops").await;
    let all = ops.get("/api/v1/privacy/report").await.expect_status(200);
    assert_eq!(metrics_of(&all.body, "know")["received"], 2);
    let log = ops
        .client
        .http
        .get(format!("{}/api/v1/privacy/log", server.base))
        .bearer_auth(match &ops.client.auth {
            crate::harness::Auth::Bearer(token) => token.clone(),
            _ => String::new(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(log.status().as_u16(), 200);
    assert!(
        log.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = log.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,received_at,kind,state"));
    // Six requests (know twice, correct twice, access, delete), and no one's name.
    assert_eq!(lines.len(), 1 + 6, "{csv}");
    for name in ["ada", "bea", "olga", "Lovelace", "example.org"] {
        assert!(!csv.contains(name), "{name} in the log");
    }
}

/// Inserts a request received on `received` and answered on `answered` (days, UTC).
async fn seed(
    server: &TestServer,
    id: i64,
    kind: &str,
    state: &str,
    denial: Option<&str>,
    received: &str,
    answered: Option<&str>,
) {
    let at = |day: &str| {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(day, &format).unwrap();
        Timestamp::from_datetime(date.midnight().assume_utc()).0 + 12 * 3600 * 1000
    };
    let answered = answered.map_or("NULL".to_string(), |d| at(d).to_string());
    let denial = denial.map_or("NULL".to_string(), |d| format!("'{d}'"));
    execute(
        server,
        &format!(
            "INSERT INTO privacy_requests (id, user_id, kind, state, law, manner, received_at, \
             respond_by, extended, denial_reason, responded_at, updated_at, beyond_quota) \
             VALUES ({id}, NULL, '{kind}', '{state}', 'ccpa', 'page', {}, '2099-01-01', FALSE, \
             {denial}, {answered}, 0, FALSE)",
            at(received)
        ),
    )
    .await;
}

async fn the_metrics_report_counts_and_times_seeded_requests(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ops = operator(&server, "ops").await;
    // Access: answered after 0, 4, 10 and 30 days; one refused; one open. One of the year
    // before and one of the year after do not count.
    seed(
        &server,
        1,
        "access",
        "completed",
        None,
        "2025-01-02",
        Some("2025-01-02"),
    )
    .await;
    seed(
        &server,
        2,
        "access",
        "completed",
        None,
        "2025-03-01",
        Some("2025-03-05"),
    )
    .await;
    seed(
        &server,
        3,
        "access",
        "completed",
        None,
        "2025-06-10",
        Some("2025-06-20"),
    )
    .await;
    seed(
        &server,
        4,
        "access",
        "completed",
        Some("legal_exception"),
        "2025-11-01",
        Some("2025-12-01"),
    )
    .await;
    seed(
        &server,
        5,
        "access",
        "denied",
        Some("cannot_verify"),
        "2025-07-01",
        Some("2025-07-03"),
    )
    .await;
    seed(
        &server,
        6,
        "access",
        "in_progress",
        None,
        "2025-12-30",
        None,
    )
    .await;
    seed(
        &server,
        7,
        "access",
        "completed",
        None,
        "2024-12-31",
        Some("2025-01-01"),
    )
    .await;
    seed(
        &server,
        8,
        "access",
        "completed",
        None,
        "2026-01-01",
        Some("2026-01-01"),
    )
    .await;
    // Deletions: 1 and 2 days.
    seed(
        &server,
        9,
        "delete",
        "completed",
        None,
        "2025-05-05",
        Some("2025-05-06"),
    )
    .await;
    seed(
        &server,
        10,
        "delete",
        "completed",
        None,
        "2025-05-05",
        Some("2025-05-07"),
    )
    .await;
    seed(
        &server,
        11,
        "opt_out",
        "completed",
        None,
        "2025-02-02",
        Some("2025-02-02"),
    )
    .await;

    let report = ops
        .get("/api/v1/privacy/report?year=2025")
        .await
        .expect_status(200);
    assert_eq!(report.body["year"], 2025);
    let access = metrics_of(&report.body, "access");
    assert_eq!(access["received"], 6);
    assert_eq!(access["complied_in_whole"], 3);
    assert_eq!(access["complied_in_part"], 1);
    assert_eq!(access["denied"], 1);
    assert_eq!(access["denied_by_reason"], json!({ "cannot_verify": 1 }));
    assert_eq!(access["open"], 1);
    // Answered: 0, 4, 10, 30 and 2 days: the median is 4, the mean 9.2.
    assert_eq!(access["median_days"], 4.0);
    assert_eq!(access["mean_days"], 9.2);
    let delete = metrics_of(&report.body, "delete");
    assert_eq!(
        (&delete["received"], &delete["median_days"]),
        (&json!(2), &json!(1.5))
    );
    assert_eq!(metrics_of(&report.body, "opt_out")["complied_in_whole"], 1);
    assert_eq!(metrics_of(&report.body, "know")["received"], 0);
    assert!(metrics_of(&report.body, "know")["median_days"].is_null());
    ops.get("/api/v1/privacy/report?year=12")
        .await
        .expect_problem(422, "validation");

    // The command line gives the same figures, as JSON, CSV and text.
    let cli = |args: &[&str]| crate::jobs::run_cli(&server, args);
    let json_out = cli(&["privacy", "report", "--year", "2025", "--format", "json"]);
    assert!(json_out.status.success(), "{json_out:?}");
    let printed: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(metrics_of(&printed, "access")["median_days"], 4.0);
    assert_eq!(metrics_of(&printed, "access")["complied_in_part"], 1);
    let csv_out = cli(&["privacy", "report", "--year", "2025", "--format", "csv"]);
    let csv = String::from_utf8_lossy(&csv_out.stdout).to_string();
    assert!(
        csv.contains("2025,access,6,3,1,1,cannot_verify=1,1,4,9.2"),
        "{csv}"
    );
    let text = cli(&["privacy", "report", "--year", "2025"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("access"));
    let bad = cli(&["privacy", "report", "--format", "xml"]);
    assert!(!bad.status.success());
    let log = cli(&["privacy", "requests", "--year", "2025", "--csv"]);
    assert_eq!(String::from_utf8_lossy(&log.stdout).lines().count(), 1 + 9);
    let open = cli(&["privacy", "requests", "--open"]);
    let open = String::from_utf8_lossy(&open.stdout).to_string();
    assert!(
        open.contains("OVERDUE") || open.contains("in_progress"),
        "{open}"
    );
    assert_eq!(open.lines().count(), 1, "{open}");
}

async fn a_failed_copy_shows_in_the_inbox_and_runs_again(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    // The copies' folder is a file: no copy can be made until it is a folder again.
    let blocked = dir.path().join("exports");
    std::fs::write(&blocked, b"not a folder").unwrap();
    let exports_dir = blocked.clone();
    let server = TestServer::start_with(backend, move |config| {
        config.exports_dir = Some(exports_dir);
    })
    .await;
    let olga = server.member("olga").await;
    let ada = server.member("ada").await;
    let guild = olga.create_community("guild").await;
    ada.join(&guild).await;
    olga.put(
        &format!("/api/v1/communities/{guild}/privacy/handling"),
        json!({ "law": "ccpa", "approved": ["access"] }),
    )
    .await
    .expect_status(200);
    let copy = ada
        .post(
            REQUESTS,
            json!({ "kind": "access", "community_id": guild, "password": password_of("ada") }),
        )
        .await
        .expect_status(202);
    let id = copy.str("id");
    let inbox = format!("/api/v1/communities/{guild}/privacy/requests");
    let decide = format!("{inbox}/{id}/decision");
    olga.post(&decide, json!({ "action": "retry" }))
        .await
        .expect_problem(409, "conflict");
    olga.post(&decide, json!({ "action": "approve" }))
        .await
        .expect_status(200);
    // Every attempt fails; after the last, the request shows why, in plain words.
    let mut at = Timestamp::now();
    for _ in 0..4 {
        run_jobs(&server, at).await;
        at = at.plus_seconds(6 * 3600);
    }
    let open = olga.get(&inbox).await.expect_status(200);
    assert_eq!(open.body[0]["id"], id.as_str());
    assert_eq!(open.body[0]["state"], "in_progress");
    let failure = open.body[0]["failure"].as_str().unwrap_or_default();
    assert!(
        failure.starts_with("The copy could not be made"),
        "{failure}"
    );
    assert!(
        !failure.contains(&*dir.path().to_string_lossy()),
        "no paths: {failure}"
    );

    // Fixed, and run again: the copy is made and the request completed.
    std::fs::remove_file(&blocked).unwrap();
    let again = olga
        .post(&decide, json!({ "action": "retry" }))
        .await
        .expect_status(200);
    assert_eq!(again.body["state"], "in_progress");
    assert!(again.body["failure"].is_null());
    run_jobs(&server, Timestamp::now()).await;
    let done = ada
        .get(&format!("{REQUESTS}/{id}"))
        .await
        .expect_status(200);
    assert_eq!(done.body["state"], "completed");
    assert!(olga.get(&inbox).await.body.as_array().unwrap().is_empty());
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.request_retried'"
        )
        .await,
        1
    );
}

async fn a_member_asks_and_an_admin_answers_through_the_pages(backend: Backend) {
    let server = TestServer::start(backend).await;
    let olga = server.member("olga").await;
    let ada = server.member("ada").await;
    let guild = olga.create_community("guild").await;
    ada.join(&guild).await;
    let general = ada.general_channel(&guild).await;
    ada.say(&general, "hello").await;
    let shots = |name: &str| format!("{name}-{backend:?}").to_lowercase();
    let browser = Browser::start().await;

    // Ada asks the guild what it holds about her: answered at once, on the request's page.
    browser.sign_in(&server, "ada").await;
    browser.open(&server, "/privacy").await;
    browser
        .wait_for_text("#know-heading", "Know what we hold")
        .await;
    browser
        .click(&format!("#know_community option[value='{guild}']"))
        .await;
    browser
        .click("form[action='/privacy/requests'] input[value='know'] ~ button")
        .await;
    browser.wait_for_text("h1", "Know what is held").await;
    browser
        .wait_for_text("#held-heading", "What we hold about you")
        .await;
    browser.wait_for_text(".held", "Identifiers").await;
    browser.wait_for_text(".held", "Where it came from").await;
    browser.screenshots(&shots("request-know")).await;
    browser
        .assert_accessible("a request to know's answer")
        .await;

    // She asks for a correction only an admin can make.
    browser.open(&server, "/privacy").await;
    browser
        .click(&format!("#correct_community option[value='{guild}']"))
        .await;
    browser.click("#correct_field option[value='other']").await;
    browser.fill("#correct_value", "Lovelace").await;
    browser
        .fill(
            "#correct_explanation",
            "My surname is misspelt in my first post",
        )
        .await;
    browser.fill("#correct_password", &password_of("ada")).await;
    browser.screenshots(&shots("privacy-requests-form")).await;
    browser
        .click("form[action='/privacy/requests'] input[value='correct'] ~ button")
        .await;
    browser.wait_for_text("h1", "Correct my data").await;
    browser.wait_for_text(".notice", "waits for guild").await;
    browser.screenshots(&shots("request-waiting")).await;
    browser.assert_accessible("a waiting request's page").await;
    browser.sign_out().await;

    // Olga finds it in the guild's inbox, due and unanswered.
    browser.sign_in(&server, "olga").await;
    browser
        .open(&server, &format!("/communities/{guild}/settings"))
        .await;
    browser
        .click(&format!("a[href='/communities/{guild}/requests']"))
        .await;
    browser.wait_for_text("h1", "Privacy requests").await;
    browser.wait_for_text(".inbox", "Correct my data").await;
    browser.wait_for_text(".inbox", "from ada").await;
    browser.wait_for_text(".inbox .meta", "days left").await;
    // She has copies wait for her approval.
    browser.click("input[name='approve_access']").await;
    browser
        .click(&format!(
            "form[action='/communities/{guild}/requests/handling'] button"
        ))
        .await;
    browser.wait_for_text(".notice", "Saved").await;
    // A legal hold on Ada's messages here, placed from the same page.
    browser.fill("#hold_username", "ada").await;
    browser
        .fill("#hold_reason", "Matter 7: keep until the hearing")
        .await;
    browser.click("#hold_reason ~ button").await;
    browser
        .wait_for_text("main", "Matter 7: keep until the hearing")
        .await;
    browser.screenshots(&shots("request-inbox")).await;
    browser.assert_accessible("the requests inbox").await;
    browser.click(".inbox a").await;
    browser.wait_for_text("h1", "from ada").await;
    browser
        .wait_for_text("main", "My surname is misspelt")
        .await;
    browser.screenshots(&shots("request-desk")).await;
    browser.assert_accessible("a request at the desk").await;
    // More time, with the reason; then done by hand.
    browser
        .fill("#extend_note", "We are checking the archived posts")
        .await;
    browser.click("#extend_note ~ button").await;
    browser.wait_for_text(".badge", "extended").await;
    browser
        .fill("#complete_note", "Fixed the surname in your first post")
        .await;
    browser.click("#complete_note ~ button").await;
    browser.wait_for_text(".badge", "answered").await;

    // The yearly report counts it.
    browser
        .open(&server, &format!("/communities/{guild}/requests/report"))
        .await;
    browser.wait_for_text("h1", "Privacy requests in").await;
    browser
        .wait_for_text("table.figures", "Correct my data")
        .await;
    browser.screenshots(&shots("request-report")).await;
    browser.assert_accessible("the requests report").await;
    let copy_waits = olga
        .get(&format!("/api/v1/communities/{guild}/privacy/handling"))
        .await
        .expect_status(200);
    assert_eq!(copy_waits.body["approved"], json!(["access"]));
    browser.sign_out().await;

    // Ada reads the note.
    browser.sign_in(&server, "ada").await;
    browser.open(&server, "/privacy").await;
    browser.click("ul.requests a").await;
    browser.wait_for_text("main", "Fixed the surname").await;
    browser.client.clone().close().await.unwrap();
}

async fn a_legal_hold_keeps_messages_through_an_erasure_and_a_community_may_keep_them_as_deleted_user(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let olga = server.member("olga").await;
    let ada = server.member("ada").await;
    let bea = server.member("bea").await;
    let guild = olga.create_community("guild").await;
    let club = olga.create_community("club").await;
    for community in [&guild, &club] {
        ada.join(community).await;
        bea.join(community).await;
    }
    let held = ada
        .say(
            &ada.general_channel(&guild).await,
            "qzhold words for the matter",
        )
        .await;
    let kept = ada
        .say(
            &ada.general_channel(&club).await,
            "qzkeep words for the club",
        )
        .await;

    // The club keeps an erased member's messages under "Deleted user".
    let handling = format!("/api/v1/communities/{club}/privacy/handling");
    olga.put(
        &handling,
        json!({ "law": "ccpa", "approved": [], "erased_messages": "never" }),
    )
    .await
    .expect_problem(422, "validation");
    let set = olga
        .put(
            &handling,
            json!({ "law": "ccpa", "approved": [], "erased_messages": "keep" }),
        )
        .await
        .expect_status(200);
    assert_eq!(set.body["erased_messages"], "keep");

    // The guild holds Ada's messages there, for a matter.
    let holds = format!("/api/v1/communities/{guild}/legal-holds");
    bea.post(&holds, json!({ "username": "ada", "reason": "Matter 42" }))
        .await
        .expect_problem(403, "forbidden");
    olga.post(
        &holds,
        json!({ "username": "nobody", "reason": "Matter 42" }),
    )
    .await
    .expect_problem(404, "not-found");
    olga.post(&holds, json!({ "username": "ada", "reason": " " }))
        .await
        .expect_problem(422, "validation");
    // A NUL byte, which PostgreSQL cannot store, is refused as input, not a server error.
    for body in [
        json!({ "username": "\u{0}", "reason": "Matter 42" }),
        json!({ "username": "ada", "reason": "Matter\u{0}42" }),
    ] {
        olga.post(&holds, body)
            .await
            .expect_problem(422, "validation");
    }
    // An admin learns nothing of addresses, nor of people outside the community.
    olga.post(
        &holds,
        json!({ "username": "ada@example.org", "reason": "Matter 42" }),
    )
    .await
    .expect_problem(404, "not-found");
    server.member("zed").await;
    olga.post(&holds, json!({ "username": "zed", "reason": "Matter 42" }))
        .await
        .expect_problem(404, "not-found");
    let hold = olga
        .post(&holds, json!({ "username": "ada", "reason": "Matter 42" }))
        .await
        .expect_status(201);
    assert_eq!(hold.body["username"], "ada");
    olga.post(
        &holds,
        json!({ "username": "ada", "reason": "Another matter" }),
    )
    .await
    .expect_problem(409, "conflict");

    // Ada deletes her account: the answer says what was held and why, and what was kept.
    let erased = ada
        .post(
            REQUESTS,
            json!({ "kind": "delete", "password": password_of("ada") }),
        )
        .await
        .expect_status(200);
    assert_eq!(
        erased.body["held"],
        json!([{ "community": "guild", "reason": "Matter 42", "messages": 1 }])
    );
    assert_eq!(erased.body["kept_as_deleted_user"], 1);
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM privacy_requests WHERE kind = 'delete' AND state = 'completed' \
             AND denial_reason = 'legal_exception'"
        )
        .await,
        1,
        "completed in part"
    );
    // The held message reads as erased; its text waits, sealed, in the hold.
    assert_eq!(
        count(
            &server,
            &format!(
                "SELECT COUNT(*) FROM messages WHERE id = {held} AND body IS NULL \
                 AND author_id IS NULL"
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &server,
            &format!(
                "SELECT COUNT(*) FROM held_messages WHERE message_id = {held} AND body IS NOT NULL"
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &server,
            &format!(
                "SELECT COUNT(*) FROM messages WHERE id = {kept} AND body IS NOT NULL \
                 AND author_id IS NULL"
            )
        )
        .await,
        1,
        "the kept message stays, no longer hers"
    );
    let guild_history = bea
        .get(&format!(
            "/api/v1/channels/{}/messages",
            bea.general_channel(&guild).await
        ))
        .await
        .expect_status(200);
    assert!(!guild_history.body.to_string().contains("qzhold"));
    let found = bea.get("/api/v1/search?q=qzhold").await.expect_status(200);
    assert!(!found.body.to_string().contains("qzhold"), "{}", found.body);
    assert!(
        erased.body["kept"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["table"] == "legal_holds")
    );
    // Others see the kept one, by "Deleted user" (no author).
    let club_history = bea
        .get(&format!(
            "/api/v1/channels/{}/messages",
            bea.general_channel(&club).await
        ))
        .await
        .expect_status(200);
    assert!(club_history.body.to_string().contains("qzkeep words"));
    let listed = olga.get(&holds).await.expect_status(200);
    assert!(listed.body[0]["username"].is_null(), "her account is gone");
    assert_eq!(listed.body[0]["user_id"], ada.id.as_str());

    // Released, the hold goes, and what it kept with it; the kept message stays.
    let hold_id = hold.str("id");
    bea.post(&format!("{holds}/{hold_id}/release"), json!({}))
        .await
        .expect_problem(403, "forbidden");
    olga.post(&format!("{holds}/{hold_id}/release"), json!({}))
        .await
        .expect_status(204);
    olga.post(&format!("{holds}/{hold_id}/release"), json!({}))
        .await
        .expect_problem(404, "not-found");
    assert_eq!(
        count(&server, "SELECT COUNT(*) FROM held_messages").await,
        0
    );
    assert_eq!(count(&server, "SELECT COUNT(*) FROM legal_holds").await, 0);
    assert!(olga.get(&holds).await.body.as_array().unwrap().is_empty());
    assert_eq!(
        count(
            &server,
            &format!("SELECT COUNT(*) FROM messages WHERE id = {kept} AND body IS NOT NULL")
        )
        .await,
        1
    );
    for action in ["legal_hold.placed", "legal_hold.released"] {
        assert_eq!(
            count(
                &server,
                &format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'")
            )
            .await,
            1
        );
    }
}

async fn what_the_operator_holds_for_approval_a_community_cannot_approve(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.approved_requests = vec!["delete".into()];
    })
    .await;
    let olga = server.member("olga").await;
    let ada = server.member("ada").await;
    let guild = olga.create_community("guild").await;
    ada.join(&guild).await;
    // Asked of the guild, which holds nothing back, the deletion still waits: the operator
    // holds deletions, and the account is one across the instance.
    let waiting = ada
        .post(
            REQUESTS,
            json!({ "kind": "delete", "community_id": guild, "password": password_of("ada") }),
        )
        .await
        .expect_status(202);
    let id = waiting.str("id");
    olga.post(
        &format!("/api/v1/communities/{guild}/privacy/requests/{id}/decision"),
        json!({ "action": "approve" }),
    )
    .await
    .expect_problem(403, "forbidden");
    // Nor refuse it, nor take more time over it.
    for decision in [
        json!({ "action": "deny", "reason": "legal_exception", "note": "we keep it" }),
        json!({ "action": "extend", "note": "busy" }),
    ] {
        olga.post(
            &format!("/api/v1/communities/{guild}/privacy/requests/{id}/decision"),
            decision,
        )
        .await
        .expect_problem(403, "forbidden");
    }
    ada.get("/api/v1/me").await.expect_status(200);
    let ops = operator(&server, "ops").await;
    let done = ops
        .post(
            &format!("/api/v1/privacy/requests/{id}/decision"),
            json!({ "action": "approve" }),
        )
        .await
        .expect_status(200);
    assert_eq!(done.body["state"], "completed");
    ada.get("/api/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
}
