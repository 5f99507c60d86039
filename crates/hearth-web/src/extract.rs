//! Request extractors that turn every rejection into a problem response, and the caller's
//! authentication.

use crate::WebState;
use crate::problem::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use hearth_app::Actor;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

/// Name of the session cookie.
pub(crate) const SESSION_COOKIE: &str = "hearth_session";
/// Name of the device cookie: marks a browser that signed in before, so that its owner's
/// sign-ins are metered apart from strangers' guesses.
pub(crate) const DEVICE_COOKIE: &str = "hearth_device";

/// A JSON body; malformed, mistyped or oversized bodies become problem responses.
pub(crate) struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_problem(rejection)),
        }
    }
}

/// A JSON body that may be left out: a request with neither a body nor a content type gives
/// `None`; anything else is read as [`ApiJson`] would.
pub(crate) struct OptionalApiJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let headers = req.headers();
        let empty = !headers.contains_key(axum::http::header::CONTENT_TYPE)
            && headers
                .get(axum::http::header::CONTENT_LENGTH)
                .is_none_or(|length| length.as_bytes() == b"0")
            && !headers.contains_key(axum::http::header::TRANSFER_ENCODING);
        if empty {
            return Ok(OptionalApiJson(None));
        }
        ApiJson::from_request(req, state)
            .await
            .map(|ApiJson(v)| OptionalApiJson(Some(v)))
    }
}

fn json_problem(rejection: JsonRejection) -> ApiError {
    let detail = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid input",
        ),
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed-json", "Malformed JSON")
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Expected application/json",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Request body too large",
        ),
        other => ApiError::new(other.status(), "bad-request", "Bad request"),
    }
    .detail(detail)
}

/// Path parameters; ids that do not parse become a 404, since no such object exists.
pub(crate) struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|rejection: PathRejection| {
                ApiError::new(StatusCode::NOT_FOUND, "not-found", "Not found")
                    .detail(rejection.body_text())
            })
    }
}

/// Query parameters; bad ones become a 400.
pub(crate) struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|rejection: QueryRejection| {
                ApiError::new(StatusCode::BAD_REQUEST, "bad-query", "Bad query parameters")
                    .detail(rejection.body_text())
            })
    }
}

/// The authenticated caller: from `Authorization: Bearer <token>`, or the session cookie.
/// Cookie-authenticated writes must come from Hearth's own pages (CSRF defence).
pub(crate) struct Authed(pub Actor);

impl FromRequestParts<WebState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, ApiError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or_else(ApiError::unauthenticated)?;
            let actor = state.app.authenticate_token(token).await?;
            if sends_privacy_signal(&parts.headers) {
                state.app.honour_privacy_signal(&actor).await?;
            }
            return Ok(Authed(actor));
        }
        let secret = session_cookie(parts).ok_or_else(ApiError::unauthenticated)?;
        // Websocket handshakes are GETs that browsers send cross-site with cookies attached:
        // they get the same origin check as writes.
        if (!is_safe_method(&parts.method) || is_websocket(parts)) && is_cross_site(parts) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "cross-site",
                "Cross-site request refused",
            )
            .detail("cookie-authenticated writes must come from this site"));
        }
        let actor = state.app.authenticate_session(&secret).await?;
        // The signal is an opt-out, for the account, wherever it is seen.
        if sends_privacy_signal(&parts.headers) {
            state.app.honour_privacy_signal(&actor).await?;
        }
        Ok(Authed(actor))
    }
}

/// The caller when they sent credentials, else no one: for what anyone may read and
/// members may read more of. A token that fails is refused as for [`Authed`]; a session
/// cookie that no longer works reads as signed out.
pub(crate) struct MaybeAuthed(pub Option<Actor>);

impl FromRequestParts<WebState> for MaybeAuthed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, ApiError> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Authed::from_request_parts(parts, state)
                .await
                .map(|Authed(actor)| MaybeAuthed(Some(actor)));
        }
        if session_cookie(parts).is_none() {
            return Ok(MaybeAuthed(None));
        }
        Ok(MaybeAuthed(
            Authed::from_request_parts(parts, state)
                .await
                .ok()
                .map(|Authed(actor)| actor),
        ))
    }
}

