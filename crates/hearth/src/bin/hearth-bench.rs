//! `hearth-bench`: how fast Hearth posts durable messages over HTTP, against the physical
//! baseline of the same inserts made straight into the same database with the same durability.
#![forbid(unsafe_code)]

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};
use sqlx::Connection;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "hearth-bench",
    about = "Durable posting throughput and latency of Hearth"
)]
struct Args {
    /// Messages to post in the measured run.
    #[arg(long, default_value_t = 100_000)]
    messages: usize,
    /// Concurrent clients, each a member with a token of their own.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Post at this many messages per second (open loop) instead of as fast as possible.
    #[arg(long)]
    rate: Option<f64>,
    /// A running server to measure instead of starting one (the baseline is then skipped).
    #[arg(long)]
    url: Option<String>,
    /// Database for the started server: empty for SQLite in a temporary directory.
    #[arg(long, default_value = "")]
    database_url: String,
    /// Characters per message body.
    #[arg(long, default_value_t = 200)]
    body_chars: usize,
    /// Grow the database to this many messages (with their audit entries and events) before
    /// measuring: written straight into the database while the server is stopped.
    #[arg(long, default_value_t = 0)]
    seed_messages: usize,
    /// Run the server on this data directory, kept afterwards, instead of a temporary one:
    /// to seed a large database once and measure on copies of it.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The `hearth` binary to start (default: the one beside this program), e.g. an older
    /// build to compare against.
    #[arg(long)]
    hearth: Option<PathBuf>,
    /// Measure live delivery instead of posting: this many websocket clients listen in one
    /// channel while one member posts `--rate` messages per second (default 50), `--messages`
    /// in all.
    #[arg(long)]
    websockets: Option<usize>,
    /// Measure reads instead of posting: render a channel's page (its newest 50 messages,
    /// signed in) this many times with `--clients` concurrent clients, and read the same 50
    /// messages as JSON as many times, and compare.
    #[arg(long)]
    page_reads: Option<usize>,
    /// Measure a privacy request's cost instead: one person writes `--messages` messages
    /// (with 200 uploads) among `--seed-messages` by others; their copy (`hearth privacy
    /// export`) and their erasure (`hearth privacy erase`) are timed, with peak memory.
    #[arg(long)]
    privacy: bool,
}

// The database URL may hold a password, and a server URL credentials: neither is printed.
hearth_core::debug_fields!(Args {
    messages,
    clients,
    rate,
    body_chars,
    seed_messages,
    data_dir,
    hearth,
    websockets,
    page_reads,
    privacy
});

#[path = "hearth-bench/live.rs"]
mod live;
#[path = "hearth-bench/pages.rs"]
mod pages;
#[path = "hearth-bench/privacy.rs"]
mod privacy;

struct Server {
    child: Option<Child>,
    base: String,
    database_url: String,
    /// How to start it again: the binary, the port and the data directory.
    launch: Option<(PathBuf, u16)>,
    dir: Option<PathBuf>,
    _temporary: Option<tempfile::TempDir>,
}

impl Server {
    fn start(args: &Args) -> anyhow::Result<Self> {
        if let Some(url) = &args.url {
            return Ok(Self {
                child: None,
                base: url.trim_end_matches('/').into(),
                database_url: String::new(),
                launch: None,
                dir: None,
                _temporary: None,
            });
        }
        let (dir, temporary) = match &args.data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                (dir.clone(), None)
            }
            None => {
                let temporary = tempfile::tempdir()?;
                (temporary.path().to_path_buf(), Some(temporary))
            }
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let hearth = match &args.hearth {
            Some(path) => path.clone(),
            None => std::env::current_exe()?.with_file_name("hearth"),
        };
        if !hearth.exists() {
            bail!(
                "{} not found: build it with `cargo build --release`",
                hearth.display()
            );
        }
        let database_url = if args.database_url.is_empty() {
            format!("sqlite://{}", dir.join("hearth.db").display())
        } else {
            args.database_url.clone()
        };
        let mut server = Self {
            child: None,
            base: format!("http://127.0.0.1:{port}"),
            database_url,
            launch: Some((hearth, port)),
            dir: Some(dir),
            _temporary: temporary,
        };
        server.spawn()?;
        Ok(server)
    }

    /// Starts the server process (again) on the same port and database.
    fn spawn(&mut self) -> anyhow::Result<()> {
        let (Some((hearth, port)), Some(dir)) = (&self.launch, &self.dir) else {
            bail!("an external server cannot be started");
        };
        let child = Command::new(hearth)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("HEARTH_DATA_DIR", dir)
            .env("HEARTH_DATABASE_URL", &self.database_url)
            .env("HEARTH_LOG_LEVEL", "warn")
            // Every bench client signs in from this one address.
            .env("HEARTH_SIGN_INS_PER_MINUTE_PER_ADDRESS", "100000")
            // Bench members never read the mail that confirms their address.
            .env("HEARTH_UNCONFIRMED_ACCOUNTS", "full")
            .stdout(Stdio::null())
            .spawn()
            .context("starting hearth serve")?;
        self.child = Some(child);
        Ok(())
    }

    /// The server's process id, when this program started it.
    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server gracefully (SIGTERM) and waits for it.
    fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            Command::new("kill").arg(child.id().to_string()).status()?;
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<Value> {
    let mut request = http.request(method, url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{status}: {value}");
    }
    Ok(value)
}

