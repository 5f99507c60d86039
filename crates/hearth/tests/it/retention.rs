//! The retention sweep deletes what the data catalog says is kept no longer.

use crate::harness::{Backend, TestServer, on_both_backends, password_of};
use hearth_app::{StoreError, SweepReport};
use hearth_core::Timestamp;

on_both_backends!(
    expired_sessions_and_events_past_their_days_are_swept,
    audit_entries_past_their_catalogued_months_are_swept_in_batches,
);

async fn expired_sessions_and_events_past_their_days_are_swept(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let community = alice.create_community("sweep").await;
    let general = alice.general_channel(&community).await;
    let old: i64 = alice.say(&general, "old news").await.parse().unwrap();
    let fresh: i64 = alice.say(&general, "fresh news").await.parse().unwrap();
    let stale = server
        .anonymous()
        .sign_in("alice", &password_of("alice"))
        .await;
    // A post made with an idempotency key remembers it for a day.
    let crate::harness::Auth::Bearer(token) = alice.client.auth.clone() else {
        unreachable!()
    };
    let actor = server.app().authenticate_token(&token).await.unwrap();
    let channel = hearth_core::ChannelId(general.parse().unwrap());
    server
        .app()
        .post_message_once(&actor, channel, "once", None, &[], "key-1")
        .await
        .unwrap();

    // Age the first post's event past the catalogued 7 days, and let the newest session
    // (the stale one) expire a moment ago.
    let eight_days_ago = Timestamp::now().plus_seconds(-8 * 24 * 3600).millis();
    let just_now = Timestamp::now().plus_seconds(-1).millis();
    let month_ago = Timestamp::now().plus_seconds(-31 * 24 * 3600).millis();
    let far_off = Timestamp::now().plus_seconds(365 * 24 * 3600).millis();
    let store = server.app().store();
    let age = [
        format!("UPDATE events SET at = {eight_days_ago} WHERE object_id = {old}"),
        format!(
            "UPDATE sessions SET expires_at = {just_now} \
             WHERE created_at = (SELECT MAX(created_at) FROM sessions)"
        ),
        // Alice's five sign-in meters go quiet: her network's, her neighbourhood's, the
        // account-wide one, and the two devices she signed in on (the harness keeps no
        // device cookie).
        format!("UPDATE sign_in_throttles SET updated_at = {eight_days_ago}, trusted_until = 0"),
        format!("UPDATE post_idempotency SET created_at = {eight_days_ago}"),
        // Alice's address confirmation link expired a moment ago.
        format!("UPDATE account_links SET expires_at = {just_now}"),
        // Jobs: one finished 31 days ago goes; one finished today, and one queued long ago
        // (not finished), stay.
        format!(
            "INSERT INTO jobs (id, kind, payload, state, run_at, attempts, max_attempts, \
             created_at, updated_at) VALUES \
             (91, 'old.done', '{{}}', 'done', 0, 1, 5, 0, {month_ago}), \
             (92, 'new.done', '{{}}', 'done', 0, 1, 5, 0, {just_now}), \
             (93, 'old.queued', '{{}}', 'queued', {far_off}, 0, 5, 0, {month_ago})"
        ),
        // A webhook's delivery log keeps 30 days: one of 31 days ago goes, today's stays.
        format!(
            "INSERT INTO webhooks (id, community_id, name, url, secret, channel_ids, recipient, \
             created_at, dispatched_through) \
             SELECT 81, community_id, 'Archive', 'https://hooks.example.org/', 'k', '', \
             'third_party', 0, 0 FROM channels WHERE id = {general}"
        ),
        format!(
            "INSERT INTO webhook_deliveries (id, webhook_id, event, object_id, state, attempts, \
             created_at) VALUES (82, 81, 'message.posted', 1, 'delivered', 1, {month_ago}), \
             (83, 81, 'message.posted', 2, 'delivered', 1, {just_now})"
        ),
    ];
    for sql in age {
        store
            .write(move |tx| Box::pin(async move { tx.conn().execute_unchecked(sql).await }))
            .await
            .map_err(|e: StoreError| e)
            .unwrap();
    }

    // The outbox keeps messages a week.
    let outbox = server.config.outbox_path();
    std::fs::create_dir_all(&outbox).unwrap();
    for (name, days) in [("old.eml", 8), ("new.eml", 6)] {
        let file = std::fs::File::create(outbox.join(name)).unwrap();
        let age = std::time::Duration::from_secs(days * 24 * 3600);
        file.set_modified(std::time::SystemTime::now() - age)
            .unwrap();
    }

    let swept = server.app().sweep_retention().await.unwrap();
    assert_eq!(
        swept,
        SweepReport {
            events: 1,
            audit_entries: 0,
            sessions: 1,
            sign_in_meters: 5,
            idempotency_keys: 1,
            uploads: 0,
            jobs: 1,
            account_links: 1,
            outbox: 1,
            privacy_requests: 0,
            exports: 0,
            webhook_deliveries: 1,
            unconfirmed_requests: 0,
            search_purged: 0,
        }
    );
    assert!(!outbox.join("old.eml").exists() && outbox.join("new.eml").exists());
    let jobs: Vec<i64> = server
        .app()
        .jobs(None, 100)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert!(
        !jobs.contains(&91) && jobs.contains(&92) && jobs.contains(&93),
        "{jobs:?}"
    );
    let remaining: Vec<i64> = {
        let mut reader = store.reader().await.unwrap();
        let events = reader.conn().events_after(0, 100).await.unwrap();
        events.iter().map(|e| e.object_id).collect()
    };
    assert!(!remaining.contains(&old), "{remaining:?}");
    assert!(remaining.contains(&fresh), "{remaining:?}");

    // The live session still works; the expired one is gone for good.
    alice.session.get("/api/v1/me").await.expect_status(200);
    stale
        .get("/api/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    assert_eq!(
        server.app().sweep_retention().await.unwrap(),
        SweepReport::default()
    );
}

async fn audit_entries_past_their_catalogued_months_are_swept_in_batches(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    alice.create_community("records").await;
    let store = server.app().store();
    let count = || async {
        let mut reader = store.reader().await.unwrap();
        reader.conn().audit_dump().await.unwrap().lines().count()
    };
    let recent = count().await;
    assert!(recent > 0);

    // The catalog keeps audit entries 24 months: 1,200 entries (more than one batch) are 25
    // months old, one is a day short of 24 months, and the ones just written are new.
    let now = Timestamp::now();
    let expired = now.minus_months(25).millis();
    let kept = now.minus_months(24).plus_seconds(24 * 3600).millis();
    let mut rows: Vec<String> = (1..=1200)
        .map(|id| format!("({id}, {expired}, NULL, 'message.posted', 'message', {id}, NULL)"))
        .collect();
    rows.push(format!(
        "(1201, {kept}, NULL, 'message.posted', 'message', 1201, NULL)"
    ));
    let sql = format!(
        "INSERT INTO audit_log (id, at, actor_id, action, object_kind, object_id, community_id) \
         VALUES {}",
        rows.join(", ")
    );
    store
        .write(move |tx| Box::pin(async move { tx.conn().execute_unchecked(sql).await }))
        .await
        .map_err(|e: StoreError| e)
        .unwrap();
    assert_eq!(count().await, recent + 1201);

    let swept = server.app().sweep_retention().await.unwrap();
    assert_eq!(swept.audit_entries, 1200, "{swept:?}");
    assert_eq!(count().await, recent + 1);
    assert_eq!(
        server.app().sweep_retention().await.unwrap(),
        SweepReport::default()
    );
}
