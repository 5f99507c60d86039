//! Configuration: defaults, then a TOML file, then `HEARTH_*` environment variables, then
//! command-line flags. Unknown keys are refused, so a typo is an error and not a silent default.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTlsMode {
    /// Plain, upgraded with STARTTLS, which must succeed (usually port 587).
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption: only for a relay on the same machine.
    None,
}

/// What an account may do before its email address is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnconfirmedAccountsMode {
    /// Everything.
    Full,
    /// Read, and look after their own account; not post, join, create or upload.
    ReadOnly,
    /// Not sign in at all.
    NoSignIn,
}

/// Every setting Hearth reads.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Directory for the embedded database and, later, uploads and backups.
    pub data_dir: PathBuf,
    /// `postgres://user:password@host/db` to run on PostgreSQL; empty for embedded SQLite in
    /// `data_dir`.
    pub database_url: String,
    /// `human` or `json`.
    pub log_format: LogFormat,
    /// Log filter, e.g. `info` or `hearth=debug,info`.
    pub log_level: String,
    /// Mark cookies `Secure`; turn on when Hearth is served over HTTPS.
    pub secure_cookies: bool,
    /// Reverse proxies in front of Hearth whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Whether anyone may register, or only the operator creates accounts.
    pub open_registration: bool,
    /// How long a sign-in lasts, in days.
    pub session_days: i64,
    /// Sign-in attempts per account and network before each further one waits (1 s, doubling
    /// to 15 min); ten times as many across networks the account never signed in from.
    pub max_failed_sign_ins: i64,
    /// Sign-in and registration attempts one network address (IPv6: one /64) may make per
    /// minute.
    pub sign_ins_per_minute_per_address: u32,
    /// Connections in the database read pool.
    pub read_connections: u32,
    /// Most writes committed together in one transaction.
    pub max_commit_batch: usize,
    /// Write connections on PostgreSQL, each committing batches while the others flush
    /// theirs (SQLite always writes on one).
    pub writer_connections: usize,
    /// This node's number (0–1023) when several nodes share one PostgreSQL database.
    pub node_id: u16,
    /// Whether this node runs background jobs (retention, mail). Every node may;
    /// they share the work without running one job twice.
    pub run_jobs: bool,
    /// Live events buffered per node for slow websocket clients; one that falls further
    /// behind is told to resync.
    pub live_event_buffer: usize,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <token>`.
    pub metrics_token: String,
    /// When set, `/metrics` is served on this address only, not beside the API.
    pub metrics_listen: Option<SocketAddr>,
    /// The address people reach Hearth by (`https://chat.example.org`), for links the pages
    /// hand out, such as invitation links; empty: the address the request came to.
    pub public_url: String,
    /// The file holding the instance's master key; empty: `master.key` in `data_dir`, made
    /// on first start. Every node on one database must read the same key.
    pub master_key_file: Option<PathBuf>,
    /// Where uploaded files are kept; empty: `uploads` in `data_dir`. Every node on one
    /// PostgreSQL database must see the same folder (a shared file system).
    pub uploads_dir: Option<PathBuf>,
    /// Where copies of people's data are prepared and offered for download; empty: `exports`
    /// in `data_dir`. Every node on one PostgreSQL database must see the same folder.
    pub exports_dir: Option<PathBuf>,
    /// Largest file accepted for upload, in bytes.
    pub max_upload_bytes: usize,
    /// Types of file accepted, as sniffed from their bytes: any of image/png, image/jpeg,
    /// image/gif, image/webp, application/pdf and text/plain.
    pub upload_types: Vec<String>,
    /// What an account may do before its owner confirms their email address.
    pub unconfirmed_accounts: UnconfirmedAccountsMode,
    /// The sender of Hearth's mail: `Name <address>` or an address.
    pub mail_from: String,
    /// The SMTP server to send mail through; empty: mail is written to `outbox_dir`.
    pub smtp_host: String,
    /// Its port.
    pub smtp_port: u16,
    /// `starttls`, `tls` or `none`.
    pub smtp_tls: SmtpTlsMode,
    /// User to authenticate as; empty: none.
    pub smtp_user: String,
    /// The SMTP password; best given as `HEARTH_SMTP_PASSWORD` or in `smtp_password_file`,
    /// never in a file others may read.
    pub smtp_password: String,
    /// A file holding the SMTP password (its first line).
    pub smtp_password_file: Option<PathBuf>,
    /// Where mail goes when no SMTP server is configured; empty: `outbox` in `data_dir`.
    pub outbox_dir: Option<PathBuf>,
    /// An OpenID Connect provider's issuer URL to offer "Sign in with ..."; empty: none.
    pub oidc_issuer: String,
    /// Hearth's client id at the provider.
    pub oidc_client_id: String,
    /// Hearth's client secret there: best as `HEARTH_OIDC_CLIENT_SECRET`.
    pub oidc_client_secret: String,
    /// What the sign-in button calls the provider.
    pub oidc_name: String,
    /// The law privacy requests' deadlines follow: `ccpa`, `gdpr`, `virginia` or `colorado`.
    pub privacy_law: String,
    /// Days besides weekends that are not business days (`YYYY-MM-DD`), for those deadlines.
    pub business_holidays: Vec<String>,
    /// Kinds of request addressed to the operator (not to a community) that wait for an
    /// operator's approval: any of `know`, `access`, `delete`, `correct`.
    pub approved_requests: Vec<String>,
    /// Let webhooks reach this machine and private networks (for a receiver on the same
    /// network; off by default, so a community's admins cannot probe internal services).
    pub webhooks_allow_private_networks: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: String::new(),
            log_format: LogFormat::Human,
            log_level: "info".into(),
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            open_registration: true,
            session_days: 30,
            max_failed_sign_ins: 5,
            sign_ins_per_minute_per_address: 20,
            read_connections: 8,
            max_commit_batch: 256,
            writer_connections: 1,
            node_id: 0,
            run_jobs: true,
            live_event_buffer: 4096,
            metrics_token: String::new(),
            metrics_listen: None,
            public_url: String::new(),
            master_key_file: None,
            uploads_dir: None,
            exports_dir: None,
            max_upload_bytes: 10 * 1024 * 1024,
            upload_types: [
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "application/pdf",
                "text/plain",
            ]
            .map(String::from)
            .to_vec(),
            unconfirmed_accounts: UnconfirmedAccountsMode::ReadOnly,
            mail_from: "Hearth <hearth@localhost>".into(),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_tls: SmtpTlsMode::Starttls,
            smtp_user: String::new(),
            smtp_password: String::new(),
            smtp_password_file: None,
            outbox_dir: None,
            oidc_issuer: String::new(),
            oidc_client_id: String::new(),
            oidc_client_secret: String::new(),
            oidc_name: "single sign-on".into(),
            privacy_law: "ccpa".into(),
            business_holidays: Vec::new(),
            approved_requests: Vec::new(),
            webhooks_allow_private_networks: false,
        }
    }
}

