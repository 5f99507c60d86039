//! Mail: every message is a job (kind `mail.send`), so that a restart loses none, and goes out
//! through SMTP or, with no SMTP server configured, into a folder of `.eml` files (the outbox)
//! that a local instance's operator can open.
//!
//! A message's Message-ID comes from its job's id: a job that runs again after its node died
//! between sending and recording the send carries the same Message-ID, so that mail systems
//! and people can tell the repeat, and the outbox writes the same file again.

use crate::instance_key::KeyedPurpose;
use crate::public_requests::{Holder, request_pass};
use crate::{App, AppError, JobHandler};
use askama::Template;
use futures_util::future::BoxFuture;
use hearth_core::{Timestamp, UserId};
use hearth_store::{JobRow, NewJob, Tx};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The job kind that sends one message.
pub const MAIL_JOB: &str = "mail.send";

/// Attempts a message gets: retries back off from 30 s to an hour, so these span about 4 h,
/// long enough to outlast a mail server's restart or a short outage.
const MAIL_ATTEMPTS: i64 = 10;

/// How long one SMTP conversation may take before the attempt fails.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// How Hearth sends mail.
#[derive(Clone)]
pub struct MailSettings {
    /// The sender, as `Name <address>` or a bare address.
    pub from: String,
    /// Where messages go.
    pub transport: MailTransport,
    /// The address people reach Hearth by, for the links in messages (no trailing slash).
    pub public_url: String,
}

/// Where messages go.
#[derive(Clone)]
pub enum MailTransport {
    /// Written as `.eml` files into this folder.
    Outbox(PathBuf),
    /// Handed to an SMTP server.
    Smtp(SmtpSettings),
}

/// An SMTP server to send through.
#[derive(Clone)]
pub struct SmtpSettings {
    /// Host name (checked against its certificate when TLS is used).
    pub host: String,
    /// Port.
    pub port: u16,
    /// How the connection is protected.
    pub tls: SmtpTls,
    /// User name to authenticate as; empty: no authentication.
    pub user: String,
    /// Password for `user`; never logged.
    pub password: String,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// TLS from the first byte (usually port 465).
    Tls,
    /// Plain, then upgraded with STARTTLS, which must succeed (usually port 587).
    StartTls,
    /// No encryption: only for a relay on the same machine or a trusted network.
    None,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let transport = match &self.transport {
            MailTransport::Outbox(dir) => format!("outbox {}", dir.display()),
            MailTransport::Smtp(smtp) => {
                format!("smtp {}:{} ({:?})", smtp.host, smtp.port, smtp.tls)
            }
        };
        f.debug_struct("MailSettings")
            .field("transport", &transport)
            .finish_non_exhaustive()
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            from: "Hearth <hearth@localhost>".into(),
            transport: MailTransport::Outbox(PathBuf::from("./data/outbox")),
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}

