//! Privacy requests as they arrive and move: a member asks (to know, for a copy, to delete, to
//! correct) of a community they belong to or of the operator; the request is verified by the
//! session and, except for a request to know, the password entered again; it is carried out
//! at once, or waits in the admins' inbox when the community holds that kind for approval.
//! Admins approve, deny with a reason from the law's closed list, extend once with a notice,
//! or complete by hand; a step that failed (a copy that could not be made) shows there with
//! why, and is run again from there. Every step is audited, and the records feed the yearly
//! metrics and the request log.

use crate::audit::record;
use crate::communities::{require, role_in};
use crate::erasure::ErasureAnswer;
use crate::export::{ExportInfo, ExportRange};
use crate::mail::{Letter, queue_mail};
use crate::privacy::ChoiceBy;
use crate::profiles::write_answers;
use crate::{Actor, App, AppError};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::catalog::Source;
use hearth_core::know::{self, HeldCategory};
use hearth_core::permissions::Action;
use hearth_core::profile::{self, Coverage};
use hearth_core::requests::{
    CorrectionTarget, Counted, DenialReason, Handling, KindMetrics, LawProfile, Lifecycle,
    RequestKind, RequestState, RequestStep, yearly_metrics,
};
use hearth_core::{CommunityId, DomainError, ProfileFieldId, Timestamp, UserId, validate};
use hearth_store::{Inbox, PrivacyRequestRow, Tx, VerificationRow};
use serde::{Deserialize, Serialize};
use time::Date;

/// Open requests an inbox lists at most.
const INBOX_SHOWN: i64 = 500;

/// A request is marked due soon this many days before its deadline.
pub const DUE_SOON_DAYS: i64 = 7;

/// Longest correction or note, in characters.
const MAX_TEXT_CHARS: usize = 2000;

/// What a correction asks: which field, the right value, and (for anything an admin must
/// look into) what is wrong, in the requester's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    /// `display_name`, `about`, `profile:<field id>` or `other`.
    pub field: String,
    /// The right value.
    pub value: String,
    /// What is wrong and where, for anything but the caller's own fields.
    #[serde(default)]
    pub explanation: String,
}

impl Correction {
    fn target(&self) -> Result<CorrectionTarget, AppError> {
        CorrectionTarget::parse(self.field.trim()).ok_or_else(|| {
            DomainError::invalid(
                "field",
                "must be display_name, about, profile:<field id> or other",
            )
            .into()
        })
    }

    fn check(&self) -> Result<CorrectionTarget, AppError> {
        let target = self.target()?;
        if self.value.chars().count() > MAX_TEXT_CHARS
            || self.explanation.chars().count() > MAX_TEXT_CHARS
        {
            return Err(DomainError::invalid("value", "is too long").into());
        }
        match target {
            CorrectionTarget::DisplayName => {
                validate::name("value", &self.value)?;
            }
            CorrectionTarget::Other if self.explanation.trim().is_empty() => {
                return Err(DomainError::invalid(
                    "explanation",
                    "must say what is wrong and where, for an admin to look into",
                )
                .into());
            }
            _ => {}
        }
        Ok(target)
    }
}

/// A request a signed-in member makes.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// What is asked: know, access, delete or correct (opt-outs and limits are choices,
    /// made at once: [`App::set_privacy_choice`]).
    pub kind: RequestKind,
    /// The community asked (one the caller belongs to); none: the operator.
    pub community: Option<CommunityId>,
    /// The caller's password, entered again (all but a request to know).
    pub password: Option<String>,
    /// Their second factor, when on.
    pub code: Option<String>,
    /// For a correction: what to correct.
    pub correction: Option<Correction>,
    /// For a copy: what dated data it covers.
    pub range: ExportRange,
}

/// A privacy request as its requester and the admins see it.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Its reference.
    pub id: i64,
    /// What it asks.
    pub kind: RequestKind,
    /// Where it stands.
    pub state: RequestState,
    /// The law its deadlines follow.
    pub law: LawProfile,
    /// How it came.
    pub manner: String,
    /// The community asked; none: the operator.
    pub community: Option<CommunityId>,
    /// The requester, while they have an account.
    pub requester: Option<UserId>,
    /// When it was received.
    pub received_at: Timestamp,
    /// Confirm receipt by, when the law asks.
    pub acknowledge_by: Option<Date>,
    /// The answer is due by (the extended date, once extended).
    pub due: Date,
    /// Whether the deadline was extended.
    pub extended: bool,
    /// Why it was refused (or, completed, why part of it was).
    pub denial: Option<DenialReason>,
    /// The answer, in plain words.
    pub answer: Option<String>,
    /// An admin's words to the requester.
    pub note: Option<String>,
    /// Beyond the law's yearly quota for its kind.
    pub beyond_quota: bool,
    /// Why its last step failed, until run again.
    pub failure: Option<String>,
    /// What a correction asks, while open.
    pub correction: Option<Correction>,
    /// When it was answered.
    pub answered_at: Option<Timestamp>,
}

impl RequestInfo {
    pub(crate) fn from_row(row: PrivacyRequestRow) -> Result<Self, AppError> {
        let corrupt =
            |what: &str| AppError::Internal(format!("privacy request {} has a bad {what}", row.id));
        let date = |text: &str| parse_date(text).ok_or_else(|| corrupt("date"));
        let kind = RequestKind::parse(&row.kind).ok_or_else(|| corrupt("kind"))?;
        let due = match (row.extended, &row.extended_to) {
            (true, Some(to)) => date(to)?,
            _ => date(&row.respond_by)?,
        };
        Ok(Self {
            id: row.id,
            kind,
            state: RequestState::parse(&row.state).ok_or_else(|| corrupt("state"))?,
            law: LawProfile::parse(&row.law).ok_or_else(|| corrupt("law"))?,
            manner: row.manner,
            community: row.community_id.map(CommunityId),
            requester: row.user_id.map(UserId),
            received_at: Timestamp(row.received_at),
            acknowledge_by: row.acknowledge_by.as_deref().map(date).transpose()?,
            due,
            extended: row.extended,
            denial: row.denial_reason.as_deref().and_then(DenialReason::parse),
            answer: row.answer,
            note: row.note,
            beyond_quota: row.beyond_quota,
            failure: row.failure,
            correction: row
                .details
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
            answered_at: row.responded_at.map(Timestamp),
        })
    }

