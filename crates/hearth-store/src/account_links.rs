//! Mailed account links (address confirmations and password resets) and the account changes
//! they allow.

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use hearth_core::{Timestamp, UserId};

/// A link about to be mailed.
#[derive(Clone)]
pub struct NewAccountLink<'a> {
    /// Its id; the link's secret is derived from it.
    pub id: i64,
    /// Whose account it acts on.
    pub user: UserId,
    /// What it does (`verify_email`, `reset_password`).
    pub purpose: &'a str,
    /// The address it goes to.
    pub email: &'a str,
    /// Hash of the secret in the link.
    pub token_hash: &'a [u8],
    /// When it was made.
    pub now: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

hearth_core::debug_fields!(NewAccountLink<'_> {
    id,
    user,
    purpose,
    now,
    expires_at
});

/// A live link, found by its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountLink {
    /// Its id.
    pub id: i64,
    /// Whose account it acts on.
    pub user: UserId,
    /// The address it was sent to.
    pub email: String,
}

hearth_core::debug_fields!(AccountLink { id, user });

impl Conn<'_> {
    /// Stores a link.
    pub async fn insert_account_link(
        &mut self,
        link: &NewAccountLink<'_>,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO account_links (id, user_id, purpose, email, token_hash, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(link.id).bind(link.user.0).bind(link.purpose).bind(link.email)
            .bind(link.token_hash).bind(link.now.0).bind(link.expires_at.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// The live link for `purpose` whose secret hashes to `token_hash`, without using it up.
    pub async fn account_link(
        &mut self,
        purpose: &str,
        token_hash: &[u8],
        now: Timestamp,
    ) -> Result<Option<AccountLink>, StoreError> {
        let row: Option<(i64, i64, String)> = dispatch!(self, c => sqlx::query_as(
            "SELECT id, user_id, email FROM account_links \
             WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3")
            .bind(token_hash).bind(purpose).bind(now.0).fetch_optional(&mut **c).await?);
        Ok(row.map(|(id, user, email)| AccountLink {
            id,
            user: UserId(user),
            email,
        }))
    }

    /// Uses up the live link for `purpose` whose secret hashes to `token_hash`: it is deleted,
    /// so that of two uses at once only one finds it.
    pub async fn take_account_link(
        &mut self,
        purpose: &str,
        token_hash: &[u8],
        now: Timestamp,
    ) -> Result<Option<AccountLink>, StoreError> {
        let row: Option<(i64, i64, String)> = dispatch!(self, c => sqlx::query_as(
            "DELETE FROM account_links \
             WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 \
             RETURNING id, user_id, email")
            .bind(token_hash).bind(purpose).bind(now.0).fetch_optional(&mut **c).await?);
        Ok(row.map(|(id, user, email)| AccountLink {
            id,
            user: UserId(user),
            email,
        }))
    }

    /// The address a live link for `purpose` of `user` was last sent to, and when.
    pub async fn latest_account_link(
        &mut self,
        user: UserId,
        purpose: &str,
        now: Timestamp,
    ) -> Result<Option<(String, Timestamp)>, StoreError> {
        let row: Option<(String, i64)> = dispatch!(self, c => sqlx::query_as(
            "SELECT email, created_at FROM account_links \
             WHERE user_id = $1 AND purpose = $2 AND expires_at > $3 \
             ORDER BY created_at DESC, id DESC LIMIT 1")
            .bind(user.0).bind(purpose).bind(now.0).fetch_optional(&mut **c).await?);
        Ok(row.map(|(email, at)| (email, Timestamp(at))))
    }

    /// Deletes every link of `user` for `purpose` (a new one replaces them, or one was used).
    pub async fn delete_account_links(
        &mut self,
        user: UserId,
        purpose: &str,
    ) -> Result<u64, StoreError> {
        Ok(dispatch!(self, c => sqlx::query(
            "DELETE FROM account_links WHERE user_id = $1 AND purpose = $2")
            .bind(user.0).bind(purpose).execute(&mut **c).await?.rows_affected()))
    }

    /// Deletes `user`'s links confirming an address other than the one the account has (a
    /// pending change of address); returns how many went.
    pub async fn delete_pending_address_changes(
        &mut self,
        user: UserId,
    ) -> Result<u64, StoreError> {
        Ok(dispatch!(self, c => sqlx::query(
            "DELETE FROM account_links WHERE user_id = $1 AND purpose = 'verify_email' \
             AND email <> (SELECT email FROM users WHERE id = $1)")
            .bind(user.0).execute(&mut **c).await?.rows_affected()))
    }

    /// Deletes up to `limit` links that expired before `now`.
    pub async fn delete_expired_account_links(
        &mut self,
        now: Timestamp,
        limit: i64,
    ) -> Result<u64, StoreError> {
        Ok(dispatch!(self, c => sqlx::query(
            "DELETE FROM account_links WHERE id IN \
             (SELECT id FROM account_links WHERE expires_at <= $1 LIMIT $2)")
            .bind(now.0).bind(limit).execute(&mut **c).await?.rows_affected()))
    }

    /// Records that `user` proved `email` is theirs: it becomes their address, confirmed.
    /// False when another account took the address meanwhile (nothing changes then).
    pub async fn confirm_email(
        &mut self,
        user: UserId,
        email: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let taken: Option<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT id FROM users WHERE email = $1 AND id <> $2")
            .bind(email).bind(user.0).fetch_optional(&mut **c).await?);
        if taken.is_some() {
            return Ok(false);
        }
        let changed = dispatch!(self, c => sqlx::query(
            "UPDATE users SET email = $2, email_verified_at = $3, updated_at = $3 WHERE id = $1")
            .bind(user.0).bind(email).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(changed == 1)
    }
}