/// Where a sign-in comes from: the client's address, its device cookie and its user agent.
pub(crate) fn sign_in_from(
    address: Option<IpAddr>,
    headers: &axum::http::HeaderMap,
) -> hearth_app::SignInFrom {
    hearth_app::SignInFrom {
        address,
        device: cookie(headers, DEVICE_COOKIE),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(512).collect()),
    }
}

/// Whether the browser sends the Global Privacy Control signal (`Sec-GPC: 1`).
pub(crate) fn sends_privacy_signal(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("sec-gpc")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "1")
}

/// The session secret from the request's cookies.
pub(crate) fn session_cookie(parts: &Parts) -> Option<String> {
    cookie(&parts.headers, SESSION_COOKIE)
}

/// The value of the cookie `wanted`, if the request carries it.
pub(crate) fn cookie(headers: &axum::http::HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_string())
}

fn is_websocket(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

pub(crate) fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the browser says the request came from another site: `Sec-Fetch-Site` when sent,
/// else an `Origin` whose host differs from `Host`.
pub(crate) fn is_cross_site(parts: &Parts) -> bool {
    if let Some(site) = parts
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
    {
        return !matches!(site, "same-origin" | "none");
    }
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            origin_host != host
        }
        (Some(_), None) => true,
        _ => false,
    }
}

/// The client's address, for per-address rate limits: the peer's, or, when the peer is a
/// trusted reverse proxy, the nearest address in `X-Forwarded-For` that is not a trusted
/// proxy (entries further left are whatever the client claimed, so they are not believed).
pub(crate) struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<WebState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_canonical());
        Ok(ClientAddress(peer.map(|peer| {
            client_address(peer, &parts.headers, &state.config.trusted_proxies)
        })))
    }
}

/// Whether the browser reached Hearth over HTTPS: cookies are then marked `Secure`. True
/// when configured so, or when a trusted proxy says `X-Forwarded-Proto: https`.
pub(crate) struct OverHttps(pub bool);

impl FromRequestParts<WebState> for OverHttps {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        if state.config.secure_cookies {
            return Ok(OverHttps(true));
        }
        let from_proxy = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|ConnectInfo(addr)| is_trusted(addr.ip(), &state.config.trusted_proxies));
        let forwarded_https = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
        Ok(OverHttps(from_proxy && forwarded_https))
    }
}

/// Whether `address` is one of the trusted proxies. Both sides are compared in canonical
/// form: on a dual-stack listener an IPv4 peer arrives as `::ffff:a.b.c.d`.
fn is_trusted(address: IpAddr, trusted: &[IpAddr]) -> bool {
    let address = address.to_canonical();
    trusted.iter().any(|proxy| proxy.to_canonical() == address)
}

/// The client's address in canonical form (IPv4-mapped IPv6 back to IPv4).
fn client_address(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .map(|hop| hop.to_canonical())
        .collect::<Vec<_>>();
    forwarded
        .iter()
        .rev()
        .find(|hop| !is_trusted(**hop, trusted))
        .copied()
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn forwarded(value: &str) -> axum::http::HeaderMap {
        let mut headers = axum::http::HeaderMap::new();
        if let Ok(value) = value.parse() {
            headers.insert("x-forwarded-for", value);
        }
        headers
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.2");
        let headers = forwarded("203.0.113.9, 198.51.100.7");
        assert_eq!(
            client_address(ip("192.0.2.1"), &headers, &[proxy]),
            ip("192.0.2.1")
        );
        assert_eq!(
            client_address(proxy, &headers, &[proxy]),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(proxy, &forwarded("198.51.100.7, 10.0.0.2"), &[proxy]),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(proxy, &forwarded("garbage"), &[proxy]),
            proxy
        );
    }

    #[test]
    fn mapped_ipv4_peers_and_proxies_are_canonical() {
        // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
        let mapped_proxy = ip("::ffff:10.0.0.2");
        let headers = forwarded("198.51.100.7");
        assert_eq!(
            client_address(ip("::ffff:192.0.2.1"), &headers, &[ip("10.0.0.2")]),
            ip("192.0.2.1")
        );
        assert_eq!(
            client_address(mapped_proxy, &headers, &[ip("10.0.0.2")]),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                &forwarded("::ffff:203.0.113.5"),
                &[mapped_proxy]
            ),
            ip("203.0.113.5")
        );
    }
}
