//! `hearth-bench --privacy`: what one person's copy of their data and their erasure cost, on a
//! database grown around them. The person writes `--messages` messages (default 100,000) and
//! uploads 200 files; the database around them holds `--seed-messages` more by others. Both
//! run as the operator's commands (`hearth privacy export` and `hearth privacy erase`), each
//! measured for its wall time and the peak memory of its process.

use anyhow::{Context, bail};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::{IdGenerator, Timestamp, UserId};
use hearth_store::{PlainSealer, Sealer, multi_row_insert};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Files the person uploaded, each attached to one of their messages.
pub(crate) const UPLOADS: usize = 200;
/// Bytes per uploaded file.
const UPLOAD_BYTES: usize = 32 * 1024;
/// Messages per multi-row insert.
const ROWS_PER_INSERT: usize = 1000;

/// How one command went.
pub(crate) struct Measured {
    pub(crate) wall: Duration,
    pub(crate) peak_rss_kib: u64,
    pub(crate) stdout: String,
    /// What it wrote on standard error: its log (`RUST_LOG` passes on to it).
    pub(crate) stderr: String,
}

/// Runs `hearth` with `args` against the bench's database and data directory, sampling its
/// peak memory from /proc until it exits.
pub(crate) fn run_measured(
    hearth: &Path,
    dir: &Path,
    database_url: &str,
    args: &[&str],
) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let child = Command::new(hearth)
        .args(args)
        .env("HEARTH_DATA_DIR", dir)
        .env("HEARTH_DATABASE_URL", database_url)
        .env("HEARTH_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting hearth {args:?}"))?;
    let pid = child.id();
    let mut peak = 0;
    let sampler = std::thread::spawn(move || {
        loop {
            let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
                return peak;
            };
            // A finished child that was not reaped yet has no memory lines: stop there.
            let Some(hwm) = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            else {
                return peak;
            };
            peak = peak.max(hwm);
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    let output = child.wait_with_output()?;
    let wall = started.elapsed();
    let peak_rss_kib = sampler.join().unwrap_or(0);
    if !output.status.success() {
        bail!(
            "hearth {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(Measured {
        wall,
        peak_rss_kib,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Gives the person `messages` messages in `channel` and [`UPLOADS`] files attached to the
/// first of them, with the audit entries, events and search copies the server writes, straight
/// into the database (the server is stopped), and the files into the blob store.
pub(crate) async fn seed_person(
    database_url: &str,
    uploads_dir: &Path,
    person: i64,
    channel: i64,
    messages: usize,
    chars: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let folder = uploads_dir.join(person.to_string());
    std::fs::create_dir_all(&folder)?;
    macro_rules! run {
        ($conn:expr) => {{
            let conn = &mut $conn;
            let now = Timestamp::now().millis();
            sqlx::raw_sql("BEGIN").execute(&mut *conn).await?;
            sqlx::query("INSERT INTO community_members (community_id, user_id, role, joined_at) \
                         SELECT community_id, $2, 'member', $3 FROM channels WHERE id = $1 \
                         ON CONFLICT DO NOTHING")
                .bind(channel).bind(person).bind(now).execute(&mut *conn).await?;
            sqlx::query("INSERT INTO channel_members (channel_id, user_id, joined_at) \
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(channel).bind(person).bind(now).execute(&mut *conn).await?;
            // Spread over the last year, ending a minute ago, from nodes the server is not.
            let span = 364 * 24 * 3600 * 1000_i64;
            let step = (span / messages.max(1) as i64).max(1);
            let first_ms = now - 60_000 - span;
            let (mut ids, mut audit_ids) = (IdGenerator::new(1021), IdGenerator::new(1020));
            let posted = AuditAction::MessagePosted.code();
            let kind = ObjectKind::Message.code();
            let mut first_message = None;
            let mut done = 0;
            while done < messages {
                let n = ROWS_PER_INSERT.min(messages - done);
                let rows: Vec<(i64, i64, i64)> = (done..done + n)
                    .map(|k| {
                        let at = first_ms + k as i64 * step;
                        (ids.next(at), audit_ids.next(at), at)
                    })
                    .collect();
                first_message.get_or_insert(rows[0].0);
                let text = |k: usize| format!("person {k}: {}", "privacy bench ".repeat(chars / 14));
                let sql = multi_row_insert("messages (id, channel_id, author_id, body, created_at)", 5, n);
                let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (k, &(id, _, at)) in rows.iter().enumerate() {
                    let body = PlainSealer.seal(UserId(person), &text(done + k));
                    insert = insert.bind(id).bind(channel).bind(person).bind(body).bind(at);
                }
                insert.execute(&mut *conn).await?;
                let sql = multi_row_insert("message_search (message_id, channel_id, author_id, body)", 4, n);
                let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (k, &(id, _, _)) in rows.iter().enumerate() {
                    insert = insert.bind(id).bind(channel).bind(person).bind(text(done + k));
                }
                insert.execute(&mut *conn).await?;
                let sql = multi_row_insert("audit_log (id, at, actor_id, action, object_kind, object_id, community_id)", 7, n);
                let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
                for &(id, audit_id, at) in &rows {
                    insert = insert.bind(audit_id).bind(at).bind(Some(person)).bind(posted)
                        .bind(kind).bind(Some(id)).bind(None::<i64>);
                }
                insert.execute(&mut *conn).await?;
                let (last,): (i64,) = sqlx::query_as(
                    "UPDATE event_sequence SET last = last + $1 WHERE id = 1 RETURNING last")
                    .bind(n as i64).fetch_one(&mut *conn).await?;
                let sql = multi_row_insert("events (seq, channel_id, kind, object_id, at)", 5, n);
                let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (k, &(id, _, at)) in rows.iter().enumerate() {
                    let seq = last - n as i64 + 1 + k as i64;
                    insert = insert.bind(seq).bind(channel).bind(posted).bind(id).bind(at);
                }
                insert.execute(&mut *conn).await?;
                done += n;
                if done % (ROWS_PER_INSERT * 20) == 0 || done == messages {
                    sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
                    sqlx::raw_sql("BEGIN").execute(&mut *conn).await?;
                }
            }
            let message = first_message.context("the person wrote nothing")?;
            let mut upload_ids = IdGenerator::new(1019);
            for k in 0..UPLOADS {
                let id = upload_ids.next(now);
                let bytes: Vec<u8> = (0..UPLOAD_BYTES).map(|i| b"upload "[(i + k) % 7]).collect();
                std::fs::write(folder.join(id.to_string()), &bytes)?;
                sqlx::query("INSERT INTO uploads (id, owner_id, channel_id, message_id, file_name, \
                             media_type, size, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(id).bind(person).bind(channel).bind(message)
                    .bind(format!("notes-{k}.txt")).bind("text/plain")
                    .bind(UPLOAD_BYTES as i64).bind(now - 60_000)
                    .execute(&mut *conn).await?;
            }
            sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
        }};
    }
    if database_url.starts_with("sqlite:") {
        use sqlx::ConnectOptions;
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)?
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Off)
            .foreign_keys(true);
        let mut conn = options.connect().await?;
        run!(conn);
        sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await?;
    } else {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(database_url).await?;
        run!(conn);
        sqlx::raw_sql("ANALYZE").execute(&mut conn).await?;
        let _ = sqlx::raw_sql("CHECKPOINT").execute(&mut conn).await;
    }
    Ok(started.elapsed())
}

/// The id of the account named `username`.
pub(crate) async fn user_id(database_url: &str, username: &str) -> anyhow::Result<i64> {
    use sqlx::Connection;
    let sql = "SELECT id FROM users WHERE username = $1";
    let (id,): (i64,) = if database_url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(database_url).await?;
        sqlx::query_as(sql)
            .bind(username)
            .fetch_one(&mut conn)
            .await?
    } else {
        let mut conn = sqlx::PgConnection::connect(database_url).await?;
        sqlx::query_as(sql)
            .bind(username)
            .fetch_one(&mut conn)
            .await?
    };
    Ok(id)
}

/// Where the copy is written, beside the data directory.
pub(crate) fn copy_path(dir: &Path) -> PathBuf {
    dir.join(format!("bench-copy-{}.zip", std::process::id()))
}
