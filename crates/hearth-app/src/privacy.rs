//! A person's privacy choices: opting out of the sale and sharing of their personal
//! information, and limiting the use of their sensitive personal information. Both are the
//! account's (every device), need no verification, and are audited each time they change.
//! The browser's Global Privacy Control signal is an opt-out: applied to the account the first
//! time it is seen, and kept when a later visit lacks it.

use crate::audit::record;
use crate::{Actor, App, AppError};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::requests::{Lifecycle, RequestKind, RequestState, RequestStep};
use hearth_core::{DomainError, Timestamp, UserId};
use hearth_store::PrivacyRequestRow;

/// Requests a person's record shows at most.
const RECORD_SHOWN: i64 = 100;

/// How a choice was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceBy {
    /// On a page, by the person.
    Page,
    /// Through the API, by the person.
    Api,
    /// The browser's Global Privacy Control signal (`Sec-GPC: 1`).
    Signal,
    /// An operator, on the command line, for a request that came another way (a letter, a
    /// call, a mail to the contact the privacy statement gives).
    Operator,
    /// On the public request form, by someone without a session, for themself.
    Form,
    /// On the privacy choices page before signing in: kept in the browser, and made for the
    /// account when the person signs in there.
    Browser,
    /// On the public request form, by an authorized agent.
    Agent,
    /// By the parent who consented to a child's joining, through the link mailed to them.
    Parent,
}

impl ChoiceBy {
    /// How the request came, as its record says.
    pub(crate) fn manner(self) -> &'static str {
        match self {
            ChoiceBy::Page => "page",
            ChoiceBy::Api => "api",
            ChoiceBy::Signal => "signal",
            ChoiceBy::Operator => "operator",
            ChoiceBy::Form => "form",
            ChoiceBy::Agent => "agent",
            ChoiceBy::Parent => "parent",
            ChoiceBy::Browser => "browser",
        }
    }
}

/// A privacy request as its person sees it in their record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyRequest {
    /// Its reference.
    pub id: i64,
    /// What it asked.
    pub kind: RequestKind,
    /// Where it stands.
    pub state: RequestState,
    /// How it came: `page`, `api` or `signal`.
    pub manner: String,
    /// When it was received.
    pub received_at: Timestamp,
    /// When it is (or was) due.
    pub due: String,
    /// When it was answered.
    pub answered_at: Option<Timestamp>,
}

/// Which choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Opt out of the sale and sharing of personal information.
    SaleOptOut,
    /// Limit the use of sensitive personal information.
    SensitiveLimit,
}

impl App {
    /// The record of a request carried out the moment it was received (and, where the kind
    /// needs it, verified): an opt-out, a limit, a member's own erasure.
    pub(crate) fn completed_at_once(
        &self,
        kind: RequestKind,
        user: Option<UserId>,
        by: ChoiceBy,
        now: Timestamp,
    ) -> Result<PrivacyRequestRow, AppError> {
        let law = self.config.law;
        let due = law.deadlines(kind, now.to_datetime().date(), &self.config.holidays);
        let mut lifecycle = Lifecycle::received(kind);
        if kind.needs_verification() {
            lifecycle = lifecycle
                .after(RequestStep::Verify, law)
                .map_err(|e| AppError::Internal(format!("a request cannot be verified: {e}")))?;
        }
        let done = lifecycle
            .after(RequestStep::Complete, law)
            .map_err(|e| AppError::Internal(format!("a request cannot complete: {e}")))?;
        Ok(PrivacyRequestRow {
            id: self.store.next_id(),
            user_id: user.map(|u| u.0),
            kind: kind.code().into(),
            state: done.state.code().into(),
            law: law.code().into(),
            manner: by.manner().into(),
            received_at: now.0,
            acknowledge_by: due.acknowledge_by.map(|d| d.to_string()),
            respond_by: due.respond_by.to_string(),
            extended_to: due.extended_to.map(|d| d.to_string()),
            extended: false,
            denial_reason: None,
            responded_at: Some(now.0),
            community_id: None,
            details: None,
            answer: Some(match kind {
                RequestKind::OptOut => "Your personal information is not sold or shared.".into(),
                RequestKind::Limit => {
                    "Your sensitive personal information is used only as the law allows.".into()
                }
                _ => "Done as you asked.".into(),
            }),
            note: None,
            beyond_quota: false,
            failure: None,
        })
    }

    /// Makes (`on`) or withdraws a privacy choice for the caller. Making one takes effect at
    /// once and asks nothing; withdrawing asks for `confirmed` (a second, deliberate step).
    /// Returns whether anything changed.
    pub async fn set_privacy_choice(
        &self,
        actor: &Actor,
        choice: Choice,
        on: bool,
        confirmed: bool,
        by: ChoiceBy,
    ) -> Result<bool, AppError> {
        if !on && !confirmed {
            return Err(DomainError::invalid(
                "confirm",
                "must be true to withdraw a privacy choice: withdrawing takes a second step",
            )
            .into());
        }
        self.apply_privacy_choice(actor.user, Some(actor.user), choice, on, by)
            .await
    }

