//! Durable, grouped commits: concurrent posts share transactions, every acknowledged post is
//! on disk, and a shutdown finishes in-flight writes.

use crate::harness::{Backend, TestServer, on_both_backends};
use serde_json::json;

on_both_backends!(
    callers_are_told_the_truth_about_every_write_in_a_batch,
    concurrent_posts_are_all_stored_and_share_commits,
    acknowledged_posts_survive_a_graceful_shutdown,
    the_store_runs_with_the_durability_settings_it_promises,
    posts_written_together_each_get_their_own_answer_audit_entry_and_event,
);

/// Posts by a member and by someone who has not joined the channel arrive together, beside
/// edits (ordinary jobs) in the same batches: each post gets its own answer, and exactly the
/// written ones have their message, one audit entry and one event, the feed numbered without
/// a gap. On PostgreSQL the posts share their batches' final statements (see the store's
/// posting lane), so this checks that statement's bookkeeping.
async fn posts_written_together_each_get_their_own_answer_audit_entry_and_event(backend: Backend) {
    use hearth_core::UserId;
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let community = alice.create_community("together").await;
    bob.join(&community).await;
    let channel = alice.create_channel(&community, "inner", "public").await;
    let general = alice.general_channel(&community).await;
    let edited = alice.say(&general, "edit me").await;
    let start = {
        let mut reader = server.app().store().reader().await.unwrap();
        reader.conn().last_event_seq().await.unwrap()
    };

    let mut tasks = Vec::new();
    for i in 0..120 {
        let (client, path, method, body) = match i % 4 {
            // Bob belongs to the community but not to the channel.
            0 => (
                bob.client.clone(),
                format!("/api/v1/channels/{channel}/messages"),
                reqwest::Method::POST,
                json!({ "body": format!("refused {i}") }),
            ),
            1 => (
                alice.client.clone(),
                format!("/api/v1/messages/{edited}"),
                reqwest::Method::PATCH,
                json!({ "body": format!("edit {i}") }),
            ),
            _ => (
                alice.client.clone(),
                format!("/api/v1/channels/{channel}/messages"),
                reqwest::Method::POST,
                json!({ "body": format!("together {i}") }),
            ),
        };
        tasks.push(tokio::spawn(async move {
            let answer = client.request(method, &path, Some(body)).await;
            (i, answer)
        }));
    }
    let mut posted = std::collections::BTreeMap::new();
    for task in tasks {
        let (i, answer) = task.await.unwrap();
        match i % 4 {
            0 => {
                assert_eq!(answer.status, 403, "{:?}", answer.body);
                assert_eq!(answer.body["detail"], "join the channel to post in it");
            }
            1 => assert_eq!(answer.status, 200, "{:?}", answer.body),
            _ => {
                assert_eq!(answer.status, 201, "{:?}", answer.body);
                assert_eq!(answer.body["body"], format!("together {i}"));
                posted.insert(answer.str("id"), format!("together {i}"));
            }
        }
    }
    assert_eq!(posted.len(), 60);

    // The channel holds exactly the posts that were answered 201, with their text.
    let history = alice
        .get(&format!("/api/v1/channels/{channel}/messages?limit=200"))
        .await
        .expect_status(200);
    let stored: std::collections::BTreeMap<String, String> = history.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["author_id"], alice.id.as_str());
            (
                m["id"].as_str().unwrap().to_string(),
                m["body"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(stored, posted);

    // One audit entry per written post, naming the community; none for the refused ones.
    let alice_id = UserId(alice.id.parse().unwrap());
    let bob_id = UserId(bob.id.parse().unwrap());
    let entries = server.app().audit_by_actor(alice_id, 1000).await.unwrap();
    let community_id: i64 = community.parse().unwrap();
    for id in posted.keys() {
        let id: i64 = id.parse().unwrap();
        let about: Vec<_> = entries
            .iter()
            .filter(|e| e.object_id == Some(id) && e.action == "message.posted")
            .collect();
        assert_eq!(about.len(), 1, "audit entries for message {id}: {about:?}");
        assert_eq!(about[0].object_kind, "message");
        assert_eq!(about[0].community_id, Some(community_id));
    }
    let bob_entries = server.app().audit_by_actor(bob_id, 1000).await.unwrap();
    assert!(
        bob_entries.iter().all(|e| e.action != "message.posted"),
        "{bob_entries:?}"
    );

    // One event per written post and per edit, numbered one after another.
    let events = {
        let mut reader = server.app().store().reader().await.unwrap();
        reader.conn().events_after(start, 10_000).await.unwrap()
    };
    assert_eq!(events.len(), 60 + 30, "{events:?}");
    for (n, event) in events.iter().enumerate() {
        assert_eq!(
            event.seq,
            start + 1 + n as i64,
            "a gap in the feed: {events:?}"
        );
    }
    for id in posted.keys() {
        let id: i64 = id.parse().unwrap();
        let about: Vec<_> = events.iter().filter(|e| e.object_id == id).collect();
        assert_eq!(about.len(), 1, "events for message {id}: {about:?}");
        assert_eq!(about[0].kind, "message.posted");
        assert_eq!(about[0].channel_id, channel.parse::<i64>().unwrap());
    }
    // Every post was written by the lane it took: none fell back after a failed statement
    // (which would hide a fault in that statement behind the ordinary path).
    let metrics = server.metrics().await;
    assert_eq!(
        crate::harness::metric_value(&metrics, "hearth_posts_set_aside_total"),
        0.0
    );
}

async fn concurrent_posts_are_all_stored_and_share_commits(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let community = alice.create_community("busy").await;
    let channel = alice.create_channel(&community, "firehose", "public").await;
    let metrics_before = server.metrics().await;

    let mut tasks = Vec::new();
    for worker in 0..16 {
        let client = alice.client.clone();
        let channel = channel.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..25 {
                ids.push(
                    client
                        .say(&channel, &format!("worker {worker} message {i}"))
                        .await,
                );
            }
            ids
        }));
    }
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.unwrap());
    }
    assert_eq!(acknowledged.len(), 400);

    let mut stored = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let path = match &before {
            Some(b) => format!("/api/v1/channels/{channel}/messages?limit=200&before={b}"),
            None => format!("/api/v1/channels/{channel}/messages?limit=200"),
        };
        let page = alice.get(&path).await.expect_status(200);
        stored.extend(
            page.body["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_string()),
        );
        match page.body["next_before"].as_str() {
            Some(b) => before = Some(b.to_string()),
            None => break,
        }
    }
    acknowledged.sort();
    stored.sort();
    assert_eq!(stored, acknowledged);

    // Fewer commits than writes: concurrent posts were grouped.
    let metrics = server.metrics().await;
    let batches = crate::harness::metric_value(&metrics, "hearth_commit_batch_size_count")
        - crate::harness::metric_value(&metrics_before, "hearth_commit_batch_size_count");
    let jobs = crate::harness::metric_value(&metrics, "hearth_commit_batch_size_sum")
        - crate::harness::metric_value(&metrics_before, "hearth_commit_batch_size_sum");
    assert!(jobs >= 400.0, "jobs {jobs}");
    assert!(
        batches < jobs,
        "every write had a commit of its own: {batches} commits for {jobs} writes"
    );
}

