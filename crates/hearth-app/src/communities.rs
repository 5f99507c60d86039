//! Communities: creation, settings, joining (open or by invitation), leaving and removal.

use crate::actor::Actor;
use crate::ages::{AgeAnswer, AgeCheck, Joining, ask_parent, check_age, record_admission};
use crate::audit::record;
use crate::events::{MEMBER_JOINED, MEMBER_LEFT};
use crate::profiles::{Answers, joining_answers, write_answers};
use crate::secrets::random_token;
use crate::{App, AppError};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::model::{Channel, ChannelKind, Community, Invite, JoinPolicy, Membership, Role};
use hearth_core::permissions::{Action, allows, may_assign, may_remove};
use hearth_core::profile::ProfileField;
use hearth_core::{
    ChannelId, CommunityId, DomainError, InviteId, PageSize, Timestamp, UserId, debug_fields,
    validate,
};
use hearth_store::{Conn, Tx};
use std::sync::Arc;

/// What it takes to create a community.
#[derive(Clone)]
pub struct NewCommunity {
    /// URL-safe unique name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// What it is about.
    pub description: String,
    /// How people join.
    pub join_policy: JoinPolicy,
    /// The ids of the legal terms' versions in force, which the creator accepts for the
    /// community (empty when the operator has published none).
    pub accepted_terms: Vec<i64>,
}

/// Settings to change; `None` leaves a setting as it is.
#[derive(Clone, Default)]
pub struct CommunitySettings {
    /// New display name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New join policy.
    pub join_policy: Option<JoinPolicy>,
    /// Whether moderators and admins must sign in with a second factor (the owner only, who
    /// must have it on themself to turn this on).
    pub require_two_factor: Option<bool>,
}

debug_fields!(NewCommunity { join_policy });
debug_fields!(CommunitySettings {
    join_policy,
    require_two_factor
});

/// An invitation to create.
#[derive(Debug, Clone, Default)]
pub struct NewInvite {
    /// Seconds until it expires; never if `None`.
    pub expires_in_secs: Option<i64>,
    /// Joins it allows; unlimited if `None`.
    pub max_uses: Option<i64>,
}

/// The caller's role in a community, or `NotFound` when they are not a member: communities
/// one does not belong to are not revealed through member-only actions.
pub(crate) async fn role_in(
    conn: &mut Conn<'_>,
    community: CommunityId,
    user: UserId,
) -> Result<Role, AppError> {
    let (role, held_back) = conn
        .acting_role(community, user)
        .await?
        .ok_or(DomainError::NotFound("community"))?;
    // A community that requires a second factor of its moderators and admins: without one,
    // they act as members. The owner, who sets the rule, is not held to it.
    if held_back && role != Role::Owner && role.at_least(Role::Moderator) {
        return Ok(Role::Member);
    }
    Ok(role)
}

/// Checks that `role` allows `action`.
pub(crate) fn require(role: Role, action: Action, what: &'static str) -> Result<(), AppError> {
    if allows(role, action) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(what).into())
    }
}

impl App {
    /// Checks, on a read connection, that the caller's role in `community` allows `action`
    /// (`NotFound` for a community they are not in, `Forbidden` with `what` otherwise).
    pub(crate) async fn require_in(
        &self,
        actor: &Actor,
        community: CommunityId,
        action: Action,
        what: &'static str,
    ) -> Result<(), AppError> {
        let mut reader = self.store.reader().await?;
        let role = role_in(&mut reader.conn(), community, actor.user).await?;
        require(role, action, what)
    }
}

/// Refuses a membership change whose conditional write found the membership no longer as it
/// was read: a leave, removal or role change racing on another node got there first.
fn still_as_read(written: bool) -> Result<(), AppError> {
    if written {
        Ok(())
    } else {
        Err(DomainError::Conflict("the membership has just changed").into())
    }
}

