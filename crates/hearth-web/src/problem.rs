//! Errors as `application/problem+json` (RFC 9457). Every error a client can cause has a stable
//! `type`; this module is the one place that maps domain and storage errors to HTTP statuses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_app::{AppError, StoreError};
use hearth_core::DomainError;
use serde::Serialize;

/// A problem details document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Problem {
    /// Stable identifier of the kind of problem, e.g. `/problems/validation`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request field at fault, for validation problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error on its way to becoming a problem response.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: Option<String>,
    field: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, slug: &'static str, title: &'static str) -> Self {
        Self {
            status,
            slug,
            title,
            detail: None,
            field: None,
            retry_after: None,
        }
    }

    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable name of the kind of problem (`link-expired`, say).
    pub(crate) fn kind(&self) -> &'static str {
        self.slug
    }

    /// The short summary, for a person.
    pub(crate) fn title(&self) -> &'static str {
        self.title
    }

    /// What went wrong this time, if said.
    pub(crate) fn detail_text(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The field at fault, for validation problems.
    pub(crate) fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// Seconds to wait before trying again, when said.
    pub(crate) fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    pub(crate) fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentication required",
        )
        .detail("sign in, or send an API token as 'Authorization: Bearer <token>'")
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        let detail = error.to_string();
        match error {
            DomainError::Invalid { field, message } => {
                let mut e = Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "Invalid input",
                )
                .detail(format!("{field} {message}"));
                e.field = Some(field.to_string());
                e
            }
            DomainError::NotFound(_) => {
                Self::new(StatusCode::NOT_FOUND, "not-found", "Not found").detail(detail)
            }
            DomainError::Forbidden(why) => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden").detail(why)
            }
            DomainError::Conflict(why) => {
                Self::new(StatusCode::CONFLICT, "conflict", "Conflict").detail(why)
            }
            DomainError::Unauthenticated => Self::unauthenticated(),
            // One answer for an unknown account, a wrong password and a throttled attempt.
            DomainError::BadCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "bad-credentials",
                "Wrong username or password",
            )
            .detail(
                "the login or the password is wrong, or there were too many attempts: \
                 check them and try again in a minute",
            ),
            DomainError::TooLarge { .. } => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", "File too large")
                    .detail(detail)
            }
            DomainError::UnsupportedType(why) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-type",
                "File type not accepted",
            )
            .detail(why),
            DomainError::LinkExpired => Self::new(
                StatusCode::BAD_REQUEST,
                "link-expired",
                "Link expired or already used",
            )
            .detail("the link has expired or has already been used: ask for a new one"),
            DomainError::EmailUnconfirmed(why) => Self::new(
                StatusCode::FORBIDDEN,
                "email-unconfirmed",
                "Email address not confirmed",
            )
            .detail(why),
            DomainError::RateLimited { retry_after_secs } => {
                let mut e = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    "Too many attempts",
                )
                .detail(detail);
                e.retry_after = Some(retry_after_secs);
                e
            }
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Domain(e) => e.into(),
            AppError::SecondFactorRequired(_) => Self::new(
                StatusCode::UNAUTHORIZED,
                "two-factor-required",
                "Code from the authenticator needed",
            )
            .detail(
                "the password is right; this account also asks for the current code from its \
                 authenticator app, or a recovery code: send it as `code`",
            ),
            AppError::Store(StoreError::Unavailable) => {
                let mut e = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                )
                .detail("the server is shutting down or cannot reach its database");
                // Another node, or this one restarted, is likely to answer soon.
                e.retry_after = Some(1);
                e
            }
            // A race that the use case's own check did not see (two registrations of one
            // name at once on two nodes, say).
            AppError::Store(StoreError::UniqueViolation) => {
                Self::new(StatusCode::CONFLICT, "conflict", "Conflict").detail("it already exists")
            }
            // Still colliding with other transactions after the writer's retries, or a lock or
            // statement timeout: nothing was written, and trying again shortly is the remedy.
            AppError::Store(StoreError::Conflict(_) | StoreError::Busy(_)) => {
                let mut e = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                )
                .detail("the database was busy with other writes; nothing was saved");
                e.retry_after = Some(1);
                e
            }
            other => {
                // The error names tables and constraints, never values: safe to log.
                tracing::error!(error = %other, "request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: format!("/problems/{}", self.slug),
            title: self.title.to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            field: self.field,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub(crate) async fn not_found_fallback() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not-found", "Not found").detail("no such endpoint")
}

pub(crate) async fn method_not_allowed_fallback() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
    )
}