async fn acknowledged_posts_survive_a_graceful_shutdown(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let community = alice.create_community("restart").await;
    let channel = alice.create_channel(&community, "log", "public").await;
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        acknowledged.push(alice.say(&channel, &format!("entry {i}")).await);
    }
    // Posts in flight while the server stops either complete or are refused, never lost.
    let mut in_flight = Vec::new();
    for i in 0..20 {
        let client = alice.client.clone();
        let channel = channel.clone();
        in_flight.push(tokio::spawn(async move {
            let response = client
                .http
                .post(format!(
                    "{}/api/v1/channels/{channel}/messages",
                    client.base
                ))
                .bearer_auth(match &client.auth {
                    crate::harness::Auth::Bearer(t) => t.clone(),
                    _ => String::new(),
                })
                .json(&json!({ "body": format!("late {i}") }))
                .send()
                .await;
            match response {
                Ok(r) if r.status().as_u16() == 201 => {
                    let body: serde_json::Value = r.json().await.unwrap_or_default();
                    body["id"].as_str().map(str::to_string)
                }
                _ => None,
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    server.stop().await;
    for task in in_flight {
        if let Some(id) = task.await.unwrap() {
            acknowledged.push(id);
        }
    }

    // A new server on the same database sees every acknowledged post.
    let config = server.config.clone();
    let restarted = hearth::server::start(&config).await.unwrap();
    let base = format!("http://{}", restarted.addr);
    let mut client = alice.client.clone();
    client.base = base;
    let mut stored = Vec::new();
    let history = client
        .get(&format!("/api/v1/channels/{channel}/messages?limit=200"))
        .await
        .expect_status(200);
    stored.extend(
        history.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string()),
    );
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged message {id} was lost");
    }
    restarted.stop().await.unwrap();
}

/// Jobs that succeed, jobs that fail before writing, jobs that break the single-statement
/// promise (write, then fail) and jobs that swallow a failed statement all run at once, so
/// that they share batches. Whatever the
/// batching, a caller told "done" finds its row, and a caller told "failed" finds none.
async fn callers_are_told_the_truth_about_every_write_in_a_batch(backend: Backend) {
    use hearth_app::{Store, StoreError, StoreOptions};
    let dir = tempfile::tempdir().unwrap();
    let url = crate::harness::fresh_database(backend, dir.path()).await;
    let store = Store::open(&StoreOptions::new(url.clone())).await.unwrap();
    store
        .write(|tx| {
            Box::pin(async move {
                tx.conn()
                    .execute_unchecked("CREATE TABLE probe (id BIGINT PRIMARY KEY)".into())
                    .await
            })
        })
        .await
        .map_err(|e: StoreError| e)
        .unwrap();

    let mut jobs = Vec::new();
    for i in 0..150i64 {
        let store = store.clone();
        jobs.push(tokio::spawn(async move {
            let insert = format!("INSERT INTO probe (id) VALUES ({i})");
            let refused = || StoreError::Corrupt("refused".into());
            let result: Result<(), StoreError> = match i % 5 {
                0 => {
                    store
                        .write(move |tx| {
                            Box::pin(async move { tx.conn().execute_unchecked(insert).await })
                        })
                        .await
                }
                1 => {
                    store
                        .write_single_statement(move |tx| {
                            Box::pin(async move {
                                tx.conn().execute_unchecked(insert).await?;
                                Err(refused())
                            })
                        })
                        .await
                }
                _ => {
                    store
                        .write_single_statement(move |_tx| Box::pin(async move { Err(refused()) }))
                        .await
                }
            };
            (i, result.is_ok())
        }));
    }
    let mut outcomes = Vec::new();
    for job in jobs {
        outcomes.push(job.await.unwrap());
    }
    // A late savepoint, with certainty of company: while a slow job holds the writer, a
    // promise-breaking job and an honest one queue up and share the next batch.
    let slow = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(|_tx| {
                    Box::pin(async move {
                        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                        Ok::<(), StoreError>(())
                    })
                })
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let late = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write_single_statement(|tx| {
                    Box::pin(async move {
                        tx.conn()
                            .execute_unchecked("INSERT INTO probe (id) VALUES (2000)".into())
                            .await?;
                        tx.savepoint().await?;
                        Err::<(), StoreError>(StoreError::Corrupt("refused".into()))
                    })
                })
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let honest = store
        .write(|tx| {
            Box::pin(async move {
                tx.conn()
                    .execute_unchecked("INSERT INTO probe (id) VALUES (2001)".into())
                    .await
            })
        })
        .await;
    assert!(slow.await.unwrap().is_ok());
    outcomes.push((2000, late.await.unwrap().is_ok()));
    outcomes.push((2001, honest.is_ok()));

    // The same careless job alone in its transaction, where nothing after it can fail first.
    let lone: Result<(), StoreError> = store
        .write(|tx| {
            Box::pin(async move {
                tx.conn()
                    .execute_unchecked("INSERT INTO probe (id) VALUES (1000)".into())
                    .await?;
                let _ = tx
                    .conn()
                    .execute_unchecked("INSERT INTO no_such_table VALUES (1)".into())
                    .await;
                Ok(())
            })
        })
        .await;
    outcomes.push((1000, lone.is_ok()));

    let stored = probe_ids(&url).await;
    for (i, ok) in outcomes {
        assert_eq!(stored.contains(&i), ok, "job {i} was told ok={ok}");
        if i < 150 && matches!(i % 5, 1..=3) {
            assert!(!ok, "job {i} should have failed");
        }
    }
    store.close().await;
}

async fn probe_ids(url: &str) -> Vec<i64> {
    use sqlx::Connection;
    let sql = "SELECT id FROM probe";
    let rows: Vec<(i64,)> = if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
    };
    rows.into_iter().map(|(id,)| id).collect()
}

/// The settings as the database reports them on live connections, not as the source asks for
/// them: a typo in a pragma or a pool that drops an option fails here.
async fn the_store_runs_with_the_durability_settings_it_promises(backend: Backend) {
    use hearth_app::{Store, StoreOptions};
    let dir = tempfile::tempdir().unwrap();
    let url = crate::harness::fresh_database(backend, dir.path()).await;
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let settings = store.settings_in_force().await.unwrap();
    type Expected = &'static [(&'static str, &'static str)];
    let (on_both, writer_only): (Expected, Expected) = match backend {
        Backend::Sqlite => (
            &[
                ("journal_mode", "wal"),
                // FULL
                ("synchronous", "2"),
                ("secure_delete", "1"),
                ("foreign_keys", "1"),
                ("journal_size_limit", "67108864"),
            ],
            &[("busy_timeout", "5000"), ("wal_autocheckpoint", "0")],
        ),
        Backend::Postgres => (
            &[("synchronous_commit", "on"), ("statement_timeout", "30s")],
            &[
                ("lock_timeout", "5s"),
                ("idle_in_transaction_session_timeout", "1min"),
            ],
        ),
    };
    for (connection, found) in [("writer", &settings.writer), ("reader", &settings.reader)] {
        for &(name, value) in on_both {
            assert_eq!(
                found.get(name).map(String::as_str),
                Some(value),
                "{connection}: {name}"
            );
        }
    }
    for &(name, value) in writer_only {
        assert_eq!(
            settings.writer.get(name).map(String::as_str),
            Some(value),
            "writer: {name}"
        );
    }
    store.close().await;
}

/// SQLite overwrites deleted rows (`secure_delete`), but its write-ahead log keeps every page
/// as it was written until a checkpoint rewrites the log: a deleted message, and its earlier
/// revisions, must leave every file of the data directory soon after the delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_text_leaves_every_file_of_the_data_directory() {
    let server = TestServer::start(Backend::Sqlite).await;
    let alice = server.member("alice").await;
    let community = alice.create_community("secrets").await;
    let channel = alice
        .create_channel(&community, "confessions", "public")
        .await;
    let first = format!("first draft canary {}", std::process::id());
    let second = format!("second draft canary {}", std::process::id());
    alice.say(&channel, "before the secret").await;
    let secret = alice.say(&channel, &first).await;
    alice
        .patch(
            &format!("/api/v1/messages/{secret}"),
            json!({ "body": second }),
        )
        .await
        .expect_status(200);
    alice.say(&channel, "after the secret").await;
    let data_dir = server.config.data_dir.clone();
    assert!(
        !files_containing(&data_dir, &first).is_empty(),
        "the scan does not see text that is on disk"
    );

    alice
        .delete(&format!("/api/v1/messages/{secret}"))
        .await
        .expect_status(204);
    // Soon, not necessarily before the answer: the truncation runs after the commit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut found;
    loop {
        found = files_containing(&data_dir, &first);
        found.extend(files_containing(&data_dir, &second));
        if found.is_empty() || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(found.is_empty(), "deleted text is still in {found:?}");
    // The server still works on its truncated log.
    alice.say(&channel, "life goes on").await;
}

/// The files under `dir` whose raw bytes contain `text`.
fn files_containing(dir: &std::path::Path, text: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if std::fs::read(&path)
                .unwrap_or_default()
                .windows(text.len())
                .any(|w| w == text.as_bytes())
            {
                found.push(path);
            }
        }
    }
    found
}