    /// Calendar days from `today` to the deadline (negative once it passed).
    pub fn days_left(&self, today: Date) -> i64 {
        (self.due - today).whole_days()
    }

    /// Whether it is open and past its deadline.
    pub fn overdue(&self, today: Date) -> bool {
        !self.state.is_closed() && self.days_left(today) < 0
    }

    /// Whether it is open and due within [`DUE_SOON_DAYS`].
    pub fn due_soon(&self, today: Date) -> bool {
        !self.state.is_closed() && (0..=DUE_SOON_DAYS).contains(&self.days_left(today))
    }
}

fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).ok()
}

/// An open request in an admins' inbox, with who asked.
#[derive(Debug, Clone)]
pub struct InboxEntry {
    /// The request.
    pub request: RequestInfo,
    /// The requester's username, while they have an account.
    pub requester: Option<String>,
    /// For a request from the public form, while it is open: what verification collected,
    /// for the operator to review (an agent's permission above all). Only on one request's
    /// page, never in the list.
    pub verification: Option<crate::public_requests::Verification>,
}

/// What became of a request just made.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Carried out (a request to know, a correction of one's own fields).
    Done(RequestInfo),
    /// Waiting for an admin's approval.
    Waiting(RequestInfo),
    /// A copy, being made by a job.
    Copy(ExportInfo),
    /// The account is erased.
    Erased(ErasureAnswer),
}

/// What an admin does with a request.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Carry it out: answer the request to know, make the correction or the copy, erase.
    Approve,
    /// Refuse it, for a reason from the law's list, with the facts in a note.
    Deny {
        /// Why.
        reason: DenialReason,
        /// The facts behind it, for the requester.
        note: String,
    },
    /// Extend its deadline, once, telling the requester why.
    Extend {
        /// Why more time is needed.
        note: String,
    },
    /// Mark it done by hand (a correction an admin made), with a note for the requester.
    Complete {
        /// What was done.
        note: String,
    },
    /// Run a failed step again.
    Retry,
}

/// The answer to a request to know.
#[derive(Debug, Clone)]
pub struct KnowAnswer {
    /// The categories held, with sources, purposes and retention.
    pub categories: Vec<HeldCategory>,
    /// Who receives personal information, and what.
    pub recipients: Vec<String>,
    /// Whether any was sold or shared in the past twelve months.
    pub sold_or_shared: bool,
}

/// Whose requests an admin may see and answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Desk {
    /// A community's, by its admins (and the owner).
    Community(CommunityId),
    /// Every request, by the operator.
    Operator,
}

impl App {
    /// How requests addressed to `community` (none: the operator) are answered.
    pub(crate) async fn handling(
        &self,
        community: Option<CommunityId>,
    ) -> Result<Handling, AppError> {
        let Some(community) = community else {
            return Ok(Handling {
                law: self.config.law,
                approved: self.config.approved_requests.clone(),
            });
        };
        let mut reader = self.store.reader().await?;
        let (law, codes) = reader
            .conn()
            .request_handling(community)
            .await?
            .ok_or(DomainError::NotFound("community"))?;
        let law = law
            .as_deref()
            .and_then(LawProfile::parse)
            .unwrap_or(self.config.law);
        Ok(Handling::from_codes(law, &codes))
    }

