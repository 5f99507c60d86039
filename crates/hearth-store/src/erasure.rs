//! Erasing a person, step by step as the data catalog's erasure plan says: their own rows go,
//! their messages stay as tombstones without body or author, their revisions go, and links to
//! them elsewhere (the audit log, invitations, channels they made) are cleared.

use crate::StoreError;
use crate::conn::{Backend, Conn, dispatch};
use crate::writer::Tx;
use hearth_core::UserId;
use hearth_core::catalog::{self, ErasureAction, ErasureStep, PersonLink};
use std::sync::OnceLock;

/// The condition selecting the rows of a table that `link` ties to the person bound as `$1`.
pub(crate) fn condition(link: PersonLink) -> String {
    match link {
        PersonLink::Column(column) => format!("{column} = $1"),
        PersonLink::InList(column) => {
            format!("(',' || {column} || ',') LIKE ('%,' || CAST($1 AS TEXT) || ',%')")
        }
        PersonLink::ColumnWhen {
            column,
            kind_column,
            kind,
        } => format!("({column} = $1 AND {kind_column} = '{kind}')"),
        PersonLink::Via { column, table } => {
            let links = catalog::table(table).map_or(&[][..], |t| t.subject.links());
            let inner: Vec<String> = links.iter().map(|l| condition(*l)).collect();
            if inner.is_empty() {
                return "FALSE".to_string();
            }
            format!(
                "{column} IN (SELECT id FROM {table} WHERE {})",
                inner.join(" OR ")
            )
        }
    }
}

/// The statement carrying out one step of the plan; its only parameter is the person's id.
fn statement(step: &ErasureStep) -> String {
    let rows = condition(step.link);
    match &step.action {
        ErasureAction::DeleteRows => format!("DELETE FROM {} WHERE {rows}", step.table),
        ErasureAction::Clear(columns) => {
            let set: Vec<String> = columns.iter().map(|c| format!("{c} = NULL")).collect();
            format!("UPDATE {} SET {} WHERE {rows}", step.table, set.join(", "))
        }
    }
}

/// How the plan's step deleting a person's search rows begins.
const SEARCH_DELETE: &str = "DELETE FROM message_search WHERE";

/// Keeps the text of the person's search rows for the index's purge, before the rows go
/// (followed by the step's own condition).
const STASH_SEARCH: &str =
    "INSERT INTO search_purge (message_id, body) SELECT message_id, body FROM message_search WHERE";

/// The plan's statements, built once from the catalog (whose names are all constants).
fn statements() -> &'static [String] {
    static STATEMENTS: OnceLock<Vec<String>> = OnceLock::new();
    STATEMENTS.get_or_init(|| catalog::erasure_plan().iter().map(statement).collect())
}

impl Conn<'_> {
    /// Runs the erasure plan for `id`; returns whether their account row was there to go.
    /// Locks the person's account row for the rest of the transaction (PostgreSQL; SQLite's
    /// single writer needs nothing): an erasure takes it before it reads anything about them,
    /// so a write for the person on another node either committed before (and is seen) or
    /// waits and then finds no account.
    pub async fn lock_person(&mut self, id: UserId) -> Result<(), StoreError> {
        if self.backend() == Backend::Postgres {
            dispatch!(self, c => sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
                .bind(id.0).execute(&mut **c).await?.rows_affected());
        }
        Ok(())
    }

    /// Whether erased messages' words still wait to leave SQLite's search index: a read, so
    /// that a sweep with nothing to purge costs the writer nothing.
    pub async fn search_purge_pending(&mut self) -> Result<bool, StoreError> {
        if self.backend() != Backend::Sqlite {
            return Ok(false);
        }
        let pending: Option<i64> = dispatch!(self, c => sqlx::query_scalar(
            "SELECT message_id FROM search_purge LIMIT 1")
            .fetch_optional(&mut **c).await?);
        Ok(pending.is_some())
    }

    async fn erase_person(
        &mut self,
        id: UserId,
        progress: Option<&hearth_core::progress::Progress>,
    ) -> Result<bool, StoreError> {
        // On PostgreSQL, lock the account row first: a post, edit or token being written for
        // the person on another node holds a key-share lock on it (its foreign key) and is
        // waited for, so the steps below see what it wrote; one that comes later waits for
        // this erasure and then finds no account to write for. Without the lock, a message
        // committed between the steps and the account row's delete would keep its body.
        if self.backend() == Backend::Postgres {
            dispatch!(self, c => sqlx::query(
                "SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
                .bind(id.0).execute(&mut **c).await?.rows_affected());
        }
        let mut account_rows = 0;
        let steps = statements();
        let plan = progress
            .map(|_| catalog::erasure_plan())
            .unwrap_or_default();
        for (done, sql) in steps.iter().enumerate() {
            if let Some(progress) = progress {
                progress(
                    done,
                    steps.len(),
                    plan.get(done).map_or("", |step| step.table),
                );
            }
            let started = std::time::Instant::now();
            // SQLite's full-text index needs a row's old text to take its words out, a
            // quarter of a millisecond a message: the text waits in search_purge instead, and
            // leaves the index in short batches after this transaction (`purge_search_batch`).
            if self.backend() == Backend::Sqlite
                && let Some(rows) = sql.strip_prefix(SEARCH_DELETE)
            {
                // The same rows the step deletes, by the same condition.
                let stash = format!("{STASH_SEARCH}{rows}");
                dispatch!(self, c => sqlx::query(sqlx::AssertSqlSafe(stash))
                    .bind(id.0).execute(&mut **c).await?.rows_affected());
            }
            let statement = sqlx::AssertSqlSafe(sql.as_str());
            account_rows = dispatch!(self, c => sqlx::query(statement)
                .bind(id.0).execute(&mut **c).await?.rows_affected());
            // The statements hold no personal data: table and column names only.
            tracing::debug!(
                step = %sql,
                rows = account_rows,
                ms = started.elapsed().as_secs_f64() * 1000.0,
                "erasure step"
            );
        }
        // The last step deletes the account row itself.
        Ok(account_rows > 0)
    }
}

