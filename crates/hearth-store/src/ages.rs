//! Minors: the ages a community admits, what joining recorded of a member's age and consent,
//! and parents' consents.

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use hearth_core::ages::Unfilled;
use hearth_core::{CommunityId, UserId};

/// A community's age policy as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AgePolicyRow {
    /// `none`, `birth_date` or `bracket`.
    pub age_question: String,
    /// The youngest age admitted (0: under 13 with a parent's consent).
    pub minimum_age: i32,
}

/// What joining recorded of a member's age.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberAgeRow {
    /// Their age group, where the community asks.
    pub age_group: Option<String>,
    /// When a member aged 13 to 15 consented to joining.
    pub minor_consent_at: Option<i64>,
    /// When they allowed the sale and sharing of their personal information themself.
    pub sale_opt_in_at: Option<i64>,
}

impl Conn<'_> {
    /// A community's age policy.
    pub async fn age_policy(
        &mut self,
        community: CommunityId,
    ) -> Result<Option<AgePolicyRow>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as::<_, AgePolicyRow>(
            "SELECT age_question, minimum_age FROM communities WHERE id = $1")
            .bind(community.0).fetch_optional(&mut **c).await?))
    }

    /// Sets a community's age policy.
    pub async fn set_age_policy(
        &mut self,
        community: CommunityId,
        policy: &AgePolicyRow,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "UPDATE communities SET age_question = $2, minimum_age = $3 WHERE id = $1")
            .bind(community.0).bind(&policy.age_question).bind(policy.minimum_age)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Records what joining told of a member's age.
    pub async fn set_member_age(
        &mut self,
        community: CommunityId,
        user: UserId,
        age: &MemberAgeRow,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "UPDATE community_members SET age_group = $3, minor_consent_at = $4, \
             sale_opt_in_at = $5 WHERE community_id = $1 AND user_id = $2")
            .bind(community.0).bind(user.0).bind(&age.age_group).bind(age.minor_consent_at)
            .bind(age.sale_opt_in_at).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// What joining recorded of a member's age.
    pub async fn member_age(
        &mut self,
        community: CommunityId,
        user: UserId,
    ) -> Result<Option<MemberAgeRow>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as::<_, MemberAgeRow>(
            "SELECT age_group, minor_consent_at, sale_opt_in_at FROM community_members \
             WHERE community_id = $1 AND user_id = $2")
            .bind(community.0).bind(user.0).fetch_optional(&mut **c).await?))
    }

    /// Records a parent's confirmed consent for `user` to join `community` (replacing an
    /// earlier one), with the hash of the secret of the link that withdraws it.
    pub async fn insert_parental_consent(
        &mut self,
        (community, user): (CommunityId, UserId),
        parent_email: &str,
        withdraw_hash: &[u8],
        at: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO parental_consents \
             (community_id, user_id, parent_email, confirmed_at, withdraw_hash) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (community_id, user_id) \
             DO UPDATE SET parent_email = excluded.parent_email, \
             confirmed_at = excluded.confirmed_at, withdraw_hash = excluded.withdraw_hash")
            .bind(community.0).bind(user.0).bind(parent_email).bind(at).bind(withdraw_hash)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// The child whose consent to join `community` the link with this secret's hash withdraws.
    pub async fn consent_withdrawn_by(
        &mut self,
        community: CommunityId,
        withdraw_hash: &[u8],
    ) -> Result<Option<UserId>, StoreError> {
        let row: Option<i64> = dispatch!(self, c => sqlx::query_scalar(
            "SELECT user_id FROM parental_consents \
             WHERE community_id = $1 AND withdraw_hash = $2")
            .bind(community.0).bind(withdraw_hash).fetch_optional(&mut **c).await?);
        Ok(row.map(UserId))
    }

    /// When a parent confirmed their consent for `user` to join `community`, if one did.
    pub async fn parental_consent(
        &mut self,
        community: CommunityId,
        user: UserId,
    ) -> Result<Option<i64>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_scalar(
            "SELECT confirmed_at FROM parental_consents WHERE community_id = $1 AND user_id = $2")
            .bind(community.0).bind(user.0).fetch_optional(&mut **c).await?))
    }

    /// Whether `user` told any community they are under 13, or a parent was asked (the audit
    /// log keeps that) or consented for them: a later, older answer does not undo it.
    pub async fn declared_under_13(&mut self, user: UserId) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT CAST(1 AS BIGINT) FROM community_members \
             WHERE user_id = $1 AND age_group = 'under_13' \
             UNION ALL SELECT CAST(1 AS BIGINT) FROM parental_consents WHERE user_id = $1 \
             UNION ALL SELECT CAST(1 AS BIGINT) FROM account_links WHERE user_id = $1 \
             AND purpose LIKE 'parental_consent:%' \
             UNION ALL SELECT CAST(1 AS BIGINT) FROM audit_log WHERE actor_id = $1 \
             AND action = 'consent.parental_requested' LIMIT 1")
            .bind(user.0).fetch_optional(&mut **c).await?);
        Ok(row.is_some())
    }

    /// How many times `user` had a parent asked to consent since `since` (milliseconds), as
    /// the audit log counts.
    pub async fn parents_asked_by(&mut self, user: UserId, since: i64) -> Result<i64, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE actor_id = $1 \
             AND action = 'consent.parental_requested' AND at >= $2")
            .bind(user.0).bind(since).fetch_one(&mut **c).await?))
    }

    /// The youngest age a community admitted before it last narrowed its ages, and until when
    /// (milliseconds), if it ever did.
    pub async fn earlier_ages(
        &mut self,
        community: CommunityId,
    ) -> Result<Option<(i32, i64)>, StoreError> {
        let row: Option<(Option<i32>, Option<i64>)> = dispatch!(self, c => sqlx::query_as(
            "SELECT earlier_minimum_age, earlier_ages_until FROM communities WHERE id = $1")
            .bind(community.0).fetch_optional(&mut **c).await?);
        Ok(row.and_then(|(minimum, until)| minimum.zip(until)))
    }

    /// Records that a community admitted from `minimum` until `until` (milliseconds).
    pub async fn set_earlier_ages(
        &mut self,
        community: CommunityId,
        minimum: i32,
        until: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "UPDATE communities SET earlier_minimum_age = $2, earlier_ages_until = $3 \
             WHERE id = $1")
            .bind(community.0).bind(minimum).bind(until)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// How many parents' consent links to `email` (as validated: lower case) still stand
    /// at `now`, from any child and community.
    pub async fn parent_links_to(&mut self, email: &str, now: i64) -> Result<i64, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM account_links WHERE purpose LIKE 'parental_consent:%' \
             AND email = $1 AND expires_at > $2")
            .bind(email).bind(now).fetch_one(&mut **c).await?))
    }

    /// Forgets the age groups a community's members gave, once it no longer asks.
    pub async fn forget_age_groups(&mut self, community: CommunityId) -> Result<u64, StoreError> {
        Ok(dispatch!(self, c => sqlx::query(
            "UPDATE community_members SET age_group = NULL \
             WHERE community_id = $1 AND age_group IS NOT NULL")
            .bind(community.0).execute(&mut **c).await?.rows_affected()))
    }

    /// Whether `community` holds anything in `column` of `table` (any row of it, for no
    /// column), whatever its age policy says now: members who joined under an earlier one
    /// keep what joining recorded. `table` must have a `community_id`; the names are the
    /// catalog's, never input.
    pub async fn community_fills(
        &mut self,
        community: CommunityId,
        (table, column): Unfilled,
    ) -> Result<bool, StoreError> {
        let filled = column
            .map(|column| format!(" AND {column} IS NOT NULL"))
            .unwrap_or_default();
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE community_id = $1{filled} \
             LIMIT 1) AS held"
        );
        let held: i64 = dispatch!(self, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(community.0).fetch_one(&mut **c).await?);
        Ok(held > 0)
    }
}
