//! Communities' privacy statements, every published version, and members' acknowledgements.

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use hearth_core::{CommunityId, UserId};

/// A published version of a community's privacy statement.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StatementRow {
    /// Its id.
    pub id: i64,
    /// The community it is for.
    pub community_id: i64,
    /// 1 for the first published, then one more each time.
    pub version: i32,
    /// Hearth's own page, as Markdown.
    pub body: Option<String>,
    /// Or a link to the owner's own policy.
    pub url: Option<String>,
    /// Who published it, while they have an account.
    pub published_by: Option<i64>,
    /// When.
    pub published_at: i64,
}

const COLUMNS: &str = "id, community_id, version, body, url, published_by, published_at";

/// What the statement's template needs of a community beyond the catalog.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StatementSettings {
    /// Where people write about their privacy.
    pub privacy_contact: Option<String>,
    /// Whether the statement publishes last year's request figures.
    pub publish_request_metrics: bool,
}

impl Conn<'_> {
    /// Publishes `row` as the community's next version: its number is one past the latest.
    /// Returns the version given.
    pub async fn publish_statement(&mut self, row: &StatementRow) -> Result<i32, StoreError> {
        let latest: Option<i32> = dispatch!(self, c => sqlx::query_scalar(
            "SELECT MAX(version) FROM privacy_statements WHERE community_id = $1")
            .bind(row.community_id).fetch_one(&mut **c).await?);
        let version = latest.unwrap_or(0) + 1;
        dispatch!(self, c => sqlx::query(
            "INSERT INTO privacy_statements \
             (id, community_id, version, body, url, published_by, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(row.id).bind(row.community_id).bind(version).bind(&row.body).bind(&row.url)
            .bind(row.published_by).bind(row.published_at)
            .execute(&mut **c).await?.rows_affected());
        Ok(version)
    }

    /// A community's statement: `version`, or the latest when `None`.
    pub async fn statement(
        &mut self,
        community: CommunityId,
        version: Option<i32>,
    ) -> Result<Option<StatementRow>, StoreError> {
        let sql = match version {
            Some(_) => format!(
                "SELECT {COLUMNS} FROM privacy_statements \
                 WHERE community_id = $1 AND version = $2"
            ),
            None => format!(
                "SELECT {COLUMNS} FROM privacy_statements WHERE community_id = $1 \
                 AND version >= $2 ORDER BY version DESC LIMIT 1"
            ),
        };
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, StatementRow>(sqlx::AssertSqlSafe(sql))
            .bind(community.0).bind(version.unwrap_or(0)).fetch_optional(&mut **c).await?),
        )
    }

    /// Every published version of a community's statement, newest first, without their text.
    pub async fn statement_versions(
        &mut self,
        community: CommunityId,
    ) -> Result<Vec<StatementRow>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as::<_, StatementRow>(
            "SELECT id, community_id, version, NULL AS body, url, published_by, published_at \
             FROM privacy_statements WHERE community_id = $1 ORDER BY version DESC")
            .bind(community.0).fetch_all(&mut **c).await?))
    }

    /// Records that `user` acknowledged statement `id`; a second acknowledgement keeps the
    /// first's time. Returns whether this one was new.
    pub async fn acknowledge_statement(
        &mut self,
        id: i64,
        user: UserId,
        at: i64,
    ) -> Result<bool, StoreError> {
        let added = dispatch!(self, c => sqlx::query(
            "INSERT INTO statement_acknowledgements (statement_id, user_id, acknowledged_at) \
             VALUES ($1, $2, $3) ON CONFLICT (statement_id, user_id) DO NOTHING")
            .bind(id).bind(user.0).bind(at).execute(&mut **c).await?.rows_affected());
        Ok(added == 1)
    }

    /// When `user` acknowledged statement `id`, if they did.
    pub async fn acknowledged_at(
        &mut self,
        id: i64,
        user: UserId,
    ) -> Result<Option<i64>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_scalar(
            "SELECT acknowledged_at FROM statement_acknowledgements \
             WHERE statement_id = $1 AND user_id = $2")
            .bind(id).bind(user.0).fetch_optional(&mut **c).await?))
    }

    /// The latest statements of the communities `user` belongs to that they have not
    /// acknowledged, oldest community first: community id, name and version. One query, as
    /// every page a member opens asks it.
    pub async fn statements_to_acknowledge(
        &mut self,
        user: UserId,
    ) -> Result<Vec<(i64, String, i32)>, StoreError> {
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, (i64, String, i32)>(
            "SELECT s.community_id, c.name, s.version FROM privacy_statements s \
             JOIN community_members m ON m.community_id = s.community_id AND m.user_id = $1 \
             JOIN communities c ON c.id = s.community_id \
             WHERE s.version = (SELECT MAX(version) FROM privacy_statements l \
                                WHERE l.community_id = s.community_id) \
             AND NOT EXISTS (SELECT 1 FROM statement_acknowledgements a \
                             WHERE a.statement_id = s.id AND a.user_id = $1) \
             ORDER BY s.community_id")
            .bind(user.0).fetch_all(&mut **c).await?),
        )
    }

    /// The statement settings of a community.
    pub async fn statement_settings(
        &mut self,
        community: CommunityId,
    ) -> Result<Option<StatementSettings>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as::<_, StatementSettings>(
            "SELECT privacy_contact, publish_request_metrics FROM communities WHERE id = $1")
            .bind(community.0).fetch_optional(&mut **c).await?))
    }

    /// Sets a community's statement settings; returns whether it exists.
    pub async fn set_statement_settings(
        &mut self,
        community: CommunityId,
        settings: &StatementSettings,
    ) -> Result<bool, StoreError> {
        let changed = dispatch!(self, c => sqlx::query(
            "UPDATE communities SET privacy_contact = $2, publish_request_metrics = $3 \
             WHERE id = $1")
            .bind(community.0).bind(&settings.privacy_contact)
            .bind(settings.publish_request_metrics)
            .execute(&mut **c).await?.rows_affected());
        Ok(changed == 1)
    }

    /// The digest of the generated statement of `scope` (0: this Hearth's own; else a
    /// community's id) as last seen, and since when it reads so.
    pub async fn generated_statement(
        &mut self,
        scope: i64,
    ) -> Result<Option<(Vec<u8>, i64)>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_as::<_, (Vec<u8>, i64)>(
            "SELECT digest, changed_at FROM generated_statements WHERE scope = $1")
            .bind(scope).fetch_optional(&mut **c).await?))
    }

    /// Records that the generated statement of `scope` reads as `digest` from `at`, unless it
    /// already did; returns since when it reads so.
    pub async fn note_generated_statement(
        &mut self,
        scope: i64,
        digest: &[u8],
        at: i64,
    ) -> Result<i64, StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO generated_statements (scope, digest, changed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (scope) DO UPDATE SET digest = excluded.digest, \
             changed_at = excluded.changed_at \
             WHERE generated_statements.digest <> excluded.digest")
            .bind(scope).bind(digest).bind(at)
            .execute(&mut **c).await?.rows_affected());
        let since: i64 = dispatch!(self, c => sqlx::query_scalar(
            "SELECT changed_at FROM generated_statements WHERE scope = $1")
            .bind(scope).fetch_one(&mut **c).await?);
        Ok(since)
    }
}
