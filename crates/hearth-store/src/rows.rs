//! Rows as stored, and their conversion to domain models. Enum columns are stored as text and
//! parsed here, so a bad value surfaces as [`StoreError::Corrupt`] rather than a panic.

use crate::StoreError;
use hearth_core::model::{
    Account, ApiToken, Channel, ChannelKind, Community, Invite, JoinPolicy, PublicUser, Role,
};
use hearth_core::{
    ChannelId, CommunityId, InviteId, Timestamp, TokenId, UploadId, UserId, debug_fields,
};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?}"))
}

/// A `users` row.
#[derive(Clone, sqlx::FromRow)]
pub struct UserRow {
    /// Account id.
    pub id: i64,
    /// Lowercase handle.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Lowercase email.
    pub email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Runs the instance.
    pub is_operator: bool,
    /// Created.
    pub created_at: i64,
    /// What they say about themself, sealed for them.
    pub about: Option<Vec<u8>>,
    /// Their picture's file in the blob store, if they have one.
    pub avatar_id: Option<i64>,
    /// When they confirmed `email` by a mailed link; `None` while unconfirmed.
    pub email_verified_at: Option<i64>,
    /// When they opted out of the sale and sharing of their personal information.
    pub sale_opt_out_at: Option<i64>,
    /// When they asked to limit the use of their sensitive personal information.
    pub sensitive_limit_at: Option<i64>,
}

impl UserRow {
    /// The account as its owner sees it, with its about text opened.
    pub fn account(&self, about: String) -> Account {
        Account {
            id: UserId(self.id),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            is_operator: self.is_operator,
            created_at: Timestamp(self.created_at),
            about,
            avatar_id: self.avatar_id.map(UploadId),
            email_verified: self.email_verified_at.is_some(),
            sale_opt_out: self.sale_opt_out_at.is_some(),
            sensitive_limit: self.sensitive_limit_at.is_some(),
        }
    }

