//! Who may do what in a community. [`allows`] decides what a role may do at all; the `may_*`
//! functions add what depends on whom it is done to.

use crate::model::Role;

/// Something a community member may try to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Change the community's name, description and join policy.
    EditSettings,
    /// Create and revoke invitation links.
    ManageInvites,
    /// Remove another member from the community.
    RemoveMember,
    /// Change other members' roles.
    ManageRoles,
    /// Create a public channel.
    CreatePublicChannel,
    /// Create a private channel.
    CreatePrivateChannel,
    /// See and manage any channel, private ones included.
    ManageChannels,
    /// Delete other people's messages.
    DeleteOthersMessages,
    /// Post and read in channels one has joined.
    Participate,
    /// Hand the community to another member.
    TransferOwnership,
    /// Define, change and delete custom profile fields.
    ManageProfileFields,
    /// See members' answers to fields shown to admins only.
    SeeAdminOnlyAnswers,
    /// See and answer the privacy requests addressed to the community, and choose how it
    /// answers them.
    HandlePrivacyRequests,
    /// Set up and remove outgoing webhooks, and read their delivery log.
    ManageWebhooks,
}

/// Whether a member holding `role` may perform `action`.
pub fn allows(role: Role, action: Action) -> bool {
    let least = match action {
        Action::TransferOwnership => Role::Owner,
        Action::EditSettings
        | Action::ManageInvites
        | Action::RemoveMember
        | Action::ManageRoles
        | Action::ManageProfileFields
        | Action::SeeAdminOnlyAnswers
        | Action::HandlePrivacyRequests
        | Action::ManageWebhooks => Role::Admin,
        Action::ManageChannels => Role::Admin,
        Action::DeleteOthersMessages => Role::Moderator,
        Action::CreatePublicChannel | Action::CreatePrivateChannel | Action::Participate => {
            Role::Member
        }
    };
    role.at_least(least)
}

/// Whether `actor` may remove `target` from a community: only someone who outranks them, and
/// never the owner.
pub fn may_remove(actor: Role, target: Role) -> bool {
    allows(actor, Action::RemoveMember) && target != Role::Owner && actor < target
}

/// Whether `actor` may give `target` (who now holds `current`) the role `new`: only to someone
/// they outrank, only a role below their own, and never to or from owner (ownership passes on
/// by its own procedure).
pub fn may_assign(actor: Role, current: Role, new: Role) -> bool {
    allows(actor, Action::ManageRoles)
        && current != Role::Owner
        && new != Role::Owner
        && actor < current
        && actor < new
}

/// Whether someone may delete a message. Its author always may, even after leaving the
/// channel or community: what they wrote stays theirs to take back. Anyone else needs a role
/// that deletes others' messages and must not be outranked by the author; `author` is the
/// author's current role in the community, `None` if they are no longer a member.
pub fn may_delete_message(actor: Option<Role>, is_author: bool, author: Option<Role>) -> bool {
    is_author
        || actor.is_some_and(|actor| {
            allows(actor, Action::DeleteOthersMessages)
                && author.is_none_or(|author| actor.at_least(author))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_given_only_below_ones_own() {
        assert!(may_assign(Role::Owner, Role::Member, Role::Admin));
        assert!(may_assign(Role::Admin, Role::Member, Role::Moderator));
        assert!(!may_assign(Role::Admin, Role::Member, Role::Admin));
        assert!(!may_assign(Role::Admin, Role::Admin, Role::Member));
        assert!(!may_assign(Role::Owner, Role::Member, Role::Owner));
        assert!(!may_assign(Role::Moderator, Role::Member, Role::Moderator));
    }

    #[test]
    fn members_participate_but_do_not_administer() {
        assert!(allows(Role::Member, Action::Participate));
        assert!(!allows(Role::Member, Action::EditSettings));
        assert!(!allows(Role::Member, Action::DeleteOthersMessages));
    }

    #[test]
    fn moderators_delete_messages_but_do_not_change_settings() {
        assert!(allows(Role::Moderator, Action::DeleteOthersMessages));
        assert!(!allows(Role::Moderator, Action::EditSettings));
    }

    #[test]
    fn only_the_owner_hands_the_community_on() {
        assert!(allows(Role::Owner, Action::TransferOwnership));
        assert!(!allows(Role::Admin, Action::TransferOwnership));
    }

    #[test]
    fn moderators_delete_messages_of_those_they_do_not_answer_to() {
        use Role::*;
        assert!(may_delete_message(Some(Moderator), false, Some(Member)));
        assert!(may_delete_message(Some(Moderator), false, Some(Moderator)));
        assert!(may_delete_message(Some(Moderator), false, None));
        assert!(!may_delete_message(Some(Moderator), false, Some(Admin)));
        assert!(!may_delete_message(Some(Moderator), false, Some(Owner)));
        assert!(!may_delete_message(Some(Admin), false, Some(Owner)));
        assert!(may_delete_message(Some(Owner), false, Some(Admin)));
        assert!(!may_delete_message(Some(Member), false, Some(Member)));
    }

    #[test]
    fn authors_delete_their_own_messages_even_without_a_role() {
        assert!(may_delete_message(None, true, None));
        assert!(may_delete_message(
            Some(Role::Member),
            true,
            Some(Role::Member)
        ));
        assert!(!may_delete_message(None, false, None));
    }

    #[test]
    fn nobody_removes_the_owner_and_admins_do_not_remove_admins() {
        assert!(!may_remove(Role::Admin, Role::Owner));
        assert!(!may_remove(Role::Admin, Role::Admin));
        assert!(may_remove(Role::Owner, Role::Admin));
        assert!(may_remove(Role::Admin, Role::Member));
        assert!(!may_remove(Role::Moderator, Role::Member));
    }
}
