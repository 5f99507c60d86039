//! Communities' privacy statements: written from the data catalog until the admins publish
//! their own, every version kept, members asked to acknowledge each new one, and the
//! acknowledgements on record.

use crate::harness::{Backend, TestServer, on_both_backends};
use crate::requests::count;
use hearth_core::catalog::TABLES;
use hearth_core::know::categories_held;
use hearth_core::requests::RequestKind;
use hearth_core::statement::right_name;
use serde_json::json;

on_both_backends!(
    a_new_communitys_statement_is_written_from_the_catalog_and_names_every_right,
    admins_publish_versions_and_members_acknowledge_each_new_one,
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
    let tables: Vec<_> = TABLES.iter().collect();
    for held in categories_held(&tables, &[]) {
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
    assert!(
        text.contains("Religious or philosophical beliefs"),
        "{text}"
    );
    assert!(text.contains("General Data Protection Regulation"));
    assert!(text.contains("one month"));
    assert!(text.contains("An admin of the community looks at it"));
    assert!(text.contains("## Requests answered in"));
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
