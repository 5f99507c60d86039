//! Test servers on either backend, and a small HTTP client that reads like the API.

use hearth::config::Config;
use hearth::server::{self, RunningServer};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

/// The `hearth` binary, with no `HEARTH_*` settings from whoever runs the tests.
pub fn hearth_binary() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"));
    for (key, _) in std::env::vars() {
        if key.starts_with("HEARTH_") {
            command.env_remove(key);
        }
    }
    command
}

/// An HTTP client for the tests. Hearth's HTTP client (for identity providers) speaks TLS
/// with ring, which must be installed as the process's crypto provider before any client is
/// made: this does so first.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs one async test body on SQLite and on PostgreSQL, as two tests.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::harness::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::harness::Backend::Postgres).await
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;

/// A server on its own fresh database.
pub struct TestServer {
    pub server: Option<RunningServer>,
    pub config: Config,
    pub base: String,
    _dir: tempfile::TempDir,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A database URL of its own for one test.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("hearth.db").display()),
        Backend::Postgres => {
            let admin = std::env::var("HEARTH_TEST_PG_URL").unwrap_or_else(|_| {
                panic!("HEARTH_TEST_PG_URL is not set: run the suite with scripts/test")
            });
            let name = format!(
                "hearth_t{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL: {e}"));
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
            let (base, _) = admin.rsplit_once('/').unwrap_or((&admin, ""));
            format!("{base}/{name}")
        }
    }
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
            data_dir: dir.path().to_path_buf(),
            database_url: fresh_database(backend, dir.path()).await,
            read_connections: 4,
            // Tests run jobs themselves, on a clock of their own: a runner on the real clock
            // beside them would take their jobs.
            run_jobs: false,
            // Most tests have members post at once; the tests of confirmation hold them.
            unconfirmed_accounts: hearth::config::UnconfirmedAccountsMode::Full,
            ..Config::default()
        };
        tweak(&mut config);
        let server = server::start(&config)
            .await
            .unwrap_or_else(|e| panic!("start: {e:#}"));
        let base = format!("http://{}", server.addr);
        Self {
            server: Some(server),
            config,
            base,
            _dir: dir,
        }
    }

    /// Another node on the same database (PostgreSQL only: SQLite is one node's), numbered
    /// `node_id`.
    pub async fn another_node(&self, node_id: u16) -> TestServer {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let mut config = self.config.clone();
        config.node_id = node_id;
        // Every node on one database reads the same master key.
        config.master_key_file = Some(self.config.master_key_path());
        config.data_dir = dir.path().to_path_buf();
        config.listen = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
        let server = server::start(&config)
            .await
            .unwrap_or_else(|e| panic!("start: {e:#}"));
        let base = format!("http://{}", server.addr);
        TestServer {
            server: Some(server),
            config,
            base,
            _dir: dir,
        }
    }

    pub fn app(&self) -> &hearth_app::App {
        &self
            .server
            .as_ref()
            .unwrap_or_else(|| panic!("server stopped"))
            .app
    }

    /// A client with no credentials.
    pub fn anonymous(&self) -> Client {
        Client {
            http: http(),
            base: self.base.clone(),
            auth: Auth::None,
        }
    }

    /// Registers `name` and returns a client that uses a fresh API token of theirs.
    pub async fn member(&self, name: &str) -> Member {
        let anon = self.anonymous();
        anon.post(
            "/api/v1/accounts",
            json!({
                "email": format!("{name}@example.org"),
                "username": name,
                "display_name": format!("{name} Example"),
                "password": password_of(name),
            }),
        )
        .await
        .expect_status(202);
        let session = anon.sign_in(name, &password_of(name)).await;
        let account = session.get("/api/v1/me").await.expect_status(200);
        let created = session
            .post("/api/v1/me/tokens", json!({ "name": "tests" }))
            .await
            .expect_status(201);
        let token = created.body["secret"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Member {
            id: account.body["id"].as_str().unwrap_or_default().to_string(),
            client: Client {
                http: http(),
                base: self.base.clone(),
                auth: Auth::Bearer(token),
            },
            session,
        }
    }

    /// The server's `/metrics` text.
    pub async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.base);
        let response = http()
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("metrics: {e}"));
        response.text().await.unwrap_or_default()
    }

    /// Stops the server and starts it again on the same address and database (open
    /// connections, websockets included, are cut).
    pub async fn restart(&mut self) {
        let addr = self
            .server
            .as_ref()
            .map(|s| s.addr)
            .unwrap_or_else(|| panic!("not running"));
        self.stop().await;
        let mut config = self.config.clone();
        config.listen = addr;
        self.server = Some(
            server::start(&config)
                .await
                .unwrap_or_else(|e| panic!("restart: {e:#}")),
        );
    }

    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server
                .stop()
                .await
                .unwrap_or_else(|e| panic!("stop: {e:#}"));
        }
    }
}

