//! Full-text search over messages: SQLite's FTS5 and PostgreSQL's text search behind one
//! query. The index (`message_search`) is written in the same transaction as the message, so
//! an edited or deleted message's old words cannot be found a moment later.

use crate::StoreError;
use crate::conn::{Backend, Conn, dispatch};
use hearth_core::{ChannelId, CommunityId, MessageId, UserId};

/// Marks the start of a matched word in a snippet (a private-use character, which text
/// people type does not otherwise carry meaning for).
pub const HIT_START: char = '\u{e000}';
/// Marks the end of a matched word in a snippet.
pub const HIT_END: char = '\u{e001}';

/// Where to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchScope {
    /// Everything the searcher may read.
    Everywhere,
    /// One community's channels.
    Community(CommunityId),
    /// The searcher's direct conversations.
    Direct,
}

/// One message found, with a snippet of its text around the matches (marked with
/// [`HIT_START`] and [`HIT_END`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// The message.
    pub message: MessageId,
    /// Its text around the matches.
    pub snippet: String,
}

/// At most this many words of a query are searched for.
const MAX_TERMS: usize = 16;

/// A message's text as the index keeps it: without the snippet marks, which an author could
/// otherwise type to fake highlights in other people's results.
pub fn searchable_text(body: &str) -> std::borrow::Cow<'_, str> {
    if body.contains([HIT_START, HIT_END]) {
        body.replace([HIT_START, HIT_END], "").into()
    } else {
        body.into()
    }
}

/// The words searched for: at most [`MAX_TERMS`], each without quotes, joined by spaces.
fn query_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|word| word.replace('"', ""))
        .filter(|word| !word.is_empty())
        .take(MAX_TERMS)
        .collect()
}

/// The query as an FTS5 expression: each word a quoted phrase, all of them required, so that
/// nothing a person types is read as FTS5 syntax (which would otherwise fail on a stray
/// quote or asterisk, or search columns by name).
fn fts5_query(text: &str) -> String {
    query_words(text)
        .iter()
        .map(|word| format!("\"{word}\""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The channels a person may read: direct conversations and private channels they belong to,
/// and the public channels of their communities. `$1` is the person.
const READABLE: &str = "SELECT c.id FROM channels c \
     LEFT JOIN community_members m ON m.community_id = c.community_id AND m.user_id = $1 \
     LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = $1 \
     WHERE (c.community_id IS NULL AND cm.user_id IS NOT NULL) \
        OR (m.user_id IS NOT NULL AND (c.kind = 'public' OR cm.user_id IS NOT NULL))";

impl Conn<'_> {
    /// Puts a message's text in the search index: a new message's, or an edited one's in
    /// place of what was there (if anything was).
    pub async fn index_message(
        &mut self,
        id: MessageId,
        channel: ChannelId,
        author: UserId,
        body: &str,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO message_search (message_id, channel_id, author_id, body) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (message_id) DO UPDATE SET body = excluded.body")
            .bind(id.0).bind(channel.0).bind(author.0).bind(searchable_text(body).as_ref())
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Takes a deleted message out of the search index.
    pub async fn unindex_message(&mut self, id: MessageId) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query("DELETE FROM message_search WHERE message_id = $1")
            .bind(id.0).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Messages `searcher` may read whose text holds every word of `query`, best first;
    /// `limit` of them after skipping `offset`. On PostgreSQL "best" is the most matches in
    /// the message itself (its own words only); on SQLite, the newest, because FTS5's ranking
    /// weighs words by how many messages across the whole instance hold them, which would
    /// let a searcher's own results hint at words in conversations they cannot read.
    pub async fn search_messages(
        &mut self,
        searcher: UserId,
        query: &str,
        scope: SearchScope,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let scope_filter = match scope {
            SearchScope::Everywhere => "",
            SearchScope::Community(_) => {
                " AND s.channel_id IN (SELECT id FROM channels WHERE community_id = $7)"
            }
            SearchScope::Direct => {
                " AND s.channel_id IN (SELECT id FROM channels WHERE community_id IS NULL)"
            }
        };
        let community = match scope {
            SearchScope::Community(c) => Some(c.0),
            _ => None,
        };
        let (sql, query) = match self.backend() {
            Backend::Sqlite => {
                let expression = fts5_query(query);
                if expression.is_empty() {
                    return Ok(Vec::new());
                }
                (
                    format!(
                        "SELECT s.message_id, snippet(message_search_index, 0, $4, $5, '…', 24) \
                         FROM message_search_index \
                         JOIN message_search s ON s.message_id = message_search_index.rowid \
                         WHERE message_search_index MATCH $2 AND s.channel_id IN ({READABLE}){scope_filter} \
                         ORDER BY s.message_id DESC \
                         LIMIT $3 OFFSET $6"
                    ),
                    expression,
                )
            }
            Backend::Postgres => (
                format!(
                    "SELECT s.message_id, ts_headline('simple', s.body, q, \
                       'StartSel=' || $4 || ', StopSel=' || $5 || \
                       ', MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \"') \
                     FROM message_search s, plainto_tsquery('simple', $2) q \
                     WHERE to_tsvector('simple', s.body) @@ q AND s.channel_id IN ({READABLE}){scope_filter} \
                     ORDER BY ts_rank(to_tsvector('simple', s.body), q) DESC, s.message_id DESC \
                     LIMIT $3 OFFSET $6"
                ),
                query_words(query).join(" "),
            ),
        };
        let rows: Vec<(i64, String)> = dispatch!(self, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(searcher.0).bind(&query).bind(limit)
                .bind(HIT_START.to_string()).bind(HIT_END.to_string())
                .bind(offset);
            if let Some(community) = community {
                q = q.bind(community);
            }
            q.fetch_all(&mut **c).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, snippet)| SearchHit {
                message: MessageId(id),
                snippet,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_people_type_never_becomes_fts5_syntax() {
        assert_eq!(fts5_query("lunch at noon"), "\"lunch\" \"at\" \"noon\"");
        assert_eq!(
            fts5_query("\"unbalanced body:x* NEAR("),
            "\"unbalanced\" \"body:x*\" \"NEAR(\""
        );
        assert_eq!(fts5_query(" \" \" "), "");
    }
}
