//! Reading the instance's master key from its file, or making one on first start.

use anyhow::Context;
use hearth_app::InstanceKey;
use std::io::Write;
use std::path::Path;

/// The key in `path`; when there is no such file, a new random key written there, readable by
/// Hearth's user only.
pub fn load_or_create(path: &Path) -> anyhow::Result<InstanceKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => InstanceKey::from_hex(&text)
            .with_context(|| format!("reading the master key file {}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(error) => {
            Err(error).with_context(|| format!("reading the master key file {}", path.display()))
        }
    }
}

fn create(path: &Path) -> anyhow::Result<InstanceKey> {
    let key = InstanceKey::generate()?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the directory {}", dir.display()))?;
    // Written whole to a file of its own first, then linked into place: a second process
    // starting at once never reads a half-written key, and the loser of the race reads the
    // winner's.
    let draft = dir.join(format!(".master.key.{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&draft)
        .and_then(|mut file| {
            file.write_all(format!("{}\n", key.to_hex()).as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::hard_link(&draft, path));
    let _ = std::fs::remove_file(&draft);
    match written {
        Ok(()) => {
            tracing::info!(path = %path.display(), "made a new master key; keep it apart from backups");
            Ok(key)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(path),
        Err(error) => {
            Err(error).with_context(|| format!("writing the master key file {}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_start_makes_a_private_key_that_later_starts_read() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("sub/master.key");
        let made = load_or_create(&path).unwrap_or_else(|e| panic!("{e:#}"));
        let read = load_or_create(&path).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(made.check_value(), read.check_value());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
        std::fs::write(&path, "not a key").unwrap_or_else(|e| panic!("{e}"));
        let error = load_or_create(&path).err().map(|e| format!("{e:#}"));
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.contains("64 hexadecimal")),
            "{error:?}"
        );
    }
}