    /// How a community answers privacy requests, for its admins.
    pub async fn request_handling(
        &self,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<Handling, AppError> {
        self.check_desk(actor, Desk::Community(community)).await?;
        self.handling(Some(community)).await
    }

    /// Sets how a community answers privacy requests (its admins).
    pub async fn set_request_handling(
        &self,
        actor: &Actor,
        community: CommunityId,
        handling: Handling,
    ) -> Result<Handling, AppError> {
        let user = actor.user;
        let codes = Handling::from_codes(handling.law, &handling.codes()).codes();
        let law = handling.law.code();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, user).await?;
                    require(
                        role,
                        Action::HandlePrivacyRequests,
                        "only admins choose how privacy requests are answered",
                    )?;
                    let now = Timestamp::now();
                    tx.conn()
                        .set_request_handling(community, law, &codes, now)
                        .await?;
                    let object = (ObjectKind::Community, Some(community.0));
                    record(
                        tx,
                        Some(user),
                        AuditAction::RequestHandlingChanged,
                        object,
                        Some(community),
                    );
                    Ok::<_, AppError>(())
                })
            })
            .await?;
        self.handling(Some(community)).await
    }

    /// Makes a privacy request for the caller: carried out at once, or left for an admin
    /// when the community (or the operator) holds that kind for approval, or when a
    /// correction names something only an admin can change.
    pub async fn make_request(
        &self,
        actor: &Actor,
        new: NewRequest,
        by: ChoiceBy,
    ) -> Result<Outcome, AppError> {
        let kind = new.kind;
        if !kind.needs_verification() {
            return Err(DomainError::invalid(
                "kind",
                "opting out and limiting are choices, made at once: PUT /api/v1/me/privacy",
            )
            .into());
        }
        // What needs no password first: each try of one counts against its owner.
        new.range.check()?;
        let target = match (kind, &new.correction) {
            (RequestKind::Correct, Some(correction)) => Some(correction.check()?),
            (RequestKind::Correct, None) => {
                return Err(DomainError::invalid("correction", "must say what to correct").into());
            }
            _ => None,
        };
        if let Some(community) = new.community {
            let mut reader = self.store.reader().await?;
            role_in(&mut reader.conn(), community, actor.user).await?;
        }
        if let Some(CorrectionTarget::ProfileAnswer(field)) = target {
            let (home, _) = self.field_of_mine(actor, field).await?;
            // A community's admins see only their own community's answers.
            if new.community.is_some_and(|c| c != home) {
                return Err(DomainError::invalid(
                    "correction",
                    "names an answer to another community's question: ask that community",
                )
                .into());
            }
        }
        // A request to know the categories is verified by the session alone; a copy, a
        // deletion or a correction act on the data itself, so the password comes again.
        if kind != RequestKind::Know {
            let password = new.password.clone().ok_or_else(|| {
                DomainError::invalid("password", "must be entered again for this request")
            })?;
            self.reauthenticate(actor, password, new.code.as_deref())
                .await?;
        }
        let handling = self.handling(new.community).await?;
        // The account is one across the instance: what the operator holds for approval is
        // held whichever community is asked.
        let operator_holds =
            new.community.is_some() && self.handling(None).await?.needs_approval(kind);
        let now = Timestamp::now();
        let mut row = self
            .new_request_row(kind, Some(actor.user), new.community, handling.law, by, now)
            .await?;
        let waits = handling.needs_approval(kind)
            || operator_holds
            || target.as_ref().is_some_and(|t| !t.self_editable());
        if waits {
            row.details = match &new.correction {
                Some(c) => Some(
                    serde_json::to_string(c)
                        .map_err(|e| AppError::Internal(format!("a correction: {e}")))?,
                ),
                None => None,
            };
            if kind == RequestKind::Access {
                row.details = Some(range_details(new.range)?);
            }
            let info = self.record_waiting(actor.user, row, now).await?;
            return Ok(Outcome::Waiting(info));
        }
        match kind {
            RequestKind::Access => Ok(Outcome::Copy(
                self.start_copy(actor.user, new.range, row, true, true, None)
                    .await?,
            )),
            RequestKind::Delete => Ok(Outcome::Erased(
                self.erase_for(actor.user, row, true, None, None).await?,
            )),
            RequestKind::Know | RequestKind::Correct => {
                let correction = new.correction.clone();
                let done = self
                    .carry_out_in_place(actor.user, row, correction, true, None)
                    .await?;
                Ok(Outcome::Done(done))
            }
            RequestKind::OptOut | RequestKind::Limit => {
                Err(DomainError::invalid("kind", "is a choice").into())
            }
        }
    }

    /// The field's community, when the caller belongs to it.
    async fn field_of_mine(
        &self,
        actor: &Actor,
        field: i64,
    ) -> Result<(CommunityId, String), AppError> {
        let mut reader = self.store.reader().await?;
        let (community, label) = reader
            .conn()
            .profile_field_home(ProfileFieldId(field))
            .await?
            .ok_or(DomainError::NotFound("profile field"))?;
        role_in(&mut reader.conn(), community, actor.user).await?;
        Ok((community, label))
    }

    /// A new request's record: received and verified now, with its deadlines under `law`,
    /// and whether it goes beyond the law's yearly quota.
    pub(crate) async fn new_request_row(
        &self,
        kind: RequestKind,
        user: Option<UserId>,
        community: Option<CommunityId>,
        law: LawProfile,
        by: ChoiceBy,
        now: Timestamp,
    ) -> Result<PrivacyRequestRow, AppError> {
        let beyond_quota = if law.rules(kind).yearly_quota.is_some() {
            // Counted even for no account (as no one's, id 0), so that a request from the
            // public form takes as long whether an account uses its address or not.
            let mut reader = self.store.reader().await?;
            let made = reader
                .conn()
                .privacy_requests_counted(
                    user.unwrap_or(UserId(0)),
                    &["know", "access"],
                    now.minus_months(12),
                )
                .await?;
            user.is_some() && law.beyond_quota(kind, u32::try_from(made).unwrap_or(u32::MAX))
        } else {
            false
        };
        let due = law.deadlines(kind, now.to_datetime().date(), &self.config.holidays);
        let verified = Lifecycle::received(kind)
            .after(RequestStep::Verify, law)
            .map_err(|e| AppError::Internal(format!("a request cannot be verified: {e}")))?;
        Ok(PrivacyRequestRow {
            id: self.store.next_id(),
            user_id: user.map(|u| u.0),
            kind: kind.code().into(),
            state: verified.state.code().into(),
            law: law.code().into(),
            manner: by.manner().into(),
            received_at: now.0,
            acknowledge_by: due.acknowledge_by.map(|d| d.to_string()),
            respond_by: due.respond_by.to_string(),
            extended_to: due.extended_to.map(|d| d.to_string()),
            extended: false,
            denial_reason: None,
            responded_at: None,
            community_id: community.map(|c| c.0),
            details: None,
            answer: None,
            note: None,
            beyond_quota,
            failure: None,
        })
    }

    async fn record_waiting(
        &self,
        user: UserId,
        row: PrivacyRequestRow,
        now: Timestamp,
    ) -> Result<RequestInfo, AppError> {
        let stored = row.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    tx.conn().insert_privacy_request(&stored, now).await?;
                    let object = (ObjectKind::PrivacyRequest, Some(stored.id));
                    let community = stored.community_id.map(CommunityId);
                    record(
                        tx,
                        Some(user),
                        AuditAction::RequestReceived,
                        object,
                        community,
                    );
                    Ok::<_, AppError>(())
                })
            })
            .await?;
        RequestInfo::from_row(row)
    }

    /// Carries out a request to know or a correction, completing its record in the same
    /// transaction: inserted when `fresh`, else moved on from where it stood. `by_admin`
    /// names the admin who approved it.
    pub(crate) async fn carry_out_in_place(
        &self,
        user: UserId,
        mut row: PrivacyRequestRow,
        correction: Option<Correction>,
        fresh: bool,
        by_admin: Option<UserId>,
    ) -> Result<RequestInfo, AppError> {
        let kind = RequestKind::parse(&row.kind)
            .ok_or_else(|| AppError::Internal("a request of no known kind".into()))?;
        let law = LawProfile::parse(&row.law).unwrap_or(self.config.law);
        let was = row.state.clone();
        let now = Timestamp::now();
        let done = lifecycle_of(&row)?
            .after(RequestStep::Complete, law)
            .map_err(|e| DomainError::Conflict(refusal_text(e)))?;
        row.state = done.state.code().into();
        row.responded_at = Some(now.0);
        row.details = None;
        let written = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    row.answer = Some(match (kind, &correction) {
                        (RequestKind::Correct, Some(c)) => {
                            apply_correction(tx, user, c, now).await?
                        }
                        _ => "The categories of personal information we hold about you, where \
                              each came from, why we keep it and for how long, are on this \
                              request's page."
                            .to_string(),
                    });
                    let audience = audience(tx, &row).await?;
                    if fresh {
                        tx.conn().insert_privacy_request(&row, now).await?;
                        let object = (ObjectKind::PrivacyRequest, Some(row.id));
                        let community = row.community_id.map(CommunityId);
                        record(
                            tx,
                            Some(user),
                            AuditAction::RequestReceived,
                            object,
                            community,
                        );
                    } else if !tx.conn().update_privacy_request(&row, &was, now).await? {
                        return Err(DomainError::Conflict("the request has just changed").into());
                    }
                    let object = (ObjectKind::PrivacyRequest, Some(row.id));
                    let community = row.community_id.map(CommunityId);
                    // Carried out for someone with no session (the public form): no one is
                    // the actor but an admin who approved it.
                    let actor = match by_admin {
                        Some(admin) => Some(admin),
                        None if crate::public_requests::is_public(&row) => None,
                        None => Some(user),
                    };
                    record(tx, actor, AuditAction::RequestCompleted, object, community);
                    if by_admin.is_some() {
                        tell(tx, &audience, &row, "Your privacy request was answered").await?;
                    }
                    Ok::<_, AppError>(row)
                })
            })
            .await?;
        RequestInfo::from_row(written)
    }

    /// One of the caller's requests; none is anyone else's to see.
    pub async fn my_request(&self, actor: &Actor, id: i64) -> Result<RequestInfo, AppError> {
        let row = {
            let mut reader = self.store.reader().await?;
            reader.conn().privacy_request(id).await?
        };
        match row {
            Some(row) if row.user_id == Some(actor.user.0) => RequestInfo::from_row(row),
            _ => Err(DomainError::NotFound("privacy request").into()),
        }
    }

    /// What is held about the caller, as a request to know answers it: worked out from the
    /// catalog and the kinds of data actually held about them.
    pub async fn know_answer(&self, actor: &Actor) -> Result<KnowAnswer, AppError> {
        self.know_answer_for(actor.user).await
    }

    /// What is held about `user`, as a request to know answers it.
    pub(crate) async fn know_answer_for(&self, user: UserId) -> Result<KnowAnswer, AppError> {
        let (held, fields, linked, reached) = {
            let mut reader = self.store.reader().await?;
            let mut conn = reader.conn();
            let held = conn.tables_holding(user).await?;
            let fields = conn.answered_field_categories(user).await?;
            let linked = held.iter().any(|t| t.source == Source::IdentityProvider);
            let reached = conn.reached(user).await?;
            (held, fields, linked, reached)
        };
        let categories = know::categories_held(&held, &fields);
        let mut recipients = vec![
            "Other members of the communities and conversations you take part in: what you \
             write there, your username, display name and picture, and your profile as each \
             field's visibility allows."
                .to_string(),
        ];
        if matches!(self.config.mail.transport, crate::MailTransport::Smtp(_)) {
            recipients.push(
                "The mail relay that delivers our mail to you (a service provider): your email \
                 address and the messages we send you."
                    .into(),
            );
        }
        if linked && let Some(name) = self.oidc_name() {
            recipients.push(format!(
                "{name} (the identity provider you sign in with): that you signed in, when."
            ));
        }
        // Messages sent on by a community's webhooks: to a service provider, a disclosure
        // for a business purpose; to a third party, a sale or sharing (1798.140(ad), (ah)).
        let year_ago = Timestamp::now().minus_months(12).0;
        let mut shared_lately = false;
        for (_, name, recipient, last_at) in &reached {
            let third = recipient == hearth_core::webhooks::Recipient::ThirdParty.code();
            shared_lately |= third && *last_at >= year_ago;
            recipients.push(if third {
                format!(
                    "{name} (a third party, through a community's webhook): messages you wrote in \
                     the channels it receives, with your username and display name. This is a \
                     sale or sharing, which you can opt out of on your privacy page."
                )
            } else {
                format!(
                    "{name} (a service provider under contract, through a community's webhook): \
                     messages you wrote in the channels it receives, with your username and \
                     display name."
                )
            });
        }
        let sold_or_shared = shared_lately || categories.iter().any(|c| c.sold_or_shared);
        Ok(KnowAnswer {
            categories,
            recipients,
            sold_or_shared,
        })
    }

    /// Checks the caller may work at `desk`: a community's admins (and owner) at its desk,
    /// the operator at every desk.
    async fn check_desk(&self, actor: &Actor, desk: Desk) -> Result<(), AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let operator = conn.user(actor.user).await?.is_some_and(|u| u.is_operator);
        if operator {
            return Ok(());
        }
        match desk {
            Desk::Operator => {
                Err(DomainError::Forbidden("only the operator sees every request").into())
            }
            Desk::Community(community) => {
                let role = role_in(&mut conn, community, actor.user).await?;
                require(
                    role,
                    Action::HandlePrivacyRequests,
                    "only admins see the community's privacy requests",
                )
            }
        }
    }

    /// The open requests at `desk`, oldest first, with who asked.
    pub async fn request_inbox(
        &self,
        actor: &Actor,
        desk: Desk,
    ) -> Result<Vec<InboxEntry>, AppError> {
        self.check_desk(actor, desk).await?;
        self.inbox_entries(desk).await
    }

    /// Every open request, for the operator on the command line.
    pub async fn open_requests_on_console(&self) -> Result<Vec<InboxEntry>, AppError> {
        self.inbox_entries(Desk::Operator).await
    }

    async fn inbox_entries(&self, desk: Desk) -> Result<Vec<InboxEntry>, AppError> {
        let inbox = match desk {
            Desk::Community(community) => Inbox::Community(community),
            Desk::Operator => Inbox::All,
        };
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let rows = conn.open_privacy_requests(inbox, INBOX_SHOWN).await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let requester = match row.user_id {
                Some(id) => conn.user(UserId(id)).await?.map(|u| u.username),
                None => None,
            };
            entries.push(InboxEntry {
                request: RequestInfo::from_row(row)?,
                requester,
                verification: None,
            });
        }
        Ok(entries)
    }

    /// A request at `desk`, for an admin to look at.
    pub async fn desk_request(
        &self,
        actor: &Actor,
        desk: Desk,
        id: i64,
    ) -> Result<InboxEntry, AppError> {
        self.check_desk(actor, desk).await?;
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let row = conn
            .privacy_request(id)
            .await?
            .filter(|row| match desk {
                Desk::Community(community) => row.community_id == Some(community.0),
                Desk::Operator => true,
            })
            .ok_or(DomainError::NotFound("privacy request"))?;
        let requester = match row.user_id {
            Some(id) => conn.user(UserId(id)).await?.map(|u| u.username),
            None => None,
        };
        let verification = conn
            .verification(row.id)
            .await?
            .map(crate::public_requests::Verification::from);
        Ok(InboxEntry {
            request: RequestInfo::from_row(row)?,
            requester,
            verification,
        })
    }

    /// An admin acts on a request at `desk`.
    pub async fn decide_request(
        &self,
        actor: &Actor,
        desk: Desk,
        id: i64,
        decision: Decision,
    ) -> Result<RequestInfo, AppError> {
        let entry = self.desk_request(actor, desk, id).await?;
        let row = {
            let mut reader = self.store.reader().await?;
            reader
                .conn()
                .privacy_request(id)
                .await?
                .ok_or(DomainError::NotFound("privacy request"))?
        };
        let request = entry.request;
        let law = request.law;
        let lifecycle = lifecycle_of(&row)?;
        let admin = actor.user;
        let refused = |e| AppError::from(DomainError::Conflict(refusal_text(e)));
        // The account is one across the instance: what the operator holds for their own
        // decision, a community's admins can neither approve, refuse, extend nor complete.
        // Running a failed step again changes no decision.
        if !matches!(decision, Decision::Retry)
            && matches!(desk, Desk::Community(_))
            && self.handling(None).await?.needs_approval(request.kind)
        {
            return Err(DomainError::Forbidden(
                "on this Hearth the operator decides this kind of request",
            )
            .into());
        }
        match decision {
            Decision::Approve | Decision::Retry => {
                if matches!(decision, Decision::Retry) && request.failure.is_none() {
                    return Err(DomainError::Conflict("nothing about this request failed").into());
                }
                // A completed deletion whose recipients could not all be told: tell them again.
                if matches!(decision, Decision::Retry)
                    && request.kind == RequestKind::Delete
                    && request.state.is_closed()
                {
                    self.store
                        .write(move |tx| {
                            Box::pin(async move {
                                if !tx
                                    .conn()
                                    .take_privacy_request_failure(id, Timestamp::now())
                                    .await?
                                {
                                    return Err(DomainError::Conflict(
                                        "nothing about this request failed",
                                    )
                                    .into());
                                }
                                if crate::webhooks::requeue_request_deliveries(tx, id).await? == 0 {
                                    return Err(DomainError::Conflict(
                                        "its recipients are gone with their community: nothing \
                                         can be sent again",
                                    )
                                    .into());
                                }
                                let object = (ObjectKind::PrivacyRequest, Some(id));
                                let community = row.community_id.map(CommunityId);
                                record(
                                    tx,
                                    Some(admin),
                                    AuditAction::RequestRetried,
                                    object,
                                    community,
                                );
                                Ok::<_, AppError>(())
                            })
                        })
                        .await?;
                    return self.my_request_row(id).await;
                }
                if request.state.is_closed() {
                    return Err(refused(hearth_core::requests::StepRefused::Closed));
                }
                let user = request
                    .requester
                    .ok_or(DomainError::Conflict("the requester's account is gone"))?;
                let retry = matches!(decision, Decision::Retry);
                // Approval acts once: from waiting (verified or extended), never again on a
                // request already being carried out. A retry acts on one whose step failed.
                if !retry
                    && !matches!(
                        request.state,
                        RequestState::Verified | RequestState::Extended
                    )
                {
                    return Err(refused(hearth_core::requests::StepRefused::AlreadyThere));
                }
                match request.kind {
                    RequestKind::Know | RequestKind::Correct if retry => Err(
                        DomainError::Conflict("only a copy or a deletion's notices run again")
                            .into(),
                    ),
                    RequestKind::Know | RequestKind::Correct => {
                        let info = self
                            .carry_out_in_place(user, row, request.correction, false, Some(admin))
                            .await?;
                        Ok(info)
                    }
                    RequestKind::Access => {
                        let range = row
                            .details
                            .as_deref()
                            .and_then(range_from_details)
                            .unwrap_or(ExportRange::LastTwelveMonths);
                        self.start_copy(user, range, row, false, true, Some((admin, retry)))
                            .await?;
                        self.my_request_row(id).await
                    }
                    RequestKind::Delete => {
                        self.erase_for(user, row, false, Some(admin), None).await?;
                        self.my_request_row(id).await
                    }
                    RequestKind::OptOut | RequestKind::Limit => Err(DomainError::Conflict(
                        "opt-outs and limits are carried out at once",
                    )
                    .into()),
                }
            }
            Decision::Deny { .. } | Decision::Extend { .. }
                if request.state == RequestState::InProgress =>
            {
                Err(DomainError::Conflict(
                    "it is being carried out: it can be refused or extended only before",
                )
                .into())
            }
            Decision::Deny { reason, note } => {
                let next = lifecycle
                    .after(RequestStep::Deny(reason), law)
                    .map_err(refused)?;
                // The reason must fit the facts on record.
                match reason {
                    DenialReason::TooFrequent if !request.beyond_quota => {
                        return Err(DomainError::Conflict(
                            "the request is within the law's yearly quota",
                        )
                        .into());
                    }
                    // An agent's permission is reviewed after the person confirmed: one that
                    // does not hold up is refused as unverifiable until it is approved.
                    DenialReason::CannotVerify
                        if request.state != RequestState::Received
                            && !(request.manner == "agent"
                                && matches!(
                                    request.state,
                                    RequestState::Verified | RequestState::Extended
                                )) =>
                    {
                        return Err(DomainError::Conflict(
                            "the requester's identity was verified already",
                        )
                        .into());
                    }
                    DenialReason::DisproportionateEffort | DenialReason::Fraudulent
                        if note.trim().is_empty() =>
                    {
                        return Err(DomainError::invalid(
                            "note",
                            "must give the facts behind this reason",
                        )
                        .into());
                    }
                    _ => {}
                }
                let mut row = row;
                let was = row.state.clone();
                row.note = checked_note(&note, false)?;
                mark_denied(&mut row, next.state, reason, None, Timestamp::now());
                self.move_on(
                    admin,
                    row,
                    was,
                    AuditAction::RequestDenied,
                    "Your privacy request was refused",
                )
                .await
            }
            Decision::Extend { .. } | Decision::Complete { .. }
                if request.state == RequestState::Received =>
            {
                Err(DomainError::Conflict(
                    "the requester has not confirmed it yet: it can only be refused (cannot verify)",
                )
                .into())
            }
            Decision::Extend { note } => {
                let next = lifecycle.after(RequestStep::Extend, law).map_err(refused)?;
                // The notice of an extension goes out within the first period.
                if request.due < Timestamp::now().to_datetime().date() {
                    return Err(DomainError::Conflict(
                        "the deadline has passed: an extension had to be given before it",
                    )
                    .into());
                }
                let mut row = row;
                let was = row.state.clone();
                row.state = next.state.code().into();
                row.extended = true;
                row.note = checked_note(&note, true)?;
                self.move_on(
                    admin,
                    row,
                    was,
                    AuditAction::RequestExtended,
                    "We need more time for your privacy request",
                )
                .await
            }
            Decision::Complete { note } => {
                // Only a correction is done by hand; the others are carried out by approving
                // them, so that what is marked done was done.
                if request.kind != RequestKind::Correct {
                    return Err(DomainError::Conflict(
                        "approve the request to carry it out; only a correction is completed by hand",
                    )
                    .into());
                }
                let next = lifecycle
                    .after(RequestStep::Complete, law)
                    .map_err(refused)?;
                let mut row = row;
                let was = row.state.clone();
                row.state = next.state.code().into();
                row.note = checked_note(&note, true)?;
                row.details = None;
                row.failure = None;
                row.responded_at = Some(Timestamp::now().0);
                row.answer = Some("Done as you asked; the note says what was done.".into());
                self.move_on(
                    admin,
                    row,
                    was,
                    AuditAction::RequestCompleted,
                    "Your privacy request was answered",
                )
                .await
            }
        }
    }

    async fn my_request_row(&self, id: i64) -> Result<RequestInfo, AppError> {
        let mut reader = self.store.reader().await?;
        let row = reader
            .conn()
            .privacy_request(id)
            .await?
            .ok_or(DomainError::NotFound("privacy request"))?;
        RequestInfo::from_row(row)
    }

    /// Writes an admin's step on a request, audits it and tells the requester.
    async fn move_on(
        &self,
        admin: UserId,
        row: PrivacyRequestRow,
        was: String,
        action: AuditAction,
        headline: &'static str,
    ) -> Result<RequestInfo, AppError> {
        let written = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    let audience = audience(tx, &row).await?;
                    if !tx.conn().update_privacy_request(&row, &was, now).await? {
                        return Err(DomainError::Conflict("the request has just changed").into());
                    }
                    let object = (ObjectKind::PrivacyRequest, Some(row.id));
                    record(
                        tx,
                        Some(admin),
                        action,
                        object,
                        row.community_id.map(CommunityId),
                    );
                    tell(tx, &audience, &row, headline).await?;
                    Ok::<_, AppError>(row)
                })
            })
            .await?;
        RequestInfo::from_row(written)
    }

    /// Notes on a request why its step failed, so that it shows in the inbox.
    pub(crate) async fn note_request_failure(&self, id: i64, failure: &str) {
        let failure = failure.to_string();
        let noted = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    tx.conn()
                        .set_privacy_request_failure(id, Some(&failure), Timestamp::now())
                        .await?;
                    Ok::<_, AppError>(())
                })
            })
            .await;
        if let Err(error) = noted {
            tracing::error!(%error, request = id, "a request's failure could not be noted");
        }
    }

    /// The yearly metrics of the requests at `desk` received in `year`.
    pub async fn request_metrics(
        &self,
        actor: Option<&Actor>,
        desk: Desk,
        year: i32,
    ) -> Result<Vec<KindMetrics>, AppError> {
        let rows = self
            .requests_received(actor, desk, year_span(year)?)
            .await?;
        let counted: Vec<Counted> = rows
            .iter()
            .map(|r| Counted {
                kind: r.kind,
                state: r.state,
                denial: r.denial,
                received: r.received_at.to_datetime().date(),
                answered: r.answered_at.map(|a| a.to_datetime().date()),
            })
            .collect();
        Ok(yearly_metrics(year, &counted))
    }

    /// Every request at `desk` received in `span`, oldest first: the request log. `actor`
    /// none: the operator on the command line.
    pub async fn requests_received(
        &self,
        actor: Option<&Actor>,
        desk: Desk,
        span: (Timestamp, Timestamp),
    ) -> Result<Vec<RequestInfo>, AppError> {
        if let Some(actor) = actor {
            self.check_desk(actor, desk).await?;
        }
        let rows = {
            let mut reader = self.store.reader().await?;
            reader
                .conn()
                .privacy_requests_received(span.0, span.1)
                .await?
        };
        rows.into_iter()
            .filter(|r| match desk {
                Desk::Community(c) => r.community_id == Some(c.0),
                Desk::Operator => true,
            })
            .map(RequestInfo::from_row)
            .collect()
    }
}

