//! The live schema, as the database itself reports it: the catalog test compares it with the
//! data catalog.

use crate::StoreError;
use crate::conn::{Conn, dispatch};

impl Conn<'_> {
    /// Every (table, column) of Hearth's own tables, migration bookkeeping excluded.
    pub async fn live_columns(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        let sql = match self.backend() {
            crate::Backend::Sqlite => {
                // Full-text indexes (virtual tables and the tables they keep their index in) are
                // indexes of a declared table, like B-tree indexes: not tables of their own.
                "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
                 AND m.name <> '_sqlx_migrations' \
                 AND NOT EXISTS (SELECT 1 FROM sqlite_master v \
                   WHERE v.type = 'table' AND v.sql LIKE 'CREATE VIRTUAL TABLE%' \
                   AND m.name IN (v.name, v.name || '_data', v.name || '_idx', \
                     v.name || '_content', v.name || '_docsize', v.name || '_config')) \
                 ORDER BY 1, 2"
            }
            crate::Backend::Postgres => {
                "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
                 ORDER BY 1, 2"
            }
        };
        let rows: Vec<(String, String)> =
            dispatch!(self, c => sqlx::query_as(sql).fetch_all(&mut **c).await?);
        Ok(rows)
    }

    /// Every foreign key of Hearth's own tables, as (table, column, referenced table, what
    /// happens on delete in SQL's spelling: `CASCADE`, `SET NULL`, `NO ACTION`, ...).
    pub async fn live_foreign_keys(
        &mut self,
    ) -> Result<Vec<(String, String, String, String)>, StoreError> {
        let sql = match self.backend() {
            crate::Backend::Sqlite => {
                "SELECT m.name, f.\"from\", f.\"table\", f.on_delete \
                 FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1, 2"
            }
            crate::Backend::Postgres => {
                "SELECT c.conrelid::regclass::TEXT, a.attname::TEXT, c.confrelid::regclass::TEXT, \
                 CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' \
                 WHEN 'r' THEN 'RESTRICT' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END \
                 FROM pg_constraint c JOIN pg_attribute a \
                 ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
                 WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace \
                 ORDER BY 1, 2"
            }
        };
        let rows: Vec<(String, String, String, String)> =
            dispatch!(self, c => sqlx::query_as(sql).fetch_all(&mut **c).await?);
        Ok(rows)
    }

    /// A trivial round trip.
    pub async fn ping(&mut self) -> Result<(), StoreError> {
        let _: (i32,) = dispatch!(self, c => sqlx::query_as("SELECT 1").fetch_one(&mut **c).await?);
        Ok(())
    }

    /// Runs SQL that is not part of Hearth's queries. For tests only: they use it to change
    /// the schema behind the catalog's back, and to probe the writer.
    pub async fn execute_unchecked(&mut self, sql: String) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.as_str()))
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Runs a query that is not part of Hearth's queries and returns the single number it
    /// selects. For tests only: they count rows behind the API.
    pub async fn count_unchecked(&mut self, sql: String) -> Result<i64, StoreError> {
        let (count,): (i64,) = dispatch!(self, c =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(&mut **c).await?);
        Ok(count)
    }
}
