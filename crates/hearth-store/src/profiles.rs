//! Profiles: a person's about text and picture, and the custom profile fields communities ask
//! their members to fill in. The about text and the answers pass through the sealer.

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use hearth_core::catalog::Category;
use hearth_core::model::Account;
use hearth_core::profile::{FieldKind, FieldVisibility, ProfileField};
use hearth_core::{CommunityId, ProfileFieldId, Timestamp, UserId};

/// A person's picture, as the blob store keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avatar {
    /// Its file's id in the person's folder of the blob store.
    pub id: i64,
    /// Its type, sniffed from its bytes.
    pub media_type: &'static str,
}

/// A `profile_fields` row as read.
#[derive(sqlx::FromRow)]
struct FieldRow {
    id: i64,
    community_id: i64,
    label: String,
    help: String,
    kind: String,
    choices: String,
    required: bool,
    visibility: String,
    category: String,
    position: i64,
}

impl FieldRow {
    fn field(self) -> Result<ProfileField, StoreError> {
        let bad = |what: &str| StoreError::Corrupt(format!("profile field {}: {what}", self.id));
        let kind = FieldKind::parse(&self.kind).ok_or_else(|| bad("unknown kind"))?;
        let visibility =
            FieldVisibility::parse(&self.visibility).ok_or_else(|| bad("unknown visibility"))?;
        let category =
            Category::from_code(&self.category).ok_or_else(|| bad("unknown category"))?;
        Ok(ProfileField {
            id: ProfileFieldId(self.id),
            community_id: CommunityId(self.community_id),
            choices: choices_from_column(&self.choices),
            sensitive: category.always_sensitive(),
            label: self.label,
            help: self.help,
            kind,
            required: self.required,
            visibility,
            category,
            position: self.position,
        })
    }
}

/// Choices are stored one per line: a checked choice is one line of text.
fn choices_column(choices: &[String]) -> String {
    choices.join("\n")
}

