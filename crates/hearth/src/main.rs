//! The `hearth` command: serve, migrate, admin tasks, configuration and the data catalog.
#![forbid(unsafe_code)]

use anyhow::Context;
use clap::{Parser, Subcommand};
use hearth::config::{Config, LogFormat};
use hearth::server;
use hearth_app::NewAccount;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "hearth",
    version,
    about = "Hearth: community and team chat, privacy built in"
)]
struct Cli {
    /// Configuration file (default: ./hearth.toml if present).
    #[arg(long, global = true, env = "HEARTH_CONFIG")]
    config: Option<PathBuf>,
    /// Log format, overriding the configuration.
    #[arg(long, global = true)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on, overriding the configuration.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        task: AdminTask,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        task: ConfigTask,
    },
    /// Print the data catalog: every stored column and what privacy law says of it.
    Catalog,
    /// Background jobs: list them, retry a failed one, cancel one.
    Jobs {
        #[command(subcommand)]
        task: JobsTask,
    },
    /// Mail: send a test message.
    Mail {
        #[command(subcommand)]
        task: MailTask,
    },
    /// Privacy requests that came another way (a letter, a call, a mail), carried out by an
    /// operator who verified the requester.
    Privacy {
        #[command(subcommand)]
        task: PrivacyTask,
    },
}

