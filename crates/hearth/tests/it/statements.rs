//! Communities' privacy statements: written from the data catalog until the admins publish
//! their own, every version kept, members asked to acknowledge each new one, and the
//! acknowledgements on record.

use crate::browser::Browser;
use crate::harness::{Backend, TestServer, on_both_backends};
use crate::requests::{count, execute};
use hearth_core::ages::{AgeQuestion, unfilled_by};
use hearth_core::catalog::Category;
use hearth_core::catalog::TABLES;
use hearth_core::know::categories_held_but;
use hearth_core::requests::RequestKind;
use hearth_core::statement::right_name;
use serde_json::json;

on_both_backends!(
    a_new_communitys_statement_is_written_from_the_catalog_and_names_every_right,
    admins_publish_versions_and_members_acknowledge_each_new_one,
    a_member_sees_the_banner_for_a_new_version_and_acknowledges_it_in_the_browser,
    forms_that_collect_say_what_they_collect_and_link_the_statement,
);

async fn audited(server: &TestServer, code: &str) -> i64 {
    count(
        server,
        &format!("SELECT COUNT(*) FROM audit_log WHERE action = '{code}'"),
    )
    .await
}

async fn a_new_communitys_statement_is_written_from_the_catalog_and_names_every_right(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let olga = server.member("olga").await;
    let guild = olga.create_community("guild").await;
    let path = format!("/api/v1/communities/{guild}/privacy-statement");

    // Anyone may read an open community's statement; with nothing published, the one
    // written from the catalog stands in, with no editing.
    let read = server.anonymous().get(&path).await.expect_status(200);
    assert_eq!(read.body["version"], serde_json::Value::Null);
    let markdown = read.body["markdown"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Every category in use: a new community asks no age, so keeps no age group.
    let tables: Vec<_> = TABLES.iter().collect();
    let unfilled = unfilled_by(AgeQuestion::None, 0);
    let protected = Category::ProtectedCharacteristics.label();
    assert!(!markdown.contains(protected), "{markdown}");
    for held in categories_held_but(&tables, &[], &unfilled) {
        assert!(
            markdown.contains(held.category.label()),
            "{} is not named",
            held.category.label()
        );
    }
    for kind in RequestKind::ALL {
        assert!(markdown.contains(right_name(kind)), "{kind:?}: {markdown}");
    }
    assert!(markdown.contains("Privacy statement of guild"));
    let html = read.body["html"].as_str().unwrap_or_default();
    assert!(
        html.contains("<h1>Privacy statement of guild</h1>"),
        "{html}"
    );
    assert!(html.contains("href=\"/privacy/request\""));

    // It is dated the day its text last changed, not the day it is read: reading it again
    // changes nothing, a change of settings dates it anew.
    let changed_at = format!("SELECT changed_at FROM generated_statements WHERE scope = {guild}");
    let first = count(&server, &changed_at).await;
    let day = hearth_core::Timestamp(first)
        .to_datetime()
        .date()
        .to_string();
    assert!(
        markdown.contains(&format!("Last updated: {day}")),
        "{markdown}"
    );
    server.anonymous().get(&path).await.expect_status(200);
    assert_eq!(count(&server, &changed_at).await, first);

    // The community's own facts go in: a contact, a profile field's category, its law.
    olga.put(
        &format!("{path}/settings"),
        json!({ "contact": "privacy@guild.example", "publish_metrics": true }),
    )
    .await
    .expect_status(200);
    olga.post(
        &format!("/api/v1/communities/{guild}/profile-fields"),
        json!({ "label": "Religion", "kind": "text", "visibility": "admins",
                "category": "religious_or_philosophical_beliefs" }),
    )
    .await
    .expect_status(201);
    olga.put(
        &format!("/api/v1/communities/{guild}/privacy/handling"),
        json!({ "law": "gdpr", "approved": ["delete"] }),
    )
    .await
    .expect_status(200);
    let template = olga
        .get(&format!("{path}/template"))
        .await
        .expect_status(200);
    let text = template.str("markdown");
    assert!(text.contains("privacy@guild.example"), "{text}");
    assert!(count(&server, &changed_at).await > first);
    assert!(
        text.contains("Religious or philosophical beliefs"),
        "{text}"
    );
    assert!(text.contains("General Data Protection Regulation"));
    assert!(text.contains("## Legal basis") && text.contains("supervisory authority"));
    assert!(text.contains("- **Special categories** (Religious or philosophical beliefs)"));
    assert!(text.contains("one month"));
    assert!(text.contains("The admins of guild look at it"));
    assert!(text.contains("## Requests answered in"));
    assert!(!text.contains(protected) && !text.contains("Your parent's consent"));

    // Asking ages, down to children with a parent's consent, collects the age group and a
    // parent's address: the statement says so.
    olga.put(
        &format!("/api/v1/communities/{guild}/age-policy"),
        json!({ "age_question": "bracket", "minimum_age": 0 }),
    )
    .await
    .expect_status(200);
    let text = olga
        .get(&format!("{path}/template"))
        .await
        .expect_status(200)
        .str("markdown");
    assert!(text.contains(protected) && text.contains("Your parent's consent"));
    // Asking no more, it still names for 12 months what it collected; not after.
    olga.put(
        &format!("/api/v1/communities/{guild}/age-policy"),
        json!({ "age_question": "none", "minimum_age": 0 }),
    )
    .await
    .expect_status(200);
    let template = format!("{path}/template");
    let text = olga.get(&template).await.expect_status(200).str("markdown");
    assert!(text.contains(protected) && text.contains("Your parent's consent"));
    let thirteen_months = 13 * 30 * 24 * 60 * 60 * 1000_i64;
    execute(
        &server,
        &format!(
            "UPDATE communities SET earlier_ages_until = earlier_ages_until - {thirteen_months} \
             WHERE id = {guild}"
        ),
    )
    .await;
    let text = olga.get(&template).await.expect_status(200).str("markdown");
    assert!(!text.contains(protected) && !text.contains("Your parent's consent"));
    assert_eq!(
        audited(&server, "privacy.statement_settings_changed").await,
        1
    );

    // Only admins see the template or change the settings.
    let ada = server.member("ada").await;
    ada.join(&guild).await;
    ada.get(&format!("{path}/template"))
        .await
        .expect_problem(403, "forbidden");
    ada.put(
        &format!("{path}/settings"),
        json!({ "contact": null, "publish_metrics": false }),
    )
    .await
    .expect_problem(403, "forbidden");
    olga.put(
        &format!("{path}/settings"),
        json!({ "contact": "two\nlines", "publish_metrics": false }),
    )
    .await
    .expect_problem(422, "validation");
    for bad in [json!({ "contact": "nul\u{0}here", "publish_metrics": false })] {
        olga.put(&format!("{path}/settings"), bad)
            .await
            .expect_problem(422, "validation");
    }
    olga.post(&path, json!({ "markdown": "# A\u{0}B" }))
        .await
        .expect_problem(422, "validation");

    // An invitation-only community's statement is for its members.
    let inner = olga
        .post(
            "/api/v1/communities",
            json!({ "slug": "inner", "name": "Inner", "join_policy": "invite" }),
        )
        .await
        .expect_status(201)
        .str("id");
    let inner_path = format!("/api/v1/communities/{inner}/privacy-statement");
    server
        .anonymous()
        .get(&inner_path)
        .await
        .expect_problem(404, "not-found");
    ada.get(&inner_path).await.expect_problem(404, "not-found");
    olga.get(&inner_path).await.expect_status(200);
}

async fn admins_publish_versions_and_members_acknowledge_each_new_one(backend: Backend) {
    let server = TestServer::start(backend).await;
    let olga = server.member("olga").await;
    let ada = server.member("ada").await;
    let guild = olga.create_community("guild").await;
    ada.join(&guild).await;
    let path = format!("/api/v1/communities/{guild}/privacy-statement");
    let due = "/api/v1/me/privacy-statements";

    // Nothing published, nothing to acknowledge.
    assert_eq!(ada.get(due).await.expect_status(200).body, json!([]));
    ada.post(&format!("{path}/acknowledgement"), json!({ "version": 1 }))
        .await
        .expect_problem(409, "conflict");

    // Members do not publish; a statement is Markdown or an https address, not both.
    ada.post(&path, json!({ "markdown": "# Mine" }))
        .await
        .expect_problem(403, "forbidden");
    for bad in [
        json!({ "markdown": "# A", "url": "https://guild.example/privacy" }),
        json!({}),
        json!({ "markdown": "   " }),
        json!({ "url": "javascript:alert(1)" }),
        json!({ "url": "http://guild.example/privacy" }),
        json!({ "url": "https://user:pw@guild.example/privacy" }),
    ] {
        olga.post(&path, bad.clone())
            .await
            .expect_problem(422, "validation");
    }

    // Published from the template with a line of the owner's own (and a script, shown as
    // text).
    let template = olga
        .get(&format!("{path}/template"))
        .await
        .expect_status(200)
        .str("markdown");
    let first = olga
        .post(
            &path,
            json!({ "markdown": format!("{template}\n\nWe meet on Tuesdays. <script>alert(1)</script>") }),
        )
        .await
        .expect_status(201);
    assert_eq!(first.body["version"], 1);
    assert!(!first.str("html").contains("<script>"));
    assert!(first.str("html").contains("We meet on Tuesdays."));
    assert_eq!(audited(&server, "privacy.statement_published").await, 1);

    // Ada is asked to acknowledge it, once.
    let asked = ada.get(due).await.expect_status(200);
    assert_eq!(asked.body[0]["community_id"], guild);
    assert_eq!(asked.body[0]["version"], 1);
    let acknowledged = ada
        .post(&format!("{path}/acknowledgement"), json!({ "version": 1 }))
        .await
        .expect_status(200);
    assert!(acknowledged.body["acknowledged_at"].is_string());
    ada.post(&format!("{path}/acknowledgement"), json!({ "version": 1 }))
        .await
        .expect_status(200);
    assert_eq!(audited(&server, "privacy.statement_acknowledged").await, 1);
    assert_eq!(ada.get(due).await.body, json!([]));
    // Someone outside the community cannot acknowledge it.
    let bea = server.member("bea").await;
    bea.post(&format!("{path}/acknowledgement"), json!({ "version": 1 }))
        .await
        .expect_problem(404, "not-found");

    // A second version, a link to the owner's own policy: asked again; the old version is
    // still there to read.
    let second = olga
        .post(&path, json!({ "url": "https://guild.example/privacy" }))
        .await
        .expect_status(201);
    assert_eq!(second.body["version"], 2);
    assert_eq!(second.body["url"], "https://guild.example/privacy");
    assert_eq!(ada.get(due).await.body[0]["version"], 2);
    ada.post(&format!("{path}/acknowledgement"), json!({ "version": 1 }))
        .await
        .expect_problem(409, "conflict");
    let old = ada
        .get(&format!("{path}?version=1"))
        .await
        .expect_status(200);
    assert_eq!(old.body["superseded"], true);
    assert!(old.body["acknowledged_at"].is_string());
    assert!(old.str("markdown").contains("We meet on Tuesdays."));
    server
        .anonymous()
        .get(&format!("{path}?version=3"))
        .await
        .expect_problem(404, "not-found");
    let versions = server
        .anonymous()
        .get(&format!("{path}/versions"))
        .await
        .expect_status(200);
    assert_eq!(versions.body.as_array().map(Vec::len), Some(2));
    assert_eq!(versions.body[0]["version"], 2);

    // The acknowledgements are on record, and in Ada's copy of her data's catalog.
    assert_eq!(
        count(&server, "SELECT COUNT(*) FROM statement_acknowledgements").await,
        1
    );
    assert!(
        hearth_core::export::kinds()
            .iter()
            .any(|k| k.name() == "statement_acknowledgements")
    );
}

async fn a_member_sees_the_banner_for_a_new_version_and_acknowledges_it_in_the_browser(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let olga = server.member("olga").await;
    let ada = server.member("ada").await;
    let guild = olga.create_community("guild").await;
    ada.join(&guild).await;
    let shots = |name: &str| format!("{name}-{backend:?}").to_lowercase();
    let browser = Browser::start().await;

    // The owner starts from the generated statement, previews a change, and publishes.
    browser.sign_in(&server, "olga").await;
    browser
        .open(&server, &format!("/communities/{guild}/privacy"))
        .await;
    browser
        .wait_for_text(".statement h1", "Privacy statement of guild")
        .await;
    browser.screenshots(&shots("statement-generated")).await;
    browser
        .assert_accessible("a statement written from the catalog")
        .await;
    browser
        .open(&server, &format!("/communities/{guild}/privacy/edit"))
        .await;
    browser
        .wait_for_text("h1", "Privacy statement of guild")
        .await;
    let draft = browser
        .find("#statement_markdown")
        .await
        .prop("value")
        .await
        .unwrap_or_default()
        .unwrap_or_default();
    assert!(draft.contains("# Privacy statement of guild"), "{draft}");
    // Typed short: the whole statement typed key by key would take a minute.
    browser
        .fill(
            "#statement_markdown",
            "# The guild's privacy statement\n\n## Our meetings\n\nWe meet on Tuesdays.",
        )
        .await;
    browser.click("button[value=preview]").await;
    browser
        .wait_for_text("#preview-heading", "Preview (not published)")
        .await;
    assert!(
        browser
            .text(".statement")
            .await
            .contains("We meet on Tuesdays.")
    );
    browser.screenshots(&shots("statement-editor")).await;
    browser
        .assert_accessible("the privacy statement editor")
        .await;
    browser.click("button[value=publish]").await;
    browser
        .wait_for_text("p.notice", "Version 1 is published")
        .await;
    browser.sign_out().await;

    // Ada is asked, on every page, to read it; reading and acknowledging clears the banner.
    browser.sign_in(&server, "ada").await;
    browser
        .wait_for_text(
            "p.banner",
            "guild published a new privacy statement (version 1)",
        )
        .await;
    browser.screenshots(&shots("statement-banner")).await;
    browser.click("p.banner a").await;
    browser.wait_for_text(".statement h2", "Our meetings").await;
    browser.screenshots(&shots("statement-page")).await;
    browser.assert_accessible("a privacy statement").await;
    browser
        .click("form[action$='/privacy/acknowledge'] button")
        .await;
    browser
        .wait_for_text("p.notice", "your acknowledgement of version 1 is recorded")
        .await;
    browser.open(&server, "/communities").await;
    browser.wait_for_text("h1", "My communities").await;
    assert!(
        browser
            .text("main")
            .await
            .find("published a new privacy statement")
            .is_none(),
        "the banner stays after acknowledging"
    );
    assert_eq!(audited(&server, "privacy.statement_acknowledged").await, 1);
    assert_eq!(
        ada.get("/api/v1/me/privacy-statements").await.body,
        json!([])
    );
}

async fn forms_that_collect_say_what_they_collect_and_link_the_statement(backend: Backend) {
    let server = TestServer::start(backend).await;
    let olga = server.member("olga").await;
    let ada = server.member("ada").await;
    let guild = olga.create_community("guild").await;
    olga.post(
        &format!("/api/v1/communities/{guild}/profile-fields"),
        json!({ "label": "Health", "kind": "text", "visibility": "admins", "category": "health" }),
    )
    .await
    .expect_status(201);

    // Registering: what the account holds, before anything is stored.
    let register = reqwest::get(format!("{}/register", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        register.contains("What this form collects, and why"),
        "{register}"
    );
    assert!(register.contains("Identifiers"));
    assert!(register.contains("Account log-in credentials"));
    assert!(register.contains("href=\"/privacy/choices\""));
    assert!(register.contains("href=\"/privacy/statement\""));
    // This Hearth's own statement: every right, every community's recipients.
    let instance = reqwest::get(format!("{}/privacy/statement", server.base))
        .await
        .unwrap();
    assert_eq!(instance.status().as_u16(), 200);
    let instance = instance.text().await.unwrap();
    assert!(
        instance.contains("Privacy statement of this Hearth"),
        "{instance}"
    );
    for kind in RequestKind::ALL {
        assert!(instance.contains(right_name(kind)), "{kind:?}");
    }
    assert!(instance.contains("each community either deletes the text of your messages"));

    // Joining: what membership and the community's questions store, with its statement.
    let (status, join) =
        crate::pages::page_as(&server, &ada, &format!("/communities/{guild}")).await;
    assert_eq!(status, 200);
    assert!(join.contains("What this form collects, and why"), "{join}");
    assert!(
        join.contains("Health information</strong> (sensitive)"),
        "{join}"
    );
    assert!(join.contains(&format!("href=\"/communities/{guild}/privacy\"")));

    // An invitation-only community's statement is open to the holder of an invitation.
    let inner = olga
        .post(
            "/api/v1/communities",
            json!({ "slug": "inner", "name": "Inner", "join_policy": "invite" }),
        )
        .await
        .expect_status(201)
        .str("id");
    let code = olga
        .post(&format!("/api/v1/communities/{inner}/invites"), json!({}))
        .await
        .expect_status(201)
        .str("code");
    let (status, invited) = crate::pages::page_as(&server, &ada, &format!("/invite/{code}")).await;
    assert_eq!(status, 200);
    let link = format!("/communities/{inner}/privacy?invite={code}");
    assert!(invited.contains(&link), "{invited}");
    let (status, statement) = crate::pages::page_as(&server, &ada, &link).await;
    assert_eq!(status, 200, "{statement}");
    assert!(statement.contains("Privacy statement of Inner"));
    let (status, _) =
        crate::pages::page_as(&server, &ada, &format!("/communities/{inner}/privacy")).await;
    assert_eq!(status, 404);
    let (status, _) = crate::pages::page_as(
        &server,
        &ada,
        &format!("/communities/{inner}/privacy?invite=wrongcode"),
    )
    .await;
    assert_eq!(status, 404);
}
