//! Privacy requests from the public form: for people without a session (ex-members, people
//! who never joined) and for authorized agents acting for someone.
//!
//! The form asks for nothing new: the address on record, and what the request needs (what to
//! correct; for a copy, a declaration). A link carrying a secret goes to that address, and the
//! page is the same whether an account uses it or not, so the form tells no one who is here.
//! Opening the link and confirming verifies the request; for an agent's request, that is the
//! person's own confirmation, and the operator then reviews the agent's permission. Opt-outs
//! and limits need no verification and are carried out at once. What verification collected
//! goes when the request closes; a request left unconfirmed expires, refused as unverifiable.
//!
//! The link's secret is derived from the request's id and who holds it (the person or the
//! agent) with the instance key: nothing stored can be turned into it.

use crate::audit::record;
use crate::export::{ExportInfo, ExportRange};
use crate::instance_key::{InstanceKey, KeyedPurpose};
use crate::mail::{Letter, queue_mail};
use crate::privacy::{Choice, ChoiceBy};
use crate::requests::{Correction, KnowAnswer, RequestInfo, audience, lifecycle_of, tell};
use crate::{App, AppError};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::requests::{DenialReason, LawProfile, RequestKind, RequestState, RequestStep};
use hearth_core::{DomainError, Timestamp, UserId, validate};
use hearth_store::{PrivacyRequestRow, Tx, VerificationRow};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Days the mailed link confirms a request; unconfirmed after that, it is refused.
pub const CONFIRM_DAYS: u32 = 7;

/// Requests one address may have waiting for confirmation, made within a day: the form mails
/// whatever address it is given, so it must not become a way to flood someone's mailbox.
const OPEN_PER_ADDRESS: usize = 3;

/// Longest agent's name, in characters.
const MAX_AGENT_NAME_CHARS: usize = 100;

/// Longest account of the person's permission, in characters.
const MAX_PERMISSION_CHARS: usize = 4000;

/// Longest description of a correction, in characters.
const MAX_CORRECTION_CHARS: usize = 4000;

/// Requests expired per sweep transaction.
const EXPIRY_BATCH: i64 = 100;

/// Who holds a request's link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    /// The person the request is about: their link confirms it.
    Person,
    /// The agent who asked for them: their link shows the answer, once the person confirmed.
    Agent,
}

impl Holder {
    fn byte(self) -> u8 {
        match self {
            Holder::Person => 1,
            Holder::Agent => 2,
        }
    }
}

/// The secret the link to request `id` carries for `holder`.
pub(crate) fn request_pass(key: &InstanceKey, id: i64, holder: Holder) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.keyed_hash(
        KeyedPurpose::RequestPass,
        &[&id.to_be_bytes(), &[holder.byte()]],
    ))
}

/// Whether `row` came from the public form.
pub(crate) fn is_public(row: &PrivacyRequestRow) -> bool {
    matches!(row.manner.as_str(), "form" | "agent")
}

/// An authorized agent's particulars.
#[derive(Debug, Clone)]
pub struct AgentDetails {
    /// Their name (a business's, or a person's).
    pub name: String,
    /// Their address, where the answer goes once the person confirmed.
    pub email: String,
    /// The person's signed permission: its words, or where it can be seen.
    pub permission: String,
}

/// A request made on the public form.
#[derive(Debug, Clone)]
pub struct PublicRequest {
    /// What it asks.
    pub kind: RequestKind,
    /// The person's address, as on record.
    pub email: String,
    /// The agent asking for them, if one is.
    pub agent: Option<AgentDetails>,
    /// For a copy: the requester declared, under penalty of perjury, that they are the
    /// person (or their authorized agent).
    pub declared: bool,
    /// For a copy: what it covers.
    pub range: ExportRange,
    /// For a correction: what is wrong and where (`explanation`), and what it should say.
    pub correction: Option<Correction>,
}

/// What the form answers, the same whether an account uses the address or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// A link to confirm the request went to the address.
    LinkMailed,
    /// An opt-out or a limit: carried out at once for any account using the address.
    Applied,
}

