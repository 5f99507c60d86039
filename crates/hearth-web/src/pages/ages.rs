//! Minors on the pages: the age questions of the join and invitation forms, the parent's
//! consent page a mailed link opens, and the page a child sees while their parent is asked.

use crate::WebState;
use crate::extract::cookie;
use crate::pages::settings::day_and_time;
use crate::pages::{Layout, PageError, Visitor, link_page, render_with_status, see_other};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header::{REFERRER_POLICY, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use hearth_app::{
    AGE_REFUSAL, AgeAnswer, AgePolicy, AppError, ExportInfo, ExportState, ParentalRequest,
};
use hearth_core::ages::{AgeGroup, AgeQuestion};
use hearth_core::{CommunityId, DomainError, Timestamp};
use serde::Deserialize;

/// The cookie that keeps, in this browser alone, that `community` refused the age given
/// there: answering again with another age (the back button) meets the same refusal for a
/// day. Hearth itself keeps nothing of a refusal.
fn refusal_cookie(community: CommunityId) -> String {
    format!("hearth_age_refused_{}", community.0)
}

/// A join by this browser that `community` refused for age within the day, as the error the
/// refusal was; `Ok` for a browser that was not refused.
pub(crate) fn refused_here_before(
    headers: &HeaderMap,
    community: CommunityId,
) -> Result<(), AppError> {
    match cookie(headers, &refusal_cookie(community)) {
        Some(_) => Err(DomainError::Forbidden(AGE_REFUSAL).into()),
        None => Ok(()),
    }
}

/// Remembers in the browser that `community` refused it for age.
pub(crate) fn remember_refusal(response: &mut Response, community: CommunityId, https: bool) {
    let secure = if https { "; Secure" } else { "" };
    let value = format!(
        "{}=1; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax{secure}",
        refusal_cookie(community)
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

/// The age questions of a join form, with what was sent.
pub(crate) struct AgeForm {
    /// `none`, `birth_date` or `bracket`.
    pub(crate) question: &'static str,
    /// The youngest age admitted: 0 admits children under 13 with a parent's consent.
    pub(crate) minimum_age: u8,
    /// The groups a bracket offers: code, label.
    pub(crate) groups: Vec<(&'static str, &'static str)>,
    pub(crate) birth_date: String,
    pub(crate) age_group: String,
    pub(crate) parent_email: String,
}

impl AgeForm {
    pub(crate) fn of(policy: AgePolicy, sent: &AgeAnswer) -> AgeForm {
        AgeForm {
            question: policy.question.code(),
            minimum_age: policy.minimum_age,
            groups: AgeGroup::ALL
                .into_iter()
                .map(|g| (g.code(), g.label()))
                .collect(),
            birth_date: sent.birth_date.clone().unwrap_or_default(),
            age_group: sent.age_group.clone().unwrap_or_default(),
            parent_email: sent.parent_email.clone().unwrap_or_default(),
        }
    }

    /// Whether the form asks anything.
    pub(crate) fn asks(&self) -> bool {
        self.question != AgeQuestion::None.code()
    }

    /// What the form asks, in a sentence. It does not say the youngest age admitted before
    /// the answer: a neutral question gets a truer answer.
    pub(crate) fn rule(&self) -> &'static str {
        if self.minimum_age == 0 {
            "This community asks your age. Under 13, a parent or guardian consents to your \
             joining; from 13 to 15, you consent yourself."
        } else {
            "This community asks your age."
        }
    }
}

/// The age answer a join form sent.
pub(crate) fn answer_from_form(form: &[(String, String)]) -> AgeAnswer {
    let value = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    AgeAnswer {
        birth_date: value("birth_date"),
        age_group: value("age_group"),
        consent: value("minor_consent").is_some(),
        allow_sale: value("allow_sale").is_some(),
        parent_email: value("parent_email"),
    }
}

#[derive(Template)]
#[template(path = "parent_asked.html")]
pub(crate) struct ParentAskedPage {
    pub(crate) layout: Layout,
    pub(crate) community_name: String,
}

/// The page a child under 13 sees once their parent is asked.
pub(crate) fn parent_asked(visitor: &Visitor, community_name: String) -> Response {
    let page = ParentAskedPage {
        layout: Layout::new("A parent's consent", visitor),
        community_name,
    };
    render_with_status(StatusCode::ACCEPTED, &page, visitor)
}

#[derive(Template)]
#[template(path = "parental_consent.html")]
struct ConsentPage {
    layout: Layout,
    community: i64,
    community_name: String,
    username: String,
    token: String,
    /// Set once answered: whether they consented.
    answered: Option<bool>,
    /// The community's statement in force, as safe HTML, for the parent to read first.
    statement_html: Option<String>,
    /// Or the link to the owner's own policy.
    statement_url: Option<String>,
}

impl ConsentPage {
    fn new(
        visitor: &Visitor,
        asked: ParentalRequest,
        token: String,
        answered: Option<bool>,
    ) -> Self {
        ConsentPage {
            layout: Layout::new("A parent's consent", visitor),
            community: asked.community.0,
            community_name: asked.community_name,
            username: asked.username,
            token,
            answered,
            statement_html: None,
            statement_url: None,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
    /// `asked` once the parent asked for a copy.
    copy: Option<String>,
}

/// `GET /parental-consent/{community}?token=`: what the child asked, and the two buttons.
pub(crate) async fn consent_page(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(community): Path<i64>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let (asked, statement) = state
        .app
        .statement_for_parent(CommunityId(community), &query.token)
        .await?;
    let mut page = ConsentPage::new(&visitor, asked, query.token, None);
    page.statement_html = statement
        .markdown
        .as_deref()
        .map(crate::statement_html::to_safe_html);
    page.statement_url = statement.url;
    // The address holds the link's secret: no other site may see it in a Referer.
    Ok(link_page(StatusCode::OK, &page, &visitor))
}

#[derive(Deserialize)]
pub(crate) struct ConsentForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    answer: String,
}

/// `POST /parental-consent/{community}`: the parent consents or refuses. The link is the
/// proof; the parent needs no account, so the form carries no session token.
pub(crate) async fn answer(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(community): Path<i64>,
    Form(form): Form<ConsentForm>,
) -> Result<Response, PageError> {
    let consent = match form.answer.as_str() {
        "consent" => true,
        "refuse" => false,
        _ => return Err(PageError::bad_request("answer must be consent or refuse")),
    };
    let asked = state
        .app
        .answer_parental_request(CommunityId(community), &form.token, consent)
        .await?;
    let page = ConsentPage::new(&visitor, asked, String::new(), Some(consent));
    Ok(link_page(StatusCode::OK, &page, &visitor))
}

#[derive(Template)]
#[template(path = "parental_withdraw.html")]
struct WithdrawPage {
    layout: Layout,
    community: i64,
    community_name: String,
    username: String,
    token: String,
    withdrawn: bool,
    /// The copies of the child's data made for the parent: id, when asked, where it stands,
    /// whether it can be downloaded now.
    copies: Vec<(i64, String, &'static str, bool)>,
    /// Whether a copy was just asked for.
    copy_asked: bool,
}

impl WithdrawPage {
    fn new(visitor: &Visitor, asked: ParentalRequest, token: String, withdrawn: bool) -> Self {
        WithdrawPage {
            layout: Layout::new("Your consent as a parent", visitor),
            community: asked.community.0,
            community_name: asked.community_name,
            username: asked.username,
            token,
            withdrawn,
            copies: Vec::new(),
            copy_asked: false,
        }
    }

    /// The parent's page with the copies made for them.
    fn with_copies(mut self, copies: Vec<ExportInfo>) -> Self {
        let now = Timestamp::now();
        self.copies = copies
            .into_iter()
            .map(|copy| {
                let ready = copy.offered(now);
                let stands = match copy.state {
                    ExportState::Preparing => "being made",
                    ExportState::Ready if ready => "ready to download",
                    ExportState::Ready => "expired",
                    ExportState::Failed => "could not be made",
                };
                (copy.id, day_and_time(copy.requested_at), stands, ready)
            })
            .collect();
        self
    }
}

/// `GET /parental-consent/{community}/withdraw?token=`: what withdrawing does, and its button.
pub(crate) async fn withdraw_page(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(community): Path<i64>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let (asked, copies) = state
        .app
        .parental_copies(CommunityId(community), &query.token)
        .await?;
    let mut page = WithdrawPage::new(&visitor, asked, query.token, false).with_copies(copies);
    page.copy_asked = query.copy.as_deref() == Some("asked");
    Ok(link_page(StatusCode::OK, &page, &visitor))
}

/// `POST /parental-consent/{community}/copy`: the parent asks for a copy of everything the
/// child's account holds, then sees their page again (which lists it), so that reloading
/// asks nothing more.
pub(crate) async fn ask_copy(
    State(state): State<WebState>,
    Path(community): Path<i64>,
    Form(form): Form<ConsentForm>,
) -> Result<Response, PageError> {
    state
        .app
        .request_parental_copy(CommunityId(community), &form.token)
        .await?;
    let mut response = see_other(&format!(
        "/parental-consent/{community}/withdraw?token={}&copy=asked",
        form.token
    ));
    response
        .headers_mut()
        .insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(response)
}

/// `GET /parental-consent/{community}/copies/{id}?token=`: a copy's ZIP, to the parent
/// holding the link, while it is offered.
pub(crate) async fn download_copy(
    State(state): State<WebState>,
    Path((community, id)): Path<(i64, i64)>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let (export, path) = state
        .app
        .parental_copy_file(CommunityId(community), &query.token, id)
        .await?;
    let mut response = crate::api::export_response(&export, &path).await?;
    response
        .headers_mut()
        .insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(response)
}

/// `POST /parental-consent/{community}/withdraw`: the parent withdraws; the child's account
/// is deleted.
pub(crate) async fn withdraw(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(community): Path<i64>,
    Form(form): Form<ConsentForm>,
) -> Result<Response, PageError> {
    let asked = state
        .app
        .withdraw_parental_consent(CommunityId(community), &form.token)
        .await?;
    let page = WithdrawPage::new(&visitor, asked, String::new(), true);
    Ok(link_page(StatusCode::OK, &page, &visitor))
}
