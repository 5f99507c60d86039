//! Background jobs on real databases: a scheduled job runs on time under a controlled clock, a
//! failing one retries with backoff and then stops in the failed state with its error, a job
//! whose node died mid-run runs again once its lease ends, and two runners (two nodes on one
//! PostgreSQL) never run one job together.

use crate::harness::{Backend, TestServer, hearth_binary, on_both_backends};
use futures_util::future::BoxFuture;
use hearth_app::{App, Enqueue, JobHandler, JobOutcome, JobRow};
use hearth_core::Timestamp;
use std::sync::{Arc, Mutex};
use std::time::Duration;

on_both_backends!(
    a_scheduled_job_runs_on_time_under_a_controlled_clock,
    a_failing_job_backs_off_then_stops_failed_with_its_error,
    a_job_whose_node_died_runs_again_after_its_lease,
    two_runners_never_run_one_job_together,
    the_retention_sweep_is_scheduled_once_per_instance,
);

/// A test kind of job that notes each run (job id and runner), and fails while told to.
struct Recorder {
    kind: &'static str,
    runs: Mutex<Vec<(i64, String)>>,
    failing: Mutex<Option<String>>,
    pause: Duration,
}

impl Recorder {
    fn new(kind: &'static str) -> Arc<Self> {
        Arc::new(Self {
            kind,
            runs: Mutex::new(Vec::new()),
            failing: Mutex::new(None),
            pause: Duration::ZERO,
        })
    }

    fn runs(&self) -> Vec<i64> {
        self.runs
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _)| *id)
            .collect()
    }
}

impl JobHandler for Recorder {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn run<'a>(&'a self, _app: &'a App, job: &'a JobRow) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            tokio::time::sleep(self.pause).await;
            self.runs
                .lock()
                .unwrap()
                .push((job.id, job.lease_owner.clone().unwrap_or_default()));
            match self.failing.lock().unwrap().clone() {
                Some(error) => Err(error),
                None => Ok(()),
            }
        })
    }
}

/// A kind of job whose handler panics.
struct Panics;

impl JobHandler for Panics {
    fn kind(&self) -> &'static str {
        "test.panics"
    }

    fn run<'a>(&'a self, _app: &'a App, _job: &'a JobRow) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { panic!("a bug in a handler") })
    }
}

const T0: Timestamp = Timestamp(1_900_000_000_000);

/// The test server's app, with the built-in schedules (the retention sweep) cancelled: the
/// tests' clocks run years ahead, when those would be due too.
async fn quiet(server: &TestServer) -> &App {
    let app = server.app();
    // Built-in schedules cannot be cancelled, but the test servers do not run jobs
    // (`run_jobs` is off), so they know none of the built-in kinds and never claim them.
    for job in app.jobs(None, 100).await.unwrap() {
        let _ = app.cancel_job(job.id).await;
    }
    app
}

fn at(seconds: i64) -> Timestamp {
    T0.plus_seconds(seconds)
}

async fn a_scheduled_job_runs_on_time_under_a_controlled_clock(backend: Backend) {
    let server = TestServer::start(backend).await;
    let app = quiet(&server).await;
    let hourly = Recorder::new("test.hourly");
    app.register_job_handler(hourly.clone());
    let id = app
        .enqueue(Enqueue {
            run_at: at(0),
            every: Some(Duration::from_secs(3600)),
            dedupe_key: Some("test-hourly".into()),
            ..Enqueue::new("test.hourly", "{}")
        })
        .await
        .unwrap()
        .unwrap();
    // The same schedule again is the same job.
    let again = app
        .enqueue(Enqueue {
            dedupe_key: Some("test-hourly".into()),
            ..Enqueue::new("test.hourly", "{}")
        })
        .await
        .unwrap();
    assert_eq!(again, None);

    assert!(app.run_due_jobs("a", at(-1)).await.unwrap().is_empty());
    let runs = app.run_due_jobs("a", at(0)).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, JobOutcome::Done);
    assert!(app.run_due_jobs("a", at(1800)).await.unwrap().is_empty());
    assert_eq!(app.run_due_jobs("a", at(3600)).await.unwrap().len(), 1);
    // Five hours with no node up: it runs once, then keeps its rhythm.
    assert_eq!(
        app.run_due_jobs("a", at(5 * 3600 + 7)).await.unwrap().len(),
        1
    );
    assert!(
        app.run_due_jobs("a", at(5 * 3600 + 60))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(hourly.runs(), [id, id, id]);
    let job = app
        .jobs(None, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == id)
        .unwrap();
    assert_eq!(job.state, "queued");
    assert_eq!(job.run_at, at(6 * 3600).0);
}

