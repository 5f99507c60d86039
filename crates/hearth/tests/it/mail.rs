//! Mail, and what mailed links prove: address confirmation at registration and on a change
//! of address, password reset, and the rule for unconfirmed accounts. Mail is read back from
//! the file outbox, or from a real SMTP server (aiosmtpd, `scripts/smtp-sink.py`) on
//! loopback.

use crate::harness::{Backend, Client, TestServer, on_both_backends, password_of};
use crate::requests::count;
use hearth::config::{SmtpTlsMode, UnconfirmedAccountsMode};
use hearth_app::JobOutcome;
use hearth_core::Timestamp;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

on_both_backends!(
    registration_mails_a_link_to_the_outbox_that_confirms_the_address_once,
    a_password_is_reset_through_smtp_and_the_form_tells_nobody_who_is_registered,
    a_change_of_address_is_confirmed_at_the_new_one_and_the_old_one_is_told,
    an_instance_may_keep_unconfirmed_accounts_from_signing_in,
);

/// A message as it arrived.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The whole message, with quoted-printable soft breaks and escapes undone.
    pub text: String,
}

impl Mail {
    fn read(path: &Path) -> Mail {
        let raw = std::fs::read_to_string(path).unwrap();
        Mail {
            text: unquote(&raw),
        }
    }

    /// The value of the first header `name`.
    pub fn header(&self, name: &str) -> String {
        let prefix = format!("{}:", name.to_lowercase());
        self.text
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
            .unwrap_or_default()
    }

    /// The secret of the first link to `path` the message carries.
    pub fn token_for(&self, path: &str) -> Option<String> {
        let start = self.text.find(&format!("{path}?token="))? + path.len() + 7;
        Some(
            self.text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect(),
        )
    }
}

/// Undoes quoted-printable encoding (a no-op on 7-bit text).
fn unquote(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The messages in a folder of `.eml` files, oldest name first.
pub fn mails_in(dir: &Path) -> Vec<Mail> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.iter().map(|p| Mail::read(p)).collect()
}

/// The messages to `address`.
pub fn mails_to(mails: &[Mail], address: &str) -> Vec<Mail> {
    mails
        .iter()
        .filter(|m| m.header("To").contains(address) || m.header("X-Sink-Rcpt") == address)
        .cloned()
        .collect()
}

