//! Two-factor sign-in: a TOTP seed (RFC 6238: six digits, 30-second steps, SHA-1, as every
//! authenticator app reads it) shared with the person's authenticator through an otpauth://
//! URL, and ten single-use recovery codes for when the authenticator is lost.
//!
//! The seed is stored encrypted under the instance key, the recovery codes only as keyed
//! hashes. A code is accepted once: the last accepted time step is recorded, and only a later
//! one works after it.

use crate::audit::record;
use crate::instance_key::KeyedPurpose;
use crate::mail::{Letter, queue_mail};
use crate::secrets::verify_password;
use crate::sign_in_limits::Hasher;
use crate::{Actor, App, AppError};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::{DomainError, Timestamp, UserId};
use totp_rs::{Builder, Totp};

/// Bytes of a TOTP seed: 160 bits, as RFC 4226 recommends.
const SEED_BYTES: usize = 20;

/// Recovery codes in a set.
pub const RECOVERY_CODES: usize = 10;

/// How long a setup waits for its confirming code before it must start again.
const SETUP_SECS: i64 = 15 * 60;

/// How long a checked password waits for its second factor.
const CHALLENGE_SECS: i64 = 300;

/// The issuer authenticator apps show beside the account.
const ISSUER: &str = "Hearth";

/// Letters of recovery codes: no 0/o or 1/l to mix up.
const CODE_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// What setting up two-factor sign-in hands the person's authenticator.
#[derive(Clone)]
pub struct TwoFactorSetup {
    /// The seed in base32, for typing into an authenticator by hand.
    pub secret: String,
    /// The `otpauth://totp/...` URL, which a QR code carries.
    pub otpauth_url: String,
}

// The seed is a secret: debug output leaves it out.
impl std::fmt::Debug for TwoFactorSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactorSetup").finish_non_exhaustive()
    }
}

/// Where a person's two-factor sign-in stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwoFactorStatus {
    /// Whether sign-in asks for a code.
    pub enabled: bool,
    /// Unused recovery codes left.
    pub recovery_codes_left: i64,
}

/// A checked password waiting for its second factor: `user.expiry.mac`, signed with the
/// instance key, so any node can take the code.
#[derive(Clone, PartialEq, Eq)]
pub struct SecondFactorChallenge(pub String);

impl std::fmt::Debug for SecondFactorChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecondFactorChallenge(..)")
    }
}

/// The TOTP of `seed` for the account `username`.
fn totp(seed: Vec<u8>, username: &str) -> Result<Totp, AppError> {
    Builder::new()
        .with_secret(seed)
        .with_issuer(Some(ISSUER))
        .with_account_name(username)
        .build()
        .map_err(|e| AppError::Internal(format!("a TOTP could not be made: {e}")))
}

/// Seconds since the epoch at `now`.
fn unix_secs(now: Timestamp) -> u64 {
    u64::try_from(now.0 / 1000).unwrap_or(0)
}

/// A code as typed, without spaces or dashes, lowercase.
fn normalized(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Ten new recovery codes, `xxxxx-xxxxx` (50 bits each).
fn new_recovery_codes() -> Result<Vec<String>, AppError> {
    let mut bytes = vec![0u8; RECOVERY_CODES * 10];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(bytes
        .chunks(10)
        .map(|chunk| {
            let letters: String = chunk
                .iter()
                .map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char)
                .collect();
            format!("{}-{}", &letters[..5], &letters[5..])
        })
        .collect())
}

impl App {
    /// Whether sign-in asks `user` for a second factor.
    pub(crate) async fn second_factor_on(&self, user: UserId) -> Result<bool, AppError> {
        let mut reader = self.store.reader().await?;
        Ok(reader
            .conn()
            .two_factor(user)
            .await?
            .is_some_and(|t| t.enabled_at.is_some()))
    }

