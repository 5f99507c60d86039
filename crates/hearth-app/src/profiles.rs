//! Profiles: one's about text and picture, and the custom profile fields a community's admins
//! define and its members answer (at join, and later from their community profile).

use crate::audit::record;
use crate::communities::{require, role_in};
use crate::uploads::Download;
use crate::{Actor, App, AppError};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::model::{Account, Attachment, Profile};
use hearth_core::permissions::{Action, allows};
use hearth_core::profile::{
    self, Coverage, FieldDefinition, MAX_FIELDS, ProfileAnswer, ProfileField, Redefinition,
};
use hearth_core::uploads::{self as files, FileType};
use hearth_core::{
    CommunityId, DomainError, ProfileFieldId, Timestamp, UploadId, UserId, validate,
};
use hearth_store::{Avatar, Conn, Tx};

/// Longest about text, in characters.
pub const MAX_ABOUT_CHARS: usize = 1_000;

/// Largest picture accepted, in bytes (before its metadata is cut).
pub const MAX_AVATAR_BYTES: usize = 2 * 1024 * 1024;

/// The types a picture may be: the still and animated images every browser shows.
const AVATAR_TYPES: &[FileType] = &[FileType::Jpeg, FileType::Png, FileType::Webp, FileType::Gif];

/// Answers, as a form or a JSON body names them: field id and raw value.
pub type Answers = Vec<(ProfileFieldId, String)>;

/// Writes checked answers for a member, within the caller's transaction, and audits them
/// (at join, this is the record of what was agreed to, and when).
pub(crate) async fn write_answers(
    tx: &mut Tx,
    community: CommunityId,
    user: UserId,
    checked: &[(ProfileFieldId, Option<String>)],
) -> Result<(), AppError> {
    let now = Timestamp::now();
    for (field, value) in checked {
        tx.conn()
            .set_profile_answer(community, user, *field, value.as_deref(), now)
            .await?;
    }
    if checked.iter().any(|(_, value)| value.is_some()) {
        record(
            tx,
            Some(user),
            AuditAction::ProfileAnswersChanged,
            (ObjectKind::User, Some(user.0)),
            Some(community),
        );
    }
    Ok(())
}

/// Checks that `user` may manage the community's profile fields (refusing with `refusal`),
/// and holds the community's row so that no join reads the fields while they change.
async fn hold_fields(
    tx: &mut Tx,
    community: CommunityId,
    user: UserId,
    refusal: &'static str,
) -> Result<(), AppError> {
    let role = role_in(&mut tx.conn(), community, user).await?;
    require(role, Action::ManageProfileFields, refusal)?;
    tx.conn().lock_community_fields(community, true).await?;
    Ok(())
}

/// Checks answers given at join against the community's fields, inside the join's
/// transaction, holding the community's row so that no change to the fields commits between
/// this read and the join.
pub(crate) async fn joining_answers(
    conn: &mut Conn<'_>,
    community: CommunityId,
    given: &Answers,
) -> Result<Vec<(ProfileFieldId, Option<String>)>, AppError> {
    conn.lock_community_fields(community, false).await?;
    let fields = conn.profile_fields(community).await?;
    Ok(profile::answers(&fields, given, Coverage::Joining)?)
}

/// A member's answers that `reader` may see, in the order the fields are asked.
async fn visible_answers(
    conn: &mut Conn<'_>,
    community: CommunityId,
    member: UserId,
    sees_all: bool,
) -> Result<Vec<ProfileAnswer>, AppError> {
    let fields = conn.profile_fields(community).await?;
    let answers = conn.profile_answers(community, member).await?;
    Ok(fields
        .into_iter()
        .filter(|f| profile::visible_to(f.visibility, sees_all))
        .filter_map(|f| {
            let value = answers.iter().find(|(id, _)| *id == f.id)?.1.clone();
            Some(ProfileAnswer {
                field_id: f.id,
                label: f.label,
                kind: f.kind,
                visibility: f.visibility,
                value,
            })
        })
        .collect())
}

