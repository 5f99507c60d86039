//! Hearth's use cases. Each one authorizes, runs in one transaction of the group-commit writer,
//! appends one audit entry and, for chat, one event: the only place that combines the domain
//! rules with storage.
#![forbid(unsafe_code)]

mod account_links;
mod accounts;
mod actor;
mod ages;
mod audit;
mod channel_view;
mod chat;
mod communities;
mod credential_cache;
mod erasure;
mod error;
mod events;
mod export;
mod first_run;
mod holds;
mod instance_key;
mod jobs;
mod mail;
mod oidc;
mod parental_copies;
mod privacy;
mod profiles;
mod public_requests;
mod requests;
mod retention;
mod search;
mod secrets;
mod sessions;
mod sign_in_limits;
mod statements;
mod terms;
mod two_factor;
mod uploads;
mod webhooks;

pub use account_links::Confirmed;
pub use accounts::{NewAccount, Registration, SignInFrom, SignedIn};
pub use actor::{Actor, Credential};
pub use ages::{AGE_REFUSAL, AgeAnswer, AgePolicy, Joining, ParentalRequest, refused_for_age};
pub use channel_view::ChannelView;
pub use chat::{HistoryPage, MAX_UNREAD_COUNTED, MessageActions, NewChannel};
pub use communities::{CommunitySettings, NewCommunity, NewInvite};
pub use erasure::ErasureAnswer;
pub use error::AppError;
pub use events::{EventSubscription, LiveEvent};
pub use export::{EXPORT_JOB, ExportInfo, ExportRange, ExportState};
pub use hearth_store::JobRow;
pub use hearth_store::{AuditRecord, Backend, EventRecord, Store, StoreError, StoreOptions};
pub use holds::{ErasedMessages, HeldPart, LegalHold};
pub use instance_key::{InstanceKey, MalformedKey};
pub use jobs::{DEFAULT_ATTEMPTS, Enqueue, JobHandler, JobOutcome, JobRun, LEASE};
pub use mail::{MAIL_JOB, MailSettings, MailTransport, SmtpSettings, SmtpTls};
pub use oidc::{OidcSettings, OidcStart};
pub use privacy::{Choice, ChoiceBy, PrivacyRequest};
pub use profiles::{Answers, MAX_ABOUT_CHARS, MAX_AVATAR_BYTES};
pub use public_requests::{
    AgentDetails, CONFIRM_DAYS, Holder, IdentifierKind, PublicRequest, PublicView, Submitted,
    Verification,
};
pub use requests::{
    Correction, DUE_SOON_DAYS, Decision, Desk, InboxEntry, KnowAnswer, NewRequest, Outcome,
    RequestInfo, metrics_csv, request_log_csv, year_span,
};
pub use retention::SweepReport;
pub use search::{MAX_OFFSET, SearchIn};
pub use statements::{
    PrivacyStatement, Publication, StatementOptions, StatementVersion, ToAcknowledge,
};
pub use terms::{CommunityTerms, LegalTerms, TermsAcceptance};
pub use two_factor::{RECOVERY_CODES, SecondFactorChallenge, TwoFactorSetup, TwoFactorStatus};
pub use uploads::{Download, MAX_ATTACHMENTS};
pub use webhooks::{NewWebhook, WEBHOOK_DELIVERY, WEBHOOK_DISPATCH, WebhookInfo};

use std::sync::Arc;

