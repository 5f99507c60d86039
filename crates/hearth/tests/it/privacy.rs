//! Privacy choices: opting out of sale and sharing and limiting sensitive information, by the
//! API, the page, and the browser's Global Privacy Control signal, which is recorded on the
//! account the first time it is seen, kept when a later visit lacks it, and logged; and the
//! choices a visitor makes before signing in, kept in the browser and made for the account at
//! sign-in.

use crate::browser::Browser;
use crate::harness::{Backend, TestServer, on_both_backends};
use crate::requests::count;
use serde_json::json;

on_both_backends!(
    the_privacy_signal_opts_the_account_out_for_good_and_choices_take_two_steps_back,
    a_signed_out_visitors_choice_is_carried_into_the_account_at_sign_in,
    a_member_who_uses_privacy_rights_keeps_every_page_and_permission,
);

async fn audited(server: &TestServer, code: &str) -> i64 {
    let mut reader = server.app().store().reader().await.unwrap();
    reader
        .conn()
        .count_unchecked(format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = '{code}'"
        ))
        .await
        .unwrap()
}

async fn the_privacy_signal_opts_the_account_out_for_good_and_choices_take_two_steps_back(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let ada = server.member("ada").await;
    let choices = ada.get("/api/v1/me/privacy").await.expect_status(200);
    assert_eq!(choices.body["sale_opt_out"], false);

    // A page visit with the signal: the account is opted out, and the page says so.
    let crate::harness::Auth::Cookie(cookie) = &ada.session.auth else {
        unreachable!()
    };
    let page = crate::harness::http()
        .get(format!("{}/communities", server.base))
        .header("cookie", cookie)
        .header("sec-gpc", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Opt-Out Request Honored")
    );
    assert_eq!(
        audited(&server, "privacy.sale_opted_out_by_signal").await,
        1
    );
    // Every device: the API token sees it too, and a visit without the signal keeps it.
    let choices = ada.get("/api/v1/me/privacy").await.expect_status(200);
    assert_eq!(choices.body["sale_opt_out"], true);
    assert_eq!(ada.get("/api/v1/me").await.body["sale_opt_out"], true);
    // Seen again, the signal changes nothing and logs nothing new.
    crate::harness::http()
        .get(format!("{}/api/v1/me", server.base))
        .header("cookie", cookie)
        .header("sec-gpc", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        audited(&server, "privacy.sale_opted_out_by_signal").await,
        1
    );

    // Withdrawing takes a second, deliberate step.
    ada.put("/api/v1/me/privacy", json!({ "sale_opt_out": false }))
        .await
        .expect_problem(422, "validation");
    let back = ada
        .put(
            "/api/v1/me/privacy",
            json!({ "sale_opt_out": false, "confirm": true }),
        )
        .await
        .expect_status(200);
    assert_eq!(back.body["sale_opt_out"], false);
    // Limiting sensitive information takes one.
    let limited = ada
        .put("/api/v1/me/privacy", json!({ "sensitive_limit": true }))
        .await
        .expect_status(200);
    assert_eq!(limited.body["sensitive_limit"], true);
    // Each choice made is a request on record, answered at once, due within 15 business days.
    let record = ada
        .get("/api/v1/me/privacy/requests")
        .await
        .expect_status(200);
    let requests = record.body.as_array().unwrap();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0]["kind"], "limit");
    assert_eq!(requests[0]["manner"], "api");
    assert_eq!(requests[1]["kind"], "opt_out");
    assert_eq!(requests[1]["manner"], "signal");
    assert!(
        requests
            .iter()
            .all(|r| r["state"] == "completed" && !r["answered_at"].is_null())
    );
    assert!(requests[1]["due"].as_str().unwrap().len() == 10);
    for (code, times) in [
        ("privacy.sale_opt_out_withdrawn", 1),
        ("privacy.sensitive_limited", 1),
    ] {
        assert_eq!(audited(&server, code).await, times, "{code}");
    }
}

