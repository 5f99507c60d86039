//! Privacy requests from the public form, through the API: for oneself by the address on
//! record, or as an authorized agent with the person's confirmation; the same answer whether
//! the address is known or not; verification data gone when the request closes; unconfirmed
//! requests expire; and an erased person's identifiers stay on the suppression list only as
//! keyed hashes, so that a new account under them inherits nothing.

use crate::browser::Browser;
use crate::harness::{Backend, Client, TestServer, on_both_backends, password_of};
use crate::mail::{Mail, mails_in, mails_to};
use crate::requests::{count, execute, operator};
use hearth_core::Timestamp;
use serde_json::{Value, json};

on_both_backends!(
    the_public_form_verifies_by_the_address_on_record_and_answers_there,
    an_agent_asks_the_person_confirms_and_the_operator_approves,
    unconfirmed_requests_expire_and_the_form_cannot_flood_a_mailbox,
    a_former_member_asks_for_a_copy_on_the_public_form_and_downloads_it,
);

const FORM: &str = "/api/v1/privacy/public-requests";

async fn run_jobs(server: &TestServer) {
    let runs = server
        .app()
        .run_due_jobs("test-runner", Timestamp::now())
        .await
        .unwrap();
    for run in runs {
        assert!(
            matches!(run.outcome, hearth_app::JobOutcome::Done),
            "{:?}",
            run.outcome
        );
    }
}

/// The mails to `address` so far.
async fn mails(server: &TestServer, address: &str) -> Vec<Mail> {
    run_jobs(server).await;
    mails_to(&mails_in(&server.config.outbox_path()), address)
}