/// Tunables of the app layer.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// How long a browser session lasts, in seconds.
    pub session_ttl_secs: i64,
    /// Sign-in attempts an account takes from one network before each further one waits (1 s,
    /// doubling to 15 minutes); ten times as many across networks it never signed in from.
    pub max_failed_sign_ins: i64,
    /// Sign-in attempts one address may make per minute.
    pub sign_ins_per_minute_per_address: u32,
    /// Whether anyone may register, or only the operator creates accounts.
    pub open_registration: bool,
    /// Live events buffered per node for slow subscribers.
    pub live_event_buffer: usize,
    /// Where uploaded files are kept, and which are accepted.
    pub uploads: UploadSettings,
    /// Where copies of people's data are prepared and offered.
    pub exports_dir: std::path::PathBuf,
    /// How mail is sent.
    pub mail: MailSettings,
    /// What an account may do before its email address is confirmed.
    pub unconfirmed: UnconfirmedAccounts,
    /// The identity provider people may sign in with, if any.
    pub oidc: Option<OidcSettings>,
    /// The law privacy requests' deadlines follow.
    pub law: hearth_core::requests::LawProfile,
    /// Days besides weekends that are not business days, for those deadlines.
    pub holidays: hearth_core::requests::Holidays,
    /// Kinds of request addressed to the operator that wait for their approval.
    pub approved_requests: Vec<hearth_core::requests::RequestKind>,
    /// Whether webhooks may reach this machine and private networks (off: a community's
    /// admins cannot aim them at the operator's internal services).
    pub webhooks_allow_private_networks: bool,
}

/// What an account may do before its owner confirms their email address by the mailed link.
/// Operators are never held back: they may have to set up mail first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnconfirmedAccounts {
    /// Everything a confirmed account may.
    Full,
    /// Sign in, read, and look after their own account (settings, password, sessions, the
    /// address itself), but not post, join, create or upload.
    ReadOnly,
    /// Not even sign in: a sign-in attempt with the right password mails a new link instead.
    NoSignIn,
}

/// Where uploaded files are kept, and which are accepted.
#[derive(Debug, Clone)]
pub struct UploadSettings {
    /// The blob store's folder; every node on one database must see the same one.
    pub dir: std::path::PathBuf,
    /// Largest file accepted, in bytes.
    pub max_bytes: usize,
    /// Types accepted, as sniffed from the bytes.
    pub types: Vec<hearth_core::uploads::FileType>,
}

impl Default for UploadSettings {
    fn default() -> Self {
        use hearth_core::uploads::FileType;
        Self {
            dir: std::path::PathBuf::from("./data/uploads"),
            max_bytes: 10 * 1024 * 1024,
            types: vec![
                FileType::Png,
                FileType::Jpeg,
                FileType::Gif,
                FileType::Webp,
                FileType::Pdf,
                FileType::Text,
            ],
        }
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            session_ttl_secs: 30 * 24 * 3600,
            max_failed_sign_ins: 5,
            sign_ins_per_minute_per_address: 20,
            open_registration: true,
            live_event_buffer: 4096,
            uploads: UploadSettings::default(),
            exports_dir: std::path::PathBuf::from("./data/exports"),
            mail: MailSettings::default(),
            unconfirmed: UnconfirmedAccounts::ReadOnly,
            oidc: None,
            law: hearth_core::requests::LawProfile::default(),
            holidays: hearth_core::requests::Holidays::default(),
            approved_requests: Vec::new(),
            webhooks_allow_private_networks: false,
        }
    }
}

/// Password changes one account may attempt per minute (each costs two hashes).
const PASSWORD_CHANGES_PER_MINUTE: u32 = 5;

/// The application: the store plus the rules. Cheap to clone.
#[derive(Clone)]
pub struct App {
    store: Store,
    config: Arc<AppConfig>,
    key: Arc<InstanceKey>,
    address_limiter: Arc<sign_in_limits::AddressLimiter>,
    password_change_limiter: Arc<sign_in_limits::AccountLimiter>,
    hashing: Arc<sign_in_limits::HashingAdmission>,
    events: Arc<events::EventHub>,
    credentials: Arc<credential_cache::CredentialCache>,
    setup_code: Arc<first_run::SetupCode>,
    blobs: hearth_store::BlobStore,
    tailer_started: Arc<tokio::sync::Mutex<bool>>,
    jobs: Arc<jobs::JobRegistry>,
    oidc: Option<Arc<oidc::Oidc>>,
    /// Told of each step of a copy or an erasure made here (the command line's bar).
    progress: Option<hearth_core::progress::Progress>,
}