/// The invitation a code names and its community, if it can still be used: not revoked, not
/// expired, not used up.
pub(crate) async fn usable_invite(
    conn: &mut Conn<'_>,
    code: &str,
) -> Result<(Invite, Community), AppError> {
    let now = Timestamp::now();
    let invite = conn
        .invite_by_code(code)
        .await?
        .filter(|s| s.revoked_at.is_none())
        .map(|s| s.invite)
        .filter(|i| i.expires_at.is_none_or(|at| at > now))
        .filter(|i| i.max_uses.is_none_or(|max| i.uses < max))
        .ok_or(DomainError::NotFound("invite"))?;
    let community = conn
        .community(invite.community_id)
        .await?
        .ok_or(DomainError::NotFound("invite"))?;
    Ok((invite, community))
}

/// Adds `user` to a community and to its first public channel (its #general).
async fn add_member(
    tx: &mut Tx,
    community: CommunityId,
    user: UserId,
    role: Role,
) -> Result<(), AppError> {
    let now = Timestamp::now();
    tx.conn().insert_member(community, user, role, now).await?;
    if let Some(general) = tx.conn().first_public_channel(community).await?
        && tx.conn().insert_channel_member(general, user, now).await?
    {
        tx.append_event(general, MEMBER_JOINED, user.0);
    }
    record(
        tx,
        Some(user),
        AuditAction::MemberJoined,
        (ObjectKind::User, Some(user.0)),
        Some(community),
    );
    Ok(())
}

