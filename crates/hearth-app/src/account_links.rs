//! What mailed links prove: confirming an email address (at registration, or a new one) and
//! resetting a forgotten password. A link carries a secret derived from its id with the
//! instance key; the database keeps only the secret's hash, and using a link deletes it, so
//! it works once.

use crate::audit::record;
use crate::instance_key::InstanceKey;
use crate::mail::{Letter, address_hint, link_secret, queue_mail};
use crate::secrets::{hash_password, token_hash};
use crate::sign_in_limits::{Hasher, network_of};
use crate::{App, AppError};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::catalog::ACCOUNT_LINK_DAYS;
use hearth_core::{DomainError, Timestamp, UserId, validate};
use hearth_store::{NewAccountLink, Tx};
use std::net::IpAddr;
use std::sync::Arc;

/// Links that confirm an address.
const CONFIRM: &str = "verify_email";
/// Links that reset a password.
const RESET: &str = "reset_password";

/// How long a password reset link works.
const RESET_LINK_SECS: i64 = 3600;

/// How soon after one link another of the same purpose may be mailed to an account: a
/// flood of requests sends at most one message a minute.
const RESEND_AFTER_SECS: i64 = 60;

/// What a used confirmation link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// The address the account had is now confirmed.
    Address,
    /// The account moved to the new address (and the old one was told).
    NewAddress,
}

/// Stores a new link of `purpose` for `user`, sent to `email`, working for `ttl_secs`;
/// returns its id (from which the mail job derives its secret).
pub(crate) async fn new_link(
    tx: &mut Tx,
    key: &InstanceKey,
    (user, purpose): (UserId, &str),
    email: &str,
    ttl_secs: i64,
) -> Result<i64, AppError> {
    let id = tx.next_id();
    let hash = token_hash(&link_secret(key, id));
    let now = Timestamp::now();
    tx.conn()
        .insert_account_link(&NewAccountLink {
            id,
            user,
            purpose,
            email,
            token_hash: &hash,
            now,
            expires_at: now.plus_seconds(ttl_secs),
        })
        .await?;
    Ok(id)
}

/// Uses up the live link of `purpose` whose secret hashes to `hash`, with its account.
pub(crate) async fn take_link(
    tx: &mut Tx,
    purpose: &str,
    hash: &[u8],
    now: Timestamp,
) -> Result<(hearth_store::AccountLink, hearth_store::rows::UserRow), AppError> {
    let link = tx
        .conn()
        .take_account_link(purpose, hash, now)
        .await?
        .ok_or(DomainError::LinkExpired)?;
    let row = tx
        .conn()
        .user(link.user)
        .await?
        .ok_or(DomainError::LinkExpired)?;
    Ok((link, row))
}

/// Mails `email` a link confirming it for `user` (replacing any earlier one), inside `tx`.
pub(crate) async fn mail_confirmation(
    tx: &mut Tx,
    key: &InstanceKey,
    (user, username): (UserId, &str),
    email: &str,
    new_address: bool,
) -> Result<(), AppError> {
    tx.conn().delete_account_links(user, CONFIRM).await?;
    let ttl = i64::from(ACCOUNT_LINK_DAYS) * 24 * 3600;
    // Kept the same way whether or not another account has the address, so that the change
    // waits on the settings page either way and tells the asker nothing; only what is mailed
    // differs.
    let link = new_link(tx, key, (user, CONFIRM), email, ttl).await?;
    if new_address
        && let Some(owner) = tx.conn().user_by_login(email).await?
        && owner.id != user.0
    {
        let owner = UserId(owner.id);
        let once = Some(hourly("address-in-use", owner));
        return queue_mail(tx, email, Some(owner), Letter::AddressInUse, once).await;
    }
    let letter = Letter::ConfirmAddress {
        link,
        username: username.to_string(),
        new_address,
    };
    queue_mail(tx, email, Some(user), letter, None).await
}

/// A dedupe key that lets one notice of `kind` about `user` through per hour: a flood of
/// attempts against someone's address sends them at most one message an hour.
pub(crate) fn hourly(kind: &str, user: UserId) -> String {
    let hour = Timestamp::now().0 / 3_600_000;
    format!("notice:{kind}:{}:{hour}", user.0)
}