#[derive(Subcommand)]
enum PrivacyTask {
    /// Make a copy of a person's data (a ZIP: JSON with schemas, CSV, files, an offline index
    /// page and a manifest) and write it to FILE; it is on their privacy page for a week too.
    Export {
        /// The account's username or email address.
        login: String,
        /// Where to write the ZIP.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Copy everything held, not only the last twelve months of messages, files and
        /// activity.
        #[arg(long)]
        everything: bool,
    },
    /// Delete an account and erase everything about its person, as the data catalog says;
    /// prints the request's reference and what stays, with each reason.
    Erase {
        /// The account's username or email address.
        login: String,
        /// Confirms the erasure: it cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// The privacy requests on record: with --open, every open one on this Hearth with its
    /// deadline (overdue and due-soon marked); else the log of those received in a year.
    Requests {
        /// Only the open ones, whenever received.
        #[arg(long)]
        open: bool,
        /// The calendar year of the log (default: this one).
        #[arg(long)]
        year: Option<i32>,
        /// Print the log as CSV.
        #[arg(long)]
        csv: bool,
    },
    /// The yearly metrics of privacy requests, per kind: received, complied with in whole or
    /// in part, denied by reason, and the median and mean days to answer.
    Report {
        /// The calendar year (default: this one).
        #[arg(long)]
        year: Option<i32>,
        /// `text` (the default), `csv` or `json`.
        #[arg(long, default_value = "text")]
        format: String,
    },
}

#[derive(Subcommand)]
enum MailTask {
    /// Queue a test message to ADDRESS; a running server's job runner sends it (through SMTP,
    /// or into the outbox), and `hearth jobs list` shows how that went.
    Test { address: String },
}

#[derive(Subcommand)]
enum JobsTask {
    /// The newest jobs, with their state, attempts and last error.
    List {
        /// Only jobs in this state: queued, running, done, failed or cancelled; or "failing",
        /// the jobs whose last attempt failed (failed ones, and schedules that carry on).
        #[arg(long)]
        state: Option<String>,
        /// How many to show.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Queue a failed or cancelled job to run again now.
    Retry { id: i64 },
    /// Cancel a job that has not finished.
    Cancel { id: i64 },
}

#[derive(Subcommand)]
enum AdminTask {
    /// Create the platform operator account. The password is read from standard input.
    CreateOperator {
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
    },
}

#[derive(Subcommand)]
enum ConfigTask {
    /// Print the documented default configuration file.
    Default,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hearth: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Config {
        task: ConfigTask::Default,
    } = &cli.command
    {
        print!("{}", Config::default_toml());
        return Ok(());
    }
    let mut config = Config::load(cli.config.as_deref()).context("reading the configuration")?;
    if let Command::Catalog = cli.command {
        // Retention that follows a setting is shown as configured.
        print!("{}", catalog_table(config.session_days));
        return Ok(());
    }
    if let Some(format) = cli.log_format {
        config.log_format = format;
    }
    init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { listen } => {
                if let Some(listen) = listen {
                    config.listen = listen;
                }
                let running = server::start_with_shutdown(&config, shutdown_signal()).await?;
                let addr = running.addr;
                tracing::info!(%addr, "serving until interrupted");
                running.wait().await
            }
            Command::Migrate => {
                let store = server::open_store(&config).await?;
                store.close().await;
                println!("migrations applied ({})", config.database_kind());
                Ok(())
            }
            Command::Admin {
                task:
                    AdminTask::CreateOperator {
                        email,
                        username,
                        display_name,
                    },
            } => {
                let password = read_password()?;
                // A node number of its own, so that ids it makes never collide with those of
                // a server running beside it.
                config.node_id = CONSOLE_NODE_ID;
                let store = server::open_store(&config).await?;
                let app = server::app(&config, store.clone()).await?;
                let result = app
                    .create_operator(NewAccount {
                        email,
                        username,
                        display_name,
                        password,
                    })
                    .await;
                store.close().await;
                let account = result.map_err(|e| anyhow::anyhow!("{e}"))?;
                println!(
                    "operator account {} created (id {})",
                    account.username, account.id
                );
                Ok(())
            }
            Command::Jobs { task } => {
                config.node_id = CONSOLE_NODE_ID;
                let store = server::open_store(&config).await?;
                let app = server::app(&config, store.clone()).await?;
                let result = jobs_task(&app, task).await;
                store.close().await;
                result
            }
            Command::Mail {
                task: MailTask::Test { address },
            } => {
                config.node_id = CONSOLE_NODE_ID;
                let store = server::open_store(&config).await?;
                let app = server::app(&config, store.clone()).await?;
                let result = app.send_test_mail(&address).await;
                store.close().await;
                result.map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("a test message to {address} is queued; `hearth jobs list` shows when it is sent");
                Ok(())
            }
            Command::Privacy {
                task:
                    PrivacyTask::Export {
                        login,
                        out,
                        everything,
                    },
            } => {
                // The file first: nothing is made, recorded or mailed for a copy that
                // cannot be written.
                let target = create_private(&out)?;
                config.node_id = CONSOLE_NODE_ID;
                let store = server::open_store(&config).await?;
                let app = server::app(&config, store.clone()).await?;
                let range = if everything {
                    hearth_app::ExportRange::Everything
                } else {
                    hearth_app::ExportRange::LastTwelveMonths
                };
                eprintln!("making a copy of {login}'s data...");
                let app = app.with_progress(progress_bar("copying"));
                let result = app.export_as_operator(&login, range).await;
                end_progress();
                store.close().await;
                let (export, path) = match result {
                    Ok(made) => made,
                    Err(error) => {
                        drop(target);
                        let _ = std::fs::remove_file(&out);
                        anyhow::bail!("{error}");
                    }
                };
                copy_into(&path, target, &out)?;
                println!(
                    "copy {} of {login}'s data written to {} ({} bytes, SHA-256 {})",
                    export.id,
                    out.display(),
                    export.bytes.unwrap_or_default(),
                    export.sha256.unwrap_or_default()
                );
                Ok(())
            }
            Command::Privacy {
                task: PrivacyTask::Erase { login, yes },
            } => {
                if !yes {
                    anyhow::bail!(
                        "erasing {login} cannot be undone: run again with --yes to carry it out"
                    );
                }
                config.node_id = CONSOLE_NODE_ID;
                let store = server::open_store(&config).await?;
                let app = server::app(&config, store.clone()).await?;
                let app = app.with_progress(progress_bar("erasing"));
                let result = app.erase_account_as_operator(&login).await;
                end_progress();
                store.close().await;
                let answer = result.map_err(|e| anyhow::anyhow!("{e}"))?;
                println!(
                    "erased {login}: request {} completed; what stays, and why:",
                    answer.request_id
                );
                for kept in answer.kept {
                    println!("  {}: {}", kept.table, kept.reason);
                }
                for held in answer.held {
                    println!(
                        "  held: {} messages in {}, under a legal hold ({})",
                        held.messages, held.community, held.reason
                    );
                }
                if answer.kept_as_deleted_user > 0 {
                    println!(
                        "  {} messages kept under \"Deleted user\", as their communities chose",
                        answer.kept_as_deleted_user
                    );
                }
                Ok(())
            }
            Command::Privacy {
                task: PrivacyTask::Requests { open, year, csv },
            } => {
                config.node_id = CONSOLE_NODE_ID;
                let store = server::open_store(&config).await?;
                let app = server::app(&config, store.clone()).await?;
                let result = requests_task(&app, open, year, csv).await;
                store.close().await;
                result
            }
            Command::Privacy {
                task: PrivacyTask::Report { year, format },
            } => {
                if !matches!(format.as_str(), "text" | "csv" | "json") {
                    anyhow::bail!("--format {format:?}: text, csv or json");
                }
                config.node_id = CONSOLE_NODE_ID;
                let store = server::open_store(&config).await?;
                let app = server::app(&config, store.clone()).await?;
                let year = year.unwrap_or_else(|| hearth_core::Timestamp::now().to_datetime().year());
                let result = app
                    .request_metrics(None, hearth_app::Desk::Operator, year)
                    .await;
                store.close().await;
                let metrics = result.map_err(|e| anyhow::anyhow!("{e}"))?;
                print_report(year, &metrics, &format)
            }
            Command::Config { .. } | Command::Catalog => Ok(()),
        }
    })
}

