//! The broker's JSON state files under `storePathRootDir/config` (`topics.json`,
//! `subscriptionGroup.json`, `consumerOffset.json`, `delayOffset.json`, `timerCheckpoint.json`).
//!
//! Each is replaced atomically and durably through `petrel_fs` (temporary file, fsync, rename,
//! fsync of the directory), keeping the previous version as `<name>.bak` as RocketMQ does; a
//! reader that finds the main file unusable falls back to the backup. Files written by Java
//! RocketMQ (fastjson, with unquoted integer keys) are read as well.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a config file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("reading {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} and its backup are unusable", path.display())]
    Unusable { path: PathBuf },
    /// The file asks for something Petrel does not do (written by Apache RocketMQ).
    #[error("{}: {what}", path.display())]
    Unsupported { path: PathBuf, what: String },
}

/// A JSON config file under `storePathRootDir/config`, replaced atomically; the previous
/// version is kept as `<name>.bak` (as RocketMQ does) and read if the main file is unusable.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    backup: PathBuf,
}

impl ConfigFile {
    pub fn new(dir: &Path, name: &str) -> Self {
        let path = dir.join(name);
        let backup = petrel_fs::with_suffix(&path, ".bak");
        Self { path, backup }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file (or its backup). Accepts Java's fastjson output (unquoted integer keys).
    /// `Ok(None)`: neither exists (or both are blank).
    pub fn load<T: DeserializeOwned>(&self) -> Result<Option<T>, ConfigFileError> {
        for path in [&self.path, &self.backup] {
            let bytes = match std::fs::read(path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(ConfigFileError::Read {
                        path: path.clone(),
                        source,
                    })
                }
            };
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let parsed = petrel_protocol::remoting::fastjson::parse(&bytes)
                .map_err(|e| e.to_string())
                .and_then(|v| serde_json::from_value::<T>(v).map_err(|e| e.to_string()));
            match parsed {
                Ok(v) => return Ok(Some(v)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "unusable config file; trying its backup")
                }
            }
        }
        if self.path.exists() {
            return Err(ConfigFileError::Unusable {
                path: self.path.clone(),
            });
        }
        Ok(None)
    }

    /// Replaces the file durably, keeping the old one as `.bak`.
    ///
    /// Callers are request handlers and periodic tasks on the async runtime; the fsyncs can
    /// take seconds on a busy disk, so on a multi-threaded runtime the worker hands its other
    /// tasks to the rest of the pool while it waits (`block_in_place`), instead of stalling
    /// them (in `petrel serve` that includes the name server).
    pub fn save<T: Serialize>(&self, value: &T) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
        let write = || petrel_fs::write_atomically_keeping_backup(&self.path, &bytes, &self.backup);
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(write)
            }
            _ => write(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_files_round_trip_and_read_java_output() {
        let dir = tempfile::tempdir().unwrap();
        let file = ConfigFile::new(dir.path(), "x.json");
        assert_eq!(file.load::<serde_json::Value>().unwrap(), None);
        file.save(&serde_json::json!({"a": 1})).unwrap();
        file.save(&serde_json::json!({"a": 2})).unwrap();
        assert_eq!(
            file.load::<serde_json::Value>().unwrap(),
            Some(serde_json::json!({"a": 2}))
        );
        std::fs::write(file.path(), b"{ broken").unwrap();
        assert_eq!(
            file.load::<serde_json::Value>().unwrap(),
            Some(serde_json::json!({"a": 1}))
        );
        std::fs::write(file.path(), br#"{"offsetTable":{"t@g":{0:5,1:7}}}"#).unwrap();
        let v: serde_json::Value = file.load().unwrap().unwrap();
        assert_eq!(v["offsetTable"]["t@g"]["1"], 7);
    }

    #[test]
    fn a_file_and_backup_both_unusable_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = ConfigFile::new(dir.path(), "topics.json");
        std::fs::write(file.path(), b"{ broken").unwrap();
        std::fs::write(dir.path().join("topics.json.bak"), b"[also broken").unwrap();
        let err = file.load::<serde_json::Value>().unwrap_err();
        assert!(matches!(err, ConfigFileError::Unusable { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("{} and its backup are unusable", file.path().display())
        );
    }
}
