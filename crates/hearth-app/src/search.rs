//! Searching messages: only over what the searcher may read, best match first, with the
//! matched words marked in a snippet of each message.

use crate::uploads::fill_attachments;
use crate::{Actor, App, AppError};
use hearth_core::model::{SearchHit, SearchPage, SnippetPart};
use hearth_core::{CommunityId, DomainError, PageSize, validate};
use hearth_store::{HIT_END, HIT_START, SearchScope};

/// Longest query searched, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// How deep into the results paging goes: relevance ranking makes later pages ever less
/// useful, and each costs the whole ranking again.
pub const MAX_OFFSET: i64 = 1000;

/// Where a search looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchIn {
    /// Everything the searcher may read.
    Everywhere,
    /// One community the searcher belongs to.
    Community(CommunityId),
    /// The searcher's direct conversations.
    Direct,
}

impl App {
    /// Messages the caller may read that hold every word of `query`, best match first.
    pub async fn search(
        &self,
        actor: &Actor,
        query: &str,
        scope: SearchIn,
        size: PageSize,
        offset: i64,
    ) -> Result<SearchPage, AppError> {
        let query = validate::search_query(query, MAX_QUERY_CHARS)?;
        if !(0..=MAX_OFFSET).contains(&offset) {
            return Err(DomainError::invalid(
                "offset",
                format!("must be between 0 and {MAX_OFFSET}"),
            )
            .into());
        }
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let scope = match scope {
            SearchIn::Everywhere => SearchScope::Everywhere,
            SearchIn::Direct => SearchScope::Direct,
            SearchIn::Community(community) => {
                if conn.member_role(community, actor.user).await?.is_none() {
                    return Err(DomainError::NotFound("community").into());
                }
                SearchScope::Community(community)
            }
        };
        let limit = size.get();
        let found = conn
            .search_messages(actor.user, &query, scope, limit, offset)
            .await?;
        let next_offset =
            (found.len() as i64 == limit && offset + limit <= MAX_OFFSET).then_some(offset + limit);
        let mut messages = Vec::with_capacity(found.len());
        let mut snippets = Vec::with_capacity(found.len());
        for hit in found {
            // Read as any reader reads it; gone if deleted since the index was read.
            if let Some(message) = conn.message(hit.message).await?
                && message.deleted_at.is_none()
            {
                messages.push(message);
                snippets.push(snippet_parts(&hit.snippet));
            }
        }
        fill_attachments(&mut conn, &mut messages).await?;
        Ok(SearchPage {
            hits: messages
                .into_iter()
                .zip(snippets)
                .map(|(message, snippet)| SearchHit { message, snippet })
                .collect(),
            next_offset,
        })
    }
}

/// A snippet in pieces, split at the marks around matched words.
fn snippet_parts(snippet: &str) -> Vec<SnippetPart> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut hit = false;
    for c in snippet.chars() {
        let boundary = match c {
            HIT_START => Some(true),
            HIT_END => Some(false),
            _ => None,
        };
        match boundary {
            Some(next) => {
                if !text.is_empty() {
                    parts.push(SnippetPart {
                        text: std::mem::take(&mut text),
                        hit,
                    });
                }
                hit = next;
            }
            None => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(SnippetPart { text, hit });
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_split_at_the_marks() {
        let parts = snippet_parts("lunch at \u{e000}noon\u{e001} today");
        let pieces: Vec<(&str, bool)> = parts.iter().map(|p| (p.text.as_str(), p.hit)).collect();
        assert_eq!(
            pieces,
            [("lunch at ", false), ("noon", true), (" today", false)]
        );
    }
}