/// Registers `count` members; the first founds a community and a channel the rest join.
async fn set_up(base: &str, count: usize) -> anyhow::Result<(Vec<String>, String)> {
    let http = reqwest::Client::new();
    let run = std::process::id();
    let mut tokens = Vec::new();
    for i in 0..count {
        let name = format!("bench{run}x{i}");
        let password = format!("{name} long password");
        call(&http, reqwest::Method::POST, format!("{base}/api/v1/accounts"), None,
            json!({ "email": format!("{name}@example.org"), "username": name, "display_name": name, "password": password })).await?;
        let response = http
            .post(format!("{base}/api/v1/sessions"))
            .json(&json!({ "login": name, "password": password }))
            .send()
            .await?;
        let cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string();
        let created: Value = http
            .post(format!("{base}/api/v1/me/tokens"))
            .header("cookie", cookie)
            .json(&json!({ "name": "bench" }))
            .send()
            .await?
            .json()
            .await?;
        tokens.push(created["secret"].as_str().context("no token")?.to_string());
    }
    let owner = tokens[0].as_str();
    let community = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/api/v1/communities"),
        Some(owner),
        json!({ "slug": format!("bench-{run}"), "name": "Bench" }),
    )
    .await?;
    let community = community["id"]
        .as_str()
        .context("no community")?
        .to_string();
    let channel = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/api/v1/communities/{community}/channels"),
        Some(owner),
        json!({ "name": "bench" }),
    )
    .await?;
    let channel = channel["id"].as_str().context("no channel")?.to_string();
    for token in &tokens[1..] {
        call(
            &http,
            reqwest::Method::POST,
            format!("{base}/api/v1/communities/{community}/join"),
            Some(token),
            json!({}),
        )
        .await?;
        call(
            &http,
            reqwest::Method::POST,
            format!("{base}/api/v1/channels/{channel}/members"),
            Some(token),
            json!({}),
        )
        .await?;
    }
    Ok((tokens, channel))
}

fn body_text(i: usize, chars: usize) -> String {
    let mut text = format!("bench message {i}: ");
    while text.len() < chars {
        text.push_str("the quick brown fox jumps over the lazy dog ");
    }
    text.truncate(chars);
    text
}

/// Posts `total` messages from `clients` concurrent clients; returns latencies and wall time.
async fn closed_loop(
    base: &str,
    tokens: &[String],
    channel: &str,
    total: usize,
    chars: usize,
) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for token in tokens {
        let (next, token) = (next.clone(), token.clone());
        let url = format!("{base}/api/v1/channels/{channel}/messages");
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let sent = Instant::now();
                let response = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "body": body_text(i, chars) }))
                    .send()
                    .await?;
                if response.status().as_u16() != 201 {
                    bail!("post failed: {}", response.status());
                }
                latencies.push(sent.elapsed());
            }
            Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok((latencies, started.elapsed()))
}

/// What an open-loop run saw.
struct OpenLoop {
    /// Per post, from the moment it was due to the moment its answer arrived.
    latencies: Vec<Duration>,
    wall: Duration,
    /// How late the generator itself sent each post (it shares the machine with the server).
    send_lag: Vec<Duration>,
    failures: usize,
}

