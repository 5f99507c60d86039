//! The app layer's error: a domain refusal or a storage failure. HTTP maps it to a status in
//! one place (hearth-web's `problem` module).

use hearth_core::DomainError;
use hearth_store::StoreError;
use thiserror::Error;

/// Why a use case failed.
#[derive(Debug, Error)]
pub enum AppError {
    /// The rules refused it; the caller can fix the request.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Storage failed; not the caller's fault.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database was set up with another master key than this node holds.
    #[error(
        "this database was set up with another master key: every node must use the same key \
         file (master_key_file); copy it from the first node"
    )]
    WrongInstanceKey,
    /// The password was right, and the account also asks for a code from its authenticator
    /// (or a recovery code): send it with this challenge, which stands for the checked
    /// password for a few minutes (`App::sign_in_with_code`).
    #[error("a code from the authenticator is needed to sign in")]
    SecondFactorRequired(crate::SecondFactorChallenge),
    /// Hashing or another internal step failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl hearth_store::JobError for AppError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            AppError::Store(e) => Some(e),
            _ => None,
        }
    }
}

impl AppError {
    /// The domain error inside, if that is what this is.
    pub fn domain(&self) -> Option<&DomainError> {
        match self {
            AppError::Domain(e) => Some(e),
            _ => None,
        }
    }
}
