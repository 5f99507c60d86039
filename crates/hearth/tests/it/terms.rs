//! This Hearth's legal terms: the operator publishes versions; creating a community accepts
//! those in force; a newer version holds the community's admin powers until its owner accepts
//! it; every acceptance is on record, audited and in the owner's copy of their data.

use crate::browser::Browser;
use crate::export::whole_copy_text;
use crate::harness::{Backend, TestServer, on_both_backends};
use crate::requests::{count, operator};
use serde_json::{Value, json};

on_both_backends!(
    the_operator_publishes_terms_that_creating_a_community_accepts,
    a_new_version_holds_the_configuration_until_the_owner_accepts_it,
    an_owner_is_led_from_the_admin_pages_to_the_new_terms_in_the_browser,
);

fn ids(terms: &Value) -> Vec<i64> {
    terms
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

async fn publish(server: &TestServer, ops: &crate::harness::Member, kind: &str, text: &str) -> i64 {
    let _ = server;
    ops.post("/api/v1/terms", json!({ "kind": kind, "markdown": text }))
        .await
        .expect_status(201)
        .str("id")
        .parse()
        .unwrap()
}

async fn the_operator_publishes_terms_that_creating_a_community_accepts(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ops = operator(&server, "opal").await;
    let olga = server.member("olga").await;

    // With none published, a community is created as before, accepting nothing.
    olga.create_community("early").await;
    assert_eq!(
        server.anonymous().get("/api/v1/terms").await.body,
        json!([])
    );

    // Only the operator publishes; the kind and the text are checked.
    olga.post(
        "/api/v1/terms",
        json!({ "kind": "terms", "markdown": "Mine." }),
    )
    .await
    .expect_problem(403, "forbidden");
    ops.post("/api/v1/terms", json!({ "kind": "eula", "markdown": "x" }))
        .await
        .expect_problem(422, "validation");
    ops.post(
        "/api/v1/terms",
        json!({ "kind": "terms", "markdown": "  " }),
    )
    .await
    .expect_problem(422, "validation");
    ops.post(
        "/api/v1/terms",
        json!({ "kind": "terms", "markdown": "a\u{0}b" }),
    )
    .await
    .expect_problem(422, "validation");
    let terms = publish(&server, &ops, "terms", "# Terms\n\nBe kind.").await;
    let sla = publish(&server, &ops, "sla", "# Service level\n\n99.9%.").await;
    let dpa = publish(
        &server,
        &ops,
        "dpa",
        "# Data processing\n\nWe process on your behalf.",
    )
    .await;
    let in_force = server
        .anonymous()
        .get("/api/v1/terms")
        .await
        .expect_status(200);
    assert_eq!(ids(&in_force.body).len(), 3);
    let first = in_force.body.as_array().unwrap()[0].clone();
    assert!(first["html"].as_str().unwrap().contains("<h1>"), "{first}");

    // Creating a community accepts every version in force: none, some, or a stale set is
    // refused, and nothing is created.
    let create =
        |accept: Vec<i64>| json!({ "slug": "guild", "name": "Guild", "accept_terms": accept });
    olga.post("/api/v1/communities", create(vec![]))
        .await
        .expect_problem(422, "validation");
    olga.post("/api/v1/communities", create(vec![terms, sla]))
        .await
        .expect_problem(409, "conflict");
    olga.post("/api/v1/communities", create(vec![terms, sla, dpa, 12345]))
        .await
        .expect_problem(409, "conflict");
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM communities WHERE slug = 'guild'"
        )
        .await,
        0
    );
    let guild = olga
        .post("/api/v1/communities", create(vec![dpa, terms, sla]))
        .await
        .expect_status(201)
        .str("id");

    // The record: which versions, who, when; audited; in the operator's counts.
    let record = olga
        .get(&format!("/api/v1/communities/{guild}/terms"))
        .await
        .expect_status(200);
    assert_eq!(record.body["due"], json!([]));
    let acceptances = record.body["acceptances"].as_array().unwrap();
    assert_eq!(acceptances.len(), 3);
    assert!(
        acceptances
            .iter()
            .all(|a| a["accepted_by"] == "olga" && a["version"] == 1)
    );
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'terms.accepted'"
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'terms.published'"
        )
        .await,
        3
    );
    // Members who are not admins do not see the community's record.
    let ada = server.member("ada").await;
    ada.join(&guild).await;
    ada.get(&format!("/api/v1/communities/{guild}/terms"))
        .await
        .expect_problem(403, "forbidden");

    // The owner's copy of their data holds the acceptances.
    let copy = whole_copy_text(&server, &olga, "olga").await;
    assert!(
        copy.contains("terms_acceptances"),
        "no acceptances in the copy"
    );
    assert!(
        copy.contains(&terms.to_string()),
        "the accepted version is not named"
    );
}

