//! Outgoing webhooks: signed deliveries to a receiver on loopback, gated by what each author
//! chose. The browser's Global Privacy Control signal opts a member out; a third-party
//! webhook then receives nothing of theirs while a service provider still does; erasing a
//! person tells every recipient that received their data, and a recipient that keeps
//! failing shows in the operator's inbox until the notice is sent again.

use crate::harness::{Auth, Backend, TestServer, on_both_backends, password_of};
use crate::requests::{count, operator};
use hearth_core::Timestamp;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_backends!(
    a_third_party_receives_nothing_of_an_opted_out_member_and_a_service_provider_does,
    an_admin_sets_up_a_webhook_on_its_page,
    webhooks_may_not_reach_private_networks_unless_the_operator_allows,
);

/// A delivery as the receiver saw it: its headers (lower-case names) and body.
#[derive(Clone, Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// An HTTP receiver on loopback that records what it is sent and answers `status`.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (seen, answer) = (got.clone(), status.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (seen, answer) = (seen.clone(), answer.clone());
                tokio::spawn(async move {
                    let mut raw = Vec::new();
                    let mut buffer = [0u8; 8192];
                    let (head, mut body) = loop {
                        let n = socket.read(&mut buffer).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        raw.extend_from_slice(&buffer[..n]);
                        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&raw[..at]).to_string();
                            break (head, raw[at + 4..].to_vec());
                        }
                    };
                    let headers: Vec<(String, String)> = head
                        .lines()
                        .skip(1)
                        .filter_map(|line| line.split_once(':'))
                        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string()))
                        .collect();
                    let length: usize = headers
                        .iter()
                        .find(|(n, _)| n == "content-length")
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    while body.len() < length {
                        let n = socket.read(&mut buffer).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        body.extend_from_slice(&buffer[..n]);
                    }
                    let status = answer.load(Ordering::SeqCst);
                    if status == 200 {
                        seen.lock().unwrap().push(Received {
                            headers,
                            body: String::from_utf8_lossy(&body).to_string(),
                        });
                    }
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                });
            }
        });
        Self { url, got, status }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn bodies(&self) -> String {
        self.received()
            .iter()
            .map(|r| r.body.clone())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Runs the dispatcher's round and the deliveries it queued, as a job runner would.
async fn run_jobs(server: &TestServer, later_by_secs: i64) {
    let at = Timestamp::now().plus_seconds(later_by_secs);
    for _ in 0..2 {
        server.app().run_due_jobs("test-runner", at).await.unwrap();
    }
}

fn verify(received: &Received, secret: &str) {
    let timestamp = received.header("x-hearth-timestamp");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", received.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        received.header("x-hearth-signature"),
        format!("sha256={expected}")
    );
}

