//! Legal holds on a person's messages in a community, and what erasing a member does to
//! their messages where a community keeps them under "Deleted user".

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use hearth_core::{CommunityId, UserId};

/// A legal hold as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HoldRow {
    /// Its id.
    pub id: i64,
    /// The community whose messages of the person it holds.
    pub community_id: i64,
    /// The person, while they have an account.
    pub user_id: Option<i64>,
    /// Their id, kept once their account is gone.
    pub former_user_id: i64,
    /// Why.
    pub reason: String,
    /// When.
    pub set_at: i64,
}

const HOLD_COLUMNS: &str = "id, community_id, user_id, former_user_id, reason, set_at";

impl Conn<'_> {
    /// Records a hold.
    pub async fn insert_hold(&mut self, hold: &HoldRow) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO legal_holds (id, community_id, user_id, former_user_id, reason, set_at) \
             VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(hold.id).bind(hold.community_id).bind(hold.user_id).bind(hold.former_user_id)
            .bind(&hold.reason).bind(hold.set_at)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// A community's holds, newest first.
    pub async fn holds_of(&mut self, community: CommunityId) -> Result<Vec<HoldRow>, StoreError> {
        let sql = format!(
            "SELECT {HOLD_COLUMNS} FROM legal_holds WHERE community_id = $1 ORDER BY id DESC"
        );
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, HoldRow>(sqlx::AssertSqlSafe(sql))
            .bind(community.0).fetch_all(&mut **c).await?),
        )
    }

    /// One of a community's holds.
    pub async fn hold(
        &mut self,
        community: CommunityId,
        id: i64,
    ) -> Result<Option<HoldRow>, StoreError> {
        let sql =
            format!("SELECT {HOLD_COLUMNS} FROM legal_holds WHERE id = $1 AND community_id = $2");
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, HoldRow>(sqlx::AssertSqlSafe(sql))
            .bind(id).bind(community.0).fetch_optional(&mut **c).await?),
        )
    }

    /// The holds in force on a person: (hold, community, community name, reason).
    pub async fn holds_on(
        &mut self,
        user: UserId,
    ) -> Result<Vec<(i64, i64, String, String)>, StoreError> {
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, (i64, i64, String, String)>(
            "SELECT h.id, h.community_id, c.name, h.reason FROM legal_holds h \
             JOIN communities c ON c.id = h.community_id \
             WHERE h.user_id = $1 ORDER BY h.id")
            .bind(user.0).fetch_all(&mut **c).await?),
        )
    }

    /// Releases a hold: it goes, and with it what it kept (the held texts). Returns it as it
    /// was.
    pub async fn release_hold(
        &mut self,
        community: CommunityId,
        id: i64,
    ) -> Result<Option<HoldRow>, StoreError> {
        let held = self.hold(community, id).await?;
        if held.is_some() {
            dispatch!(self, c => sqlx::query("DELETE FROM held_messages WHERE hold_id = $1")
                .bind(id).execute(&mut **c).await?.rows_affected());
            dispatch!(self, c => sqlx::query("DELETE FROM legal_holds WHERE id = $1")
                .bind(id).execute(&mut **c).await?.rows_affected());
        }
        Ok(held)
    }

    /// The member of `community` with this username.
    pub async fn member_named(
        &mut self,
        community: CommunityId,
        username: &str,
    ) -> Result<Option<UserId>, StoreError> {
        let id: Option<i64> = dispatch!(self, c => sqlx::query_scalar(
            "SELECT u.id FROM users u JOIN community_members m ON m.user_id = u.id \
             WHERE m.community_id = $1 AND u.username = $2")
            .bind(community.0).bind(username).fetch_optional(&mut **c).await?);
        Ok(id.map(UserId))
    }

    /// Whether the person has a hold in the community already.
    pub async fn holds_person(
        &mut self,
        community: CommunityId,
        user: UserId,
    ) -> Result<bool, StoreError> {
        Ok(dispatch!(self, c => sqlx::query(
            "SELECT 1 FROM legal_holds WHERE community_id = $1 AND former_user_id = $2")
            .bind(community.0).bind(user.0).fetch_optional(&mut **c).await?.is_some()))
    }

    /// Keeps a person's messages in a community through their erasure, under `hold`: each
    /// text is sealed again for no one and moved into the hold, and the message becomes a
    /// tombstone with no author, as erasure leaves any message (its search entry goes), so
    /// that no reader sees held text and the erasure plan passes it by. Returns how many.
    pub async fn hold_messages(
        &mut self,
        hold: i64,
        user: UserId,
        community: i64,
    ) -> Result<u64, StoreError> {
        let rows: Vec<(i64, Option<Vec<u8>>)> = dispatch!(self, c => sqlx::query_as(
            "SELECT m.id, m.body FROM messages m JOIN channels ch ON ch.id = m.channel_id \
             WHERE m.author_id = $1 AND ch.community_id = $2 AND m.deleted_at IS NULL")
            .bind(user.0).bind(community).fetch_all(&mut **c).await?);
        for (id, body) in &rows {
            let resealed = match body {
                Some(sealed) => {
                    let plain = self.sealer.open(user, sealed)?;
                    Some(self.sealer.seal(crate::sealing::NO_ONE, &plain))
                }
                None => None,
            };
            dispatch!(self, c => sqlx::query(
                "INSERT INTO held_messages (hold_id, message_id, body) VALUES ($1, $2, $3)")
                .bind(hold).bind(id).bind(&resealed).execute(&mut **c).await?.rows_affected());
            dispatch!(self, c => sqlx::query("DELETE FROM message_search WHERE message_id = $1")
                .bind(id).execute(&mut **c).await?.rows_affected());
            dispatch!(self, c => sqlx::query(
                "UPDATE messages SET author_id = NULL, body = NULL WHERE id = $1")
                .bind(id).execute(&mut **c).await?.rows_affected());
        }
        Ok(rows.len() as u64)
    }

    /// Keeps an erased person's messages in the communities that keep them under "Deleted
    /// user": no longer linked to the person, so the erasure passes them by (their earlier
    /// versions still go). Returns how many.
    pub async fn keep_messages_of(&mut self, user: UserId) -> Result<u64, StoreError> {
        let ids: Vec<i64> = dispatch!(self, c => sqlx::query_scalar(
            "SELECT m.id FROM messages m JOIN channels ch ON ch.id = m.channel_id \
             JOIN communities c ON c.id = ch.community_id \
             WHERE m.author_id = $1 AND c.erased_messages = 'keep' AND m.deleted_at IS NULL")
            .bind(user.0).fetch_all(&mut **c).await?);
        self.detach_messages(user, &ids).await
    }

    /// Lets go of the person's messages `ids`: each body is sealed again for no one (so the
    /// person's key can go), the author link cleared, and the search entry kept, unnamed.
    async fn detach_messages(&mut self, user: UserId, ids: &[i64]) -> Result<u64, StoreError> {
        let mut done = 0;
        for id in ids {
            let body: Option<Vec<u8>> = dispatch!(self, c => sqlx::query_scalar(
                "SELECT body FROM messages WHERE id = $1 AND author_id = $2")
                .bind(id).bind(user.0).fetch_optional(&mut **c).await?)
            .flatten();
            let resealed = match body {
                Some(sealed) => {
                    let plain = self.sealer.open(user, &sealed)?;
                    Some(self.sealer.seal(crate::sealing::NO_ONE, &plain))
                }
                None => None,
            };
            dispatch!(self, c => sqlx::query(
                "UPDATE message_search SET author_id = NULL WHERE message_id = $1")
                .bind(id).execute(&mut **c).await?.rows_affected());
            done += dispatch!(self, c => sqlx::query(
                "UPDATE messages SET author_id = NULL, body = $3 WHERE id = $1 AND author_id = $2")
                .bind(id).bind(user.0).bind(resealed).execute(&mut **c).await?.rows_affected());
        }
        Ok(done)
    }

    /// What erasing a member does to their messages in a community: `remove` or `keep`.
    pub async fn erased_messages(
        &mut self,
        community: CommunityId,
    ) -> Result<Option<String>, StoreError> {
        Ok(dispatch!(self, c => sqlx::query_scalar::<_, String>(
            "SELECT erased_messages FROM communities WHERE id = $1")
            .bind(community.0).fetch_optional(&mut **c).await?))
    }

    /// Sets it.
    pub async fn set_erased_messages(
        &mut self,
        community: CommunityId,
        choice: &str,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "UPDATE communities SET erased_messages = $2 WHERE id = $1")
            .bind(community.0).bind(choice).execute(&mut **c).await?.rows_affected());
        Ok(())
    }
}
