//! The web pages over plain HTTP: forms refuse other sites and stale tokens, every page keeps
//! to itself (CSP, no framing, no caching), text is escaped, and pages show only what the
//! visitor may see.

use crate::harness::{Auth, Backend, TestServer, on_both_backends};
use serde_json::json;

on_both_backends!(
    forms_from_other_sites_or_without_their_token_are_refused,
    pages_carry_their_security_headers_and_escape_what_people_wrote,
    a_channel_page_is_for_its_members_only,
    the_setup_page_creates_the_operator_only_with_the_code_from_the_log,
    only_the_author_edits_and_only_those_who_may_delete_see_delete,
    unread_counts_follow_what_each_member_has_read,
    an_invitation_page_cannot_aim_its_form_at_another_action,
    a_visit_another_site_sends_changes_nothing,
    invitation_links_use_the_configured_public_address,
    profile_pages_escape_what_people_wrote_and_hide_admins_only_answers,
    a_conversation_with_several_people_starts_from_their_usernames,
);

/// A browser-like client that keeps no cookies of its own and never follows redirects.
fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The form token a page's forms carry.
fn form_token_in(html: &str) -> String {
    html.split("name=\"form_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string()
}

/// The form cookie and token a signed-out page hands out.
async fn form_cookie_and_token(server: &TestServer) -> (String, String) {
    let page = plain_client()
        .get(format!("{}/sign-in", server.base))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = page.text().await.unwrap();
    let token = form_token_in(&html);
    (cookie, token)
}

async fn forms_from_other_sites_or_without_their_token_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let _member = server.member("formal").await;
    let (cookie, token) = form_cookie_and_token(&server).await;
    let sign_in = |origin: Option<&'static str>, token: String| {
        let mut request = plain_client()
            .post(format!("{}/sign-in", server.base))
            .header("cookie", cookie.clone())
            .form(&[
                ("form_token", token.as_str()),
                ("login", "formal"),
                ("password", &crate::harness::password_of("formal")),
            ]);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    // From another site: refused, whatever the token.
    let refused = sign_in(Some("http://elsewhere.example"), token.clone())
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    // Without the page's token: refused.
    let stale = sign_in(None, "0".repeat(32)).await.unwrap();
    assert_eq!(stale.status(), 403);
    assert!(
        stale
            .text()
            .await
            .unwrap()
            .contains("This form has expired")
    );
    // With it: signed in, and sent on to one's communities with a session cookie.
    let signed_in = sign_in(None, token).await.unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], "/communities");
    let cookies: Vec<_> = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("hearth_session=") && c.contains("HttpOnly")),
        "{cookies:?}"
    );
}

