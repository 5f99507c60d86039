//! Minors: a community's age policy, the age asked at joining (only the group kept), a join
//! refused for age that keeps nothing, a 13-to-15-year-old's own consent and opt-out, and a
//! parent's consent for a child under 13, mailed, recorded and in the child's copy.

use crate::browser::Browser;
use crate::export::whole_copy_text;
use crate::harness::{Backend, Member, TestServer, on_both_backends};
use crate::mail::{mails_in, mails_to};
use crate::requests::count;
use hearth_core::Timestamp;
use serde_json::{Value, json};

on_both_backends!(
    a_join_refused_for_age_keeps_nothing_and_teens_consent_themselves,
    a_child_under_13_joins_once_a_parent_consents_by_mail,
    a_14_year_olds_join_waits_for_the_consent_box_and_opts_them_out_in_the_browser,
);

async fn set_policy(owner: &Member, community: &str, question: &str, minimum: i64) {
    owner
        .put(
            &format!("/api/v1/communities/{community}/age-policy"),
            json!({ "age_question": question, "minimum_age": minimum }),
        )
        .await
        .expect_status(200);
}

async fn join_with(member: &Member, community: &str, age: Value) -> crate::harness::Resp {
    member
        .post(
            &format!("/api/v1/communities/{community}/join"),
            json!({ "age": age }),
        )
        .await
}

async fn user_id(server: &TestServer, name: &str) -> i64 {
    count(
        server,
        &format!("SELECT id FROM users WHERE username = '{name}'"),
    )
    .await
}

/// A birth date `years` years and a day ago.
fn born_years_ago(years: i32) -> String {
    let today = Timestamp::now().to_datetime().date();
    let date = today
        .replace_year(today.year() - years)
        .unwrap_or(today)
        .previous_day()
        .unwrap();
    date.to_string()
}

async fn a_join_refused_for_age_keeps_nothing_and_teens_consent_themselves(backend: Backend) {
    let server = TestServer::start(backend).await;
    let olga = server.member("olga").await;
    let guild = olga.create_community("guild").await;

    // The policy: read by whoever may join; set by admins; a minimum needs a question.
    let policy = format!("/api/v1/communities/{guild}/age-policy");
    assert_eq!(
        server
            .anonymous()
            .get(&policy)
            .await
            .expect_status(200)
            .body,
        json!({ "age_question": "none", "minimum_age": 0 })
    );
    olga.put(
        &policy,
        json!({ "age_question": "none", "minimum_age": 13 }),
    )
    .await
    .expect_problem(422, "validation");
    olga.put(
        &policy,
        json!({ "age_question": "bracket", "minimum_age": 12 }),
    )
    .await
    .expect_problem(422, "validation");
    let ada = server.member("ada").await;
    ada.put(
        &policy,
        json!({ "age_question": "bracket", "minimum_age": 13 }),
    )
    .await
    .expect_problem(404, "not-found");
    set_policy(&olga, &guild, "bracket", 13).await;
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'community.age_policy_changed'"
        )
        .await,
        1
    );

    // Under 13 here: refused, and nothing of it is kept, not even in the audit log.
    let kid = server.member("kid").await;
    let kid_id = user_id(&server, "kid").await;
    let audit_before = count(&server, "SELECT COUNT(*) FROM audit_log").await;
    join_with(
        &kid,
        &guild,
        json!({ "age_group": "under_13", "parent_email": "mum@example.net" }),
    )
    .await
    .expect_problem(403, "forbidden");
    join_with(&kid, &guild, json!({}))
        .await
        .expect_problem(422, "validation");
    assert_eq!(
        count(&server, "SELECT COUNT(*) FROM audit_log").await,
        audit_before
    );
    assert_eq!(
        count(
            &server,
            &format!("SELECT COUNT(*) FROM community_members WHERE user_id = {kid_id}")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &server,
            &format!(
                "SELECT COUNT(*) FROM account_links WHERE user_id = {kid_id} \
                 AND purpose LIKE 'parental%'"
            )
        )
        .await,
        0
    );

    // 13 to 15: their own consent is needed, and they are opted out of sale and sharing.
    let tess = server.member("tess").await;
    let tess_id = user_id(&server, "tess").await;
    join_with(&tess, &guild, json!({ "age_group": "13_15" }))
        .await
        .expect_problem(422, "validation");
    let joined = join_with(
        &tess,
        &guild,
        json!({ "age_group": "13_15", "consent": true }),
    )
    .await
    .expect_status(201);
    assert_eq!(joined.body, json!({ "status": "joined", "role": "member" }));
    assert_eq!(
        count(
            &server,
            &format!(
                "SELECT COUNT(*) FROM community_members WHERE user_id = {tess_id} \
                 AND age_group = '13_15' AND minor_consent_at IS NOT NULL \
                 AND sale_opt_in_at IS NULL"
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &server,
            &format!(
                "SELECT COUNT(*) FROM users WHERE id = {tess_id} AND sale_opt_out_at IS NOT NULL"
            )
        )
        .await,
        1
    );
    let privacy = tess.get("/api/v1/me/privacy").await.expect_status(200);
    assert_eq!(privacy.body["sale_opt_out"], true, "{}", privacy.body);
    for action in ["consent.minor_consented", "consent.minor_opted_out"] {
        assert_eq!(
            count(&server, &format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND actor_id = {tess_id}")).await,
            1,
            "{action}"
        );
    }

    // One who allows sale and sharing themself is not opted out; the opt-in is recorded.
    let theo = server.member("theo").await;
    let theo_id = user_id(&server, "theo").await;
    join_with(
        &theo,
        &guild,
        json!({ "age_group": "13_15", "consent": true, "allow_sale": true }),
    )
    .await
    .expect_status(201);
    assert_eq!(
        count(
            &server,
            &format!("SELECT COUNT(*) FROM users WHERE id = {theo_id} AND sale_opt_out_at IS NULL")
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'consent.minor_opted_in'"
        )
        .await,
        1
    );

    // Adults join with nothing more; the birth date is never stored, only the group.
    set_policy(&olga, &guild, "birth_date", 18).await;
    let sam = server.member("sam").await;
    join_with(&sam, &guild, json!({ "birth_date": born_years_ago(17) }))
        .await
        .expect_problem(403, "forbidden");
    join_with(&sam, &guild, json!({ "birth_date": "2000-02-30" }))
        .await
        .expect_problem(422, "validation");
    let birth = born_years_ago(30);
    join_with(&sam, &guild, json!({ "birth_date": birth }))
        .await
        .expect_status(201);
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM community_members WHERE age_group = '18_plus'"
        )
        .await,
        1
    );
    let statement = server
        .anonymous()
        .get(&format!("/api/v1/communities/{guild}/privacy-statement"))
        .await
        .expect_status(200);
    let text = statement.body["markdown"].as_str().unwrap();
    assert!(text.contains("admits members aged 18 and over"), "{text}");
}