/// The sum of a metric's samples in Prometheus text (all label sets together).
pub fn metric_value(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub fn password_of(name: &str) -> String {
    format!("{name}'s long password")
}

/// A registered member with an API-token client and a cookie-session client.
pub struct Member {
    pub id: String,
    pub client: Client,
    pub session: Client,
}

impl std::ops::Deref for Member {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

#[derive(Clone)]
pub enum Auth {
    None,
    Bearer(String),
    Cookie(String),
}

#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub auth: Auth,
}

/// A response with its body parsed as JSON (or `Null`).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    #[track_caller]
    pub fn expect_status(self, status: u16) -> Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Asserts an RFC 9457 problem of the given status and type.
    #[track_caller]
    pub fn expect_problem(self, status: u16, kind: &str) -> Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        let content_type = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(
            content_type, "application/problem+json",
            "body: {}",
            self.body
        );
        assert_eq!(
            self.body["type"],
            format!("/problems/{kind}"),
            "body: {}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        self
    }

    pub fn str_at(&self, index: usize, key: &str) -> String {
        self.body[index][key]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn str(&self, key: &str) -> String {
        self.body[key].as_str().unwrap_or_default().to_string()
    }
}

impl Client {
    pub async fn request(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Resp {
        let mut request = self.http.request(method, format!("{}{}", self.base, path));
        request = match &self.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Cookie(cookie) => request.header("cookie", cookie),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap_or_default();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.request(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.request(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.request(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.request(reqwest::Method::DELETE, path, None).await
    }

    /// Signs in and returns a client carrying the session cookie.
    pub async fn sign_in(&self, login: &str, password: &str) -> Client {
        let response = self
            .post(
                "/api/v1/sessions",
                json!({ "login": login, "password": password }),
            )
            .await
            .expect_status(201);
        let cookie = response
            .headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        let pair = cookie.split(';').next().unwrap_or_default().to_string();
        Client {
            http: self.http.clone(),
            base: self.base.clone(),
            auth: Auth::Cookie(pair),
        }
    }

    /// Creates an open community and returns its id.
    pub async fn create_community(&self, slug: &str) -> String {
        self.post("/api/v1/communities", json!({ "slug": slug, "name": slug }))
            .await
            .expect_status(201)
            .str("id")
    }

    /// Joins an open community.
    pub async fn join(&self, community: &str) {
        self.post(&format!("/api/v1/communities/{community}/join"), json!({}))
            .await
            .expect_status(201);
    }

    /// The id of a community's first channel, the #general made with it.
    pub async fn general_channel(&self, community: &str) -> String {
        let channels = self
            .get(&format!("/api/v1/communities/{community}/channels"))
            .await
            .expect_status(200);
        assert_eq!(channels.body[0]["name"], "general");
        channels.str_at(0, "id")
    }

    /// Creates a channel and returns its id.
    pub async fn create_channel(&self, community: &str, name: &str, kind: &str) -> String {
        self.post(
            &format!("/api/v1/communities/{community}/channels"),
            json!({ "name": name, "kind": kind }),
        )
        .await
        .expect_status(201)
        .str("id")
    }

    /// Posts a message and returns its id.
    pub async fn say(&self, channel: &str, body: &str) -> String {
        self.post(
            &format!("/api/v1/channels/{channel}/messages"),
            json!({ "body": body }),
        )
        .await
        .expect_status(201)
        .str("id")
    }
}
