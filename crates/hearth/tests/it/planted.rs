//! Personal data stays out of the audit log and the logs, and nothing leaves the machine: a
//! real `hearth serve` is driven through every write a member can make, with a unique string
//! planted in every field they can fill in, and then its audit table, its logs (at debug
//! level) and its network connections are searched.

use crate::harness::{Backend, fresh_database, hearth_binary, on_both_backends};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;

on_both_backends!(planted_personal_data_never_reaches_the_audit_log_the_logs_or_the_network);

/// Unique strings, one per field a person fills in.
struct Plants;

impl Plants {
    const EMAIL: &str = "qzemailplant@plant-example.org";
    const USERNAME: &str = "qzuserplant";
    const OTHER_USERNAME: &str = "qzotherplant";
    const DISPLAY_NAME: &str = "Qz Display Plant";
    const PASSWORD: &str = "qz password plant";
    const NEW_PASSWORD: &str = "qz new password plant";
    const WRONG_PASSWORD: &str = "qz wrong password plant";
    const UNKNOWN_LOGIN: &str = "qzunknownloginplant";
    const TOKEN_NAME: &str = "qz token name plant";
    const SLUG: &str = "qzslugplant";
    const COMMUNITY_NAME: &str = "Qz Community Plant";
    const DESCRIPTION: &str = "qz description plant";
    const NEW_DESCRIPTION: &str = "qz new description plant";
    const CHANNEL_NAME: &str = "qzchannelplant";
    const TOPIC: &str = "qz topic plant";
    const BODY: &str = "qz message body plant";
    const EDITED: &str = "qz edited body plant";
    const REPLY: &str = "qz reply body plant";
    const DIRECT: &str = "qz direct body plant";
    const IDEMPOTENCY_KEY: &str = "qz-idempotency-plant";