/// What a message says: each kind is written out by [`Letter::compose`].
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "letter", rename_all = "snake_case")]
pub(crate) enum Letter {
    /// Confirm that the address is yours (after registering, or for a new address).
    ConfirmAddress {
        /// The account link whose secret the confirmation link carries.
        link: i64,
        /// The account's handle.
        username: String,
        /// Whether the address replaces another.
        new_address: bool,
    },
    /// Your account's address was changed (to the old address).
    AddressChanged {
        /// The account's handle.
        username: String,
        /// The new address, mostly hidden.
        new_address_hint: String,
    },
    /// Someone asked to move your account to another address (to the address it has).
    AddressChangeRequested {
        /// The account's handle.
        username: String,
        /// The new address, mostly hidden.
        new_address_hint: String,
    },
    /// Someone gave the right password but a wrong second factor.
    WrongSecondFactor {
        /// The account's handle.
        username: String,
    },
    /// Your account was linked to an identity provider.
    IdentityLinked {
        /// The account's handle.
        username: String,
    },
    /// Someone tried to register with your address (to its owner).
    RegisteredAgain {
        /// The account's handle.
        username: String,
    },
    /// Someone tried to move another account to your address (to its owner).
    AddressInUse,
    /// Reset your password.
    ResetPassword {
        /// The account link whose secret the reset link carries.
        link: i64,
        /// The account's handle.
        username: String,
    },
    /// A child under 13 asked to join a community: their parent is asked to consent.
    ParentalConsent {
        /// The account link whose secret the consent link carries.
        link: i64,
        /// The community's id, in the link's path.
        community: i64,
        /// Its name.
        community_name: String,
        /// The child's handle.
        username: String,
    },
    /// A parent consented to a child's joining: what they agreed to, and the link that
    /// withdraws it.
    ParentalConsentGiven {
        /// The id whose derived secret the withdrawal link carries.
        link: i64,
        /// The community's id, in the link's path.
        community: i64,
        /// Its name.
        community_name: String,
        /// The child's handle.
        username: String,
    },
    /// A test from the operator (`hearth mail test`).
    Test,
    /// Two-factor sign-in was turned on or off.
    TwoFactorChanged {
        /// The account's handle.
        username: String,
        /// Whether it is on now.
        on: bool,
    },
    /// Your password was changed.
    PasswordChanged {
        /// The account's handle.
        username: String,
        /// By a mailed reset link, rather than with the old password.
        by_reset: bool,
    },
    /// Your privacy request moved on: answered, refused or extended.
    RequestUpdate {
        /// The account's handle.
        username: String,
        /// The request's id (its page is `/privacy/requests/<id>`).
        request: i64,
        /// What happened, as the subject says it.
        headline: String,
    },
    /// Confirm a privacy request made on the public form (to the address it names).
    ConfirmRequest {
        /// The request's id.
        request: i64,
        /// What it asks, in plain words.
        asks: String,
        /// The agent who asked on the person's behalf, if one did.
        agent: Option<String>,
        /// Days the link works for confirming.
        days: u32,
    },
    /// A privacy request from the public form moved on (to the person, or the agent).
    PublicRequestUpdate {
        /// The request's id.
        request: i64,
        /// Who the letter goes to.
        holder: Holder,
        /// What happened, as the subject says it.
        headline: String,
    },
    /// A copy of a child's data was made for the parent who consented to their joining.
    ParentCopyMade {
        /// The child's handle.
        username: String,
    },
    /// The copy of your data you asked for is ready.
    ExportReady {
        /// The account's handle.
        username: String,
        /// The copy's id (its page is `/privacy/exports/<id>`).
        export: i64,
        /// Days it is offered.
        days: u32,
    },
}

/// The secret a mailed link carries.
#[derive(Debug, Clone, Copy)]
enum LinkSecret {
    /// None: the page asks to sign in.
    None,
    /// A mailed account link's, by its id.
    AccountLink(i64),
    /// A parent's link that withdraws their consent, by its id.
    ParentalWithdrawal(i64),
    /// A request from the public form's, by its id and who holds the link.
    RequestPass(i64, Holder),
}

/// A job's payload: to whom, and what.
#[derive(Serialize, Deserialize)]
struct MailJob {
    to: String,
    #[serde(flatten)]
    letter: Letter,
}

/// A message written out, before its layout.
struct Composed {
    subject: String,
    greeting: String,
    paragraphs: Vec<String>,
    action: Option<(String, String)>,
    closing: Vec<String>,
}

#[derive(Template)]
#[template(path = "mail/letter.txt")]
struct PlainLetter<'a> {
    mail: &'a Composed,
}

#[derive(Template)]
#[template(path = "mail/letter.html")]
struct HtmlLetter<'a> {
    mail: &'a Composed,
}

