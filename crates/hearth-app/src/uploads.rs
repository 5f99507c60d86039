//! Uploaded files: taken in (type sniffed, metadata cut, kept in the uploader's folder of the
//! blob store), attached to a message by its author, and given back only to those who may read
//! that message.

use crate::audit::record;
use crate::chat::{access, read_access};
use crate::{App, AppError};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::model::{Attachment, Message};
use hearth_core::uploads::{self, UploadError};
use hearth_core::{ChannelId, DomainError, MessageId, Timestamp, UploadId, UserId};
use hearth_store::{Conn, UploadRow};

/// Most files one message carries.
pub const MAX_ATTACHMENTS: usize = 10;

/// How long an upload may wait for its message before the sweep removes it.
pub(crate) const UNATTACHED_HOURS: i64 = 24;

/// A file to give back, with what to say about it.
pub struct Download {
    /// What the file is.
    pub attachment: Attachment,
    /// Its bytes, as stored.
    pub bytes: Vec<u8>,
}

impl App {
    /// The largest upload accepted, in bytes.
    pub fn max_upload_bytes(&self) -> usize {
        self.config.uploads.max_bytes
    }

    /// Takes in a file for the caller to attach to a message in `channel`, which they must be
    /// able to post in. The type is sniffed from the bytes; images lose their location and
    /// camera metadata before they are kept.
    pub async fn upload(
        &self,
        actor: &crate::Actor,
        channel: ChannelId,
        name: &str,
        bytes: &[u8],
    ) -> Result<Attachment, AppError> {
        let settings = &self.config.uploads;
        if bytes.len() > settings.max_bytes {
            return Err(DomainError::TooLarge {
                limit_bytes: settings.max_bytes as u64,
            }
            .into());
        }
        // Refuse early, before any work, someone who may not post here.
        {
            let mut reader = self.store.reader().await?;
            let access = access(&mut reader.conn(), actor.user, channel).await?;
            if !access.member {
                return Err(DomainError::Forbidden("join the channel to post in it").into());
            }
        }
        let (kind, stored) = uploads::accept(bytes, &settings.types).map_err(refusal)?;
        let row = UploadRow {
            id: self.store.next_id(),
            owner_id: actor.user.0,
            channel_id: channel.0,
            message_id: None,
            file_name: uploads::clean_file_name(name, kind),
            media_type: kind.media_type().to_string(),
            size: stored.len() as i64,
            created_at: Timestamp::now().0,
        };
        // The file first, then the row that makes it visible: a crash between leaves only a
        // file without a row, which the sweep removes.
        self.blobs
            .put(actor.user, row.id, stored)
            .await
            .map_err(|e| AppError::Internal(format!("could not store an upload: {e}")))?;
        let user = actor.user;
        let inserted = {
            let row = row.clone();
            self.store
                .write(move |tx| {
                    Box::pin(async move {
                        let access = access(&mut tx.conn(), user, channel).await?;
                        if !access.member {
                            return Err(
                                DomainError::Forbidden("join the channel to post in it").into()
                            );
                        }
                        tx.conn().insert_upload(&row).await?;
                        record(
                            tx,
                            Some(user),
                            AuditAction::UploadCreated,
                            (ObjectKind::Upload, Some(row.id)),
                            access.channel.community_id,
                        );
                        Ok::<_, AppError>(())
                    })
                })
                .await
        };
        if let Err(error) = inserted {
            if let Err(e) = self.blobs.remove(vec![row.blob()]).await {
                tracing::warn!(error = %e, "could not remove the file of a refused upload");
            }
            return Err(error);
        }
        Ok(row.attachment())
    }