/// What verifying a request from the public form collected, as the operator reviews it.
#[derive(Clone)]
pub struct Verification {
    /// The address the link went to (the person's).
    pub email: String,
    /// The agent's name, when an agent asked.
    pub agent_name: Option<String>,
    /// The agent's address.
    pub agent_email: Option<String>,
    /// The agent's account of the person's signed permission.
    pub permission: Option<String>,
    /// Until when the person may confirm it.
    pub expires_at: Timestamp,
}

hearth_core::debug_fields!(Verification { expires_at });

impl From<VerificationRow> for Verification {
    fn from(row: VerificationRow) -> Self {
        Self {
            email: row.email,
            agent_name: row.agent_name,
            agent_email: row.agent_email,
            permission: row.permission,
            expires_at: Timestamp(row.expires_at),
        }
    }
}

/// A request from the public form, as its link shows it.
#[derive(Debug, Clone)]
pub struct PublicView {
    /// The request.
    pub request: RequestInfo,
    /// Who opened the link.
    pub holder: Holder,
    /// The agent who asked, while the request is open.
    pub agent: Option<String>,
    /// The agent's address, where their answers go, while the request is open.
    pub agent_email: Option<String>,
    /// Whether the person may confirm it now.
    pub confirmable: bool,
    /// Whether confirming asks for the account's password (a copy or a deletion).
    pub password_needed: bool,
    /// A request to know, answered: what is held.
    pub know: Option<KnowAnswer>,
    /// A request for a copy: the copy.
    pub copy: Option<ExportInfo>,
}

/// `raw` as one line (`one`) or several, refused when empty with `missing`.
fn required(
    field: &'static str,
    raw: &str,
    max: usize,
    one: bool,
    missing: &'static str,
) -> Result<String, AppError> {
    let text = if one {
        validate::one_line(field, raw, max)?
    } else {
        validate::several_lines(field, raw, max)?
    };
    if text.is_empty() {
        return Err(DomainError::invalid(field, missing).into());
    }
    Ok(text)
}

impl AgentDetails {
    fn check(self) -> Result<Self, AppError> {
        let name = required(
            "agent_name",
            &self.name,
            MAX_AGENT_NAME_CHARS,
            true,
            "must give the agent's name",
        )?;
        let email = validate::email(&self.email)
            .map_err(|_| DomainError::invalid("agent_email", "is not an email address"))?;
        let permission = required(
            "permission",
            &self.permission,
            MAX_PERMISSION_CHARS,
            false,
            "must give the person's signed permission: its words, or where we can see it",
        )?;
        Ok(Self {
            name,
            email,
            permission,
        })
    }
}

fn check_correction(correction: Option<Correction>) -> Result<Correction, AppError> {
    let correction =
        correction.ok_or_else(|| DomainError::invalid("correction", "must say what to correct"))?;
    let explanation = required(
        "explanation",
        &correction.explanation,
        MAX_CORRECTION_CHARS,
        false,
        "must say what is wrong, and where",
    )?;
    let value = required(
        "value",
        &correction.value,
        MAX_CORRECTION_CHARS,
        false,
        "must say what it should be",
    )?;
    Ok(Correction {
        field: "other".into(),
        value,
        explanation,
    })
}

/// The domain of an address (after its last `@`).
fn domain_of(email: &str) -> &str {
    email.rsplit_once('@').map_or("", |(_, domain)| domain)
}

/// The mailbox an address reaches, as far as can be told: without a `+tag`, so that
/// `ann+1@…` and `ann+2@…` count as one.
fn mailbox_of(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(base, _)| base);
            // Dots too: many providers ignore them, and counting too few mailboxes only
            // makes the limit stricter.
            format!("{}@{domain}", local.replace('.', ""))
        }
        None => email.to_string(),
    }
}

/// Whether confirming a request of `kind` for an account asks for its password: those that
/// disclose the data itself or delete it (§7061).
fn needs_password(kind: RequestKind) -> bool {
    matches!(kind, RequestKind::Access | RequestKind::Delete)
}

/// Days a request's link keeps showing it after it closed: long enough to read the answer
/// and fetch a copy, not a standing view of what is held.
pub const LINK_DAYS_AFTER_CLOSE: i64 = 30;