/// Two nodes' writers on one PostgreSQL can lock the same rows in opposite orders. The one
/// PostgreSQL picks to give way has its batch rolled back and run again, and its callers never
/// see the deadlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_batch_that_meets_a_deadlock_runs_again() {
    use hearth_app::{Store, StoreError, StoreOptions};
    use sqlx::Connection;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let url = crate::harness::fresh_database(Backend::Postgres, dir.path()).await;
    let store = Store::open(&StoreOptions::new(url.clone())).await.unwrap();
    create_counters(&store).await;

    // The other node holds row 2 and will want row 1. It checks for deadlocks later than
    // the writer does, so the writer is the one that detects the deadlock and gives way.
    let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "SET deadlock_timeout = '10s'; BEGIN; UPDATE counters SET n = n + 1 WHERE id = 2",
    )
    .execute(&mut other)
    .await
    .unwrap();
    let holds_row_1 = Arc::new(tokio::sync::Notify::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let write = {
        let (store, holds_row_1, runs) = (store.clone(), holds_row_1.clone(), runs.clone());
        tokio::spawn(async move {
            store
                .write(move |tx| {
                    Box::pin(async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        let bump = |id| format!("UPDATE counters SET n = n + 1 WHERE id = {id}");
                        tx.conn().execute_unchecked(bump(1)).await?;
                        holds_row_1.notify_one();
                        tx.conn().execute_unchecked(bump(2)).await
                    })
                })
                .await
        })
    };
    holds_row_1.notified().await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // Blocks until the writer's side of the deadlock rolls back.
    sqlx::raw_sql("UPDATE counters SET n = n + 1 WHERE id = 1; COMMIT")
        .execute(&mut other)
        .await
        .unwrap();

    let result: Result<(), StoreError> = write.await.unwrap();
    assert!(result.is_ok(), "the writer's caller saw {result:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 2, "the job ran again once");
    assert_eq!(counters(&url).await, vec![(1, 2), (2, 2)]);
    store.close().await;
}

