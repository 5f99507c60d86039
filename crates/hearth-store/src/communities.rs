//! Communities, memberships and invitations.

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use crate::rows::{CommunityRow, InviteRow, StoredInvite, parse_role};
use hearth_core::model::{Community, Invite, JoinPolicy, Membership, Role};
use hearth_core::{ChannelId, CommunityId, InviteId, Timestamp, UserId};

/// A community with the role of the member it was looked up for.
#[derive(Debug, sqlx::FromRow)]
struct RoleCommunityRow {
    #[sqlx(flatten)]
    community: CommunityRow,
    role: String,
}

/// A community with the number of required answers someone owes it.
#[derive(sqlx::FromRow)]
struct OwingRow {
    #[sqlx(flatten)]
    community: CommunityRow,
    owed: i64,
}

impl Conn<'_> {
    /// Inserts a community.
    pub async fn insert_community(&mut self, community: &Community) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO communities (id, slug, name, description, join_policy, owner_id, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
            .bind(community.id.0).bind(&community.slug).bind(&community.name)
            .bind(&community.description).bind(community.join_policy.as_str())
            .bind(community.owner_id.0).bind(community.created_at.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// The community with this id.
    pub async fn community(&mut self, id: CommunityId) -> Result<Option<Community>, StoreError> {
        let row: Option<CommunityRow> = dispatch!(self, c => sqlx::query_as(
            "SELECT id, slug, name, description, join_policy, owner_id, created_at, \
             require_two_factor \
             FROM communities WHERE id = $1")
            .bind(id.0).fetch_optional(&mut **c).await?);
        row.map(Community::try_from).transpose()
    }

    /// A community, with how many of its required profile fields `user` has not answered.
    pub async fn community_owing(
        &mut self,
        id: CommunityId,
        user: UserId,
    ) -> Result<Option<(Community, i64)>, StoreError> {
        let row: Option<OwingRow> = dispatch!(self, c => sqlx::query_as(
            "SELECT id, slug, name, description, join_policy, owner_id, created_at, \
             require_two_factor, (SELECT COUNT(*) FROM profile_fields f WHERE f.community_id = communities.id \
              AND f.required AND NOT EXISTS (SELECT 1 FROM profile_values v \
                                             WHERE v.field_id = f.id AND v.user_id = $2)) \
             AS owed FROM communities WHERE id = $1")
            .bind(id.0).bind(user.0).fetch_optional(&mut **c).await?);
        row.map(|r| Ok((Community::try_from(r.community)?, r.owed)))
            .transpose()
    }

    /// The communities `user` owns, by id: their account cannot go while they own any.
    pub async fn communities_owned_by(
        &mut self,
        user: UserId,
    ) -> Result<Vec<Community>, StoreError> {
        let rows: Vec<CommunityRow> = dispatch!(self, c => sqlx::query_as(
            "SELECT id, slug, name, description, join_policy, owner_id, created_at, \
             require_two_factor FROM communities WHERE owner_id = $1 ORDER BY id")
            .bind(user.0).fetch_all(&mut **c).await?);
        rows.into_iter().map(Community::try_from).collect()
    }

    /// Whether a slug is taken.
    pub async fn slug_taken(&mut self, slug: &str) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = dispatch!(self, c =>
            sqlx::query_as("SELECT id FROM communities WHERE slug = $1")
                .bind(slug).fetch_optional(&mut **c).await?);
        Ok(row.is_some())
    }

    /// Saves a community's editable settings.
    pub async fn update_community(
        &mut self,
        community: &Community,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "UPDATE communities SET name = $2, description = $3, join_policy = $4, \
             updated_at = $5, require_two_factor = $6 WHERE id = $1")
            .bind(community.id.0).bind(&community.name).bind(&community.description)
            .bind(community.join_policy.as_str()).bind(now.0).bind(community.require_two_factor)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Makes `to` the owner of a community that `from` owns; returns whether it did. The
    /// condition on the current owner makes a concurrent second transfer find nothing to do.
    pub async fn set_owner(
        &mut self,
        community: CommunityId,
        from: UserId,
        to: UserId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "UPDATE communities SET owner_id = $3, updated_at = $4 \
             WHERE id = $1 AND owner_id = $2")
            .bind(community.0).bind(from.0).bind(to.0).bind(now.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(done > 0)
    }

    /// A page of the communities a user belongs to, with their role in each, by id, after
    /// the given one.
    pub async fn communities_of(
        &mut self,
        user: UserId,
        after: Option<CommunityId>,
        limit: i64,
    ) -> Result<Vec<(Community, Role)>, StoreError> {
        let rows: Vec<RoleCommunityRow> = dispatch!(self, c => sqlx::query_as(
            "SELECT c.id, c.slug, c.name, c.description, c.join_policy, c.owner_id, \
             c.created_at, c.require_two_factor, m.role FROM communities c \
             JOIN community_members m ON m.community_id = c.id \
             WHERE m.user_id = $1 AND c.id > $2 ORDER BY c.id LIMIT $3")
            .bind(user.0).bind(after.map_or(0, |a| a.0)).bind(limit)
            .fetch_all(&mut **c).await?);
        rows.into_iter()
            .map(|row| Ok((Community::try_from(row.community)?, parse_role(&row.role)?)))
            .collect()
    }

    /// Open communities, by id, for the directory.
    pub async fn open_communities(
        &mut self,
        after: Option<CommunityId>,
        limit: i64,
    ) -> Result<Vec<Community>, StoreError> {
        let rows: Vec<CommunityRow> = dispatch!(self, c => sqlx::query_as(
            "SELECT id, slug, name, description, join_policy, owner_id, created_at, \
             require_two_factor \
             FROM communities WHERE join_policy = $1 AND id > $2 ORDER BY id LIMIT $3")
            .bind(JoinPolicy::Open.as_str()).bind(after.map_or(0, |a| a.0)).bind(limit)
            .fetch_all(&mut **c).await?);
        rows.into_iter().map(Community::try_from).collect()
    }

    /// Adds a member.
    pub async fn insert_member(
        &mut self,
        community: CommunityId,
        user: UserId,
        role: Role,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO community_members (community_id, user_id, role, joined_at) \
             VALUES ($1, $2, $3, $4)")
            .bind(community.0).bind(user.0).bind(role.as_str()).bind(now.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// A user's role in a community, if they are a member.
    pub async fn member_role(
        &mut self,
        community: CommunityId,
        user: UserId,
    ) -> Result<Option<Role>, StoreError> {
        let row: Option<(String,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT role FROM community_members WHERE community_id = $1 AND user_id = $2")
            .bind(community.0).bind(user.0).fetch_optional(&mut **c).await?);
        row.map(|(role,)| parse_role(&role)).transpose()
    }

    /// A member's role, and whether they are held back from its powers because the community
    /// requires a second factor that they have not turned on.
    pub async fn acting_role(
        &mut self,
        community: CommunityId,
        user: UserId,
    ) -> Result<Option<(Role, bool)>, StoreError> {
        let row: Option<(String, bool)> = dispatch!(self, c => sqlx::query_as(
            "SELECT m.role, (c.require_two_factor AND NOT EXISTS (SELECT 1 FROM two_factor t \
                 WHERE t.user_id = m.user_id AND t.enabled_at IS NOT NULL)) \
             FROM community_members m JOIN communities c ON c.id = m.community_id \
             WHERE m.community_id = $1 AND m.user_id = $2")
            .bind(community.0).bind(user.0).fetch_optional(&mut **c).await?);
        row.map(|(role, held)| Ok((parse_role(&role)?, held)))
            .transpose()
    }

    /// Whether `user` owns a community that requires a second factor of its moderators and
    /// admins.
    pub async fn owns_a_community_requiring_two_factor(
        &mut self,
        user: UserId,
    ) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT id FROM communities WHERE owner_id = $1 AND require_two_factor LIMIT 1")
            .bind(user.0).fetch_optional(&mut **c).await?);
        Ok(row.is_some())
    }

    /// Changes a member's role.
    pub async fn set_member_role(
        &mut self,
        community: CommunityId,
        user: UserId,
        expected: Role,
        role: Role,
    ) -> Result<bool, StoreError> {
        // Conditional on the role the caller read: a change made meanwhile on another node
        // (a leave, a removal, another role change) makes this find nothing to do, and the
        // caller fails rather than overwrite it.
        let done = dispatch!(self, c => sqlx::query(
            "UPDATE community_members SET role = $3 \
             WHERE community_id = $1 AND user_id = $2 AND role = $4")
            .bind(community.0).bind(user.0).bind(role.as_str()).bind(expected.as_str())
            .execute(&mut **c).await?.rows_affected());
        Ok(done == 1)
    }

    /// Removes a member (never the owner) and their channel memberships in the community;
    /// returns whether they were removed, and the channels they left.
    pub async fn delete_member(
        &mut self,
        community: CommunityId,
        user: UserId,
    ) -> Result<(bool, Vec<ChannelId>), StoreError> {
        // The owner never goes this way, even if they became owner on another node since the
        // caller read their role: ownership must be handed on first.
        let done = dispatch!(self, c => sqlx::query(
            "DELETE FROM community_members WHERE community_id = $1 AND user_id = $2 \
             AND role <> 'owner'")
            .bind(community.0).bind(user.0).execute(&mut **c).await?.rows_affected());
        if done == 0 {
            return Ok((false, Vec::new()));
        }
        let left: Vec<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "DELETE FROM channel_members WHERE user_id = $2 AND channel_id IN \
             (SELECT id FROM channels WHERE community_id = $1) RETURNING channel_id")
            .bind(community.0).bind(user.0).fetch_all(&mut **c).await?);
        dispatch!(self, c => sqlx::query(
            "DELETE FROM channel_reads WHERE user_id = $2 AND channel_id IN \
             (SELECT id FROM channels WHERE community_id = $1)")
            .bind(community.0).bind(user.0).execute(&mut **c).await?.rows_affected());
        Ok((
            done > 0,
            left.into_iter().map(|(id,)| ChannelId(id)).collect(),
        ))
    }

    /// Whether two people share at least one community.
    pub async fn share_a_community(&mut self, a: UserId, b: UserId) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT a.community_id FROM community_members a JOIN community_members b \
             ON a.community_id = b.community_id WHERE a.user_id = $1 AND b.user_id = $2 LIMIT 1")
            .bind(a.0).bind(b.0).fetch_optional(&mut **c).await?);
        Ok(row.is_some())
    }

    /// The account with this username, if it shares a community with `with`: found or not in
    /// one query, so that whether a stranger holds a name takes no longer to learn than
    /// whether anyone does.
    pub async fn fellow_member_named(
        &mut self,
        with: UserId,
        username: &str,
    ) -> Result<Option<UserId>, StoreError> {
        let row: Option<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT u.id FROM users u WHERE u.username = $2 AND EXISTS \
             (SELECT 1 FROM community_members a JOIN community_members b \
              ON a.community_id = b.community_id WHERE a.user_id = $1 AND b.user_id = u.id)")
            .bind(with.0).bind(username).fetch_optional(&mut **c).await?);
        Ok(row.map(|(id,)| UserId(id)))
    }

    /// A page of members, ordered by user id, after the given one.
    pub async fn members(
        &mut self,
        community: CommunityId,
        after: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<Membership>, StoreError> {
        let rows: Vec<(i64, String, i64, String, String)> = dispatch!(self, c => sqlx::query_as(
            "SELECT m.user_id, m.role, m.joined_at, u.username, u.display_name \
             FROM community_members m JOIN users u ON u.id = m.user_id \
             WHERE m.community_id = $1 AND m.user_id > $2 ORDER BY m.user_id LIMIT $3")
            .bind(community.0).bind(after.map_or(0, |a| a.0)).bind(limit)
            .fetch_all(&mut **c).await?);
        rows.into_iter()
            .map(|(user_id, role, joined_at, username, display_name)| {
                Ok(Membership {
                    community_id: community,
                    user: hearth_core::model::PublicUser {
                        id: UserId(user_id),
                        username,
                        display_name,
                    },
                    role: parse_role(&role)?,
                    joined_at: Timestamp(joined_at),
                })
            })
            .collect()
    }

    /// Inserts an invitation.
    pub async fn insert_invite(
        &mut self,
        invite: &hearth_core::model::Invite,
        created_by: UserId,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO invites (id, community_id, code, created_by, created_at, expires_at, \
             max_uses) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(invite.id.0).bind(invite.community_id.0).bind(&invite.code)
            .bind(created_by.0).bind(invite.created_at.0)
            .bind(invite.expires_at.map(|t| t.0)).bind(invite.max_uses)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// The invitation with this code.
    pub async fn invite_by_code(&mut self, code: &str) -> Result<Option<StoredInvite>, StoreError> {
        let row: Option<InviteRow> = dispatch!(self, c => sqlx::query_as(
            "SELECT id, community_id, code, expires_at, max_uses, uses, revoked_at, created_at \
             FROM invites WHERE code = $1")
            .bind(code).fetch_optional(&mut **c).await?);
        Ok(row.map(StoredInvite::from))
    }

    /// A page of a community's unrevoked invitations, newest first, older than `before`.
    pub async fn live_invites_of(
        &mut self,
        community: CommunityId,
        before: Option<InviteId>,
        limit: i64,
    ) -> Result<Vec<Invite>, StoreError> {
        let rows: Vec<InviteRow> = dispatch!(self, c => sqlx::query_as(
            "SELECT id, community_id, code, expires_at, max_uses, uses, revoked_at, created_at \
             FROM invites WHERE community_id = $1 AND revoked_at IS NULL AND id < $2 \
             ORDER BY id DESC LIMIT $3")
            .bind(community.0).bind(before.map_or(i64::MAX, |b| b.0)).bind(limit)
            .fetch_all(&mut **c).await?);
        Ok(rows
            .into_iter()
            .map(|row| StoredInvite::from(row).invite)
            .collect())
    }

    /// Counts one use of an invitation if it is still live and has a use left; returns
    /// whether it did. The check and the count are one statement, so two nodes accepting the
    /// last use at once cannot both have it (on PostgreSQL the second waits for the first's
    /// row lock, then sees its count).
    pub async fn use_invite(&mut self, id: InviteId, now: Timestamp) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "UPDATE invites SET uses = uses + 1 WHERE id = $1 AND revoked_at IS NULL \
             AND (max_uses IS NULL OR uses < max_uses) \
             AND (expires_at IS NULL OR expires_at > $2)")
            .bind(id.0).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(done == 1)
    }

    /// Revokes an invitation of a community; returns whether one was revoked.
    pub async fn revoke_invite(
        &mut self,
        community: CommunityId,
        id: InviteId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "UPDATE invites SET revoked_at = $3 \
             WHERE id = $1 AND community_id = $2 AND revoked_at IS NULL")
            .bind(id.0).bind(community.0).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(done > 0)
    }
}