/// The first instant of `year` and of the next.
pub fn year_span(year: i32) -> Result<(Timestamp, Timestamp), AppError> {
    let start = |y: i32| {
        Date::from_calendar_date(y, time::Month::January, 1)
            .map(|d| Timestamp::from_datetime(d.midnight().assume_utc()))
            .map_err(|_| AppError::from(DomainError::invalid("year", "is out of range")))
    };
    Ok((start(year)?, start(year + 1)?))
}

/// The request's life as the state machine sees it.
pub(crate) fn lifecycle_of(row: &PrivacyRequestRow) -> Result<Lifecycle, AppError> {
    let kind = RequestKind::parse(&row.kind)
        .ok_or_else(|| AppError::Internal("a request of no known kind".into()))?;
    let state = RequestState::parse(&row.state)
        .ok_or_else(|| AppError::Internal("a request in no known state".into()))?;
    Ok(Lifecycle {
        kind,
        state,
        verified: state != RequestState::Received,
        extended: row.extended,
    })
}

fn refusal_text(refused: hearth_core::requests::StepRefused) -> &'static str {
    use hearth_core::requests::StepRefused::*;
    match refused {
        Closed => "the request is closed",
        NotVerified => "the requester's identity must be verified first",
        ExtendedAlready => "the deadline was extended already, and may be only once",
        NoExtension => "this kind of request cannot be extended",
        ReasonDoesNotApply => "that reason does not apply to this kind of request",
        AlreadyThere => "the request is already at that step",
    }
}

