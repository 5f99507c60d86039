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
