//! Sign-in with an identity provider, in Chromium, against a real OpenID Connect provider on
//! loopback (npm's oidc-provider, `scripts/oidc-provider.mjs`): the first sign-in makes an
//! account, the next finds it again, an account here with the same confirmed address is
//! linked, and an address the provider did not confirm is refused.

use crate::browser::Browser;
use crate::harness::{Backend, TestServer, on_both_backends, password_of};
use crate::mail::mails_in;
use hearth_core::Timestamp;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

on_both_backends!(people_sign_in_with_an_identity_provider);

/// The test provider, ended on drop.
struct Provider {
    child: Child,
    issuer: String,
    /// Kept open: a provider whose output pipe closed would stop at its next line.
    _output: BufReader<std::process::ChildStdout>,
    _log: tempfile::NamedTempFile,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Provider {
    fn start(redirect: &str) -> Provider {
        let modules = std::env::var("HEARTH_OIDC_MODULES").unwrap_or_else(|_| {
            panic!("HEARTH_OIDC_MODULES is not set: run the suite with scripts/test")
        });
        let port = free_port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../scripts/oidc-provider.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .arg(port.to_string())
            .arg(redirect)
            .env("HEARTH_OIDC_MODULES", modules)
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the test identity provider: {e}"));
        let mut line = String::new();
        let mut output = BufReader::new(child.stdout.take().unwrap());
        output.read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the test identity provider did not start"
        );
        Provider {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
            _output: output,
            _log: log,
        }
    }
}

/// Signs in at the provider's development login form as `login`, and consents.
async fn through_provider(browser: &Browser, login: &str) {
    // The click that led here returns before the provider's page has loaded.
    for _ in 0..100 {
        if browser.path().await.starts_with("/interaction/") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.fill("input[name=login]", login).await;
    browser.fill("input[name=password]", "anything").await;
    browser.click("button[type=submit]").await;
    // The consent page asks once per account and client.
    browser.wait_for_text("body", "Continue").await;
    browser.click("button[type=submit]").await;
}

async fn people_sign_in_with_an_identity_provider(backend: Backend) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let provider = Provider::start(&format!("{base}/sign-in/oidc/callback"));
    let issuer = provider.issuer.clone();
    let server = TestServer::start_with(backend, |c| {
        c.listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.public_url = base.clone();
        c.oidc_issuer = issuer;
        c.oidc_client_id = "hearth".into();
        c.oidc_client_secret = "hearth-test-secret".into();
        c.oidc_name = "Test Provider".into();
    })
    .await;
    let shots = |name: &str| format!("{name}-{backend:?}").to_lowercase();

    // A newcomer: the provider vouches for kim, and an account is made for her.
    let browser = Browser::start().await;
    browser.open(&server, "/sign-in").await;
    browser.screenshots(&shots("sign-in-with-provider")).await;
    browser
        .assert_accessible("the sign-in page with a provider")
        .await;
    browser.click("form[action='/sign-in/oidc'] button").await;
    through_provider(&browser, "kim").await;
    browser.wait_for_text("h1", "My communities").await;
    assert_eq!(
        browser.text("a.me").await,
        "kim from the provider",
        "the display name comes from the provider"
    );
    let kim = server
        .app()
        .store()
        .reader()
        .await
        .unwrap()
        .conn()
        .count_unchecked(
            "SELECT COUNT(*) FROM users WHERE username = 'kim' AND email = 'kim@idp.example' \
             AND email_verified_at IS NOT NULL"
                .into(),
        )
        .await
        .unwrap();
    assert_eq!(kim, 1);
    // Signing out and in again finds the same account (the provider remembers her too).
    browser.sign_out().await;
    browser.open(&server, "/sign-in").await;
    browser.click("form[action='/sign-in/oidc'] button").await;
    browser.wait_for_text("h1", "My communities").await;
    let mut reader = server.app().store().reader().await.unwrap();
    let count = |sql: &str| sql.to_string();
    assert_eq!(
        reader
            .conn()
            .count_unchecked(count(
                "SELECT COUNT(*) FROM users WHERE email LIKE '%@idp.example'"
            ))
            .await
            .unwrap(),
        1
    );
    drop(reader);
    drop(browser);

    // Someone here already, with the same confirmed address: the account is linked.
    let anon = server.anonymous();
    anon.post(
        "/api/v1/accounts",
        json!({ "email": "lee@idp.example", "username": "lee-here", "display_name": "Lee",
                "password": password_of("lee") }),
    )
    .await
    .expect_status(202);
    server
        .app()
        .run_due_jobs("test-runner", Timestamp::now())
        .await
        .unwrap();
    let token = mails_in(&server.config.outbox_path())
        .iter()
        .find_map(|m| m.token_for("/verify-email"))
        .unwrap();
    anon.post("/api/v1/email-confirmations", json!({ "token": token }))
        .await
        .expect_status(200);
    let browser = Browser::start().await;
    browser.open(&server, "/sign-in").await;
    browser.click("form[action='/sign-in/oidc'] button").await;
    through_provider(&browser, "lee").await;
    browser.wait_for_text("h1", "My communities").await;
    assert_eq!(
        browser.text("a.me").await,
        "Lee",
        "the account here, not a new one"
    );
    // The owner is told of the link, and can undo it.
    server
        .app()
        .run_due_jobs("test-runner", Timestamp::now())
        .await
        .unwrap();
    assert!(
        mails_in(&server.config.outbox_path())
            .iter()
            .any(|m| m.header("To").contains("lee@idp.example")
                && m.header("Subject").contains("single sign-on"))
    );
    browser.open(&server, "/settings").await;
    let section = browser.text("#sso-heading + ul").await;
    assert!(section.contains("Test Provider"), "{section}");
    browser.screenshots(&shots("settings-single-sign-on")).await;
    browser
        .assert_accessible("the settings page with single sign-on")
        .await;
    browser
        .click("form[action='/settings/identities/unlink'] button")
        .await;
    browser.wait_for_text(".notice", "no longer linked").await;
    drop(browser);
    // Unlinked for good: the same identity at the provider does not link it again.
    let browser = Browser::start().await;
    browser.open(&server, "/sign-in").await;
    browser.click("form[action='/sign-in/oidc'] button").await;
    through_provider(&browser, "lee").await;
    browser
        .wait_for_text("[role=alert]", "sign in with its password")
        .await;
    drop(browser);

    // An address the provider did not confirm finds and makes nothing.
    let browser = Browser::start().await;
    browser.open(&server, "/sign-in").await;
    browser.click("form[action='/sign-in/oidc'] button").await;
    through_provider(&browser, "unverified-uma").await;
    browser
        .wait_for_text("[role=alert]", "did not confirm your email address")
        .await;
    browser
        .screenshots(&shots("sign-in-provider-refused"))
        .await;

    let mut reader = server.app().store().reader().await.unwrap();
    let mut conn = reader.conn();
    assert_eq!(
        conn.count_unchecked("SELECT COUNT(*) FROM external_identities".into())
            .await
            .unwrap(),
        1,
        "kim's link stays; lee unlinked hers"
    );
    assert_eq!(
        conn.count_unchecked(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'account.identity_linked'".into()
        )
        .await
        .unwrap(),
        2
    );
}
