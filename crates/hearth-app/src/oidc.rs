//! Sign-in with an identity provider: OpenID Connect, authorization code flow with PKCE.
//!
//! The browser is sent to the provider with a fresh state, nonce and PKCE verifier, which
//! wait in a cookie signed with the instance key (so any node can take the answer). The
//! provider sends the browser back with a code; Hearth trades it, with the verifier and its
//! client secret, for an ID token, whose signature (RS256 or ES256, from the provider's
//! published keys), issuer, audience, expiry and nonce it checks. The person's account is the
//! one linked to the provider's subject identifier; else the account with the address the
//! provider confirmed (linked now, if that account confirmed the address too); else a new
//! one. The provider's tokens are used for this and dropped: none is stored.

use crate::audit::record;
use crate::instance_key::KeyedPurpose;
use crate::secrets::{hash_password, random_token, same_secret};
use crate::{App, AppError, SignInFrom, SignedIn};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::{DomainError, Timestamp, UserId, validate};
use hearth_store::NewUser;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::RwLock;

/// How long a browser may take at the provider.
const STATE_SECS: i64 = 600;

/// How long the provider's published keys and endpoints are trusted before being fetched
/// again (sooner when a token names a key not seen yet).
const DISCOVERY_TTL_SECS: i64 = 3600;

/// Clock difference allowed between Hearth and the provider.
const LEEWAY_SECS: i64 = 60;

/// An identity provider to sign in with.
#[derive(Clone)]
pub struct OidcSettings {
    /// Its issuer URL (`https://id.example.org`); its discovery document is under it.
    pub issuer: String,
    /// Hearth's client id there.
    pub client_id: String,
    /// Hearth's client secret there; never logged.
    pub client_secret: String,
    /// What the sign-in button calls it.
    pub display_name: String,
    /// Where the provider sends the browser back: `<public_url>/sign-in/oidc/callback`.
    pub redirect_url: String,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The provider's discovery document, as far as Hearth uses it.
#[derive(Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// One of the provider's published keys.
#[derive(Clone, Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

/// What Hearth knows of the provider, fetched when first needed.
struct Known {
    discovery: Discovery,
    keys: Vec<Jwk>,
    fetched_at: Timestamp,
}

/// The provider, and what was fetched from it.
pub(crate) struct Oidc {
    settings: OidcSettings,
    http: reqwest::Client,
    known: RwLock<Option<Known>>,
}

/// Where to send the browser, and the cookie that waits for its return.
#[derive(Clone)]
pub struct OidcStart {
    /// The provider's authorization URL.
    pub redirect_to: String,
    /// The signed state, nonce and verifier, for an HttpOnly cookie.
    pub cookie: String,
}

impl std::fmt::Debug for OidcStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcStart").finish_non_exhaustive()
    }
}

/// The claims of an ID token that Hearth reads.
#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audience,
    azp: Option<String>,
    exp: i64,
    iat: Option<i64>,
    nonce: Option<String>,
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    name: Option<String>,
    preferred_username: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, client: &str) -> bool {
        match self {
            Audience::One(aud) => aud == client,
            Audience::Many(auds) => auds.iter().any(|a| a == client),
        }
    }

    fn len(&self) -> usize {
        match self {
            Audience::One(_) => 1,
            Audience::Many(auds) => auds.len(),
        }
    }
}

/// A refusal from the provider's side, in words for the sign-in page (nothing personal).
fn refused(why: &'static str) -> AppError {
    DomainError::Forbidden(why).into()
}

fn unreachable_provider(what: &str, error: impl std::fmt::Display) -> AppError {
    tracing::warn!(%error, "the identity provider's {what} could not be fetched");
    DomainError::Forbidden("the identity provider could not be reached: try again later").into()
}