impl App {
    /// Creates a community owned by the caller, with a #general channel.
    pub async fn create_community(
        &self,
        actor: &Actor,
        input: NewCommunity,
    ) -> Result<Community, AppError> {
        let slug = validate::slug(&input.slug)?;
        let name = validate::name("name", &input.name)?;
        let description = validate::description("description", &input.description)?;
        let owner = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if tx.conn().slug_taken(&slug).await? {
                        return Err(DomainError::Conflict("slug is taken").into());
                    }
                    refuse_child_owner(tx, owner).await?;
                    let now = Timestamp::now();
                    let community = Community {
                        id: CommunityId(tx.next_id()),
                        slug,
                        name,
                        description,
                        join_policy: input.join_policy,
                        owner_id: owner,
                        created_at: now,
                        require_two_factor: false,
                    };
                    tx.conn().insert_community(&community).await?;
                    let general = Channel {
                        id: ChannelId(tx.next_id()),
                        community_id: Some(community.id),
                        kind: ChannelKind::Public,
                        name: "general".into(),
                        topic: String::new(),
                        created_at: now,
                    };
                    tx.conn().insert_channel(&general, owner, None).await?;
                    record(
                        tx,
                        Some(owner),
                        AuditAction::CommunityCreated,
                        (ObjectKind::Community, Some(community.id.0)),
                        Some(community.id),
                    );
                    record(
                        tx,
                        Some(owner),
                        AuditAction::ChannelCreated,
                        (ObjectKind::Channel, Some(general.id.0)),
                        Some(community.id),
                    );
                    add_member(tx, community.id, owner, Role::Owner).await?;
                    crate::terms::accept_in_force(tx, community.id, owner, &input.accepted_terms)
                        .await?;
                    Ok(community)
                })
            })
            .await
    }

    /// A community the caller belongs to, or an open one, with the caller's role if any.
    pub async fn community(
        &self,
        actor: &Actor,
        id: CommunityId,
    ) -> Result<(Community, Option<Role>), AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let community = conn
            .community(id)
            .await?
            .ok_or(DomainError::NotFound("community"))?;
        let role = conn.member_role(id, actor.user).await?;
        if role.is_none() && community.join_policy != JoinPolicy::Open {
            return Err(DomainError::NotFound("community").into());
        }
        Ok((community, role))
    }

    /// The role the caller acts with in a community they belong to, and whether it is less
    /// than their role because the community requires a second factor they have not turned on.
    pub async fn acting_role(
        &self,
        actor: &Actor,
        id: CommunityId,
    ) -> Result<(Role, bool), AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let acting = role_in(&mut conn, id, actor.user).await?;
        let actual = conn.member_role(id, actor.user).await?;
        Ok((acting, actual != Some(acting)))
    }

    /// A page of the communities the caller belongs to, by id, after `after`.
    pub async fn my_communities(
        &self,
        actor: &Actor,
        after: Option<CommunityId>,
        size: PageSize,
    ) -> Result<Vec<(Community, Role)>, AppError> {
        let mut reader = self.store.reader().await?;
        Ok(reader
            .conn()
            .communities_of(actor.user, after, size.get())
            .await?)
    }

    /// A page of the open communities anyone may join, by id, after `after`.
    pub async fn community_directory(
        &self,
        after: Option<CommunityId>,
        size: PageSize,
    ) -> Result<Vec<Community>, AppError> {
        let mut reader = self.store.reader().await?;
        Ok(reader.conn().open_communities(after, size.get()).await?)
    }

    /// Changes a community's settings (admins and the owner).
    pub async fn update_community(
        &self,
        actor: &Actor,
        id: CommunityId,
        settings: CommunitySettings,
    ) -> Result<Community, AppError> {
        let name = settings
            .name
            .as_deref()
            .map(|n| validate::name("name", n))
            .transpose()?;
        let description = settings
            .description
            .as_deref()
            .map(|d| validate::description("description", d))
            .transpose()?;
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), id, user).await?;
                    require(
                        role,
                        Action::EditSettings,
                        "only admins change community settings",
                    )?;
                    crate::terms::hold_for_terms(tx, id).await?;
                    let mut community = tx
                        .conn()
                        .community(id)
                        .await?
                        .ok_or(DomainError::NotFound("community"))?;
                    if let Some(name) = name {
                        community.name = name;
                    }
                    if let Some(description) = description {
                        community.description = description;
                    }
                    if let Some(policy) = settings.join_policy {
                        community.join_policy = policy;
                    }
                    if let Some(required) = settings.require_two_factor
                        && required != community.require_two_factor
                    {
                        if role != Role::Owner {
                            return Err(DomainError::Forbidden(
                                "only the owner decides whether moderators and admins need \
                                 two-factor sign-in",
                            )
                            .into());
                        }
                        let own = tx.conn().two_factor(user).await?;
                        if required && own.is_none_or(|t| t.enabled_at.is_none()) {
                            return Err(DomainError::Conflict(
                                "turn on two-factor sign-in for yourself first",
                            )
                            .into());
                        }
                        community.require_two_factor = required;
                    }
                    tx.conn()
                        .update_community(&community, Timestamp::now())
                        .await?;
                    record(
                        tx,
                        Some(user),
                        AuditAction::CommunityUpdated,
                        (ObjectKind::Community, Some(id.0)),
                        Some(id),
                    );
                    Ok(community)
                })
            })
            .await
    }

    /// Joins an open community, answering its profile fields (every required one must be
    /// answered, a required checkbox ticked) and, where it asks, telling its age: a join
    /// refused for either keeps nothing. A child under 13 joins only once a parent consents:
    /// the parent is mailed a link, and nothing else is kept until then.
    pub async fn join_community(
        &self,
        actor: &Actor,
        id: CommunityId,
        answers: Answers,
        age: AgeAnswer,
    ) -> Result<Joining, AppError> {
        let user = actor.user;
        let key = Arc::clone(&self.key);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let community = tx
                        .conn()
                        .community(id)
                        .await?
                        .ok_or(DomainError::NotFound("community"))?;
                    if tx.conn().member_role(id, user).await?.is_some() {
                        return Err(DomainError::Conflict("already a member").into());
                    }
                    if community.join_policy != JoinPolicy::Open {
                        // Invitation-only communities are not revealed to outsiders.
                        return Err(DomainError::NotFound("community").into());
                    }
                    let check = check_age(tx, id, user, &age).await?;
                    let checked = joining_answers(&mut tx.conn(), id, &answers).await?;
                    if let AgeCheck::AskParent { email } = &check {
                        ask_parent(tx, &key, (id, &community.name), user, email).await?;
                        return Ok(Joining::AwaitingParent);
                    }
                    add_member(tx, id, user, Role::Member).await?;
                    write_answers(tx, id, user, &checked).await?;
                    record_admission(tx, id, user, &check).await?;
                    Ok(Joining::Joined)
                })
            })
            .await
    }

    /// The community an invitation opens and the profile fields joining it asks, for the
    /// invitation page; an unusable code is not found.
    pub async fn invite_preview(
        &self,
        code: &str,
    ) -> Result<(Community, Vec<ProfileField>), AppError> {
        let code = validate::invite_code(code)?;
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let community = usable_invite(&mut conn, &code).await?.1;
        let fields = conn.profile_fields(community.id).await?;
        Ok((community, fields))
    }

    /// Joins a community with an invitation code, answering its profile fields and telling
    /// its age as [`App::join_community`] does. While a parent's consent is awaited, the
    /// invitation is not used up.
    pub async fn accept_invite(
        &self,
        actor: &Actor,
        code: &str,
        answers: Answers,
        age: AgeAnswer,
    ) -> Result<(Community, Joining), AppError> {
        let code = validate::invite_code(code)?;
        let user = actor.user;
        let key = Arc::clone(&self.key);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    let (invite, community) = usable_invite(&mut tx.conn(), &code).await?;
                    if tx.conn().member_role(community.id, user).await?.is_some() {
                        return Err(DomainError::Conflict("already a member").into());
                    }
                    let check = check_age(tx, community.id, user, &age).await?;
                    let checked = joining_answers(&mut tx.conn(), community.id, &answers).await?;
                    if let AgeCheck::AskParent { email } = &check {
                        ask_parent(tx, &key, (community.id, &community.name), user, email).await?;
                        return Ok((community, Joining::AwaitingParent));
                    }
                    if !tx.conn().use_invite(invite.id, now).await? {
                        return Err(DomainError::NotFound("invite").into());
                    }
                    add_member(tx, community.id, user, Role::Member).await?;
                    write_answers(tx, community.id, user, &checked).await?;
                    record_admission(tx, community.id, user, &check).await?;
                    Ok((community, Joining::Joined))
                })
            })
            .await
    }

    /// Creates an invitation link (admins and the owner).
    pub async fn create_invite(
        &self,
        actor: &Actor,
        community: CommunityId,
        input: NewInvite,
    ) -> Result<Invite, AppError> {
        if input
            .expires_in_secs
            .is_some_and(|secs| !(60..=365 * 24 * 3600).contains(&secs))
        {
            return Err(DomainError::invalid(
                "expires_in_secs",
                "must be between 60 seconds and a year",
            )
            .into());
        }
        if input.max_uses.is_some_and(|m| !(1..=100_000).contains(&m)) {
            return Err(DomainError::invalid("max_uses", "must be between 1 and 100000").into());
        }
        let code = random_token(12)?;
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, user).await?;
                    require(
                        role,
                        Action::ManageInvites,
                        "only admins create invitations",
                    )?;
                    crate::terms::hold_for_terms(tx, community).await?;
                    let now = Timestamp::now();
                    let invite = Invite {
                        id: InviteId(tx.next_id()),
                        community_id: community,
                        code,
                        expires_at: input.expires_in_secs.map(|s| now.plus_seconds(s)),
                        max_uses: input.max_uses,
                        uses: 0,
                        created_at: now,
                    };
                    tx.conn().insert_invite(&invite, user).await?;
                    record(
                        tx,
                        Some(user),
                        AuditAction::InviteCreated,
                        (ObjectKind::Invite, Some(invite.id.0)),
                        Some(community),
                    );
                    Ok(invite)
                })
            })
            .await
    }

    /// A page of a community's unrevoked invitations, newest first, older than `before`
    /// (admins and the owner).
    pub async fn invites(
        &self,
        actor: &Actor,
        community: CommunityId,
        before: Option<InviteId>,
        size: PageSize,
    ) -> Result<Vec<Invite>, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let role = role_in(&mut conn, community, actor.user).await?;
        require(role, Action::ManageInvites, "only admins see invitations")?;
        Ok(conn.live_invites_of(community, before, size.get()).await?)
    }

    /// Revokes an invitation (admins and the owner).
    pub async fn revoke_invite(
        &self,
        actor: &Actor,
        community: CommunityId,
        invite: InviteId,
    ) -> Result<(), AppError> {
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, user).await?;
                    require(
                        role,
                        Action::ManageInvites,
                        "only admins revoke invitations",
                    )?;
                    if !tx
                        .conn()
                        .revoke_invite(community, invite, Timestamp::now())
                        .await?
                    {
                        return Err(DomainError::NotFound("invite").into());
                    }
                    record(
                        tx,
                        Some(user),
                        AuditAction::InviteRevoked,
                        (ObjectKind::Invite, Some(invite.0)),
                        Some(community),
                    );
                    Ok(())
                })
            })
            .await
    }

    /// Leaves a community. The owner cannot leave; ownership must pass on first.
    pub async fn leave_community(
        &self,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<(), AppError> {
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, user).await?;
                    if role == Role::Owner {
                        return Err(DomainError::Conflict(
                            "the owner cannot leave their community",
                        )
                        .into());
                    }
                    let (left_it, left) = tx.conn().delete_member(community, user).await?;
                    still_as_read(left_it)?;
                    // Their profile answers went with the membership: their old pages must
                    // not linger in SQLite's log.
                    tx.truncate_journal_after_commit();
                    for channel in left {
                        tx.append_event(channel, MEMBER_LEFT, user.0);
                    }
                    record(
                        tx,
                        Some(user),
                        AuditAction::MemberLeft,
                        (ObjectKind::User, Some(user.0)),
                        Some(community),
                    );
                    Ok(())
                })
            })
            .await
    }

    /// Removes another member (someone who outranks them, never the owner).
    pub async fn remove_member(
        &self,
        actor: &Actor,
        community: CommunityId,
        member: UserId,
    ) -> Result<(), AppError> {
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, user).await?;
                    require(role, Action::RemoveMember, "only admins remove members")?;
                    let target = tx
                        .conn()
                        .member_role(community, member)
                        .await?
                        .ok_or(DomainError::NotFound("member"))?;
                    if !may_remove(role, target) {
                        return Err(DomainError::Forbidden("you may not remove this member").into());
                    }
                    let (removed, left) = tx.conn().delete_member(community, member).await?;
                    still_as_read(removed)?;
                    // Their profile answers went with the membership: their old pages must
                    // not linger in SQLite's log.
                    tx.truncate_journal_after_commit();
                    for channel in left {
                        tx.append_event(channel, MEMBER_LEFT, member.0);
                    }
                    record(
                        tx,
                        Some(user),
                        AuditAction::MemberRemoved,
                        (ObjectKind::User, Some(member.0)),
                        Some(community),
                    );
                    Ok(())
                })
            })
            .await
    }

    /// Gives a member another role (admins, below their own; never owner).
    pub async fn set_member_role(
        &self,
        actor: &Actor,
        community: CommunityId,
        member: UserId,
        new: Role,
    ) -> Result<(), AppError> {
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, user).await?;
                    require(role, Action::ManageRoles, "only admins change roles")?;
                    let current = tx
                        .conn()
                        .member_role(community, member)
                        .await?
                        .ok_or(DomainError::NotFound("member"))?;
                    // A promotion waits on new terms; a demotion does not.
                    if new > current {
                        crate::terms::hold_for_terms(tx, community).await?;
                    }
                    if !may_assign(role, current, new) {
                        return Err(DomainError::Forbidden(
                            "you may not give this member that role",
                        )
                        .into());
                    }
                    still_as_read(
                        tx.conn()
                            .set_member_role(community, member, current, new)
                            .await?,
                    )?;
                    record(
                        tx,
                        Some(user),
                        AuditAction::RoleChanged,
                        (ObjectKind::User, Some(member.0)),
                        Some(community),
                    );
                    Ok(())
                })
            })
            .await
    }

    /// Hands the community to another member (the owner only). The old owner stays on as an
    /// admin. This is how an owner becomes free to leave, or to delete their account: the
    /// schema refuses to delete the account of someone who still owns a community.
    pub async fn transfer_ownership(
        &self,
        actor: &Actor,
        community: CommunityId,
        new_owner: UserId,
    ) -> Result<(), AppError> {
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, user).await?;
                    require(
                        role,
                        Action::TransferOwnership,
                        "only the owner hands the community on",
                    )?;
                    if new_owner == user {
                        return Err(
                            DomainError::invalid("user_id", "must name another member").into()
                        );
                    }
                    let heir_role = tx
                        .conn()
                        .member_role(community, new_owner)
                        .await?
                        .ok_or(DomainError::NotFound("member"))?;
                    refuse_child_owner(tx, new_owner).await?;
                    // The owner is not held to the community's two-factor rule: one who could
                    // not meet it would escape it by inheriting the community.
                    if let Some((_, true)) = tx.conn().acting_role(community, new_owner).await? {
                        return Err(DomainError::Conflict(
                            "this community requires two-factor sign-in of its moderators and \
                             admins: the new owner must turn it on first",
                        )
                        .into());
                    }
                    // The owner row is changed first, on the condition that the caller still
                    // owns it: of two transfers racing on two nodes, one finds it done.
                    if !tx
                        .conn()
                        .set_owner(community, user, new_owner, Timestamp::now())
                        .await?
                    {
                        return Err(DomainError::Conflict("ownership has just changed").into());
                    }
                    // Both role changes are conditional on what was read, so a leave, removal
                    // or role change racing on another node fails the transfer instead of
                    // leaving a community whose owner is no longer a member.
                    let heir = tx
                        .conn()
                        .set_member_role(community, new_owner, heir_role, Role::Owner)
                        .await?;
                    let old = heir
                        && tx
                            .conn()
                            .set_member_role(community, user, Role::Owner, Role::Admin)
                            .await?;
                    still_as_read(old)?;
                    record(
                        tx,
                        Some(user),
                        AuditAction::OwnershipTransferred,
                        (ObjectKind::User, Some(new_owner.0)),
                        Some(community),
                    );
                    Ok(())
                })
            })
            .await
    }

    /// A page of a community's members, by user id, after `after` (members only).
    pub async fn members(
        &self,
        actor: &Actor,
        community: CommunityId,
        after: Option<UserId>,
        size: PageSize,
    ) -> Result<Vec<Membership>, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        role_in(&mut conn, community, actor.user).await?;
        Ok(conn.members(community, after, size.get()).await?)
    }
}

/// Refuses to make `user` an owner when they said they are under 13 (or a parent was asked
/// for them): a child answers for no community's members in law, and a parent's withdrawal of
/// consent must be free to delete their account at any time.
async fn refuse_child_owner(tx: &mut Tx, user: UserId) -> Result<(), AppError> {
    // Locked first, as joining as under 13 does, so that the two cannot race past each other.
    tx.conn().lock_person(user).await?;
    if tx.conn().declared_under_13(user).await? {
        return Err(DomainError::Forbidden(
            "a member under 13 cannot own a community on this Hearth",
        )
        .into());
    }
    Ok(())
}