    /// An uploaded file, for someone who may read the message it is attached to; before it
    /// is attached, for its uploader alone. Anyone else hears it does not exist.
    pub async fn download(&self, actor: &crate::Actor, id: UploadId) -> Result<Download, AppError> {
        let not_found = || AppError::from(DomainError::NotFound("upload"));
        let row = {
            let mut reader = self.store.reader().await?;
            let mut conn = reader.conn();
            let row = conn.upload(id).await?.ok_or_else(not_found)?;
            match row.message_id {
                None if row.owner_id == actor.user.0 => {}
                None => return Err(not_found()),
                Some(message) => {
                    let message = conn
                        .message(MessageId(message))
                        .await?
                        .filter(|m| m.deleted_at.is_none())
                        .ok_or_else(not_found)?;
                    read_access(&mut conn, actor.user, &message)
                        .await
                        .map_err(|_| not_found())?;
                }
            }
            row
        };
        let (owner, file) = row.blob();
        let bytes = self.blobs.read(owner, file).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                not_found()
            } else {
                AppError::Internal(format!("could not read an upload: {e}"))
            }
        })?;
        Ok(Download {
            attachment: row.attachment(),
            bytes,
        })
    }

    /// Deletes the caller's uploads among `ids` that are not attached to a message, rows and
    /// files: those taken in for a post that was then not made. Failures are logged; the
    /// sweep removes what is left within a day.
    pub async fn discard_uploads(&self, actor: &crate::Actor, ids: &[UploadId]) {
        if ids.is_empty() {
            return;
        }
        let user = actor.user;
        let ids = ids.to_vec();
        let deleted = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    Ok::<_, AppError>(tx.conn().delete_unattached_uploads_of(user, &ids).await?)
                })
            })
            .await;
        match deleted {
            Ok(files) => self.remove_files(files).await,
            Err(error) => tracing::warn!(%error, "could not discard the uploads of a failed post"),
        }
    }

    /// Removes files from the blob store after the rows that named them are gone; a failure
    /// is logged and left to the sweep.
    pub(crate) async fn remove_files(&self, files: Vec<(UserId, i64)>) {
        if files.is_empty() {
            return;
        }
        if let Err(error) = self.blobs.remove(files).await {
            tracing::warn!(%error, "could not remove uploaded files; the sweep will");
        }
    }

    /// Sweeps uploads: those never attached within a day go, rows and files, and so do files
    /// that no upload row or picture names (left by a crash, or by a channel deleted with its uploads). Returns how
    /// many files went.
    pub(crate) async fn sweep_uploads(&self) -> Result<u64, AppError> {
        let before = Timestamp::now().plus_seconds(-UNATTACHED_HOURS * 3600);
        let mut removed = 0;
        loop {
            let files = self
                .store
                .write(move |tx| {
                    Box::pin(async move {
                        Ok::<_, AppError>(
                            tx.conn()
                                .delete_unattached_uploads(before, SWEEP_BATCH)
                                .await?,
                        )
                    })
                })
                .await?;
            let done = (files.len() as i64) < SWEEP_BATCH;
            removed += files.len() as u64;
            self.remove_files(files).await;
            if done {
                break;
            }
        }
        let on_disk = self
            .blobs
            .files_older_than(std::time::Duration::from_secs(3600))
            .await
            .map_err(|e| AppError::Internal(format!("could not list uploaded files: {e}")))?;
        let ids: Vec<i64> = on_disk.iter().map(|(_, id)| *id).collect();
        // A file is known if an upload or someone's picture names it.
        let known: std::collections::HashSet<i64> = {
            let mut reader = self.store.reader().await?;
            let mut conn = reader.conn();
            let mut known = conn.existing_uploads(&ids).await?;
            known.extend(conn.existing_avatars(&ids).await?);
            known.into_iter().collect()
        };
        let orphans: Vec<(UserId, i64)> = on_disk
            .into_iter()
            .filter(|(_, id)| !known.contains(id))
            .collect();
        removed += orphans.len() as u64;
        self.remove_files(orphans).await;
        Ok(removed)
    }
}

/// Rows the unattached-upload sweep deletes per transaction.
const SWEEP_BATCH: i64 = 500;

fn refusal(error: UploadError) -> AppError {
    DomainError::UnsupportedType(error.to_string()).into()
}

/// Fills in the attachments of a page of messages, with one query. Deleted messages have
/// none.
pub(crate) async fn fill_attachments(
    conn: &mut Conn<'_>,
    messages: &mut [Message],
) -> Result<(), AppError> {
    let ids: Vec<MessageId> = messages
        .iter()
        .filter(|m| m.deleted_at.is_none())
        .map(|m| m.id)
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    for (message, attachment) in conn.attachments_of(&ids).await? {
        if let Some(m) = messages.iter_mut().find(|m| m.id == message) {
            m.attachments.push(attachment);
        }
    }
    Ok(())
}

/// The upload ids a post names, checked: no more than [`MAX_ATTACHMENTS`], each once.
pub(crate) fn attachment_ids(ids: &[UploadId]) -> Result<Vec<UploadId>, DomainError> {
    let mut unique: Vec<UploadId> = Vec::with_capacity(ids.len());
    for id in ids {
        if !unique.contains(id) {
            unique.push(*id);
        }
    }
    if unique.len() > MAX_ATTACHMENTS {
        return Err(DomainError::Invalid {
            field: "attachments",
            message: format!("may name at most {MAX_ATTACHMENTS} files"),
        });
    }
    Ok(unique)
}