impl App {
    /// Mails the caller a new link confirming their address, or the address they asked to
    /// move to, if a change is pending.
    pub async fn resend_confirmation(&self, actor: &crate::Actor) -> Result<(), AppError> {
        let user = actor.user;
        let key = Arc::clone(&self.key);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    let row = tx
                        .conn()
                        .user(user)
                        .await?
                        .ok_or(DomainError::Unauthenticated)?;
                    let pending = tx.conn().latest_account_link(user, CONFIRM, now).await?;
                    if let Some((_, at)) = &pending {
                        let wait = RESEND_AFTER_SECS - (now.0 - at.0) / 1000;
                        if wait > 0 {
                            return Err(DomainError::RateLimited {
                                retry_after_secs: wait.unsigned_abs(),
                            }
                            .into());
                        }
                    }
                    let (email, new_address) = match pending {
                        Some((email, _)) if email != row.email => (email, true),
                        _ if row.email_verified_at.is_some() => {
                            return Err(
                                DomainError::Conflict("your address is already confirmed").into()
                            );
                        }
                        _ => (row.email.clone(), false),
                    };
                    mail_confirmation(tx, &key, (user, &row.username), &email, new_address).await
                })
            })
            .await
    }

    /// Cancels the caller's pending change of address: its link stops working.
    pub async fn cancel_email_change(&self, actor: &crate::Actor) -> Result<(), AppError> {
        let user = actor.user;
        let cancelled = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    Ok::<_, AppError>(tx.conn().delete_pending_address_changes(user).await?)
                })
            })
            .await?;
        if cancelled == 0 {
            return Err(DomainError::NotFound("pending change of address").into());
        }
        Ok(())
    }

    /// The address the caller asked to move to, while its link waits to be used.
    pub async fn pending_email(&self, actor: &crate::Actor) -> Result<Option<String>, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let current = conn.user(actor.user).await?.map(|u| u.email);
        let pending = conn
            .latest_account_link(actor.user, CONFIRM, Timestamp::now())
            .await?;
        Ok(pending
            .map(|(email, _)| email)
            .filter(|email| Some(email) != current.as_ref()))
    }

    /// Uses a confirmation link: its address becomes the account's, confirmed. Unknown,
    /// expired and used links get one answer.
    pub async fn confirm_email(&self, secret: &str) -> Result<Confirmed, AppError> {
        let hash = token_hash(secret);
        let (user, confirmed) = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    let (link, row) = take_link(tx, CONFIRM, &hash, now).await?;
                    let user = link.user;
                    if !tx.conn().confirm_email(user, &link.email, now).await? {
                        return Err(DomainError::Conflict(
                            "another account uses that address now: ask for a new link to \
                             another one",
                        )
                        .into());
                    }
                    tx.conn().delete_account_links(user, CONFIRM).await?;
                    let object = (ObjectKind::User, Some(user.0));
                    let confirmed = if row.email == link.email {
                        record(tx, Some(user), AuditAction::EmailConfirmed, object, None);
                        Confirmed::Address
                    } else {
                        // The old address is told, so that a taken-over account is noticed.
                        let letter = Letter::AddressChanged {
                            username: row.username.clone(),
                            new_address_hint: address_hint(&link.email),
                        };
                        queue_mail(tx, &row.email, Some(user), letter, None).await?;
                        // Reset links went to the old address: they no longer prove anything.
                        tx.conn().delete_account_links(user, RESET).await?;
                        record(tx, Some(user), AuditAction::EmailChanged, object, None);
                        Confirmed::NewAddress
                    };
                    Ok::<_, AppError>((user, confirmed))
                })
            })
            .await?;
        // Cached callers carry whether they are held to reading.
        self.credentials.forget_user(user);
        Ok(confirmed)
    }

    /// Asks to move the caller's account to `email`, after checking their password: a link
    /// goes to the new address, and the account keeps its address until the link is used.
    /// If another account has that address, its owner is told instead; the caller's answer
    /// is the same either way.
    pub async fn request_email_change(
        &self,
        actor: &crate::Actor,
        email: &str,
        password: String,
    ) -> Result<(), AppError> {
        self.password_change_limiter
            .check(&actor.user)
            .map_err(|retry_after_secs| DomainError::RateLimited { retry_after_secs })?;
        let email = validate::email(email)?;
        let _ticket = self.hashing_ticket(Some(Hasher::Account(actor.user)))?;
        let row = {
            let mut reader = self.store.reader().await?;
            reader
                .conn()
                .user(actor.user)
                .await?
                .ok_or(DomainError::Unauthenticated)?
        };
        if !crate::secrets::verify_password(password, Some(row.password_hash.clone())).await {
            return Err(DomainError::invalid("password", "is not your current password").into());
        }
        if email == row.email {
            return Err(DomainError::invalid("email", "is already your address").into());
        }
        let user = actor.user;
        let key = Arc::clone(&self.key);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    mail_confirmation(tx, &key, (user, &row.username), &email, true).await?;
                    // The address the account has is told at once, so that a change asked for
                    // by someone else is noticed before anyone can finish it.
                    let letter = Letter::AddressChangeRequested {
                        username: row.username.clone(),
                        new_address_hint: address_hint(&email),
                    };
                    queue_mail(tx, &row.email, Some(user), letter, None).await?;
                    let object = (ObjectKind::User, Some(user.0));
                    record(
                        tx,
                        Some(user),
                        AuditAction::EmailChangeRequested,
                        object,
                        None,
                    );
                    Ok(())
                })
            })
            .await
    }

    /// Mails a password reset link to `email` if an account has it. The answer, and the work
    /// done, are the same whether or not one does, so the form tells nobody who is registered
    /// here; at most one link a minute goes to an account.
    pub async fn request_password_reset(
        &self,
        email: &str,
        address: Option<IpAddr>,
    ) -> Result<(), AppError> {
        self.check_address(address)?;
        let email = validate::email(email)?;
        let owner = {
            let mut reader = self.store.reader().await?;
            reader.conn().user_by_login(&email).await?
        };
        let key = Arc::clone(&self.key);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let Some(owner) = owner else {
                        // Nobody has the address: a commit all the same (an audit entry that
                        // names nobody), so that the answer takes as long.
                        let object = (ObjectKind::User, None);
                        record(tx, None, AuditAction::PasswordResetRequested, object, None);
                        return Ok(());
                    };
                    let user = UserId(owner.id);
                    let now = Timestamp::now();
                    if let Some((_, at)) = tx.conn().latest_account_link(user, RESET, now).await?
                        && now.0 - at.0 < RESEND_AFTER_SECS * 1000
                    {
                        return Ok(());
                    }
                    tx.conn().delete_account_links(user, RESET).await?;
                    let link =
                        new_link(tx, &key, (user, RESET), &owner.email, RESET_LINK_SECS).await?;
                    let letter = Letter::ResetPassword {
                        link,
                        username: owner.username.clone(),
                    };
                    queue_mail(tx, &owner.email, Some(user), letter, None).await?;
                    // Who asked is not known: the account is the object, never the actor.
                    let object = (ObjectKind::User, Some(user.0));
                    record(tx, None, AuditAction::PasswordResetRequested, object, None);
                    Ok::<_, AppError>(())
                })
            })
            .await
    }

    /// Whether a reset link still works (for the page that asks for the new password).
    pub async fn check_reset_link(&self, secret: &str) -> Result<(), AppError> {
        let hash = token_hash(secret);
        let mut reader = self.store.reader().await?;
        reader
            .conn()
            .account_link(RESET, &hash, Timestamp::now())
            .await?
            .map(drop)
            .ok_or_else(|| DomainError::LinkExpired.into())
    }

    /// Uses a reset link: sets the new password and ends every session and API token of the
    /// account, since a reset is often how a taken-over account is won back. The link proved
    /// the address too, so an unconfirmed one becomes confirmed.
    pub async fn reset_password(
        &self,
        secret: &str,
        new_password: String,
        address: Option<IpAddr>,
    ) -> Result<(), AppError> {
        self.check_address(address)?;
        validate::password("password", &new_password)?;
        let _ticket = self.hashing_ticket(address.map(|a| Hasher::Network(network_of(a))))?;
        let hash = token_hash(secret);
        // Checked before the costly hash, and again when it is used up.
        self.check_reset_link(secret).await?;
        let password_hash = hash_password(new_password).await?;
        let user = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    let (link, row) = take_link(tx, RESET, &hash, now).await?;
                    let user = link.user;
                    tx.conn()
                        .set_password_hash(user, &password_hash, now)
                        .await?;
                    tx.conn().delete_other_sessions(user, None).await?;
                    tx.conn().revoke_all_tokens(user, now).await?;
                    tx.conn().delete_account_links(user, RESET).await?;
                    // A change of address asked for before the reset may have been someone
                    // else's: it goes with their sessions.
                    tx.conn().delete_pending_address_changes(user).await?;
                    // So does any link to an identity provider: a reset is how a taken-over
                    // account is won back, and a link may be how it was taken.
                    tx.conn().refuse_identity_links(user).await?;
                    if tx.conn().unlink_identities(user, None).await? > 0 {
                        let object = (ObjectKind::User, Some(user.0));
                        record(tx, Some(user), AuditAction::IdentityUnlinked, object, None);
                    }
                    if row.email_verified_at.is_none() && row.email == link.email {
                        tx.conn().confirm_email(user, &row.email, now).await?;
                    }
                    let letter = Letter::PasswordChanged {
                        username: row.username.clone(),
                        by_reset: true,
                    };
                    queue_mail(tx, &row.email, Some(user), letter, None).await?;
                    let object = (ObjectKind::User, Some(user.0));
                    record(tx, Some(user), AuditAction::PasswordReset, object, None);
                    Ok::<_, AppError>(user)
                })
            })
            .await?;
        self.credentials.forget_user(user);
        Ok(())
    }
}