impl Letter {
    /// The words of the message; `link` turns a path and the secret it carries into a URL.
    fn compose(&self, link: impl Fn(&str, LinkSecret) -> String) -> Composed {
        let ignore = "If you did not ask for this, you can ignore this message.".to_string();
        match self {
            Letter::ConfirmAddress {
                link: id,
                username,
                new_address,
            } => Composed {
                subject: "Confirm your email address".into(),
                greeting: format!("Hello {username},"),
                paragraphs: vec![if *new_address {
                    "You asked to use this address for your Hearth account. Confirm it with \
                     the button below; until then your account keeps its old address."
                        .into()
                } else {
                    "Welcome to Hearth. Confirm that this address is yours with the button \
                     below."
                        .into()
                }],
                action: Some((
                    "Confirm this address".into(),
                    link("/verify-email", LinkSecret::AccountLink(*id)),
                )),
                closing: vec![
                    format!(
                        "The link works once, for {} days.",
                        hearth_core::catalog::ACCOUNT_LINK_DAYS
                    ),
                    ignore,
                ],
            },
            Letter::AddressChanged {
                username,
                new_address_hint,
            } => Composed {
                subject: "Your email address was changed".into(),
                greeting: format!("Hello {username},"),
                paragraphs: vec![format!(
                    "Your Hearth account's email address was changed to {new_address_hint}. \
                     Mail about the account now goes there."
                )],
                action: None,
                closing: vec![
                    "If you did not change it, someone else may be signed in to your account: \
                     tell this Hearth's operator at once."
                        .into(),
                ],
            },
            Letter::AddressChangeRequested {
                username,
                new_address_hint,
            } => Composed {
                subject: "A change of your email address was asked for".into(),
                greeting: format!("Hello {username},"),
                paragraphs: vec![format!(
                    "Someone signed in to your Hearth account asked to move it to \
                     {new_address_hint}. It moves only when the link mailed there is used."
                )],
                action: Some((
                    "Review your account".into(),
                    link("/settings", LinkSecret::None),
                )),
                closing: vec![
                    "If it was not you, cancel the change in your account settings and change \
                     your password: that also cancels it."
                        .into(),
                ],
            },
            Letter::WrongSecondFactor { username } => Composed {
                subject: "Someone has your password".into(),
                greeting: format!("Hello {username},"),
                paragraphs: vec![
                    "Someone just signed in to your Hearth account with the right password but \
                     a wrong two-factor code. If it was not you, your password is known to \
                     someone else."
                        .into(),
                ],
                action: Some((
                    "Change your password".into(),
                    link("/settings", LinkSecret::None),
                )),
                closing: vec![
                    "Your second factor kept them out. This message is sent at most once an \
                     hour."
                        .into(),
                ],
            },
            Letter::IdentityLinked { username } => Composed {
                subject: "Your account can now be signed in to through single sign-on".into(),
                greeting: format!("Hello {username},"),
                paragraphs: vec![
                    "Someone signed in to Hearth through this instance's identity provider with \
                     this address, and your account was linked to that identity: signing in \
                     there now signs in to your account here."
                        .into(),
                ],
                action: Some((
                    "Review your account".into(),
                    link("/settings", LinkSecret::None),
                )),
                closing: vec![
                    "If it was not you, unlink it in your account settings and change your \
                     password at once."
                        .into(),
                ],
            },
            Letter::RegisteredAgain { username } => Composed {
                subject: "Someone tried to register with your address".into(),
                greeting: format!("Hello {username},"),
                paragraphs: vec![
                    "Someone tried to create a Hearth account with this address, which your \
                     account already uses. No account was created."
                        .into(),
                    "If it was you, sign in instead; if you forgot your password, reset it.".into(),
                ],
                action: Some((
                    "Reset your password".into(),
                    link("/forgot-password", LinkSecret::None),
                )),
                closing: vec![ignore],
            },
            Letter::AddressInUse => Composed {
                subject: "This address already has a Hearth account".into(),
                greeting: "Hello,".into(),
                paragraphs: vec![
                    "Someone asked to move another Hearth account to this address, which an \
                     account here already uses, so nothing was changed."
                        .into(),
                ],
                action: None,
                closing: vec![ignore],
            },
            Letter::TwoFactorChanged { username, on } => Composed {
                subject: if *on {
                    "Two-factor sign-in is on".into()
                } else {
                    "Two-factor sign-in is off".into()
                },
                greeting: format!("Hello {username},"),
                paragraphs: vec![if *on {
                    "Your Hearth account now asks for a code from your authenticator app when \
                     you sign in. Keep your recovery codes somewhere safe."
                        .into()
                } else {
                    "Your Hearth account no longer asks for a code from an authenticator app \
                     when you sign in."
                        .into()
                }],
                action: None,
                closing: vec![
                    "If you did not do this, reset your password at once and tell this \
                     Hearth's operator."
                        .into(),
                ],
            },
            Letter::Test => Composed {
                subject: "A test message from Hearth".into(),
                greeting: "Hello,".into(),
                paragraphs: vec![
                    "This Hearth instance's operator sent this message to check that mail \
                     arrives."
                        .into(),
                ],
                action: None,
                closing: vec![ignore],
            },
            Letter::ParentalConsent {
                link: id,
                community,
                community_name,
                username,
            } => Composed {
                subject: format!("Your consent for {username} to join {community_name}"),
                greeting: "Hello,".into(),
                paragraphs: vec![
                    format!(
                        "{username} asked to join the community {community_name} on Hearth and \
                         gave this address as their parent's or guardian's. They said they are \
                         under 13, so they can join only with your consent."
                    ),
                    "The page the button opens says what the community keeps about its \
                     members and links to its privacy statement. There you can consent or \
                     refuse; if you refuse, or do nothing, nothing about this request is kept."
                        .into(),
                ],
                action: Some((
                    "Consent or refuse".into(),
                    link(
                        &format!("/parental-consent/{community}"),
                        LinkSecret::AccountLink(*id),
                    ),
                )),
                closing: vec![
                    format!(
                        "The link works once, for {} days.",
                        hearth_core::catalog::ACCOUNT_LINK_DAYS
                    ),
                    "If you do not know who asked, ignore this message.".into(),
                ],
            },
            Letter::ParentalConsentGiven {
                link: id,
                community,
                community_name,
                username,
            } => Composed {
                subject: format!("You consented to {username} joining {community_name}"),
                greeting: "Hello,".into(),
                paragraphs: vec![
                    format!(
                        "You consented to {username} joining the community {community_name} on \
                         Hearth. Your address and the time are kept as the record of it, for as \
                         long as {username} has an account. Their personal information is never \
                         sold or shared."
                    ),
                    format!(
                        "The button below opens your page as {username}'s parent: there you \
                         can download a copy of everything {username}'s account holds, or, if \
                         you did not consent or change your mind, withdraw your consent. \
                         {username}'s account on this Hearth is then deleted, in every \
                         community, with everything about them. Keep this message: the link \
                         works for as long as your consent stands."
                    ),
                ],
                action: Some((
                    "See their data or withdraw".into(),
                    link(
                        &format!("/parental-consent/{community}/withdraw"),
                        LinkSecret::ParentalWithdrawal(*id),
                    ),
                )),
                closing: vec![],
            },
            Letter::ResetPassword { link: id, username } => Composed {
                subject: "Reset your password".into(),
                greeting: format!("Hello {username},"),
                paragraphs: vec![
                    "Someone, hopefully you, asked to reset your Hearth password. Choose a new \
                     one with the button below. Resetting it signs you out everywhere."
                        .into(),
                ],
                action: Some((
                    "Choose a new password".into(),
                    link("/reset-password", LinkSecret::AccountLink(*id)),
                )),
                closing: vec![
                    "The link works once, for an hour.".into(),
                    "If you did not ask for this, ignore this message: your password stays as \
                     it is."
                        .into(),
                ],
            },
            Letter::ParentCopyMade { username } => Composed {
                subject: "A copy of your data was made for your parent".into(),
                greeting: format!("Hello {username},"),
                paragraphs: vec![
                    "The parent who consented to your joining a community on Hearth asked, \
                     through the link we mailed them, for a copy of everything your account \
                     holds, and it was made for them. Parents of members under 13 may see \
                     their child's data at any time."
                        .into(),
                ],
                action: None,
                closing: vec![
                    "If you think someone else asked, tell the community's admins or this \
                     Hearth's operator."
                        .into(),
                ],
            },
            Letter::ExportReady {
                username,
                export,
                days,
            } => Composed {
                subject: "Your copy of your data is ready".into(),
                greeting: format!("Hello {username},"),
                paragraphs: vec![
                    "The copy of your personal data you asked for is ready. Sign in to \
                     download it: it is a ZIP with your data as JSON and CSV, your files, and a \
                     page that opens in any browser."
                        .into(),
                ],
                action: Some((
                    "Download your data".into(),
                    link(&format!("/privacy/exports/{export}"), LinkSecret::None),
                )),
                closing: vec![format!(
                    "It can be downloaded for {days} days, then it is deleted. Your privacy \
                     page lists it too."
                )],
            },
            Letter::RequestUpdate {
                username,
                request,
                headline,
            } => Composed {
                subject: headline.clone(),
                greeting: format!("Hello {username},"),
                paragraphs: vec![format!(
                    "{headline}. Sign in to read the answer: what was done, or why not, and \
                     what you can do next."
                )],
                action: Some((
                    "Read the answer".into(),
                    link(&format!("/privacy/requests/{request}"), LinkSecret::None),
                )),
                closing: vec![
                    "Your privacy page lists all your requests and where each stands.".into(),
                ],
            },
            Letter::ConfirmRequest {
                request,
                asks,
                agent,
                days,
            } => Composed {
                subject: "Confirm your privacy request".into(),
                greeting: "Hello,".into(),
                paragraphs: vec![match agent {
                    Some(agent) => format!(
                        "{agent} asked us, on our privacy request form and on your behalf, to \
                         {asks}, saying you gave them your signed permission. If you did, \
                         confirm it with the button below; we then answer them and you. If you \
                         did not, ignore this message: nothing is done without your \
                         confirmation."
                    ),
                    None => format!(
                        "Someone, we hope you, asked us on our privacy request form to {asks} \
                         for this address. Confirm it with the button below: that shows the \
                         address is yours, and we then carry it out."
                    ),
                }],
                action: Some((
                    "Confirm the request".into(),
                    link(
                        &format!("/privacy/request/{request}"),
                        LinkSecret::RequestPass(*request, Holder::Person),
                    ),
                )),
                closing: vec![
                    format!(
                        "The link works for {days} days; keep this message: the same link shows \
                         the request and its answer later."
                    ),
                    ignore,
                ],
            },
            Letter::PublicRequestUpdate {
                request,
                holder,
                headline,
            } => Composed {
                subject: headline.clone(),
                greeting: "Hello,".into(),
                paragraphs: vec![format!(
                    "{headline}. The link below shows what was done, or why not, and what you \
                     can do next."
                )],
                action: Some((
                    "Read the answer".into(),
                    link(
                        &format!("/privacy/request/{request}"),
                        LinkSecret::RequestPass(*request, *holder),
                    ),
                )),
                closing: vec![
                    "Keep this message: the link is the only way to the request's page.".into(),
                ],
            },
            Letter::PasswordChanged { username, by_reset } => Composed {
                subject: "Your password was changed".into(),
                greeting: format!("Hello {username},"),
                paragraphs: vec![if *by_reset {
                    "Your Hearth password was just reset with a link mailed to this address, \
                     and every session was signed out."
                        .into()
                } else {
                    "Your Hearth password was just changed, and your other sessions were \
                     signed out."
                        .into()
                }],
                action: None,
                closing: vec![
                    "If you did not do this, reset your password at once and tell this \
                     Hearth's operator."
                        .into(),
                ],
            },
        }
    }
}

