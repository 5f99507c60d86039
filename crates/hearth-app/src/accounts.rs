//! Accounts: registration, the operator, sign-in and out, passwords and API tokens.

use crate::actor::{Actor, Credential};
use crate::audit::record;
use crate::secrets::{hash_password, random_token, token_hash, verify_password};
use crate::{App, AppError};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::model::{Account, ApiToken, PublicUser};
use hearth_core::validate::MAX_LIVE_TOKENS;
use hearth_core::{DomainError, PageSize, Timestamp, TokenId, UserId, validate};
use hearth_store::NewUser;
use std::net::IpAddr;

/// What a person gives to register.
#[derive(Clone)]
pub struct NewAccount {
    /// Email address.
    pub email: String,
    /// Handle.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Password, never stored.
    pub password: String,
}

/// A started session: the secret for the cookie, shown once.
#[derive(Clone)]
pub struct SignedIn {
    /// The account.
    pub account: Account,
    /// The session secret for the cookie.
    pub session_secret: String,
    /// When the session expires.
    pub expires_at: Timestamp,
}

// Hand-written so that a stray `{:?}` never prints a password or a session secret.
impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("user", &self.account.id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// How long an account stays locked after too many failed sign-ins: doubling from 30 s, at
/// most 15 minutes.
fn lockout_secs(failures: i64, allowed: i64) -> Option<i64> {
    let over = failures - allowed;
    (over >= 0).then(|| (30i64 << over.min(5)).min(15 * 60))
}

impl App {
    /// Registers an account (when registration is open). Registrations share the
    /// per-address attempt limit with sign-ins: each costs a password hash.
    pub async fn register(
        &self,
        input: NewAccount,
        address: Option<IpAddr>,
    ) -> Result<Account, AppError> {
        if !self.config.open_registration {
            return Err(DomainError::Forbidden("registration is closed on this instance").into());
        }
        if let Some(address) = address {
            self.address_limiter
                .check(address)
                .map_err(|retry_after_secs| DomainError::RateLimited { retry_after_secs })?;
        }
        self.create_account(input, false).await
    }

    /// Creates the platform operator account (from the command line).
    pub async fn create_operator(&self, input: NewAccount) -> Result<Account, AppError> {
        self.create_account(input, true).await
    }

    /// Whether an operator account exists yet.
    pub async fn operator_exists(&self) -> Result<bool, AppError> {
        let mut reader = self.store.reader().await?;
        Ok(reader.conn().operator_exists().await?)
    }

    async fn create_account(&self, input: NewAccount, operator: bool) -> Result<Account, AppError> {
        let email = validate::email(&input.email)?;
        let username = validate::username(&input.username)?;
        let display_name = validate::name("display_name", &input.display_name)?;
        validate::password("password", &input.password)?;
        let password_hash = hash_password(input.password).await?;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if tx.conn().username_taken(&username).await? {
                        return Err(DomainError::Conflict("username is taken").into());
                    }
                    if tx.conn().email_taken(&email).await? {
                        return Err(DomainError::Conflict("email is already registered").into());
                    }
                    let id = UserId(tx.next_id());
                    let now = Timestamp::now();
                    tx.conn()
                        .insert_user(&NewUser {
                            id,
                            username: &username,
                            display_name: &display_name,
                            email: &email,
                            password_hash: &password_hash,
                            is_operator: operator,
                            now,
                        })
                        .await?;
                    let action = if operator {
                        AuditAction::OperatorCreated
                    } else {
                        AuditAction::AccountRegistered
                    };
                    record(tx, Some(id), action, (ObjectKind::User, Some(id.0)), None);
                    Ok(Account {
                        id,
                        username,
                        display_name,
                        email,
                        is_operator: operator,
                        created_at: now,
                    })
                })
            })
            .await
    }

    /// Signs in with a username or email and a password; starts a session.
    pub async fn sign_in(
        &self,
        login: &str,
        password: String,
        address: Option<IpAddr>,
    ) -> Result<SignedIn, AppError> {
        if let Some(address) = address {
            self.address_limiter
                .check(address)
                .map_err(|retry_after_secs| DomainError::RateLimited { retry_after_secs })?;
        }
        let login = validate::login(login)?;
        let user = {
            let mut reader = self.store.reader().await?;
            reader.conn().user_by_login(&login).await?
        };
        let now = Timestamp::now();
        if let Some(locked_until) = user.as_ref().and_then(|u| u.locked_until)
            && locked_until > now.0
        {
            let retry_after_secs = ((locked_until - now.0) / 1000).max(1) as u64;
            return Err(DomainError::RateLimited { retry_after_secs }.into());
        }
        let known = user.as_ref().map(|u| UserId(u.id));
        let valid = verify_password(password, user.as_ref().map(|u| u.password_hash.clone())).await;
        let Some(user) = user.filter(|_| valid) else {
            self.note_failed_sign_in(known).await?;
            return Err(DomainError::BadCredentials.into());
        };
        let secret = random_token(32)?;
        let hash = token_hash(&secret);
        let expires_at = now.plus_seconds(self.config.session_ttl_secs);
        let id = UserId(user.id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    tx.conn().clear_failed_sign_ins(id).await?;
                    tx.conn().insert_session(&hash, id, now, expires_at).await?;
                    record(
                        tx,
                        Some(id),
                        AuditAction::SignedIn,
                        (ObjectKind::User, Some(id.0)),
                        None,
                    );
                    Ok::<_, AppError>(())
                })
            })
            .await?;
        Ok(SignedIn {
            account: user.account(),
            session_secret: secret,
            expires_at,
        })
    }

    async fn note_failed_sign_in(&self, user: Option<UserId>) -> Result<(), AppError> {
        let allowed = self.config.max_failed_sign_ins;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if let Some(id) = user {
                        let now = Timestamp::now();
                        tx.conn()
                            .record_failed_sign_in(id, |failures| {
                                lockout_secs(failures, allowed).map(|s| now.plus_seconds(s))
                            })
                            .await?;
                    }
                    let object = (ObjectKind::User, user.map(|u| u.0));
                    record(tx, user, AuditAction::SignInFailed, object, None);
                    Ok::<_, AppError>(())
                })
            })
            .await
    }

    /// Ends the caller's session.
    pub async fn sign_out(&self, actor: &Actor) -> Result<(), AppError> {
        let Credential::Session(hash) = actor.credential.clone() else {
            return Err(
                DomainError::invalid("credential", "only a session can be signed out").into(),
            );
        };
        let user = actor.user;
        let result: Result<(), AppError> = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    tx.conn().delete_session(&hash).await?;
                    record(
                        tx,
                        Some(user),
                        AuditAction::SignedOut,
                        (ObjectKind::User, Some(user.0)),
                        None,
                    );
                    Ok(())
                })
            })
            .await;
        if result.is_ok() {
            let ended = actor.credential.clone();
            self.credentials.forget(|c| *c == ended);
        }
        result
    }

    /// Resolves a session secret to its caller.
    pub async fn authenticate_session(&self, secret: &str) -> Result<Actor, AppError> {
        let hash = token_hash(secret);
        if let Some(actor) = self.credentials.get(&hash) {
            return Ok(actor);
        }
        let mut reader = self.store.reader().await?;
        let user = reader
            .conn()
            .session_user(&hash, Timestamp::now())
            .await?
            .ok_or(DomainError::Unauthenticated)?;
        let actor = Actor {
            user,
            credential: Credential::Session(hash.clone()),
        };
        self.credentials.put(hash, actor.clone());
        Ok(actor)
    }

    /// Resolves an API token secret to its caller.
    pub async fn authenticate_token(&self, secret: &str) -> Result<Actor, AppError> {
        let hash = token_hash(secret);
        if let Some(actor) = self.credentials.get(&hash) {
            return Ok(actor);
        }
        let found = {
            let mut reader = self.store.reader().await?;
            reader.conn().token_user(&hash).await?
        };
        let (token, user, last_used) = found.ok_or(DomainError::Unauthenticated)?;
        let now = Timestamp::now();
        // Note use at most hourly: a write per request would cost a commit per request.
        if last_used.is_none_or(|at| now.0 - at.0 > 3_600_000) {
            self.store
                .write(move |tx| Box::pin(async move { tx.conn().touch_token(token, now).await }))
                .await?;
        }
        let actor = Actor {
            user,
            credential: Credential::Token(token),
        };
        self.credentials.put(hash, actor.clone());
        Ok(actor)
    }

    /// Checks that the credential an actor was resolved from still works.
    pub async fn still_valid(&self, actor: &Actor) -> Result<(), AppError> {
        let mut reader = self.store.reader().await?;
        let valid = match &actor.credential {
            Credential::Session(hash) => {
                reader.conn().session_user(hash, Timestamp::now()).await? == Some(actor.user)
            }
            Credential::Token(id) => reader.conn().token_active(*id).await?,
            Credential::Console => true,
        };
        if valid {
            Ok(())
        } else {
            Err(DomainError::Unauthenticated.into())
        }
    }

    /// What the caller may see of another person: their handle and name, if the two share a
    /// community or a conversation (or it is the caller). Others are not found.
    pub async fn user(&self, actor: &Actor, id: UserId) -> Result<PublicUser, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let visible = id == actor.user
            || conn.share_a_community(actor.user, id).await?
            || conn.share_a_channel(actor.user, id).await?;
        if !visible {
            return Err(DomainError::NotFound("user").into());
        }
        let user = conn.user(id).await?.ok_or(DomainError::NotFound("user"))?;
        Ok(user.public())
    }

    /// The caller's own account.
    pub async fn me(&self, actor: &Actor) -> Result<Account, AppError> {
        let mut reader = self.store.reader().await?;
        let user = reader.conn().user(actor.user).await?;
        Ok(user.ok_or(DomainError::Unauthenticated)?.account())
    }

    /// Changes the caller's password after checking the current one, and ends their other
    /// sessions.
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: String,
        new: String,
    ) -> Result<(), AppError> {
        validate::password("new_password", &new)?;
        let stored = {
            let mut reader = self.store.reader().await?;
            reader
                .conn()
                .user(actor.user)
                .await?
                .map(|u| u.password_hash)
        };
        if !verify_password(current, stored).await {
            return Err(
                DomainError::invalid("current_password", "is not your current password").into(),
            );
        }
        let hash = hash_password(new).await?;
        let user = actor.user;
        let keep = match &actor.credential {
            Credential::Session(hash) => Some(hash.clone()),
            _ => None,
        };
        let result: Result<(), AppError> = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    tx.conn()
                        .set_password_hash(user, &hash, Timestamp::now())
                        .await?;
                    tx.conn()
                        .delete_other_sessions(user, keep.as_deref())
                        .await?;
                    record(
                        tx,
                        Some(user),
                        AuditAction::PasswordChanged,
                        (ObjectKind::User, Some(user.0)),
                        None,
                    );
                    Ok(())
                })
            })
            .await;
        if result.is_ok() {
            self.credentials.forget_user(actor.user);
        }
        result
    }

    /// Creates a personal API token; the secret is returned once and stored only as a hash.
    pub async fn create_token(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<(ApiToken, String), AppError> {
        let name = validate::name("name", name)?;
        let secret = format!("hth_{}", random_token(32)?);
        let hash = token_hash(&secret);
        let user = actor.user;
        let token = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    if tx.conn().live_token_count(user).await? >= MAX_LIVE_TOKENS {
                        return Err(DomainError::Conflict(
                            "you hold 100 API tokens, the most allowed: revoke one first",
                        )
                        .into());
                    }
                    let id = TokenId(tx.next_id());
                    let now = Timestamp::now();
                    tx.conn().insert_token(id, user, &name, &hash, now).await?;
                    record(
                        tx,
                        Some(user),
                        AuditAction::TokenCreated,
                        (ObjectKind::Token, Some(id.0)),
                        None,
                    );
                    Ok::<_, AppError>(ApiToken {
                        id,
                        name,
                        created_at: now,
                        last_used_at: None,
                        revoked_at: None,
                    })
                })
            })
            .await?;
        Ok((token, secret))
    }

    /// A page of the caller's API tokens, revoked ones included, newest first, older than
    /// `before`.
    pub async fn tokens(
        &self,
        actor: &Actor,
        before: Option<TokenId>,
        size: PageSize,
    ) -> Result<Vec<ApiToken>, AppError> {
        let mut reader = self.store.reader().await?;
        Ok(reader
            .conn()
            .tokens_of(actor.user, before, size.get())
            .await?)
    }

    /// Revokes one of the caller's API tokens.
    pub async fn revoke_token(&self, actor: &Actor, token: TokenId) -> Result<(), AppError> {
        let user = actor.user;
        let result: Result<(), AppError> = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    if !tx
                        .conn()
                        .revoke_token(user, token, Timestamp::now())
                        .await?
                    {
                        return Err(DomainError::NotFound("token").into());
                    }
                    record(
                        tx,
                        Some(user),
                        AuditAction::TokenRevoked,
                        (ObjectKind::Token, Some(token.0)),
                        None,
                    );
                    Ok(())
                })
            })
            .await;
        if result.is_ok() {
            self.credentials.forget(|c| *c == Credential::Token(token));
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::lockout_secs;

    #[test]
    fn lockouts_start_at_the_limit_and_double_up_to_fifteen_minutes() {
        assert_eq!(lockout_secs(4, 5), None);
        assert_eq!(lockout_secs(5, 5), Some(30));
        assert_eq!(lockout_secs(6, 5), Some(60));
        assert_eq!(lockout_secs(50, 5), Some(900));
    }
}