impl App {
    /// Builds the app over an open store, once the store confirms that `key` is the instance's
    /// master key (the first node to start records it).
    pub async fn start(
        store: Store,
        config: AppConfig,
        key: InstanceKey,
    ) -> Result<Self, AppError> {
        let check = key.check_value();
        let kept = store
            .write(move |tx| {
                Box::pin(async move {
                    let now = hearth_core::Timestamp::now();
                    Ok::<_, AppError>(tx.conn().instance_key_check(&check, now).await?)
                })
            })
            .await?;
        if kept != key.check_value() {
            return Err(AppError::WrongInstanceKey);
        }
        let blobs = hearth_store::BlobStore::open(&config.uploads.dir).map_err(|e| {
            AppError::Internal(format!(
                "cannot open the uploads folder {}: {e}",
                config.uploads.dir.display()
            ))
        })?;
        let oidc = Self::start_oidc(config.oidc.clone())?;
        let mut app = Self::new(store, config, key, blobs);
        app.oidc = oidc;
        app.start_mail()?;
        app.start_exports();
        app.start_search_purges();
        app.start_webhook_jobs();
        Ok(app)
    }

    /// This app, telling `progress` of each step of the copies and erasures it makes: for
    /// the operator's commands, which draw it.
    pub fn with_progress(mut self, progress: hearth_core::progress::Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    fn new(
        store: Store,
        config: AppConfig,
        key: InstanceKey,
        blobs: hearth_store::BlobStore,
    ) -> Self {
        let address_limiter = Arc::new(sign_in_limits::AddressLimiter::per_minute(
            config.sign_ins_per_minute_per_address,
        ));
        let events = Arc::new(events::EventHub::new(config.live_event_buffer));
        Self {
            store,
            config: Arc::new(config),
            key: Arc::new(key),
            address_limiter,
            hashing: Arc::default(),
            password_change_limiter: Arc::new(sign_in_limits::AccountLimiter::per_minute(
                PASSWORD_CHANGES_PER_MINUTE,
            )),

            events,
            credentials: Arc::default(),
            setup_code: Arc::default(),
            blobs,
            tailer_started: Arc::new(tokio::sync::Mutex::new(false)),
            jobs: Arc::default(),
            oidc: None,
            progress: None,
        }
    }

    /// The store underneath, for health checks and shutdown.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The configuration in force.
    pub fn config(&self) -> &AppConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_core::UserId;
    use hearth_core::model::{ChannelKind, JoinPolicy};

    const PLANTED: &str = "planted-personal-text";

    #[test]
    fn debug_output_of_inputs_and_callers_holds_no_personal_text_or_secrets() {
        let printed = [
            format!(
                "{:?}",
                NewAccount {
                    email: format!("{PLANTED}@example.org"),
                    username: PLANTED.into(),
                    display_name: PLANTED.into(),
                    password: PLANTED.into(),
                }
            ),
            format!(
                "{:?}",
                NewCommunity {
                    slug: PLANTED.into(),
                    name: PLANTED.into(),
                    description: PLANTED.into(),
                    join_policy: JoinPolicy::Open,
                    accepted_terms: Vec::new(),
                }
            ),
            format!(
                "{:?}",
                CommunitySettings {
                    name: Some(PLANTED.into()),
                    description: Some(PLANTED.into()),
                    join_policy: None,
                    require_two_factor: None,
                }
            ),
            format!(
                "{:?}",
                NewChannel {
                    name: PLANTED.into(),
                    topic: PLANTED.into(),
                    kind: ChannelKind::Public,
                }
            ),
            format!(
                "{:?}",
                Actor {
                    user: UserId(1),
                    credential: Credential::Session(PLANTED.as_bytes().to_vec()),
                    read_only: false,
                }
            ),
        ];
        for text in printed {
            assert!(!text.contains(PLANTED), "{text}");
            assert!(!text.contains("112, 108, 97"), "hash bytes printed: {text}");
        }
    }
}