/// Posts `total` messages at `rate` per second, each due at a fixed time whatever became of
/// the ones before: latency counts from when a post was due, not from when it was sent, so a
/// stalled server cannot hide the queue it builds (no coordinated omission).
async fn open_loop(
    base: &str,
    tokens: &[String],
    channel: &str,
    total: usize,
    rate: f64,
    chars: usize,
) -> anyhow::Result<OpenLoop> {
    let clients: Vec<reqwest::Client> = tokens.iter().map(|_| reqwest::Client::new()).collect();
    let url = Arc::new(format!("{base}/api/v1/channels/{channel}/messages"));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    let mut send_lag = Vec::with_capacity(total);
    for i in 0..total {
        let due = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        send_lag.push(due.elapsed());
        let (http, token, url) = (
            clients[i % clients.len()].clone(),
            tokens[i % tokens.len()].clone(),
            url.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let posted = http
                .post(url.as_str())
                .bearer_auth(&token)
                .json(&json!({ "body": body_text(i, chars) }))
                .send()
                .await;
            let ok = posted.is_ok_and(|r| r.status().as_u16() == 201);
            (due.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut failures = 0;
    for task in tasks {
        let (latency, ok) = task.await?;
        latencies.push(latency);
        failures += usize::from(!ok);
    }
    Ok(OpenLoop {
        latencies,
        wall: started.elapsed(),
        send_lag,
        failures,
    })
}

/// Resident memory and CPU time of a process, from /proc.
#[derive(Debug, Clone, Copy)]
struct ProcessStats {
    rss_kib: u64,
    peak_rss_kib: u64,
    /// User plus system time, in seconds.
    cpu_secs: f64,
}

fn process_stats(pid: u32, ticks_per_sec: f64) -> anyhow::Result<ProcessStats> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |key: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(key))
            .with_context(|| format!("no {key} in /proc/{pid}/status"))?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .context("malformed /proc status")?
            .parse()?)
    };
    // Fields after the command name, which may itself hold spaces and parentheses.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("malformed /proc stat")?
        .1
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of the whole line; 12 and 13 after the name.
    let ticks: u64 = fields.get(11).context("no utime")?.parse::<u64>()?
        + fields.get(12).context("no stime")?.parse::<u64>()?;
    Ok(ProcessStats {
        rss_kib: kib("VmRSS:")?,
        peak_rss_kib: kib("VmHWM:")?,
        cpu_secs: ticks as f64 / ticks_per_sec,
    })
}

/// Clock ticks per second, the unit of CPU times in /proc.
fn clock_ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

async fn commit_stats(http: &reqwest::Client, base: &str) -> anyhow::Result<(f64, f64)> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let read = |name: &str| {
        text.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    Ok((
        read("hearth_commit_batch_size_count"),
        read("hearth_commit_batch_size_sum"),
    ))
}

/// Which rows the baseline inserts for each message.
#[derive(Clone, Copy)]
enum Rows {
    /// The message row alone.
    MessageOnly,
    /// Everything the server writes for a post (message, audit entry and event), batched as
    /// the server batches them.
    AsTheServer,
}

