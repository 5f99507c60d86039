//! Reading one person's rows of one kind of data for their copy, as a stream: the rows are
//! handed on one at a time, so that a copy of a hundred thousand messages never sits in
//! memory whole.

use crate::StoreError;
use crate::conn::{Backend, Conn, dispatch};
use crate::erasure::condition;
use futures_util::TryStreamExt;
use hearth_core::export::{Kind, Shown};
use hearth_core::{Timestamp, UserId};
use sqlx::Row;

/// One row, each column's value in the kind's column order as the bytes stored: text as
/// UTF-8, numbers as their digits, sealed text still sealed, and a credential as a marker
/// that it is there (its value is never read).
pub type ExportRow = Vec<Option<Vec<u8>>>;

/// Rows read at once from SQLite.
const PAGE: usize = 2000;

/// The rows of `kind` from `from` (inclusive) to `to` (exclusive), when the kind is dated.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    /// The first instant.
    pub from: Timestamp,
    /// The instant after the last.
    pub to: Timestamp,
}

/// Whether the person's rows of `kind` are selected by one column holding their id.
fn by_one_column(kind: &Kind) -> bool {
    matches!(
        kind.table.subject.links(),
        [hearth_core::catalog::PersonLink::Column(_)]
    )
}

/// The list of columns `sql` (a statement [`statement`] made) selects.
fn select_list(sql: &str) -> &str {
    let listed = sql.strip_prefix("SELECT ").unwrap_or(sql);
    listed.split(" FROM ").next().unwrap_or(listed)
}

/// The statement selecting the person's rows of `kind` (`$1` their id; `$2`, `$3` the range).
fn statement(backend: Backend, kind: &Kind, dated: bool) -> String {
    let columns: Vec<String> = kind
        .columns()
        .map(|(column, shown)| {
            let name = column.name;
            match (backend, shown) {
                (Backend::Sqlite, Shown::Held) => {
                    format!("CAST(CASE WHEN {name} IS NULL THEN NULL ELSE 'held' END AS BLOB)")
                }
                (Backend::Postgres, Shown::Held) => {
                    format!(
                        "CASE WHEN {name} IS NULL THEN NULL ELSE convert_to('held', 'UTF8') END"
                    )
                }
                (Backend::Sqlite, _) => format!("CAST({name} AS BLOB)"),
                (Backend::Postgres, Shown::Opened) => name.to_string(),
                (Backend::Postgres, _) => format!("convert_to({name}::TEXT, 'UTF8')"),
            }
        })
        .collect();
    let links: Vec<String> = kind
        .table
        .subject
        .links()
        .iter()
        .map(|link| condition(*link))
        .collect();
    let mut sql = format!(
        "SELECT {} FROM {} WHERE ({})",
        columns.join(", "),
        kind.table.name,
        links.join(" OR ")
    );
    if let (true, Some(column)) = (dated, kind.dated_by) {
        sql.push_str(&format!(" AND {column} >= $2 AND {column} < $3"));
    }
    sql
}

/// A copy of a person's data, as its row says.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ExportRecord {
    /// Its id; the file is `exports/<id>.zip`.
    pub id: i64,
    /// Whose copy it is.
    pub user_id: i64,
    /// The access request it answers.
    pub request_id: i64,
    /// `preparing`, `ready` or `failed`.
    pub state: String,
    /// The first instant of what dated data it covers; none: from the start.
    pub range_from: Option<i64>,
    /// The instant after the last; none: up to when it was made.
    pub range_to: Option<i64>,
    /// Its size, once ready.
    pub bytes: Option<i64>,
    /// The SHA-256 of the file, hex, once ready.
    pub sha256: Option<String>,
    /// Why it could not be made, in plain words.
    pub error: Option<String>,
    /// When it was asked for.
    pub created_at: i64,
    /// When it was ready.
    pub ready_at: Option<i64>,
    /// When it stops being offered and is deleted.
    pub expires_at: Option<i64>,
}

const EXPORT_COLUMNS: &str = "id, user_id, request_id, state, range_from, range_to, bytes, \
                              sha256, error, created_at, ready_at, expires_at";

