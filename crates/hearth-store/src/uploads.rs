//! What the database knows of uploaded files; their bytes are in the blob store.

use crate::StoreError;
use crate::conn::{Conn, dispatch, placeholders};
use hearth_core::model::Attachment;
use hearth_core::{ChannelId, MessageId, Timestamp, UploadId, UserId};

/// An `uploads` row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UploadRow {
    /// Upload id, which is also its file's name in the blob store.
    pub id: i64,
    /// Who uploaded it: the blob store keeps it in their folder.
    pub owner_id: i64,
    /// The channel it was uploaded to.
    pub channel_id: i64,
    /// The message it is attached to, once it is.
    pub message_id: Option<i64>,
    /// The name it was uploaded under, a label only.
    pub file_name: String,
    /// Its type, sniffed from its bytes.
    pub media_type: String,
    /// Bytes stored.
    pub size: i64,
    /// Uploaded.
    pub created_at: i64,
}

impl UploadRow {
    /// The file as a message's readers see it.
    pub fn attachment(&self) -> Attachment {
        Attachment {
            id: UploadId(self.id),
            name: self.file_name.clone(),
            media_type: self.media_type.clone(),
            size: self.size,
        }
    }

    /// Where the blob store keeps it.
    pub fn blob(&self) -> (UserId, i64) {
        (UserId(self.owner_id), self.id)
    }
}

/// Most ids one `IN (...)` list carries; well under both engines' limits on parameters.
const IDS_PER_QUERY: usize = 500;

const COLUMNS: &str =
    "id, owner_id, channel_id, message_id, file_name, media_type, size, created_at";

impl Conn<'_> {
    /// Records an uploaded file, not yet attached to a message.
    pub async fn insert_upload(&mut self, row: &UploadRow) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO uploads (id, owner_id, channel_id, message_id, file_name, media_type, \
             size, created_at) VALUES ($1, $2, $3, NULL, $4, $5, $6, $7)")
            .bind(row.id).bind(row.owner_id).bind(row.channel_id).bind(&row.file_name)
            .bind(&row.media_type).bind(row.size).bind(row.created_at)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// One upload.
    pub async fn upload(&mut self, id: UploadId) -> Result<Option<UploadRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM uploads WHERE id = $1");
        Ok(
            dispatch!(self, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id.0).fetch_optional(&mut **c).await?),
        )
    }

    /// Attaches `uploads` to `message`: only uploads of `owner`'s, to `channel`, not attached
    /// yet. Returns how many were; fewer than asked means some were not theirs to attach.
    pub async fn attach_uploads(
        &mut self,
        uploads: &[UploadId],
        owner: UserId,
        channel: ChannelId,
        message: MessageId,
    ) -> Result<u64, StoreError> {
        if uploads.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "UPDATE uploads SET message_id = $1 WHERE owner_id = $2 AND channel_id = $3 \
             AND message_id IS NULL AND id IN ({})",
            placeholders(4, uploads.len())
        );
        Ok(dispatch!(self, c => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(message.0).bind(owner.0).bind(channel.0);
            for id in uploads {
                query = query.bind(id.0);
            }
            query.execute(&mut **c).await?.rows_affected()
        }))
    }

    /// The attachments of some messages, each with its message's id, in upload order.
    pub async fn attachments_of(
        &mut self,
        messages: &[MessageId],
    ) -> Result<Vec<(MessageId, Attachment)>, StoreError> {
        let mut found = Vec::new();
        for chunk in messages.chunks(IDS_PER_QUERY) {
            let sql = format!(
                "SELECT {COLUMNS} FROM uploads WHERE message_id IN ({}) ORDER BY id",
                placeholders(1, chunk.len())
            );
            let rows: Vec<UploadRow> = dispatch!(self, c => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for id in chunk {
                    query = query.bind(id.0);
                }
                query.fetch_all(&mut **c).await?
            });
            found.extend(rows.into_iter().filter_map(|row| {
                let message = MessageId(row.message_id?);
                Some((message, row.attachment()))
            }));
        }
        Ok(found)
    }

    /// Deletes a message's uploads; returns their files, for the blob store to remove once
    /// the transaction has committed.
    pub async fn delete_uploads_of_message(
        &mut self,
        message: MessageId,
    ) -> Result<Vec<(UserId, i64)>, StoreError> {
        let rows: Vec<(i64, i64)> = dispatch!(self, c => sqlx::query_as(
            "DELETE FROM uploads WHERE message_id = $1 RETURNING owner_id, id")
            .bind(message.0).fetch_all(&mut **c).await?);
        Ok(rows.into_iter().map(|(o, id)| (UserId(o), id)).collect())
    }

    /// Deletes up to `limit` uploads never attached to a message and made before `before`;
    /// returns their files.
    pub async fn delete_unattached_uploads(
        &mut self,
        before: Timestamp,
        limit: i64,
    ) -> Result<Vec<(UserId, i64)>, StoreError> {
        let rows: Vec<(i64, i64)> = dispatch!(self, c => sqlx::query_as(
            "DELETE FROM uploads WHERE id IN (SELECT id FROM uploads \
             WHERE message_id IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2) \
             RETURNING owner_id, id")
            .bind(before.0).bind(limit).fetch_all(&mut **c).await?);
        Ok(rows.into_iter().map(|(o, id)| (UserId(o), id)).collect())
    }

    /// Deletes those of `ids` that are `owner`'s uploads not attached to a message; returns
    /// their files.
    pub async fn delete_unattached_uploads_of(
        &mut self,
        owner: UserId,
        ids: &[UploadId],
    ) -> Result<Vec<(UserId, i64)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "DELETE FROM uploads WHERE owner_id = $1 AND message_id IS NULL AND id IN ({}) \
             RETURNING owner_id, id",
            placeholders(2, ids.len())
        );
        let rows: Vec<(i64, i64)> = dispatch!(self, c => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(owner.0);
            for id in ids {
                query = query.bind(id.0);
            }
            query.fetch_all(&mut **c).await?
        });
        Ok(rows.into_iter().map(|(o, id)| (UserId(o), id)).collect())
    }

    /// Which of `ids` have a row.
    pub async fn existing_uploads(&mut self, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        self.present_ids("SELECT id FROM uploads WHERE id IN", ids)
            .await
    }

    /// Those of `ids` that `select` (a query ending in `IN`, of one id column) finds.
    pub(crate) async fn present_ids(
        &mut self,
        select: &'static str,
        ids: &[i64],
    ) -> Result<Vec<i64>, StoreError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let sql = format!("{select} ({})", placeholders(1, chunk.len()));
            let rows: Vec<(i64,)> = dispatch!(self, c => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for id in chunk {
                    query = query.bind(*id);
                }
                query.fetch_all(&mut **c).await?
            });
            found.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(found)
    }
}
