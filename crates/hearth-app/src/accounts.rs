//! Accounts: registration, the operator, sign-in and out, passwords and API tokens.

use crate::account_links::{hourly, mail_confirmation};
use crate::actor::{Actor, Credential};
use crate::audit::record;
use crate::credential_cache::SecretKind;
use crate::instance_key::KeyedPurpose;
use crate::mail::{Letter, queue_mail};
use crate::secrets::{hash_password, random_token, token_hash, verify_password};
use crate::sign_in_limits::{Hasher, address_bytes, neighbourhood_of, network_of};
use crate::{App, AppError};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::model::{Account, ApiToken, PublicUser};
use hearth_core::sign_in_throttle::{KNOWN_DEVICE_DAYS, Meter, ThrottlePolicy};
use hearth_core::validate::MAX_DIRECT_PARTICIPANTS;
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

/// Where a sign-in attempt came from.
#[derive(Clone, Default)]
pub struct SignInFrom {
    /// The client's network address, when known.
    pub address: Option<IpAddr>,
    /// The secret of the device cookie, if the browser sent one.
    pub device: Option<String>,
    /// The `User-Agent` header, if sent.
    pub user_agent: Option<String>,
}

// The device secret is a credential: debug output leaves everything out.
impl std::fmt::Debug for SignInFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInFrom").finish_non_exhaustive()
    }
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
    /// The device secret for the device cookie: the same one the device presented, or a new
    /// one. A device holding it is metered on its own at the next sign-in.
    pub device_secret: String,
    /// How long the device is known without signing in again.
    pub device_expires_at: Timestamp,
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

/// The refusal of a second factor that is not right.
fn wrong_code() -> AppError {
    DomainError::invalid(
        "code",
        "is neither the current code from your authenticator nor an unused recovery code",
    )
    .into()
}

/// The conflict a taken email raises inside registration (never shown to the caller).
const EMAIL_TAKEN: &str = "email is already registered";

/// The account-wide meter's scope: attempts from networks the account has not signed in from.
const ACCOUNT_WIDE: &[u8] = b"";

/// How an admitted sign-in attempt was metered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metered {
    /// On its device's meter alone: the device signed in to the account before.
    KnownDevice,
    /// On its network's alone: the account signed in from there before.
    KnownNetwork,
    /// On its network's, its neighbourhood's and the account-wide one.
    AlsoAccountWide,
}

/// An admitted sign-in attempt.
#[derive(Debug, Clone, Copy)]
struct Admitted {
    metered: Metered,
    /// Whether a failure should be audited (see `admit_sign_in`).
    worth_auditing: bool,
}

/// The keyed hashes that name the meters of one sign-in attempt.
#[derive(Clone)]
struct SignInMeters {
    /// The account, or the login when it names none.
    subject: Vec<u8>,
    user: Option<UserId>,
    network: Vec<u8>,
    neighbourhood: Vec<u8>,
    /// The device the attempt came from, if it presented a device secret.
    device: Option<Vec<u8>>,
}

/// Which account registration makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Member,
    Operator,
    /// The operator, only if there is none yet.
    FirstOperator,
}

/// What registration answers, the same whether or not the email address was already taken,
/// so that the form cannot be used to find out who has an account here.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The handle asked for (handles are public, so a taken one is refused openly).
    pub username: String,
}

/// How stale a session's "last used" may grow before a use is written down.
const SESSION_SEEN_EVERY_MS: i64 = 5 * 60 * 1000;

impl App {
    /// Registers an account (when registration is open). Registrations share the
    /// per-address attempt limit with sign-ins: each costs a password hash.
    ///
    /// A taken username is refused (handles are public), but a taken email address is not
    /// revealed: the answer is the same as for a new account, and no account is made. Once
    /// Hearth sends mail, the owner of the address is told by mail instead.
    pub async fn register(
        &self,
        input: NewAccount,
        address: Option<IpAddr>,
    ) -> Result<Registration, AppError> {
        if !self.config.open_registration {
            return Err(DomainError::Forbidden("registration is closed on this instance").into());
        }
        self.check_address(address)?;
        let _ticket = self.hashing_ticket(address.map(|a| Hasher::Network(network_of(a))))?;
        let username = validate::username(&input.username)?;
        match self.create_account(input, Kind::Member).await {
            Ok(_) => {}
            Err(AppError::Domain(DomainError::Conflict(EMAIL_TAKEN))) => {}
            Err(error) => return Err(error),
        }
        Ok(Registration { username })
    }