/// A note for the requester: required for an extension (the law wants the reason given).
fn checked_note(note: &str, required: bool) -> Result<Option<String>, AppError> {
    let note = note.trim();
    if note.chars().count() > MAX_TEXT_CHARS {
        return Err(DomainError::invalid("note", "is too long").into());
    }
    if note.is_empty() {
        if required {
            return Err(DomainError::invalid("note", "must tell the requester why").into());
        }
        return Ok(None);
    }
    Ok(Some(note.to_string()))
}

/// A copy's range as a waiting request keeps it.
fn range_details(range: ExportRange) -> Result<String, AppError> {
    Ok(range_json(range).to_string())
}

/// What a copy covers, as a waiting request's details keep it.
pub(crate) fn range_json(range: ExportRange) -> serde_json::Value {
    match range {
        ExportRange::LastTwelveMonths => serde_json::json!({"range": "last_twelve_months"}),
        ExportRange::Everything => serde_json::json!({"range": "everything"}),
        ExportRange::Between { from, to } => {
            serde_json::json!({"range": "between", "from": from.0, "to": to.0})
        }
    }
}

pub(crate) fn range_from_details(details: &str) -> Option<ExportRange> {
    let value: serde_json::Value = serde_json::from_str(details).ok()?;
    match value.get("range")?.as_str()? {
        "everything" => Some(ExportRange::Everything),
        "between" => Some(ExportRange::Between {
            from: Timestamp(value.get("from")?.as_i64()?),
            to: Timestamp(value.get("to")?.as_i64()?),
        }),
        _ => Some(ExportRange::LastTwelveMonths),
    }
}

