//! `/search`: the messages one may read, found by their words.

use crate::WebState;
use crate::pages::chat::{clock_time, parse_id};
use crate::pages::{Layout, PageError, Visitor, render};
use crate::problem::ApiError;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use hearth_app::SearchIn;
use hearth_core::model::SnippetPart;
use hearth_core::{CommunityId, MessageId, PageSize};
use serde::Deserialize;

/// One message found.
struct HitView {
    id: MessageId,
    channel: String,
    at: String,
    iso: String,
    snippet: Vec<SnippetPart>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    /// The community searched, if one: (id, name).
    community: Option<(CommunityId, String)>,
    hits: Vec<HitView>,
    searched: bool,
    next: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct SearchForm {
    #[serde(default)]
    q: String,
    community: Option<String>,
    offset: Option<i64>,
}

/// Results per page.
const PER_PAGE: i64 = 20;

/// `GET /search?q=...`: a search form, and what it found, best match first.
pub(crate) async fn search(
    State(state): State<WebState>,
    visitor: Visitor,
    Query(form): Query<SearchForm>,
) -> Result<Response, PageError> {
    let me = visitor.require()?;
    let community = match form.community.as_deref().filter(|c| !c.is_empty()) {
        Some(id) => {
            let id = CommunityId(parse_id(id)?);
            let (community, _) = state.app.community(&me.actor, id).await?;
            Some((id, community.name))
        }
        None => None,
    };
    let mut page = SearchPage {
        layout: Layout::new("Search", &visitor),
        q: form.q.clone(),
        community,
        hits: Vec::new(),
        searched: false,
        next: None,
        error: None,
    };
    if !form.q.trim().is_empty() {
        let scope = match &page.community {
            Some((id, _)) => SearchIn::Community(*id),
            None => SearchIn::Everywhere,
        };
        let offset = form.offset.unwrap_or(0);
        match state
            .app
            .search(
                &me.actor,
                &form.q,
                scope,
                PageSize::requested(Some(PER_PAGE))?,
                offset,
            )
            .await
        {
            Ok(found) => {
                page.searched = true;
                let mut names = std::collections::HashMap::new();
                for hit in found.hits {
                    let channel = hit.message.channel_id;
                    let name = match names.get(&channel) {
                        Some(name) => String::clone(name),
                        None => {
                            let name = match state.app.channel(&me.actor, channel).await {
                                Ok(c) if c.community_id.is_some() => format!("#{}", c.name),
                                Ok(_) => "Direct conversation".to_string(),
                                Err(_) => String::new(),
                            };
                            names.insert(channel, name.clone());
                            name
                        }
                    };
                    page.hits.push(HitView {
                        id: hit.message.id,
                        channel: name,
                        at: clock_time(hit.message.created_at),
                        iso: hit.message.created_at.to_rfc3339(),
                        snippet: hit.snippet,
                    });
                }
                page.next = found.next_offset.map(|next| {
                    let mut query = vec![("q", form.q.clone()), ("offset", next.to_string())];
                    if let Some((id, _)) = &page.community {
                        query.push(("community", id.0.to_string()));
                    }
                    query
                        .iter()
                        .map(|(k, v)| format!("{k}={}", url_encode(v)))
                        .collect::<Vec<_>>()
                        .join("&")
                });
            }
            Err(error) => {
                let problem = ApiError::from(error);
                page.error = Some(problem.detail_text().unwrap_or(problem.title()).to_string());
            }
        }
    }
    Ok(render(&page, &visitor))
}

/// Percent-encoding for a query string value.
fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