/// A job that collides every time it runs fails on its own after a few tries; the jobs that
/// shared its batches commit once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_keeps_colliding_fails_alone() {
    use hearth_app::{Store, StoreError, StoreOptions};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let url = crate::harness::fresh_database(Backend::Postgres, dir.path()).await;
    let store = Store::open(&StoreOptions::new(url.clone())).await.unwrap();
    create_counters(&store).await;

    // A slow job holds the writer while the others queue up to share the next batch.
    let slow = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(|_tx| {
                    Box::pin(async move {
                        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                        Ok::<(), StoreError>(())
                    })
                })
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let runs = Arc::new(AtomicUsize::new(0));
    let colliding = {
        let (store, runs) = (store.clone(), runs.clone());
        tokio::spawn(async move {
            store
                .write(move |tx| {
                    Box::pin(async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tx.conn()
                            .execute_unchecked(
                                "DO $$ BEGIN RAISE EXCEPTION 'staged collision' \
                                 USING ERRCODE = 'serialization_failure'; END $$"
                                    .into(),
                            )
                            .await
                    })
                })
                .await
        })
    };
    let mut honest = Vec::new();
    for id in 10..15 {
        let store = store.clone();
        honest.push(tokio::spawn(async move {
            store
                .write(move |tx| {
                    Box::pin(async move {
                        tx.conn()
                            .execute_unchecked(format!(
                                "INSERT INTO counters (id, n) VALUES ({id}, 1)"
                            ))
                            .await
                    })
                })
                .await
        }));
    }
    assert!(slow.await.unwrap().is_ok());
    let collided: Result<(), StoreError> = colliding.await.unwrap();
    assert!(
        matches!(collided, Err(StoreError::Conflict(_))),
        "{collided:?}"
    );
    assert!(
        runs.load(Ordering::SeqCst) > 1,
        "the colliding job never ran again"
    );
    for job in honest {
        let result: Result<(), StoreError> = job.await.unwrap();
        assert!(result.is_ok(), "{result:?}");
    }
    let stored = counters(&url).await;
    assert_eq!(stored.len(), 7, "{stored:?}");
    assert!(stored.iter().all(|&(_, n)| n <= 1), "{stored:?}");
    store.close().await;
}

