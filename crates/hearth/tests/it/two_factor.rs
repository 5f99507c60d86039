//! Two-factor sign-in through the API: set up with a code the test computes as an
//! authenticator app would (for a time it chooses), sign-in asking for it, codes that work
//! once, recovery codes, and turning it off.

use crate::harness::{Backend, Client, TestServer, on_both_backends, password_of};
use serde_json::{Value, json};

on_both_backends!(
    two_factor_sign_in_takes_a_current_code_once_or_a_recovery_code_once,
    a_browser_sets_up_two_factor_sign_in_and_signs_in_with_a_code,
);

/// The code an authenticator holding `secret` (base32) shows `offset_secs` from now.
pub fn code_at(secret: &str, offset_secs: i64) -> String {
    let seed = totp_rs::Secret::try_from_base32(secret.replace(' ', ""))
        .unwrap()
        .as_ref()
        .to_vec();
    let totp = totp_rs::Builder::new().with_secret(seed).build().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    totp.generate((now + offset_secs) as u64).to_string()
}

async fn sign_in_with(anon: &Client, name: &str, code: Option<&str>) -> crate::harness::Resp {
    let mut body = json!({ "login": name, "password": password_of(name) });
    if let Some(code) = code {
        body["code"] = Value::from(code);
    }
    anon.post("/api/v1/sessions", body).await
}

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

async fn two_factor_sign_in_takes_a_current_code_once_or_a_recovery_code_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let gus = server.member("gus").await;
    let anon = server.anonymous();

    // Setting up asks for the password, and guards nothing until a code confirms it.
    gus.post(
        "/api/v1/me/two-factor",
        json!({ "password": "not gus's password" }),
    )
    .await
    .expect_problem(422, "validation");
    let setup = gus
        .post(
            "/api/v1/me/two-factor",
            json!({ "password": password_of("gus") }),
        )
        .await
        .expect_status(201);
    let secret = setup.str("secret");
    assert!(
        setup
            .str("otpauth_url")
            .starts_with("otpauth://totp/Hearth:gus?")
    );
    assert!(
        setup
            .str("otpauth_url")
            .contains(&format!("secret={secret}"))
    );
    sign_in_with(&anon, "gus", None).await.expect_status(201);
    // The seed is stored encrypted: the base32 secret is not in the database.
    if backend == Backend::Sqlite {
        let db = std::fs::read(server.config.data_dir.join("hearth.db")).unwrap_or_default();
        let wal = std::fs::read(server.config.data_dir.join("hearth.db-wal")).unwrap_or_default();
        let seed = totp_rs::Secret::try_from_base32(&secret)
            .unwrap()
            .as_ref()
            .to_vec();
        for bytes in [db, wal] {
            assert!(!bytes.windows(seed.len()).any(|w| w == seed.as_slice()));
        }
    }

    gus.post("/api/v1/me/two-factor/confirm", json!({ "code": "000000" }))
        .await
        .expect_problem(422, "validation");
    let now = code_at(&secret, 0);
    let confirmed = gus
        .post("/api/v1/me/two-factor/confirm", json!({ "code": now }))
        .await
        .expect_status(200);
    let recovery: Vec<String> = confirmed.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(recovery.len(), 10);
    let status = gus.get("/api/v1/me/two-factor").await.expect_status(200);
    assert_eq!(status.body["enabled"], true);
    assert_eq!(status.body["recovery_codes_left"], 10);

    // Now the password alone is not enough.
    sign_in_with(&anon, "gus", None)
        .await
        .expect_problem(401, "two-factor-required");
    // The code that confirmed the setup was used: it does not work again.
    sign_in_with(&anon, "gus", Some(&now))
        .await
        .expect_problem(422, "validation");
    // A code from a minute and a half ago is too old.
    sign_in_with(&anon, "gus", Some(&code_at(&secret, -90)))
        .await
        .expect_problem(422, "validation");
    // The next step's code (the authenticator's clock a little ahead) works, once.
    let next = code_at(&secret, 30);
    sign_in_with(&anon, "gus", Some(&next))
        .await
        .expect_status(201);
    sign_in_with(&anon, "gus", Some(&next))
        .await
        .expect_problem(422, "validation");
    // A wrong password with a right code is still a wrong password.
    anon.post(
        "/api/v1/sessions",
        json!({ "login": "gus", "password": "wrong password!!", "code": code_at(&secret, 30) }),
    )
    .await
    .expect_problem(401, "bad-credentials");

    // A recovery code signs in once, typed any way.
    let typed = recovery[0].to_uppercase().replace('-', " ");
    sign_in_with(&anon, "gus", Some(&typed))
        .await
        .expect_status(201);
    sign_in_with(&anon, "gus", Some(&recovery[0]))
        .await
        .expect_problem(422, "validation");
    let status = gus.get("/api/v1/me/two-factor").await;
    assert_eq!(status.body["recovery_codes_left"], 9);

    // New codes replace the old.
    let renewed = gus
        .post(
            "/api/v1/me/two-factor/recovery-codes",
            json!({ "password": password_of("gus"), "code": recovery[2] }),
        )
        .await
        .expect_status(200);
    let renewed: Vec<String> = renewed.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    sign_in_with(&anon, "gus", Some(&recovery[1]))
        .await
        .expect_problem(422, "validation");

    // Turning it off needs the password and a code. (Each try checks the password, and an
    // account may try that five times a minute: this test has used four.)
    gus.post(
        "/api/v1/me/two-factor/disable",
        json!({ "password": password_of("gus"), "code": "000000" }),
    )
    .await
    .expect_problem(422, "validation");
    gus.post(
        "/api/v1/me/two-factor/disable",
        json!({ "password": password_of("gus"), "code": renewed[0] }),
    )
    .await
    .expect_status(204);
    sign_in_with(&anon, "gus", None).await.expect_status(201);
    assert_eq!(
        gus.get("/api/v1/me/two-factor").await.body["enabled"],
        false
    );
    for (code, times) in [
        ("account.two_factor_enabled", 1),
        ("account.two_factor_disabled", 1),
        ("account.recovery_codes_renewed", 1),
        ("account.recovery_code_used", 3),
    ] {
        assert_eq!(audited(&server, code).await, times, "{code}");
    }
}