async fn a_third_party_receives_nothing_of_an_opted_out_member_and_a_service_provider_does(
    backend: Backend,
) {
    let server = TestServer::start_with(backend, |config| {
        config.webhooks_allow_private_networks = true;
    })
    .await;
    let olga = server.member("olga").await;
    let ada = server.member("ada").await;
    let bea = server.member("bea").await;
    let guild = olga.create_community("guild").await;
    ada.join(&guild).await;
    bea.join(&guild).await;
    let general = olga.general_channel(&guild).await;
    let hooks = format!("/api/v1/communities/{guild}/webhooks");
    let third = Receiver::start().await;
    let provider = Receiver::start().await;

    // Only admins set webhooks up; a service provider needs its contract on record.
    ada.post(
        &hooks,
        json!({ "name": "Ads", "url": third.url, "channel_ids": [general], "recipient": "third_party" }),
    )
    .await
    .expect_problem(403, "forbidden");
    // An admin cannot send a private channel she is not in outside by way of a webhook.
    crate::roles::give_role(&olga, &guild, &bea, "admin").await;
    let hr = bea.create_channel(&guild, "hr", "private").await;
    bea.say(&hr, "bea's private words").await;
    olga.post(
        &hooks,
        json!({ "name": "Mirror", "url": third.url, "channel_ids": [hr],
                "recipient": "service_provider", "attestation": "anything" }),
    )
    .await
    .expect_problem(422, "validation");
    olga.post(
        &hooks,
        json!({ "name": "Archive", "url": provider.url, "channel_ids": [general],
                "recipient": "service_provider" }),
    )
    .await
    .expect_problem(422, "validation");
    let third_hook = olga
        .post(
            &hooks,
            json!({ "name": "Ads Inc", "url": third.url, "channel_ids": [general],
                    "recipient": "third_party" }),
        )
        .await
        .expect_status(201);
    let third_secret = third_hook.body["secret"].as_str().unwrap().to_string();
    let provider_hook = olga
        .post(
            &hooks,
            json!({ "name": "Archive Ltd", "url": provider.url, "channel_ids": [general],
                    "recipient": "service_provider",
                    "attestation": "Processes messages only to keep the community's archive (contract of 2026-11-01)" }),
        )
        .await
        .expect_status(201);
    let provider_secret = provider_hook.body["secret"].as_str().unwrap().to_string();
    let listed = olga.get(&hooks).await.expect_status(200);
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    assert!(
        listed.body[0].get("secret").is_none(),
        "the key is shown once"
    );

    // Ada's browser sends the Global Privacy Control signal: her account is opted out.
    let Auth::Cookie(cookie) = &ada.session.auth else {
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
    assert_eq!(
        ada.get("/api/v1/me/privacy").await.body["sale_opt_out"],
        true
    );
    bea.say(&general, "bea says hello to everyone").await;
    ada.say(&general, "ada writes something of her own").await;
    run_jobs(&server, 10).await;

    // The third party got Bea's message, signed; nothing of Ada.
    let to_third = third.received();
    assert_eq!(to_third.len(), 1, "{}", third.bodies());
    assert!(to_third[0].body.contains("bea says hello"));
    assert!(!third.bodies().contains("ada"), "{}", third.bodies());
    verify(&to_third[0], &third_secret);
    assert_eq!(to_third[0].header("x-hearth-event"), "message.posted");
    assert_eq!(to_third[0].json()["author"]["username"], "bea");
    // The service provider got both.
    let to_provider = provider.bodies();
    assert!(to_provider.contains("bea says hello"));
    assert!(to_provider.contains("ada writes something"));
    for received in provider.received() {
        verify(&received, &provider_secret);
    }
    // The delivery log shows what went.
    let third_id = third_hook.body["webhook"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let log = olga
        .get(&format!("{hooks}/{third_id}/deliveries"))
        .await
        .expect_status(200);
    assert_eq!(log.body.as_array().unwrap().len(), 1);
    assert_eq!(log.body[0]["state"], "delivered");
    assert_eq!(log.body[0]["status_code"], 200);
    // Nothing is sent twice.
    run_jobs(&server, 20).await;
    assert_eq!(third.received().len(), 1);

    // Erasing Ada tells the recipient that received her data, and only it.
    let provider_before = provider.received().len();
    ada.post(
        "/api/v1/me/privacy/requests",
        json!({ "kind": "delete", "password": password_of("ada") }),
    )
    .await
    .expect_status(200);
    run_jobs(&server, 30).await;
    let notices: Vec<Received> = provider.received()[provider_before..].to_vec();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].header("x-hearth-event"), "person.erased");
    assert_eq!(notices[0].json()["user_id"], ada.id.as_str());
    assert!(!third.bodies().contains("person.erased"));

    // A recipient that keeps failing: Bea's erasure notice fails every attempt, and the
    // request shows in the operator's inbox with why, until it is sent again.
    provider.status.store(503, Ordering::SeqCst);
    bea.post(
        "/api/v1/me/privacy/requests",
        json!({ "kind": "delete", "password": password_of("bea") }),
    )
    .await
    .expect_status(200);
    for attempt in 0..6 {
        run_jobs(&server, 40 + attempt * 3600).await;
    }
    let ops = operator(&server, "ops").await;
    let inbox = ops.get("/api/v1/privacy/requests").await.expect_status(200);
    let failed = inbox
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "delete")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(failed["state"], "completed");
    let failure = failed["failure"].as_str().unwrap_or_default();
    assert!(
        failure.contains("Archive Ltd could not be told") && failure.contains("503"),
        "{failure}"
    );
    provider.status.store(200, Ordering::SeqCst);
    let id = failed["id"].as_str().unwrap().to_string();
    ops.post(
        &format!("/api/v1/privacy/requests/{id}/decision"),
        json!({ "action": "retry" }),
    )
    .await
    .expect_status(200);
    run_jobs(&server, 60 * 3600).await;
    let last = provider.received().last().cloned().unwrap();
    assert_eq!(last.header("x-hearth-event"), "person.erased");
    assert_eq!(last.json()["user_id"], bea.id.as_str());
    let inbox = ops.get("/api/v1/privacy/requests").await.expect_status(200);
    assert!(inbox.body.as_array().unwrap().is_empty(), "{}", inbox.body);
    assert_eq!(
        count(
            &server,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'webhook.created'"
        )
        .await,
        2
    );
}