/// A progress bar on standard error: drawn in place on a terminal, one line per step when
/// the output goes to a file. Steps are named by kind of data (table), never by content.
fn progress_bar(what: &'static str) -> hearth_core::progress::Progress {
    use std::io::{IsTerminal, Write};
    let terminal = std::io::stderr().is_terminal();
    std::sync::Arc::new(move |done: usize, total: usize, step: &str| {
        const WIDTH: usize = 30;
        let filled = (done * WIDTH)
            .checked_div(total)
            .unwrap_or(WIDTH)
            .min(WIDTH);
        let mut err = std::io::stderr().lock();
        let _ = if terminal {
            write!(
                err,
                "\r{what} [{}{}] {done}/{total} {step:<28}",
                "#".repeat(filled),
                ".".repeat(WIDTH - filled)
            )
        } else {
            writeln!(err, "{what} {done}/{total}: {step}")
        };
    })
}

/// Ends a bar drawn in place, so that what follows starts on a line of its own.
fn end_progress() {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
}

/// Carries out `hearth privacy requests`.
async fn requests_task(
    app: &hearth_app::App,
    open: bool,
    year: Option<i32>,
    csv: bool,
) -> anyhow::Result<()> {
    let today = hearth_core::Timestamp::now().to_datetime().date();
    if open {
        let entries = app
            .open_requests_on_console()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if entries.is_empty() {
            println!("no open privacy requests");
        }
        for entry in entries {
            let r = &entry.request;
            let mark = if r.overdue(today) {
                "OVERDUE"
            } else if r.due_soon(today) {
                "due soon"
            } else {
                ""
            };
            println!(
                "{}  {:<8} {:<12} due {}  {:<8} by {}{}{}",
                r.id,
                r.kind.code(),
                r.state.code(),
                r.due,
                mark,
                entry.requester.as_deref().unwrap_or("(erased)"),
                r.community
                    .map(|c| format!("  community {}", c.0))
                    .unwrap_or_default(),
                r.failure
                    .as_deref()
                    .map(|f| format!("  failed: {f}"))
                    .unwrap_or_default(),
            );
        }
        return Ok(());
    }
    let year = year.unwrap_or_else(|| today.year());
    let span = hearth_app::year_span(year).map_err(|e| anyhow::anyhow!("{e}"))?;
    let requests = app
        .requests_received(None, hearth_app::Desk::Operator, span)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if csv {
        print!(
            "{}",
            hearth_app::request_log_csv(&requests).map_err(|e| anyhow::anyhow!("{e}"))?
        );
        return Ok(());
    }
    println!("{} privacy requests received in {year}", requests.len());
    for r in requests {
        println!(
            "{}  {}  {:<8} {:<12} due {}  answered {}",
            r.id,
            r.received_at.to_rfc3339(),
            r.kind.code(),
            r.state.code(),
            r.due,
            r.answered_at
                .map(|a| a.to_rfc3339())
                .unwrap_or_else(|| "-".into()),
        );
    }
    Ok(())
}

