//! Domain models shared by the app, the store and the web layer.

use crate::debug_fields;
use crate::ids::{ChannelId, CommunityId, MessageId, UserId};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// A member's role in a community, from most to least powerful.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The business that answers for the community; exactly one per community.
    Owner,
    /// Manages settings, members and channels.
    Admin,
    /// Removes and purges messages.
    Moderator,
    /// Takes part.
    Member,
}

impl Role {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Member => "member",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            "moderator" => Role::Moderator,
            "member" => Role::Member,
            _ => return None,
        })
    }

    /// Whether this role is at least as powerful as `other`.
    pub fn at_least(self, other: Role) -> bool {
        self <= other
    }
}

/// How people get into a community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JoinPolicy {
    /// Any signed-in person may join.
    Open,
    /// Only holders of an invitation link may join.
    Invite,
}

impl JoinPolicy {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JoinPolicy::Open => "open",
            JoinPolicy::Invite => "invite",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(JoinPolicy::Open),
            "invite" => Some(JoinPolicy::Invite),
            _ => None,
        }
    }
}

/// What sort of conversation a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Visible to every community member, who may join it.
    Public,
    /// Visible only to its members, who add others.
    Private,
    /// A direct conversation between two or a few people, outside any community.
    Direct,
}

impl ChannelKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Public => "public",
            ChannelKind::Private => "private",
            ChannelKind::Direct => "direct",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "public" => Some(ChannelKind::Public),
            "private" => Some(ChannelKind::Private),
            "direct" => Some(ChannelKind::Direct),
            _ => None,
        }
    }
}

/// A registered account as its owner sees it.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Account {
    /// The account id.
    pub id: UserId,
    /// Unique handle, lowercase.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Contact address, lowercase.
    pub email: String,
    /// Whether this account runs the instance.
    pub is_operator: bool,
    /// When the account was created.
    pub created_at: Timestamp,
    /// What they say about themself; empty when nothing.
    pub about: String,
    /// Their picture, served at `/api/v1/users/{id}/avatar`; its id changes with the picture.
    pub avatar_id: Option<crate::ids::UploadId>,
    /// Whether they have confirmed, by a mailed link, that `email` is theirs.
    pub email_verified: bool,
    /// Whether they opted out of the sale and sharing of their personal information.
    pub sale_opt_out: bool,
    /// Whether they asked to limit the use of their sensitive personal information.
    pub sensitive_limit: bool,
}

/// What someone the person shares a community or conversation with sees of them on their
/// profile.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Profile {
    /// Who they are.
    #[serde(flatten)]
    pub user: PublicUser,
    /// What they say about themself; empty when nothing.
    pub about: String,
    /// Their picture, served at `/api/v1/users/{id}/avatar`; its id changes with the picture.
    pub avatar_id: Option<crate::ids::UploadId>,
}

/// What other people see of an account.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PublicUser {
    /// The account id.
    pub id: UserId,
    /// Unique handle.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
}

/// A community and its settings.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Community {
    /// The community id.
    pub id: CommunityId,
    /// URL-safe unique name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// What the community is about.
    pub description: String,
    /// How people join.
    pub join_policy: JoinPolicy,
    /// The member who answers for the community.
    pub owner_id: UserId,
    /// When it was created.
    pub created_at: Timestamp,
    /// Whether its moderators and admins must sign in with a second factor to use their
    /// powers (without it, they act as members).
    pub require_two_factor: bool,
}

/// A person's place in a community.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Membership {
    /// The community.
    pub community_id: CommunityId,
    /// The member.
    pub user: PublicUser,
    /// Their role.
    pub role: Role,
    /// When they joined.
    pub joined_at: Timestamp,
}

/// A channel or direct conversation.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Channel {
    /// The channel id.
    pub id: ChannelId,
    /// The community it belongs to; none for direct conversations.
    pub community_id: Option<CommunityId>,
    /// Public, private or direct.
    pub kind: ChannelKind,
    /// Its name (empty for direct conversations).
    pub name: String,
    /// What it is for.
    pub topic: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A message as readers see it. A deleted message keeps its place (so threads stay whole) but
/// loses its body.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Message {
    /// The message id; ids grow with time, so they double as the history cursor.
    pub id: MessageId,
    /// Where it was posted.
    pub channel_id: ChannelId,
    /// Who wrote it; `None` once their account is deleted (shown as "Deleted user").
    pub author_id: Option<UserId>,
    /// The thread it replies to, if any.
    pub thread_root_id: Option<MessageId>,
    /// The text; `None` once deleted.
    pub body: Option<String>,
    /// When it was posted.
    pub created_at: Timestamp,
    /// When it was last edited.
    pub edited_at: Option<Timestamp>,
    /// When it was deleted.
    pub deleted_at: Option<Timestamp>,
    /// How many replies its thread holds (roots only).
    pub reply_count: i64,
    /// Files attached to it (none once it is deleted).
    pub attachments: Vec<Attachment>,
}

/// A file attached to a message. Its bytes are at `/api/v1/uploads/{id}`, for those who may
/// read the message.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Attachment {
    /// The upload's id.
    pub id: crate::ids::UploadId,
    /// The name it was uploaded under (a label only: never a path).
    pub name: String,
    /// Its type, as sniffed from its bytes when it was uploaded.
    pub media_type: String,
    /// Its size in bytes, as stored (images without their metadata).
    pub size: i64,
}

/// A message found by search, with the part of its text around the matches.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    /// The message, as its readers see it.
    pub message: Message,
    /// Its text around the matches, in pieces: those with `hit` are words that matched.
    pub snippet: Vec<SnippetPart>,
}

/// A piece of a search snippet.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SnippetPart {
    /// The text.
    pub text: String,
    /// Whether it matched the query.
    pub hit: bool,
}

