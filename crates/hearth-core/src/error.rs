//! Domain errors: what a use case can refuse, independent of HTTP or SQL.

use thiserror::Error;

/// Why a request was refused by the domain rules.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// Input broke a rule; `field` names the offending field.
    #[error("{field}: {message}")]
    Invalid {
        /// The input field at fault.
        field: &'static str,
        /// A human-readable explanation, free of personal data.
        message: String,
    },
    /// The object does not exist or the actor may not see it.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The actor may see the object but not do this to it.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The action conflicts with the current state (a taken username, say).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// No valid credentials were presented.
    #[error("authentication required")]
    Unauthenticated,
    /// Wrong username or password.
    #[error("invalid credentials")]
    BadCredentials,
    /// A file larger than this instance accepts.
    #[error("the file is larger than the {limit_bytes} bytes allowed")]
    TooLarge {
        /// The limit, in bytes.
        limit_bytes: u64,
    },
    /// A file whose contents are of a type this instance does not accept, or of none it
    /// recognises.
    #[error("{0}")]
    UnsupportedType(String),
    /// A mailed link that is unknown, expired or already used: one answer for all three, so
    /// that a guess learns nothing.
    #[error("the link has expired or has already been used")]
    LinkExpired,
    /// The account's email address is not confirmed, and this instance asks that first.
    #[error("{0}")]
    EmailUnconfirmed(&'static str),
    /// Too many attempts; try again after the given number of seconds.
    #[error("too many attempts, retry after {retry_after_secs}s")]
    RateLimited {
        /// Seconds until another attempt is allowed.
        retry_after_secs: u64,
    },
}

impl DomainError {
    /// Shorthand for an [`DomainError::Invalid`] error.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}