/// Prints the yearly metrics as text, CSV or JSON.
fn print_report(
    year: i32,
    metrics: &[hearth_core::requests::KindMetrics],
    format: &str,
) -> anyhow::Result<()> {
    match format {
        "csv" => print!(
            "{}",
            hearth_app::metrics_csv(year, metrics).map_err(|e| anyhow::anyhow!("{e}"))?
        ),
        "json" => {
            let kinds: Vec<serde_json::Value> = metrics
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "kind": m.kind.code(),
                        "received": m.received,
                        "complied_in_whole": m.complied_in_whole,
                        "complied_in_part": m.complied_in_part,
                        "denied": m.denied.iter().map(|(_, n)| n).sum::<u32>(),
                        "denied_by_reason": m.denied.iter()
                            .map(|(r, n)| (r.code().to_string(), serde_json::json!(n)))
                            .collect::<serde_json::Map<_, _>>(),
                        "open": m.open,
                        "median_days": m.median_days,
                        "mean_days": m.mean_days,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"year": year, "kinds": kinds}))?
            );
        }
        _ => {
            println!("privacy requests received in {year}");
            println!(
                "{:<8} {:>8} {:>8} {:>8} {:>7} {:>5} {:>7} {:>6}",
                "kind", "received", "in whole", "in part", "denied", "open", "median", "mean"
            );
            let days = |d: Option<f64>| d.map(|d| format!("{d:.1}")).unwrap_or_else(|| "-".into());
            for m in metrics {
                println!(
                    "{:<8} {:>8} {:>8} {:>8} {:>7} {:>5} {:>7} {:>6}",
                    m.kind.code(),
                    m.received,
                    m.complied_in_whole,
                    m.complied_in_part,
                    m.denied.iter().map(|(_, n)| n).sum::<u32>(),
                    m.open,
                    days(m.median_days),
                    days(m.mean_days),
                );
            }
        }
    }
    Ok(())
}