/// The address with most of its local part hidden (`a•••@example.org`), for telling the old
/// address where mail now goes without spelling out the new one.
pub(crate) fn address_hint(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

/// Queues `letter` to `to` inside `tx`, so that it is sent if and only if the transaction
/// commits. `user` is whose data the message carries: erasing them deletes it unsent.
pub(crate) async fn queue_mail(
    tx: &mut Tx,
    to: &str,
    user: Option<UserId>,
    letter: Letter,
    dedupe_key: Option<String>,
) -> Result<(), AppError> {
    let payload = serde_json::to_string(&MailJob {
        to: to.to_string(),
        letter,
    })
    .map_err(|e| AppError::Internal(format!("cannot write a mail job: {e}")))?;
    let id = tx.next_id();
    let now = Timestamp::now();
    tx.conn()
        .enqueue_job(
            &NewJob {
                id,
                kind: MAIL_JOB,
                payload: &payload,
                user,
                dedupe_key: dedupe_key.as_deref(),
                run_at: now,
                every_ms: None,
                max_attempts: MAIL_ATTEMPTS,
            },
            now,
        )
        .await?;
    Ok(())
}

/// Sends one queued message.
pub(crate) struct MailSender {
    settings: MailSettings,
    from: Mailbox,
    domain: String,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl MailSender {
    /// Checks the settings and prepares the transport (an SMTP connection is opened per
    /// batch of mail, and kept a little while for the next).
    pub(crate) fn new(settings: MailSettings) -> Result<Self, AppError> {
        let from: Mailbox = settings.from.parse().map_err(|_| {
            AppError::Internal(format!(
                "mail_from {:?} is not a mail address (write `Name <address>` or `address`)",
                settings.from
            ))
        })?;
        let domain = from.email.domain().to_string();
        let smtp = match &settings.transport {
            MailTransport::Outbox(dir) => {
                // The messages hold working links and addresses: for Hearth's user alone.
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .and_then(|()| {
                        // An outbox made by an earlier version may be open to others.
                        use std::os::unix::fs::PermissionsExt;
                        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    })
                    .map_err(|e| {
                        AppError::Internal(format!("cannot make the outbox {}: {e}", dir.display()))
                    })?;
                None
            }
            MailTransport::Smtp(smtp) => Some(smtp_transport(smtp)?),
        };
        Ok(Self {
            settings,
            from,
            domain,
            smtp,
        })
    }

    /// The message a mail job sends, ready to go.
    fn message(&self, key: &crate::InstanceKey, job: &JobRow) -> Result<Message, String> {
        let mail: MailJob = serde_json::from_str(&job.payload)
            .map_err(|e| format!("the mail job's payload cannot be read: {e}"))?;
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|_| "the recipient's address is not a mail address".to_string())?;
        let base = &self.settings.public_url;
        let composed = mail.letter.compose(|path, secret| match secret {
            LinkSecret::None => format!("{base}{path}"),
            LinkSecret::AccountLink(id) => format!("{base}{path}?token={}", link_secret(key, id)),
            LinkSecret::ParentalWithdrawal(id) => {
                format!("{base}{path}?token={}", withdrawal_secret(key, id))
            }
            LinkSecret::RequestPass(id, holder) => {
                format!("{base}{path}?token={}", request_pass(key, id, holder))
            }
        });
        let text = PlainLetter { mail: &composed }
            .render()
            .map_err(|e| format!("the plain-text template failed: {e}"))?;
        let html = HtmlLetter { mail: &composed }
            .render()
            .map_err(|e| format!("the HTML template failed: {e}"))?;
        Message::builder()
            .message_id(Some(message_id(key, job.id, &self.domain)))
            .from(self.from.clone())
            .to(to)
            .subject(composed.subject)
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| format!("the message cannot be built: {e}"))
    }

    async fn send(&self, message: Message, id: &str) -> Result<(), String> {
        match (&self.smtp, &self.settings.transport) {
            (Some(smtp), _) => smtp
                .send(message)
                .await
                .map(drop)
                // lettre's errors name the server and the SMTP reply, never the message.
                .map_err(|e| format!("the SMTP server did not take the message: {e}")),
            (None, MailTransport::Outbox(dir)) => write_to_outbox(dir, id, &message.formatted())
                .await
                .map_err(|e| format!("the message cannot be written to the outbox: {e}")),
            (None, MailTransport::Smtp(_)) => Err("SMTP is configured but not ready".into()),
        }
    }
}