async fn a_signed_out_visitors_choice_is_carried_into_the_account_at_sign_in(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.member("ada").await;
    let shots = |name: &str| format!("{name}-{backend:?}").to_lowercase();
    let browser = Browser::start().await;

    // Signed out, every page's footer offers both choices; opting out is one press.
    browser.open(&server, "/directory").await;
    browser
        .click("footer a[href='/privacy/choices#sale']")
        .await;
    browser.wait_for_text("h1", "Your privacy choices").await;
    browser.screenshots(&shots("privacy-choices")).await;
    browser.assert_accessible("the privacy choices page").await;
    browser.click("#sale button[type=submit]").await;
    browser
        .wait_for_text("#sale p[role=status]", "Opt-Out Request Honored")
        .await;
    browser.screenshots(&shots("privacy-choices-saved")).await;
    // Kept in the browser only: the account knows nothing yet.
    assert_eq!(
        ada.get("/api/v1/me/privacy").await.body["sale_opt_out"],
        false
    );

    // Signing in makes it the account's, recorded as a request that came from this page.
    browser.sign_in(&server, "ada").await;
    let choices = ada.get("/api/v1/me/privacy").await.expect_status(200);
    assert_eq!(choices.body["sale_opt_out"], true, "{}", choices.body);
    assert_eq!(choices.body["sensitive_limit"], false);
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM privacy_requests WHERE kind = 'opt_out' AND manner = 'browser' \
             AND state = 'completed'"
        )
        .await,
        1
    );
    // Signed in, the choices page is the account's privacy page.
    browser.open(&server, "/privacy/choices").await;
    browser.wait_for_path("/privacy").await;
    // Signing in again changes nothing more.
    browser.sign_out().await;
    browser.sign_in(&server, "ada").await;
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM privacy_requests WHERE manner = 'browser'"
        )
        .await,
        1
    );
}

/// Equal service (Civ. 1798.125): a member who opted out of sale and sharing and limited the
/// use of their sensitive information reaches every page and does everything an equal member
/// does, with the same answers.
async fn a_member_who_uses_privacy_rights_keeps_every_page_and_permission(backend: Backend) {
    let server = TestServer::start(backend).await;
    let olga = server.member("olga").await;
    let ada = server.member("ada").await;
    let bea = server.member("bea").await;
    let guild = olga.create_community("guild").await;
    ada.join(&guild).await;
    bea.join(&guild).await;
    ada.put(
        "/api/v1/me/privacy",
        json!({ "sale_opt_out": true, "sensitive_limit": true }),
    )
    .await
    .expect_status(200);
    let choices = ada.get("/api/v1/me/privacy").await.expect_status(200);
    assert_eq!(choices.body["sale_opt_out"], true);
    assert_eq!(choices.body["sensitive_limit"], true);
    let general = olga.general_channel(&guild).await;
    let mut statuses = Vec::new();
    for (n, (member, other)) in [(&ada, &bea), (&bea, &ada)].into_iter().enumerate() {
        let said = member.say(&general, "hello from an equal member").await;
        let thread = member
            .post(
                &format!("/api/v1/channels/{general}/messages"),
                json!({ "body": "a reply", "reply_to": said }),
            )
            .await
            .status;
        let direct = member
            .post("/api/v1/direct", json!({ "user_ids": [other.id] }))
            .await
            .status;
        let private = member
            .post(
                &format!("/api/v1/communities/{guild}/channels"),
                json!({ "name": format!("room-{n}"), "kind": "private" }),
            )
            .await
            .status;
        let mut pages = Vec::new();
        for path in [
            "/communities".to_string(),
            format!("/communities/{guild}"),
            format!("/channels/{general}"),
            format!("/communities/{guild}/members"),
            format!("/communities/{guild}/privacy"),
            "/directory".to_string(),
            "/search?q=hello".to_string(),
            "/settings".to_string(),
            "/privacy".to_string(),
            "/direct".to_string(),
        ] {
            pages.push((
                path.clone(),
                crate::pages::page_as(&server, member, &path).await.0,
            ));
        }
        let api = [
            member.get("/api/v1/me").await.status,
            member
                .get(&format!("/api/v1/channels/{general}/messages"))
                .await
                .status,
            member
                .get(&format!("/api/v1/communities/{guild}/members"))
                .await
                .status,
            member.get("/api/v1/search?q=hello").await.status,
        ];
        statuses.push((thread, direct, private, pages, api));
    }
    assert_eq!(
        statuses[0], statuses[1],
        "the member who used their rights is served differently"
    );
    let (thread, direct, private, pages, api) = &statuses[0];
    assert_eq!(*thread, 201);
    assert!(*direct == 200 || *direct == 201, "{direct}");
    assert_eq!(*private, 201);
    assert!(
        pages
            .iter()
            .all(|(_, status)| *status == 200 || *status == 303),
        "{pages:?}"
    );
    assert!(api.iter().all(|status| *status == 200), "{api:?}");
}
