//! Query parameters of paged lists: `limit` (1 to 200, default 50) and a cursor, the id of the
//! last item of the previous page. Lists ordered oldest first take `after`; lists ordered
//! newest first take `before`. A page shorter than `limit` is the last.

use crate::problem::ApiError;
use hearth_core::PageSize;
use serde::Deserialize;
use utoipa::IntoParams;

/// A page of a list ordered oldest first.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AfterPage {
    /// Items after this id: the last id of the previous page.
    pub after: Option<i64>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// A page of a list ordered newest first.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct BeforePage {
    /// Items before (older than) this id: the last id of the previous page.
    pub before: Option<i64>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

impl AfterPage {
    /// The page size asked for, if within bounds.
    pub fn size(&self) -> Result<PageSize, ApiError> {
        Ok(PageSize::requested(self.limit)?)
    }
}

impl BeforePage {
    /// The page size asked for, if within bounds.
    pub fn size(&self) -> Result<PageSize, ApiError> {
        Ok(PageSize::requested(self.limit)?)
    }
}
