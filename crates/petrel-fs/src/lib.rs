//! Durable file replacement, in one place for every crate that keeps small state files: the
//! store's checkpoint, the broker's `config/*.json`, the name server's KV config and the
//! client's local (broadcasting) offsets.
//!
//! [`write_atomically`] leaves, after a crash at any point, either the old content or the new,
//! never a torn mix: it writes a temporary file beside the target, fsyncs it, renames it over
//! the target and fsyncs the directory (without the last step the rename itself may be lost).
//! [`write_atomically_keeping_backup`] also keeps the previous version, as RocketMQ keeps
//! `*.json.bak`.
//!
//! Errors keep their `io::ErrorKind` and say which step failed on which path, so a log line
//! tells an operator what to look at (a full disk, a read-only mount, a permission).
//!
//! This crate must not: depend on anything but `std`, or hold a file open after returning.

#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces the file at `path` with `bytes` atomically and durably; creates missing parent
/// directories.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace(path, bytes, None)
}

/// Like [`write_atomically`], but first copies the current file (if any) to `backup`, so a
/// reader that finds the new file unusable can fall back to the previous version.
pub fn write_atomically_keeping_backup(path: &Path, bytes: &[u8], backup: &Path) -> io::Result<()> {
    replace(path, bytes, Some(backup))
}

/// Fsyncs a directory, making renames and creations inside it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| step_error("syncing the directory", dir, e))
}

/// `path` with `suffix` appended to its file name (`topics.json` → `topics.json.tmp`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn replace(path: &Path, bytes: &[u8], backup: Option<&Path>) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| step_error("creating the directory", &dir, e))?;
    let tmp = with_suffix(path, ".tmp");
    {
        let mut file = File::create(&tmp).map_err(|e| step_error("creating", &tmp, e))?;
        file.write_all(bytes)
            .map_err(|e| step_error("writing", &tmp, e))?;
        file.sync_all()
            .map_err(|e| step_error("syncing", &tmp, e))?;
    }
    if let Some(backup) = backup {
        match std::fs::copy(path, backup) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(step_error("backing up", path, e)),
        }
    }
    std::fs::rename(&tmp, path).map_err(|e| step_error("renaming over", path, e))?;
    sync_dir(&dir)
}

fn step_error(step: &str, path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{step} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("offsets.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert!(!with_suffix(&path, ".tmp").exists());
    }

    #[test]
    fn keeps_the_previous_version_as_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topics.json");
        let bak = with_suffix(&path, ".bak");
        write_atomically_keeping_backup(&path, b"v1", &bak).unwrap();
        assert!(!bak.exists(), "nothing to back up the first time");
        write_atomically_keeping_backup(&path, b"v2", &bak).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"v2");
        assert_eq!(std::fs::read(&bak).unwrap(), b"v1");
    }

    #[test]
    fn errors_name_the_step_and_the_path() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: the rename fails.
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("x"), b"").unwrap();
        let err = write_atomically(&path, b"data").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("renaming over "), "{text}");
        assert!(text.contains("taken"), "{text}");
    }

    #[test]
    fn appends_suffixes_to_the_whole_name() {
        assert_eq!(
            with_suffix(Path::new("/d/topics.json"), ".bak"),
            PathBuf::from("/d/topics.json.bak")
        );
    }
}