/// A real SMTP server on loopback that keeps what it is sent (`scripts/smtp-sink.py`).
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start(extra: &[&str]) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp-sink.py");
        // scripts/test installs aiosmtpd in a Python of its own and names it here.
        let python = std::env::var("HEARTH_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .arg(script)
            .args(["--port", &port.to_string()])
            .arg("--dir")
            .arg(dir.path())
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the test SMTP server: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the test SMTP server did not start (is aiosmtpd installed? scripts/test installs it)"
        );
        SmtpSink { child, port, dir }
    }

    pub fn mails(&self) -> Vec<Mail> {
        mails_in(self.dir.path())
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs every due job now; returns their outcomes.
async fn deliver(server: &TestServer) -> Vec<JobOutcome> {
    server
        .app()
        .run_due_jobs("test-runner", Timestamp::now())
        .await
        .unwrap()
        .into_iter()
        .map(|run| run.outcome)
        .collect()
}

/// How many audit entries have the action `code`.
async fn audited(server: &TestServer, code: &str) -> i64 {
    count(
        server,
        &format!("SELECT COUNT(*) FROM audit_log WHERE action = '{code}'"),
    )
    .await
}

async fn register(anon: &Client, name: &str) {
    anon.post(
        "/api/v1/accounts",
        json!({
            "email": format!("{name}@example.org"),
            "username": name,
            "display_name": name,
            "password": password_of(name),
        }),
    )
    .await
    .expect_status(202);
}

async fn registration_mails_a_link_to_the_outbox_that_confirms_the_address_once(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.unconfirmed_accounts = UnconfirmedAccountsMode::ReadOnly;
        c.public_url = "https://chat.example.org".into();
    })
    .await;
    let anon = server.anonymous();
    register(&anon, "ann").await;
    let ann = anon.sign_in("ann", &password_of("ann")).await;
    assert_eq!(ann.get("/api/v1/me").await.body["email_verified"], false);
    // Held to reading: creating a community is refused until the address is confirmed, but
    // the account itself can be looked after.
    ann.post(
        "/api/v1/communities",
        json!({ "slug": "anns", "name": "Ann's" }),
    )
    .await
    .expect_problem(403, "email-unconfirmed");
    ann.patch("/api/v1/me", json!({ "display_name": "Ann A." }))
        .await
        .expect_status(200);
    // A page form goes by the session cookie alone: a bearer token beside it, working or
    // not, changes nothing.
    let crate::harness::Auth::Cookie(cookie) = &ann.auth else {
        unreachable!()
    };
    let page = crate::harness::http()
        .post(format!("{}/communities", server.base))
        .header("cookie", cookie)
        .header("authorization", "Bearer not-a-token")
        .header("sec-fetch-site", "same-origin")
        .form(&[("form_token", "x"), ("name", "Ann's"), ("slug", "anns")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 403);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Email address not confirmed")
    );

    // Nothing is sent until the job runs; then one message is in the outbox.
    let outbox = server.config.outbox_path();
    assert!(mails_in(&outbox).is_empty());
    assert_eq!(deliver(&server).await, vec![JobOutcome::Done]);
    let mails = mails_in(&outbox);
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert!(mail.header("To").contains("ann@example.org"), "{mail:?}");
    assert_eq!(mail.header("Subject"), "Confirm your email address");
    assert!(mail.text.contains("text/plain") && mail.text.contains("text/html"));
    assert!(
        mail.text
            .contains("https://chat.example.org/verify-email?token=")
    );
    let token = mail.token_for("/verify-email").unwrap();
    // The link's secret is nowhere in the database (only its hash is) and not in the job.
    assert_eq!(
        count(&server, "SELECT COUNT(*) FROM account_links").await,
        1
    );
    if backend == Backend::Sqlite {
        for file in ["hearth.db", "hearth.db-wal"] {
            let bytes = std::fs::read(server.config.data_dir.join(file)).unwrap_or_default();
            assert!(!String::from_utf8_lossy(&bytes).contains(&token), "{file}");
        }
    }

    let confirmed = anon
        .post("/api/v1/email-confirmations", json!({ "token": token }))
        .await
        .expect_status(200);
    assert_eq!(confirmed.body["confirmed"], "address");
    assert_eq!(ann.get("/api/v1/me").await.body["email_verified"], true);
    ann.post(
        "/api/v1/communities",
        json!({ "slug": "anns", "name": "Ann's" }),
    )
    .await
    .expect_status(201);
    // A link works once; a used, a made-up and an expired one get the same answer.
    let used = anon
        .post("/api/v1/email-confirmations", json!({ "token": token }))
        .await
        .expect_problem(400, "link-expired");
    let made_up = anon
        .post("/api/v1/email-confirmations", json!({ "token": "AAAA" }))
        .await
        .expect_problem(400, "link-expired");
    assert_eq!(used.body, made_up.body);
    // Confirmed once, nothing more to send.
    ann.post("/api/v1/me/email/confirmation", json!({}))
        .await
        .expect_problem(409, "conflict");
    assert_eq!(audited(&server, "account.email_confirmed").await, 1);
}

