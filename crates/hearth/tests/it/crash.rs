//! Crash safety: the real `hearth` binary is killed with SIGKILL while several clients post,
//! started again on the same database, and every post it acknowledged must be there.
//!
//! What this can catch: a post acknowledged before its transaction committed (the writer
//! answering early, a job that escapes its batch), recovery that loses committed work. The
//! window of an early answer is short, so a kill lands in it only now and then: the cycles are
//! many and short. What it cannot catch: a commit that reached the operating system but not
//! the disk (`synchronous=OFF`), since a killed process leaves the page cache behind; it passes
//! with OFF. Only losing power, or a file system that drops unsynced writes, shows that; here
//! the settings test (`durability.rs`) holds the store to `synchronous=FULL` instead.

use crate::harness::{Auth, Backend, Client, fresh_database, on_both_backends, password_of};
use serde_json::json;
use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

on_both_backends!(every_acknowledged_post_survives_kill_9_mid_load);

const CYCLES: u32 = 8;
const CLIENTS: usize = 12;

async fn every_acknowledged_post_survives_kill_9_mid_load(backend: Backend) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let database_url = match backend {
        Backend::Sqlite => String::new(),
        Backend::Postgres => fresh_database(backend, dir.path()).await,
    };
    let mut server = Server::start(&data_dir, &database_url, dir.path(), 0).await;
    let (mut alice, channel) = set_up(&server.base).await;

    let mut acknowledged: Vec<String> = Vec::new();
    for cycle in 1..=CYCLES {
        let stop = Arc::new(AtomicBool::new(false));
        let mut clients = Vec::new();
        for worker in 0..CLIENTS {
            // A connection of its own per client.
            let client = Client {
                http: crate::harness::http(),
                ..alice.clone()
            };
            let (channel, stop) = (channel.clone(), stop.clone());
            clients.push(tokio::spawn(post_until_refused(
                client, channel, stop, cycle, worker,
            )));
        }
        // Kill at a different point of each cycle, well into the load.
        tokio::time::sleep(Duration::from_millis(250 + 75 * u64::from(cycle))).await;
        server.kill();
        stop.store(true, Ordering::SeqCst);
        for client in clients {
            acknowledged.extend(client.await.unwrap());
        }

        server = Server::start(&data_dir, &database_url, dir.path(), cycle).await;
        alice.base = server.base.clone();
        let stored = stored_ids(&alice, &channel).await;
        let missing: Vec<&String> = acknowledged
            .iter()
            .filter(|id| !stored.contains(*id))
            .collect();
        println!(
            "crash test ({backend:?}): cycle {cycle}: kill -9 mid-load, {} acknowledged posts so far, {} stored, {} missing",
            acknowledged.len(),
            stored.len(),
            missing.len()
        );
        assert!(
            missing.is_empty(),
            "acknowledged posts lost after kill -9 in cycle {cycle}: {missing:?}"
        );
    }
    server.stop();
    println!(
        "crash test ({backend:?}): {CYCLES} kill -9 cycles, {} acknowledged posts, 0 missing, in {:.1} s",
        acknowledged.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        acknowledged.len() >= CYCLES as usize * CLIENTS,
        "too little load to mean anything: {} posts",
        acknowledged.len()
    );
}

/// Posts as fast as answers come until the server stops answering; returns the ids of the
/// posts it acknowledged.
async fn post_until_refused(
    client: Client,
    channel: String,
    stop: Arc<AtomicBool>,
    cycle: u32,
    worker: usize,
) -> Vec<String> {
    let token = match &client.auth {
        Auth::Bearer(token) => token.clone(),
        _ => String::new(),
    };
    let url = format!("{}/api/v1/channels/{channel}/messages", client.base);
    let mut acknowledged = Vec::new();
    for i in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let sent = client
            .http
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({ "body": format!("cycle {cycle} client {worker} post {i}") }))
            .send()
            .await;
        let Ok(response) = sent else { break };
        if response.status().as_u16() != 201 {
            break;
        }
        let Ok(body) = response.json::<serde_json::Value>().await else {
            break;
        };
        if let Some(id) = body["id"].as_str() {
            acknowledged.push(id.to_string());
        }
    }
    acknowledged
}

/// Registers a member who founds a community with a channel; returns their client and the
/// channel.
async fn set_up(base: &str) -> (Client, String) {
    let anonymous = Client {
        http: crate::harness::http(),
        base: base.to_string(),
        auth: Auth::None,
    };
    anonymous
        .post(
            "/api/v1/accounts",
            json!({
                "email": "alice@example.org",
                "username": "alice",
                "display_name": "Alice",
                "password": password_of("alice"),
            }),
        )
        .await
        .expect_status(202);
    let session = anonymous.sign_in("alice", &password_of("alice")).await;
    let token = session
        .post("/api/v1/me/tokens", json!({ "name": "crash" }))
        .await
        .expect_status(201)
        .str("secret");
    let alice = Client {
        auth: Auth::Bearer(token),
        ..anonymous
    };
    let community = alice.create_community("crash").await;
    let channel = alice.create_channel(&community, "load", "public").await;
    (alice, channel)
}

/// Every message id in the channel, read back through the API.
async fn stored_ids(client: &Client, channel: &str) -> HashSet<String> {
    let mut stored = HashSet::new();
    let mut before: Option<String> = None;
    loop {
        let path = match &before {
            Some(b) => format!("/api/v1/channels/{channel}/messages?limit=200&before={b}"),
            None => format!("/api/v1/channels/{channel}/messages?limit=200"),
        };
        let page = client.get(&path).await.expect_status(200);
        for message in page.body["messages"].as_array().unwrap() {
            stored.insert(message["id"].as_str().unwrap().to_string());
        }
        match page.body["next_before"].as_str() {
            Some(b) => before = Some(b.to_string()),
            None => return stored,
        }
    }
}

/// A `hearth serve` process.
pub(crate) struct Server {
    child: Option<Child>,
    pub(crate) base: String,
}

impl Server {
    async fn start(data_dir: &Path, database_url: &str, logs: &Path, run: u32) -> Self {
        Self::start_with(data_dir, database_url, logs, run, &[]).await
    }

    /// A server with more `HEARTH_*` settings.
    pub(crate) async fn start_with(
        data_dir: &Path,
        database_url: &str,
        logs: &Path,
        run: u32,
        settings: &[(&str, String)],
    ) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(logs.join(format!("server-{run}.log"))).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_hearth"));
        for (key, _) in std::env::vars() {
            if key.starts_with("HEARTH_") {
                command.env_remove(key);
            }
        }
        command.envs(settings.iter().map(|(k, v)| (*k, v.as_str())));
        let child = command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("HEARTH_DATA_DIR", data_dir)
            .env("HEARTH_DATABASE_URL", database_url)
            .env("HEARTH_LOG_LEVEL", "warn")
            // Members post without confirming their addresses first.
            .env("HEARTH_UNCONFIRMED_ACCOUNTS", "full")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Self {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = crate::harness::http();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http.get(format!("{}/readyz", server.base)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "hearth serve did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown, no flush, no goodbye.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM: a graceful shutdown.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