/// Makes a correction of the person's own fields in the caller's transaction; returns the
/// answer saying what changed. Corrections sticks: nothing Hearth imports or syncs writes
/// these fields afterwards (an identity provider's name is taken only at sign-up).
async fn apply_correction(
    tx: &mut Tx,
    user: UserId,
    correction: &Correction,
    now: Timestamp,
) -> Result<String, AppError> {
    let target = correction.target()?;
    let changed = match target {
        CorrectionTarget::DisplayName => {
            let name = validate::name("value", &correction.value)?;
            if !tx.conn().set_display_name(user, &name, now).await? {
                return Err(DomainError::NotFound("account").into());
            }
            "Your display name was corrected.".to_string()
        }
        CorrectionTarget::About => {
            let about =
                validate::several_lines("value", &correction.value, crate::MAX_ABOUT_CHARS)?;
            if !tx.conn().set_about(user, &about, now).await? {
                return Err(DomainError::NotFound("account").into());
            }
            tx.truncate_journal_after_commit();
            "The \"about\" text of your profile was corrected.".to_string()
        }
        CorrectionTarget::ProfileAnswer(field) => {
            let (community, label) = tx
                .conn()
                .profile_field_home(ProfileFieldId(field))
                .await?
                .ok_or(DomainError::NotFound("profile field"))?;
            role_in(&mut tx.conn(), community, user).await?;
            tx.conn().lock_community_fields(community, false).await?;
            let fields = tx.conn().profile_fields(community).await?;
            let given = vec![(ProfileFieldId(field), correction.value.clone())];
            let checked = profile::answers(&fields, &given, Coverage::Changing)?;
            write_answers(tx, community, user, &checked).await?;
            tx.truncate_journal_after_commit();
            format!("Your answer to \"{label}\" was corrected.")
        }
        CorrectionTarget::Other => {
            return Ok(
                "An admin looked into what you said was wrong; the note says what was \
                       done."
                    .into(),
            );
        }
    };
    record(
        tx,
        Some(user),
        AuditAction::InformationCorrected,
        (ObjectKind::User, Some(user.0)),
        None,
    );
    Ok(changed)
}