impl Conn<'_> {
    /// Records a copy being prepared.
    pub async fn insert_export(&mut self, export: &ExportRecord) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO exports (id, user_id, request_id, state, range_from, range_to, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(export.id).bind(export.user_id).bind(export.request_id).bind(&export.state)
            .bind(export.range_from).bind(export.range_to).bind(export.created_at)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// The person's copy still being made, if any: one at a time is enough.
    pub async fn preparing_export_of(
        &mut self,
        user: UserId,
    ) -> Result<Option<ExportRecord>, StoreError> {
        let sql = format!(
            "SELECT {EXPORT_COLUMNS} FROM exports WHERE user_id = $1 AND state = 'preparing' \
             ORDER BY created_at DESC LIMIT 1"
        );
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, ExportRecord>(sqlx::AssertSqlSafe(sql))
            .bind(user.0).fetch_optional(&mut **c).await?),
        )
    }

    /// Marks copies still being made since before `before` as failed: their job died with
    /// its node, or gave up.
    pub async fn fail_stalled_exports(
        &mut self,
        before: Timestamp,
        error: &str,
    ) -> Result<u64, StoreError> {
        // Their requests show why, so that the admins' inbox offers to run them again.
        dispatch!(self, c => sqlx::query(
            "UPDATE privacy_requests SET failure = $2 WHERE state = 'in_progress' AND id IN \
             (SELECT request_id FROM exports WHERE state = 'preparing' AND created_at < $1)")
            .bind(before.0).bind(format!("The copy could not be made: {error}"))
            .execute(&mut **c).await?.rows_affected());
        Ok(dispatch!(self, c => sqlx::query(
            "UPDATE exports SET state = 'failed', error = $2 \
             WHERE state = 'preparing' AND created_at < $1")
            .bind(before.0).bind(error).execute(&mut **c).await?.rows_affected()))
    }

    /// The ids of every copy on record (few: each lives a week).
    pub async fn all_export_ids(&mut self) -> Result<Vec<i64>, StoreError> {
        Ok(
            dispatch!(self, c => sqlx::query_scalar("SELECT id FROM exports")
            .fetch_all(&mut **c).await?),
        )
    }

    /// The copy with this id.
    pub async fn export(&mut self, id: i64) -> Result<Option<ExportRecord>, StoreError> {
        let sql = format!("SELECT {EXPORT_COLUMNS} FROM exports WHERE id = $1");
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, ExportRecord>(sqlx::AssertSqlSafe(sql))
            .bind(id).fetch_optional(&mut **c).await?),
        )
    }

    /// The newest copy made for the request `request`.
    pub async fn export_for_request(
        &mut self,
        request: i64,
    ) -> Result<Option<ExportRecord>, StoreError> {
        let sql = format!(
            "SELECT {EXPORT_COLUMNS} FROM exports WHERE request_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        );
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, ExportRecord>(sqlx::AssertSqlSafe(sql))
            .bind(request).fetch_optional(&mut **c).await?),
        )
    }

    /// A person's copies, newest first.
    pub async fn exports_of(&mut self, user: UserId) -> Result<Vec<ExportRecord>, StoreError> {
        let sql = format!(
            "SELECT {EXPORT_COLUMNS} FROM exports WHERE user_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT 20"
        );
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, ExportRecord>(sqlx::AssertSqlSafe(sql))
            .bind(user.0).fetch_all(&mut **c).await?),
        )
    }

    /// Marks a copy ready for download until `expires_at`; false when it was not preparing.
    pub async fn set_export_ready(
        &mut self,
        id: i64,
        bytes: i64,
        sha256: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "UPDATE exports SET state = 'ready', bytes = $2, sha256 = $3, ready_at = $4, \
             expires_at = $5, error = NULL WHERE id = $1 AND state = 'preparing'")
            .bind(id).bind(bytes).bind(sha256).bind(now.0).bind(expires_at.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(done > 0)
    }

    /// Marks a copy as failed, with why; or, with `failed` false, notes why the latest try
    /// failed while it is tried again.
    pub async fn note_export_error(
        &mut self,
        id: i64,
        error: &str,
        failed: bool,
    ) -> Result<(), StoreError> {
        let state = if failed { "failed" } else { "preparing" };
        dispatch!(self, c => sqlx::query(
            "UPDATE exports SET state = $2, error = $3 WHERE id = $1 AND state <> 'ready'")
            .bind(id).bind(state).bind(error).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// The copies whose offer ended before `now` (ready ones past their expiry, failed ones
    /// a week old): their files and rows are deleted.
    pub async fn lapsed_exports(
        &mut self,
        now: Timestamp,
        failed_before: Timestamp,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_scalar(
            "SELECT id FROM exports WHERE (state = 'ready' AND expires_at < $1) \
             OR (state = 'failed' AND created_at < $2) ORDER BY id LIMIT 1000")
            .bind(now.0).bind(failed_before.0).fetch_all(&mut **c).await?))
    }

    /// Deletes the rows of copies.
    pub async fn delete_exports(&mut self, ids: &[i64]) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "DELETE FROM exports WHERE id IN ({})",
            crate::conn::placeholders(1, ids.len())
        );
        Ok(dispatch!(self, c => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(*id);
            }
            query.execute(&mut **c).await?.rows_affected()
        }))
    }

    /// The ids of a person's copies (their files go when the person does).
    pub async fn export_ids_of(&mut self, user: UserId) -> Result<Vec<i64>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_scalar(
            "SELECT id FROM exports WHERE user_id = $1")
            .bind(user.0).fetch_all(&mut **c).await?))
    }

    /// Hands `each` every row of `kind` that is `person`'s, within `range` when the kind is
    /// dated; returns how many there were.
    pub async fn export_rows(
        &mut self,
        kind: &Kind,
        person: UserId,
        range: Option<Range>,
        mut each: impl FnMut(ExportRow) -> Result<(), StoreError> + Send,
    ) -> Result<u64, StoreError> {
        let dated = range.is_some() && kind.dated_by.is_some();
        let sql = statement(self.backend(), kind, dated);
        let width = kind.table.columns.len();
        let mut count = 0;
        let started = std::time::Instant::now();
        let backend = self.backend();
        dispatch!(self, c => {
            if backend == Backend::Sqlite && by_one_column(kind) {
                // SQLite hands rows over from a thread of its own, one wake-up each: pages of
                // rows, in rowid order, cost one per page instead. Only where one indexed
                // column selects the rows: it yields them in rowid order as they are, where
                // several links (or a list from another table) would be sorted again for
                // every page.
                let next = if dated { 4 } else { 2 };
                let paged = format!(
                    "{} AND rowid > ${next} ORDER BY rowid LIMIT {PAGE}",
                    sql.replacen(" FROM ", ", rowid FROM ", 1)
                );
                let mut after = i64::MIN;
                loop {
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(paged.clone())).bind(person.0);
                    if let (true, Some(range)) = (dated, range) {
                        query = query.bind(range.from.0).bind(range.to.0);
                    }
                    let rows = query.bind(after).fetch_all(&mut **c).await?;
                    for row in &rows {
                        let values = (0..width)
                            .map(|i| row.try_get::<Option<Vec<u8>>, _>(i))
                            .collect::<Result<ExportRow, _>>()?;
                        after = row.try_get::<i64, _>(width)?;
                        each(values)?;
                        count += 1;
                    }
                    if rows.len() < PAGE {
                        break;
                    }
                }
            } else if backend == Backend::Sqlite {
                // Several links, or a list from another table: the matching rowids first, in
                // one row (eight bytes or so each), then the rows themselves a page of rowids
                // at a time. The cost follows the person's rows, not the table's, and the
                // reader is woken once per page rather than once per row.
                let ids_sql = format!(
                    "SELECT group_concat(rowid) FROM ({})",
                    sql.replacen(&format!("SELECT {} FROM ", select_list(&sql)), "SELECT rowid FROM ", 1)
                );
                let mut query = sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(ids_sql))
                    .bind(person.0);
                if let (true, Some(range)) = (dated, range) {
                    query = query.bind(range.from.0).bind(range.to.0);
                }
                let listed = query.fetch_one(&mut **c).await?.unwrap_or_default();
                let mut ids: Vec<i64> = listed
                    .split(',')
                    .filter(|id| !id.is_empty())
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .map_err(|_| StoreError::Corrupt("a rowid that is no number".into()))?;
                ids.sort_unstable();
                let select = select_list(&sql).to_string();
                for page in ids.chunks(PAGE) {
                    // The ids are numbers read back from the table: nothing to escape.
                    let list: Vec<String> = page.iter().map(i64::to_string).collect();
                    let paged = format!(
                        "SELECT {select} FROM {} WHERE rowid IN ({}) ORDER BY rowid",
                        kind.table.name,
                        list.join(",")
                    );
                    let rows = sqlx::query(sqlx::AssertSqlSafe(paged))
                        .fetch_all(&mut **c)
                        .await?;
                    for row in &rows {
                        let values = (0..width)
                            .map(|i| row.try_get::<Option<Vec<u8>>, _>(i))
                            .collect::<Result<ExportRow, _>>()?;
                        each(values)?;
                        count += 1;
                    }
                }
            } else {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(person.0);
                if let (true, Some(range)) = (dated, range) {
                    query = query.bind(range.from.0).bind(range.to.0);
                }
                let mut rows = query.fetch(&mut **c);
                while let Some(row) = rows.try_next().await? {
                    let values = (0..width)
                        .map(|i| row.try_get::<Option<Vec<u8>>, _>(i))
                        .collect::<Result<ExportRow, _>>()?;
                    each(values)?;
                    count += 1;
                }
            }
        });
        // The statement holds no personal data: table and column names only.
        tracing::debug!(
            kind = kind.name(),
            rows = count,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "a kind of data copied"
        );
        Ok(count)
    }
}

