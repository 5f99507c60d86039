//! What community roles allow over messages, and how ownership passes on.

use crate::harness::{Backend, Member, TestServer, on_both_backends};
use serde_json::json;

on_both_backends!(
    moderators_do_not_delete_the_messages_of_those_who_outrank_them,
    a_member_who_left_still_deletes_their_own_messages_and_only_those,
    the_owner_hands_the_community_to_a_member_and_stays_on_as_admin,
);

/// Gives `member` a role in `community`, as `by`.
pub(crate) async fn give_role(by: &Member, community: &str, member: &Member, role: &str) {
    by.put(
        &format!("/api/v1/communities/{community}/members/{}/role", member.id),
        json!({ "role": role }),
    )
    .await
    .expect_status(204);
}

async fn moderators_do_not_delete_the_messages_of_those_who_outrank_them(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.member("olga").await;
    let admin = server.member("adam").await;
    let moderator = server.member("mona").await;
    let member = server.member("mike").await;
    let community = owner.create_community("ranks").await;
    for person in [&admin, &moderator, &member] {
        person.join(&community).await;
    }
    give_role(&owner, &community, &admin, "admin").await;
    give_role(&owner, &community, &moderator, "moderator").await;
    let general = owner.general_channel(&community).await;
    let by_owner = owner.say(&general, "From the owner").await;
    let by_admin = admin.say(&general, "From an admin").await;
    let by_moderator = moderator.say(&general, "From a moderator").await;
    let by_member = member.say(&general, "From a member").await;

    // Outranked: refused, and the message stays.
    for (who, message) in [
        (&moderator, &by_admin),
        (&moderator, &by_owner),
        (&admin, &by_owner),
    ] {
        who.delete(&format!("/api/v1/messages/{message}"))
            .await
            .expect_problem(403, "forbidden");
        let still = owner
            .get(&format!("/api/v1/messages/{message}"))
            .await
            .expect_status(200);
        assert!(still.body["deleted_at"].is_null());
    }

    // Those below them: allowed.
    for (who, message) in [
        (&moderator, &by_member),
        (&admin, &by_moderator),
        (&owner, &by_admin),
    ] {
        who.delete(&format!("/api/v1/messages/{message}"))
            .await
            .expect_status(204);
    }
}

async fn a_member_who_left_still_deletes_their_own_messages_and_only_those(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.member("alice").await;
    let bob = server.member("bob").await;
    let eve = server.member("eve").await;
    let community = alice.create_community("leavers").await;
    bob.join(&community).await;
    let general = alice.general_channel(&community).await;
    let hers = alice.say(&general, "Welcome, everyone").await;
    let his = bob.say(&general, "Something I will regret").await;
    bob.post(&format!("/api/v1/communities/{community}/leave"), json!({}))
        .await
        .expect_status(204);

    // Gone from the community, Bob can no longer read it, nor touch others' messages...
    bob.get(&format!("/api/v1/messages/{hers}"))
        .await
        .expect_problem(404, "not-found");
    bob.delete(&format!("/api/v1/messages/{hers}"))
        .await
        .expect_problem(404, "not-found");
    // ...nor can a stranger...
    eve.delete(&format!("/api/v1/messages/{his}"))
        .await
        .expect_problem(404, "not-found");
    // ...but what he wrote is still his to delete.
    bob.delete(&format!("/api/v1/messages/{his}"))
        .await
        .expect_status(204);
    let gone = alice
        .get(&format!("/api/v1/messages/{his}"))
        .await
        .expect_status(200);
    assert!(gone.body["body"].is_null());
    assert!(gone.body["deleted_at"].is_string());
    bob.delete(&format!("/api/v1/messages/{his}"))
        .await
        .expect_problem(404, "not-found");
}

async fn the_owner_hands_the_community_to_a_member_and_stays_on_as_admin(backend: Backend) {
    let server = TestServer::start(backend).await;
    let olga = server.member("olga").await;
    let adam = server.member("adam").await;
    let mike = server.member("mike").await;
    let eve = server.member("eve").await;
    let community = olga.create_community("heirs").await;
    adam.join(&community).await;
    mike.join(&community).await;
    give_role(&olga, &community, &adam, "admin").await;
    let transfer = format!("/api/v1/communities/{community}/transfer");

    // Only the owner hands the community on, only to a member; outsiders do not see it.
    for (who, to) in [(&mike, &adam), (&adam, &mike)] {
        who.post(&transfer, json!({ "user_id": to.id }))
            .await
            .expect_problem(403, "forbidden");
    }
    eve.post(&transfer, json!({ "user_id": eve.id }))
        .await
        .expect_problem(404, "not-found");
    olga.post(&transfer, json!({ "user_id": eve.id }))
        .await
        .expect_problem(404, "not-found");
    olga.post(&transfer, json!({ "user_id": olga.id }))
        .await
        .expect_problem(422, "validation");

    olga.post(&transfer, json!({ "user_id": adam.id }))
        .await
        .expect_status(204);
    let seen = adam
        .get(&format!("/api/v1/communities/{community}"))
        .await
        .expect_status(200);
    assert_eq!(seen.str("owner_id"), adam.id);
    assert_eq!(seen.body["role"], "owner");
    let members = adam
        .get(&format!("/api/v1/communities/{community}/members"))
        .await
        .expect_status(200);
    let role_of = |id: &str| {
        members
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user"]["id"] == id)
            .map(|m| m["role"].clone())
            .unwrap()
    };
    assert_eq!(role_of(&adam.id), "owner");
    assert_eq!(role_of(&olga.id), "admin");

    // The new owner holds the keys; the old one is an admin who may now leave.
    olga.post(&transfer, json!({ "user_id": mike.id }))
        .await
        .expect_problem(403, "forbidden");
    adam.post(&format!("/api/v1/communities/{community}/leave"), json!({}))
        .await
        .expect_problem(409, "conflict");
    olga.post(&format!("/api/v1/communities/{community}/leave"), json!({}))
        .await
        .expect_status(204);

    let olga_id = hearth_core::UserId(olga.id.parse().unwrap());
    let entries = server.app().audit_by_actor(olga_id, 100).await.unwrap();
    let adam_id: i64 = adam.id.parse().unwrap();
    let community_id: i64 = community.parse().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "community.ownership_transferred"
                && e.object_kind == "user"
                && e.object_id == Some(adam_id)
                && e.community_id == Some(community_id)),
        "{entries:?}"
    );
}