async fn a_password_is_reset_through_smtp_and_the_form_tells_nobody_who_is_registered(
    backend: Backend,
) {
    // The SMTP server refuses the first message once (451): the job retries it.
    let sink = SmtpSink::start(&[
        "--user",
        "hearth",
        "--password",
        "smtp secret",
        "--refuse",
        "1",
    ]);
    let secret_file = sink.dir.path().join("../smtp-password");
    std::fs::write(&secret_file, "smtp secret\n").unwrap();
    let port = sink.port;
    let server = TestServer::start_with(backend, move |c| {
        c.smtp_host = "127.0.0.1".into();
        c.smtp_port = port;
        c.smtp_tls = SmtpTlsMode::None;
        c.smtp_user = "hearth".into();
        c.smtp_password_file = Some(secret_file);
        c.mail_from = "Hearth <hearth@chat.example.org>".into();
    })
    .await;
    let anon = server.anonymous();
    register(&anon, "bea").await;
    let other_device = anon.sign_in("bea", &password_of("bea")).await;

    // A known and an unknown address get the same answer.
    let known = anon
        .post(
            "/api/v1/password-reset",
            json!({ "email": "bea@example.org" }),
        )
        .await
        .expect_status(202);
    let unknown = anon
        .post(
            "/api/v1/password-reset",
            json!({ "email": "nobody@example.org" }),
        )
        .await
        .expect_status(202);
    assert_eq!(known.body, unknown.body);

    // The first attempt is refused by the server and waits; the rest go.
    let outcomes = deliver(&server).await;
    assert!(
        matches!(outcomes.first(), Some(JobOutcome::Retrying(_))),
        "{outcomes:?}"
    );
    let later = server
        .app()
        .run_due_jobs("test-runner", Timestamp::now().plus_seconds(31))
        .await
        .unwrap();
    assert!(
        later.iter().all(|r| r.outcome == JobOutcome::Done),
        "{later:?}"
    );
    let mails = sink.mails();
    assert!(mails_to(&mails, "nobody@example.org").is_empty());
    let to_bea = mails_to(&mails, "bea@example.org");
    assert_eq!(to_bea.len(), 2, "{mails:?}");
    let reset = to_bea
        .iter()
        .find(|m| m.header("Subject") == "Reset your password")
        .unwrap();
    assert!(reset.header("From").contains("hearth@chat.example.org"));
    assert!(reset.header("Message-ID").ends_with("@chat.example.org>"));
    let token = reset.token_for("/reset-password").unwrap();
    // The confirmation mailed at registration came through SMTP too, and works.
    let confirm = to_bea
        .iter()
        .find(|m| m.header("Subject") == "Confirm your email address")
        .and_then(|m| m.token_for("/verify-email"))
        .unwrap();
    anon.post("/api/v1/email-confirmations", json!({ "token": confirm }))
        .await
        .expect_status(200);

    // The page asks for the new password; a too-short one is refused without using the link.
    let page = anon.get(&format!("/reset-password?token={token}")).await;
    assert_eq!(page.status, 200);
    anon.post(
        "/api/v1/password-reset/complete",
        json!({ "token": token, "password": "short" }),
    )
    .await
    .expect_status(422);
    anon.post(
        "/api/v1/password-reset/complete",
        json!({ "token": token, "password": "bea's brand new password" }),
    )
    .await
    .expect_status(204);
    // Every session ended; the old password no longer works, the new one does.
    other_device.get("/api/v1/me").await.expect_status(401);
    anon.post(
        "/api/v1/sessions",
        json!({ "login": "bea", "password": password_of("bea") }),
    )
    .await
    .expect_status(401);
    let bea = anon.sign_in("bea", "bea's brand new password").await;
    assert_eq!(bea.get("/api/v1/me").await.body["email_verified"], true);

    // Used, unknown and expired links: one answer.
    let reused = anon
        .post(
            "/api/v1/password-reset/complete",
            json!({ "token": token, "password": "yet another password" }),
        )
        .await
        .expect_problem(400, "link-expired");
    let unknown_link = anon
        .post(
            "/api/v1/password-reset/complete",
            json!({ "token": "nothing-like-it", "password": "yet another password" }),
        )
        .await
        .expect_problem(400, "link-expired");
    assert_eq!(reused.body, unknown_link.body);
    // A minute later, another link; it expires after the hour.
    server
        .app()
        .store()
        .write(|tx| {
            Box::pin(async move {
                tx.conn()
                    .execute_unchecked(
                        "UPDATE account_links SET created_at = created_at - 120000".into(),
                    )
                    .await
            })
        })
        .await
        .unwrap();
    anon.post(
        "/api/v1/password-reset",
        json!({ "email": "bea@example.org" }),
    )
    .await
    .expect_status(202);
    deliver(&server).await;
    let second = mails_to(&sink.mails(), "bea@example.org")
        .into_iter()
        .filter(|m| m.header("Subject") == "Reset your password")
        .nth(1)
        .unwrap();
    let expiring = second.token_for("/reset-password").unwrap();
    server
        .app()
        .store()
        .write(|tx| {
            Box::pin(async move {
                tx.conn()
                    .execute_unchecked("UPDATE account_links SET expires_at = 1".into())
                    .await
            })
        })
        .await
        .unwrap();
    let expired = anon
        .post(
            "/api/v1/password-reset/complete",
            json!({ "token": expiring, "password": "yet another password" }),
        )
        .await
        .expect_problem(400, "link-expired");
    assert_eq!(expired.body, unknown_link.body);
    // The account was told its password changed.
    deliver(&server).await;
    assert!(
        mails_to(&sink.mails(), "bea@example.org")
            .iter()
            .any(|m| m.header("Subject") == "Your password was changed")
    );
    // Three asked for: two for bea's address, one for an address nobody has.
    assert_eq!(
        audited(&server, "account.password_reset_requested").await,
        3
    );
    assert_eq!(audited(&server, "account.password_reset").await, 1);
}