impl Conn<'_> {
    /// The catalog's tables holding at least one row about the person: what a request to
    /// know reports categories from. One indexed probe per table.
    pub async fn tables_holding(
        &mut self,
        user: UserId,
    ) -> Result<Vec<&'static hearth_core::catalog::Table>, StoreError> {
        let mut held = Vec::new();
        for table in hearth_core::catalog::TABLES {
            let links: Vec<String> = table
                .subject
                .links()
                .iter()
                .map(|link| condition(*link))
                .collect();
            if links.is_empty() {
                continue;
            }
            let sql = format!(
                "SELECT 1 FROM {} WHERE ({}) LIMIT 1",
                table.name,
                links.join(" OR ")
            );
            let found = dispatch!(self, c => sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(user.0).fetch_optional(&mut **c).await?.is_some());
            if found {
                held.push(table);
            }
        }
        Ok(held)
    }

    /// The categories of the custom profile fields the person answered.
    pub async fn answered_field_categories(
        &mut self,
        user: UserId,
    ) -> Result<Vec<hearth_core::catalog::Category>, StoreError> {
        let codes: Vec<(String,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT DISTINCT f.category FROM profile_values v \
             JOIN profile_fields f ON f.id = v.field_id WHERE v.user_id = $1")
            .bind(user.0).fetch_all(&mut **c).await?);
        Ok(codes
            .iter()
            .filter_map(|(code,)| hearth_core::catalog::Category::from_code(code))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_never_read_and_dated_kinds_take_a_range() {
        let kinds = hearth_core::export::kinds();
        let kind = |name: &str| kinds.iter().find(|k| k.name() == name);
        let Some(users) = kind("users") else {
            panic!("no users kind")
        };
        let sql = statement(Backend::Postgres, users, true);
        assert!(sql.contains("CASE WHEN password_hash IS NULL THEN NULL ELSE convert_to('held'"));
        assert!(!sql.contains("$2"), "the account is in every copy: {sql}");
        let Some(messages) = kind("messages") else {
            panic!("no messages kind")
        };
        let sql = statement(Backend::Sqlite, messages, true);
        assert!(
            sql.ends_with("AND created_at >= $2 AND created_at < $3"),
            "{sql}"
        );
    }
}
