//! The blob store: uploaded files under the data directory, one folder per uploader
//! (`uploads/<owner_id>/<id>`), so that erasing a person removes every file of theirs by
//! removing one folder. Files are named by id only; the names people gave them are labels in
//! the database.
//!
//! A file is written whole before anyone can see it: into a draft beside its final place,
//! flushed to disk, then renamed into place (and the folder flushed), so a crash leaves either
//! no file or all of it. The database row that makes a file visible is written after the
//! file, and removed before it; a crash between the two leaves a file without a row, which the
//! retention sweep finds with [`BlobStore::files_older_than`] and removes.

use hearth_core::UserId;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The blob store's root folder.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// The store in the folder `root` (by default `uploads` in the data directory), created
    /// if missing.
    pub fn open(root: &Path) -> std::io::Result<Self> {
        let root = root.to_path_buf();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&root)?;
        Ok(Self { root })
    }

    fn owner_dir(&self, owner: UserId) -> PathBuf {
        self.root.join(owner.0.to_string())
    }

    fn path(&self, owner: UserId, id: i64) -> PathBuf {
        self.owner_dir(owner).join(id.to_string())
    }

    /// Where a file is, for reading it as a stream (into a person's copy of their data).
    pub fn file_path(&self, owner: UserId, id: i64) -> PathBuf {
        self.path(owner, id)
    }

    /// Writes a file whole and durably.
    pub async fn put(&self, owner: UserId, id: i64, bytes: Vec<u8>) -> std::io::Result<()> {
        let dir = self.owner_dir(owner);
        let path = self.path(owner, id);
        blocking(move || {
            let draft = dir.join(format!(".{id}.draft"));
            // Only Hearth's own user reads what people uploaded.
            let make_dir = || {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&dir)
            };
            let create = || {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&draft)
            };
            make_dir()?;
            let mut file = match create() {
                // A sweep removed the folder as it emptied: make it again.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    make_dir()?;
                    create()?
                }
                other => other?,
            };
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&draft, &path)?;
            std::fs::File::open(&dir)?.sync_all()
        })
        .await
    }

    /// A file's bytes.
    pub async fn read(&self, owner: UserId, id: i64) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(self.path(owner, id)).await
    }

    /// Removes files; ones already gone are fine.
    pub async fn remove(&self, files: Vec<(UserId, i64)>) -> std::io::Result<()> {
        let paths: Vec<PathBuf> = files
            .into_iter()
            .map(|(owner, id)| self.path(owner, id))
            .collect();
        blocking(move || {
            for path in paths {
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            Ok(())
        })
        .await
    }

    /// Removes every file of one person.
    pub async fn remove_owner(&self, owner: UserId) -> std::io::Result<()> {
        let dir = self.owner_dir(owner);
        blocking(move || match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .await
    }

    /// Every file older than `grace`, as (owner, id), for a sweep to check against the
    /// database. Only the store's own names are looked at (numeric owner folders holding
    /// numeric files, and `.<id>.draft` files): drafts that old, left by a crash mid-write,
    /// are removed on the way, and so are emptied owner folders; anything else is left
    /// alone, so a misconfigured folder loses nothing. Files younger than `grace` are left
    /// out, so that an upload whose row is still being written is not taken for an orphan.
    /// A file that cannot be looked at is logged and passed over.
    pub async fn files_older_than(
        &self,
        grace: std::time::Duration,
    ) -> std::io::Result<Vec<(UserId, i64)>> {
        let root = self.root.clone();
        blocking(move || {
            let mut found = Vec::new();
            for owner in std::fs::read_dir(&root)? {
                let Ok(owner) = owner else { continue };
                let Some(owner_id) = numeric(&owner.file_name()) else {
                    continue;
                };
                if !owner.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let Ok(files) = std::fs::read_dir(owner.path()) else {
                    continue;
                };
                for file in files.flatten() {
                    let name = file.file_name();
                    let draft = name
                        .to_str()
                        .and_then(|n| n.strip_prefix('.')?.strip_suffix(".draft"))
                        .is_some_and(|id| id.parse::<i64>().is_ok());
                    let id = numeric(&name);
                    if id.is_none() && !draft {
                        continue;
                    }
                    let old = file
                        .metadata()
                        .and_then(|m| m.modified())
                        .map(|at| at.elapsed().unwrap_or_default() >= grace)
                        .unwrap_or(false);
                    if !old {
                        continue;
                    }
                    match id {
                        Some(id) => found.push((UserId(owner_id), id)),
                        None => {
                            if let Err(error) = std::fs::remove_file(file.path()) {
                                tracing::warn!(%error, "could not remove an upload's draft");
                            }
                        }
                    }
                }
                // Fails while the folder holds files, which is fine; a new upload that
                // finds it gone makes it again.
                let _ = std::fs::remove_dir(owner.path());
            }
            Ok(found)
        })
        .await
    }
}

/// The number a file or folder of the store is named by.
fn numeric(name: &std::ffi::OsStr) -> Option<i64> {
    name.to_str()
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(std::io::Error::other)?
}
