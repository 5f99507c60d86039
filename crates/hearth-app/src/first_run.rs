//! First run: creating the platform operator from the web page while none exists.
//!
//! Whoever reaches a fresh instance first must not be able to take it, so the page asks for a
//! one-time code that the node makes at start and prints in its log, where only whoever runs
//! the server can read it. Each node has its own code; it is forgotten once an operator exists.

use crate::accounts::NewAccount;
use crate::secrets::random_token;
use crate::{App, AppError};
use hearth_core::DomainError;
use hearth_core::model::Account;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Mutex;

/// The node's setup code, while the instance has no operator.
#[derive(Default)]
pub(crate) struct SetupCode {
    code: Mutex<Option<String>>,
}

impl App {
    /// Makes this node's one-time setup code if the instance has no operator yet, and returns
    /// it (to print in the log); `None` once an operator exists.
    pub async fn first_run_code(&self) -> Result<Option<String>, AppError> {
        if self.operator_exists().await? {
            self.forget_setup_code();
            return Ok(None);
        }
        let mut code = self
            .setup_code
            .code
            .lock()
            .map_err(|_| AppError::Internal("setup code lock poisoned".into()))?;
        if code.is_none() {
            // 20 random bytes: guessing it is hopeless, even without the attempt limit.
            *code = Some(random_token(20)?);
        }
        Ok(code.clone())
    }

    /// Whether the setup page is open: no operator yet, and this node has a code.
    pub async fn setup_open(&self) -> Result<bool, AppError> {
        let has_code = self
            .setup_code
            .code
            .lock()
            .map(|c| c.is_some())
            .unwrap_or(false);
        Ok(has_code && !self.operator_exists().await?)
    }

    /// Creates the operator from the setup page, given this node's setup code. Refused once
    /// an operator exists (checked in the same transaction that creates one, so two setups at
    /// once cannot both win).
    pub async fn set_up_operator(
        &self,
        code: &str,
        input: NewAccount,
        address: Option<IpAddr>,
    ) -> Result<Account, AppError> {
        self.check_address(address)?;
        let expected = self
            .setup_code
            .code
            .lock()
            .map_err(|_| AppError::Internal("setup code lock poisoned".into()))?
            .clone()
            .ok_or(DomainError::NotFound("setup"))?;
        // Compare digests, so the time taken says nothing about how much of the code matched.
        if Sha256::digest(code.trim().as_bytes()) != Sha256::digest(expected.as_bytes()) {
            return Err(DomainError::invalid("code", "is not this server's setup code").into());
        }
        let account = self.create_first_operator(input).await?;
        self.forget_setup_code();
        Ok(account)
    }

    fn forget_setup_code(&self) {
        if let Ok(mut code) = self.setup_code.code.lock() {
            *code = None;
        }
    }
}
