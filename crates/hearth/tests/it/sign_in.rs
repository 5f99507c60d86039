//! Sign-in that cannot be turned against the account's owner: throttled per account and
//! network, one answer for every failure, atomic counting, and credentials that stay in
//! their lane.

use crate::harness::{Backend, TestServer, on_both_backends, password_of};
use serde_json::{Value, json};

on_both_backends!(
    guesses_from_one_network_never_lock_the_owner_out,
    unknown_wrong_and_throttled_sign_ins_answer_the_same,
    parallel_guesses_cannot_exceed_the_budget,
    changing_the_password_revokes_tokens_unless_asked_not_to,
    password_changes_are_rate_limited_per_account,
    a_session_secret_is_not_a_bearer_token,
    a_busy_client_cannot_starve_others_of_password_checks,
    a_known_device_signs_in_while_strangers_spend_the_shared_budget,
    a_password_change_keeps_the_owners_devices_and_networks_known,
    a_neighbour_cannot_keep_the_owner_out_of_a_known_network,
    many_networks_of_one_neighbourhood_share_its_budget,
    failures_are_audited_in_aggregate_and_unknown_logins_are_metered_alike,
    sessions_are_listed_and_signed_out_one_by_one_or_everywhere_else,
);

/// A server that believes `X-Forwarded-For` from loopback, so a test can speak from any
/// network; `budget` attempts per account and network.
async fn server_behind_proxy(backend: Backend, budget: i64) -> TestServer {
    TestServer::start_with(backend, |c| {
        c.max_failed_sign_ins = budget;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.sign_ins_per_minute_per_address = 1000;
    })
    .await
}

