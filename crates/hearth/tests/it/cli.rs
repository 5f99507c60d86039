//! The `hearth` binary itself: the run command of the README, the operator account and the
//! default configuration.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::hearth_binary as hearth;

#[test]
fn config_default_prints_the_documented_defaults() {
    let output = hearth().args(["config", "default"]).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("listen = \"127.0.0.1:8080\""));
    assert!(text.contains("data_dir = \"./data\""));
}

#[test]
fn a_typo_in_the_configuration_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hearth.toml"), "lissen = \"127.0.0.1:1\"\n").unwrap();
    let output = hearth()
        .current_dir(dir.path())
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("lissen"));
}

#[test]
fn serve_starts_on_sqlite_under_data_and_the_operator_is_created_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let mut create = hearth()
        .current_dir(dir.path())
        .args([
            "admin",
            "create-operator",
            "--email",
            "ops@example.org",
            "--username",
            "ops",
            "--display-name",
            "Operator",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"operator password 1\n")
        .unwrap();
    let output = create.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("data/hearth.db").exists());

    let mut serve = hearth()
        .current_dir(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("HEARTH_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let signed_in = runtime.block_on(async {
        let http = crate::harness::http();
        for _ in 0..100 {
            let health = http
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await;
            if health.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let response = http
            .post(format!("http://127.0.0.1:{port}/api/v1/sessions"))
            .json(&serde_json::json!({ "login": "ops", "password": "operator password 1" }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        (status, body)
    });
    // SIGTERM: a graceful shutdown.
    let _ = Command::new("kill").arg(serve.id().to_string()).status();
    let exit = serve.wait().unwrap();
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut serve.stderr.take().unwrap(), &mut logs).unwrap();
    assert_eq!(signed_in.0, 201, "{}", signed_in.1);
    assert_eq!(signed_in.1["account"]["is_operator"], true);
    assert!(exit.success(), "exit {exit:?}; logs: {logs}");
    assert!(
        logs.lines().all(|l| l.starts_with('{')),
        "JSON logs: {logs}"
    );
    assert!(
        !logs.contains("ops@example.org") && !logs.contains("operator password"),
        "{logs}"
    );
}

#[test]
fn the_catalog_shows_session_retention_as_configured_and_whose_data_each_table_is() {
    let dir = tempfile::tempdir().unwrap();
    let output = hearth()
        .current_dir(dir.path())
        .env("HEARTH_SESSION_DAYS", "9")
        .arg("catalog")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let sessions: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("| sessions."))
        .collect();
    assert!(!sessions.is_empty());
    assert!(
        sessions.iter().all(|l| l.contains("after 9 days")),
        "{sessions:?}"
    );
    assert!(text.contains(
        "| audit_log | the person in actor_id; the person in object_id where object_kind is user |"
    ));
}