/// The request id and secret of the newest request link mailed to `address` (request ids
/// grow with time; the outbox's file names do not).
async fn link(server: &TestServer, address: &str) -> (String, String) {
    let mails = mails(server, address).await;
    let mut links: Vec<(u64, String)> = mails
        .iter()
        .filter_map(|mail| {
            let start = mail.text.find("/privacy/request/")? + 17;
            let id: String = mail.text[start..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let token = mail.token_for(&format!("/privacy/request/{id}"))?;
            Some((id.parse().ok()?, token))
        })
        .collect();
    links.sort();
    let (id, token) = links.pop().expect("a request link mailed to the address");
    (id.to_string(), token)
}

async fn view(anon: &Client, id: &str, token: &str) -> Value {
    anon.get(&format!("{FORM}/{id}?token={token}"))
        .await
        .expect_status(200)
        .body
}

async fn confirm(anon: &Client, id: &str, token: &str) -> Value {
    confirm_with(anon, id, json!({ "token": token })).await
}

async fn confirm_with(anon: &Client, id: &str, body: Value) -> Value {
    anon.post(&format!("{FORM}/{id}/confirmation"), body)
        .await
        .expect_status(200)
        .body
}

async fn the_public_form_verifies_by_the_address_on_record_and_answers_there(backend: Backend) {
    let server = TestServer::start(backend).await;
    let _ann = server.member("ann").await;
    let ops = operator(&server, "olga").await;
    let anon = server.anonymous();

    // Known address or not, the same answer.
    let known = anon
        .post(FORM, json!({ "kind": "know", "email": "Ann@Example.org" }))
        .await
        .expect_status(202);
    let unknown = anon
        .post(
            FORM,
            json!({ "kind": "know", "email": "nobody@example.org" }),
        )
        .await
        .expect_status(202);
    assert_eq!(known.body, unknown.body);
    assert_eq!(known.body["status"], "link_mailed");

    let (id, token) = link(&server, "ann@example.org").await;
    let mail = mails(&server, "ann@example.org").await;
    assert!(
        mail.iter()
            .any(|m| m.text.contains("Confirm your privacy request"))
    );
    // Sent, a mail's address and letter are not kept with its finished job.
    assert!(
        count(
            &server,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'mail.send' AND state = 'done'"
        )
        .await
            > 0
    );
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'mail.send' AND state = 'done' \
             AND payload <> '{}'"
        )
        .await,
        0
    );
    // A wrong secret, or another request's, finds nothing.
    anon.get(&format!("{FORM}/{id}?token=AAAA"))
        .await
        .expect_problem(404, "not-found");
    let (other_id, other_token) = link(&server, "nobody@example.org").await;
    anon.get(&format!("{FORM}/{id}?token={other_token}"))
        .await
        .expect_problem(404, "not-found");
    let before = view(&anon, &id, &token).await;
    assert_eq!(before["request"]["state"], "received", "{before}");
    assert_eq!(before["confirmable"], true);
    assert_eq!(before["holder"], "person");
    assert_eq!(before["request"]["manner"], "form");
    assert_eq!(
        count(
            &server,
            &format!("SELECT COUNT(*) FROM request_verifications WHERE request_id = {id}")
        )
        .await,
        1
    );
    // Confirmed, it is answered at once: the categories held.
    let answered = confirm(&anon, &id, &token).await;
    assert_eq!(answered["request"]["state"], "completed", "{answered}");
    let categories = answered["request"]["know"]["categories"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        categories.iter().any(|c| c["category"] == "identifiers"),
        "{answered}"
    );
    // What verification collected went with the close.
    assert_eq!(
        count(
            &server,
            &format!("SELECT COUNT(*) FROM request_verifications WHERE request_id = {id}")
        )
        .await,
        0
    );
    // Confirming again changes nothing.
    let again = confirm(&anon, &id, &token).await;
    assert_eq!(again["request"]["state"], "completed");

    // No account uses the other address: nothing is held, and the answer says so.
    let nothing = confirm(&anon, &other_id, &other_token).await;
    assert_eq!(nothing["request"]["state"], "denied", "{nothing}");
    assert_eq!(nothing["request"]["denial_reason"], "nothing_held");

    // A copy asks for the declaration, then is made by a job and offered by the link.
    anon.post(
        FORM,
        json!({ "kind": "access", "email": "ann@example.org" }),
    )
    .await
    .expect_problem(422, "validation");
    anon.post(
        FORM,
        json!({ "kind": "access", "email": "ann@example.org", "declared": true,
                "range": "everything" }),
    )
    .await
    .expect_status(202);
    let (copy_id, copy_token) = link(&server, "ann@example.org").await;
    assert_ne!(copy_id, id);
    // The mailbox alone does not disclose an account's data: its password comes too.
    let asking = view(&anon, &copy_id, &copy_token).await;
    assert_eq!(asking["password_needed"], true, "{asking}");
    anon.post(
        &format!("{FORM}/{copy_id}/confirmation"),
        json!({ "token": copy_token }),
    )
    .await
    .expect_problem(422, "validation");
    anon.post(
        &format!("{FORM}/{copy_id}/confirmation"),
        json!({ "token": copy_token, "password": "not the password" }),
    )
    .await
    .expect_problem(422, "validation");
    let started = confirm_with(
        &anon,
        &copy_id,
        json!({ "token": copy_token, "password": password_of("ann") }),
    )
    .await;
    assert_eq!(started["request"]["state"], "in_progress", "{started}");
    run_jobs(&server).await;
    let ready = view(&anon, &copy_id, &copy_token).await;
    assert_eq!(ready["request"]["state"], "completed", "{ready}");
    assert_eq!(ready["copy_state"], "ready");
    let download = ready["copy_download"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let zip = crate::harness::http()
        .get(format!("{}{download}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(zip.status(), 200);
    let bytes = zip.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "a ZIP");
    // The copy's mail goes to the address the request came from, with the link.
    let told = mails(&server, "ann@example.org").await;
    assert!(
        told.iter().any(|m| m
            .text
            .contains("The copy of your personal information is ready")),
        "{told:?}"
    );
    // The download refuses a wrong secret.
    let refused = crate::harness::http()
        .get(format!(
            "{}/privacy/request/{copy_id}/copy?token=wrong",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);

    // An agent's request the operator finds unconvincing is refused as unverifiable, even
    // after the person confirmed.
    anon.post(
        FORM,
        json!({ "kind": "know", "email": "ann@example.org",
                "agent": { "name": "Doubtful", "email": "d@agents.example.net",
                           "permission": "trust me" } }),
    )
    .await
    .expect_status(202);
    let (agent_id, agent_token) = link(&server, "ann@example.org").await;
    let waiting = confirm(&anon, &agent_id, &agent_token).await;
    assert_eq!(waiting["request"]["state"], "verified", "{waiting}");
    let refused = ops
        .post(
            &format!("/api/v1/privacy/requests/{agent_id}/decision"),
            json!({ "action": "deny", "reason": "cannot_verify",
                    "note": "The permission carries no signature." }),
        )
        .await
        .expect_status(200);
    assert_eq!(refused.body["state"], "denied", "{}", refused.body);

    // An agent asking for an address no account uses learns nothing more than one asking for
    // a member: the person's confirmation leaves it waiting for the operator's review.
    anon.post(
        FORM,
        json!({ "kind": "know", "email": "nobody@example.org",
                "agent": { "name": "Prober", "email": "p@agents.example.net",
                           "permission": "signed" } }),
    )
    .await
    .expect_status(202);
    let (probe_id, probe_token) = link(&server, "nobody@example.org").await;
    let probed = confirm(&anon, &probe_id, &probe_token).await;
    assert_eq!(probed["request"]["state"], "verified", "{probed}");
    let told = mails(&server, "p@agents.example.net").await;
    assert_eq!(told.len(), 1);
    assert!(
        told[0].text.contains("reviewing your permission"),
        "{told:?}"
    );

    // Opting out needs no confirmation: done at once for the account using the address.
    let applied = anon
        .post(
            FORM,
            json!({ "kind": "opt_out", "email": "ann@example.org" }),
        )
        .await
        .expect_status(202);
    assert_eq!(applied.body["status"], "applied");
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM users WHERE username = 'ann' AND sale_opt_out_at IS NOT NULL"
        )
        .await,
        1
    );
    // An address no account uses gets the same answer, and a record of the request too.
    let none = anon
        .post(
            FORM,
            json!({ "kind": "opt_out", "email": "nobody@example.org" }),
        )
        .await
        .expect_status(202);
    assert_eq!(none.body, applied.body);
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM privacy_requests WHERE kind = 'opt_out' AND manner = 'form' \
             AND state = 'completed'"
        )
        .await,
        2
    );
    // Bad input gets a clear answer.
    anon.post(FORM, json!({ "kind": "sell", "email": "ann@example.org" }))
        .await
        .expect_problem(422, "validation");
    anon.post(FORM, json!({ "kind": "know", "email": "not an address" }))
        .await
        .expect_problem(422, "validation");
    anon.post(
        FORM,
        json!({ "kind": "correct", "email": "ann@example.org",
                "correction": { "explanation": "", "value": "x" } }),
    )
    .await
    .expect_problem(422, "validation");
}