fn smtp_transport(smtp: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, AppError> {
    let refused = |e: lettre::transport::smtp::Error| {
        AppError::Internal(format!(
            "the SMTP settings for {} are refused: {e}",
            smtp.host
        ))
    };
    let builder = match smtp.tls {
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host).map_err(refused)?,
        SmtpTls::StartTls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host).map_err(refused)?
        }
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
    };
    let mut builder = builder.port(smtp.port).timeout(Some(SMTP_TIMEOUT));
    if !smtp.user.is_empty() {
        builder = builder.credentials(Credentials::new(smtp.user.clone(), smtp.password.clone()));
    }
    Ok(builder.build())
}

/// The secret a mailed account link carries: derived from the link's id with the instance
/// key, so that the database keeps no copy of it (only its hash), and the mail job only the
/// link's id. The message itself carries it, of course: in the outbox, until the retention
/// sweep deletes the file after a week (the link has expired long before).
pub(crate) fn link_secret(key: &crate::InstanceKey, link: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(key.keyed_hash(KeyedPurpose::AccountLink, &[&link.to_be_bytes()]))
}

/// The secret a parent's link that withdraws their consent carries: derived from an id under
/// a purpose of its own, so that no other link ever carries it.
pub(crate) fn withdrawal_secret(key: &crate::InstanceKey, id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(key.keyed_hash(KeyedPurpose::ParentalWithdrawal, &[&id.to_be_bytes()]))
}

