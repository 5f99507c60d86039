//! The privacy choices page for visitors who are not signed in (Civ. 1798.135): opt out of
//! sale and sharing, and limit the use of sensitive personal information, kept in a cookie
//! that holds nothing but the choices, and made for the account when its person signs in from
//! that browser. Signed in, the choices are on `/privacy`.

use crate::WebState;
use crate::extract::{OverHttps, cookie};
use crate::pages::{Layout, PageError, Visitor, render, see_other};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use hearth_app::Choice;
use serde::Deserialize;

/// The cookie that keeps a signed-out visitor's choices: `sale`, `limit`, or both.
const CHOICES_COOKIE: &str = "hearth_choices";

/// The choices a browser keeps.
pub(crate) fn kept_choices(headers: &HeaderMap) -> Vec<Choice> {
    let Some(value) = cookie(headers, CHOICES_COOKIE) else {
        return Vec::new();
    };
    let mut choices = Vec::new();
    for part in value.split('.') {
        let choice = match part {
            "sale" => Choice::SaleOptOut,
            "limit" => Choice::SensitiveLimit,
            _ => continue,
        };
        if !choices.contains(&choice) {
            choices.push(choice);
        }
    }
    choices
}

/// The `Set-Cookie` value that keeps `choices` (for a year), or clears the cookie.
fn choices_cookie(choices: &[Choice], https: bool) -> Result<HeaderValue, PageError> {
    let secure = if https { "; Secure" } else { "" };
    let value = if choices.is_empty() {
        format!("{CHOICES_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}")
    } else {
        let parts: Vec<&str> = choices
            .iter()
            .map(|c| match c {
                Choice::SaleOptOut => "sale",
                Choice::SensitiveLimit => "limit",
            })
            .collect();
        format!(
            "{CHOICES_COOKIE}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}",
            parts.join(".")
        )
    };
    HeaderValue::from_str(&value).map_err(|_| PageError::internal())
}

#[derive(Template)]
#[template(path = "choices.html")]
struct ChoicesPage {
    layout: Layout,
    sale: bool,
    limit: bool,
    saved: bool,
}

#[derive(Deserialize)]
pub(crate) struct ChoicesQuery {
    #[serde(default)]
    saved: bool,
}

/// `GET /privacy/choices`: the choices, for a visitor who is not signed in; signed in, the
/// account's choices on `/privacy`.
pub(crate) async fn show(
    visitor: Visitor,
    headers: HeaderMap,
    Query(query): Query<ChoicesQuery>,
) -> Result<Response, PageError> {
    if visitor.signed_in.is_some() {
        return Ok(see_other("/privacy"));
    }
    let kept = kept_choices(&headers);
    let page = ChoicesPage {
        layout: Layout::new("Your privacy choices", &visitor),
        sale: kept.contains(&Choice::SaleOptOut) || visitor.privacy_signal,
        limit: kept.contains(&Choice::SensitiveLimit),
        saved: query.saved,
    };
    Ok(render(&page, &visitor))
}

#[derive(Deserialize)]
pub(crate) struct ChoiceForm {
    form_token: String,
    choice: String,
    on: bool,
}

/// `POST /privacy/choices`: makes or withdraws a choice in this browser (and, signed in, for
/// the account, as `/privacy` does).
pub(crate) async fn choose(
    State(state): State<WebState>,
    visitor: Visitor,
    OverHttps(https): OverHttps,
    headers: HeaderMap,
    Form(form): Form<ChoiceForm>,
) -> Result<Response, PageError> {
    visitor.check_form(&form.form_token)?;
    let choice = match form.choice.as_str() {
        "sale" => Choice::SaleOptOut,
        "limit" => Choice::SensitiveLimit,
        _ => return Err(PageError::not_found()),
    };
    if let Some(me) = &visitor.signed_in {
        // Withdrawing takes the second step that `/privacy` asks for; making one, none.
        if form.on {
            state
                .app
                .set_privacy_choice(&me.actor, choice, true, false, hearth_app::ChoiceBy::Page)
                .await?;
        }
        return Ok(see_other("/privacy"));
    }
    let mut kept = kept_choices(&headers);
    kept.retain(|c| *c != choice);
    if form.on {
        kept.push(choice);
    }
    let mut response = see_other("/privacy/choices?saved=true");
    response
        .headers_mut()
        .append(header::SET_COOKIE, choices_cookie(&kept, https)?);
    Ok(response)
}

/// Makes the choices this browser kept for the account that just signed in here, and
/// returns the `Set-Cookie` that clears them from the browser once they are the account's
/// (so that a later sign-in, perhaps another person's on a shared computer, does not make
/// them again). A failure leaves the cookie for the next sign-in and does not stop this one.
pub(crate) async fn carry_into_account(
    state: &WebState,
    headers: &HeaderMap,
    user: hearth_core::UserId,
    https: bool,
) -> Option<HeaderValue> {
    let kept = kept_choices(headers);
    if kept.is_empty() {
        return None;
    }
    match state.app.carry_browser_choices(user, &kept).await {
        Ok(()) => choices_cookie(&[], https).ok(),
        Err(error) => {
            tracing::warn!(%error, "a browser's privacy choices could not be made for its account yet");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_reads_back_the_choices_it_keeps_and_nothing_else() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("other=1; hearth_choices=limit.sale.bogus.sale"),
        );
        assert_eq!(
            kept_choices(&headers),
            vec![Choice::SensitiveLimit, Choice::SaleOptOut]
        );
        assert!(kept_choices(&HeaderMap::new()).is_empty());
    }
}