async fn create_counters(store: &hearth_app::Store) {
    store
        .write(|tx| {
            Box::pin(async move {
                tx.conn()
                    .execute_unchecked(
                        "CREATE TABLE counters (id BIGINT PRIMARY KEY, n BIGINT NOT NULL); \
                         INSERT INTO counters (id, n) VALUES (1, 0), (2, 0)"
                            .into(),
                    )
                    .await
            })
        })
        .await
        .map_err(|e: hearth_app::StoreError| e)
        .unwrap();
}

async fn counters(url: &str) -> Vec<(i64, i64)> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_as("SELECT id, n FROM counters ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

/// A reader on an old snapshot keeps SQLite from truncating its log. The truncation waits it
/// out instead of reporting success early (deleted text would stay behind), and writes go on
/// meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncation_waits_out_a_long_reader_and_writes_go_on() {
    use hearth_app::{Store, StoreError, StoreOptions};
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let url = crate::harness::fresh_database(Backend::Sqlite, dir.path()).await;
    let store = Store::open(&StoreOptions::new(url.clone())).await.unwrap();
    let insert = |sql: &'static str| {
        let store = store.clone();
        async move {
            store
                .write(move |tx| {
                    Box::pin(async move { tx.conn().execute_unchecked(sql.into()).await })
                })
                .await
                .map_err(|e: StoreError| e)
        }
    };
    insert("CREATE TABLE probe (id BIGINT PRIMARY KEY)")
        .await
        .unwrap();
    insert("INSERT INTO probe (id) VALUES (1)").await.unwrap();

    let mut reader = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN; SELECT count(*) FROM probe")
        .execute(&mut reader)
        .await
        .unwrap();
    insert("INSERT INTO probe (id) VALUES (2)").await.unwrap();
    let truncation = {
        let store = store.clone();
        tokio::spawn(async move { store.truncate_journal().await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !truncation.is_finished(),
        "truncated under a reader's snapshot"
    );
    let during = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        insert("INSERT INTO probe (id) VALUES (3)"),
    )
    .await;
    assert!(matches!(during, Ok(Ok(()))), "{during:?}");

    sqlx::raw_sql("COMMIT").execute(&mut reader).await.unwrap();
    let done = tokio::time::timeout(std::time::Duration::from_secs(10), truncation).await;
    assert!(matches!(done, Ok(Ok(Ok(())))), "{done:?}");
    let wal = dir.path().join("hearth.db-wal");
    assert_eq!(std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0), 0);
    store.close().await;
}