/// The Message-ID of mail job `job`: the same on every attempt.
fn message_id(key: &crate::InstanceKey, job: i64, domain: &str) -> String {
    let tag: String = key
        .keyed_hash(KeyedPurpose::MessageId, &[&job.to_be_bytes()])
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("<{tag}@{domain}>")
}

/// Whether the message `bytes` (as written to the outbox) is addressed to `address`
/// (lowercase): its `To:` header names exactly that address.
fn addressed_to(bytes: &[u8], address: &str) -> bool {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .take_while(|line| !line.trim_end().is_empty())
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("to").then_some(value)
        })
        .flat_map(|value| value.split(','))
        .any(|mailbox| {
            let mailbox = mailbox.trim();
            let bare = match (mailbox.rfind('<'), mailbox.rfind('>')) {
                (Some(open), Some(close)) if open < close => &mailbox[open + 1..close],
                _ => mailbox,
            };
            bare.trim().eq_ignore_ascii_case(address)
        })
}

/// The outbox file of the message with this Message-ID: `<Message-ID>.eml`, with only the
/// characters a file name can safely hold.
fn outbox_name(message_id: &str) -> String {
    let name: String = message_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '@'))
        .collect();
    format!("{name}.eml")
}

/// Writes a message into the outbox as `<Message-ID>.eml`, whole or not at all: written
/// aside, synced, then renamed into place (a repeat replaces the same file).
async fn write_to_outbox(dir: &Path, id: &str, bytes: &[u8]) -> std::io::Result<()> {
    let name = outbox_name(id);
    let stamp = Timestamp::now().0;
    let path = dir.join(&name);
    let partial = dir.join(format!(".{name}.{stamp}.partial"));
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&partial, &path)
    })
    .await
    .map_err(std::io::Error::other)?
}