impl std::fmt::Debug for Config {
    // The database URL may carry a password and the metrics token is a secret: never print
    // them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database", &self.database_kind())
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("secure_cookies", &self.secure_cookies)
            .field("open_registration", &self.open_registration)
            .field("node_id", &self.node_id)
            .field("run_jobs", &self.run_jobs)
            .field("metrics_token_set", &!self.metrics_token.trim().is_empty())
            .field("metrics_listen", &self.metrics_listen)
            .field("public_url", &self.public_url)
            .field("master_key_file", &self.master_key_path())
            .field("uploads_dir", &self.uploads_path())
            .field("exports_dir", &self.exports_path())
            .field("unconfirmed_accounts", &self.unconfirmed_accounts)
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_tls", &self.smtp_tls)
            .field("smtp_password_set", &!self.smtp_password.is_empty())
            .field("smtp_password_file", &self.smtp_password_file)
            .field("outbox_dir", &self.outbox_path())
            .field("oidc_issuer", &self.oidc_issuer)
            .field("oidc_client_id", &self.oidc_client_id)
            .field(
                "oidc_client_secret_set",
                &!self.oidc_client_secret.is_empty(),
            )
            .finish_non_exhaustive()
    }
}

/// Environment variables with the `HEARTH_` prefix that are not settings.
const NOT_SETTINGS: &[&str] = &["config", "test_pg_url"];