async fn a_new_version_holds_the_configuration_until_the_owner_accepts_it(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ops = operator(&server, "opal").await;
    let olga = server.member("olga").await;
    let ada = server.member("ada").await;
    let terms = publish(&server, &ops, "terms", "Version one.").await;
    let guild = olga
        .post(
            "/api/v1/communities",
            json!({ "slug": "guild", "name": "Guild", "accept_terms": [terms] }),
        )
        .await
        .expect_status(201)
        .str("id");
    ada.join(&guild).await;
    let ada_id = ada.get("/api/v1/me").await.str("id");
    olga.put(
        &format!("/api/v1/communities/{guild}/members/{ada_id}/role"),
        json!({ "role": "admin" }),
    )
    .await
    .expect_status(204);
    let settings = format!("/api/v1/communities/{guild}");
    olga.patch(&settings, json!({ "description": "before" }))
        .await
        .expect_status(200);

    // A second version: the community's configuration waits until the owner accepts it.
    let second = publish(&server, &ops, "terms", "Version two.").await;
    olga.patch(&settings, json!({ "description": "held" }))
        .await
        .expect_problem(403, "forbidden");
    ada.post(&format!("/api/v1/communities/{guild}/invites"), json!({}))
        .await
        .expect_problem(403, "forbidden");
    // Talking, moderating, privacy requests, the statement and demotions go on.
    olga.post(
        &format!("/api/v1/communities/{guild}/privacy-statement"),
        json!({ "markdown": "# Our statement" }),
    )
    .await
    .expect_status(201);
    let general = olga.general_channel(&guild).await;
    olga.say(&general, "still here").await;
    let said = ada.say(&general, "hello").await;
    olga.delete(&format!("/api/v1/messages/{said}"))
        .await
        .expect_status(204);
    olga.get(&format!("/api/v1/communities/{guild}/privacy/requests"))
        .await
        .expect_status(200);
    let standing = ada
        .get(&format!("/api/v1/communities/{guild}/terms"))
        .await
        .expect_status(200);
    assert_eq!(ids(&standing.body["due"]), vec![second]);
    assert_eq!(standing.body["may_accept"], false);

    // Only the owner accepts, and only what is in force.
    ada.post(
        &format!("/api/v1/communities/{guild}/terms/acceptance"),
        json!({ "accept_terms": [second] }),
    )
    .await
    .expect_problem(403, "forbidden");
    olga.post(
        &format!("/api/v1/communities/{guild}/terms/acceptance"),
        json!({ "accept_terms": [terms] }),
    )
    .await
    .expect_problem(409, "conflict");
    let accepted = olga
        .post(
            &format!("/api/v1/communities/{guild}/terms/acceptance"),
            json!({ "accept_terms": [second] }),
        )
        .await
        .expect_status(200);
    assert_eq!(accepted.body["due"], json!([]));
    assert_eq!(accepted.body["acceptances"].as_array().unwrap().len(), 2);
    olga.patch(&settings, json!({ "description": "free again" }))
        .await
        .expect_status(200);
    // A new service level alone: every version in force may be named, the one accepted too.
    let sla = publish(&server, &ops, "sla", "Always up.").await;
    olga.post(
        &format!("/api/v1/communities/{guild}/terms/acceptance"),
        json!({ "accept_terms": [second, sla] }),
    )
    .await
    .expect_status(200);
    ada.post(&format!("/api/v1/communities/{guild}/invites"), json!({}))
        .await
        .expect_status(201);

    // When the owner's account is erased, the record stays with the community, naming no one.
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM terms_acceptances WHERE accepted_by IS NOT NULL"
        )
        .await,
        3
    );
}