    /// A fair place in the password-hashing queue for `hasher` (none needed without one: the
    /// command line).
    pub(crate) fn hashing_ticket(
        &self,
        hasher: Option<Hasher>,
    ) -> Result<Option<crate::sign_in_limits::HashingTicket<'_>>, AppError> {
        hasher
            .map(|hasher| self.hashing.admit(hasher))
            .transpose()
            .map_err(|retry_after_secs| DomainError::RateLimited { retry_after_secs }.into())
    }

    /// Takes one attempt from the per-address budget of sign-ins and registrations.
    pub(crate) fn check_address(&self, address: Option<IpAddr>) -> Result<(), AppError> {
        if let Some(address) = address {
            self.address_limiter
                .check(&network_of(address))
                .map_err(|retry_after_secs| DomainError::RateLimited { retry_after_secs })?;
        }
        Ok(())
    }

    /// Creates the platform operator account (from the command line).
    pub async fn create_operator(&self, input: NewAccount) -> Result<Account, AppError> {
        self.create_account(input, Kind::Operator).await
    }

    /// Creates the platform operator if there is none yet (the first-run page).
    pub(crate) async fn create_first_operator(
        &self,
        input: NewAccount,
    ) -> Result<Account, AppError> {
        self.create_account(input, Kind::FirstOperator).await
    }

    /// Whether an operator account exists yet.
    pub async fn operator_exists(&self) -> Result<bool, AppError> {
        let mut reader = self.store.reader().await?;
        Ok(reader.conn().operator_exists().await?)
    }

    async fn create_account(&self, input: NewAccount, kind: Kind) -> Result<Account, AppError> {
        let operator = kind != Kind::Member;
        let email = validate::email(&input.email)?;
        let username = validate::username(&input.username)?;
        let display_name = validate::name("display_name", &input.display_name)?;
        validate::password("password", &input.password)?;
        let password_hash = hash_password(input.password).await?;
        let key = std::sync::Arc::clone(&self.key);
        let made = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    if kind == Kind::FirstOperator && tx.conn().operator_exists().await? {
                        return Err(DomainError::Conflict("this instance has an operator").into());
                    }
                    if tx.conn().username_taken(&username).await? {
                        return Err(DomainError::Conflict("username is taken").into());
                    }
                    if let Some(owner) = tx.conn().user_by_login(&email).await? {
                        // The address's owner hears of it (once an hour at most); whoever
                        // registered hears nothing they could tell apart from success.
                        let owner_id = UserId(owner.id);
                        let letter = Letter::RegisteredAgain {
                            username: owner.username.clone(),
                        };
                        let once = Some(hourly("registered-again", owner_id));
                        queue_mail(tx, &owner.email, Some(owner_id), letter, once).await?;
                        return Ok(None);
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
                    mail_confirmation(tx, &key, (id, &username), &email, false).await?;
                    Ok::<_, AppError>(Some(Account {
                        id,
                        username,
                        display_name,
                        email,
                        is_operator: operator,
                        created_at: now,
                        about: String::new(),
                        avatar_id: None,
                        email_verified: false,
                        sale_opt_out: false,
                        sensitive_limit: false,
                    }))
                })
            })
            .await?;
        made.ok_or_else(|| DomainError::Conflict(EMAIL_TAKEN).into())
    }

    /// Signs in with a username or email and a password; starts a session.
    ///
    /// An unknown account, a wrong password and a throttled attempt get the same answer after
    /// the same work: one metering transaction (a login that names no account is metered
    /// under a keyed hash of itself, so it writes as much as a real one), one Argon2
    /// verification, and the same rule for when an audit entry is written. Throttling meters
    /// the account per network and per neighbourhood, plus an account-wide budget for networks
    /// it never signed in from (see [`ThrottlePolicy`]); a device that signed in before
    /// (`device`, its secret from the device cookie) is metered on its own instead, so guesses
    /// from elsewhere never keep the owner out of a device or network they use.
    ///
    /// An account with two-factor sign-in also needs `code` (from its authenticator, or a
    /// recovery code); without one, the answer is [`AppError::SecondFactorRequired`].
    ///
    /// `from` is where the attempt came from: its address, the device cookie's secret, and
    /// the user agent (of which the session keeps a summary).
    pub async fn sign_in(
        &self,
        login: &str,
        password: String,
        from: &SignInFrom,
        code: Option<&str>,
    ) -> Result<SignedIn, AppError> {
        let address = from.address;
        let device = from.device.as_deref();
        self.check_address(address)?;
        let login = validate::login(login)?;
        let (user, meters, device_known) = {
            let mut reader = self.store.reader().await?;
            let user = reader.conn().user_by_login(&login).await?;
            let known = user.as_ref().map(|u| UserId(u.id));
            let meters = self.sign_in_meters(known, &login, address, device);
            // A device that signed in to this account before waits for a password check in
            // places of its own, which many addresses elsewhere cannot fill.
            let device_known = match meters.device.as_deref() {
                Some(scope) => reader
                    .conn()
                    .sign_in_meter(&meters.subject, scope)
                    .await?
                    .is_some_and(|m| m.trusted(Timestamp::now()))
                    .then(|| scope.to_vec()),
                None => None,
            };
            (user, meters, device_known)
        };
        let hasher = match device_known {
            Some(scope) => Some(Hasher::device(&scope, address)),
            None => address.map(|a| Hasher::Network(network_of(a))),
        };
        let _ticket = self.hashing_ticket(hasher)?;
        let known = user.as_ref().map(|u| UserId(u.id));
        let admitted = self.admit_sign_in(&meters).await?;
        let stored = user
            .as_ref()
            .filter(|_| admitted.is_some())
            .map(|u| u.password_hash.clone());
        let valid = verify_password(password, stored).await;
        let Some(user) = user.filter(|_| valid) else {
            // Every failure takes one more trip through the writer, audited or not, so that
            // a refused attempt takes as long as an admitted one.
            let audit = admitted.is_some_and(|a| a.worth_auditing);
            self.note_failed_sign_in(known, audit).await?;
            return Err(DomainError::BadCredentials.into());
        };
        if self.config.unconfirmed == crate::UnconfirmedAccounts::NoSignIn
            && user.email_verified_at.is_none()
            && !user.is_operator
        {
            return Err(self.refuse_unconfirmed(UserId(user.id)).await);
        }
        if self.second_factor_on(UserId(user.id)).await? {
            let Some(code) = code else {
                // Counted as an attempt until the code comes: a stolen password alone opens
                // nothing, and guessing codes through it is metered like guessing passwords.
                return Err(AppError::SecondFactorRequired(
                    self.second_factor_challenge(UserId(user.id)),
                ));
            };
            if !self.accept_second_factor(UserId(user.id), code).await? {
                self.note_wrong_second_factor(UserId(user.id)).await?;
                return Err(wrong_code());
            }
        }
        self.start_session(user, meters, admitted.map(|a| a.metered), from)
            .await
    }

    /// Finishes a sign-in whose password was checked (`challenge`, from
    /// [`AppError::SecondFactorRequired`]) with a code from the authenticator or a recovery
    /// code. Each try is metered like a password guess.
    pub async fn sign_in_with_code(
        &self,
        challenge: &crate::SecondFactorChallenge,
        code: &str,
        from: &SignInFrom,
    ) -> Result<SignedIn, AppError> {
        let address = from.address;
        let device = from.device.as_deref();
        self.check_address(address)?;
        let user = self
            .challenged_user(challenge)
            .ok_or(DomainError::BadCredentials)?;
        let row = {
            let mut reader = self.store.reader().await?;
            reader.conn().user(user).await?
        }
        .ok_or(DomainError::BadCredentials)?;
        let meters = self.sign_in_meters(Some(user), &row.username, address, device);
        let Some(admitted) = self.admit_sign_in(&meters).await? else {
            self.note_failed_sign_in(Some(user), false).await?;
            return Err(DomainError::BadCredentials.into());
        };
        if !self.accept_second_factor(user, code).await? {
            self.note_wrong_second_factor(user).await?;
            return Err(wrong_code());
        }
        self.start_session(row, meters, Some(admitted.metered), from)
            .await
    }

    /// Signs in `user`, whom an identity provider vouched for: a session, unless the account
    /// also asks for its second factor.
    pub(crate) async fn finish_external_sign_in(
        &self,
        user: UserId,
        from: &SignInFrom,
    ) -> Result<SignedIn, AppError> {
        let row = {
            let mut reader = self.store.reader().await?;
            reader.conn().user(user).await?
        }
        .ok_or(DomainError::BadCredentials)?;
        if self.second_factor_on(user).await? {
            return Err(AppError::SecondFactorRequired(
                self.second_factor_challenge(user),
            ));
        }
        let meters = self.sign_in_meters(Some(user), &row.username, from.address, None);
        self.start_session(row, meters, None, from).await
    }

    /// Starts a session for `user`, whose credentials were checked, and renews the trust its
    /// device and network earned.
    async fn start_session(
        &self,
        user: hearth_store::rows::UserRow,
        meters: SignInMeters,
        metered: Option<Metered>,
        from: &SignInFrom,
    ) -> Result<SignedIn, AppError> {
        let device = from.device.as_deref();
        let device_name = hearth_core::device::describe(from.user_agent.as_deref().unwrap_or(""));
        let network_name = from.address.map(hearth_core::device::network_label);
        let secret = random_token(32)?;
        let hash = token_hash(&secret);
        // A device keeps its secret; a new one gets one.
        let device_secret = match (metered, device) {
            (Some(Metered::KnownDevice), Some(device)) => device.to_string(),
            _ => random_token(32)?,
        };
        let device_scope = self
            .key
            .keyed_hash(KeyedPurpose::SignInDevice, &[device_secret.as_bytes()]);
        let now = Timestamp::now();
        let expires_at = now.plus_seconds(self.config.session_ttl_secs);
        let device_trusted_until = now.plus_seconds(i64::from(KNOWN_DEVICE_DAYS) * 24 * 3600);
        let id = UserId(user.id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let account = (meters.subject.as_slice(), id);
                    let network = ThrottlePolicy::succeeded(now, expires_at);
                    let device = ThrottlePolicy::succeeded(now, device_trusted_until);
                    tx.conn()
                        .set_sign_in_meter(account, &device_scope, device)
                        .await?;
                    if metered != Some(Metered::KnownDevice) {
                        tx.conn()
                            .set_sign_in_meter(account, &meters.network, network)
                            .await?;
                        // The owner's own sign-in gives back what it took from the shared
                        // budgets, which are for guesses.
                        tx.conn()
                            .uncount_sign_in(account.0, &meters.neighbourhood)
                            .await?;
                        tx.conn().uncount_sign_in(account.0, ACCOUNT_WIDE).await?;
                    }
                    tx.conn()
                        .insert_session(
                            &hash,
                            id,
                            (now, expires_at),
                            (Some(&device_name), network_name.as_deref()),
                        )
                        .await?;
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
        let account = self.store.reader().await?.conn().account_of(&user)?;
        Ok(SignedIn {
            account,
            session_secret: secret,
            expires_at,
            device_secret,
            device_expires_at: device_trusted_until,
        })
    }

    /// The refusal of a sign-in by an account whose address is unconfirmed, where this
    /// instance asks that first: the right password proved it is the owner, so a new link
    /// goes out (unless one went within the last minute).
    async fn refuse_unconfirmed(&self, user: UserId) -> AppError {
        let actor = Actor {
            user,
            credential: Credential::Console,
            read_only: true,
        };
        let why = match self.resend_confirmation(&actor).await {
            Ok(()) => {
                "confirm your email address before signing in: we have just mailed you a new \
                 link"
            }
            Err(AppError::Domain(DomainError::RateLimited { .. })) => {
                "confirm your email address before signing in: we mailed you a link a moment \
                 ago"
            }
            Err(error) => return error,
        };
        DomainError::EmailUnconfirmed(why).into()
    }

    /// The keys of the meters one sign-in attempt is counted on.
    fn sign_in_meters(
        &self,
        user: Option<UserId>,
        login: &str,
        address: Option<IpAddr>,
        device: Option<&str>,
    ) -> SignInMeters {
        let subject = match user {
            Some(user) => self
                .key
                .keyed_hash(KeyedPurpose::SignInAccount, &[&user.0.to_be_bytes()]),
            None => self.key.keyed_hash(
                KeyedPurpose::SignInLogin,
                &[login.to_lowercase().as_bytes()],
            ),
        };
        let network = address_bytes(address.map(network_of));
        let neighbourhood = address_bytes(address.map(neighbourhood_of));
        SignInMeters {
            subject,
            user,
            network: self
                .key
                .keyed_hash(KeyedPurpose::SignInNetwork, &[&network]),
            neighbourhood: self
                .key
                .keyed_hash(KeyedPurpose::SignInNeighbourhood, &[&neighbourhood]),
            device: device.filter(|d| !d.is_empty() && d.len() <= 128).map(|d| {
                self.key
                    .keyed_hash(KeyedPurpose::SignInDevice, &[d.as_bytes()])
            }),
        }
    }

    /// Counts one sign-in attempt on its meters before its password is checked; returns how
    /// it was metered, or `None` if it may not be checked at all (then nothing is counted).
    ///
    /// A device that signed in to the account before is metered on its own. So is a network
    /// the account signed in from within a session's lifetime. Any other attempt counts on its
    /// network's meter, its neighbourhood's (which takes twice the budget, so that one party's
    /// many addresses share it) and the account-wide one. A login naming no account runs the
    /// same steps on meters of its own.
    async fn admit_sign_in(&self, meters: &SignInMeters) -> Result<Option<Admitted>, AppError> {
        let budget = self.config.max_failed_sign_ins;
        let per_network = ThrottlePolicy::per_network(budget);
        let per_neighbourhood = ThrottlePolicy::per_network(budget.saturating_mul(2));
        let account_wide = ThrottlePolicy::account_wide(budget);
        let meters = meters.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    let subject = meters.subject.as_slice();
                    let trusted = |meter: Option<Meter>| meter.is_some_and(|m| m.trusted(now));
                    let mut plan: Vec<(&[u8], ThrottlePolicy, Option<Meter>)> = Vec::new();
                    let mut metered = None;
                    if let Some(device) = meters.device.as_deref() {
                        let meter = tx.conn().sign_in_meter(subject, device).await?;
                        if trusted(meter) {
                            plan.push((device, per_network, meter));
                            metered = Some(Metered::KnownDevice);
                        }
                    }
                    if metered.is_none() {
                        let here = tx.conn().sign_in_meter(subject, &meters.network).await?;
                        plan.push((&meters.network, per_network, here));
                        if trusted(here) {
                            // Neighbours share the neighbourhood's meter: it must not keep the
                            // owner out of a network they signed in from.
                            metered = Some(Metered::KnownNetwork);
                        } else {
                            let around = tx
                                .conn()
                                .sign_in_meter(subject, &meters.neighbourhood)
                                .await?;
                            let wide = tx.conn().sign_in_meter(subject, ACCOUNT_WIDE).await?;
                            plan.push((&meters.neighbourhood, per_neighbourhood, around));
                            plan.push((ACCOUNT_WIDE, account_wide, wide));
                            metered = Some(Metered::AlsoAccountWide);
                        }
                    }
                    let Some(metered) = metered else {
                        return Ok::<_, AppError>(None);
                    };
                    // Every meter must admit the attempt before any counts it: a refused
                    // attempt charges nothing.
                    if plan
                        .iter()
                        .any(|(_, policy, current)| policy.admit(*current, now).is_none())
                    {
                        return Ok(None);
                    }
                    let mut worth_auditing = false;
                    for (scope, policy, mut current) in plan {
                        // Compare and set: another node may count the same meter at once;
                        // if it keeps changing under us, refuse rather than guess.
                        let mut counted = None;
                        for _ in 0..3 {
                            // Refused now, after other meters were counted: fail the job, so
                            // that its writes roll back and a refused attempt counts on none.
                            let Some(next) = policy.admit(current, now) else {
                                return Err(DomainError::BadCredentials.into());
                            };
                            let account = (subject, meters.user);
                            if tx
                                .conn()
                                .replace_sign_in_meter(account, scope, current, next)
                                .await?
                            {
                                counted = Some(next);
                                break;
                            }
                            current = tx.conn().sign_in_meter(subject, scope).await?;
                        }
                        let Some(counted) = counted else {
                            return Err(DomainError::BadCredentials.into());
                        };
                        // Failures are audited in aggregate: the first of a meter's window,
                        // and the one that starts its delays; the meter keeps the count.
                        worth_auditing |=
                            counted.failures == 1 || counted.failures == policy.budget + 1;
                    }
                    Ok(Some(Admitted {
                        metered,
                        worth_auditing,
                    }))
                })
            })
            .await
    }

    /// A wrong second factor after the right password: audited, and the owner is told (once
    /// an hour at most), since someone else may hold their password.
    async fn note_wrong_second_factor(&self, user: UserId) -> Result<(), AppError> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    record(
                        tx,
                        None,
                        AuditAction::SignInFailed,
                        (ObjectKind::User, Some(user.0)),
                        None,
                    );
                    if let Some(row) = tx.conn().user(user).await? {
                        let letter = Letter::WrongSecondFactor {
                            username: row.username.clone(),
                        };
                        let once = Some(hourly("wrong-second-factor", user));
                        queue_mail(tx, &row.email, Some(user), letter, once).await?;
                    }
                    Ok::<_, AppError>(())
                })
            })
            .await
    }

    async fn note_failed_sign_in(&self, user: Option<UserId>, audit: bool) -> Result<(), AppError> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    // The account tried is the object, never the actor: whoever failed to
                    // sign in is not known to be its owner.
                    if audit {
                        let object = (ObjectKind::User, user.map(|u| u.0));
                        record(tx, None, AuditAction::SignInFailed, object, None);
                    }
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

    /// Resolves a session secret to its caller, noting its use every few minutes.
    pub async fn authenticate_session(&self, secret: &str) -> Result<Actor, AppError> {
        let hash = token_hash(secret);
        if let Some(actor) = self.credentials.get(SecretKind::Session, &hash) {
            return Ok(actor);
        }
        let now = Timestamp::now();
        let (user, last_seen, confirmed) = {
            let mut reader = self.store.reader().await?;
            reader
                .conn()
                .session_user(&hash, now)
                .await?
                .ok_or(DomainError::Unauthenticated)?
        };
        // Noted every few minutes at most, for the sessions list: a write per request would
        // cost a commit per request.
        if now.0 - last_seen.0 > SESSION_SEEN_EVERY_MS {
            let touched = hash.clone();
            self.store
                .write(move |tx| {
                    Box::pin(async move { tx.conn().touch_session(&touched, now).await })
                })
                .await?;
        }
        let actor = Actor {
            user,
            credential: Credential::Session(hash.clone()),
            read_only: self.held_to_reading(confirmed),
        };
        self.credentials
            .put(SecretKind::Session, hash, actor.clone());
        Ok(actor)
    }

    /// Whether an account whose address is (`confirmed`) or is not confirmed is held to
    /// reading by this instance's rule.
    fn held_to_reading(&self, confirmed: bool) -> bool {
        !confirmed && self.config.unconfirmed == crate::UnconfirmedAccounts::ReadOnly
    }

    /// Resolves an API token secret to its caller.
    pub async fn authenticate_token(&self, secret: &str) -> Result<Actor, AppError> {
        let hash = token_hash(secret);
        if let Some(actor) = self.credentials.get(SecretKind::Token, &hash) {
            return Ok(actor);
        }
        let found = {
            let mut reader = self.store.reader().await?;
            reader.conn().token_user(&hash).await?
        };
        let (token, user, last_used, confirmed) = found.ok_or(DomainError::Unauthenticated)?;
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
            read_only: self.held_to_reading(confirmed),
        };
        self.credentials.put(SecretKind::Token, hash, actor.clone());
        Ok(actor)
    }

    /// Checks that the credential an actor was resolved from still works.
    pub async fn still_valid(&self, actor: &Actor) -> Result<(), AppError> {
        let mut reader = self.store.reader().await?;
        let valid = match &actor.credential {
            Credential::Session(hash) => {
                reader
                    .conn()
                    .session_user(hash, Timestamp::now())
                    .await?
                    .map(|(user, _, _)| user)
                    == Some(actor.user)
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

    /// The people the caller names by username, each of whom they share a community with
    /// (whom a direct conversation may be opened with); a name that is no such person's is
    /// refused, in the same words and after the same one query whether or not an account
    /// holds it.
    pub async fn people_named(
        &self,
        actor: &Actor,
        usernames: &[String],
    ) -> Result<Vec<UserId>, AppError> {
        if usernames.len() > MAX_DIRECT_PARTICIPANTS {
            return Err(DomainError::invalid(
                "usernames",
                format!("a direct conversation holds at most {MAX_DIRECT_PARTICIPANTS} people"),
            )
            .into());
        }
        let unknown =
            || DomainError::invalid("usernames", "name only people you share a community with");
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let mut found = Vec::with_capacity(usernames.len());
        for name in usernames {
            let name = validate::username(name.trim_start_matches('@')).map_err(|_| unknown())?;
            let id = conn
                .fellow_member_named(actor.user, &name)
                .await?
                .ok_or_else(unknown)?;
            found.push(id);
        }
        Ok(found)
    }

    /// The caller's own account.
    pub async fn me(&self, actor: &Actor) -> Result<Account, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let user = conn.user(actor.user).await?;
        Ok(conn.account_of(&user.ok_or(DomainError::Unauthenticated)?)?)
    }

    /// Changes the caller's shown name.
    pub async fn rename(&self, actor: &Actor, display_name: &str) -> Result<Account, AppError> {
        self.update_profile(actor, Some(display_name), None).await
    }

    /// Changes the caller's password after checking the current one, and ends their other
    /// sessions; with `revoke_tokens` (the default on the API), their API tokens too, since a
    /// password is usually changed because something leaked. Each account may try a few
    /// times a minute: every try costs two password hashes.
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: String,
        new: String,
        revoke_tokens: bool,
    ) -> Result<(), AppError> {
        self.password_change_limiter
            .check(&actor.user)
            .map_err(|retry_after_secs| DomainError::RateLimited { retry_after_secs })?;
        let _ticket = self.hashing_ticket(Some(Hasher::Account(actor.user)))?;
        validate::password("new_password", &new)?;
        let row = {
            let mut reader = self.store.reader().await?;
            reader.conn().user(actor.user).await?
        };
        let stored = row.as_ref().map(|u| u.password_hash.clone());
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
                    let now = Timestamp::now();
                    tx.conn().set_password_hash(user, &hash, now).await?;
                    tx.conn()
                        .delete_other_sessions(user, keep.as_deref())
                        .await?;
                    // A change of address someone else asked for goes with their sessions.
                    tx.conn().delete_pending_address_changes(user).await?;
                    if revoke_tokens {
                        tx.conn().revoke_all_tokens(user, now).await?;
                    }
                    // The trust devices and networks earned stays: it only spares them the
                    // shared account-wide budget, each is still metered on its own, and
                    // withdrawing it would let strangers keep the owner out right after a
                    // password change, when they most need to get in.
                    record(
                        tx,
                        Some(user),
                        AuditAction::PasswordChanged,
                        (ObjectKind::User, Some(user.0)),
                        None,
                    );
                    if let Some(row) = row {
                        let letter = Letter::PasswordChanged {
                            username: row.username.clone(),
                            by_reset: false,
                        };
                        queue_mail(tx, &row.email, Some(user), letter, None).await?;
                    }
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
                    let id = TokenId(tx.next_id());
                    let now = Timestamp::now();
                    if !tx
                        .conn()
                        .insert_token_within(id, user, &name, &hash, now, MAX_LIVE_TOKENS)
                        .await?
                    {
                        return Err(DomainError::Conflict(
                            "you hold 100 API tokens, the most allowed: revoke one first",
                        )
                        .into());
                    }
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