async fn a_child_under_13_joins_once_a_parent_consents_by_mail(backend: Backend) {
    let server = TestServer::start(backend).await;
    let olga = server.member("olga").await;
    let guild = olga.create_community("guild").await;
    set_policy(&olga, &guild, "birth_date", 0).await;
    let kid = server.member("kid").await;
    let kid_id = user_id(&server, "kid").await;
    let born = born_years_ago(10);

    // A parent's address is asked (not one an account here uses, such as the child's own);
    // then they are mailed, and the child is not a member yet.
    join_with(&kid, &guild, json!({ "birth_date": born }))
        .await
        .expect_problem(422, "validation");
    join_with(
        &kid,
        &guild,
        json!({ "birth_date": born, "parent_email": "KID@example.org" }),
    )
    .await
    .expect_problem(422, "validation");
    let asked = join_with(
        &kid,
        &guild,
        json!({ "birth_date": born, "parent_email": "mum@example.net" }),
    )
    .await
    .expect_status(202);
    assert_eq!(
        asked.body,
        json!({ "status": "awaiting_parent", "role": null })
    );
    assert_eq!(
        count(
            &server,
            &format!("SELECT COUNT(*) FROM community_members WHERE user_id = {kid_id}")
        )
        .await,
        0
    );
    server
        .app()
        .run_due_jobs("test-runner", Timestamp::now())
        .await
        .unwrap();
    let mails = mails_to(&mails_in(&server.config.outbox_path()), "mum@example.net");
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].header("Subject").contains("kid to join guild"),
        "{:?}",
        mails[0]
    );
    let path = format!("/parental-consent/{guild}");
    let token = mails[0].token_for(&path).unwrap();

    // The parent's page names the child and the community; the link works once.
    let page = server
        .anonymous()
        .http
        .get(format!("{}{path}?token={token}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("kid") && html.contains("guild"), "{html}");
    // The parent reads the community's statement on the page itself, whoever may read it
    // elsewhere.
    assert!(html.contains("<summary>The privacy statement of guild</summary>"));
    assert!(
        html.contains("<h1>Privacy statement of guild</h1>"),
        "{html}"
    );
    let answer = |token: String, answer: &'static str| {
        let http = server.anonymous().http;
        let url = format!("{}{path}", server.base);
        async move {
            http.post(url)
                .form(&[("token", token.as_str()), ("answer", answer)])
                .send()
                .await
                .unwrap()
        }
    };
    // The parent, signed in nowhere, consents in their browser.
    let browser = Browser::start().await;
    browser
        .open(&server, &format!("{path}?token={token}"))
        .await;
    browser.wait_for_text("h1", "Your consent for kid").await;
    browser
        .screenshots(&format!("parental-consent-{backend:?}").to_lowercase())
        .await;
    browser.assert_accessible("a parent's consent").await;
    browser.click("button[value=consent]").await;
    browser
        .wait_for_text("p.notice", "your consent is recorded")
        .await;
    browser
        .screenshots(&format!("parental-consented-{backend:?}").to_lowercase())
        .await;
    assert_eq!(answer(token, "consent").await.status(), 400);
    assert_eq!(
        count(&server, &format!("SELECT COUNT(*) FROM parental_consents WHERE user_id = {kid_id} AND parent_email = 'mum@example.net'")).await,
        1
    );

    // Now the child joins; under 13, they are opted out of sale and sharing.
    join_with(&kid, &guild, json!({ "birth_date": born }))
        .await
        .expect_status(201);
    assert_eq!(
        count(&server, &format!("SELECT COUNT(*) FROM community_members WHERE user_id = {kid_id} AND age_group = 'under_13'")).await,
        1
    );
    assert_eq!(
        count(
            &server,
            &format!(
                "SELECT COUNT(*) FROM users WHERE id = {kid_id} AND sale_opt_out_at IS NOT NULL"
            )
        )
        .await,
        1
    );
    for action in [
        "consent.parental_requested",
        "consent.parental_given",
        "consent.minor_opted_out",
    ] {
        assert_eq!(
            count(
                &server,
                &format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'")
            )
            .await,
            1,
            "{action}"
        );
    }
    // The child cannot allow sale or sharing themself, nor grow older elsewhere.
    kid.put(
        "/api/v1/me/privacy",
        json!({ "sale_opt_out": false, "confirm": true }),
    )
    .await
    .expect_problem(403, "forbidden");
    let other = olga.create_community("other").await;
    set_policy(&olga, &other, "bracket", 13).await;
    join_with(&kid, &other, json!({ "age_group": "18_plus" }))
        .await
        .expect_problem(422, "validation");
    // The consent is in the child's copy of their data.
    let copy = whole_copy_text(&server, &kid, "kid").await;
    assert!(
        copy.contains("mum@example.net"),
        "the parent's consent is not in the copy"
    );
    // Admitting no more children later does not hide from the statement the consent held
    // for one who joined before.
    set_policy(&olga, &guild, "birth_date", 13).await;
    let template = olga
        .get(&format!(
            "/api/v1/communities/{guild}/privacy-statement/template"
        ))
        .await
        .expect_status(200)
        .str("markdown");
    assert!(template.contains("Your parent's consent"), "{template}");
    assert!(template.contains("Children under 13 who joined earlier"));
    set_policy(&olga, &guild, "birth_date", 0).await;

    // The parent was mailed a link that withdraws the consent: the child's account goes.
    server
        .app()
        .run_due_jobs("test-runner", Timestamp::now())
        .await
        .unwrap();
    let mails = mails_to(&mails_in(&server.config.outbox_path()), "mum@example.net");
    let withdraw_path = format!("{path}/withdraw");
    let confirmation = mails
        .iter()
        .find(|m| m.token_for(&withdraw_path).is_some())
        .expect("no mail confirms the consent");
    assert!(
        confirmation
            .header("Subject")
            .contains("You consented to kid joining guild")
    );
    let withdraw_token = confirmation.token_for(&withdraw_path).unwrap();
    // The link of another community withdraws nothing.
    server
        .anonymous()
        .get(&format!(
            "/parental-consent/{other}/withdraw?token={withdraw_token}"
        ))
        .await
        .expect_status(400);
    // A child owns no community: they cannot create one, nor be handed one.
    kid.post(
        "/api/v1/communities",
        json!({ "slug": "kidclub", "name": "Kid club" }),
    )
    .await
    .expect_problem(403, "forbidden");
    olga.post(
        &format!("/api/v1/communities/{guild}/transfer"),
        json!({ "user_id": kid_id.to_string() }),
    )
    .await
    .expect_problem(403, "forbidden");
    // Only the link's hash is stored.
    assert_eq!(
        count(
            &server,
            &format!("SELECT COUNT(*) FROM parental_consents WHERE user_id = {kid_id}")
        )
        .await,
        1
    );
    browser
        .open(&server, &format!("{withdraw_path}?token={withdraw_token}"))
        .await;
    browser.wait_for_text("h1", "Your consent for kid").await;
    // The parent has a copy of the child's data made, and downloads it.
    browser.click("form[action$='/copy'] button").await;
    browser
        .wait_for_text("p.notice", "Your copy is listed below")
        .await;
    server
        .app()
        .run_due_jobs("test-runner", Timestamp::now())
        .await
        .unwrap();
    let download = |id: i64, token: &str| {
        let url = format!("{}{path}/copies/{id}?token={token}", server.base);
        let http = server.anonymous().http;
        async move { http.get(url).send().await.unwrap() }
    };
    let copy = count(
        &server,
        "SELECT e.id FROM exports e JOIN privacy_requests r ON r.id = e.request_id \
         WHERE r.manner = 'parent' AND e.state = 'ready'",
    )
    .await;
    // The child's own copy (made above) is not the parent's to download.
    let own = count(
        &server,
        "SELECT e.id FROM exports e JOIN privacy_requests r ON r.id = e.request_id \
         WHERE r.manner <> 'parent'",
    )
    .await;
    assert_eq!(download(own, &withdraw_token).await.status(), 404);
    let zip = download(copy, &withdraw_token).await;
    assert_eq!(zip.status(), 200);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    assert_eq!(download(copy, "not-the-link").await.status(), 400);
    // Asking again within the day answers with that copy: no new request, no new file.
    let again = server
        .anonymous()
        .http
        .post(format!("{}{path}/copy", server.base))
        .form(&[("token", withdraw_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM privacy_requests WHERE manner = 'parent' AND kind = 'access'"
        )
        .await,
        1
    );
    // The child is told; the audit entry names no actor, since the child did not ask.
    server
        .app()
        .run_due_jobs("test-runner", Timestamp::now())
        .await
        .unwrap();
    let told = mails_to(&mails_in(&server.config.outbox_path()), "kid@example.org");
    assert!(
        told.iter()
            .any(|m| m.header("Subject").contains("made for your parent")),
        "the child is not told"
    );
    let unsigned = "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.copy_requested' \
                    AND actor_id IS NULL";
    assert_eq!(count(&server, unsigned).await, 1);
    browser
        .open(&server, &format!("{withdraw_path}?token={withdraw_token}"))
        .await;
    browser.wait_for_text("main", "ready to download").await;
    browser
        .screenshots(&format!("parental-withdraw-{backend:?}").to_lowercase())
        .await;
    browser.assert_accessible("a parent's withdrawal").await;
    browser.click("form[action$='/withdraw'] button").await;
    browser
        .wait_for_text("p.notice", "Your consent is withdrawn")
        .await;
    assert_eq!(
        count(
            &server,
            &format!("SELECT COUNT(*) FROM users WHERE id = {kid_id}")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM privacy_requests WHERE manner = 'parent' AND kind = 'delete'"
        )
        .await,
        1
    );
    let withdrawn = "SELECT COUNT(*) FROM audit_log WHERE action = 'consent.parental_withdrawn'";
    assert_eq!(count(&server, withdrawn).await, 1);
    browser
        .open(&server, &format!("{withdraw_path}?token={withdraw_token}"))
        .await;
    browser.wait_for_text("main", "expired").await;

    // Another parent refuses: nothing is kept of the request but the audit entry.
    let kim = server.member("kim").await;
    let kim_id = user_id(&server, "kim").await;
    join_with(
        &kim,
        &guild,
        json!({ "birth_date": born, "parent_email": "dad@example.net" }),
    )
    .await
    .expect_status(202);
    server
        .app()
        .run_due_jobs("test-runner", Timestamp::now())
        .await
        .unwrap();
    let mails = mails_to(&mails_in(&server.config.outbox_path()), "dad@example.net");
    let token = mails[0].token_for(&path).unwrap();
    let refused = answer(token, "refuse").await;
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Nothing of the request is kept but the audit log")
    );
    for (table, only) in [
        ("parental_consents", "TRUE"),
        ("account_links", "purpose LIKE 'parental%'"),
        ("community_members", "TRUE"),
    ] {
        assert_eq!(
            count(
                &server,
                &format!("SELECT COUNT(*) FROM {table} WHERE user_id = {kim_id} AND {only}")
            )
            .await,
            0,
            "{table}"
        );
    }
    // Asking a parent again within the minute is refused: the address is the child's to type.
    join_with(
        &kim,
        &guild,
        json!({ "birth_date": born, "parent_email": "dad@example.net" }),
    )
    .await
    .expect_problem(429, "rate-limited");
    // One address has at most five requests waiting, whatever the children asking.
    for n in 0..6 {
        let child = server.member(&format!("child{n}")).await;
        let asked = join_with(
            &child,
            &guild,
            json!({ "birth_date": born, "parent_email": "Busy@example.net" }),
        )
        .await;
        if n < 5 {
            asked.expect_status(202);
        } else {
            asked.expect_problem(429, "rate-limited");
        }
    }
}