async fn an_owner_is_led_from_the_admin_pages_to_the_new_terms_in_the_browser(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ops = operator(&server, "opal").await;
    let _olga = server.member("olga").await;
    publish(&server, &ops, "terms", "# Terms\n\nBe kind to one another.").await;
    publish(
        &server,
        &ops,
        "dpa",
        "# Data processing\n\nWe process on your behalf.",
    )
    .await;
    let shots = |name: &str| format!("{name}-{backend:?}").to_lowercase();
    let browser = Browser::start().await;

    // Creating a community on the page asks for the terms, unticked, linked.
    browser.sign_in(&server, "olga").await;
    browser.open(&server, "/communities").await;
    browser
        .wait_for_text("#create-heading", "Create a community")
        .await;
    let label = browser.text("label:has(input[name=accept_terms])").await;
    let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        label.contains("terms and conditions (version 1)"),
        "{label}"
    );
    assert!(
        label.contains("data processing agreement (version 1)"),
        "{label}"
    );
    assert!(
        !browser
            .find("input[name=accept_terms]")
            .await
            .is_selected()
            .await
            .unwrap()
    );
    browser.fill("#name", "Guild").await;
    browser.fill("#slug", "guild").await;
    browser.click("input[name=accept_terms]").await;
    browser.screenshots(&shots("terms-create")).await;
    browser
        .click("#create-heading + form button[type=submit]")
        .await;
    browser.wait_for_text("main", "#general").await;
    let guild = olga_community(&server).await;

    // A new version: the settings page leads to the terms, which the owner accepts.
    publish(&server, &ops, "terms", "# Terms\n\nBe kinder still.").await;
    browser
        .open(&server, &format!("/communities/{guild}/settings"))
        .await;
    browser
        .wait_for_path(&format!("/communities/{guild}/terms"))
        .await;
    browser
        .wait_for_text("p.banner", "published new terms")
        .await;
    assert!(browser.text("main").await.contains("Be kinder still."));
    browser.screenshots(&shots("terms-due")).await;
    browser.assert_accessible("the terms to accept").await;
    // Pressing Accept without ticking the box does nothing (the box is required).
    browser.click("form[action$='/terms'] button").await;
    browser
        .wait_for_path(&format!("/communities/{guild}/terms"))
        .await;
    browser
        .click("form[action$='/terms'] input[name=accept_terms]")
        .await;
    browser.click("form[action$='/terms'] button").await;
    browser
        .wait_for_path(&format!("/communities/{guild}/settings"))
        .await;
    browser.wait_for_text("h1", "Settings of Guild").await;
    browser
        .open(&server, &format!("/communities/{guild}/terms"))
        .await;
    browser
        .wait_for_text("p.notice", "has accepted every version")
        .await;
    let record = browser.text("table").await;
    assert!(
        record.contains("Terms and conditions") && record.contains("olga"),
        "{record}"
    );
    browser.screenshots(&shots("terms-record")).await;
    assert_eq!(
        count(&server, "SELECT COUNT(*) FROM terms_acceptances").await,
        3
    );

    // The public page shows the versions in force and lists every one.
    browser.open(&server, "/terms").await;
    browser.wait_for_text("h1", "Terms").await;
    assert!(browser.text("main").await.contains("Be kinder still."));
    browser.screenshots(&shots("terms-public")).await;
    browser.assert_accessible("the terms").await;
}

/// The id of the one community olga created.
async fn olga_community(server: &TestServer) -> String {
    count(server, "SELECT id FROM communities WHERE slug = 'guild'")
        .await
        .to_string()
}