/// Carries out `hearth jobs ...`.
async fn jobs_task(app: &hearth_app::App, task: JobsTask) -> anyhow::Result<()> {
    use hearth_core::jobs::JobState;
    match task {
        JobsTask::List { state, limit } => {
            // "failing": failed for good, or a schedule whose last run failed.
            let failing = state.as_deref() == Some("failing");
            let state = state
                .filter(|_| !failing)
                .map(|s| {
                    JobState::parse(&s).with_context(|| {
                        format!(
                            "no job state {s:?}: queued, running, done, failed, cancelled or \
                             failing"
                        )
                    })
                })
                .transpose()?;
            anyhow::ensure!((1..=10_000).contains(&limit), "--limit must be 1 to 10000");
            let jobs = app
                .jobs(state, limit)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let jobs: Vec<_> = jobs
                .into_iter()
                .filter(|j| !failing || j.last_error.is_some())
                .collect();
            if jobs.is_empty() {
                println!("no jobs");
            }
            for job in jobs {
                let due = hearth_core::Timestamp(job.run_at).to_rfc3339();
                let every = job
                    .every_ms
                    .map(|ms| format!(" every {}s", ms / 1000))
                    .unwrap_or_default();
                println!(
                    "{}  {:<9} {:<20} attempts {}/{}  due {due}{every}{}",
                    job.id,
                    job.state,
                    job.kind,
                    job.attempts,
                    job.max_attempts,
                    job.last_error
                        // The error may come from another server (a mail server, say): no
                        // control characters reach the operator's terminal.
                        .map(|e| {
                            let shown: String = e
                                .chars()
                                .map(|c| if c.is_control() { ' ' } else { c })
                                .collect();
                            format!("\n    last error: {shown}")
                        })
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        JobsTask::Retry { id } => {
            app.retry_job(id)
                .await
                .map_err(|e| anyhow::anyhow!("job {id}: {e}"))?;
            println!("job {id} queued to run again");
            Ok(())
        }
        JobsTask::Cancel { id } => {
            app.cancel_job(id)
                .await
                .map_err(|e| anyhow::anyhow!("job {id}: {e}"))?;
            println!("job {id} cancelled");
            Ok(())
        }
    }
}

/// The node number of one-off console commands; servers use 0–1022.
const CONSOLE_NODE_ID: u16 = 1023;

fn read_password() -> anyhow::Result<String> {
    eprintln!("Password for the operator account (one line on standard input):");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(!password.is_empty(), "no password given on standard input");
    Ok(password)
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&config.log_level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutting down: finishing in-flight requests and queued writes");
}

fn catalog_table(session_days: i64) -> String {
    use hearth_core::catalog::{Erasure, PersonLink, Retention, Sensitivity, TABLES};
    let mut out = String::from(
        "| table.column | category | purpose | retention | sensitive | sold/shared | erasure |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for table in TABLES {
        for c in table.columns {
            let retention = match c.retention {
                Retention::WhileAccountExists => "while the account exists".to_string(),
                Retention::UntilDeleted => "until deleted".to_string(),
                Retention::Days(d) => format!("{d} days"),
                Retention::SessionLifetime => {
                    format!(
                        "until the session ends, or expires after {session_days} days (session_days)"
                    )
                }
                Retention::WhileCommunityExists => "while the community exists".to_string(),
                Retention::WhileMember => "while the person is a member".to_string(),
                Retention::LegalRecordMonths(m) => format!("{m} months (legal record)"),
                Retention::UntilRequestCloses => "until the request closes".to_string(),
                Retention::UntilIndexPurged => "seconds after an erasure".to_string(),
            };
            let sensitive = match c.sensitive {
                Sensitivity::No => "no",
                Sensitivity::Always => "yes",
                Sensitivity::InPrivateConversations => "in direct and private channels",
                Sensitivity::AsProfileFieldDeclares => "when its field's category is",
            };
            let erasure = match c.erasure {
                Erasure::DeleteRow => "delete".to_string(),
                Erasure::Deidentify => "de-identify".to_string(),
                Erasure::Tombstone => "remove, leaving a tombstone".to_string(),
                Erasure::Keep(why) => format!("keep: {why}"),
                Erasure::NotApplicable => "-".to_string(),
            };
            out.push_str(&format!(
                "| {}.{} | {} | {:?} | {} | {} | {} | {} |\n",
                table.name,
                c.name,
                c.category.label(),
                c.purpose,
                retention,
                sensitive,
                if c.sold_or_shared { "yes" } else { "no" },
                erasure
            ));
        }
    }
    out.push_str("\n| table | whose data a row is |\n|---|---|\n");
    for table in TABLES {
        let links: Vec<String> = table
            .subject
            .links()
            .iter()
            .map(|link| match *link {
                PersonLink::Column(column) => format!("the person in {column}"),
                PersonLink::InList(column) => format!("each person listed in {column}"),
                PersonLink::ColumnWhen {
                    column,
                    kind_column,
                    kind,
                } => format!("the person in {column} where {kind_column} is {kind}"),
                PersonLink::Via { column, table } => {
                    format!("the person of the {table} row in {column}")
                }
            })
            .collect();
        let whose = if table.subject == hearth_core::catalog::SubjectLink::AlreadyErased {
            "a person already erased, for seconds".to_string()
        } else if links.is_empty() {
            "no one's".to_string()
        } else {
            links.join("; ")
        };
        out.push_str(&format!("| {} | {whose} |\n", table.name));
    }
    out
}

/// Creates a file readable by its owner alone (for a person's data), refusing to replace one.
fn create_private(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("{} cannot be written: {e}", path.display()))
}

/// Copies the file `from` into `target` (the file at `to`).
fn copy_into(
    from: &std::path::Path,
    mut target: std::fs::File,
    to: &std::path::Path,
) -> anyhow::Result<()> {
    let mut source = std::fs::File::open(from)
        .map_err(|e| anyhow::anyhow!("the copy {} cannot be read: {e}", from.display()))?;
    std::io::copy(&mut source, &mut target)
        .and_then(|_| target.sync_all())
        .map_err(|e| anyhow::anyhow!("{} cannot be written: {e}", to.display()))
}