/// A job kept waiting on a row lock held elsewhere fails with `Busy` after the lock timeout,
/// alone and once: the posts that shared its batch commit after one timeout, not two, and it
/// is never run a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_times_out_on_a_lock_fails_alone_and_once() {
    use hearth_app::{Store, StoreError, StoreOptions};
    use sqlx::Connection;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let url = crate::harness::fresh_database(Backend::Postgres, dir.path()).await;
    let lock_timeout = Duration::from_millis(1500);
    let store = Store::open(&StoreOptions {
        lock_timeout,
        ..StoreOptions::new(url.clone())
    })
    .await
    .unwrap();
    create_counters(&store).await;

    // Another node holds row 1 and does not let go.
    let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN; UPDATE counters SET n = n + 1 WHERE id = 1")
        .execute(&mut other)
        .await
        .unwrap();

    // A slow job holds the writer while the blocked edit and the posts queue up behind it, so
    // that they share the next batch, the edit first.
    let slow = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(|_tx| {
                    Box::pin(async move {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        Ok::<(), StoreError>(())
                    })
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let runs = Arc::new(AtomicUsize::new(0));
    let edit = {
        let (store, runs) = (store.clone(), runs.clone());
        tokio::spawn(async move {
            store
                .write(move |tx| {
                    Box::pin(async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tx.conn()
                            .execute_unchecked("UPDATE counters SET n = n + 1 WHERE id = 1".into())
                            .await
                    })
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    let mut posts = Vec::new();
    for id in 10..15 {
        let store = store.clone();
        posts.push(tokio::spawn(async move {
            let result: Result<(), StoreError> = store
                .write(move |tx| {
                    Box::pin(async move {
                        tx.conn()
                            .execute_unchecked(format!(
                                "INSERT INTO counters (id, n) VALUES ({id}, 1)"
                            ))
                            .await
                    })
                })
                .await;
            (result, started.elapsed())
        }));
    }
    assert!(slow.await.unwrap().is_ok());
    for post in posts {
        let (result, took) = post.await.unwrap();
        assert!(result.is_ok(), "{result:?}");
        assert!(
            took < lock_timeout * 2 - Duration::from_millis(200),
            "a post waited {took:?}, lock timeout {lock_timeout:?}"
        );
    }
    let edited: Result<(), StoreError> = edit.await.unwrap();
    assert!(matches!(edited, Err(StoreError::Busy(_))), "{edited:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the blocked edit ran again");
    sqlx::raw_sql("ROLLBACK").execute(&mut other).await.unwrap();
    assert_eq!(counters(&url).await.len(), 7);
    store.close().await;
}

/// Another connection holding SQLite's write lock past the busy timeout is a collision like
/// PostgreSQL's: the writer backs off and runs the batch again instead of failing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_kept_waiting_by_another_sqlite_connection_runs_again() {
    use hearth_app::{Store, StoreError, StoreOptions};
    use sqlx::Connection;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let url = crate::harness::fresh_database(Backend::Sqlite, dir.path()).await;
    let store = Store::open(&StoreOptions {
        lock_timeout: Duration::from_millis(300),
        ..StoreOptions::new(url.clone())
    })
    .await
    .unwrap();
    let insert = |sql: &'static str| {
        let store = store.clone();
        async move {
            store
                .write(move |tx| {
                    Box::pin(async move { tx.conn().execute_unchecked(sql.into()).await })
                })
                .await
                .map_err(|e: StoreError| e)
        }
    };
    insert("CREATE TABLE probe (id BIGINT PRIMARY KEY)")
        .await
        .unwrap();

    // A command-line tool writing beside the server holds the lock for three busy timeouts.
    let mut other = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE; INSERT INTO probe (id) VALUES (1)")
        .execute(&mut other)
        .await
        .unwrap();
    let write = tokio::spawn(insert("INSERT INTO probe (id) VALUES (2)"));
    tokio::time::sleep(Duration::from_millis(900)).await;
    sqlx::raw_sql("COMMIT").execute(&mut other).await.unwrap();
    let written = write.await.unwrap();
    assert!(written.is_ok(), "{written:?}");
    assert_eq!(probe_ids(&url).await.len(), 2);
    store.close().await;
}

/// A job that writes and then fails, committed beside posts (which PostgreSQL writes in the
/// batch's final statement), leaves nothing behind: it rolls back alone, as it would in a
/// batch of jobs. (Without a savepoint of its own, a lone job's failure used to be left to
/// the whole transaction's rollback, which the posts then committed past.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_beside_posts_leaves_nothing_behind() {
    use hearth_app::{Store, StoreError, StoreOptions};
    use hearth_core::audit::AuditAction;
    use hearth_core::{ChannelId, UserId};
    use hearth_store::QuickPost;
    let dir = tempfile::tempdir().unwrap();
    let url = crate::harness::fresh_database(Backend::Postgres, dir.path()).await;
    let store = Store::open(&StoreOptions::new(url.clone())).await.unwrap();
    create_counters(&store).await;
    for round in 0..40i64 {
        let mut posts = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            posts.push(tokio::spawn(async move {
                // No such channel: not written, but in the batch all the same.
                store
                    .post_if_member(QuickPost {
                        channel: ChannelId(1),
                        author: UserId(1),
                        body: "hello".into(),
                        audit_action: AuditAction::MessagePosted,
                        event_kind: "message.posted",
                    })
                    .await
            }));
        }
        let failed = store
            .write(move |tx| {
                Box::pin(async move {
                    tx.conn()
                        .execute_unchecked(format!(
                            "INSERT INTO counters (id, n) VALUES ({}, 1)",
                            100 + round
                        ))
                        .await?;
                    Err::<(), _>(StoreError::Corrupt("refused after writing".into()))
                })
            })
            .await;
        assert!(failed.is_err());
        for post in posts {
            assert_eq!(post.await.unwrap().unwrap(), None);
        }
    }
    assert_eq!(counters(&url).await, vec![(1, 0), (2, 0)]);
    store.close().await;
}

/// Several write connections commit side by side, yet the events feed is numbered in commit
/// order: a reader that follows it from the last number it saw, as the live tailer does, never
/// sees a later number commit before an earlier one, so it misses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_several_write_connections_are_numbered_in_commit_order() {
    use hearth_app::{Store, StoreError, StoreOptions};
    use hearth_core::ChannelId;
    use std::collections::BTreeSet;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let url = crate::harness::fresh_database(Backend::Postgres, dir.path()).await;
    let store = Store::open(&StoreOptions {
        writer_connections: 4,
        ..StoreOptions::new(url)
    })
    .await
    .unwrap();
    let start = store
        .reader()
        .await
        .unwrap()
        .conn()
        .last_event_seq()
        .await
        .unwrap();

    let writes = 300i64;
    let follower = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut seen = BTreeSet::new();
            let mut last = start;
            while seen.len() < writes as usize {
                let mut reader = store.reader().await.unwrap();
                for event in reader.conn().events_after(last, 1000).await.unwrap() {
                    assert_eq!(event.seq, last + 1, "a gap in the feed after {last}");
                    last = event.seq;
                    seen.insert(event.object_id);
                }
            }
            seen
        })
    };
    let mut jobs = Vec::new();
    for i in 0..writes {
        let store = store.clone();
        jobs.push(tokio::spawn(async move {
            store
                .write(move |tx| {
                    Box::pin(async move {
                        // Holds its connection a moment, so that batches overlap.
                        tokio::time::sleep(Duration::from_millis((i % 3) as u64)).await;
                        tx.append_event(ChannelId(1), "probe.written", i);
                        Ok::<(), StoreError>(())
                    })
                })
                .await
        }));
    }
    for job in jobs {
        job.await.unwrap().unwrap();
    }
    let seen = tokio::time::timeout(Duration::from_secs(20), follower)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen, (0..writes).collect::<BTreeSet<_>>());
    store.close().await;
}
