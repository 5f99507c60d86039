//! Two-factor sign-in: TOTP seeds (stored encrypted by the caller) and recovery codes (stored
//! as keyed hashes by the caller).

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use hearth_core::{Timestamp, UserId};

/// A person's TOTP seed as stored.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TwoFactorRow {
    /// The seed, encrypted under the instance key.
    pub secret: Vec<u8>,
    /// The nonce it was encrypted with.
    pub nonce: Vec<u8>,
    /// When it started guarding sign-in; `None` while being set up.
    pub enabled_at: Option<i64>,
    /// The last time step whose code was accepted.
    pub last_step: i64,
    /// When it was made.
    pub created_at: i64,
}

hearth_core::debug_fields!(TwoFactorRow {
    enabled_at,
    last_step
});

impl Conn<'_> {
    /// The person's seed, set up or being set up.
    pub async fn two_factor(&mut self, user: UserId) -> Result<Option<TwoFactorRow>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as::<_, TwoFactorRow>(
            "SELECT secret, nonce, enabled_at, last_step, created_at FROM two_factor WHERE user_id = $1")
            .bind(user.0).fetch_optional(&mut **c).await?))
    }

    /// Stores a seed being set up, replacing one being set up before; false (and nothing
    /// changes) when two-factor sign-in is already on.
    pub async fn put_pending_two_factor(
        &mut self,
        user: UserId,
        (secret, nonce): (&[u8], &[u8]),
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        dispatch!(self, c => sqlx::query(
            "DELETE FROM two_factor WHERE user_id = $1 AND enabled_at IS NULL")
            .bind(user.0).execute(&mut **c).await?.rows_affected());
        let written = dispatch!(self, c => sqlx::query(
            "INSERT INTO two_factor (user_id, secret, nonce, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO NOTHING")
            .bind(user.0).bind(secret).bind(nonce).bind(now.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(written == 1)
    }

    /// Accepts time step `step` for the person's seed (on or being set up) if no later or
    /// equal step was accepted before: a code works once. With `enable`, a seed being set up
    /// starts guarding sign-in.
    pub async fn accept_two_factor_step(
        &mut self,
        user: UserId,
        step: i64,
        enable: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        let changed = match enable {
            Some(now) => dispatch!(self, c => sqlx::query(
                "UPDATE two_factor SET last_step = $2, enabled_at = $3 \
                 WHERE user_id = $1 AND enabled_at IS NULL AND last_step < $2")
                .bind(user.0).bind(step).bind(now.0).execute(&mut **c).await?.rows_affected()),
            None => dispatch!(self, c => sqlx::query(
                "UPDATE two_factor SET last_step = $2 \
                 WHERE user_id = $1 AND enabled_at IS NOT NULL AND last_step < $2")
                .bind(user.0).bind(step).execute(&mut **c).await?.rows_affected()),
        };
        Ok(changed == 1)
    }

    /// Turns two-factor sign-in off: the seed and every recovery code go.
    pub async fn delete_two_factor(&mut self, user: UserId) -> Result<bool, StoreError> {
        dispatch!(self, c => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.0).execute(&mut **c).await?.rows_affected());
        let deleted = dispatch!(self, c => sqlx::query("DELETE FROM two_factor WHERE user_id = $1")
            .bind(user.0).execute(&mut **c).await?.rows_affected());
        Ok(deleted == 1)
    }

    /// Replaces the person's recovery codes with `hashes`.
    pub async fn replace_recovery_codes(
        &mut self,
        user: UserId,
        hashes: &[Vec<u8>],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.0).execute(&mut **c).await?.rows_affected());
        for hash in hashes {
            dispatch!(self, c => sqlx::query(
                "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
                .bind(user.0).bind(hash).bind(now.0).execute(&mut **c).await?.rows_affected());
        }
        Ok(())
    }

    /// Uses up one of the person's recovery codes; false when it is none of theirs or was
    /// used before.
    pub async fn use_recovery_code(
        &mut self,
        user: UserId,
        hash: &[u8],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = dispatch!(self, c => sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 \
             WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
            .bind(user.0).bind(hash).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(changed == 1)
    }

    /// How many of the person's recovery codes are still unused.
    pub async fn recovery_codes_left(&mut self, user: UserId) -> Result<i64, StoreError> {
        let (count,): (i64,) = dispatch!(self, c => sqlx::query_as(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user.0).fetch_one(&mut **c).await?);
        Ok(count)
    }
}