/// Inserts `total` messages straight into `database_url` in transactions of `batch`, with the
/// durability the server uses; returns messages per second.
async fn baseline(
    database_url: &str,
    channel: i64,
    author: i64,
    total: usize,
    batch: usize,
    chars: usize,
    rows: Rows,
) -> anyhow::Result<f64> {
    macro_rules! run {
        ($conn:expr, $begin:expr) => {{
            let conn = &mut $conn;
            let mut id: i64 = 9_000_000_000_000_000_000 + match rows { Rows::MessageOnly => 0, Rows::AsTheServer => 100_000_000_000 };
            let started = Instant::now();
            let mut done = 0;
            while done < total {
                let n = batch.min(total - done);
                sqlx::raw_sql($begin).execute(&mut *conn).await?;
                for k in 0..n {
                    id += 1;
                    let mut body = vec![0u8];
                    body.extend_from_slice(body_text(done + k, chars).as_bytes());
                    let now = 1_800_000_000_000i64;
                    sqlx::query("INSERT INTO messages (id, channel_id, author_id, thread_root_id, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(id).bind(channel).bind(author).bind(None::<i64>).bind(&body).bind(now)
                        .execute(&mut *conn).await?;
                }
                if let Rows::AsTheServer = rows {
                    // As the writer does: one multi-row insert per table per transaction.
                    let first = id - n as i64 + 1;
                    let now = 1_800_000_000_000i64;
                    let audit_sql = hearth_store::multi_row_insert("audit_log (id, at, actor_id, action, object_kind, object_id, community_id)", 7, n);
                    let mut audit = sqlx::query(sqlx::AssertSqlSafe(audit_sql.as_str())).persistent(false);
                    for m in first..=id {
                        audit = audit.bind(m).bind(now).bind(Some(author)).bind("message.posted").bind("message").bind(Some(m)).bind(None::<i64>);
                    }
                    audit.execute(&mut *conn).await?;
                    // Numbered from the counter in commit order, as the writer numbers them.
                    let (last,): (i64,) = sqlx::query_as("UPDATE event_sequence SET last = last + $1 WHERE id = 1 RETURNING last")
                        .bind(n as i64).fetch_one(&mut *conn).await?;
                    let events_sql = hearth_store::multi_row_insert("events (seq, channel_id, kind, object_id, at)", 5, n);
                    let mut events = sqlx::query(sqlx::AssertSqlSafe(events_sql.as_str())).persistent(false);
                    for (k, m) in (first..=id).enumerate() {
                        events = events.bind(last - n as i64 + 1 + k as i64).bind(channel).bind("message.posted").bind(m).bind(now);
                    }
                    events.execute(&mut *conn).await?;
                }
                sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
                done += n;
            }
            total as f64 / started.elapsed().as_secs_f64()
        }};
    }
    if database_url.starts_with("sqlite:") {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)?
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
            .foreign_keys(true)
            .pragma("secure_delete", "on");
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
        Ok(run!(conn, "BEGIN IMMEDIATE"))
    } else {
        let options = sqlx::postgres::PgConnectOptions::from_str(database_url)?
            .options([("synchronous_commit", "on")]);
        let mut conn = sqlx::PgConnection::connect_with(&options).await?;
        Ok(run!(conn, "BEGIN"))
    }
}

async fn first_author_and_channel(database_url: &str, channel: &str) -> anyhow::Result<(i64, i64)> {
    let channel: i64 = channel.parse()?;
    let sql = "SELECT user_id FROM channel_members WHERE channel_id = $1 ORDER BY user_id LIMIT 1";
    let (author,): (i64,) = if database_url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(database_url).await?;
        sqlx::query_as(sql)
            .bind(channel)
            .fetch_one(&mut conn)
            .await?
    } else {
        let mut conn = sqlx::PgConnection::connect(database_url).await?;
        sqlx::query_as(sql)
            .bind(channel)
            .fetch_one(&mut conn)
            .await?
    };
    Ok((author, channel))
}

/// Messages per multi-row insert while seeding; each message also brings an audit entry and
/// an event, as a post through the server does.
const SEED_ROWS_PER_INSERT: usize = 1000;
/// Multi-row inserts per seeding transaction.
const SEED_INSERTS_PER_TRANSACTION: usize = 20;