async fn a_failing_job_backs_off_then_stops_failed_with_its_error(backend: Backend) {
    let server = TestServer::start(backend).await;
    let app = quiet(&server).await;
    let mail = Recorder::new("test.mail");
    *mail.failing.lock().unwrap() = Some("the mail server refused the connection".into());
    app.register_job_handler(mail.clone());
    let id = app
        .enqueue(Enqueue {
            run_at: at(0),
            max_attempts: 3,
            ..Enqueue::new("test.mail", r#"{"to":"someone"}"#)
        })
        .await
        .unwrap()
        .unwrap();
    let runs = app.run_due_jobs("a", at(0)).await.unwrap();
    assert_eq!(runs[0].outcome, JobOutcome::Retrying(at(30)));
    assert!(app.run_due_jobs("a", at(29)).await.unwrap().is_empty());
    let runs = app.run_due_jobs("a", at(30)).await.unwrap();
    assert_eq!(runs[0].outcome, JobOutcome::Retrying(at(90)));
    let runs = app.run_due_jobs("a", at(90)).await.unwrap();
    assert_eq!(
        runs[0].outcome,
        JobOutcome::Failed("the mail server refused the connection".into())
    );
    // Failed for good: it waits for an operator, with its error in plain words.
    assert!(app.run_due_jobs("a", at(100_000)).await.unwrap().is_empty());
    let failed = app
        .jobs(Some(hearth_core::jobs::JobState::Failed), 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, id);
    assert_eq!(failed[0].attempts, 3);
    assert_eq!(
        failed[0].last_error.as_deref(),
        Some("the mail server refused the connection")
    );

    // The operator's command line lists it and retries it; the next attempt succeeds.
    let list = cli(&server, &["jobs", "list", "--state", "failed"]);
    assert!(list.contains(&id.to_string()), "{list}");
    assert!(
        list.contains("the mail server refused the connection"),
        "{list}"
    );
    let retried = cli(&server, &["jobs", "retry", &id.to_string()]);
    assert!(retried.contains("queued to run again"), "{retried}");
    *mail.failing.lock().unwrap() = None;
    let runs = app.run_due_jobs("a", Timestamp::now()).await.unwrap();
    assert_eq!(runs[0].outcome, JobOutcome::Done);
    assert_eq!(mail.runs().len(), 4);
    // A handler that panics fails its attempt; the runner carries on.
    app.register_job_handler(Arc::new(Panics));
    app.enqueue(Enqueue {
        max_attempts: 1,
        ..Enqueue::new("test.panics", "{}")
    })
    .await
    .unwrap();
    let runs = app.run_due_jobs("a", Timestamp::now()).await.unwrap();
    assert_eq!(
        runs[0].outcome,
        JobOutcome::Failed("the job's handler panicked".into())
    );

    // Finished jobs cannot be retried or cancelled; unknown ones are not found.
    assert!(app.retry_job(id).await.is_err());
    assert!(app.cancel_job(id).await.is_err());
    let unknown = hearth_binary()
        .args(["jobs", "cancel", "12345"])
        .envs(server_env(&server))
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("job 12345"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
}

async fn a_job_whose_node_died_runs_again_after_its_lease(backend: Backend) {
    let server = TestServer::start(backend).await;
    let app = quiet(&server).await;
    let work = Recorder::new("test.work");
    app.register_job_handler(work.clone());
    let id = app
        .enqueue(Enqueue {
            run_at: at(0),
            ..Enqueue::new("test.work", "{}")
        })
        .await
        .unwrap()
        .unwrap();
    // A node claims it and dies before finishing: the claim is all it wrote.
    let lease_until = at(hearth_app::LEASE.as_secs() as i64);
    let claimed = app
        .store()
        .write(move |tx| {
            Box::pin(async move {
                tx.conn()
                    .claim_job(&["test.work"], "dead-node", at(0), lease_until)
                    .await
            })
        })
        .await
        .unwrap();
    assert_eq!(claimed.map(|j| j.id), Some(id));
    // While its lease lasts, nobody else takes it.
    assert!(app.run_due_jobs("b", at(60)).await.unwrap().is_empty());
    let runs = app
        .run_due_jobs("b", at(hearth_app::LEASE.as_secs() as i64 + 1))
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, JobOutcome::Done);
    assert_eq!(work.runs(), [id]);
    // Had the dead node woken up and finished after all, its late word changes nothing.
    let late = app
        .store()
        .write(move |tx| {
            Box::pin(async move {
                tx.conn()
                    .settle_job(
                        (id, "dead-node"),
                        hearth_core::jobs::JobState::Failed,
                        None,
                        Some("late"),
                        false,
                        at(10_000),
                    )
                    .await
            })
        })
        .await
        .unwrap();
    assert!(!late);
    let job = app.jobs(None, 10).await.unwrap();
    let job = job.iter().find(|j| j.id == id).unwrap();
    assert_eq!((job.state.as_str(), job.attempts), ("done", 2));

    // A job that brings its node down on its last attempt is not taken up for ever: once
    // that lease ends, it fails, saying why.
    let doomed = app
        .enqueue(Enqueue {
            run_at: at(0),
            max_attempts: 1,
            ..Enqueue::new("test.work", "{}")
        })
        .await
        .unwrap()
        .unwrap();
    app.store()
        .write(move |tx| {
            Box::pin(async move {
                tx.conn()
                    .claim_job(&["test.work"], "dead-node", at(0), lease_until)
                    .await
            })
        })
        .await
        .unwrap();
    let later = at(hearth_app::LEASE.as_secs() as i64 + 1);
    assert!(app.run_due_jobs("b", later).await.unwrap().is_empty());
    let failed = app
        .jobs(Some(hearth_core::jobs::JobState::Failed), 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, doomed);
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("its node stopped")),
        "{:?}",
        failed[0].last_error
    );
    assert_eq!(work.runs(), [id]);
}

