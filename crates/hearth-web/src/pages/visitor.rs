//! Who is looking at a page, and the form token that page's forms carry.
//!
//! Forms are protected twice against cross-site requests: the browser's `Sec-Fetch-Site` or
//! `Origin` must say this site (as for the API), and every form carries a token bound to the
//! visitor's session (a hash of its secret, which a page on another site can neither read nor
//! compute). Before signing in, the token is bound to a random `hearth_form` cookie instead, so
//! that the sign-in and registration forms cannot be submitted from elsewhere either.

use crate::WebState;
use crate::extract::{OverHttps, SESSION_COOKIE, cookie, is_cross_site};
use crate::pages::PageError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method};
use hearth_app::Actor;
use hearth_core::model::Account;
use sha2::{Digest, Sha256};

/// The cookie that binds signed-out forms.
const FORM_COOKIE: &str = "hearth_form";

/// A page's visitor: signed in or not, with the token for the page's forms.
pub(crate) struct Visitor {
    /// The signed-in person, if any.
    pub signed_in: Option<SignedIn>,
    /// The token forms on this page carry.
    pub form_token: String,
    /// A `Set-Cookie` value to send when the visitor had no form cookie yet.
    pub new_form_cookie: Option<HeaderValue>,
    /// Whether the browser says another site sent it here: such a visit may read, but not
    /// change anything, not even a read marker.
    pub from_elsewhere: bool,
    /// Whether the browser sends the Global Privacy Control signal (honoured, and the page
    /// says so).
    pub privacy_signal: bool,
}

/// A signed-in visitor.
pub(crate) struct SignedIn {
    pub actor: Actor,
    pub account: Account,
    /// New versions of their communities' privacy statements they have yet to read.
    pub statements_due: Vec<hearth_app::ToAcknowledge>,
}

impl Visitor {
    /// The signed-in person, or a redirect to the sign-in page.
    pub(crate) fn require(&self) -> Result<&SignedIn, PageError> {
        self.signed_in.as_ref().ok_or(PageError::SignIn)
    }
}

/// The form token for a secret (the session's, or the form cookie's).
fn token_for(secret: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"hearth form token\0")
        .chain_update(secret.as_bytes())
        .finalize();
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn random_secret() -> Result<String, PageError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|_| PageError::internal())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl FromRequestParts<WebState> for Visitor {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, PageError> {
        let writing = !matches!(parts.method, Method::GET | Method::HEAD);
        let from_elsewhere = is_cross_site(parts);
        if writing && from_elsewhere {
            return Err(PageError::CrossSite);
        }
        let session = cookie(&parts.headers, SESSION_COOKIE);
        let privacy_signal = crate::extract::sends_privacy_signal(&parts.headers);
        let mut signed_in = None;
        if let Some(secret) = session.as_deref() {
            // A session that has ended is no session: the page shows the signed-out view.
            if let Ok(actor) = state.app.authenticate_session(secret).await {
                // The signal is an opt-out for the account, recorded the first time it is seen
                // (even on a visit another site sent: it only ever protects).
                let mut account = state.app.me(&actor).await?;
                if privacy_signal && !account.sale_opt_out {
                    state.app.honour_privacy_signal(&actor).await?;
                    account = state.app.me(&actor).await?;
                }
                // The banner is on pages that are read; a form's answer redirects to one.
                let statements_due = if writing {
                    Vec::new()
                } else {
                    state.app.statements_to_acknowledge(&actor).await?
                };
                signed_in = Some((
                    SignedIn {
                        actor,
                        account,
                        statements_due,
                    },
                    token_for(secret),
                ));
            }
        }
        if let Some((signed_in, form_token)) = signed_in {
            return Ok(Visitor {
                signed_in: Some(signed_in),
                form_token,
                new_form_cookie: None,
                from_elsewhere,
                privacy_signal,
            });
        }
        let (form_token, new_form_cookie) = match cookie(&parts.headers, FORM_COOKIE)
            .filter(|v| v.len() == 48 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            Some(secret) => (token_for(&secret), None),
            None => {
                let secret = random_secret()?;
                let Ok(OverHttps(https)) = OverHttps::from_request_parts(parts, state).await;
                let secure = if https { "; Secure" } else { "" };
                let value =
                    format!("{FORM_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict{secure}");
                let header = HeaderValue::from_str(&value).map_err(|_| PageError::internal())?;
                (token_for(&secret), Some(header))
            }
        };
        Ok(Visitor {
            signed_in: None,
            form_token,
            new_form_cookie,
            from_elsewhere,
            privacy_signal,
        })
    }
}

impl Visitor {
    /// Checks a submitted form's token against this visitor's.
    pub(crate) fn check_form(&self, submitted: &str) -> Result<(), PageError> {
        // Without a form cookie there was no form to submit: the token cannot match.
        if self.new_form_cookie.is_some() || submitted != self.form_token {
            return Err(PageError::FormExpired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_tokens_are_bound_to_their_secret() {
        assert_eq!(token_for("a"), token_for("a"));
        assert_ne!(token_for("a"), token_for("b"));
        assert_eq!(token_for("a").len(), 32);
    }
}