async fn an_agent_asks_the_person_confirms_and_the_operator_approves(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ops = operator(&server, "olga").await;
    let bob = server.member("bob").await;
    let guild = ops.create_community("guild").await;
    bob.join(&guild).await;
    let general = bob.general_channel(&guild).await;
    bob.say(&general, "zanzibarquux is my word").await;
    let anon = server.anonymous();

    let asked = anon
        .post(
            FORM,
            json!({ "kind": "delete", "email": "bob@example.org",
                    "agent": { "name": "Pat Proxy", "email": "pat@agents.example.net",
                               "permission": "Signed by Bob on 1 Nov 2026, attached to our mail" } }),
        )
        .await
        .expect_status(202);
    assert_eq!(asked.body["status"], "link_mailed");
    // The person is asked, by the address on record; the agent hears nothing yet.
    let (id, person) = link(&server, "bob@example.org").await;
    let asking = mails(&server, "bob@example.org").await;
    assert!(asking.iter().any(|m| m.text.contains("Pat Proxy")));
    assert!(mails(&server, "pat@agents.example.net").await.is_empty());

    // The agent's secret opens nothing before the person confirms.
    let before = view(&anon, &id, &person).await;
    assert_eq!(before["agent"], "Pat Proxy");
    assert_eq!(before["agent_email"], "pat@agents.example.net");
    assert_eq!(before["request"]["manner"], "agent");
    // Unconfirmed, it is on no one's desk, and can only be refused, never extended.
    let inbox = ops.get("/api/v1/privacy/requests").await.expect_status(200);
    assert!(!inbox.body.to_string().contains(&id), "{}", inbox.body);
    ops.post(
        &format!("/api/v1/privacy/requests/{id}/decision"),
        json!({ "action": "extend", "note": "We need more time" }),
    )
    .await
    .expect_problem(409, "conflict");
    let confirmed = confirm_with(
        &anon,
        &id,
        json!({ "token": person, "password": password_of("bob") }),
    )
    .await;
    assert_eq!(confirmed["request"]["state"], "verified", "{confirmed}");
    // Now the agent is told, with their own link, which cannot confirm.
    let (agent_id, agent_token) = link(&server, "pat@agents.example.net").await;
    assert_eq!(agent_id, id);
    assert_ne!(agent_token, person);
    let seen = view(&anon, &id, &agent_token).await;
    assert_eq!(seen["holder"], "agent");
    assert_eq!(seen["confirmable"], false);
    anon.post(
        &format!("{FORM}/{id}/confirmation"),
        json!({ "token": agent_token }),
    )
    .await
    .expect_problem(403, "forbidden");
    // It waits at the operator's desk, and no one else's.
    bob.get(&format!("/api/v1/privacy/requests/{id}"))
        .await
        .expect_problem(403, "forbidden");
    let inbox = ops.get("/api/v1/privacy/requests").await.expect_status(200);
    assert!(inbox.body.to_string().contains(&id), "{}", inbox.body);

    // The operator reviews the permission on the desk, and approves.
    let desk = ops
        .get(&format!("/api/v1/privacy/requests/{id}"))
        .await
        .expect_status(200);
    assert_eq!(desk.body["requester"], "bob");
    assert_eq!(desk.body["manner"], "agent");
    assert_eq!(desk.body["verification"]["agent_name"], "Pat Proxy");
    assert_eq!(desk.body["verification"]["email"], "bob@example.org");
    assert!(
        desk.body["verification"]["permission"]
            .as_str()
            .is_some_and(|p| p.contains("Signed by Bob")),
        "{}",
        desk.body
    );
    let done = ops
        .post(
            &format!("/api/v1/privacy/requests/{id}/decision"),
            json!({ "action": "approve" }),
        )
        .await
        .expect_status(200);
    assert_eq!(done.body["state"], "completed", "{}", done.body);
    assert_eq!(
        count(&server, "SELECT COUNT(*) FROM users WHERE username = 'bob'").await,
        0
    );
    // Verification data is gone; both the person and the agent were told.
    assert_eq!(
        count(
            &server,
            &format!("SELECT COUNT(*) FROM request_verifications WHERE request_id = {id}")
        )
        .await,
        0
    );
    let to_agent = mails(&server, "pat@agents.example.net").await;
    assert!(
        to_agent
            .iter()
            .any(|m| m.text.contains("Your personal information was deleted")),
        "{to_agent:?}"
    );
    let closed = ops
        .get(&format!("/api/v1/privacy/requests/{id}"))
        .await
        .expect_status(200);
    assert_eq!(closed.body["verification"], Value::Null, "{}", closed.body);
    let answer = view(&anon, &id, &agent_token).await;
    assert_eq!(answer["request"]["state"], "completed");
    assert_eq!(
        answer["agent"],
        Value::Null,
        "the agent's name went with the close"
    );

    // The suppression list holds Bob's username and address as keyed hashes only.
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM erased_identifiers WHERE kind IN ('username', 'email')"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM erased_identifiers WHERE digest LIKE '%bob%'"
        )
        .await,
        0
    );
    assert!(
        server
            .app()
            .erased_since(hearth_app::IdentifierKind::Email, "Bob@example.org")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        server
            .app()
            .erased_since(hearth_app::IdentifierKind::Email, "ann@example.org")
            .await
            .unwrap()
            .is_none()
    );
    // A new sign-up under the same name and address is allowed, and inherits nothing.
    let again = server.member("bob").await;
    let requests = again
        .get("/api/v1/me/privacy/requests")
        .await
        .expect_status(200);
    assert_eq!(
        requests.body.as_array().map(Vec::len),
        Some(0),
        "{}",
        requests.body
    );
    let found = again
        .get("/api/v1/search?q=zanzibarquux")
        .await
        .expect_status(200);
    assert_eq!(
        found.body["hits"].as_array().map(Vec::len).unwrap_or(0),
        0,
        "{}",
        found.body
    );
}