/// One sign-in attempt from `network`: the status and the body.
async fn attempt(server: &TestServer, network: &str, login: &str, password: &str) -> (u16, Value) {
    let response = crate::harness::http()
        .post(format!("{}/api/v1/sessions", server.base))
        .header("x-forwarded-for", network)
        .json(&json!({ "login": login, "password": password }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// One sign-in attempt from `network`, presenting the device cookie `device` if given: the
/// status and the device cookie the answer sets.
async fn attempt_on_device(
    server: &TestServer,
    network: &str,
    login: &str,
    password: &str,
    device: Option<&str>,
) -> (u16, Option<String>) {
    let mut request = crate::harness::http()
        .post(format!("{}/api/v1/sessions", server.base))
        .header("x-forwarded-for", network)
        .json(&json!({ "login": login, "password": password }));
    if let Some(device) = device {
        request = request.header("cookie", device);
    }
    let response = request.send().await.unwrap();
    let device = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("hearth_device="))
        .map(|c| {
            assert!(
                c.contains("HttpOnly") && c.contains("SameSite=Strict"),
                "{c}"
            );
            c.split(';').next().unwrap_or_default().to_string()
        });
    (response.status().as_u16(), device)
}

/// Guesses at `login` from `count` networks (IPv4 /24s of their own), each once.
async fn guesses_from_many_networks(server: &TestServer, login: &str, count: u32) {
    for i in 0..count {
        let network = format!("10.{}.{}.1", i / 256, i % 256);
        let (status, _) = attempt(server, &network, login, "a distributed guess").await;
        assert!(matches!(status, 401 | 429), "{status}");
    }
}

async fn guesses_from_one_network_never_lock_the_owner_out(backend: Backend) {
    let server = server_behind_proxy(backend, 3).await;
    let owner = server.member("owner").await;
    let right = password_of("owner");
    // The owner signs in from home once: that network is trusted from then on.
    assert_eq!(
        attempt(&server, "198.51.100.1", "owner", &right).await.0,
        201
    );
    // Someone guesses from elsewhere, again and again, until that network must wait well
    // beyond the next attempt (however slowly this machine runs the guesses).
    let user = hearth_core::UserId(owner.id.parse().unwrap());
    let mut blocked = false;
    for _ in 0..400 {
        let (status, _) = attempt(&server, "203.0.113.9", "owner", "a wrong guess!").await;
        assert_eq!(status, 401);
        let mut reader = server.app().store().reader().await.unwrap();
        let meters = reader.conn().sign_in_meters_of(user).await.unwrap();
        let now = hearth_core::Timestamp::now().millis();
        if meters.iter().any(|m| m.blocked_until > now + 1_500) {
            blocked = true;
            break;
        }
    }
    assert!(blocked, "the guesses never made that network wait");
    // From the guesser's network, even the right password now waits (and says nothing more).
    let (status, body) = attempt(&server, "203.0.113.9", "owner", &right).await;
    assert_eq!(status, 401, "{body}");
    // The owner is not locked out: from home, and from a network never seen before.
    assert_eq!(
        attempt(&server, "198.51.100.1", "owner", &right).await.0,
        201
    );
    assert_eq!(attempt(&server, "192.0.2.77", "owner", &right).await.0, 201);
    // IPv4 clients of a dual-stack listener are still told apart.
    assert_eq!(
        attempt(&server, "::ffff:192.0.2.78", "owner", &right)
            .await
            .0,
        201
    );
    owner.get("/api/v1/me").await.expect_status(200);
}

async fn unknown_wrong_and_throttled_sign_ins_answer_the_same(backend: Backend) {
    let server = server_behind_proxy(backend, 1).await;
    let net = "203.0.113.20";
    let member = server.member("member").await;
    let unknown = attempt(&server, net, "nobody-here", "some password").await;
    let wrong = attempt(&server, net, "member", "a wrong password").await;
    // Spend the budget until the next attempt must wait well beyond a password check. An
    // attempt made while a shorter wait is on does not lengthen it, so each wait is sat out
    // first (on a loaded machine the tries themselves may take longer than a wait).
    let user = hearth_core::UserId(member.id.parse().unwrap());
    let mut long_wait = false;
    for _ in 0..30 {
        attempt(&server, net, "member", "a wrong password").await;
        let mut reader = server.app().store().reader().await.unwrap();
        let meters = reader.conn().sign_in_meters_of(user).await.unwrap();
        let now = hearth_core::Timestamp::now().millis();
        if meters.iter().any(|m| m.blocked_until > now + 8_000) {
            long_wait = true;
            break;
        }
        let until = meters.iter().map(|m| m.blocked_until).max().unwrap_or(0);
        if until > now {
            let wait = u64::try_from(until - now).unwrap_or(0) + 50;
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        }
    }
    assert!(long_wait, "the budget was never spent");
    let throttled = attempt(&server, net, "member", &password_of("member")).await;
    assert_eq!(unknown.0, 401);
    assert_eq!(unknown, wrong);
    assert_eq!(wrong, throttled);
    assert_eq!(unknown.1["type"], "/problems/bad-credentials");
    // The failures are on record with the account as their object, never as their actor:
    // whoever guessed is not known to be its owner.
    let as_actor = server.app().audit_by_actor(user, 100).await.unwrap();
    assert!(
        as_actor
            .iter()
            .all(|e| e.action != "session.sign_in_failed"),
        "{as_actor:?}"
    );
}

async fn parallel_guesses_cannot_exceed_the_budget(backend: Backend) {
    let server = server_behind_proxy(backend, 3).await;
    let member = server.member("target").await;
    let user = hearth_core::UserId(member.id.parse().unwrap());
    // Volleys of guesses at once (some are turned away at the hashing queue, which admits
    // two per client at a time).
    for _ in 0..4 {
        let guesses = (0..6).map(|_| attempt(&server, "203.0.113.30", "target", "parallel guess"));
        let answers = futures_util::future::join_all(guesses).await;
        assert!(
            answers
                .iter()
                .all(|(status, _)| matches!(status, 401 | 429)),
            "{answers:?}"
        );
    }
    // Each attempt is counted before its password is checked, in one step: whatever the
    // interleaving, only the budget of three plus the one that spends it were checked (and,
    // should the volleys outlast the first one-second delay, one more).
    let mut reader = server.app().store().reader().await.unwrap();
    let meters = reader.conn().sign_in_meters_of(user).await.unwrap();
    let most = meters.iter().map(|m| m.failures).max().unwrap_or(0);
    assert!((4..=5).contains(&most), "{meters:?}");
}

async fn changing_the_password_revokes_tokens_unless_asked_not_to(backend: Backend) {
    let server = TestServer::start(backend).await;
    let member = server.member("changer").await;
    // By default, the API token dies with the old password.
    member
        .session
        .put(
            "/api/v1/me/password",
            json!({ "current_password": password_of("changer"), "new_password": "a brand new password" }),
        )
        .await
        .expect_status(204);
    member
        .get("/api/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    let listed = member
        .session
        .get("/api/v1/me/tokens")
        .await
        .expect_status(200);
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|t| !t["revoked_at"].is_null())
    );

    // Asked to keep them, tokens live on.
    let created = member
        .session
        .post("/api/v1/me/tokens", json!({ "name": "ci" }))
        .await
        .expect_status(201);
    let token = created.str("secret");
    member
        .session
        .put(
            "/api/v1/me/password",
            json!({ "current_password": "a brand new password", "new_password": "another new password",
                    "revoke_tokens": false }),
        )
        .await
        .expect_status(204);
    let mut with_token = server.anonymous();
    with_token.auth = crate::harness::Auth::Bearer(token);
    with_token.get("/api/v1/me").await.expect_status(200);
}

async fn password_changes_are_rate_limited_per_account(backend: Backend) {
    let server = TestServer::start(backend).await;
    let member = server.member("hasher").await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = member
            .put(
                "/api/v1/me/password",
                json!({ "current_password": "not the password", "new_password": "whatever new one",
                        "revoke_tokens": false }),
            )
            .await;
        statuses.push(r.status);
    }
    assert_eq!(statuses, [422, 422, 422, 422, 422, 429]);
}

