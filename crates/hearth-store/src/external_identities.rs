//! Accounts linked to an identity provider's subject identifiers.

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use hearth_core::{Timestamp, UserId};

impl Conn<'_> {
    /// The account linked to `subject` at the provider `issuer`.
    pub async fn linked_user(
        &mut self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<UserId>, StoreError> {
        let row: Option<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT user_id FROM external_identities WHERE issuer = $1 AND subject = $2")
            .bind(issuer).bind(subject).fetch_optional(&mut **c).await?);
        Ok(row.map(|(id,)| UserId(id)))
    }

    /// How many identities at `issuer` are linked to `user`.
    pub async fn identity_count(&mut self, user: UserId, issuer: &str) -> Result<i64, StoreError> {
        let (count,): (i64,) = dispatch!(self, c => sqlx::query_as(
            "SELECT COUNT(*) FROM external_identities WHERE user_id = $1 AND issuer = $2")
            .bind(user.0).bind(issuer).fetch_one(&mut **c).await?);
        Ok(count)
    }

    /// The identity-provider subjects linked to `user`, as `(issuer, subject)`.
    pub async fn identity_subjects_of(
        &mut self,
        user: UserId,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as::<_, (String, String)>(
            "SELECT issuer, subject FROM external_identities WHERE user_id = $1")
            .bind(user.0).fetch_all(&mut **c).await?))
    }

    /// The identities linked to `user`: issuer and when linked.
    pub async fn identities_of(
        &mut self,
        user: UserId,
    ) -> Result<Vec<(String, Timestamp)>, StoreError> {
        let rows: Vec<(String, i64)> = dispatch!(self, c => sqlx::query_as(
            "SELECT issuer, created_at FROM external_identities WHERE user_id = $1 \
             ORDER BY created_at")
            .bind(user.0).fetch_all(&mut **c).await?);
        Ok(rows.into_iter().map(|(i, at)| (i, Timestamp(at))).collect())
    }

    /// Unlinks every identity of `user` (at `issuer`, or anywhere); returns how many went.
    pub async fn unlink_identities(
        &mut self,
        user: UserId,
        issuer: Option<&str>,
    ) -> Result<u64, StoreError> {
        Ok(match issuer {
            Some(issuer) => dispatch!(self, c => sqlx::query(
                "DELETE FROM external_identities WHERE user_id = $1 AND issuer = $2")
                .bind(user.0).bind(issuer).execute(&mut **c).await?.rows_affected()),
            None => dispatch!(self, c => sqlx::query(
                "DELETE FROM external_identities WHERE user_id = $1")
                .bind(user.0).execute(&mut **c).await?.rows_affected()),
        })
    }

    /// Refuses (from now on) linking `user` to an identity provider by address alone.
    pub async fn refuse_identity_links(&mut self, user: UserId) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "UPDATE users SET identity_links_refused = TRUE WHERE id = $1")
            .bind(user.0).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Whether linking `user` by address is refused.
    pub async fn identity_links_refused(&mut self, user: UserId) -> Result<bool, StoreError> {
        let row: Option<(bool,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT identity_links_refused FROM users WHERE id = $1")
            .bind(user.0).fetch_optional(&mut **c).await?);
        Ok(row.is_some_and(|(refused,)| refused))
    }

    /// Links `subject` at `issuer` to `user`.
    pub async fn link_identity(
        &mut self,
        (issuer, subject): (&str, &str),
        user: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO external_identities (issuer, subject, user_id, created_at) \
             VALUES ($1, $2, $3, $4)")
            .bind(issuer).bind(subject).bind(user.0).bind(now.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }
}