    fn all() -> Vec<&'static str> {
        vec![
            Self::EMAIL,
            "qzemailplant",
            Self::USERNAME,
            Self::OTHER_USERNAME,
            Self::DISPLAY_NAME,
            Self::PASSWORD,
            Self::NEW_PASSWORD,
            Self::WRONG_PASSWORD,
            Self::UNKNOWN_LOGIN,
            Self::TOKEN_NAME,
            Self::SLUG,
            Self::COMMUNITY_NAME,
            Self::DESCRIPTION,
            Self::NEW_DESCRIPTION,
            Self::CHANNEL_NAME,
            Self::TOPIC,
            Self::BODY,
            Self::EDITED,
            Self::REPLY,
            Self::DIRECT,
            Self::IDEMPOTENCY_KEY,
        ]
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(&body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let (status, body) = self.call(method, path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    }
}

async fn register_and_sign_in(api: &Api, username: &str, email: &str) -> String {
    use reqwest::Method;
    api.ok(
        Method::POST,
        "/api/v1/accounts",
        json!({ "email": email, "username": username, "display_name": Plants::DISPLAY_NAME,
                "password": Plants::PASSWORD }),
    )
    .await;
    let signed_in = crate::harness::http()
        .post(format!("{}/api/v1/sessions", api.base))
        .json(&json!({ "login": username, "password": Plants::PASSWORD }))
        .send()
        .await
        .unwrap();
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    let pair = cookie.split(';').next().unwrap().to_string();
    let created = api
        .http
        .post(format!("{}/api/v1/me/tokens", api.base))
        .header("cookie", pair)
        .json(&json!({ "name": Plants::TOKEN_NAME }))
        .send()
        .await
        .unwrap();
    let created: Value = created.json().await.unwrap();
    created["secret"].as_str().unwrap().to_string()
}

/// Every write a member can make, with a planted string in every field.
async fn plant_everywhere(base: &str) {
    use reqwest::Method;
    let anon = Api {
        http: crate::harness::http(),
        base: base.to_string(),
        token: None,
    };
    let token = register_and_sign_in(&anon, Plants::USERNAME, Plants::EMAIL).await;
    let other_token =
        register_and_sign_in(&anon, Plants::OTHER_USERNAME, "qzother@plant-example.org").await;
    let me = Api {
        token: Some(token),
        ..Api {
            http: crate::harness::http(),
            base: base.to_string(),
            token: None,
        }
    };
    let other = Api {
        token: Some(other_token),
        ..Api {
            http: crate::harness::http(),
            base: base.to_string(),
            token: None,
        }
    };
    // Failed sign-ins: a wrong password, an unknown login.
    for (login, password) in [
        (Plants::USERNAME, Plants::WRONG_PASSWORD),
        (Plants::UNKNOWN_LOGIN, Plants::PASSWORD),
    ] {
        let (status, _) = anon
            .call(
                Method::POST,
                "/api/v1/sessions",
                json!({ "login": login, "password": password }),
            )
            .await;
        assert_eq!(status, 401);
    }
    let community = me
        .ok(
            Method::POST,
            "/api/v1/communities",
            json!({ "slug": Plants::SLUG, "name": Plants::COMMUNITY_NAME,
                    "description": Plants::DESCRIPTION }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    me.ok(
        Method::PATCH,
        &format!("/api/v1/communities/{community}"),
        json!({ "description": Plants::NEW_DESCRIPTION }),
    )
    .await;
    other
        .ok(
            Method::POST,
            &format!("/api/v1/communities/{community}/join"),
            json!({}),
        )
        .await;
    let channel = me
        .ok(
            Method::POST,
            &format!("/api/v1/communities/{community}/channels"),
            json!({ "name": Plants::CHANNEL_NAME, "topic": Plants::TOPIC, "kind": "private" }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let message = me
        .ok(
            Method::POST,
            &format!("/api/v1/channels/{channel}/messages"),
            json!({ "body": Plants::BODY }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    me.ok(
        Method::PATCH,
        &format!("/api/v1/messages/{message}"),
        json!({ "body": Plants::EDITED }),
    )
    .await;
    me.ok(
        Method::POST,
        &format!("/api/v1/channels/{channel}/messages"),
        json!({ "body": Plants::REPLY, "reply_to": message }),
    )
    .await;
    let response = me
        .http
        .post(format!("{base}/api/v1/channels/{channel}/messages"))
        .bearer_auth(me.token.as_deref().unwrap())
        .header("idempotency-key", Plants::IDEMPOTENCY_KEY)
        .json(&json!({ "body": "keyed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let other_id = other.ok(Method::GET, "/api/v1/me", json!(null)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let direct = me
        .ok(
            Method::POST,
            "/api/v1/direct",
            json!({ "user_ids": [other_id] }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    other
        .ok(
            Method::POST,
            &format!("/api/v1/channels/{direct}/messages"),
            json!({ "body": Plants::DIRECT }),
        )
        .await;
    me.ok(
        Method::DELETE,
        &format!("/api/v1/messages/{message}"),
        json!(null),
    )
    .await;
    me.ok(
        Method::PUT,
        "/api/v1/me/password",
        json!({ "current_password": Plants::PASSWORD, "new_password": Plants::NEW_PASSWORD }),
    )
    .await;
}

/// Remote addresses of this process tree's TCP sockets that are not on this machine.
fn remote_peers(pid: u32) -> Vec<String> {
    let mut peers = Vec::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let Some(remote) = line.split_whitespace().nth(2) else {
                continue;
            };
            let (address, _port) = remote.split_once(':').unwrap_or((remote, ""));
            let loopback_or_none = match address.len() {
                // IPv4, little-endian hex: 127.x.x.x ends in 7F; 0.0.0.0 is a listener.
                8 => address.ends_with("7F") || address == "00000000",
                // IPv6: ::1, ::, or ::ffff:127.x.x.x.
                _ => {
                    address == "00000000000000000000000001000000"
                        || address.chars().all(|c| c == '0')
                        || (address.starts_with("0000000000000000FFFF0000")
                            && address.ends_with("7F"))
                }
            };
            if !loopback_or_none {
                peers.push(remote.to_string());
            }
        }
    }
    peers
}

async fn planted_personal_data_never_reaches_the_audit_log_the_logs_or_the_network(
    backend: Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut serve = hearth_binary()
        .current_dir(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("HEARTH_DATABASE_URL", &url)
        .env("HEARTH_LOG_FORMAT", "json")
        .env("HEARTH_LOG_LEVEL", "debug")
        // Members post without confirming their addresses first.
        .env("HEARTH_UNCONFIRMED_ACCOUNTS", "full")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = crate::harness::http();
    for _ in 0..100 {
        let health = http.get(format!("{base}/healthz")).send().await;
        if health.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server's sockets are sampled all through the planting, not once after it: a
    // connection that opens and closes in between would slip past a single look.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (stop, pid) = (stop.clone(), serve.id());
        std::thread::spawn(move || {
            let mut seen = std::collections::BTreeSet::new();
            let mut looks = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                seen.extend(remote_peers(pid));
                looks += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            (seen, looks)
        })
    };
    plant_everywhere(&base).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (peers, looks) = watcher.join().unwrap();
    assert!(looks > 1, "the sockets were looked at {looks} times");
    let _ = std::process::Command::new("kill")
        .arg(serve.id().to_string())
        .status();
    let exit = serve.wait().unwrap();
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut serve.stderr.take().unwrap(), &mut logs).unwrap();
    assert!(exit.success(), "{logs}");
    assert!(
        logs.lines().count() > 3,
        "the server logged nothing: {logs}"
    );

    // Every column of every audit entry, as text.
    let store = hearth_app::Store::open(&hearth_app::StoreOptions::new(url.clone()))
        .await
        .unwrap();
    let audit = {
        let mut reader = store.reader().await.unwrap();
        reader.conn().audit_dump().await.unwrap()
    };
    store.close().await;
    assert!(audit.lines().count() >= 15, "{audit}");

    for plant in Plants::all() {
        let lower = plant.to_lowercase();
        assert!(
            !audit.to_lowercase().contains(&lower),
            "the audit log holds {plant:?}:\n{audit}"
        );
        assert!(
            !logs.to_lowercase().contains(&lower),
            "the logs hold {plant:?}:\n{logs}"
        );
    }
    // Nothing is sold or shared: the server talked to nobody beyond this machine.
    assert!(peers.is_empty(), "connections beyond loopback: {peers:?}");
}