async fn a_session_secret_is_not_a_bearer_token(backend: Backend) {
    let server = TestServer::start(backend).await;
    let member = server.member("lanes").await;
    // Use the session once, so that this node remembers it.
    member.session.get("/api/v1/me").await.expect_status(200);
    let crate::harness::Auth::Cookie(cookie) = member.session.auth.clone() else {
        unreachable!()
    };
    let secret = cookie.split_once('=').unwrap().1.to_string();
    let mut bearer = server.anonymous();
    bearer.auth = crate::harness::Auth::Bearer(secret);
    bearer
        .get("/api/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
}

async fn a_busy_client_cannot_starve_others_of_password_checks(backend: Backend) {
    let server = server_behind_proxy(backend, 1000).await;
    let _member = server.member("patient").await;
    // One client fires a volley of sign-ins at once: only two of its attempts may wait for
    // a password check at a time; the rest are turned away at once.
    let volley = (0..10).map(|_| attempt(&server, "203.0.113.50", "patient", "a wrong guess!"));
    let answers = futures_util::future::join_all(volley).await;
    let turned_away = answers.iter().filter(|(status, _)| *status == 429).count();
    assert!(turned_away >= 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(status, _)| matches!(status, 401 | 429))
    );
    // Meanwhile someone else signs in as usual.
    let (status, body) =
        attempt(&server, "198.51.100.50", "patient", &password_of("patient")).await;
    assert_eq!(status, 201, "{body}");
}

async fn a_known_device_signs_in_while_strangers_spend_the_shared_budget(backend: Backend) {
    let server = server_behind_proxy(backend, 2).await;
    let _owner = server.member("traveller").await;
    let right = password_of("traveller");
    // The owner's laptop signs in once and keeps the device cookie.
    let (status, device) =
        attempt_on_device(&server, "198.51.100.1", "traveller", &right, None).await;
    assert_eq!(status, 201);
    let device = device.unwrap();
    // Strangers guess from many networks: together they spend the account-wide budget (20),
    // until the account-wide meter (the one counting every guess) makes the next attempt
    // wait well beyond the checks below, however slowly this machine runs them. A guess made
    // while a shorter wait is on does not lengthen it, so each wait is sat out first.
    let user = hearth_core::UserId(_owner.id.parse().unwrap());
    let mut long_wait = false;
    for i in 0..200u32 {
        let network = format!("10.{}.{}.1", i / 256, i % 256);
        let (status, _) = attempt(&server, &network, "traveller", "a distributed guess").await;
        assert!(matches!(status, 401 | 429), "{status}");
        let mut reader = server.app().store().reader().await.unwrap();
        let meters = reader.conn().sign_in_meters_of(user).await.unwrap();
        let now = hearth_core::Timestamp::now().millis();
        let Some(account) = meters.iter().max_by_key(|m| m.failures) else {
            continue;
        };
        if account.blocked_until > now + 8_000 {
            long_wait = true;
            break;
        }
        if account.blocked_until > now {
            let wait = u64::try_from(account.blocked_until - now).unwrap_or(0) + 50;
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        }
    }
    assert!(long_wait, "the strangers never spent the budget");
    // From a network never seen before, without the cookie, even the right password waits.
    let (status, _) = attempt_on_device(&server, "192.0.2.10", "traveller", &right, None).await;
    assert_eq!(status, 401);
    // A made-up device secret counts for nothing.
    let (status, _) = attempt_on_device(
        &server,
        "192.0.2.12",
        "traveller",
        &right,
        Some("hearth_device=made-up"),
    )
    .await;
    assert_eq!(status, 401);
    // The laptop, from that same new network, is metered on its own and gets in; it keeps
    // its device secret.
    let (status, again) =
        attempt_on_device(&server, "192.0.2.11", "traveller", &right, Some(&device)).await;
    assert_eq!(status, 201);
    assert_eq!(again.as_deref(), Some(device.as_str()));
}