/// Grows the database to `total` more messages, straight into its tables while the server is
/// stopped: spread over every channel of the bench's community and every bench member, each
/// with the audit entry and the event the server writes for a post, older than anything the
/// server will write next. Returns how long it took.
async fn seed(
    database_url: &str,
    channel: &str,
    total: usize,
    chars: usize,
) -> anyhow::Result<Duration> {
    use hearth_core::audit::{AuditAction, ObjectKind};
    use hearth_core::{IdGenerator, Timestamp, UserId};
    use hearth_store::{PlainSealer, Sealer, multi_row_insert};
    let channel: i64 = channel.parse()?;
    macro_rules! run {
        ($conn:expr) => {{
            let conn = &mut $conn;
            let (community,): (Option<i64>,) =
                sqlx::query_as("SELECT community_id FROM channels WHERE id = $1")
                    .bind(channel).fetch_one(&mut *conn).await?;
            let channels: Vec<(i64,)> = sqlx::query_as("SELECT id FROM channels WHERE community_id = $1 ORDER BY id")
                .bind(community).fetch_all(&mut *conn).await?;
            let authors: Vec<(i64,)> = sqlx::query_as("SELECT user_id FROM channel_members WHERE channel_id = $1 ORDER BY user_id")
                .bind(channel).fetch_all(&mut *conn).await?;
            anyhow::ensure!(!authors.is_empty(), "the bench channel has no members");
            let now = Timestamp::now().millis();
            // Authors belong to every channel they write in.
            sqlx::raw_sql("BEGIN").execute(&mut *conn).await?;
            for &(c,) in &channels {
                for &(a,) in &authors {
                    sqlx::query("INSERT INTO channel_members (channel_id, user_id, joined_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                        .bind(c).bind(a).bind(now).execute(&mut *conn).await?;
                }
            }
            sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
            // One message per millisecond, ending a minute ago, from nodes the server is not.
            let first_ms = now - 60_000 - total as i64;
            let (mut message_ids, mut audit_ids) = (IdGenerator::new(1023), IdGenerator::new(1022));
            let posted = AuditAction::MessagePosted.code();
            let kind = ObjectKind::Message.code();
            let mut done = 0;
            let mut inserts = 0;
            sqlx::raw_sql("BEGIN").execute(&mut *conn).await?;
            while done < total {
                let n = SEED_ROWS_PER_INSERT.min(total - done);
                let rows: Vec<(i64, i64, i64, i64, i64)> = (done..done + n)
                    .map(|k| {
                        let at = first_ms + k as i64;
                        let (c,) = channels[k % channels.len()];
                        let (a,) = authors[k % authors.len()];
                        (message_ids.next(at), audit_ids.next(at), c, a, at)
                    })
                    .collect();
                let sql = multi_row_insert("messages (id, channel_id, author_id, body, created_at)", 5, n);
                let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (k, &(id, _, c, a, at)) in rows.iter().enumerate() {
                    let body = PlainSealer.seal(UserId(a), &body_text(done + k, chars));
                    insert = insert.bind(id).bind(c).bind(a).bind(body).bind(at);
                }
                insert.execute(&mut *conn).await?;
                // The search index's copy of each text, as the server writes it.
                let sql = multi_row_insert("message_search (message_id, channel_id, author_id, body)", 4, n);
                let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (k, &(id, _, c, a, _)) in rows.iter().enumerate() {
                    insert = insert.bind(id).bind(c).bind(a).bind(body_text(done + k, chars));
                }
                insert.execute(&mut *conn).await?;
                let sql = multi_row_insert("audit_log (id, at, actor_id, action, object_kind, object_id, community_id)", 7, n);
                let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
                for &(id, audit_id, _, a, at) in &rows {
                    insert = insert.bind(audit_id).bind(at).bind(Some(a)).bind(posted).bind(kind).bind(Some(id)).bind(community);
                }
                insert.execute(&mut *conn).await?;
                // Numbered from the counter, as the server numbers them.
                let (last,): (i64,) = sqlx::query_as(
                    "UPDATE event_sequence SET last = last + $1 WHERE id = 1 RETURNING last")
                    .bind(n as i64).fetch_one(&mut *conn).await?;
                let sql = multi_row_insert("events (seq, channel_id, kind, object_id, at)", 5, n);
                let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (k, &(id, _, c, _, at)) in rows.iter().enumerate() {
                    let seq = last - n as i64 + 1 + k as i64;
                    insert = insert.bind(seq).bind(c).bind(posted).bind(id).bind(at);
                }
                insert.execute(&mut *conn).await?;
                done += n;
                inserts += 1;
                if inserts % SEED_INSERTS_PER_TRANSACTION == 0 || done == total {
                    sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
                    if done < total {
                        sqlx::raw_sql("BEGIN").execute(&mut *conn).await?;
                    }
                }
            }
        }};
    }
    let started = Instant::now();
    if database_url.starts_with("sqlite:") {
        // Seeding is set-up, not measured: no flush per transaction, one at the end.
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)?
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Off)
            .foreign_keys(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
        run!(conn);
        sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        // Otherwise the kernel writes the seeded pages back during the measured run.
        if let Some(path) = database_url.strip_prefix("sqlite://") {
            std::fs::File::open(path)?.sync_all()?;
        }
    } else {
        let mut conn = sqlx::PgConnection::connect(database_url).await?;
        run!(conn);
        // Fresh statistics, as autovacuum would gather on a database that grew by itself.
        sqlx::raw_sql("ANALYZE").execute(&mut conn).await?;
        // Flush the seeded pages now rather than in the measured run (needs the privilege;
        // without it, the server's own checkpoints catch up later).
        if let Err(error) = sqlx::raw_sql("CHECKPOINT").execute(&mut conn).await {
            println!("(could not CHECKPOINT after seeding: {error})");
        }
        conn.close().await?;
    }
    Ok(started.elapsed())
}

