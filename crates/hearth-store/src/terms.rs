//! The platform's legal terms, every published version, and communities' acceptances.

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use hearth_core::{CommunityId, UserId};

/// A published version of one of the platform's legal documents.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TermsRow {
    /// Its id.
    pub id: i64,
    /// `terms`, `sla` or `dpa`.
    pub kind: String,
    /// 1 for the first of its kind, then one more each time.
    pub version: i32,
    /// Its text, as Markdown (empty in listings).
    pub body: String,
    /// Who published it, while they have an account.
    pub published_by: Option<i64>,
    /// When.
    pub published_at: i64,
}

/// A community's acceptance of a version, with who accepted it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AcceptanceRow {
    /// The version accepted.
    pub terms_id: i64,
    /// Its kind.
    pub kind: String,
    /// Its number.
    pub version: i32,
    /// Who accepted it, while they have an account.
    pub accepted_by: Option<i64>,
    /// Their username then.
    pub username: Option<String>,
    /// When.
    pub accepted_at: i64,
}

/// The newest version of each kind: the ones in force.
const IN_FORCE: &str =
    "t.version = (SELECT MAX(n.version) FROM legal_terms n WHERE n.kind = t.kind)";

impl Conn<'_> {
    /// Publishes `row` as the next version of its kind; returns the version given.
    pub async fn publish_terms(&mut self, row: &TermsRow) -> Result<i32, StoreError> {
        let latest: Option<i32> = dispatch!(self, c => sqlx::query_scalar(
            "SELECT MAX(version) FROM legal_terms WHERE kind = $1")
            .bind(&row.kind).fetch_one(&mut **c).await?);
        let version = latest.unwrap_or(0) + 1;
        dispatch!(self, c => sqlx::query(
            "INSERT INTO legal_terms (id, kind, version, body, published_by, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(row.id).bind(&row.kind).bind(version).bind(&row.body)
            .bind(row.published_by).bind(row.published_at)
            .execute(&mut **c).await?.rows_affected());
        Ok(version)
    }

    /// The versions in force, one per kind published, with their text.
    pub async fn terms_in_force(&mut self) -> Result<Vec<TermsRow>, StoreError> {
        let sql = format!(
            "SELECT t.id, t.kind, t.version, t.body, t.published_by, t.published_at \
             FROM legal_terms t WHERE {IN_FORCE} ORDER BY t.kind"
        );
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, TermsRow>(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut **c).await?),
        )
    }

    /// One version, with its text.
    pub async fn terms(&mut self, id: i64) -> Result<Option<TermsRow>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as::<_, TermsRow>(
            "SELECT id, kind, version, body, published_by, published_at \
             FROM legal_terms WHERE id = $1")
            .bind(id).fetch_optional(&mut **c).await?))
    }

    /// Every version published, newest first within each kind, without their text.
    pub async fn terms_versions(&mut self) -> Result<Vec<TermsRow>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as::<_, TermsRow>(
            "SELECT id, kind, version, '' AS body, published_by, published_at \
             FROM legal_terms ORDER BY kind, version DESC")
            .fetch_all(&mut **c).await?))
    }

    /// The versions in force that `community` has not accepted, without their text.
    pub async fn terms_due(&mut self, community: CommunityId) -> Result<Vec<TermsRow>, StoreError> {
        let sql = format!(
            "SELECT t.id, t.kind, t.version, '' AS body, t.published_by, t.published_at \
             FROM legal_terms t WHERE {IN_FORCE} AND NOT EXISTS (SELECT 1 FROM \
             terms_acceptances a WHERE a.terms_id = t.id AND a.community_id = $1) \
             ORDER BY t.kind"
        );
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, TermsRow>(sqlx::AssertSqlSafe(sql))
            .bind(community.0).fetch_all(&mut **c).await?),
        )
    }

    /// Records that `user` accepted version `terms` for `community`; accepting again keeps the
    /// first record. Returns whether this one was new.
    pub async fn accept_terms(
        &mut self,
        terms: i64,
        community: CommunityId,
        user: UserId,
        at: i64,
    ) -> Result<bool, StoreError> {
        let added = dispatch!(self, c => sqlx::query(
            "INSERT INTO terms_acceptances (terms_id, community_id, accepted_by, accepted_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (terms_id, community_id) DO NOTHING")
            .bind(terms).bind(community.0).bind(user.0).bind(at)
            .execute(&mut **c).await?.rows_affected());
        Ok(added == 1)
    }

    /// Every acceptance on record for `community`, newest first.
    pub async fn terms_acceptances(
        &mut self,
        community: CommunityId,
    ) -> Result<Vec<AcceptanceRow>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as::<_, AcceptanceRow>(
            "SELECT a.terms_id, t.kind, t.version, a.accepted_by, u.username, a.accepted_at \
             FROM terms_acceptances a JOIN legal_terms t ON t.id = a.terms_id \
             LEFT JOIN users u ON u.id = a.accepted_by \
             WHERE a.community_id = $1 ORDER BY a.accepted_at DESC, t.kind")
            .bind(community.0).fetch_all(&mut **c).await?))
    }

    /// How many communities have accepted each version, by its id.
    pub async fn terms_acceptance_counts(&mut self) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as::<_, (i64, i64)>(
            "SELECT terms_id, COUNT(*) FROM terms_acceptances GROUP BY terms_id")
            .fetch_all(&mut **c).await?))
    }
}