/// What a request asks, in the words of the confirmation letter.
fn asks(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Know => "tell you what personal information we hold about you",
        RequestKind::Access => "send you a copy of your personal information",
        RequestKind::Delete => "delete your personal information",
        RequestKind::Correct => "correct personal information we hold about you",
        RequestKind::OptOut => "stop selling or sharing your personal information",
        RequestKind::Limit => "limit the use of your sensitive personal information",
    }
}

impl App {
    /// Takes a request from the public form: an opt-out or a limit is carried out at once;
    /// anything else waits for the person to confirm it by the link mailed to `email`.
    pub async fn submit_public_request(
        &self,
        new: PublicRequest,
        from: Option<std::net::IpAddr>,
    ) -> Result<Submitted, AppError> {
        // Each send of the form counts against the sender's network, like a sign-in.
        self.check_address(from)?;
        let email = validate::email(&new.email)?;
        let agent = new.agent.map(AgentDetails::check).transpose()?;
        let kind = new.kind;
        let by = if agent.is_some() {
            ChoiceBy::Agent
        } else {
            ChoiceBy::Form
        };
        let account = {
            let mut reader = self.store.reader().await?;
            reader
                .conn()
                .user_by_email(&email)
                .await?
                .map(|u| UserId(u.id))
        };
        if !kind.needs_verification() {
            let choice = if kind == RequestKind::OptOut {
                Choice::SaleOptOut
            } else {
                Choice::SensitiveLimit
            };
            // One transaction either way, with a record of the request (§7101): whether an
            // account uses the address shows neither in the answer nor in how long it takes.
            let now = Timestamp::now();
            let mut row = self.completed_at_once(kind, account, by, now)?;
            row.law = self.handling(None).await?.law.code().into();
            self.store
                .write(move |tx| {
                    Box::pin(async move {
                        let mut row = row;
                        // On the person's record only when it changed something: a stranger
                        // repeating the form fills no one's history.
                        row.user_id = None;
                        if let Some(user) = account {
                            let sale = choice == Choice::SaleOptOut;
                            if tx.conn().set_privacy_choice(user, sale, Some(now)).await? {
                                row.user_id = Some(user.0);
                                let action = if sale {
                                    AuditAction::SaleOptedOut
                                } else {
                                    AuditAction::SensitiveLimited
                                };
                                let object = (ObjectKind::User, Some(user.0));
                                record(tx, None, action, object, None);
                            }
                        }
                        tx.conn().insert_privacy_request(&row, now).await?;
                        let object = (ObjectKind::PrivacyRequest, Some(row.id));
                        record(tx, None, AuditAction::RequestCompleted, object, None);
                        Ok::<_, AppError>(())
                    })
                })
                .await?;
            return Ok(Submitted::Applied);
        }
        new.range.check()?;
        if kind == RequestKind::Access && !new.declared {
            return Err(DomainError::invalid(
                "declared",
                "must be ticked: a copy of someone's data goes only to them, so declare under \
                 penalty of perjury that you are the person or their authorized agent",
            )
            .into());
        }
        let correction = match kind {
            RequestKind::Correct => Some(check_correction(new.correction)?),
            _ => None,
        };
        let law = self.handling(None).await?.law;
        let now = Timestamp::now();
        let mut row = self
            .new_request_row(kind, account, None, law, by, now)
            .await?;
        row.state = RequestState::Received.code().into();
        let mut details = crate::requests::range_json(new.range);
        details["declared"] = new.declared.into();
        if let Some(correction) = &correction {
            details = serde_json::to_value(correction)
                .map_err(|e| AppError::Internal(format!("a correction: {e}")))?;
        }
        row.details = Some(details.to_string());
        let verification = VerificationRow {
            request_id: row.id,
            email: email.clone(),
            agent_name: agent.as_ref().map(|a| a.name.clone()),
            agent_email: agent.as_ref().map(|a| a.email.clone()),
            permission: agent.as_ref().map(|a| a.permission.clone()),
            expires_at: now.plus_seconds(i64::from(CONFIRM_DAYS) * 24 * 3600).0,
            created_at: now.0,
        };
        let letter = Letter::ConfirmRequest {
            request: row.id,
            asks: asks(kind).into(),
            agent: agent.as_ref().map(|a| {
                format!(
                    "Someone calling themself \u{201c}{}\u{201d} ({})",
                    a.name, a.email
                )
            }),
            days: CONFIRM_DAYS,
        };
        let day_ago = now.plus_seconds(-24 * 3600);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let open = tx
                        .conn()
                        .open_verifications_at(domain_of(&email), day_ago)
                        .await?;
                    let same = open
                        .iter()
                        .filter(|other| mailbox_of(other) == mailbox_of(&email))
                        .count();
                    if same >= OPEN_PER_ADDRESS {
                        return Err(DomainError::RateLimited {
                            retry_after_secs: 24 * 3600,
                        }
                        .into());
                    }
                    tx.conn().insert_privacy_request(&row, now).await?;
                    tx.conn().insert_verification(&verification).await?;
                    let object = (ObjectKind::PrivacyRequest, Some(row.id));
                    record(tx, None, AuditAction::RequestReceived, object, None);
                    queue_mail(tx, &email, account, letter, None).await?;
                    Ok::<_, AppError>(())
                })
            })
            .await?;
        Ok(Submitted::LinkMailed)
    }

    /// Who holds `token` for request `id`; refuses a token that is no one's.
    fn holder_of(&self, id: i64, token: &str) -> Result<Holder, AppError> {
        use sha2::{Digest, Sha256};
        // Digests are compared, so that how long the comparison takes says nothing about
        // how much of a guessed token was right.
        let given = Sha256::digest(token.as_bytes());
        for holder in [Holder::Person, Holder::Agent] {
            let pass = request_pass(&self.key, id, holder);
            if Sha256::digest(pass.as_bytes()) == given {
                return Ok(holder);
            }
        }
        Err(DomainError::NotFound("privacy request").into())
    }

    /// A request from the public form, as the holder of its link sees it.
    pub async fn public_request(&self, id: i64, token: &str) -> Result<PublicView, AppError> {
        let holder = self.holder_of(id, token)?;
        let (row, verification, copy) = {
            let mut reader = self.store.reader().await?;
            let mut conn = reader.conn();
            let row = conn
                .privacy_request(id)
                .await?
                .filter(is_public)
                .ok_or(DomainError::NotFound("privacy request"))?;
            let verification = conn.verification(id).await?;
            let copy = conn.export_for_request(id).await?;
            (row, verification, copy)
        };
        let state = RequestState::parse(&row.state);
        // The agent's link shows nothing until the person confirmed.
        if holder == Holder::Agent && state == Some(RequestState::Received) {
            return Err(DomainError::NotFound("privacy request").into());
        }
        let now = Timestamp::now();
        // Some weeks after it closed, the link shows nothing any more.
        if row
            .responded_at
            .is_some_and(|at| at < now.plus_seconds(-LINK_DAYS_AFTER_CLOSE * 24 * 3600).0)
            && state.is_some_and(RequestState::is_closed)
        {
            return Err(DomainError::NotFound("privacy request").into());
        }
        let confirmable = holder == Holder::Person
            && state == Some(RequestState::Received)
            && verification.as_ref().is_some_and(|v| v.expires_at > now.0);
        let kind = RequestKind::parse(&row.kind);
        let password_needed =
            confirmable && row.user_id.is_some() && kind.is_some_and(needs_password);
        let request = RequestInfo::from_row(row)?;
        let know = match (request.kind, request.state, request.requester) {
            (RequestKind::Know, RequestState::Completed, Some(user)) => {
                Some(self.know_answer_for(user).await?)
            }
            _ => None,
        };
        let copy = copy.map(ExportInfo::from_record).transpose()?;
        let (agent, agent_email) = verification
            .map(|v| (v.agent_name, v.agent_email))
            .unwrap_or_default();
        Ok(PublicView {
            request,
            holder,
            agent,
            agent_email,
            confirmable,
            password_needed,
            know,
            copy,
        })
    }

    /// The person confirms a request from the public form by its link: it is verified, and
    /// carried out at once where nothing waits for the operator (an agent's permission, a
    /// correction, a kind the operator approves). A copy or a deletion of an account also
    /// asks for its password (and second factor, when on), as a signed-in member's would: the
    /// mailbox alone does not disclose or delete an account. Confirming again changes nothing.
    pub async fn confirm_public_request(
        &self,
        id: i64,
        token: &str,
        password: Option<String>,
        code: Option<&str>,
        from: Option<std::net::IpAddr>,
    ) -> Result<PublicView, AppError> {
        if self.holder_of(id, token)? != Holder::Person {
            return Err(DomainError::Forbidden(
                "only the person the request is about confirms it, by the link mailed to them",
            )
            .into());
        }
        let (row, verification) = {
            let mut reader = self.store.reader().await?;
            let mut conn = reader.conn();
            (
                conn.privacy_request(id).await?,
                conn.verification(id).await?,
            )
        };
        let (Some(row), Some(verification)) = (row, verification) else {
            return self.public_request(id, token).await;
        };
        let kind = RequestKind::parse(&row.kind)
            .ok_or_else(|| AppError::Internal("a request of no known kind".into()))?;
        // Nothing is tried on a request that is no longer waiting, or whose link expired.
        if row.state != RequestState::Received.code()
            || verification.expires_at <= Timestamp::now().0
        {
            return self.public_request(id, token).await;
        }
        let agent = verification.agent_email.is_some();
        // The account must still use the address the link went to: one that moved away
        // from a mailbox is no longer confirmed by it.
        let account = match row.user_id.map(UserId) {
            Some(user) => {
                let mut reader = self.store.reader().await?;
                let current = reader.conn().user(user).await?;
                match current {
                    Some(u) if u.email == verification.email => Some(user),
                    Some(_) => {
                        // Told on the page only: an agent learns nothing of the account.
                        self.close_public(row, DenialReason::CannotVerify, None, false)
                            .await?;
                        return self.public_request(id, token).await;
                    }
                    None => None,
                }
            }
            None => None,
        };
        if let Some(user) = account
            && needs_password(kind)
        {
            let password = password.filter(|p| !p.is_empty()).ok_or_else(|| {
                DomainError::invalid(
                    "password",
                    "must be entered: a copy or a deletion of an account needs its password",
                )
            })?;
            // Counted against the sender's network as well as the account, and one answer
            // for a wrong password and a missing or wrong code: the form is no way to learn
            // either apart.
            self.check_address(from)?;
            self.reauthenticate_user(user, password, code)
                .await
                .map_err(|error| match error {
                    AppError::Domain(DomainError::Invalid { .. }) => DomainError::invalid(
                        "password",
                        "the password, or the code from the authenticator, is not right",
                    )
                    .into(),
                    other => other,
                })?;
        }
        let Some((row, _)) = self.verify_public(id).await? else {
            return self.public_request(id, token).await;
        };
        // An agent's request waits for the operator's review of the permission whatever is
        // held, so that the agent learns nothing before it: not even whether an account
        // uses the address.
        if agent {
            return self.public_request(id, token).await;
        }
        let Some(user) = account else {
            // No account uses the address: nothing is held to answer with.
            self.close_public(row, DenialReason::NothingHeld, None, true)
                .await?;
            return self.public_request(id, token).await;
        };
        let waits = agent || kind == RequestKind::Correct || {
            let handling = self.handling(None).await?;
            handling.needs_approval(kind)
        };
        if !waits {
            let carried = match kind {
                RequestKind::Know => self
                    .carry_out_in_place(user, row, None, false, None)
                    .await
                    .map(drop),
                RequestKind::Access => {
                    let range = row
                        .details
                        .as_deref()
                        .and_then(crate::requests::range_from_details)
                        .unwrap_or(ExportRange::LastTwelveMonths);
                    self.start_copy(user, range, row, false, true, None)
                        .await
                        .map(drop)
                }
                RequestKind::Delete => self.erase_for(user, row, false, None, None).await.map(drop),
                RequestKind::Correct | RequestKind::OptOut | RequestKind::Limit => Ok(()),
            };
            if let Err(error) = carried {
                // It stays verified at the operator's desk, saying why it could not be done.
                let why = match &error {
                    AppError::Domain(e) => format!("It could not be carried out at once: {e}"),
                    _ => "It could not be carried out at once: an internal error (see the \
                          server's log)"
                        .to_string(),
                };
                tracing::warn!(request = id, error = %error, "a confirmed request could not be carried out");
                self.note_request_failure(id, &why).await;
            }
        }
        self.public_request(id, token).await
    }

    /// Moves request `id` from received to verified, if it is waiting and its link is live;
    /// returns it and what verification collected. Tells the agent the person confirmed.
    async fn verify_public(
        &self,
        id: i64,
    ) -> Result<Option<(PrivacyRequestRow, VerificationRow)>, AppError> {
        let now = Timestamp::now();
        let fallback = self.config.law;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let Some(mut row) = tx.conn().privacy_request(id).await? else {
                        return Ok(None);
                    };
                    let Some(verification) = tx.conn().verification(id).await? else {
                        return Ok(None);
                    };
                    if row.state != RequestState::Received.code()
                        || verification.expires_at <= now.0
                    {
                        return Ok(None);
                    }
                    let law = LawProfile::parse(&row.law).unwrap_or(fallback);
                    let verified = lifecycle_of(&row)?
                        .after(RequestStep::Verify, law)
                        .map_err(|e| AppError::Internal(format!("cannot verify: {e}")))?;
                    row.state = verified.state.code().into();
                    if !tx
                        .conn()
                        .update_privacy_request(&row, RequestState::Received.code(), now)
                        .await?
                    {
                        return Ok(None);
                    }
                    let object = (ObjectKind::PrivacyRequest, Some(id));
                    record(tx, None, AuditAction::RequestVerified, object, None);
                    if verification.agent_email.is_some() {
                        let audience = audience(tx, &row).await?;
                        tell(
                            tx,
                            &audience,
                            &row,
                            "The person confirmed your privacy request; we are reviewing your \
                             permission",
                        )
                        .await?;
                    }
                    Ok::<_, AppError>(Some((row, verification)))
                })
            })
            .await
    }

    /// Refuses a request from the public form for `reason`, answering with `answer` (the
    /// reason's own words when none), and with `tell`, mailing the person and the agent.
    async fn close_public(
        &self,
        mut row: PrivacyRequestRow,
        reason: DenialReason,
        answer: Option<String>,
        tell_them: bool,
    ) -> Result<(), AppError> {
        let law = LawProfile::parse(&row.law).unwrap_or(self.config.law);
        let denied = lifecycle_of(&row)?
            .after(RequestStep::Deny(reason), law)
            .map_err(|e| AppError::Internal(format!("cannot refuse: {e}")))?;
        let was = row.state.clone();
        let now = Timestamp::now();
        crate::requests::mark_denied(&mut row, denied.state, reason, answer, now);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let audience = audience(tx, &row).await?;
                    if !tx.conn().update_privacy_request(&row, &was, now).await? {
                        return Ok(());
                    }
                    let object = (ObjectKind::PrivacyRequest, Some(row.id));
                    record(tx, None, AuditAction::RequestDenied, object, None);
                    if tell_them {
                        tell(tx, &audience, &row, "Your privacy request was answered").await?;
                    }
                    Ok::<_, AppError>(())
                })
            })
            .await
    }

    /// The copy a request from the public form made, ready and unexpired, for its link's
    /// holder to download.
    pub async fn public_copy_file(
        &self,
        id: i64,
        token: &str,
    ) -> Result<(ExportInfo, PathBuf), AppError> {
        let view = self.public_request(id, token).await?;
        let copy = view
            .copy
            .filter(|c| c.offered(Timestamp::now()))
            .ok_or(DomainError::NotFound("export"))?;
        let path = self.export_path(copy.id);
        Ok((copy, path))
    }

    /// Refuses requests whose link expired unconfirmed, as unverifiable, forgetting what
    /// verification collected. Returns how many.
    pub(crate) async fn expire_unconfirmed_requests(
        &self,
        now: Timestamp,
    ) -> Result<u64, AppError> {
        let mut expired = 0;
        loop {
            let due = {
                let mut reader = self.store.reader().await?;
                let before = now.plus_seconds(-i64::from(CONFIRM_DAYS) * 24 * 3600);
                reader
                    .conn()
                    .unconfirmed_expired(before, EXPIRY_BATCH)
                    .await?
            };
            if due.is_empty() {
                return Ok(expired);
            }
            for row in due {
                self.close_public(row, DenialReason::CannotVerify, None, false)
                    .await?;
                expired += 1;
            }
        }
    }

    /// Whether `value` (a username, an address, an identity-provider subject) belongs to
    /// someone erased, and since when.
    pub async fn erased_since(
        &self,
        kind: IdentifierKind,
        value: &str,
    ) -> Result<Option<Timestamp>, AppError> {
        let digest = identifier_digest(&self.key, kind, value);
        let mut reader = self.store.reader().await?;
        Ok(reader
            .conn()
            .suppressed_since(&digest)
            .await?
            .map(Timestamp))
    }
}

