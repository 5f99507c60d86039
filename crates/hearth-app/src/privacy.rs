//! A person's privacy choices: opting out of the sale and sharing of their personal
//! information, and limiting the use of their sensitive personal information. Both are the
//! account's (every device), need no verification, and are audited each time they change.
//! The browser's Global Privacy Control signal is an opt-out: applied to the account the first
//! time it is seen, and kept when a later visit lacks it.

use crate::audit::record;
use crate::{Actor, App, AppError};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::{DomainError, Timestamp};

/// How a choice was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceBy {
    /// A page or the API, by the person.
    Person,
    /// The browser's Global Privacy Control signal (`Sec-GPC: 1`).
    Signal,
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
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let at = on.then(Timestamp::now);
                    let sale = choice == Choice::SaleOptOut;
                    let changed = tx.conn().set_privacy_choice(user, sale, at).await?;
                    if changed {
                        let action = match (choice, on, by) {
                            (Choice::SaleOptOut, true, ChoiceBy::Signal) => {
                                AuditAction::SaleOptedOutBySignal
                            }
                            (Choice::SaleOptOut, true, ChoiceBy::Person) => {
                                AuditAction::SaleOptedOut
                            }
                            (Choice::SaleOptOut, false, _) => AuditAction::SaleOptOutWithdrawn,
                            (Choice::SensitiveLimit, true, _) => AuditAction::SensitiveLimited,
                            (Choice::SensitiveLimit, false, _) => {
                                AuditAction::SensitiveLimitWithdrawn
                            }
                        };
                        record(
                            tx,
                            Some(user),
                            action,
                            (ObjectKind::User, Some(user.0)),
                            None,
                        );
                    }
                    Ok::<_, AppError>(changed)
                })
            })
            .await
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
}