/// Mails the requester that their request moved on, with a link to it.
/// Who hears of a request's moves: its account, at the address on record; for a request
/// from the public form, the address its link went to (and the agent who asked, once the
/// person confirmed); or no one.
pub(crate) enum Audience {
    /// The requester's account.
    Account(UserId),
    /// The public form's requester, by what verification collected.
    Public(VerificationRow),
    /// No one: the account is gone, or the request never reached anyone.
    Nobody,
}

/// Who hears of `row`'s moves. Read before the request closes, since closing it forgets what
/// verification collected.
pub(crate) async fn audience(tx: &mut Tx, row: &PrivacyRequestRow) -> Result<Audience, AppError> {
    if crate::public_requests::is_public(row) {
        return Ok(match tx.conn().verification(row.id).await? {
            Some(verification) => Audience::Public(verification),
            None => Audience::Nobody,
        });
    }
    Ok(row
        .user_id
        .map_or(Audience::Nobody, |user| Audience::Account(UserId(user))))
}

/// Mails `audience` that `row` moved on, as `headline` says.
pub(crate) async fn tell(
    tx: &mut Tx,
    audience: &Audience,
    row: &PrivacyRequestRow,
    headline: &str,
) -> Result<(), AppError> {
    match audience {
        Audience::Account(user) => {
            if let Some(person) = tx.conn().user(*user).await? {
                let letter = Letter::RequestUpdate {
                    username: person.username.clone(),
                    request: row.id,
                    headline: headline.into(),
                };
                queue_mail(tx, &person.email, Some(*user), letter, None).await?;
            }
        }
        Audience::Public(verification) => {
            crate::public_requests::tell_public(tx, verification, row, headline).await?;
        }
        Audience::Nobody => {}
    }
    Ok(())
}