async fn a_change_of_address_is_confirmed_at_the_new_one_and_the_old_one_is_told(backend: Backend) {
    let server = TestServer::start(backend).await;
    let anon = server.anonymous();
    register(&anon, "cai").await;
    register(&anon, "dee").await;
    let cai = anon.sign_in("cai", &password_of("cai")).await;
    let outbox = server.config.outbox_path();

    // The password is asked for.
    cai.put(
        "/api/v1/me/email",
        json!({ "email": "cai@new.example.org", "password": "not cai's password" }),
    )
    .await
    .expect_problem(422, "validation");
    // Another account's address: the same answer, and that account's owner is told.
    let to_taken = cai
        .put(
            "/api/v1/me/email",
            json!({ "email": "dee@example.org", "password": password_of("cai") }),
        )
        .await
        .expect_status(202);
    let to_free = cai
        .put(
            "/api/v1/me/email",
            json!({ "email": "cai@new.example.org", "password": password_of("cai") }),
        )
        .await
        .expect_status(202);
    assert_eq!(to_free.body, to_taken.body);
    // The address the account has is told of each request at once.
    deliver(&server).await;
    let asked = mails_to(&mails_in(&outbox), "cai@example.org")
        .into_iter()
        .filter(|m| m.header("Subject") == "A change of your email address was asked for")
        .count();
    assert_eq!(asked, 2);
    deliver(&server).await;
    let mails = mails_in(&outbox);
    let to_dee = mails_to(&mails, "dee@example.org");
    assert!(
        to_dee
            .iter()
            .any(|m| m.header("Subject") == "This address already has a Hearth account"),
        "{to_dee:?}"
    );
    assert!(
        to_dee
            .iter()
            .all(|m| m.token_for("/verify-email").is_none() || m.text.contains("Welcome"))
    );
    // Until the link is used, the account keeps its address.
    assert_eq!(cai.get("/api/v1/me").await.body["email"], "cai@example.org");
    let link = mails_to(&mails, "cai@new.example.org")
        .first()
        .and_then(|m| m.token_for("/verify-email"))
        .unwrap();
    let moved = anon
        .post("/api/v1/email-confirmations", json!({ "token": link }))
        .await
        .expect_status(200);
    assert_eq!(moved.body["confirmed"], "new_address");
    let me = cai.get("/api/v1/me").await;
    assert_eq!(me.body["email"], "cai@new.example.org");
    assert_eq!(me.body["email_verified"], true);
    // The old address is told where mail goes now, without spelling it out.
    deliver(&server).await;
    let told = mails_to(&mails_in(&outbox), "cai@example.org")
        .into_iter()
        .find(|m| m.header("Subject") == "Your email address was changed")
        .unwrap();
    assert!(told.text.contains("c•••@new.example.org"), "{told:?}");
    assert!(!told.text.contains("cai@new.example.org"));
    // The new address signs in.
    let cai = anon
        .sign_in("cai@new.example.org", &password_of("cai"))
        .await;
    assert_eq!(audited(&server, "account.email_change_requested").await, 2);

    // A pending change can be cancelled, and signing out everywhere else cancels it too (as
    // do a password change and a reset): a change asked for from a stolen session does not
    // outlive the owner's clean-up.
    let elsewhere = json!({ "email": "cai@third.example.org", "password": password_of("cai") });
    cai.put("/api/v1/me/email", elsewhere.clone())
        .await
        .expect_status(202);
    cai.delete("/api/v1/me/email/pending")
        .await
        .expect_status(204);
    cai.delete("/api/v1/me/email/pending")
        .await
        .expect_problem(404, "not-found");
    cai.put("/api/v1/me/email", elsewhere)
        .await
        .expect_status(202);
    deliver(&server).await;
    let stale = mails_to(&mails_in(&outbox), "cai@third.example.org")
        .last()
        .and_then(|m| m.token_for("/verify-email"))
        .unwrap();
    cai.delete("/api/v1/me/sessions").await.expect_status(200);
    anon.post("/api/v1/email-confirmations", json!({ "token": stale }))
        .await
        .expect_problem(400, "link-expired");
    assert_eq!(audited(&server, "account.email_changed").await, 1);
}