/// `--privacy`: one person's copy and erasure on a grown database.
async fn privacy_bench(args: &Args, server: &mut Server) -> anyhow::Result<()> {
    let (Some((hearth, _)), Some(dir)) = (server.launch.clone(), server.dir.clone()) else {
        bail!("--privacy needs a server this program starts");
    };
    let (_, channel) = set_up(&server.base, 2).await?;
    let http = reqwest::Client::new();
    let name = format!("benchperson{}", std::process::id());
    call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/v1/accounts", server.base),
        None,
        json!({ "email": format!("{name}@example.org"), "username": name,
                "display_name": "Bench Person", "password": format!("{name} long password") }),
    )
    .await?;
    server.stop()?;
    if args.seed_messages > 0 {
        let took = seed(
            &server.database_url,
            &channel,
            args.seed_messages,
            args.body_chars,
        )
        .await?;
        println!(
            "seeded {} messages by others in {:.1} s",
            args.seed_messages,
            took.as_secs_f64()
        );
    }
    let person = privacy::user_id(&server.database_url, &name).await?;
    let took = privacy::seed_person(
        &server.database_url,
        &dir.join("uploads"),
        person,
        channel.parse()?,
        args.messages,
        args.body_chars,
    )
    .await?;
    println!(
        "the person: {} messages and {} uploads, seeded in {:.1} s",
        args.messages,
        privacy::UPLOADS,
        took.as_secs_f64()
    );
    if let Some((db, wal)) = sqlite_file_sizes(&server.database_url) {
        println!(
            "database: {:.0} MiB (write-ahead log {:.0} MiB)",
            db as f64 / 1048576.0,
            wal as f64 / 1048576.0
        );
    }
    let db = server.database_url.clone();
    // What any command costs to start: open the store, check the schema, load the key.
    let idle = privacy::run_measured(&hearth, &dir, &db, &["jobs", "list", "--limit", "1"])?;
    let copy = privacy::copy_path(&dir);
    let out = copy.display().to_string();
    let export = privacy::run_measured(
        &hearth,
        &dir,
        &db,
        &["privacy", "export", &name, "--out", &out, "--everything"],
    )?;
    let copy_bytes = std::fs::metadata(&copy).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_file(&copy);
    let erase = privacy::run_measured(&hearth, &dir, &db, &["privacy", "erase", &name, "--yes"])?;
    let rate = |d: Duration| args.messages as f64 / d.as_secs_f64();
    println!(
        "a command's start-up alone: {:.3} s, peak {:.1} MiB",
        idle.wall.as_secs_f64(),
        mib(idle.peak_rss_kib)
    );
    for (what, run) in [("export", &export), ("erase", &erase)] {
        let net = run.wall.saturating_sub(idle.wall);
        println!(
            "{what:<6} {:>7.3} s ({:.3} s past start-up, {:>8.0} messages/s)   peak {:.1} MiB",
            run.wall.as_secs_f64(),
            net.as_secs_f64(),
            rate(net.max(Duration::from_millis(1))),
            mib(run.peak_rss_kib)
        );
    }
    println!("the copy: {:.1} MiB", copy_bytes as f64 / 1048576.0);
    print!("{}", erase.stdout.lines().next().unwrap_or_default());
    println!();
    // With RUST_LOG set (say `hearth_store=debug`), the commands' logs: each erasure step's
    // statement, rows and milliseconds.
    if std::env::var_os("RUST_LOG").is_some() {
        for (what, run) in [("export", &export), ("erase", &erase)] {
            println!("--- {what}'s log");
            print!("{}", run.stderr);
        }
    }
    Ok(())
}

/// The sizes of the SQLite database file and its write-ahead log, in bytes.
fn sqlite_file_sizes(database_url: &str) -> Option<(u64, u64)> {
    let path = database_url.strip_prefix("sqlite://")?;
    let size = |p: String| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    Some((size(path.to_string()), size(format!("{path}-wal"))))
}