/// A page of search results, best match first.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SearchPage {
    /// The messages found.
    pub hits: Vec<SearchHit>,
    /// Pass as `offset` for the next page; `None` on the last.
    pub next_offset: Option<i64>,
}

/// An earlier version of an edited message.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MessageRevision {
    /// The text before the edit.
    pub body: String,
    /// When that text was replaced.
    pub replaced_at: Timestamp,
}

/// An invitation link to a community.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Invite {
    /// The invite id.
    pub id: crate::ids::InviteId,
    /// The community it opens.
    pub community_id: CommunityId,
    /// The secret code to share.
    pub code: String,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// How many joins it allows, if limited.
    pub max_uses: Option<i64>,
    /// How many joins it has allowed.
    pub uses: i64,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A personal API token's metadata; the secret itself is shown only once.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    /// The token id.
    pub id: crate::ids::TokenId,
    /// The owner's label for it.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last used.
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

/// One of a person's signed-in sessions, as they see it in their settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    /// Names the session for signing it out; not its secret, nor enough to use it.
    pub id: String,
    /// When it was signed in.
    pub created_at: Timestamp,
    /// When it was last used (to the nearest few minutes).
    pub last_seen_at: Timestamp,
    /// When it ends by itself.
    pub expires_at: Timestamp,
    /// Whether it is the session making this request.
    pub current: bool,
    /// What signed in, from its user agent ("Firefox on Linux").
    pub device: String,
    /// The network it signed in from, shortened to an IPv4 /24 or an IPv6 /48.
    pub network: Option<String>,
}

debug_fields!(Account {
    id,
    is_operator,
    created_at
});
debug_fields!(PublicUser { id });
debug_fields!(Profile { avatar_id });
debug_fields!(Community {
    id,
    join_policy,
    owner_id,
    created_at
});
debug_fields!(Channel {
    id,
    community_id,
    kind,
    created_at
});
debug_fields!(Message {
    id,
    channel_id,
    author_id,
    thread_root_id,
    created_at,
    edited_at,
    deleted_at,
    reply_count
});
debug_fields!(MessageRevision { replaced_at });
debug_fields!(SearchHit { message });
debug_fields!(SnippetPart { hit });
debug_fields!(SearchPage { hits, next_offset });
debug_fields!(Attachment {
    id,
    media_type,
    size
});
debug_fields!(Invite {
    id,
    community_id,
    expires_at,
    max_uses,
    uses,
    created_at
});
debug_fields!(ApiToken {
    id,
    created_at,
    last_used_at,
    revoked_at
});

#[cfg(test)]
mod tests {
    use super::*;

    /// A string that must never show up in `Debug` output.
    const PLANTED: &str = "planted-personal-text";

    #[test]
    fn debug_output_of_models_holds_no_personal_text_or_secrets() {
        let now = Timestamp(1);
        let user = PublicUser {
            id: UserId(1),
            username: PLANTED.into(),
            display_name: PLANTED.into(),
        };
        let printed = [
            format!(
                "{:?}",
                Account {
                    id: UserId(1),
                    username: PLANTED.into(),
                    display_name: PLANTED.into(),
                    email: format!("{PLANTED}@example.org"),
                    is_operator: false,
                    created_at: now,
                    about: PLANTED.into(),
                    avatar_id: None,
                    email_verified: false,
                    sale_opt_out: false,
                    sensitive_limit: false,
                }
            ),
            format!(
                "{:?}",
                Profile {
                    user: user.clone(),
                    about: PLANTED.into(),
                    avatar_id: None,
                }
            ),
            format!(
                "{:?}",
                Membership {
                    community_id: CommunityId(2),
                    user,
                    role: Role::Member,
                    joined_at: now,
                }
            ),
            format!(
                "{:?}",
                Community {
                    id: CommunityId(2),
                    slug: PLANTED.into(),
                    name: PLANTED.into(),
                    description: PLANTED.into(),
                    join_policy: JoinPolicy::Open,
                    owner_id: UserId(1),
                    created_at: now,
                    require_two_factor: false,
                }
            ),
            format!(
                "{:?}",
                Channel {
                    id: ChannelId(3),
                    community_id: None,
                    kind: ChannelKind::Direct,
                    name: PLANTED.into(),
                    topic: PLANTED.into(),
                    created_at: now,
                }
            ),
            format!(
                "{:?}",
                Message {
                    id: MessageId(4),
                    channel_id: ChannelId(3),
                    author_id: Some(UserId(1)),
                    thread_root_id: None,
                    body: Some(PLANTED.into()),
                    created_at: now,
                    edited_at: None,
                    deleted_at: None,
                    reply_count: 0,
                    attachments: vec![Attachment {
                        id: crate::ids::UploadId(7),
                        name: PLANTED.into(),
                        media_type: "text/plain".into(),
                        size: 1,
                    }],
                }
            ),
            format!(
                "{:?}",
                MessageRevision {
                    body: PLANTED.into(),
                    replaced_at: now,
                }
            ),
            format!(
                "{:?}",
                Invite {
                    id: crate::ids::InviteId(5),
                    community_id: CommunityId(2),
                    code: PLANTED.into(),
                    expires_at: None,
                    max_uses: None,
                    uses: 0,
                    created_at: now,
                }
            ),
            format!(
                "{:?}",
                ApiToken {
                    id: crate::ids::TokenId(6),
                    name: PLANTED.into(),
                    created_at: now,
                    last_used_at: None,
                    revoked_at: None,
                }
            ),
        ];
        for text in printed {
            assert!(!text.contains(PLANTED), "{text}");
            assert!(
                text.contains(", .. }"),
                "what is left out is marked: {text}"
            );
        }
    }
}