    /// Where the caller's two-factor sign-in stands.
    pub async fn two_factor_status(&self, actor: &Actor) -> Result<TwoFactorStatus, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let enabled = conn
            .two_factor(actor.user)
            .await?
            .is_some_and(|t| t.enabled_at.is_some());
        let recovery_codes_left = conn.recovery_codes_left(actor.user).await?;
        Ok(TwoFactorStatus {
            enabled,
            recovery_codes_left,
        })
    }

    /// A challenge standing for `user`'s checked password for a few minutes.
    pub(crate) fn second_factor_challenge(&self, user: UserId) -> SecondFactorChallenge {
        let expires = Timestamp::now().plus_seconds(CHALLENGE_SECS).0;
        let mac = self.challenge_mac(user, expires);
        SecondFactorChallenge(format!("{}.{expires}.{mac}", user.0))
    }

    fn challenge_mac(&self, user: UserId, expires: i64) -> String {
        use base64::Engine;
        let mac = self.key.keyed_hash(
            KeyedPurpose::SignInChallenge,
            &[&user.0.to_be_bytes(), &expires.to_be_bytes()],
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
    }

    /// The account a challenge stands for, if it is genuine and has not expired.
    pub(crate) fn challenged_user(&self, challenge: &SecondFactorChallenge) -> Option<UserId> {
        let mut parts = challenge.0.split('.');
        let user = UserId(parts.next()?.parse().ok()?);
        let expires: i64 = parts.next()?.parse().ok()?;
        let mac = parts.next()?;
        let genuine = crate::secrets::same_secret(mac, &self.challenge_mac(user, expires));
        (genuine && parts.next().is_none() && expires > Timestamp::now().0).then_some(user)
    }

    /// Asks the caller to prove it is them again before a step that acts on everything they
    /// hold (a copy of their data, its deletion): the password, and a second factor when they
    /// have one on. A session left open on a shared computer is not enough.
    pub(crate) async fn reauthenticate(
        &self,
        actor: &Actor,
        password: String,
        code: Option<&str>,
    ) -> Result<(), AppError> {
        self.reauthenticate_user(actor.user, password, code).await
    }

    /// [`App::reauthenticate`] for `user`, who may have no session: the person confirming a
    /// request from the public form for their account.
    pub(crate) async fn reauthenticate_user(
        &self,
        user: UserId,
        password: String,
        code: Option<&str>,
    ) -> Result<(), AppError> {
        self.check_password_of(user, password).await?;
        if self.second_factor_on(user).await? {
            let code = code
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    DomainError::invalid(
                        "code",
                        "is needed: enter the current code from your authenticator, or a recovery \
                     code",
                    )
                })?;
            if !self.accept_second_factor(user, code).await? {
                return Err(DomainError::invalid(
                    "code",
                    "is neither the current code from your authenticator nor an unused \
                     recovery code",
                )
                .into());
            }
        }
        Ok(())
    }

    /// Checks the caller's password (rate limited like a password change).
    async fn check_own_password(&self, actor: &Actor, password: String) -> Result<(), AppError> {
        self.check_password_of(actor.user, password).await
    }

    /// Checks `user`'s password (rate limited like a password change).
    async fn check_password_of(&self, user: UserId, password: String) -> Result<(), AppError> {
        self.password_change_limiter
            .check(&user)
            .map_err(|retry_after_secs| DomainError::RateLimited { retry_after_secs })?;
        let _ticket = self.hashing_ticket(Some(Hasher::Account(user)))?;
        let stored = {
            let mut reader = self.store.reader().await?;
            reader.conn().user(user).await?.map(|u| u.password_hash)
        };
        if verify_password(password, stored).await {
            Ok(())
        } else {
            Err(DomainError::invalid("password", "is not your current password").into())
        }
    }

    /// Starts setting up two-factor sign-in, after checking the caller's password: a new
    /// seed, which guards nothing until a code from it is confirmed
    /// ([`App::confirm_two_factor`]). Starting again replaces a seed not yet confirmed.
    pub async fn begin_two_factor(
        &self,
        actor: &Actor,
        password: String,
    ) -> Result<TwoFactorSetup, AppError> {
        self.check_own_password(actor, password).await?;
        let mut seed = vec![0u8; SEED_BYTES];
        let mut nonce = vec![0u8; 16];
        getrandom::fill(&mut seed)
            .and_then(|()| getrandom::fill(&mut nonce))
            .map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        let user = actor.user;
        let sealed = self.key.mask(
            KeyedPurpose::TwoFactorSeed,
            &[&user.0.to_be_bytes(), &nonce],
            &seed,
        )?;
        let username = self.me(actor).await?.username;
        let stored = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    Ok::<_, AppError>(
                        tx.conn()
                            .put_pending_two_factor(user, (&sealed, &nonce), Timestamp::now())
                            .await?,
                    )
                })
            })
            .await?;
        if !stored {
            return Err(DomainError::Conflict("two-factor sign-in is already on").into());
        }
        let secret = totp_rs::Secret::from(seed.clone()).to_base32();
        let totp = totp(seed, &username)?;
        Ok(TwoFactorSetup {
            secret,
            otpauth_url: totp
                .to_url()
                .map_err(|e| AppError::Internal(format!("no otpauth URL: {e}")))?,
        })
    }

    /// What to give the authenticator while a setup waits for its confirming code (for a page
    /// that shows it again); `None` when no setup is waiting.
    pub async fn pending_two_factor(
        &self,
        actor: &Actor,
    ) -> Result<Option<TwoFactorSetup>, AppError> {
        match self.stored_totp(actor.user).await? {
            Some((totp, false)) => Ok(Some(TwoFactorSetup {
                secret: totp.secret().to_base32(),
                otpauth_url: totp
                    .to_url()
                    .map_err(|e| AppError::Internal(format!("no otpauth URL: {e}")))?,
            })),
            _ => Ok(None),
        }
    }

    /// The TOTP of `user`'s stored seed (on or being set up), with the seed's state.
    async fn stored_totp(&self, user: UserId) -> Result<Option<(Totp, bool)>, AppError> {
        let (row, username) = {
            let mut reader = self.store.reader().await?;
            let mut conn = reader.conn();
            let row = conn.two_factor(user).await?;
            let username = conn.user(user).await?.map(|u| u.username);
            (row, username.unwrap_or_default())
        };
        let Some(row) = row else { return Ok(None) };
        // A setup left waiting is started again, rather than its seed shown or confirmed
        // much later.
        if row.enabled_at.is_none() && Timestamp::now().0 - row.created_at > SETUP_SECS * 1000 {
            return Ok(None);
        }
        let seed = self.key.mask(
            KeyedPurpose::TwoFactorSeed,
            &[&user.0.to_be_bytes(), &row.nonce],
            &row.secret,
        )?;
        Ok(Some((totp(seed, &username)?, row.enabled_at.is_some())))
    }

    /// Confirms setting up two-factor sign-in with a code from the authenticator: it is on
    /// from now, and the ten recovery codes returned (shown once) stand in for it.
    pub async fn confirm_two_factor(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<Vec<String>, AppError> {
        let not_started =
            || DomainError::Conflict("start setting up two-factor sign-in first").into();
        let Some((totp, enabled)) = self.stored_totp(actor.user).await? else {
            return Err(not_started());
        };
        if enabled {
            return Err(DomainError::Conflict("two-factor sign-in is already on").into());
        }
        let now = Timestamp::now();
        let step = totp
            .check(&normalized(code), unix_secs(now))
            .ok_or_else(|| DomainError::invalid("code", "is not the current code"))?;
        let codes = new_recovery_codes()?;
        let hashes = self.recovery_hashes(actor.user, &codes);
        let user = actor.user;
        let username = totp.account_name().to_string();
        let keep = match &actor.credential {
            crate::Credential::Session(hash) => Some(hash.clone()),
            _ => None,
        };
        let kept = keep.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let step = i64::try_from(step).unwrap_or(i64::MAX);
                    if !tx
                        .conn()
                        .accept_two_factor_step(user, step, Some(now))
                        .await?
                    {
                        return Err(DomainError::invalid("code", "is not the current code").into());
                    }
                    tx.conn().replace_recovery_codes(user, &hashes, now).await?;
                    // From now on a session needs the second factor: those that signed in
                    // without it end, and with them any change of address they asked for.
                    tx.conn()
                        .delete_other_sessions(user, keep.as_deref())
                        .await?;
                    tx.conn().delete_pending_address_changes(user).await?;
                    let object = (ObjectKind::User, Some(user.0));
                    record(tx, Some(user), AuditAction::TwoFactorEnabled, object, None);
                    let email = tx.conn().user(user).await?.map(|u| u.email);
                    if let Some(email) = email {
                        let letter = Letter::TwoFactorChanged { username, on: true };
                        queue_mail(tx, &email, Some(user), letter, None).await?;
                    }
                    Ok::<_, AppError>(())
                })
            })
            .await?;
        self.credentials.forget_sessions_of(user, kept.as_deref());
        Ok(codes)
    }

    fn recovery_hashes(&self, user: UserId, codes: &[String]) -> Vec<Vec<u8>> {
        codes
            .iter()
            .map(|code| self.recovery_hash(user, &normalized(code)))
            .collect()
    }

    fn recovery_hash(&self, user: UserId, normalized: &str) -> Vec<u8> {
        self.key.keyed_hash(
            KeyedPurpose::RecoveryCode,
            &[&user.0.to_be_bytes(), normalized.as_bytes()],
        )
    }

    /// Accepts a second factor for `user` (two-factor sign-in on): the current code from the
    /// authenticator, not used before, or an unused recovery code, which is then used up.
    pub(crate) async fn accept_second_factor(
        &self,
        user: UserId,
        code: &str,
    ) -> Result<bool, AppError> {
        let code = normalized(code);
        let now = Timestamp::now();
        let is_totp = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        let step = if is_totp {
            match self.stored_totp(user).await? {
                Some((totp, true)) => totp.check(&code, unix_secs(now)),
                _ => None,
            }
        } else {
            None
        };
        let hash = (!is_totp).then(|| self.recovery_hash(user, &code));
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if let Some(step) = step {
                        let step = i64::try_from(step).unwrap_or(i64::MAX);
                        return Ok(tx.conn().accept_two_factor_step(user, step, None).await?);
                    }
                    let Some(hash) = hash else { return Ok(false) };
                    let used = tx.conn().use_recovery_code(user, &hash, now).await?;
                    if used {
                        let object = (ObjectKind::User, Some(user.0));
                        record(tx, Some(user), AuditAction::RecoveryCodeUsed, object, None);
                    }
                    Ok::<_, AppError>(used)
                })
            })
            .await
    }

    /// Turns two-factor sign-in off: asks for the password and a second factor.
    pub async fn disable_two_factor(
        &self,
        actor: &Actor,
        password: String,
        code: &str,
    ) -> Result<(), AppError> {
        self.check_own_password(actor, password).await?;
        if !self.second_factor_on(actor.user).await? {
            return Err(DomainError::Conflict("two-factor sign-in is not on").into());
        }
        if !self.accept_second_factor(actor.user, code).await? {
            return Err(DomainError::invalid(
                "code",
                "is neither the current code from your authenticator nor an unused recovery \
                 code",
            )
            .into());
        }
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    // The owner of a community that asks it of its moderators and admins keeps
                    // it, or the rule they set would no longer hold them.
                    if tx
                        .conn()
                        .owns_a_community_requiring_two_factor(user)
                        .await?
                    {
                        return Err(DomainError::Conflict(
                            "you own a community that requires two-factor sign-in of its \
                             moderators and admins: lift that rule first",
                        )
                        .into());
                    }
                    tx.conn().delete_two_factor(user).await?;
                    tx.conn().delete_pending_address_changes(user).await?;
                    let object = (ObjectKind::User, Some(user.0));
                    record(tx, Some(user), AuditAction::TwoFactorDisabled, object, None);
                    if let Some(row) = tx.conn().user(user).await? {
                        let letter = Letter::TwoFactorChanged {
                            username: row.username.clone(),
                            on: false,
                        };
                        queue_mail(tx, &row.email, Some(user), letter, None).await?;
                    }
                    Ok::<_, AppError>(())
                })
            })
            .await
    }

    /// Replaces the caller's recovery codes with ten new ones (shown once), after checking
    /// the password and a second factor: for when the old ones ran low or may have been seen.
    pub async fn renew_recovery_codes(
        &self,
        actor: &Actor,
        password: String,
        code: &str,
    ) -> Result<Vec<String>, AppError> {
        self.check_own_password(actor, password).await?;
        if !self.second_factor_on(actor.user).await? {
            return Err(DomainError::Conflict("two-factor sign-in is not on").into());
        }
        if !self.accept_second_factor(actor.user, code).await? {
            return Err(DomainError::invalid(
                "code",
                "is neither the current code from your authenticator nor an unused recovery \
                 code",
            )
            .into());
        }
        let codes = new_recovery_codes()?;
        let hashes = self.recovery_hashes(actor.user, &codes);
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    tx.conn().replace_recovery_codes(user, &hashes, now).await?;
                    let object = (ObjectKind::User, Some(user.0));
                    record(
                        tx,
                        Some(user),
                        AuditAction::RecoveryCodesRenewed,
                        object,
                        None,
                    );
                    Ok::<_, AppError>(())
                })
            })
            .await?;
        Ok(codes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_as_typed_and_recovery_codes_are_distinct_and_readable() {
        assert_eq!(normalized(" 123 456 "), "123456");
        assert_eq!(normalized("ABCDE-fghij"), "abcdefghij");
        let codes = new_recovery_codes().unwrap_or_default();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-')
        );
        assert!(codes.iter().all(|c| !c.contains(['0', '1', 'l', 'o'])));
    }

    #[test]
    fn the_rfc_6238_test_vector_holds() {
        // RFC 6238, appendix B: SHA-1, seed "12345678901234567890", T = 59 s.
        let totp = Builder::new()
            .with_secret(b"12345678901234567890".to_vec())
            .with_digits(8)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(totp.generate(59).to_string(), "94287082");
    }
}