async fn wait_until_up(base: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the server at {base} did not become ready")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // reqwest's TLS (enabled for Hearth's own identity-provider client) takes the process's
    // crypto provider: ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    anyhow::ensure!(
        args.clients >= 1 && args.messages >= 1,
        "need at least one client and one message"
    );
    let mut server = Server::start(&args)?;
    wait_until_up(&server.base).await?;
    let engine = if server.database_url.starts_with("postgres") {
        "PostgreSQL, synchronous_commit=on"
    } else if server.database_url.is_empty() {
        "external server"
    } else {
        "SQLite, WAL, synchronous=FULL"
    };
    println!(
        "hearth-bench: {} messages of {} characters, {} clients, {engine}",
        args.messages, args.body_chars, args.clients
    );

    if let Some(sockets) = args.websockets {
        let (tokens, channel) = set_up(&server.base, 2).await?;
        let pid = server
            .pid()
            .context("--websockets needs a server this program starts")?;
        let ticks = clock_ticks_per_sec();
        let rss = || process_stats(pid, ticks).map(|s| s.rss_kib);
        let rate = args.rate.unwrap_or(50.0);
        let report = live::run(
            &server.base,
            (&tokens[0], &tokens[1]),
            &channel,
            (sockets, args.messages, rate),
            rss,
        )
        .await?;
        let per_socket =
            (report.rss_idle_kib as f64 - report.rss_before_kib as f64) / report.clients as f64;
        println!(
            "live delivery: {} clients, {} messages at {rate}/s: p50 {:.2} ms   p99 {:.2} ms   \
             max {:.2} ms   missing {}",
            report.clients,
            report.posted,
            percentile(&report.latencies, 0.50),
            percentile(&report.latencies, 0.99),
            report
                .latencies
                .last()
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0),
            report.missing
        );
        println!(
            "server memory: {:.1} MiB before the sockets, {:.1} MiB with all idle: {per_socket:.1} KiB \
             per idle connection",
            mib(report.rss_before_kib),
            mib(report.rss_idle_kib)
        );
        server.stop()?;
        return Ok(());
    }
    if args.privacy {
        return privacy_bench(&args, &mut server).await;
    }
    if let Some(reads) = args.page_reads {
        let (tokens, channel) = set_up(&server.base, 1).await?;
        if args.seed_messages > 0 {
            server.stop()?;
            let took = seed(
                &server.database_url,
                &channel,
                args.seed_messages,
                args.body_chars,
            )
            .await?;
            println!(
                "seeded {} messages in {:.1} s",
                args.seed_messages,
                took.as_secs_f64()
            );
            server.spawn()?;
            wait_until_up(&server.base).await?;
        }
        let http = reqwest::Client::new();
        for i in 0..60 {
            call(
                &http,
                reqwest::Method::POST,
                format!("{}/api/v1/channels/{channel}/messages", server.base),
                Some(&tokens[0]),
                json!({ "body": format!("message {i}: {}", "page bench ".repeat(args.body_chars / 11)) }),
            )
            .await?;
        }
        let name = format!("bench{}x0", std::process::id());
        let signed_in = http
            .post(format!("{}/api/v1/sessions", server.base))
            .json(&json!({ "login": name, "password": format!("{name} long password") }))
            .send()
            .await?;
        let cookie = signed_in
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .context("no session cookie")?
            .to_string();
        let (api, page) = pages::run(
            &server.base,
            (&tokens[0], &cookie),
            &channel,
            args.clients,
            reads,
        )
        .await?;
        for (what, reads) in [("JSON history (50)", &api), ("channel page (50)", &page)] {
            println!(
                "{what:<18} {:>8.0} reads/s   p50 {:.2} ms   p99 {:.2} ms",
                reads.rate,
                percentile(&reads.latencies, 0.50),
                percentile(&reads.latencies, 0.99)
            );
        }
        println!(
            "ratio: the channel page renders at {:.1}% of the JSON history's rate",
            100.0 * page.rate / api.rate
        );
        server.stop()?;
        return Ok(());
    }
    let (tokens, channel) = set_up(&server.base, args.clients).await?;
    if args.seed_messages > 0 {
        anyhow::ensure!(
            server.pid().is_some(),
            "--seed-messages needs a server this program starts"
        );
        server.stop()?;
        let took = seed(
            &server.database_url,
            &channel,
            args.seed_messages,
            args.body_chars,
        )
        .await?;
        println!(
            "seeded {} messages (with their audit entries and events) in {:.1} s",
            args.seed_messages,
            took.as_secs_f64()
        );
        server.spawn()?;
        wait_until_up(&server.base).await?;
    }
    // Warm up connections, caches and the writer.
    closed_loop(
        &server.base,
        &tokens,
        &channel,
        args.clients * 20,
        args.body_chars,
    )
    .await?;

    let http = reqwest::Client::new();
    let ticks = clock_ticks_per_sec();
    let stats_before = server
        .pid()
        .map(|pid| process_stats(pid, ticks))
        .transpose()?;
    let (commits_before, jobs_before) = commit_stats(&http, &server.base).await?;
    let (mut latencies, wall, lag) = match args.rate {
        Some(rate) => {
            let run = open_loop(
                &server.base,
                &tokens,
                &channel,
                args.messages,
                rate,
                args.body_chars,
            )
            .await?;
            anyhow::ensure!(run.failures == 0, "{} posts failed", run.failures);
            (run.latencies, run.wall, Some(run.send_lag))
        }
        None => {
            let (latencies, wall) = closed_loop(
                &server.base,
                &tokens,
                &channel,
                args.messages,
                args.body_chars,
            )
            .await?;
            (latencies, wall, None)
        }
    };
    let (commits_after, jobs_after) = commit_stats(&http, &server.base).await?;
    let stats_after = server
        .pid()
        .map(|pid| process_stats(pid, ticks))
        .transpose()?;
    latencies.sort();
    let rate = args.messages as f64 / wall.as_secs_f64();
    let commits = (commits_after - commits_before).max(1.0);
    let mean_batch = (jobs_after - jobs_before) / commits;
    println!(
        "server over HTTP:  {rate:>9.0} msgs/s   p50 {:.2} ms   p99 {:.2} ms   p99.9 {:.2} ms   max {:.2} ms   ({} commits, mean batch {mean_batch:.1} writes){}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 0.999),
        percentile(&latencies, 1.0),
        commits as u64,
        args.rate
            .map(|r| format!(", open loop at {r} msgs/s, latency from each post's scheduled time"))
            .unwrap_or_default()
    );
    if let Some(mut lag) = lag {
        lag.sort();
        println!(
            "load generator:    sent p99 {:.2} ms and at most {:.2} ms behind schedule (it shares the machine)",
            percentile(&lag, 0.99),
            percentile(&lag, 1.0)
        );
    }
    if let (Some(before), Some(after)) = (stats_before, stats_after) {
        println!(
            "server process:    resident {:.1} MiB before the run, {:.1} MiB after, peak {:.1} MiB; CPU {:.3} ms per post (user + system)",
            mib(before.rss_kib),
            mib(after.rss_kib),
            mib(after.peak_rss_kib),
            1000.0 * (after.cpu_secs - before.cpu_secs) / args.messages as f64
        );
    }
    if let Some((db, wal)) = sqlite_file_sizes(&server.database_url) {
        println!(
            "database files:    hearth.db {:.1} MiB, hearth.db-wal {:.1} MiB",
            db as f64 / 1048576.0,
            wal as f64 / 1048576.0
        );
    }
    if server.child.is_none() {
        println!("(no baseline against an external server)");
        return Ok(());
    }
    server.stop()?;

    let batch = mean_batch.round().max(1.0) as usize;
    let (author, channel_id) = first_author_and_channel(&server.database_url, &channel).await?;
    let message_only = baseline(
        &server.database_url,
        channel_id,
        author,
        args.messages,
        batch,
        args.body_chars,
        Rows::MessageOnly,
    )
    .await?;
    let full = baseline(
        &server.database_url,
        channel_id,
        author,
        args.messages,
        batch,
        args.body_chars,
        Rows::AsTheServer,
    )
    .await?;
    println!(
        "baseline inserts:  {message_only:>9.0} msgs/s   (message row only, {batch} per transaction)"
    );
    println!(
        "baseline inserts:  {full:>9.0} msgs/s   (message + audit + event rows, as the server writes them, {batch} per transaction)"
    );
    println!(
        "ratio: server is {:.1}% of the message-row baseline and {:.1}% of the same-rows baseline",
        100.0 * rate / message_only,
        100.0 * rate / full
    );
    Ok(())
}