async fn a_password_change_keeps_the_owners_devices_and_networks_known(backend: Backend) {
    let server = server_behind_proxy(backend, 2).await;
    let laptop = server.member("careful").await;
    let old = password_of("careful");
    // The owner's phone signs in from the mobile network and keeps its device cookie.
    let (status, phone) = attempt_on_device(&server, "198.51.100.50", "careful", &old, None).await;
    assert_eq!(status, 201);
    // Noticing guesses, the owner changes the password on the laptop.
    let new = "a fresh new password";
    laptop
        .session
        .put(
            "/api/v1/me/password",
            json!({ "current_password": old, "new_password": new }),
        )
        .await
        .expect_status(204);
    // Strangers spend the shared budget; the phone and its network still get in with the new
    // password, and the old one no longer works anywhere.
    guesses_from_many_networks(&server, "careful", 30).await;
    let (status, _) =
        attempt_on_device(&server, "192.0.2.20", "careful", new, phone.as_deref()).await;
    assert_eq!(status, 201);
    let (status, _) = attempt_on_device(&server, "198.51.100.50", "careful", new, None).await;
    assert_eq!(status, 201);
    let (status, _) =
        attempt_on_device(&server, "198.51.100.50", "careful", &old, phone.as_deref()).await;
    assert_eq!(status, 401);
}

async fn a_neighbour_cannot_keep_the_owner_out_of_a_known_network(backend: Backend) {
    let server = server_behind_proxy(backend, 2).await;
    let _owner = server.member("homeowner").await;
    let right = password_of("homeowner");
    // The owner signs in from home (an API client: it keeps no device cookie).
    assert_eq!(
        attempt(&server, "198.51.100.1", "homeowner", &right)
            .await
            .0,
        201
    );
    // Someone else in the same /24 (a shared address pool) guesses, again and again.
    for i in 0..10 {
        let network = format!("198.51.100.{}", 200 + i);
        let (status, _) = attempt(&server, &network, "homeowner", "a neighbour's guess").await;
        assert_eq!(status, 401);
    }
    // The owner's own network is metered on its own.
    assert_eq!(
        attempt(&server, "198.51.100.1", "homeowner", &right)
            .await
            .0,
        201
    );
}

async fn many_networks_of_one_neighbourhood_share_its_budget(backend: Backend) {
    let server = server_behind_proxy(backend, 2).await;
    let _member = server.member("target6").await;
    let right = password_of("target6");
    // Every /64 of one /48 has a budget of its own (2), but the /48 takes 4 in all.
    let mut answers = Vec::new();
    for i in 0..8 {
        let network = format!("2001:db8:77:{i}::1");
        answers.push(
            attempt(&server, &network, "target6", "guess from a /64")
                .await
                .0,
        );
    }
    assert!(answers.iter().all(|s| *s == 401), "{answers:?}");
    // The fifth counted attempt spent it: now even the right password waits from the /48 ...
    let (status, _) = attempt(&server, "2001:db8:77:99::1", "target6", &right).await;
    assert_eq!(status, 401);
    // ... while another /48 is untouched.
    let (status, _) = attempt(&server, "2001:db8:78::1", "target6", &right).await;
    assert_eq!(status, 201);
}

