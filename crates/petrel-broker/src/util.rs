//! Small helpers shared by the broker's managers.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A JSON config file under `storePathRootDir/config`, replaced atomically; the previous
/// version is kept as `<name>.bak` (as RocketMQ does) and read if the main file is unusable.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
}

impl ConfigFile {
    pub fn new(dir: &Path, name: &str) -> Self {
        Self {
            path: dir.join(name),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn bak(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".bak");
        self.path.with_file_name(name)
    }

    /// Reads the file (or its backup). Accepts Java's fastjson output (unquoted integer keys).
    pub fn load<T: DeserializeOwned>(&self) -> Result<Option<T>, String> {
        for path in [self.path.clone(), self.bak()] {
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("reading {}: {e}", path.display())),
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
            return Err(format!(
                "{} and its backup are unusable",
                self.path.display()
            ));
        }
        Ok(None)
    }

    /// Replaces the file durably: write a temporary file, fsync, keep the old one as `.bak`,
    /// rename into place.
    ///
    /// Callers are request handlers and periodic tasks on the async runtime; the fsyncs can
    /// take seconds on a busy disk, so on a multi-threaded runtime the worker hands its other
    /// tasks to the rest of the pool while it waits (`block_in_place`), instead of stalling
    /// them (in `petrel serve` that includes the name server).
    pub fn save<T: Serialize>(&self, value: &T) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| self.write_durably(&bytes))
            }
            _ => self.write_durably(&bytes),
        }
    }

    fn write_durably(&self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        if self.path.exists() {
            std::fs::copy(&self.path, self.bak())?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
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
}