/// Mails a public-form request's person (and, once they confirmed, the agent) that it moved
/// on.
pub(crate) async fn tell_public(
    tx: &mut Tx,
    verification: &VerificationRow,
    row: &PrivacyRequestRow,
    headline: &str,
) -> Result<(), AppError> {
    let letter = |holder| Letter::PublicRequestUpdate {
        request: row.id,
        holder,
        headline: headline.into(),
    };
    queue_mail(tx, &verification.email, None, letter(Holder::Person), None).await?;
    if let Some(agent) = &verification.agent_email
        && row.state != RequestState::Received.code()
    {
        queue_mail(tx, agent, None, letter(Holder::Agent), None).await?;
    }
    Ok(())
}

/// Which identifier the suppression list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierKind {
    /// A username.
    Username,
    /// An email address.
    Email,
    /// An identity provider's subject (`issuer` and `subject`, joined by a space).
    Subject,
}

impl IdentifierKind {
    fn code(self) -> &'static str {
        match self {
            IdentifierKind::Username => "username",
            IdentifierKind::Email => "email",
            IdentifierKind::Subject => "subject",
        }
    }
}

/// The suppression list's digest of `value`: a keyed hash, so that the list cannot be read
/// back into identifiers nor matched by anyone without the instance key.
pub(crate) fn identifier_digest(key: &InstanceKey, kind: IdentifierKind, value: &str) -> String {
    let normalized = value.trim().to_lowercase();
    key.keyed_hash(
        KeyedPurpose::ErasedIdentifier,
        &[kind.code().as_bytes(), normalized.as_bytes()],
    )
    .iter()
    .map(|b| format!("{b:02x}"))
    .collect()
}