impl Oidc {
    pub(crate) fn new(settings: OidcSettings) -> Result<Self, AppError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AppError::Internal(format!("no HTTP client for OpenID Connect: {e}")))?;
        Ok(Self {
            settings,
            http,
            known: RwLock::new(None),
        })
    }

    /// The discovery document and keys, fetched when missing, stale or (with `refresh`)
    /// asked for again because a token names a key not among them.
    async fn known(&self, refresh: bool) -> Result<(Discovery, Vec<Jwk>), AppError> {
        let now = Timestamp::now();
        if !refresh
            && let Some(known) = self.known.read().await.as_ref()
            && now.0 - known.fetched_at.0 < DISCOVERY_TTL_SECS * 1000
        {
            return Ok((known.discovery.clone(), known.keys.clone()));
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        let discovery: Discovery = self
            .get_json(&url)
            .await
            .map_err(|e| unreachable_provider("discovery document", e))?;
        if discovery.issuer.trim_end_matches('/') != self.settings.issuer.trim_end_matches('/') {
            return Err(refused(
                "the identity provider names another issuer than the one configured",
            ));
        }
        let jwks: Jwks = self
            .get_json(&discovery.jwks_uri)
            .await
            .map_err(|e| unreachable_provider("keys", e))?;
        *self.known.write().await = Some(Known {
            discovery: discovery.clone(),
            keys: jwks.keys.clone(),
            fetched_at: now,
        });
        Ok((discovery, jwks.keys))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        secure_url(url)?;
        let response = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        serde_json::from_slice(&bounded_body(response).await?).map_err(|e| e.to_string())
    }
}

/// Most bytes read from the provider in one answer: its documents are a few kilobytes.
const MAX_PROVIDER_BYTES: usize = 256 * 1024;

/// The body of a provider's answer, refused beyond [`MAX_PROVIDER_BYTES`].
async fn bounded_body(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_PROVIDER_BYTES {
            return Err("the answer is too large".into());
        }
    }
    Ok(body)
}