async fn webhooks_may_not_reach_private_networks_unless_the_operator_allows(backend: Backend) {
    let server = TestServer::start(backend).await;
    let olga = server.member("olga").await;
    let guild = olga.create_community("guild").await;
    let general = olga.general_channel(&guild).await;
    let hooks = format!("/api/v1/communities/{guild}/webhooks");
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://localhost/hook",
    ] {
        let refused = olga
            .post(
                &hooks,
                json!({ "name": "Inside", "url": url, "channel_ids": [general], "recipient": "third_party" }),
            )
            .await
            .expect_problem(422, "validation");
        assert_eq!(refused.body["field"], "url", "{url}");
    }
    olga.post(
        &hooks,
        json!({ "name": "Bad", "url": "ftp://example.org/", "channel_ids": [general],
                "recipient": "third_party" }),
    )
    .await
    .expect_problem(422, "validation");
    let other = olga.create_community("other").await;
    let elsewhere = olga.general_channel(&other).await;
    let wrong = olga
        .post(
            &hooks,
            json!({ "name": "Wrong", "url": "https://hooks.example.org/", "channel_ids": [elsewhere],
                    "recipient": "third_party" }),
        )
        .await
        .expect_problem(422, "validation");
    assert_eq!(wrong.body["field"], "channels");
    assert!(olga.get(&hooks).await.body.as_array().unwrap().is_empty());
}

async fn an_admin_sets_up_a_webhook_on_its_page(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.webhooks_allow_private_networks = true;
    })
    .await;
    let olga = server.member("olga").await;
    let bea = server.member("bea").await;
    let guild = olga.create_community("guild").await;
    bea.join(&guild).await;
    let general = olga.general_channel(&guild).await;
    let receiver = Receiver::start().await;
    let shots = |name: &str| format!("{name}-{backend:?}").to_lowercase();
    let browser = crate::browser::Browser::start().await;
    browser.sign_in(&server, "olga").await;
    browser
        .open(&server, &format!("/communities/{guild}/settings"))
        .await;
    browser
        .click(&format!("a[href='/communities/{guild}/webhooks']"))
        .await;
    browser.wait_for_text("h1", "Webhooks of guild").await;
    browser.fill("#hook_name", "Archive Ltd").await;
    browser.fill("#hook_url", &receiver.url).await;
    browser
        .click(&format!("input[name='channel'][value='{general}']"))
        .await;
    browser
        .click("input[name='recipient'][value='service_provider']")
        .await;
    // Without the contract's words, a service provider is refused.
    browser
        .click(&format!(
            "form[action='/communities/{guild}/webhooks'] button"
        ))
        .await;
    browser.wait_for_text(".error", "contract").await;
    browser.fill("#hook_name", "Archive Ltd").await;
    browser.fill("#hook_url", &receiver.url).await;
    browser
        .click(&format!("input[name='channel'][value='{general}']"))
        .await;
    browser
        .click("input[name='recipient'][value='service_provider']")
        .await;
    browser
        .fill(
            "#hook_attestation",
            "Processes messages only to keep our archive",
        )
        .await;
    browser
        .click(&format!(
            "form[action='/communities/{guild}/webhooks'] button"
        ))
        .await;
    browser.wait_for_text(".notice", "shown this once").await;
    browser.wait_for_text(".inbox", "Archive Ltd").await;
    browser.screenshots(&shots("webhooks")).await;
    browser.assert_accessible("the webhooks page").await;
    bea.say(&general, "hello archive").await;
    run_jobs(&server, 10).await;
    assert!(receiver.bodies().contains("hello archive"));
    browser.click(".inbox a").await;
    browser.wait_for_text("h1", "Archive Ltd").await;
    browser.wait_for_text("table.figures", "delivered").await;
    browser.screenshots(&shots("webhook-log")).await;
    browser.assert_accessible("a webhook's delivery log").await;
    browser.click("form[action$='/delete'] button").await;
    browser.wait_for_text(".empty", "No webhooks").await;
    browser.client.clone().close().await.unwrap();
}