impl JobHandler for MailSender {
    fn kind(&self) -> &'static str {
        MAIL_JOB
    }

    fn payload_is_personal(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, app: &'a App, job: &'a JobRow) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let message = self.message(&app.key, job)?;
            let id = message_id(&app.key, job.id, &self.domain);
            self.send(message, &id).await
        })
    }
}

/// Days a message stays in the outbox: its links have long expired by then, and the outbox
/// is no archive of who was mailed what.
pub const OUTBOX_DAYS: i64 = 7;

impl App {
    /// Deletes outbox messages older than [`OUTBOX_DAYS`]; returns how many went.
    pub(crate) async fn sweep_outbox(&self, now: Timestamp) -> Result<u64, AppError> {
        let MailTransport::Outbox(dir) = &self.config.mail.transport else {
            return Ok(0);
        };
        let dir = dir.clone();
        let before = std::time::UNIX_EPOCH
            + Duration::from_millis(now.plus_seconds(-OUTBOX_DAYS * 24 * 3600).0.max(0) as u64);
        tokio::task::spawn_blocking(move || {
            let mut deleted = 0;
            let Ok(entries) = std::fs::read_dir(&dir) else {
                return Ok(0);
            };
            for entry in entries.flatten() {
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|at| at < before);
                let ours = entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| name.ends_with(".eml") || name.ends_with(".partial"));
                if old && ours && std::fs::remove_file(entry.path()).is_ok() {
                    deleted += 1;
                }
            }
            Ok(deleted)
        })
        .await
        .map_err(|e| AppError::Internal(format!("the outbox sweep stopped: {e}")))?
    }

    /// Removes from the outbox every message sent by one of the mail jobs `jobs`, or holding
    /// `address`: what was mailed about a person goes with them at erasure, not a week later.
    /// Returns how many went.
    pub(crate) async fn purge_outbox_of(
        &self,
        jobs: &[i64],
        address: &str,
    ) -> Result<u64, AppError> {
        let MailTransport::Outbox(dir) = &self.config.mail.transport else {
            return Ok(0);
        };
        let dir = dir.clone();
        let domain = self
            .config
            .mail
            .from
            .parse::<Mailbox>()
            .map(|from| from.email.domain().to_string())
            .unwrap_or_default();
        let names: std::collections::HashSet<String> = jobs
            .iter()
            .map(|job| outbox_name(&message_id(&self.key, *job, &domain)))
            .collect();
        let address = address.to_ascii_lowercase();
        tokio::task::spawn_blocking(move || {
            let mut purged = 0;
            let Ok(entries) = std::fs::read_dir(&dir) else {
                return Ok(0);
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let about_them = names.contains(&name)
                    || (!address.is_empty()
                        && std::fs::read(entry.path())
                            .is_ok_and(|bytes| addressed_to(&bytes, &address)));
                if about_them && std::fs::remove_file(entry.path()).is_ok() {
                    purged += 1;
                }
            }
            Ok(purged)
        })
        .await
        .map_err(|e| AppError::Internal(format!("the outbox purge stopped: {e}")))?
    }

    /// Starts sending mail through the jobs table with `settings`.
    pub(crate) fn start_mail(&self) -> Result<(), AppError> {
        let sender = MailSender::new(self.config.mail.clone())?;
        self.register_job_handler(Arc::new(sender));
        Ok(())
    }

    /// Queues a message outside any other write (for the command line's test mail).
    pub async fn send_test_mail(&self, to: &str) -> Result<(), AppError> {
        let to = hearth_core::validate::email(to)?;
        self.store
            .write(move |tx| {
                Box::pin(async move { queue_mail(tx, &to, None, Letter::Test, None).await })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_purge_matches_whole_addresses_in_the_to_header() {
        let mail = b"From: Hearth <hearth@example.org>\r\nTo: ann@example.com\r\n\r\nhi";
        assert!(addressed_to(mail, "ann@example.com"));
        assert!(!addressed_to(mail, "jo-ann@example.com"));
        let named = b"To: \"Jo Ann\" <joann@example.com>\r\nSubject: x\r\n\r\n";
        assert!(addressed_to(named, "joann@example.com"));
        assert!(!addressed_to(named, "ann@example.com"));
        // The body does not count.
        let body = b"To: bo@example.com\r\n\r\nann@example.com";
        assert!(!addressed_to(body, "ann@example.com"));
    }

    #[test]
    fn every_letter_renders_in_both_formats_and_escapes_html() {
        let letters = [
            Letter::ConfirmAddress {
                link: 7,
                username: "<b>ann</b>".into(),
                new_address: false,
            },
            Letter::AddressChanged {
                username: "ann".into(),
                new_address_hint: address_hint("ann@example.org"),
            },
            Letter::RegisteredAgain {
                username: "ann".into(),
            },
            Letter::AddressInUse,
            Letter::IdentityLinked {
                username: "ann".into(),
            },
            Letter::WrongSecondFactor {
                username: "ann".into(),
            },
            Letter::AddressChangeRequested {
                username: "ann".into(),
                new_address_hint: address_hint("new@example.org"),
            },
            Letter::Test,
            Letter::TwoFactorChanged {
                username: "ann".into(),
                on: true,
            },
            Letter::ResetPassword {
                link: 9,
                username: "ann".into(),
            },
            Letter::ParentalConsent {
                link: 9,
                community: 4,
                community_name: "<i>club</i>".into(),
                username: "kid".into(),
            },
            Letter::ParentalConsentGiven {
                link: 9,
                community: 4,
                community_name: "<i>club</i>".into(),
                username: "kid".into(),
            },
            Letter::PasswordChanged {
                username: "ann".into(),
                by_reset: true,
            },
            Letter::ExportReady {
                username: "ann".into(),
                export: 7,
                days: 7,
            },
            Letter::RequestUpdate {
                username: "ann".into(),
                request: 9,
                headline: "Your privacy request was answered".into(),
            },
            Letter::ConfirmRequest {
                request: 9,
                asks: "delete your data".into(),
                agent: Some("Pat Agent".into()),
                days: 7,
            },
            Letter::PublicRequestUpdate {
                request: 9,
                holder: Holder::Agent,
                headline: "Your privacy request was answered".into(),
            },
        ];
        for letter in letters {
            let composed =
                letter.compose(|path, secret| format!("https://h.example{path}?{secret:?}"));
            let text = PlainLetter { mail: &composed }.render().unwrap_or_default();
            let html = HtmlLetter { mail: &composed }.render().unwrap_or_default();
            assert!(text.contains(&composed.greeting), "{text}");
            assert!(!html.contains("<b>ann</b>"), "{html}");
            if let Some((_, url)) = &composed.action {
                assert!(text.contains(url.as_str()) && html.contains(url.as_str()));
            }
        }
        assert_eq!(address_hint("bob@example.org"), "b•••@example.org");
    }

    #[test]
    fn a_message_id_is_the_same_for_one_job_and_differs_between_jobs() {
        let key = crate::InstanceKey::from_hex(&"11".repeat(32)).unwrap_or_else(|e| panic!("{e}"));
        let one = message_id(&key, 1, "example.org");
        assert_eq!(one, message_id(&key, 1, "example.org"));
        assert_ne!(one, message_id(&key, 2, "example.org"));
        assert!(one.starts_with('<') && one.ends_with("@example.org>"));
    }
}
