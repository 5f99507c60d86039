//! Start-up and shutdown of a Hearth server.

use crate::config::{Config, UnconfirmedAccountsMode};
use hearth_app::{App, AppConfig, Store, StoreOptions, UnconfirmedAccounts};
use hearth_web::WebConfig;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server running in this process.
pub struct RunningServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The address `/metrics` is served on, when it has one of its own.
    pub metrics_addr: Option<SocketAddr>,
    /// The app, for tests that look behind the API.
    pub app: App,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Waits until the server stops by itself (its shutdown future resolved).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await??;
        Ok(())
    }

    /// Stops accepting, lets in-flight requests finish and commits queued writes.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await??;
        Ok(())
    }
}

/// Opens the store described by `config` and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let options = StoreOptions {
        read_connections: config.read_connections,
        max_batch: config.max_commit_batch,
        writer_connections: config.writer_connections,
        node_id: config.node_id,
        ..StoreOptions::new(config.effective_database_url())
    };
    Ok(Store::open(&options).await?)
}

/// The app over an open store, with the configuration's rules and the instance's master key
/// (made on first start).
pub async fn app(config: &Config, store: Store) -> anyhow::Result<App> {
    let key = crate::master_key::load_or_create(&config.master_key_path())?;
    Ok(App::start(
        store,
        AppConfig {
            session_ttl_secs: config.session_days.max(1) * 24 * 3600,
            max_failed_sign_ins: config.max_failed_sign_ins.max(1),
            sign_ins_per_minute_per_address: config.sign_ins_per_minute_per_address,
            open_registration: config.open_registration,
            live_event_buffer: config.live_event_buffer.max(16),
            uploads: hearth_app::UploadSettings {
                dir: config.uploads_path(),
                max_bytes: config.max_upload_bytes.max(1),
                types: config.upload_file_types().map_err(anyhow::Error::msg)?,
            },
            exports_dir: config.exports_path(),
            mail: config.mail_settings().map_err(anyhow::Error::msg)?,
            oidc: config.oidc_settings().map_err(anyhow::Error::msg)?,
            law: config.privacy_law().map_err(anyhow::Error::msg)?.0,
            holidays: config.privacy_law().map_err(anyhow::Error::msg)?.1,
            approved_requests: config.approved_requests().map_err(anyhow::Error::msg)?,
            webhooks_allow_private_networks: config.webhooks_allow_private_networks,
            unconfirmed: match config.unconfirmed_accounts {
                UnconfirmedAccountsMode::Full => UnconfirmedAccounts::Full,
                UnconfirmedAccountsMode::ReadOnly => UnconfirmedAccounts::ReadOnly,
                UnconfirmedAccountsMode::NoSignIn => UnconfirmedAccounts::NoSignIn,
            },
        },
        key,
    )
    .await?)
}

/// Starts a server and returns once it is listening.
pub async fn start(config: &Config) -> anyhow::Result<RunningServer> {
    let (stop, stopped) = oneshot::channel::<()>();
    start_with_shutdown(config, async move {
        let _ = stopped.await;
    })
    .await
    .map(|mut server| {
        server.stop = Some(stop);
        server
    })
}

/// Starts a server that shuts down when `shutdown` resolves.
pub async fn start_with_shutdown(
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<RunningServer> {
    hearth_web::install_metrics();
    let store = open_store(config).await?;
    let app = app(config, store).await?;
    if let Some(code) = app.first_run_code().await? {
        // The one-time code is printed on purpose: whoever reads the server's log runs it,
        // and only they may create the operator from the setup page.
        tracing::warn!(
            "no operator account yet: open /setup in a browser and enter the setup code \
             {code}, or run `hearth admin create-operator`"
        );
    }
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let web = WebConfig {
        secure_cookies: config.secure_cookies,
        trusted_proxies: config.trusted_proxies.clone(),
        metrics_token: hearth_web::MetricsToken::new(&config.metrics_token),
        metrics_elsewhere: config.metrics_listen.is_some(),
        public_url: config.public_url.trim().trim_end_matches('/').to_string(),
    };
    let metrics_listener = match config.metrics_listen {
        Some(at) => Some(TcpListener::bind(at).await?),
        None => None,
    };
    let metrics_addr = metrics_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    // The metrics listener stops when the main one has.
    let (stopped, stopping) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = stopped.send(true);
    };
    if let Some(listener) = metrics_listener {
        let mut stopping = stopping.clone();
        let metrics = hearth_web::serve_metrics(listener, app.clone(), web.clone(), async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        });
        tokio::spawn(async move {
            if let Err(error) = metrics.await {
                tracing::error!(%error, "the metrics listener failed");
            }
        });
    }
    let sweeper = app
        .start_background_work(config.node_id, config.run_jobs)
        .await
        .map_err(|e| anyhow::anyhow!("starting background jobs: {e}"))?;
    let serving = hearth_web::serve(listener, app.clone(), web, shutdown);
    let task = tokio::spawn(async move {
        let result = serving.await;
        if let Some(runner) = sweeper {
            runner.abort();
        }
        result
    });
    tracing::info!(%addr, ?metrics_addr, database = config.database_kind(), "Hearth is listening");
    Ok(RunningServer {
        addr,
        metrics_addr,
        app,
        stop: None,
        task,
    })
}