async fn failures_are_audited_in_aggregate_and_unknown_logins_are_metered_alike(backend: Backend) {
    let server = server_behind_proxy(backend, 3).await;
    let member = server.member("audited").await;
    let user = hearth_core::UserId(member.id.parse().unwrap());
    for _ in 0..10 {
        let (status, _) = attempt(&server, "203.0.113.60", "audited", "wrong, wrong").await;
        assert_eq!(status, 401);
    }
    for _ in 0..10 {
        let (status, _) = attempt(&server, "203.0.113.60", "no-such-login", "wrong").await;
        assert_eq!(status, 401);
    }
    let mut reader = server.app().store().reader().await.unwrap();
    let failed = reader
        .conn()
        .audit_by_action("session.sign_in_failed", 100)
        .await
        .unwrap();
    // Per login: the first failure, and the one that started the delays (not one per try).
    let on_member = failed
        .iter()
        .filter(|e| e.object_id == Some(user.0))
        .count();
    let on_nobody = failed.iter().filter(|e| e.object_id.is_none()).count();
    assert!((1..=3).contains(&on_member), "{failed:?}");
    assert_eq!(on_member, on_nobody, "{failed:?}");
    // The unknown login was counted on meters of its own, not linked to anyone.
    let meters = reader.conn().sign_in_meters_of(user).await.unwrap();
    assert!(!meters.is_empty());
    let unlinked = reader
        .conn()
        .count_unchecked("SELECT COUNT(*) FROM sign_in_throttles WHERE user_id IS NULL".into())
        .await
        .unwrap();
    assert_eq!(
        unlinked, 3,
        "the unknown login's network, neighbourhood and account-wide meters"
    );
}

async fn sessions_are_listed_and_signed_out_one_by_one_or_everywhere_else(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let password = crate::harness::password_of("alice");
    let laptop = server.anonymous().sign_in("alice", &password).await;
    let phone = server.anonymous().sign_in("alice", &password).await;
    let listed = laptop.get("/api/v1/me/sessions").await.expect_status(200);
    let sessions = listed.body.as_array().unwrap().clone();
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    // What signed in and the network, shortened; never the address itself.
    assert!(
        sessions.iter().all(|s| s["network"] == "127.0.0.0/24"),
        "{sessions:?}"
    );
    assert!(
        sessions.iter().all(|s| s["device"] == "Unknown device"),
        "{sessions:?}"
    );
    let mine = |list: &[serde_json::Value]| {
        list.iter()
            .find(|s| s["current"] == true)
            .map(|s| s["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let laptop_id = mine(&sessions);
    let phone_id = mine(
        phone
            .get("/api/v1/me/sessions")
            .await
            .expect_status(200)
            .body
            .as_array()
            .unwrap(),
    );
    assert_ne!(laptop_id, phone_id);
    // Ids name sessions without being secrets: nothing in the list signs anyone in.
    for s in &sessions {
        assert_eq!(s["id"].as_str().unwrap().len(), 16);
    }

    // The laptop signs the phone out.
    laptop
        .delete(&format!("/api/v1/me/sessions/{phone_id}"))
        .await
        .expect_status(204);
    phone
        .get("/api/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    laptop
        .delete(&format!("/api/v1/me/sessions/{phone_id}"))
        .await
        .expect_problem(404, "not-found");
    // Someone else's session cannot be named.
    let bob = server.member("bob").await;
    bob.delete(&format!("/api/v1/me/sessions/{laptop_id}"))
        .await
        .expect_problem(404, "not-found");
    laptop.get("/api/v1/me").await.expect_status(200);

    // Everywhere else: the member's first session goes, the laptop stays.
    let ended = laptop
        .delete("/api/v1/me/sessions")
        .await
        .expect_status(200);
    assert_eq!(ended.body["ended"], 1);
    alice
        .session
        .get("/api/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    laptop.get("/api/v1/me").await.expect_status(200);
    // With an API token, every session ends; the token itself is not a session.
    alice.delete("/api/v1/me/sessions").await.expect_status(200);
    laptop
        .get("/api/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    alice.get("/api/v1/me").await.expect_status(200);

    // "Last used" follows use, noted every few minutes: a session signed in an hour ago and
    // used now shows now.
    let tablet = server.anonymous().sign_in("alice", &password).await;
    let hour_ago = hearth_core::Timestamp::now().plus_seconds(-3600).0;
    let sql = format!(
        "UPDATE sessions SET created_at = {hour_ago}, last_seen_at = {hour_ago} \
         WHERE user_id = {}",
        alice.id
    );
    server
        .app()
        .store()
        .write(move |tx| Box::pin(async move { tx.conn().execute_unchecked(sql).await }))
        .await
        .unwrap();
    let listed = tablet.get("/api/v1/me/sessions").await.expect_status(200);
    let session = &listed.body[0];
    let seen = session["last_seen_at"].as_str().unwrap().to_string();
    let created = session["created_at"].as_str().unwrap().to_string();
    assert!(seen > created, "last used {seen}, signed in {created}");
}