async fn an_instance_may_keep_unconfirmed_accounts_from_signing_in(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.unconfirmed_accounts = UnconfirmedAccountsMode::NoSignIn;
    })
    .await;
    let anon = server.anonymous();
    register(&anon, "eve").await;
    let login = json!({ "login": "eve", "password": password_of("eve") });
    // A wrong password is still just wrong.
    anon.post(
        "/api/v1/sessions",
        json!({ "login": "eve", "password": "wrong password here" }),
    )
    .await
    .expect_problem(401, "bad-credentials");
    // The right one is told to confirm first; the link from registration was sent a moment
    // ago, so no second one goes yet.
    anon.post("/api/v1/sessions", login.clone())
        .await
        .expect_problem(403, "email-unconfirmed");
    deliver(&server).await;
    let mails = mails_in(&server.config.outbox_path());
    assert_eq!(mails.len(), 1, "{mails:?}");
    let token = mails[0].token_for("/verify-email").unwrap();
    anon.post("/api/v1/email-confirmations", json!({ "token": token }))
        .await
        .expect_status(200);
    anon.post("/api/v1/sessions", login)
        .await
        .expect_status(201);
}

on_both_backends!(queued_mail_survives_kill_9_and_a_repeat_keeps_its_message_id);

/// Messages queued before the kill.
const QUEUED: usize = 12;

/// The real binary sends a dozen queued messages to an SMTP server that keeps each message,
/// then waits before saying it took it. The server is killed with SIGKILL just after the
/// SMTP server kept the third one: that message was handed over, but the job never heard
/// so and was not recorded done. After a restart every message arrives; the one caught in
/// the kill arrives twice, both times with the same Message-ID (the repeat is found as two
/// files for one recipient, and their Message-ID headers compared).
async fn queued_mail_survives_kill_9_and_a_repeat_keeps_its_message_id(backend: Backend) {
    use crate::crash::Server;
    let sink = SmtpSink::start(&["--delay", "0.4"]);
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let database_url = match backend {
        Backend::Sqlite => String::new(),
        Backend::Postgres => crate::harness::fresh_database(backend, dir.path()).await,
    };
    let settings = [
        ("HEARTH_SMTP_HOST", "127.0.0.1".to_string()),
        ("HEARTH_SMTP_PORT", sink.port.to_string()),
        ("HEARTH_SMTP_TLS", "none".to_string()),
        ("HEARTH_SIGN_INS_PER_MINUTE_PER_ADDRESS", "1000".to_string()),
    ];
    let mut server = Server::start_with(&data_dir, &database_url, dir.path(), 0, &settings).await;
    let anon = Client {
        http: crate::harness::http(),
        base: server.base.clone(),
        auth: crate::harness::Auth::None,
    };
    // Each registration queues its confirmation in the transaction that makes the account.
    for i in 0..QUEUED {
        register(&anon, &format!("queued{i:02}")).await;
    }
    // Kill as soon as the third message is kept: the server is then waiting for the answer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while sink.mails().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "mail did not start going out"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.kill();
    let before_restart = sink.mails().len();
    assert!(before_restart < QUEUED, "all mail went out before the kill");

    server = Server::start_with(&data_dir, &database_url, dir.path(), 1, &settings).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let recipients = |mails: &[Mail]| {
        let mut seen: Vec<String> = mails.iter().map(|m| m.header("X-Sink-Rcpt")).collect();
        seen.sort();
        seen.dedup();
        seen.len()
    };
    while recipients(&sink.mails()) < QUEUED {
        assert!(
            std::time::Instant::now() < deadline,
            "queued mail was lost: {} of {QUEUED} recipients reached",
            recipients(&sink.mails())
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Let anything still going out arrive, then compare.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    server.stop();
    let mails = sink.mails();
    let mut repeats = 0;
    for i in 0..QUEUED {
        let to = format!("queued{i:02}@example.org");
        let copies = mails_to(&mails, &to);
        assert!(!copies.is_empty(), "nothing reached {to}");
        let ids: Vec<String> = copies.iter().map(|m| m.header("Message-ID")).collect();
        assert!(
            ids.iter().all(|id| *id == ids[0] && id.starts_with('<')),
            "{to} got different Message-IDs: {ids:?}"
        );
        repeats += copies.len() - 1;
    }
    println!(
        "mail crash test ({backend:?}): {QUEUED} queued, {before_restart} kept before kill -9, \
         {} messages after restart, {repeats} repeated with the same Message-ID",
        mails.len()
    );
    assert!(
        repeats >= 1,
        "the kill did not fall between sending and recording"
    );
}