impl App {
    /// A community's profile fields: for its members, and for anyone who may join it (an open
    /// community), so that the join form can ask them.
    pub async fn profile_fields(
        &self,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<Vec<ProfileField>, AppError> {
        // The same visibility as the community itself: members, or anyone if it is open.
        self.community(actor, community).await?;
        let mut reader = self.store.reader().await?;
        Ok(reader.conn().profile_fields(community).await?)
    }

    /// Defines a new profile field, asked after the others (admins and the owner).
    pub async fn create_profile_field(
        &self,
        actor: &Actor,
        community: CommunityId,
        definition: FieldDefinition,
    ) -> Result<ProfileField, AppError> {
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    hold_fields(tx, community, user, "only admins define profile fields").await?;
                    crate::terms::hold_for_terms(tx, community).await?;
                    let existing = tx.conn().profile_fields(community).await?;
                    if existing.len() >= MAX_FIELDS {
                        return Err(DomainError::Conflict(
                            "a community may ask at most 30 profile fields",
                        )
                        .into());
                    }
                    let position = existing.iter().map(|f| f.position + 1).max().unwrap_or(0);
                    let field = ProfileField::new(
                        ProfileFieldId(tx.next_id()),
                        community,
                        definition,
                        position,
                    );
                    tx.conn()
                        .insert_profile_field(&field, Timestamp::now())
                        .await?;
                    record(
                        tx,
                        Some(user),
                        AuditAction::ProfileFieldCreated,
                        (ObjectKind::ProfileField, Some(field.id.0)),
                        Some(community),
                    );
                    Ok(field)
                })
            })
            .await
    }

    /// Changes a profile field's question, help, choices, requirement, visibility or
    /// category (admins and the owner). Its kind stays: answers of one kind would not fit
    /// another.
    pub async fn update_profile_field(
        &self,
        actor: &Actor,
        community: CommunityId,
        field: ProfileFieldId,
        definition: FieldDefinition,
    ) -> Result<ProfileField, AppError> {
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    hold_fields(tx, community, user, "only admins change profile fields").await?;
                    crate::terms::hold_for_terms(tx, community).await?;
                    let current = tx
                        .conn()
                        .profile_fields(community)
                        .await?
                        .into_iter()
                        .find(|f| f.id == field)
                        .ok_or(DomainError::NotFound("profile field"))?;
                    if current.kind != definition.kind {
                        return Err(DomainError::Conflict(
                            "a field's kind cannot change; define a new field instead",
                        )
                        .into());
                    }
                    let effect = profile::redefinition(&current, &definition);
                    let changed = ProfileField::new(field, community, definition, current.position);
                    if !tx
                        .conn()
                        .update_profile_field(&changed, Timestamp::now())
                        .await?
                    {
                        return Err(DomainError::NotFound("profile field").into());
                    }
                    match effect {
                        Redefinition::KeepsAnswers => {}
                        Redefinition::VoidsAnswers => {
                            tx.conn().delete_answers_to(field).await?;
                            tx.truncate_journal_after_commit();
                        }
                        Redefinition::DropsChoices(dropped) => {
                            for (member, answer) in tx.conn().answers_to(field).await? {
                                if dropped.contains(&answer) {
                                    tx.conn()
                                        .set_profile_answer(
                                            community,
                                            member,
                                            field,
                                            None,
                                            Timestamp::now(),
                                        )
                                        .await?;
                                }
                            }
                            tx.truncate_journal_after_commit();
                        }
                    }
                    record(
                        tx,
                        Some(user),
                        AuditAction::ProfileFieldChanged,
                        (ObjectKind::ProfileField, Some(field.0)),
                        Some(community),
                    );
                    Ok(changed)
                })
            })
            .await
    }

    /// Deletes a profile field and every member's answer to it (admins and the owner).
    pub async fn delete_profile_field(
        &self,
        actor: &Actor,
        community: CommunityId,
        field: ProfileFieldId,
    ) -> Result<(), AppError> {
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    hold_fields(tx, community, user, "only admins delete profile fields").await?;
                    if !tx.conn().delete_profile_field(community, field).await? {
                        return Err(DomainError::NotFound("profile field").into());
                    }
                    // The answers' old pages must not linger in SQLite's log.
                    tx.truncate_journal_after_commit();
                    record(
                        tx,
                        Some(user),
                        AuditAction::ProfileFieldDeleted,
                        (ObjectKind::ProfileField, Some(field.0)),
                        Some(community),
                    );
                    Ok(())
                })
            })
            .await
    }

    /// A member's answers in a community, as the caller (a member too) may see them: all of
    /// them for the member themself and for admins; those shown to members for the others.
    pub async fn profile_answers(
        &self,
        actor: &Actor,
        community: CommunityId,
        member: UserId,
    ) -> Result<Vec<ProfileAnswer>, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let role = role_in(&mut conn, community, actor.user).await?;
        if conn.member_role(community, member).await?.is_none() {
            return Err(DomainError::NotFound("member").into());
        }
        let sees_all = member == actor.user || allows(role, Action::SeeAdminOnlyAnswers);
        visible_answers(&mut conn, community, member, sees_all).await
    }

    /// Changes some of the caller's answers in a community they belong to; fields not named
    /// stay as they are, and a required one cannot be cleared.
    pub async fn set_profile_answers(
        &self,
        actor: &Actor,
        community: CommunityId,
        given: Answers,
    ) -> Result<Vec<ProfileAnswer>, AppError> {
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    role_in(&mut tx.conn(), community, user).await?;
                    // No redefinition commits between reading the fields and writing to them.
                    tx.conn().lock_community_fields(community, false).await?;
                    let fields = tx.conn().profile_fields(community).await?;
                    let checked = profile::answers(&fields, &given, Coverage::Changing)?;
                    write_answers(tx, community, user, &checked).await?;
                    // Replaced and cleared answers must not linger in SQLite's log.
                    tx.truncate_journal_after_commit();
                    Ok::<_, AppError>(())
                })
            })
            .await?;
        self.profile_answers(actor, community, actor.user).await
    }

    /// Someone's profile: who they are, what they say about themself and whether they have a
    /// picture, for those who may see them at all (see [`App::user`]).
    pub async fn profile(&self, actor: &Actor, id: UserId) -> Result<Profile, AppError> {
        let user = self.user(actor, id).await?;
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let about = conn.about(id).await?;
        let avatar_id = conn.avatar(id).await?.map(|a| UploadId(a.id));
        Ok(Profile {
            user,
            about,
            avatar_id,
        })
    }

    /// Changes the caller's shown name and about text; `None` leaves one as it is.
    pub async fn update_profile(
        &self,
        actor: &Actor,
        display_name: Option<&str>,
        about: Option<&str>,
    ) -> Result<Account, AppError> {
        let display_name = display_name
            .map(|n| validate::name("display_name", n))
            .transpose()?;
        let about = about
            .map(|a| validate::several_lines("about", a, MAX_ABOUT_CHARS))
            .transpose()?;
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    let mut present = true;
                    if let Some(name) = &display_name {
                        present &= tx.conn().set_display_name(user, name, now).await?;
                    }
                    if let Some(about) = &about {
                        present &= tx.conn().set_about(user, about, now).await?;
                        // The text it replaced must not linger in SQLite's log.
                        tx.truncate_journal_after_commit();
                    }
                    if !present {
                        return Err(DomainError::Unauthenticated.into());
                    }
                    record(
                        tx,
                        Some(user),
                        AuditAction::ProfileUpdated,
                        (ObjectKind::User, Some(user.0)),
                        None,
                    );
                    Ok::<_, AppError>(())
                })
            })
            .await?;
        self.me(actor).await
    }

    /// The largest picture accepted, in bytes.
    pub fn max_avatar_bytes(&self) -> usize {
        MAX_AVATAR_BYTES.min(self.config.uploads.max_bytes)
    }

    /// Replaces the caller's picture with an image (JPEG, PNG, WebP or GIF, sniffed from its
    /// bytes, and of a type the instance accepts as uploads), its location and camera
    /// metadata cut, kept in their folder of the blob store.
    pub async fn set_avatar(&self, actor: &Actor, bytes: &[u8]) -> Result<Account, AppError> {
        let limit = self.max_avatar_bytes();
        if bytes.len() > limit {
            return Err(DomainError::TooLarge {
                limit_bytes: limit as u64,
            }
            .into());
        }
        // Pictures are images this instance accepts as uploads at all.
        let types: Vec<FileType> = AVATAR_TYPES
            .iter()
            .copied()
            .filter(|t| self.config.uploads.types.contains(t))
            .collect();
        let (kind, stored) = files::accept(bytes, &types)
            .map_err(|e| AppError::from(DomainError::UnsupportedType(e.to_string())))?;
        let avatar = Avatar {
            id: self.store.next_id(),
            media_type: kind.media_type(),
        };
        // The file first, then the row naming it: a crash between leaves a file without a
        // row, which the upload sweep removes.
        self.blobs
            .put(actor.user, avatar.id, stored)
            .await
            .map_err(|e| AppError::Internal(format!("could not store a picture: {e}")))?;
        let replaced = self.write_avatar(actor.user, Some(avatar)).await;
        match replaced {
            Ok(old) => {
                self.remove_files(old.map(|o| (actor.user, o.id)).into_iter().collect())
                    .await;
            }
            Err(error) => {
                self.remove_files(vec![(actor.user, avatar.id)]).await;
                return Err(error);
            }
        }
        self.me(actor).await
    }

    /// Removes the caller's picture.
    pub async fn remove_avatar(&self, actor: &Actor) -> Result<(), AppError> {
        let old = self.write_avatar(actor.user, None).await?;
        self.remove_files(old.map(|o| (actor.user, o.id)).into_iter().collect())
            .await;
        Ok(())
    }

    async fn write_avatar(
        &self,
        user: UserId,
        avatar: Option<Avatar>,
    ) -> Result<Option<Avatar>, AppError> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if tx.conn().user(user).await?.is_none() {
                        return Err(DomainError::Unauthenticated.into());
                    }
                    let old = tx.conn().set_avatar(user, avatar, Timestamp::now()).await?;
                    record(
                        tx,
                        Some(user),
                        AuditAction::AvatarChanged,
                        (ObjectKind::User, Some(user.0)),
                        None,
                    );
                    Ok::<_, AppError>(old)
                })
            })
            .await
    }

    /// Someone's picture, for those who may see them.
    pub async fn avatar(&self, actor: &Actor, id: UserId) -> Result<Download, AppError> {
        self.user(actor, id).await?;
        let not_found = || AppError::from(DomainError::NotFound("avatar"));
        let avatar = {
            let mut reader = self.store.reader().await?;
            reader.conn().avatar(id).await?.ok_or_else(not_found)?
        };
        let bytes = self.blobs.read(id, avatar.id).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                not_found()
            } else {
                AppError::Internal(format!("could not read a picture: {e}"))
            }
        })?;
        let extension =
            FileType::from_media_type(avatar.media_type).map_or("img", FileType::extension);
        Ok(Download {
            attachment: Attachment {
                id: UploadId(avatar.id),
                name: format!("avatar.{extension}"),
                media_type: avatar.media_type.to_string(),
                size: bytes.len() as i64,
            },
            bytes,
        })
    }
}