/// Puts `user`'s identifiers on the suppression list, in the transaction that erases them.
pub(crate) async fn suppress_identifiers_of(
    tx: &mut Tx,
    key: &InstanceKey,
    user: UserId,
    now: Timestamp,
) -> Result<(), AppError> {
    let Some(person) = tx.conn().user(user).await? else {
        return Ok(());
    };
    let mut digests = vec![
        (
            identifier_digest(key, IdentifierKind::Username, &person.username),
            IdentifierKind::Username.code(),
        ),
        (
            identifier_digest(key, IdentifierKind::Email, &person.email),
            IdentifierKind::Email.code(),
        ),
    ];
    for (issuer, subject) in tx.conn().identity_subjects_of(user).await? {
        digests.push((
            identifier_digest(key, IdentifierKind::Subject, &format!("{issuer} {subject}")),
            IdentifierKind::Subject.code(),
        ));
    }
    tx.conn().suppress_identifiers(&digests, now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_after_plus_reaches_the_same_mailbox() {
        assert_eq!(mailbox_of("ann+x@example.org"), "ann@example.org");
        assert_eq!(mailbox_of("ann+x+y@example.org"), "ann@example.org");
        assert_eq!(mailbox_of("ann@example.org"), "ann@example.org");
        assert_eq!(mailbox_of("a.nn+z@example.org"), "ann@example.org");
        assert_eq!(domain_of("ann+x@example.org"), "example.org");
    }

    #[test]
    fn each_holder_has_a_secret_of_their_own() -> Result<(), AppError> {
        let key = InstanceKey::generate()?;
        let person = request_pass(&key, 7, Holder::Person);
        assert_ne!(person, request_pass(&key, 7, Holder::Agent));
        assert_ne!(person, request_pass(&key, 8, Holder::Person));
        assert_eq!(person, request_pass(&key, 7, Holder::Person));
        Ok(())
    }
}
