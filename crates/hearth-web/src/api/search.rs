//! `/api/v1/search`: messages the caller may read, found by their words.

use crate::WebState;
use crate::extract::{ApiQuery, Authed};
use crate::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use hearth_app::SearchIn;
use hearth_core::model::SearchPage;
use hearth_core::{CommunityId, PageSize};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<WebState> {
    OpenApiRouter::new().routes(routes!(search))
}

/// What to look for, and where.
#[derive(Deserialize, IntoParams)]
pub(crate) struct SearchQuery {
    /// The words to look for (all of them must occur), up to 200 characters.
    #[param(min_length = 1, max_length = 200)]
    q: String,
    /// Only in this community's channels.
    community_id: Option<i64>,
    /// Only in one's direct conversations.
    direct: Option<bool>,
    /// Results per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Results to skip: the `next_offset` of the previous page (at most 1,000).
    #[param(minimum = 0, maximum = 1000)]
    offset: Option<i64>,
}

/// Search the messages one may read (public channels of one's communities, and the private
/// channels and direct conversations one belongs to), best match first, each with a snippet
/// of its text in which the matched words are marked. Edited and deleted text is found no
/// more as soon as the change is made.
#[utoipa::path(get, path = "/api/v1/search", tag = "chat", params(SearchQuery),
    responses((status = 200, body = SearchPage), (status = 400, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn search(
    State(state): State<WebState>,
    Authed(actor): Authed,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<SearchPage>, ApiError> {
    let scope = match (query.community_id, query.direct.unwrap_or(false)) {
        (Some(community), _) => SearchIn::Community(CommunityId(community)),
        (None, true) => SearchIn::Direct,
        (None, false) => SearchIn::Everywhere,
    };
    let size = PageSize::requested(query.limit)?;
    Ok(Json(
        state
            .app
            .search(&actor, &query.q, scope, size, query.offset.unwrap_or(0))
            .await?,
    ))
}
