//! Mailed links in the browser: a newcomer is held to reading until they confirm their
//! address from the mail in the outbox, and a forgotten password is reset from the sign-in
//! page; screenshots of each page at phone and desktop widths.

use crate::browser::{Browser, DESKTOP};
use crate::harness::{Backend, TestServer, on_both_backends};
use crate::mail::mails_in;
use hearth::config::UnconfirmedAccountsMode;
use hearth_core::Timestamp;

on_both_backends!(a_newcomer_confirms_their_address_and_later_resets_a_forgotten_password);

/// Runs the due jobs (the mail) now.
async fn deliver(server: &TestServer) {
    server
        .app()
        .run_due_jobs("test-runner", Timestamp::now())
        .await
        .unwrap();
}

/// The secret of the newest outbox message's link to `path`.
async fn newest_link(server: &TestServer, path: &str) -> String {
    deliver(server).await;
    mails_in(&server.config.outbox_path())
        .iter()
        .rev()
        .find_map(|m| m.token_for(path))
        .unwrap_or_else(|| panic!("no mail with a link to {path}"))
}

async fn a_newcomer_confirms_their_address_and_later_resets_a_forgotten_password(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.unconfirmed_accounts = UnconfirmedAccountsMode::ReadOnly;
    })
    .await;
    let browser = Browser::start().await;
    let shots = |name: &str| format!("{name}-{backend:?}").to_lowercase();
    browser.open(&server, "/register").await;
    browser.fill("#email", "fern@example.org").await;
    browser.fill("#username", "fern").await;
    browser.fill("#display_name", "Fern").await;
    browser
        .fill("#password", &crate::harness::password_of("fern"))
        .await;
    browser.click("form.stack button[type=submit]").await;
    assert!(
        browser
            .text("[role=status]")
            .await
            .contains("we mailed a link to confirm the address")
    );
    browser.sign_in(&server, "fern").await;

    // Held to reading: the banner says why, and creating a community is refused.
    let banner = browser.text("p.banner").await;
    assert!(banner.contains("Confirm your email address"), "{banner}");
    browser.screenshots(&shots("unconfirmed-banner")).await;
    browser
        .assert_accessible("a page with the confirmation banner")
        .await;
    browser.fill("#name", "Fern's Garden").await;
    browser.fill("#slug", "ferns").await;
    browser.click("form.stack button[type=submit]").await;
    browser
        .wait_for_text("h1", "Email address not confirmed")
        .await;

    // The settings page sends the link again, once a minute.
    browser.open(&server, "/settings").await;
    assert!(
        browser
            .text("#email-heading + p")
            .await
            .contains("not confirmed")
    );
    browser
        .click("form[action='/settings/email/confirmation'] button")
        .await;
    browser
        .wait_for_text("[role=alert]", "Too many attempts")
        .await;
    browser
        .client
        .execute(
            "document.getElementById('email-heading').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    browser.screenshots(&shots("settings-email")).await;
    browser
        .assert_accessible("the settings page's email section")
        .await;

    // The link from the outbox opens a page with a button; the button confirms.
    let token = newest_link(&server, "/verify-email").await;
    browser
        .open(&server, &format!("/verify-email?token={token}"))
        .await;
    browser.screenshots(&shots("verify-email")).await;
    browser.assert_accessible("the confirmation page").await;
    browser.click("form[action='/verify-email'] button").await;
    browser
        .wait_for_text("[role=status]", "your address is confirmed")
        .await;
    browser.open(&server, "/communities").await;
    assert!(
        browser
            .client
            .find(fantoccini::Locator::Css("p.banner"))
            .await
            .is_err()
    );
    browser.fill("#name", "Fern's Garden").await;
    browser.fill("#slug", "ferns").await;
    browser.click("form.stack button[type=submit]").await;
    assert_eq!(browser.text("#channel-heading").await, "#general");
    // Used once, the link is spent.
    browser
        .open(&server, &format!("/verify-email?token={token}"))
        .await;
    browser.click("form[action='/verify-email'] button").await;
    browser
        .wait_for_text("main", "expired or has already been used")
        .await;

    // Signed out, "Forgot your password?" mails a link; the answer names nobody.
    browser.sign_out().await;
    browser.open(&server, "/sign-in").await;
    browser.click("a[href='/forgot-password']").await;
    browser.fill("#email", "fern@example.org").await;
    browser.screenshots(&shots("forgot-password")).await;
    browser
        .assert_accessible("the forgotten password page")
        .await;
    browser.click("form.stack button[type=submit]").await;
    browser
        .wait_for_text("[role=status]", "If an account here uses that address")
        .await;
    let token = newest_link(&server, "/reset-password").await;
    browser
        .open(&server, &format!("/reset-password?token={token}"))
        .await;
    browser.screenshots(&shots("reset-password")).await;
    browser.assert_accessible("the new password page").await;
    browser.fill("#password", "fern's new password").await;
    browser.click("form.stack button[type=submit]").await;
    browser
        .wait_for_text("[role=status]", "Your password is changed")
        .await;
    // The link is spent; the new password signs in.
    browser
        .open(&server, &format!("/reset-password?token={token}"))
        .await;
    browser
        .wait_for_text("main", "expired or has already been used")
        .await;
    browser.screenshots(&shots("reset-expired")).await;
    browser
        .client
        .set_window_size(DESKTOP.0, DESKTOP.1)
        .await
        .unwrap();
    browser.open(&server, "/sign-in").await;
    browser.fill("#login", "fern").await;
    browser.fill("#password", "fern's new password").await;
    browser.click("form.stack button[type=submit]").await;
    browser.wait_for_text("h1", "My communities").await;

    // "Your privacy choices", from the footer: opting out is one click, undoing it two.
    browser.click("a[href='/privacy']").await;
    browser.wait_for_text("h1", "Your privacy choices").await;
    browser
        .click("form[action='/privacy'] button.primary")
        .await;
    browser
        .wait_for_text("#sale-heading + p", "opted out")
        .await;
    browser.screenshots(&shots("privacy-choices")).await;
    browser.assert_accessible("the privacy choices page").await;
}