async fn a_14_year_olds_join_waits_for_the_consent_box_and_opts_them_out_in_the_browser(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let olga = server.member("olga").await;
    let guild = olga.create_community("guild").await;
    set_policy(&olga, &guild, "birth_date", 13).await;
    let _tess = server.member("tess").await;
    let tess_id = user_id(&server, "tess").await;
    let shots = |name: &str| format!("{name}-{backend:?}").to_lowercase();
    let browser = Browser::start().await;

    browser.sign_in(&server, "tess").await;
    browser
        .open(&server, &format!("/communities/{guild}"))
        .await;
    browser.wait_for_text("legend", "Your age").await;
    // Nothing is ticked for her.
    for name in ["minor_consent", "allow_sale"] {
        let ticked = browser
            .find(&format!("input[name={name}]"))
            .await
            .is_selected()
            .await
            .unwrap();
        assert!(!ticked, "{name} is ticked already");
    }
    browser.screenshots(&shots("join-ages")).await;
    browser
        .assert_accessible("a join form that asks the age")
        .await;
    browser.set_value("#birth_date", &born_years_ago(14)).await;
    browser
        .click("form[action$='/join'] button[type=submit]")
        .await;
    browser.wait_for_text("p.error", "consent").await;
    assert_eq!(
        count(
            &server,
            &format!("SELECT COUNT(*) FROM community_members WHERE user_id = {tess_id}")
        )
        .await,
        0
    );
    browser.screenshots(&shots("join-consent-missing")).await;

    // Ticking the box lets her in, opted out of sale and sharing.
    browser.set_value("#birth_date", &born_years_ago(14)).await;
    browser.click("input[name=minor_consent]").await;
    browser
        .click("form[action$='/join'] button[type=submit]")
        .await;
    browser.wait_for_text("main", "#general").await;
    assert_eq!(
        count(&server, &format!("SELECT COUNT(*) FROM community_members WHERE user_id = {tess_id} AND age_group = '13_15' AND minor_consent_at IS NOT NULL")).await,
        1
    );
    assert_eq!(
        count(
            &server,
            &format!(
                "SELECT COUNT(*) FROM users WHERE id = {tess_id} AND sale_opt_out_at IS NOT NULL"
            )
        )
        .await,
        1
    );
    browser.open(&server, "/privacy").await;
    browser.wait_for_text("h1", "privacy").await;
    browser.screenshots(&shots("minor-privacy")).await;

    // Refused for her age elsewhere, going back to give an older one meets the same refusal
    // in this browser: the browser keeps it, Hearth keeps nothing.
    let older = olga.create_community("older").await;
    set_policy(&olga, &older, "birth_date", 16).await;
    for years in [14, 17] {
        browser
            .open(&server, &format!("/communities/{older}"))
            .await;
        browser.wait_for_text("legend", "Your age").await;
        browser
            .set_value("#birth_date", &born_years_ago(years))
            .await;
        browser
            .click("form[action$='/join'] button[type=submit]")
            .await;
        browser
            .wait_for_text("p.error", "does not admit members of your age")
            .await;
    }
    let joined = format!(
        "SELECT COUNT(*) FROM community_members WHERE user_id = {tess_id} AND community_id = {older}"
    );
    assert_eq!(count(&server, &joined).await, 0);
}