    /// The account as others see it.
    pub fn public(&self) -> PublicUser {
        PublicUser {
            id: UserId(self.id),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CommunityRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub join_policy: String,
    pub owner_id: i64,
    pub created_at: i64,
    pub require_two_factor: bool,
}

impl TryFrom<CommunityRow> for Community {
    type Error = StoreError;
    fn try_from(r: CommunityRow) -> Result<Self, StoreError> {
        Ok(Community {
            id: CommunityId(r.id),
            join_policy: JoinPolicy::parse(&r.join_policy)
                .ok_or_else(|| corrupt("join policy", &r.join_policy))?,
            slug: r.slug,
            name: r.name,
            description: r.description,
            owner_id: UserId(r.owner_id),
            created_at: Timestamp(r.created_at),
            require_two_factor: r.require_two_factor,
        })
    }
}

pub(crate) fn parse_role(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).ok_or_else(|| corrupt("role", text))
}

#[derive(sqlx::FromRow)]
pub(crate) struct ChannelRow {
    pub id: i64,
    pub community_id: Option<i64>,
    pub kind: String,
    pub name: String,
    pub topic: String,
    pub created_at: i64,
}

impl TryFrom<ChannelRow> for Channel {
    type Error = StoreError;
    fn try_from(r: ChannelRow) -> Result<Self, StoreError> {
        Ok(Channel {
            id: ChannelId(r.id),
            community_id: r.community_id.map(CommunityId),
            kind: ChannelKind::parse(&r.kind).ok_or_else(|| corrupt("channel kind", &r.kind))?,
            name: r.name,
            topic: r.topic,
            created_at: Timestamp(r.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct InviteRow {
    pub id: i64,
    pub community_id: i64,
    pub code: String,
    pub expires_at: Option<i64>,
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

/// An invitation as stored, with its revocation.
#[derive(Debug, Clone)]
pub struct StoredInvite {
    /// The invitation.
    pub invite: Invite,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

impl From<InviteRow> for StoredInvite {
    fn from(r: InviteRow) -> Self {
        StoredInvite {
            invite: Invite {
                id: InviteId(r.id),
                community_id: CommunityId(r.community_id),
                code: r.code,
                expires_at: r.expires_at.map(Timestamp),
                max_uses: r.max_uses,
                uses: r.uses,
                created_at: Timestamp(r.created_at),
            },
            revoked_at: r.revoked_at.map(Timestamp),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl From<TokenRow> for ApiToken {
    fn from(r: TokenRow) -> Self {
        ApiToken {
            id: TokenId(r.id),
            name: r.name,
            created_at: Timestamp(r.created_at),
            last_used_at: r.last_used_at.map(Timestamp),
            revoked_at: r.revoked_at.map(Timestamp),
        }
    }
}

debug_fields!(UserRow {
    id,
    is_operator,
    created_at
});
debug_fields!(CommunityRow {
    id,
    join_policy,
    owner_id,
    created_at
});
debug_fields!(ChannelRow {
    id,
    community_id,
    kind,
    created_at
});
debug_fields!(InviteRow {
    id,
    community_id,
    expires_at,
    max_uses,
    uses,
    revoked_at,
    created_at
});
debug_fields!(TokenRow {
    id,
    created_at,
    last_used_at,
    revoked_at
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewMessage, NewUser};
    use hearth_core::MessageId;

    const PLANTED: &str = "planted-personal-text";

    #[test]
    fn debug_output_of_rows_and_inputs_holds_no_emails_hashes_names_or_bodies() {
        let printed = [
            format!(
                "{:?}",
                UserRow {
                    id: 1,
                    username: PLANTED.into(),
                    display_name: PLANTED.into(),
                    email: format!("{PLANTED}@example.org"),
                    password_hash: format!("$argon2id$v=19${PLANTED}"),
                    is_operator: false,
                    created_at: 1,
                    about: Some(PLANTED.as_bytes().to_vec()),
                    avatar_id: None,
                    email_verified_at: None,
                    sale_opt_out_at: None,
                    sensitive_limit_at: None,
                }
            ),
            format!(
                "{:?}",
                NewUser {
                    id: UserId(1),
                    username: PLANTED,
                    display_name: PLANTED,
                    email: PLANTED,
                    password_hash: PLANTED,
                    is_operator: false,
                    now: Timestamp(1),
                }
            ),
            format!(
                "{:?}",
                NewMessage {
                    id: MessageId(2),
                    channel: ChannelId(3),
                    author: UserId(1),
                    thread_root: None,
                    body: PLANTED,
                    now: Timestamp(1),
                }
            ),
            format!(
                "{:?}",
                CommunityRow {
                    id: 4,
                    slug: PLANTED.into(),
                    name: PLANTED.into(),
                    description: PLANTED.into(),
                    join_policy: "open".into(),
                    owner_id: 1,
                    created_at: 1,
                    require_two_factor: false,
                }
            ),
            format!(
                "{:?}",
                ChannelRow {
                    id: 3,
                    community_id: Some(4),
                    kind: "public".into(),
                    name: PLANTED.into(),
                    topic: PLANTED.into(),
                    created_at: 1,
                }
            ),
            format!(
                "{:?}",
                InviteRow {
                    id: 5,
                    community_id: 4,
                    code: PLANTED.into(),
                    expires_at: None,
                    max_uses: None,
                    uses: 0,
                    revoked_at: None,
                    created_at: 1,
                }
            ),
            format!(
                "{:?}",
                TokenRow {
                    id: 6,
                    name: PLANTED.into(),
                    created_at: 1,
                    last_used_at: None,
                    revoked_at: None,
                }
            ),
            format!(
                "{:?}",
                crate::StoreOptions::new(format!("postgres://hearth:{PLANTED}@db/hearth"))
            ),
        ];
        for text in printed {
            assert!(!text.contains(PLANTED), "{text}");
        }
    }
}