async fn unconfirmed_requests_expire_and_the_form_cannot_flood_a_mailbox(backend: Backend) {
    let server = TestServer::start(backend).await;
    let _cai = server.member("cai").await;
    let anon = server.anonymous();
    anon.post(
        FORM,
        json!({ "kind": "delete", "email": "cai@example.org" }),
    )
    .await
    .expect_status(202);
    let (id, token) = link(&server, "cai@example.org").await;
    // The link's week passes unconfirmed.
    execute(
        &server,
        &format!("UPDATE request_verifications SET expires_at = 1 WHERE request_id = {id}"),
    )
    .await;
    execute(
        &server,
        &format!(
            "UPDATE privacy_requests SET received_at = {} WHERE id = {id}",
            Timestamp::now().plus_seconds(-8 * 24 * 3600).0
        ),
    )
    .await;
    let swept = server.app().sweep_retention().await.unwrap();
    assert_eq!(swept.unconfirmed_requests, 1);
    let expired = view(&anon, &id, &token).await;
    assert_eq!(expired["request"]["state"], "denied");
    assert_eq!(expired["request"]["denial_reason"], "cannot_verify");
    assert_eq!(expired["confirmable"], false);
    // Confirming the expired link does nothing: the account stays.
    let still = confirm(&anon, &id, &token).await;
    assert_eq!(still["request"]["state"], "denied");
    assert_eq!(
        count(&server, "SELECT COUNT(*) FROM users WHERE username = 'cai'").await,
        1
    );
    assert_eq!(
        count(&server, "SELECT COUNT(*) FROM request_verifications").await,
        0
    );
    // Three waiting requests to one address a day; the fourth is refused, known or not.
    for address in ["cai@example.org", "stranger@example.org"] {
        for _ in 0..3 {
            anon.post(FORM, json!({ "kind": "know", "email": address }))
                .await
                .expect_status(202);
        }
        anon.post(FORM, json!({ "kind": "know", "email": address }))
            .await
            .expect_problem(429, "rate-limited");
        // A tag after `+` reaches the same mailbox.
        let tagged = address.replacen('@', "+again@", 1);
        anon.post(FORM, json!({ "kind": "know", "email": tagged }))
            .await
            .expect_problem(429, "rate-limited");
    }
}