async fn a_browser_sets_up_two_factor_sign_in_and_signs_in_with_a_code(backend: Backend) {
    use crate::browser::Browser;
    let server = TestServer::start(backend).await;
    server.member("hal").await;
    let browser = Browser::start().await;
    let shots = |name: &str| format!("{name}-{backend:?}").to_lowercase();
    browser.sign_in(&server, "hal").await;
    browser.open(&server, "/settings").await;
    browser.fill("#tf_password", &password_of("hal")).await;
    browser
        .click("form[action='/settings/two-factor'] button")
        .await;
    browser.wait_for_path("/settings/two-factor").await;
    assert!(browser.find(".qr svg").await.is_displayed().await.unwrap());
    let secret = browser.text(".secret").await;
    browser.screenshots(&shots("two-factor-setup")).await;
    browser.assert_accessible("the two-factor setup page").await;
    // A wrong code keeps the setup page, saying why.
    browser.fill("#code", "000000").await;
    browser.click("form.stack button[type=submit]").await;
    browser
        .wait_for_text("[role=alert]", "is not the current code")
        .await;
    browser.fill("#code", &code_at(&secret, 0)).await;
    browser.click("form.stack button[type=submit]").await;
    browser.wait_for_text("h1", "Your recovery codes").await;
    let codes = browser.text("ul.codes").await;
    assert_eq!(codes.lines().count(), 10, "{codes}");
    browser.screenshots(&shots("recovery-codes")).await;
    browser.assert_accessible("the recovery codes page").await;

    // Signing in now asks for the code on a page of its own.
    browser.sign_out().await;
    browser.open(&server, "/sign-in").await;
    browser.fill("#login", "hal").await;
    browser.fill("#password", &password_of("hal")).await;
    browser.click("form.stack button[type=submit]").await;
    browser.wait_for_text("h1", "Two-factor sign-in").await;
    browser.screenshots(&shots("sign-in-code")).await;
    browser.assert_accessible("the sign-in code page").await;
    browser.fill("#code", "123456").await;
    browser.click("form.stack button[type=submit]").await;
    browser.wait_for_text("[role=alert]", "Code").await;
    browser.fill("#code", &code_at(&secret, 30)).await;
    browser.click("form.stack button[type=submit]").await;
    browser.wait_for_text("h1", "My communities").await;
    browser.open(&server, "/settings").await;
    let section = browser.text("#two-factor-heading + p").await;
    assert!(
        section.contains("10 of 10 recovery codes left"),
        "{section}"
    );
}

on_both_backends!(a_community_may_require_a_second_factor_of_its_moderators_and_admins);

/// Turns two-factor sign-in on for `member`; returns the authenticator's secret.
async fn turn_on(member: &Client, name: &str) -> String {
    let setup = member
        .post(
            "/api/v1/me/two-factor",
            json!({ "password": password_of(name) }),
        )
        .await
        .expect_status(201);
    let secret = setup.str("secret");
    member
        .post(
            "/api/v1/me/two-factor/confirm",
            json!({ "code": code_at(&secret, 0) }),
        )
        .await
        .expect_status(200);
    secret
}

async fn a_community_may_require_a_second_factor_of_its_moderators_and_admins(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.member("ida").await;
    let admin = server.member("jon").await;
    let community = owner.create_community("guarded").await;
    admin.join(&community).await;
    owner
        .put(
            &format!("/api/v1/communities/{community}/members/{}/role", admin.id),
            json!({ "role": "admin" }),
        )
        .await
        .expect_status(204);
    let rule = format!("/api/v1/communities/{community}");
    let invites = format!("/api/v1/communities/{community}/invites");
    admin.post(&invites, json!({})).await.expect_status(201);

    // Only the owner sets the rule, and only with a second factor of their own.
    admin
        .patch(&rule, json!({ "require_two_factor": true }))
        .await
        .expect_problem(403, "forbidden");
    owner
        .patch(&rule, json!({ "require_two_factor": true }))
        .await
        .expect_problem(409, "conflict");
    turn_on(&owner, "ida").await;
    let set = owner
        .patch(&rule, json!({ "require_two_factor": true }))
        .await
        .expect_status(200);
    assert_eq!(set.body["require_two_factor"], true, "{}", set.body);

    // Without a second factor the admin acts as a member: they still talk, but their
    // admin powers wait.
    admin
        .post(&invites, json!({}))
        .await
        .expect_problem(403, "forbidden");
    let general = admin.general_channel(&community).await;
    admin.say(&general, "still here").await;
    // Nor can the community be handed to them, out of the rule's reach.
    owner
        .post(
            &format!("/api/v1/communities/{community}/transfer"),
            json!({ "user_id": admin.id }),
        )
        .await
        .expect_problem(409, "conflict");
    turn_on(&admin, "jon").await;
    admin.post(&invites, json!({})).await.expect_status(201);
    // The owner lifts the rule.
    owner
        .patch(&rule, json!({ "require_two_factor": false }))
        .await
        .expect_status(200);
}