fn choices_from_column(column: &str) -> Vec<String> {
    column
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

const FIELD_COLUMNS: &str =
    "id, community_id, label, help, kind, choices, required, visibility, category, position";

impl Conn<'_> {
    /// The community a profile field belongs to, and its label.
    pub async fn profile_field_home(
        &mut self,
        field: ProfileFieldId,
    ) -> Result<Option<(CommunityId, String)>, StoreError> {
        let row: Option<(i64, String)> = dispatch!(self, c => sqlx::query_as(
            "SELECT community_id, label FROM profile_fields WHERE id = $1")
            .bind(field.0).fetch_optional(&mut **c).await?);
        Ok(row.map(|(community, label)| (CommunityId(community), label)))
    }

    /// An account as its owner sees it, its about text opened.
    pub fn account_of(&self, row: &crate::rows::UserRow) -> Result<Account, StoreError> {
        let about = match &row.about {
            Some(sealed) => self.sealer.open(UserId(row.id), sealed)?,
            None => String::new(),
        };
        Ok(row.account(about))
    }

    /// A person's about text, opened; empty when they wrote none.
    pub async fn about(&mut self, user: UserId) -> Result<String, StoreError> {
        let row: Option<(Option<Vec<u8>>,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT about FROM users WHERE id = $1")
            .bind(user.0).fetch_optional(&mut **c).await?);
        match row.and_then(|(about,)| about) {
            Some(sealed) => self.sealer.open(user, &sealed),
            None => Ok(String::new()),
        }
    }

    /// Replaces a person's about text (empty clears it). False when the account is gone.
    pub async fn set_about(
        &mut self,
        user: UserId,
        about: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let sealed = (!about.is_empty()).then(|| self.sealer.seal(user, about));
        let changed = dispatch!(self, c => sqlx::query(
            "UPDATE users SET about = $2, updated_at = $3 WHERE id = $1")
            .bind(user.0).bind(sealed.as_deref()).bind(now.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(changed == 1)
    }

    /// A person's picture, if they have one.
    pub async fn avatar(&mut self, user: UserId) -> Result<Option<Avatar>, StoreError> {
        let row: Option<(Option<i64>, Option<String>)> = dispatch!(self, c => sqlx::query_as(
            "SELECT avatar_id, avatar_type FROM users WHERE id = $1")
            .bind(user.0).fetch_optional(&mut **c).await?);
        let Some((Some(id), Some(media_type))) = row else {
            return Ok(None);
        };
        let media_type = hearth_core::uploads::FileType::from_media_type(&media_type)
            .ok_or_else(|| StoreError::Corrupt("an avatar of an unknown type".into()))?
            .media_type();
        Ok(Some(Avatar { id, media_type }))
    }

    /// Replaces a person's picture (`None` removes it) and returns the one it replaced, whose
    /// file the caller removes once this commits.
    pub async fn set_avatar(
        &mut self,
        user: UserId,
        avatar: Option<Avatar>,
        now: Timestamp,
    ) -> Result<Option<Avatar>, StoreError> {
        let old = self.avatar(user).await?;
        dispatch!(self, c => sqlx::query(
            "UPDATE users SET avatar_id = $2, avatar_type = $3, updated_at = $4 WHERE id = $1")
            .bind(user.0).bind(avatar.map(|a| a.id)).bind(avatar.map(|a| a.media_type))
            .bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(old)
    }

    /// Which of `ids` are someone's picture (the upload sweep keeps their files).
    pub async fn existing_avatars(&mut self, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        self.present_ids("SELECT avatar_id FROM users WHERE avatar_id IN", ids)
            .await
    }

    /// A community's profile fields, in the order they are asked.
    pub async fn profile_fields(
        &mut self,
        community: CommunityId,
    ) -> Result<Vec<ProfileField>, StoreError> {
        let sql = format!(
            "SELECT {FIELD_COLUMNS} FROM profile_fields WHERE community_id = $1 \
             ORDER BY position, id"
        );
        let rows: Vec<FieldRow> = dispatch!(self, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(community.0).fetch_all(&mut **c).await?);
        rows.into_iter().map(FieldRow::field).collect()
    }

    /// Adds a profile field.
    pub async fn insert_profile_field(
        &mut self,
        field: &ProfileField,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO profile_fields (id, community_id, label, help, kind, choices, required, \
             visibility, category, position, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)")
            .bind(field.id.0).bind(field.community_id.0).bind(&field.label).bind(&field.help)
            .bind(field.kind.as_str()).bind(choices_column(&field.choices)).bind(field.required)
            .bind(field.visibility.as_str()).bind(field.category.code()).bind(field.position)
            .bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Rewrites a profile field's definition (not its kind or place). False when it is gone.
    pub async fn update_profile_field(
        &mut self,
        field: &ProfileField,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = dispatch!(self, c => sqlx::query(
            "UPDATE profile_fields SET label = $3, help = $4, choices = $5, required = $6, \
             visibility = $7, category = $8, updated_at = $9 \
             WHERE id = $1 AND community_id = $2")
            .bind(field.id.0).bind(field.community_id.0).bind(&field.label).bind(&field.help)
            .bind(choices_column(&field.choices)).bind(field.required)
            .bind(field.visibility.as_str()).bind(field.category.code()).bind(now.0)
            .execute(&mut **c).await?.rows_affected());
        Ok(changed == 1)
    }

    /// Deletes a profile field, and with it every answer to it. False when it was not there.
    pub async fn delete_profile_field(
        &mut self,
        community: CommunityId,
        field: ProfileFieldId,
    ) -> Result<bool, StoreError> {
        // The answers go with it, by the foreign key's cascade (enforced on both engines).
        let deleted = dispatch!(self, c => sqlx::query(
            "DELETE FROM profile_fields WHERE id = $1 AND community_id = $2")
            .bind(field.0).bind(community.0).execute(&mut **c).await?.rows_affected());
        Ok(deleted == 1)
    }

    /// Holds the community's row until the transaction ends: shared by a join (which reads
    /// the fields it must ask), exclusive by a change to the fields, so that on PostgreSQL
    /// no join reads the fields while another transaction changes them. SQLite's single
    /// writer already runs them one after the other.
    pub async fn lock_community_fields(
        &mut self,
        community: CommunityId,
        exclusive: bool,
    ) -> Result<(), StoreError> {
        if let crate::conn::DbConn::Postgres(c) = &mut self.db {
            let sql = if exclusive {
                "SELECT id FROM communities WHERE id = $1 FOR UPDATE"
            } else {
                "SELECT id FROM communities WHERE id = $1 FOR SHARE"
            };
            sqlx::query(sql).bind(community.0).execute(&mut **c).await?;
        }
        Ok(())
    }

    /// Every answer to a field, opened, with whose it is.
    pub async fn answers_to(
        &mut self,
        field: ProfileFieldId,
    ) -> Result<Vec<(UserId, String)>, StoreError> {
        let rows: Vec<(i64, Vec<u8>)> = dispatch!(self, c => sqlx::query_as(
            "SELECT user_id, value FROM profile_values WHERE field_id = $1")
            .bind(field.0).fetch_all(&mut **c).await?);
        rows.into_iter()
            .map(|(user, sealed)| Ok((UserId(user), self.sealer.open(UserId(user), &sealed)?)))
            .collect()
    }

    /// Deletes every answer to a field; returns how many went.
    pub async fn delete_answers_to(&mut self, field: ProfileFieldId) -> Result<u64, StoreError> {
        Ok(
            dispatch!(self, c => sqlx::query("DELETE FROM profile_values WHERE field_id = $1")
            .bind(field.0).execute(&mut **c).await?.rows_affected()),
        )
    }

    /// Every answer the person gave, in every community, with its question: (community,
    /// question, its help text, the answer opened), by community and the order asked.
    pub async fn labelled_answers(
        &mut self,
        user: UserId,
    ) -> Result<Vec<(String, String, String, String)>, StoreError> {
        let rows: Vec<(String, String, String, Vec<u8>)> = dispatch!(self, c => sqlx::query_as(
            "SELECT c.name, f.label, f.help, v.value FROM profile_values v \
             JOIN profile_fields f ON f.id = v.field_id \
             JOIN communities c ON c.id = v.community_id \
             WHERE v.user_id = $1 ORDER BY c.id, f.position, f.id")
            .bind(user.0).fetch_all(&mut **c).await?);
        rows.into_iter()
            .map(|(community, label, help, sealed)| {
                Ok((community, label, help, self.sealer.open(user, &sealed)?))
            })
            .collect()
    }

    /// A member's answers in a community, opened, by field id.
    pub async fn profile_answers(
        &mut self,
        community: CommunityId,
        user: UserId,
    ) -> Result<Vec<(ProfileFieldId, String)>, StoreError> {
        let rows: Vec<(i64, Vec<u8>)> = dispatch!(self, c => sqlx::query_as(
            "SELECT field_id, value FROM profile_values WHERE community_id = $1 AND user_id = $2")
            .bind(community.0).bind(user.0).fetch_all(&mut **c).await?);
        rows.into_iter()
            .map(|(field, sealed)| Ok((ProfileFieldId(field), self.sealer.open(user, &sealed)?)))
            .collect()
    }

    /// Sets (or, with `None`, clears) a member's answer to a field of their community.
    pub async fn set_profile_answer(
        &mut self,
        community: CommunityId,
        user: UserId,
        field: ProfileFieldId,
        value: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        match value {
            Some(value) => {
                let sealed = self.sealer.seal(user, value);
                dispatch!(self, c => sqlx::query(
                    "INSERT INTO profile_values (field_id, user_id, community_id, value, \
                     updated_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (field_id, user_id) DO UPDATE SET value = excluded.value, \
                     updated_at = excluded.updated_at")
                    .bind(field.0).bind(user.0).bind(community.0).bind(&sealed).bind(now.0)
                    .execute(&mut **c).await?.rows_affected());
            }
            None => {
                dispatch!(self, c => sqlx::query(
                    "DELETE FROM profile_values WHERE field_id = $1 AND user_id = $2")
                    .bind(field.0).bind(user.0).execute(&mut **c).await?.rows_affected());
            }
        }
        Ok(())
    }
}
