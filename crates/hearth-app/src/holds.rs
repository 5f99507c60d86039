//! Legal holds: a community's admins keep one person's messages there, for a reason, through
//! an erasure, which then completes in part and says what was held and why. Released, what a
//! hold kept of a person already erased is erased then. And the community's choice of what
//! erasing a member does to their messages: removed, or kept under "Deleted user".

use crate::audit::record;
use crate::communities::{require, role_in};
use crate::{Actor, App, AppError};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::permissions::Action;
use hearth_core::{CommunityId, DomainError, Timestamp, UserId};
use hearth_store::HoldRow;

/// Longest reason, in characters.
const MAX_REASON_CHARS: usize = 2000;

/// A legal hold as its community's admins see it.
#[derive(Debug, Clone)]
pub struct LegalHold {
    /// Its id.
    pub id: i64,
    /// The person's username, while they have an account.
    pub username: Option<String>,
    /// Their id (kept once the account is gone).
    pub person: i64,
    /// Why it was placed.
    pub reason: String,
    /// When.
    pub set_at: Timestamp,
}

/// What an erasure kept under a legal hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldPart {
    /// The community that holds it.
    pub community: String,
    /// Why.
    pub reason: String,
    /// How many messages.
    pub messages: u64,
}

/// What erasing a member does to their messages in a community.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasedMessages {
    /// Their text goes; the messages stay as tombstones in others' threads.
    Remove,
    /// The messages stay, shown as by "Deleted user".
    Keep,
}

impl ErasedMessages {
    /// The stable code stored.
    pub fn code(self) -> &'static str {
        match self {
            ErasedMessages::Remove => "remove",
            ErasedMessages::Keep => "keep",
        }
    }

    /// The choice a code names.
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "remove" => Some(ErasedMessages::Remove),
            "keep" => Some(ErasedMessages::Keep),
            _ => None,
        }
    }
}

impl App {
    /// Places a legal hold on the messages of the member `username` in a community (admins).
    pub async fn place_hold(
        &self,
        actor: &Actor,
        community: CommunityId,
        username: &str,
        reason: &str,
    ) -> Result<LegalHold, AppError> {
        let reason = hearth_core::validate::several_lines("reason", reason, MAX_REASON_CHARS)?;
        if reason.is_empty() {
            return Err(
                DomainError::invalid("reason", "must say why the messages are held").into(),
            );
        }
        // Any text that is no username finds no member (an address included): only what a
        // database cannot hold is refused as input.
        let username = hearth_core::validate::one_line("username", username, 254)?.to_lowercase();
        let admin = actor.user;
        let id = self.store.next_id();
        let row = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, admin).await?;
                    require(
                        role,
                        Action::HandlePrivacyRequests,
                        "only admins place legal holds",
                    )?;
                    // A member of this community, by username: nothing here tells an admin
                    // whether an address or a name has an account elsewhere.
                    let person = tx
                        .conn()
                        .member_named(community, &username)
                        .await?
                        .ok_or(DomainError::NotFound("member"))?;
                    if tx.conn().holds_person(community, person).await? {
                        return Err(DomainError::Conflict(
                            "this member's messages here are held already",
                        )
                        .into());
                    }
                    let row = HoldRow {
                        id,
                        community_id: community.0,
                        user_id: Some(person.0),
                        former_user_id: person.0,
                        reason,
                        set_at: Timestamp::now().0,
                    };
                    tx.conn().insert_hold(&row).await?;
                    let object = (ObjectKind::LegalHold, Some(id));
                    record(
                        tx,
                        Some(admin),
                        AuditAction::LegalHoldPlaced,
                        object,
                        Some(community),
                    );
                    Ok::<_, AppError>(row)
                })
            })
            .await?;
        let username = Some(self.username_of(UserId(row.former_user_id)).await?).flatten();
        Ok(hold_of(row, username))
    }

    async fn username_of(&self, user: UserId) -> Result<Option<String>, AppError> {
        let mut reader = self.store.reader().await?;
        Ok(reader.conn().user(user).await?.map(|u| u.username))
    }

    /// A community's legal holds, newest first (admins).
    pub async fn holds(
        &self,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<Vec<LegalHold>, AppError> {
        self.require_in(
            actor,
            community,
            Action::HandlePrivacyRequests,
            "only admins see the community's legal holds",
        )
        .await?;
        let rows = {
            let mut reader = self.store.reader().await?;
            reader.conn().holds_of(community).await?
        };
        let mut holds = Vec::with_capacity(rows.len());
        for row in rows {
            let username = match row.user_id {
                Some(user) => self.username_of(UserId(user)).await?,
                None => None,
            };
            holds.push(hold_of(row, username));
        }
        Ok(holds)
    }

    /// Releases a hold (admins). What it kept of a person already erased is erased now.
    pub async fn release_hold(
        &self,
        actor: &Actor,
        community: CommunityId,
        id: i64,
    ) -> Result<(), AppError> {
        let admin = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, admin).await?;
                    require(
                        role,
                        Action::HandlePrivacyRequests,
                        "only admins release legal holds",
                    )?;
                    tx.conn()
                        .release_hold(community, id)
                        .await?
                        .ok_or(DomainError::NotFound("legal hold"))?;
                    // The held texts must not linger in SQLite's log.
                    tx.truncate_journal_after_commit();
                    let object = (ObjectKind::LegalHold, Some(id));
                    record(
                        tx,
                        Some(admin),
                        AuditAction::LegalHoldReleased,
                        object,
                        Some(community),
                    );
                    Ok::<_, AppError>(())
                })
            })
            .await
    }

    /// What erasing a member does to their messages in a community.
    pub async fn erased_messages(
        &self,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<ErasedMessages, AppError> {
        self.require_in(
            actor,
            community,
            Action::HandlePrivacyRequests,
            "only admins see what erasure does to messages here",
        )
        .await?;
        let mut reader = self.store.reader().await?;
        let code = reader
            .conn()
            .erased_messages(community)
            .await?
            .ok_or(DomainError::NotFound("community"))?;
        Ok(ErasedMessages::parse(&code).unwrap_or(ErasedMessages::Remove))
    }

    /// Chooses it (admins); audited with the request handling.
    pub async fn set_erased_messages(
        &self,
        actor: &Actor,
        community: CommunityId,
        choice: ErasedMessages,
    ) -> Result<(), AppError> {
        let admin = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, admin).await?;
                    require(
                        role,
                        Action::HandlePrivacyRequests,
                        "only admins choose what erasure does to messages",
                    )?;
                    tx.conn()
                        .set_erased_messages(community, choice.code())
                        .await?;
                    let object = (ObjectKind::Community, Some(community.0));
                    record(
                        tx,
                        Some(admin),
                        AuditAction::RequestHandlingChanged,
                        object,
                        Some(community),
                    );
                    Ok::<_, AppError>(())
                })
            })
            .await
    }
}

fn hold_of(row: HoldRow, username: Option<String>) -> LegalHold {
    LegalHold {
        id: row.id,
        username,
        person: row.former_user_id,
        reason: row.reason,
        set_at: Timestamp(row.set_at),
    }
}