/// Refuses a provider URL that is not HTTPS, but for a provider on this machine (tests, a
/// provider behind the same host): over plain HTTP anyone on the way could hand Hearth keys
/// of their own, and read its client secret.
pub(crate) fn secure_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| format!("{url} is not a URL"))?;
    let loopback = parsed.host_str().is_some_and(|host| {
        host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    if parsed.scheme() == "https" || (parsed.scheme() == "http" && loopback) {
        Ok(())
    } else {
        Err(format!("{url} is not an https:// address"))
    }
}

impl Oidc {
    fn token_endpoint_checked(discovery: &Discovery) -> Result<(), AppError> {
        secure_url(&discovery.token_endpoint)
            .and_then(|()| secure_url(&discovery.authorization_endpoint))
            .map_err(|e| unreachable_provider("endpoints", e))
    }
}

/// The PKCE challenge of a verifier (S256).
fn pkce_challenge(verifier: &str) -> String {
    use sha2::{Digest, Sha256};
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Checks a JWT's signature with the provider's keys; returns its claims' JSON. `None` when
/// no key of the provider's verifies it (or the token names a key Hearth does not have).
fn verified_payload(token: &str, keys: &[Jwk]) -> Result<Option<Vec<u8>>, AppError> {
    let bad = || refused("the identity provider's answer could not be read");
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    #[derive(Deserialize)]
    struct Header {
        alg: String,
        kid: Option<String>,
    }
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| bad());
    let head: Header = serde_json::from_slice(&decode(header)?).map_err(|_| bad())?;
    let signature = decode(signature)?;
    let signed = &token.as_bytes()[..header.len() + 1 + payload.len()];
    let candidates = keys.iter().filter(|k| {
        k.usage.as_deref().is_none_or(|u| u == "sig") && (head.kid.is_none() || k.kid == head.kid)
    });
    for key in candidates {
        let verified = match (head.alg.as_str(), key.kty.as_str()) {
            ("RS256", "RSA") => {
                // One malformed key among the provider's must not break sign-in with the others.
                let (Some(Ok(n)), Some(Ok(e))) =
                    (key.n.as_deref().map(decode), key.e.as_deref().map(decode))
                else {
                    continue;
                };
                let public = ring::signature::RsaPublicKeyComponents { n, e };
                public
                    .verify(
                        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                        signed,
                        &signature,
                    )
                    .is_ok()
            }
            ("ES256", "EC") if key.crv.as_deref() == Some("P-256") => {
                let (Some(Ok(x)), Some(Ok(y))) =
                    (key.x.as_deref().map(decode), key.y.as_deref().map(decode))
                else {
                    continue;
                };
                // Each coordinate is exactly 32 bytes: a 33/31 split would name another point.
                if x.len() != 32 || y.len() != 32 {
                    continue;
                }
                let mut point = vec![4u8];
                point.extend(x);
                point.extend(y);
                ring::signature::UnparsedPublicKey::new(
                    &ring::signature::ECDSA_P256_SHA256_FIXED,
                    point,
                )
                .verify(signed, &signature)
                .is_ok()
            }
            _ => false,
        };
        if verified {
            return Ok(Some(decode(payload)?));
        }
    }
    Ok(None)
}

/// A handle for a new account from what the provider says, made to fit Hearth's rules: its
/// `preferred_username`, else its `name`; never the address, which handles would make public.
fn handle_from(claims: &Claims) -> String {
    // Many providers put the address in `preferred_username`: not that one.
    let wanted = claims
        .preferred_username
        .clone()
        .filter(|u| !u.contains('@'))
        .or_else(|| claims.name.as_ref().map(|n| n.replace(' ', ".")))
        .unwrap_or_default();
    let mut handle: String = wanted
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .take(24)
        .collect();
    while handle.starts_with(['_', '.', '-']) {
        handle.remove(0);
    }
    if handle.len() < 3 {
        handle = format!("member{handle}");
    }
    handle
}

impl App {
    /// What the sign-in page's button calls the identity provider, if one is configured.
    pub fn oidc_name(&self) -> Option<&str> {
        self.oidc.as_ref().map(|o| o.settings.display_name.as_str())
    }

    /// The origin the sign-in form leads to (`https://id.example.org`): the provider's
    /// authorization endpoint's, from its discovery document (cached), or its issuer's when
    /// that cannot be fetched.
    pub async fn oidc_origin(&self) -> Option<String> {
        let oidc = self.oidc.as_ref()?;
        let target = match oidc.known(false).await {
            Ok((discovery, _)) => discovery.authorization_endpoint,
            Err(_) => oidc.settings.issuer.clone(),
        };
        let url = reqwest::Url::parse(&target).ok()?;
        Some(url.origin().ascii_serialization())
    }

    fn oidc(&self) -> Result<&Oidc, AppError> {
        self.oidc
            .as_deref()
            .ok_or_else(|| DomainError::NotFound("identity provider").into())
    }

    fn state_mac(&self, fields: &str) -> String {
        URL_SAFE_NO_PAD.encode(
            self.key
                .keyed_hash(KeyedPurpose::OidcState, &[fields.as_bytes()]),
        )
    }

    /// Starts a sign-in with the identity provider: where to send the browser, and the
    /// cookie to keep until it comes back.
    pub async fn oidc_start(
        &self,
        address: Option<std::net::IpAddr>,
    ) -> Result<OidcStart, AppError> {
        self.check_address(address)?;
        let oidc = self.oidc()?;
        let (discovery, _) = oidc.known(false).await?;
        Oidc::token_endpoint_checked(&discovery)?;
        let state = random_token(24)?;
        let nonce = random_token(24)?;
        let verifier = random_token(48)?;
        let expires = Timestamp::now().plus_seconds(STATE_SECS).0;
        let fields = format!("{state}.{nonce}.{verifier}.{expires}");
        let cookie = format!("{fields}.{}", self.state_mac(&fields));
        let mut url = reqwest::Url::parse(&discovery.authorization_endpoint)
            .map_err(|_| refused("the identity provider's sign-in address is not a URL"))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &oidc.settings.client_id)
            .append_pair("redirect_uri", &oidc.settings.redirect_url)
            .append_pair("scope", "openid email profile")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(OidcStart {
            redirect_to: url.to_string(),
            cookie,
        })
    }

    /// Finishes a sign-in with the identity provider: `cookie` is what
    /// [`App::oidc_start`] gave, `state` and `code` what the provider sent back. An account
    /// with two-factor sign-in still asks for its code ([`AppError::SecondFactorRequired`]).
    pub async fn oidc_finish(
        &self,
        cookie: &str,
        state: &str,
        code: &str,
        from: &SignInFrom,
    ) -> Result<SignedIn, AppError> {
        self.check_address(from.address)?;
        let oidc = self.oidc()?;
        let expired = || refused("the sign-in took too long or came from elsewhere: start again");
        let (fields, mac) = cookie.rsplit_once('.').ok_or_else(expired)?;
        if !same_secret(mac, &self.state_mac(fields)) {
            return Err(expired());
        }
        let mut parts = fields.split('.');
        let (Some(expected_state), Some(nonce), Some(verifier), Some(expires)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(expired());
        };
        let expires: i64 = expires.parse().map_err(|_| expired())?;
        if expires < Timestamp::now().0 || !same_secret(state, expected_state) {
            return Err(expired());
        }
        let (discovery, keys) = oidc.known(false).await?;
        Oidc::token_endpoint_checked(&discovery)?;
        #[derive(Deserialize)]
        struct TokenResponse {
            id_token: String,
        }
        let response = oidc
            .http
            .post(&discovery.token_endpoint)
            .basic_auth(&oidc.settings.client_id, Some(&oidc.settings.client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", oidc.settings.redirect_url.as_str()),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .map_err(|e| unreachable_provider("token endpoint", e))?;
        if !response.status().is_success() {
            tracing::warn!(status = %response.status(), "the identity provider refused the code");
            return Err(refused(
                "the identity provider did not accept the sign-in: start again",
            ));
        }
        // The access token, and any refresh token, are dropped here unread.
        let tokens: TokenResponse = bounded_body(response)
            .await
            .ok()
            .and_then(|body| serde_json::from_slice(&body).ok())
            .ok_or_else(|| refused("the identity provider's answer could not be read"))?;
        let payload = match verified_payload(&tokens.id_token, &keys)? {
            Some(payload) => payload,
            // The provider may have rotated its keys since they were fetched.
            None => {
                let (_, keys) = oidc.known(true).await?;
                verified_payload(&tokens.id_token, &keys)?.ok_or_else(|| {
                    refused("the identity provider's answer is not signed by its keys")
                })?
            }
        };
        let claims: Claims = serde_json::from_slice(&payload)
            .map_err(|_| refused("the identity provider's answer could not be read"))?;
        let now_secs = Timestamp::now().0 / 1000;
        let genuine = claims.iss.trim_end_matches('/') == discovery.issuer.trim_end_matches('/')
            && claims.aud.contains(&oidc.settings.client_id)
            && (claims.aud.len() == 1 || claims.azp.is_some())
            && claims
                .azp
                .as_deref()
                .is_none_or(|azp| azp == oidc.settings.client_id)
            && claims.exp + LEEWAY_SECS > now_secs
            && claims.iat.is_none_or(|iat| iat - LEEWAY_SECS < now_secs)
            && claims
                .nonce
                .as_deref()
                .is_some_and(|n| same_secret(n, nonce));
        if !genuine {
            return Err(refused(
                "the identity provider's answer was not meant for this sign-in",
            ));
        }
        let user = self
            .oidc_account(&discovery.issuer, &claims, from.address)
            .await?;
        self.finish_external_sign_in(user, from).await
    }

    /// The account the provider's person signs in to: linked, found by a confirmed address
    /// (and linked now), or made.
    async fn oidc_account(
        &self,
        issuer: &str,
        claims: &Claims,
        address: Option<std::net::IpAddr>,
    ) -> Result<UserId, AppError> {
        // Only a JSON true counts, and only a plain ASCII address: lowercasing other scripts
        // can turn an address the provider checked into another one it never saw.
        let verified = matches!(claims.email_verified, Some(serde_json::Value::Bool(true)));
        let email = claims
            .email
            .as_deref()
            .filter(|_| verified)
            .map(|e| {
                if e.is_ascii() {
                    validate::email(e)
                } else {
                    Err(DomainError::invalid("email", "is not ASCII"))
                }
            })
            .transpose()
            .map_err(|_| refused("the identity provider gave an address Hearth cannot use"))?;
        let username = handle_from(claims);
        let display_name = claims
            .name
            .clone()
            .and_then(|n| validate::name("display_name", &n).ok())
            .unwrap_or_else(|| username.clone());
        let (linked, existing) = {
            let mut reader = self.store.reader().await?;
            let mut conn = reader.conn();
            let linked = conn.linked_user(issuer, &claims.sub).await?;
            let existing = match &email {
                Some(email) => conn.user_by_login(email).await?.is_some(),
                None => false,
            };
            (linked, existing)
        };
        if let Some(user) = linked {
            return Ok(user);
        }
        // An account made here has no password anyone knows (a reset link sets one). Hashed
        // only when an account is to be made, and in turn with password checks from the same
        // network. (The write below decides again, in its transaction.)
        let password_hash = if email.is_some() && !existing && self.config.open_registration {
            let hasher = address.map(|a| {
                crate::sign_in_limits::Hasher::Network(crate::sign_in_limits::network_of(a))
            });
            let _ticket = self.hashing_ticket(hasher)?;
            hash_password(random_token(32)?).await?
        } else {
            String::new()
        };
        let issuer = issuer.to_string();
        let subject = claims.sub.clone();
        let open = self.config.open_registration;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    if let Some(user) = tx.conn().linked_user(&issuer, &subject).await? {
                        return Ok(user);
                    }
                    let Some(email) = email else {
                        return Err(refused(
                            "the identity provider did not confirm your email address, which \
                             Hearth needs to find or make your account",
                        ));
                    };
                    let object = |user: UserId| (ObjectKind::User, Some(user.0));
                    if let Some(existing) = tx.conn().user_by_login(&email).await? {
                        let user = UserId(existing.id);
                        // Linking to an address nobody proved here would hand the account to
                        // whoever registered it first.
                        // Proven here means confirmed after the account was made: accounts from
                        // before Hearth confirmed addresses count as confirmed (migration 0013)
                        // without having proven anything.
                        if existing
                            .email_verified_at
                            .is_none_or(|at| at <= existing.created_at)
                        {
                            return Err(DomainError::Conflict(
                                "an account here uses your address but has not confirmed it: \
                                 sign in with its password and confirm the address first",
                            )
                            .into());
                        }
                        // The operator's account, and one already linked to another identity
                        // at this provider, are never linked by address alone.
                        if existing.is_operator
                            || tx.conn().identity_count(user, &issuer).await? > 0
                            || tx.conn().identity_links_refused(user).await?
                        {
                            return Err(DomainError::Conflict(
                                "an account here uses your address: sign in with its password",
                            )
                            .into());
                        }
                        tx.conn()
                            .link_identity((&issuer, &subject), user, now)
                            .await?;
                        // The owner hears of every link, and can undo it in their settings.
                        let letter = crate::mail::Letter::IdentityLinked {
                            username: existing.username.clone(),
                        };
                        crate::mail::queue_mail(tx, &existing.email, Some(user), letter, None)
                            .await?;
                        record(
                            tx,
                            Some(user),
                            AuditAction::IdentityLinked,
                            object(user),
                            None,
                        );
                        return Ok(user);
                    }
                    if !open {
                        return Err(refused("registration is closed on this instance"));
                    }
                    if password_hash.is_empty() {
                        // The address's account went away since it was looked up: try again.
                        return Err(refused("the sign-in could not finish: start again"));
                    }
                    let mut handle = username.clone();
                    let mut taken = tx.conn().username_taken(&handle).await?;
                    for n in 2..10 {
                        if !taken {
                            break;
                        }
                        handle = format!("{username}{n}");
                        taken = tx.conn().username_taken(&handle).await?;
                    }
                    if taken {
                        // Crowded: a random tail, which no one can fill in advance.
                        handle = format!("{username}-{}", &random_token(6)?[..6]).to_lowercase();
                    }
                    let user = UserId(tx.next_id());
                    tx.conn()
                        .insert_user(&NewUser {
                            id: user,
                            username: &handle,
                            display_name: &display_name,
                            email: &email,
                            password_hash: &password_hash,
                            is_operator: false,
                            now,
                        })
                        .await?;
                    tx.conn().confirm_email(user, &email, now).await?;
                    tx.conn()
                        .link_identity((&issuer, &subject), user, now)
                        .await?;
                    record(
                        tx,
                        Some(user),
                        AuditAction::AccountRegistered,
                        object(user),
                        None,
                    );
                    record(
                        tx,
                        Some(user),
                        AuditAction::IdentityLinked,
                        object(user),
                        None,
                    );
                    Ok::<_, AppError>(user)
                })
            })
            .await
    }

    /// Starts the OpenID Connect client, when a provider is configured.
    pub(crate) fn start_oidc(
        settings: Option<OidcSettings>,
    ) -> Result<Option<Arc<Oidc>>, AppError> {
        // reqwest's TLS takes the process's crypto provider: ring, as lettre's does.
        let _ = rustls::crypto::ring::default_provider().install_default();
        if let Some(settings) = &settings {
            secure_url(&settings.issuer)
                .map_err(|e| AppError::Internal(format!("oidc_issuer: {e}")))?;
        }
        settings.map(|s| Oidc::new(s).map(Arc::new)).transpose()
    }

    /// The identity providers the caller's account is linked to, with when.
    pub async fn linked_identities(
        &self,
        actor: &crate::Actor,
    ) -> Result<Vec<(String, Timestamp)>, AppError> {
        let mut reader = self.store.reader().await?;
        Ok(reader.conn().identities_of(actor.user).await?)
    }

    /// Unlinks the caller's account from the identity provider: signing in there no longer
    /// signs in here (until an address both sides confirmed links it again, which is mailed).
    pub async fn unlink_identities(&self, actor: &crate::Actor) -> Result<(), AppError> {
        let user = actor.user;
        let unlinked = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let unlinked = tx.conn().unlink_identities(user, None).await?;
                    // Unlinked for good: signing in at the provider with the same address does
                    // not link the account again.
                    tx.conn().refuse_identity_links(user).await?;
                    if unlinked > 0 {
                        let object = (ObjectKind::User, Some(user.0));
                        record(tx, Some(user), AuditAction::IdentityUnlinked, object, None);
                    }
                    Ok::<_, AppError>(unlinked)
                })
            })
            .await?;
        if unlinked == 0 {
            return Err(DomainError::NotFound("linked identity").into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_follows_rfc_7636() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn tokens_that_are_not_signed_by_a_known_key_are_refused() {
        let key = Jwk {
            kty: "RSA".into(),
            kid: Some("k1".into()),
            usage: Some("sig".into()),
            n: Some(URL_SAFE_NO_PAD.encode([0xc5u8; 256])),
            e: Some("AQAB".into()),
            crv: None,
            x: None,
            y: None,
        };
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k1"}"#);
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#);
        let forged = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode([7u8; 256]));
        assert!(matches!(
            verified_payload(&forged, std::slice::from_ref(&key)),
            Ok(None)
        ));
        // "none" is never accepted, whatever the keys.
        let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        assert!(matches!(
            verified_payload(&format!("{none}.{payload}."), &[key]),
            Ok(None) | Err(_)
        ));
        assert!(verified_payload("not a token", &[]).is_err());
    }
}
