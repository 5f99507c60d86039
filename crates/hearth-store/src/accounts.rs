//! Accounts, sessions and API tokens.

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use crate::rows::{TokenRow, UserRow};
use hearth_core::model::ApiToken;
use hearth_core::sign_in_throttle::Meter;
use hearth_core::{Timestamp, TokenId, UserId, debug_fields};

/// A new account, validated and hashed by the caller.
#[derive(Clone)]
pub struct NewUser<'a> {
    /// Its id.
    pub id: UserId,
    /// Lowercase handle.
    pub username: &'a str,
    /// Shown name.
    pub display_name: &'a str,
    /// Lowercase email.
    pub email: &'a str,
    /// Argon2id PHC string.
    pub password_hash: &'a str,
    /// Runs the instance.
    pub is_operator: bool,
    /// Creation time.
    pub now: Timestamp,
}

debug_fields!(NewUser<'_> { id, is_operator, now });

/// A signed-in session as stored.
#[derive(Clone, sqlx::FromRow)]
pub struct SessionRow {
    /// Hash of its secret.
    pub token_hash: Vec<u8>,
    /// When it was signed in.
    pub created_at: i64,
    /// When it was last used (to the nearest few minutes).
    pub last_seen_at: i64,
    /// When it ends by itself.
    pub expires_at: i64,
    /// What signed in ("Firefox on Linux").
    pub device: Option<String>,
    /// From which network, shortened.
    pub network: Option<String>,
}

debug_fields!(SessionRow {
    created_at,
    last_seen_at,
    expires_at
});

/// `SELECT` of every [`UserRow`] column, followed by the given filter.
macro_rules! select_user {
    ($filter:literal) => {
        concat!(
            "SELECT id, username, display_name, email, password_hash, is_operator, ",
            "created_at, about, avatar_id, email_verified_at, sale_opt_out_at, sensitive_limit_at FROM users ",
            $filter
        )
    };
}

impl Conn<'_> {
    /// Inserts an account.
    pub async fn insert_user(&mut self, user: &NewUser<'_>) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO users (id, username, display_name, email, password_hash, is_operator, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
            .bind(user.id.0)
            .bind(user.username)
            .bind(user.display_name)
            .bind(user.email)
            .bind(user.password_hash)
            .bind(user.is_operator)
            .bind(user.now.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Whether a username is taken.
    pub async fn username_taken(&mut self, username: &str) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = dispatch!(self, c =>
            sqlx::query_as("SELECT id FROM users WHERE username = $1")
                .bind(username).fetch_optional(&mut **c).await?);
        Ok(row.is_some())
    }

    /// Whether an email address is taken.
    pub async fn email_taken(&mut self, email: &str) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = dispatch!(self, c =>
            sqlx::query_as("SELECT id FROM users WHERE email = $1")
                .bind(email).fetch_optional(&mut **c).await?);
        Ok(row.is_some())
    }

    /// The account with this id.
    pub async fn user(&mut self, id: UserId) -> Result<Option<UserRow>, StoreError> {
        Ok(dispatch!(self, c =>
            sqlx::query_as::<_, UserRow>(select_user!("WHERE id = $1"))
                .bind(id.0).fetch_optional(&mut **c).await?))
    }

    /// The account whose email is `email` (lowercase).
    pub async fn user_by_email(&mut self, email: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(dispatch!(self, c =>
            sqlx::query_as::<_, UserRow>(select_user!("WHERE email = $1"))
                .bind(email).fetch_optional(&mut **c).await?))
    }

    /// The account whose username or email is `login` (lowercase).
    pub async fn user_by_login(&mut self, login: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(dispatch!(self, c =>
            sqlx::query_as::<_, UserRow>(select_user!("WHERE username = $1 OR email = $1"))
                .bind(login).fetch_optional(&mut **c).await?))
    }

    /// Records a privacy choice of `user`: the opt-out of sale and sharing (`sale`) or the limit
    /// on sensitive information, made at `at`, or withdrawn (`None`). True when it changed.
    pub async fn set_privacy_choice(
        &mut self,
        user: UserId,
        sale: bool,
        at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        let sql = match (sale, at.is_some()) {
            (true, true) => {
                "UPDATE users SET sale_opt_out_at = $2 WHERE id = $1 AND sale_opt_out_at IS NULL"
            }
            (true, false) => {
                "UPDATE users SET sale_opt_out_at = NULL WHERE id = $1 AND sale_opt_out_at IS NOT NULL AND $2 IS NULL"
            }
            (false, true) => {
                "UPDATE users SET sensitive_limit_at = $2 WHERE id = $1 AND sensitive_limit_at IS NULL"
            }
            (false, false) => {
                "UPDATE users SET sensitive_limit_at = NULL WHERE id = $1 AND sensitive_limit_at IS NOT NULL AND $2 IS NULL"
            }
        };
        let changed = dispatch!(self, c => sqlx::query(sql)
            .bind(user.0).bind(at.map(|t| t.0)).execute(&mut **c).await?.rows_affected());
        Ok(changed == 1)
    }

    /// Whether any operator account exists.
    pub async fn operator_exists(&mut self) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = dispatch!(self, c =>
            sqlx::query_as("SELECT id FROM users WHERE is_operator LIMIT 1")
                .fetch_optional(&mut **c).await?);
        Ok(row.is_some())
    }

    /// The sign-in meter of `subject` (a keyed hash of the account, or of a login naming none)
    /// for `scope` (a keyed hash of a network or device; empty: the account-wide meter).
    pub async fn sign_in_meter(
        &mut self,
        subject: &[u8],
        scope: &[u8],
    ) -> Result<Option<Meter>, StoreError> {
        let row: Option<(i64, i64, i64, i64)> = dispatch!(self, c => sqlx::query_as(
            "SELECT failures, blocked_until, trusted_until, updated_at FROM sign_in_throttles \
             WHERE subject = $1 AND scope = $2")
            .bind(subject).bind(scope).fetch_optional(&mut **c).await?);
        Ok(row.map(meter_of))
    }

    /// Every sign-in meter of an account (for the account's security page and tests).
    pub async fn sign_in_meters_of(&mut self, user: UserId) -> Result<Vec<Meter>, StoreError> {
        let rows: Vec<(i64, i64, i64, i64)> = dispatch!(self, c => sqlx::query_as(
            "SELECT failures, blocked_until, trusted_until, updated_at FROM sign_in_throttles \
             WHERE user_id = $1")
            .bind(user.0).fetch_all(&mut **c).await?);
        Ok(rows.into_iter().map(meter_of).collect())
    }

    /// Replaces a sign-in meter if it still holds `expected` (compare and set, so two nodes
    /// cannot both admit on the same reading); returns whether it did. `user` is the account
    /// the subject stands for, if any (its meters go when it does).
    pub async fn replace_sign_in_meter(
        &mut self,
        (subject, user): (&[u8], Option<UserId>),
        scope: &[u8],
        expected: Option<Meter>,
        new: Meter,
    ) -> Result<bool, StoreError> {
        let done = match expected {
            None => dispatch!(self, c => sqlx::query(
                "INSERT INTO sign_in_throttles (subject, scope, user_id, failures, \
                 blocked_until, trusted_until, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (subject, scope) DO NOTHING")
                .bind(subject).bind(scope).bind(user.map(|u| u.0)).bind(new.failures)
                .bind(new.blocked_until).bind(new.trusted_until).bind(new.updated_at)
                .execute(&mut **c).await?.rows_affected()),
            Some(old) => dispatch!(self, c => sqlx::query(
                "UPDATE sign_in_throttles SET failures = $3, blocked_until = $4, \
                 trusted_until = $5, updated_at = $6 \
                 WHERE subject = $1 AND scope = $2 AND failures = $7 \
                 AND blocked_until = $8 AND updated_at = $9")
                .bind(subject).bind(scope).bind(new.failures).bind(new.blocked_until)
                .bind(new.trusted_until).bind(new.updated_at)
                .bind(old.failures).bind(old.blocked_until).bind(old.updated_at)
                .execute(&mut **c).await?.rows_affected()),
        };
        Ok(done == 1)
    }

    /// Sets an account's sign-in meter whatever it held (after a successful sign-in).
    pub async fn set_sign_in_meter(
        &mut self,
        (subject, user): (&[u8], UserId),
        scope: &[u8],
        meter: Meter,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO sign_in_throttles \
             (subject, scope, user_id, failures, blocked_until, trusted_until, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (subject, scope) DO UPDATE SET \
             failures = excluded.failures, blocked_until = excluded.blocked_until, \
             trusted_until = excluded.trusted_until, updated_at = excluded.updated_at")
            .bind(subject).bind(scope).bind(user.0).bind(meter.failures)
            .bind(meter.blocked_until).bind(meter.trusted_until).bind(meter.updated_at)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Takes one counted attempt off a meter (a successful sign-in it had counted).
    pub async fn uncount_sign_in(
        &mut self,
        subject: &[u8],
        scope: &[u8],
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "UPDATE sign_in_throttles SET failures = failures - 1 \
             WHERE subject = $1 AND scope = $2 AND failures > 0")
            .bind(subject).bind(scope).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Records the instance key's check value if none is kept yet, and returns the one kept.
    pub async fn instance_key_check(
        &mut self,
        check: &[u8],
        now: Timestamp,
    ) -> Result<Vec<u8>, StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO instance_key_check (id, key_check, created_at) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO NOTHING")
            .bind(check).bind(now.0).execute(&mut **c).await?.rows_affected());
        let (kept,): (Vec<u8>,) = dispatch!(self, c => sqlx::query_as(
            "SELECT key_check FROM instance_key_check WHERE id = 1")
            .fetch_one(&mut **c).await?);
        Ok(kept)
    }

    /// Deletes up to `limit` sign-in meters untouched since `before` that neither block nor
    /// trust anyone any more; returns how many went.
    pub async fn delete_stale_sign_in_meters(
        &mut self,
        before: Timestamp,
        now: Timestamp,
        limit: i64,
    ) -> Result<u64, StoreError> {
        Ok(dispatch!(self, c => sqlx::query(
            "DELETE FROM sign_in_throttles WHERE (subject, scope) IN \
             (SELECT subject, scope FROM sign_in_throttles WHERE updated_at < $1 \
             AND blocked_until <= $2 AND trusted_until <= $2 LIMIT $3)")
            .bind(before.0).bind(now.0).bind(limit).execute(&mut **c).await?.rows_affected()))
    }

    /// Replaces the shown name.
    pub async fn set_display_name(
        &mut self,
        id: UserId,
        display_name: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = dispatch!(self, c => sqlx::query(
            "UPDATE users SET display_name = $2, updated_at = $3 WHERE id = $1")
            .bind(id.0).bind(display_name).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(changed == 1)
    }

    /// Replaces a password hash.
    pub async fn set_password_hash(
        &mut self,
        id: UserId,
        hash: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id.0).bind(hash).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Stores a session by the hash of its secret.
    pub async fn insert_session(
        &mut self,
        token_hash: &[u8],
        user: UserId,
        (now, expires_at): (Timestamp, Timestamp),
        (device, network): (Option<&str>, Option<&str>),
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, \
             device, network) VALUES ($1, $2, $3, $4, $3, $5, $6)")
            .bind(token_hash).bind(user.0).bind(now.0).bind(expires_at.0)
            .bind(device).bind(network)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// The user of an unexpired session, and when it was last noted in use.
    pub async fn session_user(
        &mut self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> Result<Option<(UserId, Timestamp, bool)>, StoreError> {
        let row: Option<(i64, i64, bool)> = dispatch!(self, c => sqlx::query_as(
            "SELECT s.user_id, s.last_seen_at, \
             (u.email_verified_at IS NOT NULL OR u.is_operator) \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2")
            .bind(token_hash).bind(now.0).fetch_optional(&mut **c).await?);
        Ok(row.map(|(id, seen, trusted)| (UserId(id), Timestamp(seen), trusted)))
    }

    /// Notes that a session was used.
    pub async fn touch_session(
        &mut self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(token_hash).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Ends one session; returns whether it existed.
    pub async fn delete_session(&mut self, token_hash: &[u8]) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash).execute(&mut **c).await?.rows_affected());
        Ok(done > 0)
    }

    /// Deletes up to `limit` sessions that expired at or before `now`; returns how many.
    pub async fn delete_expired_sessions(
        &mut self,
        now: Timestamp,
        limit: i64,
    ) -> Result<u64, StoreError> {
        Ok(dispatch!(self, c => sqlx::query(
            "DELETE FROM sessions WHERE token_hash IN \
             (SELECT token_hash FROM sessions WHERE expires_at <= $1 LIMIT $2)")
            .bind(now.0).bind(limit).execute(&mut **c).await?.rows_affected()))
    }

    /// A user's unexpired sessions, most recently used first.
    pub async fn sessions_of(
        &mut self,
        user: UserId,
        now: Timestamp,
    ) -> Result<Vec<SessionRow>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as::<_, SessionRow>(
            "SELECT token_hash, created_at, last_seen_at, expires_at, device, network \
             FROM sessions WHERE user_id = $1 AND expires_at > $2 \
             ORDER BY last_seen_at DESC, created_at DESC")
            .bind(user.0).bind(now.0).fetch_all(&mut **c).await?))
    }

    /// Ends every session of a user but the one given.
    pub async fn delete_other_sessions(
        &mut self,
        user: UserId,
        keep: Option<&[u8]>,
    ) -> Result<u64, StoreError> {
        let keep = keep.unwrap_or(&[]);
        Ok(dispatch!(self, c => sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user.0).bind(keep).execute(&mut **c).await?.rows_affected()))
    }

    /// Stores an API token by the hash of its secret, unless its user already holds `max_live`
    /// unrevoked ones; returns whether it was stored. The account row is locked first (on
    /// PostgreSQL; SQLite has one writer), so that tokens asked for at once on several nodes
    /// are counted one after another and the cap holds exactly.
    pub async fn insert_token_within(
        &mut self,
        id: TokenId,
        user: UserId,
        name: &str,
        token_hash: &[u8],
        now: Timestamp,
        max_live: i64,
    ) -> Result<bool, StoreError> {
        if self.backend() == crate::Backend::Postgres {
            dispatch!(self, c => sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
                .bind(user.0).execute(&mut **c).await?.rows_affected());
        }
        let stored = dispatch!(self, c => sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) \
             SELECT $1, $2, $3, $4, $5 WHERE (SELECT COUNT(*) FROM api_tokens \
             WHERE user_id = $2 AND revoked_at IS NULL) < $6")
            .bind(id.0).bind(user.0).bind(name).bind(token_hash).bind(now.0).bind(max_live)
            .execute(&mut **c).await?.rows_affected());
        Ok(stored == 1)
    }

    /// The owner of an unrevoked token, with when it was last used.
    pub async fn token_user(
        &mut self,
        token_hash: &[u8],
    ) -> Result<Option<(TokenId, UserId, Option<Timestamp>, bool)>, StoreError> {
        let row: Option<(i64, i64, Option<i64>, bool)> = dispatch!(self, c => sqlx::query_as(
            "SELECT t.id, t.user_id, t.last_used_at, \
             (u.email_verified_at IS NOT NULL OR u.is_operator) \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL")
            .bind(token_hash).fetch_optional(&mut **c).await?);
        Ok(row.map(|(id, user, used, trusted)| {
            (TokenId(id), UserId(user), used.map(Timestamp), trusted)
        }))
    }

    /// Whether a token still works.
    pub async fn token_active(&mut self, id: TokenId) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT id FROM api_tokens WHERE id = $1 AND revoked_at IS NULL")
            .bind(id.0).fetch_optional(&mut **c).await?);
        Ok(row.is_some())
    }

    /// Notes that a token was used.
    pub async fn touch_token(&mut self, id: TokenId, now: Timestamp) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id.0).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// A page of a user's tokens, revoked ones included, newest first, older than `before`.
    pub async fn tokens_of(
        &mut self,
        user: UserId,
        before: Option<TokenId>,
        limit: i64,
    ) -> Result<Vec<ApiToken>, StoreError> {
        let rows: Vec<TokenRow> = dispatch!(self, c => sqlx::query_as(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens \
             WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3")
            .bind(user.0).bind(before.map_or(i64::MAX, |b| b.0)).bind(limit)
            .fetch_all(&mut **c).await?);
        Ok(rows.into_iter().map(ApiToken::from).collect())
    }

    /// Revokes every live token of a user (after a password change).
    pub async fn revoke_all_tokens(
        &mut self,
        user: UserId,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        Ok(dispatch!(self, c => sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(user.0).bind(now.0).execute(&mut **c).await?.rows_affected()))
    }

    /// How many unrevoked tokens a user holds.
    pub async fn live_token_count(&mut self, user: UserId) -> Result<i64, StoreError> {
        let (count,): (i64,) = dispatch!(self, c => sqlx::query_as(
            "SELECT COUNT(*) FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(user.0).fetch_one(&mut **c).await?);
        Ok(count)
    }

    /// Revokes a user's own token; returns whether one was revoked.
    pub async fn revoke_token(
        &mut self,
        user: UserId,
        id: TokenId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "UPDATE api_tokens SET revoked_at = $3 \
             WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL")
            .bind(id.0).bind(user.0).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(done > 0)
    }
}

fn meter_of((failures, blocked_until, trusted_until, updated_at): (i64, i64, i64, i64)) -> Meter {
    Meter {
        failures,
        blocked_until,
        trusted_until,
        updated_at,
    }
}