async fn pages_carry_their_security_headers_and_escape_what_people_wrote(backend: Backend) {
    let server = TestServer::start(backend).await;
    let member = server.member("writer").await;
    let community = member.create_community("escapes").await;
    let general = member.general_channel(&community).await;
    member
        .say(&general, "<script>alert('x')</script> & \"quotes\"")
        .await;
    let page = get_as(&server, &member, &format!("/channels/{general}")).await;
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "same-origin");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("<script>alert"),
        "unescaped text on the page"
    );
    assert!(html.contains("&#60;script&#62;alert") || html.contains("&lt;script&gt;alert"));
    // The only script is our own file, never inline.
    assert_eq!(html.matches("<script").count(), 1);
    assert!(html.contains("<script src=\"/assets/hearth-"));
    // Assets are immutable under their hashed names.
    let css = html
        .split("href=\"/assets/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let asset = plain_client()
        .get(format!("{}/assets/{css}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    assert!(
        asset.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
}

async fn a_channel_page_is_for_its_members_only(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.member("keeper").await;
    let outsider = server.member("outsider").await;
    let community = owner.create_community("members-only").await;
    let secret = owner
        .create_channel(&community, "backroom", "private")
        .await;
    owner.say(&secret, "for members' eyes").await;
    // Signed out: to the sign-in page.
    let anonymous = plain_client()
        .get(format!("{}/channels/{secret}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()["location"], "/sign-in");
    // Signed in but not a member: not found, and nothing of the channel shows.
    let page = get_as(&server, &outsider, &format!("/channels/{secret}")).await;
    assert_eq!(page.status(), 404);
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Not found</h1>"), "{html}");
    assert!(!html.contains("members' eyes") && !html.contains("backroom"));
}

async fn the_setup_page_creates_the_operator_only_with_the_code_from_the_log(backend: Backend) {
    let server = TestServer::start(backend).await;
    let code = server.app().first_run_code().await.unwrap().unwrap();
    let (cookie, token) = form_cookie_and_token(&server).await;
    let set_up = |code: String| {
        plain_client()
            .post(format!("{}/setup", server.base))
            .header("cookie", cookie.clone())
            .form(&[
                ("form_token", token.as_str()),
                ("code", code.as_str()),
                ("email", "ops@example.org"),
                ("username", "ops"),
                ("display_name", "Operator"),
                ("password", "the operator's password"),
            ])
            .send()
    };
    let page = plain_client()
        .get(format!("{}/setup", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // A stranger without the code gets nowhere.
    let guessed = set_up("a-guessed-code".into()).await.unwrap();
    assert_eq!(guessed.status(), 422);
    assert!(!server.app().operator_exists().await.unwrap());
    // Whoever read the log does.
    let done = set_up(code.clone()).await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(
        done.text()
            .await
            .unwrap()
            .contains("The operator account is ready")
    );
    assert!(server.app().operator_exists().await.unwrap());
    // Then the page is gone, code or not.
    assert_eq!(set_up(code).await.unwrap().status(), 404);
    let gone = plain_client()
        .get(format!("{}/setup", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    assert_eq!(server.app().first_run_code().await.unwrap(), None);
}

/// The page at `path` as `member` sees it.
pub(crate) async fn page_as(
    server: &TestServer,
    member: &crate::harness::Member,
    path: &str,
) -> (u16, String) {
    let response = get_as(server, member, path).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

/// `GET path` with `member`'s session cookie, redirects not followed.
async fn get_as(
    server: &TestServer,
    member: &crate::harness::Member,
    path: &str,
) -> reqwest::Response {
    let Auth::Cookie(session) = member.session.auth.clone() else {
        unreachable!()
    };
    plain_client()
        .get(format!("{}{path}", server.base))
        .header("cookie", session)
        .send()
        .await
        .unwrap()
}

async fn only_the_author_edits_and_only_those_who_may_delete_see_delete(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.member("owner").await;
    let member = server.member("member").await;
    let community = owner.create_community("actions").await;
    member.join(&community).await;
    let general = owner.general_channel(&community).await;
    let by_owner = owner.say(&general, "the owner speaks").await;
    let by_member = member.say(&general, "a member speaks").await;
    let (_, as_member) = page_as(&server, &member, &format!("/channels/{general}")).await;
    assert!(as_member.contains(&format!("/messages/{by_member}/edit")));
    assert!(as_member.contains(&format!("/messages/{by_member}/delete")));
    assert!(!as_member.contains(&format!("/messages/{by_owner}/edit")));
    assert!(!as_member.contains(&format!("/messages/{by_owner}/delete")));
    let (_, as_owner) = page_as(&server, &owner, &format!("/channels/{general}")).await;
    assert!(!as_owner.contains(&format!("/messages/{by_member}/edit")));
    assert!(as_owner.contains(&format!("/messages/{by_member}/delete")));
    // The buttons are only a courtesy: the use case refuses what the member may not do.
    let Auth::Cookie(session) = member.session.auth.clone() else {
        unreachable!()
    };
    let html = page_as(&server, &member, &format!("/messages/{by_member}/edit"))
        .await
        .1;
    let token = form_token_in(&html);
    for (path, body) in [
        (
            format!("/messages/{by_owner}/edit"),
            vec![
                ("form_token", token.clone()),
                ("body", "hijacked".to_string()),
            ],
        ),
        (
            format!("/messages/{by_owner}/delete"),
            vec![("form_token", token.clone())],
        ),
    ] {
        let refused = plain_client()
            .post(format!("{}{path}", server.base))
            .header("cookie", session.clone())
            .form(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "{path}");
    }
    let (_, still) = page_as(&server, &owner, &format!("/channels/{general}")).await;
    assert!(still.contains("the owner speaks") && !still.contains("hijacked"));
}

async fn unread_counts_follow_what_each_member_has_read(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let community = alice.create_community("unread").await;
    bob.join(&community).await;
    let general = alice.general_channel(&community).await;
    let random = alice.create_channel(&community, "random", "public").await;
    bob.post(&format!("/api/v1/channels/{random}/members"), json!({}))
        .await
        .expect_status(204);
    let unread = |member: &crate::harness::Member, channel: &str| {
        let path = format!("/api/v1/channels/{channel}/read");
        let client = member.client.clone();
        async move { client.get(&path).await.expect_status(200).body["unread"].as_i64() }
    };
    for n in 0..3 {
        alice.say(&random, &format!("news {n}")).await;
    }
    bob.say(&random, "bob's own words count for nobody but alice")
        .await;
    assert_eq!(unread(&bob, &random).await, Some(3));
    assert_eq!(unread(&alice, &random).await, Some(1));
    // Bob's page of #general shows three unread in #random.
    let (_, page) = page_as(&server, &bob, &format!("/channels/{general}")).await;
    assert!(page.contains("aria-label=\"3 unread\""), "{page}");
    // Opening #random reads it; back in #general, no badge.
    page_as(&server, &bob, &format!("/channels/{random}")).await;
    assert_eq!(unread(&bob, &random).await, Some(0));
    let (_, page) = page_as(&server, &bob, &format!("/channels/{general}")).await;
    assert!(!page.contains("class=\"unread\""), "{page}");
    // The API moves the marker too, and never back.
    let newest = alice.say(&random, "one more").await;
    assert_eq!(unread(&bob, &random).await, Some(1));
    bob.put(
        &format!("/api/v1/channels/{random}/read"),
        json!({ "message_id": newest }),
    )
    .await
    .expect_status(204);
    assert_eq!(unread(&bob, &random).await, Some(0));
    bob.put(
        &format!("/api/v1/channels/{random}/read"),
        json!({ "message_id": "1" }),
    )
    .await
    .expect_status(204);
    assert_eq!(unread(&bob, &random).await, Some(0));
    // Leaving forgets the marker: nothing of where bob stood stays behind.
    bob.delete(&format!("/api/v1/channels/{random}/members/me"))
        .await
        .expect_status(204);
    let Some(store) = server.server.as_ref().map(|s| s.app.store().clone()) else {
        unreachable!()
    };
    let mut reader = store.reader().await.unwrap();
    let bob_id = hearth_core::UserId(bob.id.parse().unwrap());
    let channel = hearth_core::ChannelId(random.parse().unwrap());
    assert_eq!(
        reader.conn().read_marker(bob_id, channel).await.unwrap(),
        None
    );
}

async fn an_invitation_page_cannot_aim_its_form_at_another_action(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.member("owner").await;
    let victim = server.member("victim").await;
    let community = owner.create_community("aimed").await;
    victim.join(&community).await;
    // A "code" that walks out of /invite/ to the member-removal form.
    let crafted = format!(
        "/invite/..%2Fcommunities%2F{community}%2Fmembers%2F{}%2Fremove",
        victim.id
    );
    let (status, html) = page_as(&server, &owner, &crafted).await;
    assert_eq!(status, 404, "{html}");
    // A real code's page posts it as a field to a fixed address.
    let invite = owner
        .post(
            &format!("/api/v1/communities/{community}/invites"),
            json!({}),
        )
        .await
        .expect_status(201);
    let code = invite.str("code");
    let (status, html) = page_as(&server, &victim, &format!("/invite/{code}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("action=\"/invite\""), "{html}");
    assert!(
        html.contains(&format!("name=\"code\" value=\"{code}\"")),
        "{html}"
    );
}

async fn a_visit_another_site_sends_changes_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let community = alice.create_community("elsewhere").await;
    bob.join(&community).await;
    let general = alice.general_channel(&community).await;
    alice.say(&general, "unread until bob looks").await;
    let Auth::Cookie(session) = bob.session.auth.clone() else {
        unreachable!()
    };
    let unread = || async {
        bob.get(&format!("/api/v1/channels/{general}/read"))
            .await
            .expect_status(200)
            .body["unread"]
            .as_i64()
    };
    assert_eq!(unread().await, Some(1));
    // A link followed from another site shows the page but marks nothing read.
    let page = plain_client()
        .get(format!("{}/channels/{general}", server.base))
        .header("cookie", session.clone())
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(unread().await, Some(1));
    // Bob's own visit does.
    page_as(&server, &bob, &format!("/channels/{general}")).await;
    assert_eq!(unread().await, Some(0));
}

async fn invitation_links_use_the_configured_public_address(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.public_url = "https://chat.example.org/".into();
    })
    .await;
    let owner = server.member("owner").await;
    let community = owner.create_community("linked").await;
    let invite = owner
        .post(
            &format!("/api/v1/communities/{community}/invites"),
            json!({}),
        )
        .await
        .expect_status(201);
    let code = invite.str("code");
    let (status, html) = page_as(
        &server,
        &owner,
        &format!("/communities/{community}/settings"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("https://chat.example.org/invite/{code}")),
        "{html}"
    );
}

async fn profile_pages_escape_what_people_wrote_and_hide_admins_only_answers(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.member("owner").await;
    let bob = server.member("bob").await;
    let carol = server.member("carol").await;
    let community = owner.create_community("escapes").await;
    let field = |label: &str, visibility: &str| {
        json!({ "label": label, "kind": "text", "visibility": visibility,
                "category": "identifiers" })
    };
    let shown = owner
        .post(
            &format!("/api/v1/communities/{community}/profile-fields"),
            field("<b>Town</b>", "members"),
        )
        .await
        .expect_status(201)
        .str("id");
    let hidden = owner
        .post(
            &format!("/api/v1/communities/{community}/profile-fields"),
            field("Phone", "admins"),
        )
        .await
        .expect_status(201)
        .str("id");
    bob.post(
        &format!("/api/v1/communities/{community}/join"),
        json!({ "profile": { shown: "<img src=x onerror=alert(1)>", hidden: "555-0100" } }),
    )
    .await
    .expect_status(201);
    carol.join(&community).await;
    bob.patch(
        "/api/v1/me",
        json!({ "about": "<script>alert(1)</script>" }),
    )
    .await
    .expect_status(200);

    let page = format!("/communities/{community}/members/{}", bob.id);
    let (status, html) = page_as(&server, &carol, &page).await;
    assert_eq!(status, 200, "{html}");
    for raw in ["<script>alert", "<img src=x", "<b>Town"] {
        assert!(!html.contains(raw), "{raw} reached the page unescaped");
    }
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    assert!(html.contains("&#60;b&#62;Town&#60;/b&#62;"), "{html}");
    assert!(
        !html.contains("555-0100"),
        "an admins-only answer reached a member"
    );
    let (_, html) = page_as(&server, &owner, &page).await;
    assert!(html.contains("555-0100"), "the owner does not see it");
    let (_, html) = page_as(&server, &bob, &format!("/users/{}", bob.id)).await;
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    // A required field added after carol joined: her channel pages ask her to answer it.
    let general = owner.general_channel(&community).await;
    let owed = "asks its members something you have not answered yet";
    assert!(
        !page_as(&server, &carol, &format!("/channels/{general}"))
            .await
            .1
            .contains(owed)
    );
    let rules = owner
        .post(
            &format!("/api/v1/communities/{community}/profile-fields"),
            json!({ "label": "I accept the rules", "kind": "checkbox", "required": true,
                    "category": "inferences" }),
        )
        .await
        .expect_status(201)
        .str("id");
    let (_, html) = page_as(&server, &carol, &format!("/channels/{general}")).await;
    assert!(html.contains(owed), "{html}");
    assert!(html.contains(&format!("/communities/{community}/profile")));
    carol
        .put(
            &format!("/api/v1/communities/{community}/profile"),
            json!({ "profile": { rules: true } }),
        )
        .await
        .expect_status(200);
    assert!(
        !page_as(&server, &carol, &format!("/channels/{general}"))
            .await
            .1
            .contains(owed)
    );

    // Someone outside the community reaches neither page.
    let outsider = server.member("outsider").await;
    assert_eq!(page_as(&server, &outsider, &page).await.0, 404);
    assert_eq!(
        page_as(
            &server,
            &outsider,
            &format!("/communities/{community}/fields")
        )
        .await
        .0,
        404
    );
    assert_eq!(
        page_as(&server, &carol, &format!("/communities/{community}/fields"))
            .await
            .0,
        403
    );
}

async fn a_conversation_with_several_people_starts_from_their_usernames(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ana = server.member("ana").await;
    let ben = server.member("ben").await;
    let cy = server.member("cyd").await;
    let _stranger = server.member("stranger").await;
    let community = ana.create_community("trio").await;
    ben.join(&community).await;
    cy.join(&community).await;
    let Auth::Cookie(session) = ana.session.auth.clone() else {
        unreachable!()
    };
    let (_, html) = page_as(&server, &ana, "/direct").await;
    let token = form_token_in(&html);
    let start = |usernames: &str| {
        plain_client()
            .post(format!("{}/direct", server.base))
            .header("cookie", session.clone())
            .form(&[("form_token", token.as_str()), ("usernames", usernames)])
            .send()
    };
    // Someone ana shares no community with, and a name no one holds, get the same answer.
    let mut refusals = Vec::new();
    for names in ["ben, stranger", "ben nobody-here"] {
        let refused = start(names).await.unwrap();
        assert_eq!(refused.status(), 422, "{names}");
        let html = refused.text().await.unwrap();
        let error = html
            .split("class=\"error\" role=\"alert\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap_or_default()
            .to_string();
        assert!(html.contains(&format!("value=\"{names}\"")), "{html}");
        refusals.push(error);
    }
    assert_eq!(refusals[0], refusals[1]);
    assert!(!refusals[0].is_empty());

    let opened = start("@ben, cyd").await.unwrap();
    assert_eq!(opened.status(), 303);
    let to = opened.headers()["location"].to_str().unwrap().to_string();
    let channel = to.trim_start_matches("/channels/").to_string();
    // All three are in it, and naming them again (in another order) finds it again.
    let members = cy
        .get(&format!("/api/v1/channels/{channel}/members"))
        .await
        .expect_status(200);
    assert_eq!(members.body.as_array().unwrap().len(), 3);
    let again = start("cyd ben").await.unwrap();
    assert_eq!(again.headers()["location"].to_str().unwrap(), to);
}