impl Tx {
    /// Takes up to `limit` erased messages' words out of SQLite's full-text index (and
    /// forgets their text); returns how many. Truncates the journal after the last batch, so
    /// that no page of the text lingers in the write-ahead log. Nothing to do on PostgreSQL.
    pub async fn purge_search_batch(&mut self, limit: i64) -> Result<u64, StoreError> {
        if self.conn().backend() != Backend::Sqlite {
            return Ok(0);
        }
        let purged = {
            let mut conn = self.conn();
            let purged = dispatch!(conn, c => sqlx::query(
                "INSERT INTO message_search_index (message_search_index, rowid, body) \
                 SELECT 'delete', message_id, body FROM search_purge \
                 ORDER BY message_id LIMIT $1")
                .bind(limit).execute(&mut **c).await?.rows_affected());
            dispatch!(conn, c => sqlx::query(
                "DELETE FROM search_purge WHERE message_id IN \
                 (SELECT message_id FROM search_purge ORDER BY message_id LIMIT $1)")
                .bind(limit).execute(&mut **c).await?.rows_affected());
            purged
        };
        if purged < u64::try_from(limit).unwrap_or(u64::MAX) {
            self.truncate_journal_after_commit();
        }
        Ok(purged)
    }

    /// Deletes a person's account and erases what they wrote, as the data catalog declares:
    /// their own rows (sessions, tokens, memberships, revisions) go, their messages stay as
    /// tombstones from "Deleted user" so that others' replies keep their threads, and links
    /// to them elsewhere are cleared. Returns whether there was such an account. It refuses
    /// with [`StoreError::ForeignKeyViolation`] while they own a community: ownership passes
    /// on first. Soon after the commit, the journal is truncated, so that no page as it was
    /// before lingers in SQLite's write-ahead log.
    pub async fn delete_user(&mut self, id: UserId) -> Result<bool, StoreError> {
        self.delete_user_telling(id, None).await
    }

    /// [`Tx::delete_user`], telling `progress` of each step.
    pub async fn delete_user_telling(
        &mut self,
        id: UserId,
        progress: Option<&hearth_core::progress::Progress>,
    ) -> Result<bool, StoreError> {
        let deleted = self.conn().erase_person(id, progress).await?;
        if deleted {
            self.truncate_journal_after_commit();
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_ends_with_the_account_row_and_finds_messages_before_clearing_them() {
        let all = statements();
        assert_eq!(
            all.last().map(String::as_str),
            Some("DELETE FROM users WHERE id = $1")
        );
        let events = all
            .iter()
            .position(|s| s.contains("FROM events WHERE object_id IN"));
        let messages = all
            .iter()
            .position(|s| s.starts_with("UPDATE messages SET"));
        assert!(events.is_some() && events < messages, "{all:?}");
        assert!(all.contains(
            &"UPDATE messages SET author_id = NULL, body = NULL WHERE author_id = $1".to_string()
        ));
    }
}