/// The yearly metrics as CSV: one row per kind of request.
pub fn metrics_csv(year: i32, metrics: &[KindMetrics]) -> Result<String, AppError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| AppError::Internal(format!("the metrics CSV: {e}"));
    out.write_record([
        "year",
        "kind",
        "received",
        "complied_in_whole",
        "complied_in_part",
        "denied",
        "denied_by_reason",
        "open",
        "median_days",
        "mean_days",
    ])
    .map_err(failed)?;
    for m in metrics {
        let denied: u32 = m.denied.iter().map(|(_, n)| n).sum();
        let reasons = m
            .denied
            .iter()
            .map(|(reason, n)| format!("{}={n}", reason.code()))
            .collect::<Vec<_>>()
            .join(";");
        let days = |d: Option<f64>| d.map(|d| d.to_string()).unwrap_or_default();
        out.write_record([
            year.to_string(),
            m.kind.code().to_string(),
            m.received.to_string(),
            m.complied_in_whole.to_string(),
            m.complied_in_part.to_string(),
            denied.to_string(),
            reasons,
            m.open.to_string(),
            days(m.median_days),
            days(m.mean_days),
        ])
        .map_err(failed)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| AppError::Internal(format!("the metrics CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(e.to_string()))
}

/// The request log as CSV: one row per request, naming no one (the requester by account id,
/// none once erased), as §7101 asks the record to be kept.
pub fn request_log_csv(requests: &[RequestInfo]) -> Result<String, AppError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| AppError::Internal(format!("the request log CSV: {e}"));
    out.write_record([
        "id",
        "received_at",
        "kind",
        "state",
        "law",
        "manner",
        "community_id",
        "requester_id",
        "acknowledge_by",
        "due",
        "extended",
        "beyond_quota",
        "answered_at",
        "denial_reason",
        "failure",
    ])
    .map_err(failed)?;
    for r in requests {
        out.write_record([
            r.id.to_string(),
            r.received_at.to_rfc3339(),
            r.kind.code().to_string(),
            r.state.code().to_string(),
            r.law.code().to_string(),
            r.manner.clone(),
            r.community.map(|c| c.0.to_string()).unwrap_or_default(),
            r.requester.map(|u| u.0.to_string()).unwrap_or_default(),
            r.acknowledge_by.map(|d| d.to_string()).unwrap_or_default(),
            r.due.to_string(),
            r.extended.to_string(),
            r.beyond_quota.to_string(),
            r.answered_at.map(|a| a.to_rfc3339()).unwrap_or_default(),
            r.denial.map(|d| d.code().to_string()).unwrap_or_default(),
            // The one cell with words others chose (a webhook's name leads a failure).
            hearth_core::export::csv_cell(r.failure.as_deref().unwrap_or_default()).into_owned(),
        ])
        .map_err(failed)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| AppError::Internal(format!("the request log CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(e.to_string()))
}

/// Writes a refusal into a request's row: its state, the reason, and the answer the person
/// reads (the reason's own words unless `answer` says more); what it was waiting on goes.
pub(crate) fn mark_denied(
    row: &mut PrivacyRequestRow,
    state: RequestState,
    reason: DenialReason,
    answer: Option<String>,
    now: Timestamp,
) {
    row.state = state.code().into();
    row.denial_reason = Some(reason.code().into());
    row.details = None;
    row.failure = None;
    row.responded_at = Some(now.0);
    row.answer = Some(answer.unwrap_or_else(|| reason.consumer_text().into()));
}