async fn a_former_member_asks_for_a_copy_on_the_public_form_and_downloads_it(backend: Backend) {
    let server = TestServer::start(backend).await;
    let dee = server.member("dee").await;
    let ops = operator(&server, "olga").await;
    let guild = ops.create_community("guild").await;
    dee.join(&guild).await;
    let general = dee.general_channel(&guild).await;
    dee.say(&general, "hello from dee").await;
    let shots = |name: &str| format!("{name}-{backend:?}").to_lowercase();
    let browser = Browser::start().await;

    // Signed out, the footer leads to the form.
    browser.open(&server, "/").await;
    browser.click("footer a[href='/privacy/request']").await;
    browser.wait_for_text("h1", "Make a privacy request").await;
    browser.screenshots(&shots("public-request-form")).await;
    browser.assert_accessible("the public request form").await;
    // A copy without the declaration is refused, with what was typed kept.
    browser.click("input[name='kind'][value='access']").await;
    browser.fill("#email", "dee@example.org").await;
    browser
        .click("form[action='/privacy/request'] button")
        .await;
    browser.wait_for_text(".error", "penalty of perjury").await;
    browser.click("input[name='declared']").await;
    browser.click("#range option[value='everything']").await;
    browser
        .click("form[action='/privacy/request'] button")
        .await;
    browser.wait_for_text(".notice", "We mailed a link").await;
    browser.screenshots(&shots("public-request-sent")).await;

    // The mailed link opens a page that confirms the request with a button.
    let (id, token) = link(&server, "dee@example.org").await;
    browser
        .open(&server, &format!("/privacy/request/{id}?token={token}"))
        .await;
    browser.wait_for_text("h1", "A copy of my data").await;
    browser.fill("#password", &password_of("dee")).await;
    browser.screenshots(&shots("public-request-confirm")).await;
    browser
        .assert_accessible("a public request's confirmation")
        .await;
    browser
        .click(&format!(
            "form[action='/privacy/request/{id}/confirm'] button"
        ))
        .await;
    browser.wait_for_text("section.card", "being made").await;
    run_jobs(&server).await;
    browser
        .open(&server, &format!("/privacy/request/{id}?token={token}"))
        .await;
    browser
        .wait_for_text("section.card", "Your copy is ready")
        .await;
    browser.screenshots(&shots("public-request-ready")).await;
    browser.assert_accessible("a public request's answer").await;
    let href = browser
        .find("a.button.primary")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        href.starts_with(&format!("/privacy/request/{id}/copy?token=")),
        "{href}"
    );
    let zip = crate::harness::http()
        .get(format!("{}{href}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(zip.status(), 200);
    assert!(zip.bytes().await.unwrap().starts_with(b"PK"));

    // Opting out on the form takes one step, and needs no link.
    browser.open(&server, "/privacy/request").await;
    browser.click("input[name='kind'][value='opt_out']").await;
    browser.fill("#email", "dee@example.org").await;
    browser
        .click("form[action='/privacy/request'] button")
        .await;
    browser.wait_for_text(".notice", "opted out").await;
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM users WHERE username = 'dee' AND sale_opt_out_at IS NOT NULL"
        )
        .await,
        1
    );
}