    /// Makes or withdraws `user`'s privacy choice, `by` the person (`actor`) or, from the
    /// public form, by no one signed in. Returns whether anything changed.
    pub(crate) async fn apply_privacy_choice(
        &self,
        user: UserId,
        actor: Option<UserId>,
        choice: Choice,
        on: bool,
        by: ChoiceBy,
    ) -> Result<bool, AppError> {
        let now = Timestamp::now();
        let kind = match choice {
            Choice::SaleOptOut => RequestKind::OptOut,
            Choice::SensitiveLimit => RequestKind::Limit,
        };
        // An opt-out or a limit is carried out at once: its record is a request received,
        // verified (none needed) and completed in the same moment.
        let request = self.completed_at_once(kind, Some(user), by, now)?;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let at = on.then_some(now);
                    let sale = choice == Choice::SaleOptOut;
                    // A child under 13 cannot allow sale or sharing themself (Civ. Code
                    // §1798.120(c)): only a parent could, and Hearth offers no such step.
                    if sale && !on && tx.conn().declared_under_13(user).await? {
                        return Err(DomainError::Forbidden(
                            "the personal information of a member under 13 is not sold or \
                             shared",
                        )
                        .into());
                    }
                    let changed = tx.conn().set_privacy_choice(user, sale, at).await?;
                    if changed && on {
                        tx.conn().insert_privacy_request(&request, now).await?;
                    }
                    if changed {
                        let action = match (choice, on, by) {
                            (Choice::SaleOptOut, true, ChoiceBy::Signal) => {
                                AuditAction::SaleOptedOutBySignal
                            }
                            (
                                Choice::SaleOptOut,
                                true,
                                ChoiceBy::Page
                                | ChoiceBy::Api
                                | ChoiceBy::Operator
                                | ChoiceBy::Form
                                | ChoiceBy::Agent
                                | ChoiceBy::Parent
                                | ChoiceBy::Browser,
                            ) => AuditAction::SaleOptedOut,
                            (Choice::SaleOptOut, false, _) => AuditAction::SaleOptOutWithdrawn,
                            (Choice::SensitiveLimit, true, _) => AuditAction::SensitiveLimited,
                            (Choice::SensitiveLimit, false, _) => {
                                AuditAction::SensitiveLimitWithdrawn
                            }
                        };
                        record(tx, actor, action, (ObjectKind::User, Some(user.0)), None);
                    }
                    Ok::<_, AppError>(changed)
                })
            })
            .await
    }

    /// Makes the choices a browser kept from before its person signed in (the privacy choices
    /// page works signed out) for the account that signed in there. A choice the account has
    /// already is left as it is, and nothing is recorded for it.
    pub async fn carry_browser_choices(
        &self,
        user: UserId,
        choices: &[Choice],
    ) -> Result<(), AppError> {
        for choice in choices {
            self.apply_privacy_choice(user, Some(user), *choice, true, ChoiceBy::Browser)
                .await?;
        }
        Ok(())
    }

    /// Applies the browser's Global Privacy Control signal to the caller's account: an
    /// opt-out of sale and sharing, recorded (and audited) the first time; nothing when the
    /// account is opted out already. Returns whether it was applied now.
    pub async fn honour_privacy_signal(&self, actor: &Actor) -> Result<bool, AppError> {
        let opted_out = {
            let mut reader = self.store.reader().await?;
            reader
                .conn()
                .user(actor.user)
                .await?
                .is_some_and(|u| u.sale_opt_out_at.is_some())
        };
        if opted_out {
            return Ok(false);
        }
        self.set_privacy_choice(actor, Choice::SaleOptOut, true, false, ChoiceBy::Signal)
            .await
    }

    /// The caller's privacy requests, newest first (the most recent hundred).
    pub async fn my_privacy_requests(
        &self,
        actor: &Actor,
    ) -> Result<Vec<PrivacyRequest>, AppError> {
        let rows = {
            let mut reader = self.store.reader().await?;
            reader
                .conn()
                .privacy_requests_of(actor.user, RECORD_SHOWN)
                .await?
        };
        rows.into_iter()
            .map(|row| {
                let corrupt = |what: &str| {
                    AppError::Internal(format!("privacy request {} has a bad {what}", row.id))
                };
                let kind = RequestKind::parse(&row.kind).ok_or_else(|| corrupt("kind"))?;
                let state = RequestState::parse(&row.state).ok_or_else(|| corrupt("state"))?;
                let due = match (row.extended, &row.extended_to) {
                    (true, Some(to)) => to.clone(),
                    _ => row.respond_by.clone(),
                };
                Ok(PrivacyRequest {
                    id: row.id,
                    kind,
                    state,
                    manner: row.manner,
                    received_at: Timestamp(row.received_at),
                    due,
                    answered_at: row.responded_at.map(Timestamp),
                })
            })
            .collect()
    }
}