impl Config {
    /// Loads defaults < `file` (if given, or `hearth.toml` if present) < `HEARTH_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file("hearth.toml")),
        }
        figment
            .merge(Env::prefixed("HEARTH_").ignore(NOT_SETTINGS))
            .extract()
            .map_err(Box::new)
    }

    /// The database URL in force: the configured one, or SQLite in `data_dir`.
    pub fn effective_database_url(&self) -> String {
        if self.database_url.trim().is_empty() {
            format!("sqlite://{}", self.data_dir.join("hearth.db").display())
        } else {
            self.database_url.trim().to_string()
        }
    }

    /// Where the instance's master key is read from (and written on first start).
    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// Where mail goes when no SMTP server is configured.
    pub fn outbox_path(&self) -> PathBuf {
        self.outbox_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("outbox"))
    }

    /// The address people reach Hearth by, for links made without a request (in mail, and
    /// the identity provider's way back).
    pub fn public_base(&self) -> String {
        if self.public_url.trim().is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.public_url.trim().trim_end_matches('/').to_string()
        }
    }

    /// The kinds of request addressed to the operator that wait for their approval.
    pub fn approved_requests(&self) -> Result<Vec<hearth_core::requests::RequestKind>, String> {
        use hearth_core::requests::{Handling, RequestKind};
        self.approved_requests
            .iter()
            .map(|code| {
                RequestKind::parse(code.trim())
                    .filter(|k| Handling::approvable().any(|a| a == *k))
                    .ok_or_else(|| {
                        format!(
                            "approved_requests: {code:?} is none of know, access, delete, correct"
                        )
                    })
            })
            .collect()
    }

    /// The law privacy requests follow, and the holidays their business days skip.
    pub fn privacy_law(
        &self,
    ) -> Result<
        (
            hearth_core::requests::LawProfile,
            hearth_core::requests::Holidays,
        ),
        String,
    > {
        let law =
            hearth_core::requests::LawProfile::parse(self.privacy_law.trim()).ok_or_else(|| {
                format!(
                    "privacy_law: {:?} is none of ccpa, gdpr, virginia, colorado",
                    self.privacy_law
                )
            })?;
        let holidays = hearth_core::requests::Holidays::parse(&self.business_holidays)
            .map_err(|day| format!("business_holidays: {day:?} is not a YYYY-MM-DD date"))?;
        Ok((law, holidays))
    }

    /// The identity provider to offer, if one is configured.
    pub fn oidc_settings(&self) -> Result<Option<hearth_app::OidcSettings>, String> {
        let issuer = self.oidc_issuer.trim();
        if issuer.is_empty() {
            return Ok(None);
        }
        if self.oidc_client_id.trim().is_empty() {
            return Err("oidc_issuer is set but oidc_client_id is empty".into());
        }
        if self.public_url.trim().is_empty() {
            return Err(
                "oidc_issuer needs public_url: the address the provider sends browsers back to"
                    .into(),
            );
        }
        Ok(Some(hearth_app::OidcSettings {
            issuer: issuer.trim_end_matches('/').to_string(),
            client_id: self.oidc_client_id.trim().to_string(),
            client_secret: self.oidc_client_secret.clone(),
            display_name: self.oidc_name.trim().to_string(),
            redirect_url: format!("{}/sign-in/oidc/callback", self.public_base()),
        }))
    }

    /// How mail is sent: the SMTP password is read from its file here, if one is named.
    pub fn mail_settings(&self) -> Result<hearth_app::MailSettings, String> {
        let public_url = self.public_base();
        let transport = if self.smtp_host.trim().is_empty() {
            hearth_app::MailTransport::Outbox(self.outbox_path())
        } else {
            let password = match &self.smtp_password_file {
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|e| format!("smtp_password_file {}: {e}", path.display()))?
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                None => self.smtp_password.clone(),
            };
            hearth_app::MailTransport::Smtp(hearth_app::SmtpSettings {
                host: self.smtp_host.trim().to_string(),
                port: self.smtp_port,
                tls: match self.smtp_tls {
                    SmtpTlsMode::Starttls => hearth_app::SmtpTls::StartTls,
                    SmtpTlsMode::Tls => hearth_app::SmtpTls::Tls,
                    SmtpTlsMode::None => hearth_app::SmtpTls::None,
                },
                user: self.smtp_user.clone(),
                password,
            })
        };
        Ok(hearth_app::MailSettings {
            from: self.mail_from.clone(),
            transport,
            public_url,
        })
    }

    /// Where uploaded files are kept.
    pub fn uploads_path(&self) -> PathBuf {
        self.uploads_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("uploads"))
    }

    /// Where copies of people's data are kept while they are offered.
    pub fn exports_path(&self) -> PathBuf {
        self.exports_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("exports"))
    }

    /// The upload types accepted, or the first one that names no type Hearth knows.
    pub fn upload_file_types(&self) -> Result<Vec<hearth_core::uploads::FileType>, String> {
        self.upload_types
            .iter()
            .map(|name| {
                hearth_core::uploads::FileType::from_media_type(name)
                    .filter(|t| *t != hearth_core::uploads::FileType::Markup)
                    .ok_or_else(|| format!("upload_types: {name:?} is not a type Hearth accepts"))
            })
            .collect()
    }

    /// `sqlite` or `postgres`, for logs.
    pub fn database_kind(&self) -> &'static str {
        if self.effective_database_url().starts_with("sqlite:") {
            "sqlite"
        } else {
            "postgres"
        }
    }

    /// The documented default configuration file.
    pub fn default_toml() -> String {
        let d = Config::default();
        format!(
            r#"# Hearth configuration. Every key may also be set as an environment variable:
# HEARTH_ and the key in capitals (HEARTH_LISTEN, HEARTH_DATABASE_URL, ...).
# Precedence: defaults < this file < environment < command-line flags.

# Address and port to listen on.
listen = "{listen}"

# Directory for the embedded SQLite database (hearth.db) and later uploads and backups.
data_dir = "{data_dir}"

# Empty: embedded SQLite in data_dir. Or postgres://user:password@host:5432/hearth to run
# on PostgreSQL; several Hearth nodes may then share one database.
database_url = ""

# "human" or "json".
log_format = "human"

# Log filter: "info", "debug", or per module such as "hearth_store=debug,info".
log_level = "{log_level}"

# Always mark cookies Secure. Turn on when Hearth is served over HTTPS. (Behind a trusted proxy
# that sends X-Forwarded-Proto: https, cookies are marked Secure anyway.)
secure_cookies = {secure_cookies}

# Reverse proxies in front of Hearth (their addresses), whose X-Forwarded-For header is
# believed when limiting sign-in attempts per address. Example: ["127.0.0.1"].
trusted_proxies = []

# Whether anyone may register an account.
open_registration = {open_registration}

# How long a sign-in lasts, in days.
session_days = {session_days}

# Sign-in attempts an account takes from one network before each further attempt from that
# network waits (1 s, doubling to 15 minutes). Other networks are not affected, except that
# networks the account never signed in from share ten times this budget. Nothing locks the
# owner out.
max_failed_sign_ins = {max_failed}

# Sign-in and registration attempts one network address (IPv6: one /64) may make per minute.
sign_ins_per_minute_per_address = {per_address}

# Connections in the database read pool.
read_connections = {read_connections}

# Most writes committed together in one transaction (group commit).
max_commit_batch = {max_batch}

# Write connections on PostgreSQL. One is fastest for chat: batches commit one after another
# anyway (the events feed is numbered in commit order), and one connection gathers the most
# posts into each. More can help when slow writes other than posts dominate. SQLite always
# writes on one.
writer_connections = {writer_connections}

# This node's number (0-1023) when several nodes share one PostgreSQL database.
node_id = {node_id}

# Whether this node runs background jobs (the hourly retention sweep, mail). Nodes
# that run them share the work; no job runs twice at once. Turn it off on nodes that should
# only answer requests.
run_jobs = {run_jobs}

# Live events buffered per node for slow websocket clients; a client that falls further behind
# gets a "resync" frame and reloads from the API.
live_event_buffer = {live_event_buffer}
# A secret that /metrics then requires as "Authorization: Bearer <token>" (others get 401).
# Empty: /metrics is open to whoever reaches the listener.
metrics_token = ""

# Serve /metrics on this address only (say, a private interface for Prometheus), and not on
# `listen` beside the API, where it then answers 404. Unset: /metrics is served on `listen`.
# metrics_listen = "127.0.0.1:9100"

# The address people reach Hearth by, for links the pages hand out (invitation links).
# Empty: the address each request came to (its Host header).
public_url = ""

# The instance's master key: 64 hexadecimal digits in a file only Hearth's user can read.
# Unset: master.key in data_dir, made on first start. Keep it apart from database backups,
# and give every node on one PostgreSQL database the same file (a node with another key
# refuses to start).
# master_key_file = "/etc/hearth/master.key"

# Where uploaded files are kept. Unset: "uploads" in data_dir. Every node on one PostgreSQL
# database must see the same folder.
# uploads_dir = "/var/lib/hearth/uploads"

# Where copies of people's data (their access requests) are prepared and offered for a week.
# Unset: "exports" in data_dir. Every node on one PostgreSQL database must see the same folder.
# exports_dir = "/var/lib/hearth/exports"

# Largest file accepted for upload, in bytes.
max_upload_bytes = {max_upload_bytes}

# Types of file accepted. The type is sniffed from the file's bytes, never taken from the
# uploader; HTML and other markup is never accepted.
upload_types = {upload_types:?}

# What an account may do before its owner confirms their email address with the link Hearth
# mails them: "full" (everything), "read_only" (read, and look after their own account, but
# not post, join, create or upload) or "no_sign_in". Operators are never held back.
unconfirmed_accounts = "read_only"

# The sender of Hearth's mail (address confirmations, password resets, notices).
mail_from = "{mail_from}"

# The SMTP server mail goes through. Empty: every message is written as a .eml file into
# outbox_dir instead, so that an instance without a mail server still works (its operator
# reads the messages there). Mail is queued in the jobs table and retried for about four
# hours, so a mail server's outage loses nothing.
smtp_host = ""
smtp_port = {smtp_port}
# "starttls" (port 587), "tls" (port 465) or "none" (only for a relay on this machine).
smtp_tls = "starttls"
# User to authenticate as; empty: no authentication.
smtp_user = ""
# The password: set HEARTH_SMTP_PASSWORD, or name a file holding it. It is never logged.
# smtp_password_file = "/etc/hearth/smtp-password"

# Where mail is written when smtp_host is empty. Unset: "outbox" in data_dir. Messages are
# deleted after a week.
# outbox_dir = "/var/lib/hearth/outbox"

# Sign-in with an identity provider (OpenID Connect, authorization code flow with PKCE).
# Register Hearth there with the redirect URI <public_url>/sign-in/oidc/callback. The first
# sign-in links the account with the address the provider confirmed, or makes one.
oidc_issuer = ""
oidc_client_id = ""
# The client secret: set HEARTH_OIDC_CLIENT_SECRET rather than writing it here.
oidc_client_secret = ""
# What the sign-in button calls the provider ("Sign in with ...").
oidc_name = "single sign-on"

# The law privacy requests' deadlines follow: "ccpa" (confirm within 10 business days, answer
# within 45 days, one 45-day extension; opt-outs within 15 business days), "gdpr" (one month,
# extendable by two), "virginia" or "colorado" (45 days plus 45, with an appeal).
privacy_law = "ccpa"

# Days besides weekends that are not business days, for those deadlines.
# business_holidays = ["2026-12-25", "2027-01-01"]
business_holidays = []

# Requests addressed to the operator (rather than to a community) are carried out at once for
# a verified requester, except the kinds listed here, which wait in the operator's inbox
# (/admin/requests) for approval: any of "know", "access", "delete", "correct". Each
# community chooses its own on its settings page.
approved_requests = []

# Let a community's outgoing webhooks reach this machine and private networks (10.x, 192.168.x,
# ...). Off: admins cannot aim webhooks at the operator's internal services.
webhooks_allow_private_networks = false
"#,
            listen = d.listen,
            data_dir = d.data_dir.display(),
            log_level = d.log_level,
            secure_cookies = d.secure_cookies,
            open_registration = d.open_registration,
            session_days = d.session_days,
            max_failed = d.max_failed_sign_ins,
            per_address = d.sign_ins_per_minute_per_address,
            read_connections = d.read_connections,
            max_batch = d.max_commit_batch,
            writer_connections = d.writer_connections,
            node_id = d.node_id,
            run_jobs = d.run_jobs,
            live_event_buffer = d.live_event_buffer,
            max_upload_bytes = d.max_upload_bytes,
            upload_types = d.upload_types,
            mail_from = d.mail_from,
            smtp_port = d.smtp_port,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_default_file_parses_to_the_defaults() {
        let parsed: Config = Figment::from(Toml::string(&Config::default_toml()))
            .extract()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let result: Result<Config, _> =
            Figment::from(Toml::string("listne = \"127.0.0.1:1\"")).extract();
        assert!(result.is_err());
    }

    #[test]
    fn the_database_url_and_metrics_token_never_appear_in_debug_output() {
        let config = Config {
            database_url: "postgres://hearth:s3cret@db/hearth".into(),
            metrics_token: "scrape-secret".into(),
            ..Config::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(!printed.contains("scrape-secret"), "{printed}");
    }

    #[test]
    fn metrics_settings_read_from_the_file() {
        let parsed: Config = Figment::from(Toml::string(
            "metrics_token = \"t\"\nmetrics_listen = \"127.0.0.1:9100\"",
        ))
        .extract()
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.metrics_token, "t");
        assert_eq!(parsed.metrics_listen, "127.0.0.1:9100".parse().ok());
    }
}