async fn two_runners_never_run_one_job_together(backend: Backend) {
    let server = TestServer::start(backend).await;
    // On PostgreSQL the second runner is a second node on the same database.
    let other = match backend {
        Backend::Postgres => Some(server.another_node(2).await),
        Backend::Sqlite => None,
    };
    let first = quiet(&server).await;
    let apps: Vec<&App> = match &other {
        Some(node) => vec![first, node.app()],
        None => vec![first, first],
    };
    let work = Arc::new(Recorder {
        kind: "test.parallel",
        runs: Mutex::new(Vec::new()),
        failing: Mutex::new(None),
        pause: Duration::from_millis(5),
    });
    for app in &apps {
        app.register_job_handler(work.clone());
    }
    let mut ids = Vec::new();
    for _ in 0..60 {
        let id = apps[0]
            .enqueue(Enqueue {
                run_at: at(0),
                ..Enqueue::new("test.parallel", "{}")
            })
            .await
            .unwrap()
            .unwrap();
        ids.push(id);
    }
    let (a, b) = tokio::join!(
        apps[0].run_due_jobs("runner-a", at(1)),
        apps[1].run_due_jobs("runner-b", at(1))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 60, "every job ran once");
    assert!(
        a.iter().chain(&b).all(|r| r.outcome == JobOutcome::Done),
        "no runner lost a lease"
    );
    let mut ran = work.runs();
    ran.sort();
    ids.sort();
    assert_eq!(ran, ids, "each job ran exactly once");
    let runners: std::collections::HashSet<String> = work
        .runs
        .lock()
        .unwrap()
        .iter()
        .map(|(_, r)| r.clone())
        .collect();
    assert_eq!(runners.len(), 2, "both runners took part: {runners:?}");
}

async fn the_retention_sweep_is_scheduled_once_per_instance(backend: Backend) {
    // A node that runs jobs (its own runner, on the real clock, finds the sweep due only a
    // minute after start: the test runs it first, itself).
    let server = TestServer::start_with(backend, |config| config.run_jobs = true).await;
    let mut restarted = server;
    restarted.restart().await;
    let jobs = restarted.app().jobs(None, 100).await.unwrap();
    let sweeps: Vec<_> = jobs
        .iter()
        .filter(|j| j.kind == "retention.sweep")
        .collect();
    assert_eq!(sweeps.len(), 1, "{jobs:?}");
    assert_eq!(sweeps[0].every_ms, Some(3_600_000));
    assert_eq!(sweeps[0].state, "queued");
    // It runs as a job: due, it sweeps and comes round again in an hour.
    let due = Timestamp(sweeps[0].run_at);
    let runs = restarted.app().run_due_jobs("a", due).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, JobOutcome::Done);
    let after = restarted.app().jobs(None, 100).await.unwrap();
    let sweep = after.iter().find(|j| j.kind == "retention.sweep").unwrap();
    assert_eq!(sweep.run_at, due.0 + 3_600_000);
    // Nothing would bring it back: it cannot be cancelled.
    assert!(restarted.app().cancel_job(sweep.id).await.is_err());
}

/// The environment that points the `hearth` command at the test server's database and key.
pub(crate) fn server_env(server: &TestServer) -> Vec<(String, String)> {
    let config = &server.config;
    vec![
        (
            "HEARTH_DATA_DIR".into(),
            config.data_dir.display().to_string(),
        ),
        ("HEARTH_DATABASE_URL".into(), config.database_url.clone()),
        (
            "HEARTH_MASTER_KEY_FILE".into(),
            config.master_key_path().display().to_string(),
        ),
    ]
}

/// Runs `hearth` with `args` against the test server's database; returns how it went.
pub(crate) fn run_cli(server: &TestServer, args: &[&str]) -> std::process::Output {
    hearth_binary()
        .args(args)
        .envs(server_env(server))
        .output()
        .unwrap()
}

/// Runs `hearth` with `args` against the test server's database; returns its output.
fn cli(server: &TestServer, args: &[&str]) -> String {
    let output = run_cli(server, args);
    assert!(
        output.status.success(),
        "hearth {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
}
