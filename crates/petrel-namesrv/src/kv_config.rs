//! The name server's KV config: namespace → key → value (RocketMQ's `KVConfigManager`).
//!
//! Admin tools keep small settings here; the one RocketMQ itself reads is the
//! `ORDER_TOPIC_CONFIG` namespace (topic → `brokerName:queueNum;...`), which becomes
//! `orderTopicConf` in routes when `orderMessageEnable` is on and is sent back to brokers in
//! registration responses.
//!
//! [`KvConfig`] is the pure table and its file form (RocketMQ's `kvConfig.json`,
//! `{"configTable":{namespace:{key:value}}}`); [`write_atomically`] and [`load`] are the only
//! file I/O.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use petrel_protocol::remoting::body::KVTable;
use serde::{Deserialize, Serialize};

/// namespace → key → value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KvConfig {
    config_table: BTreeMap<String, BTreeMap<String, String>>,
}

impl KvConfig {
    pub fn new() -> Self {
        KvConfig::default()
    }

    /// Sets `key` in `namespace`, returning the value it replaced.
    pub fn put(&mut self, namespace: &str, key: &str, value: &str) -> Option<String> {
        self.config_table
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned())
    }

    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.config_table
            .get(namespace)?
            .get(key)
            .map(String::as_str)
    }

    /// Removes `key` from `namespace`, returning its value. An emptied namespace stays (as in
    /// Java: `GET_KVLIST_BY_NAMESPACE` then answers an empty table, not "not found").
    pub fn delete(&mut self, namespace: &str, key: &str) -> Option<String> {
        self.config_table.get_mut(namespace)?.remove(key)
    }

    /// The whole namespace, or `None` if it was never created.
    pub fn namespace(&self, namespace: &str) -> Option<KVTable> {
        self.config_table.get(namespace).map(|table| KVTable {
            table: table.clone(),
        })
    }

    pub fn table(&self) -> &BTreeMap<String, BTreeMap<String, String>> {
        &self.config_table
    }

    /// The file form, `kvConfig.json`.
    pub fn to_json(&self) -> Vec<u8> {
        // String keys and values only: serialization cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    pub fn from_json(bytes: &[u8]) -> Result<KvConfig, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Why the KV config file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KvConfigFileError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a KV config file ({{\"configTable\":{{...}}}}): {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reads the KV config file; a missing file is an empty config. A file that cannot be parsed
/// is an error: starting without the operator's settings would silently change routes.
pub fn load(path: &Path) -> Result<KvConfig, KvConfigFileError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(KvConfig::new()),
        Err(source) => {
            return Err(KvConfigFileError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    KvConfig::from_json(&bytes).map_err(|source| KvConfigFileError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Replaces the file at `path` with `bytes` so that a crash leaves either the old or the new
/// content ([`petrel_fs::write_atomically`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), KvConfigFileError> {
    petrel_fs::write_atomically(path, bytes).map_err(|source| KvConfigFileError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puts_gets_and_deletes_by_namespace() {
        let mut kv = KvConfig::new();
        assert_eq!(kv.put("ns", "a", "1"), None);
        assert_eq!(kv.put("ns", "a", "2"), Some("1".into()));
        kv.put("ns", "b", "3");
        assert_eq!(kv.get("ns", "a"), Some("2"));
        assert_eq!(kv.get("other", "a"), None);
        assert_eq!(kv.delete("ns", "a"), Some("2".into()));
        assert_eq!(kv.delete("ns", "a"), None);
        assert_eq!(
            kv.namespace("ns"),
            Some(KVTable {
                table: [("b".to_string(), "3".to_string())].into_iter().collect()
            })
        );
        kv.delete("ns", "b");
        assert_eq!(kv.namespace("ns"), Some(KVTable::default()));
        assert_eq!(kv.namespace("missing"), None);
    }

    #[test]
    fn reads_and_writes_rocketmq_kv_config_json() {
        let java =
            br#"{"configTable":{"ORDER_TOPIC_CONFIG":{"TopicOrder":"broker-a:4;broker-b:4"}}}"#;
        let kv = KvConfig::from_json(java).unwrap();
        assert_eq!(
            kv.get(
                petrel_protocol::mix_all::NAMESPACE_ORDER_TOPIC_CONFIG,
                "TopicOrder"
            ),
            Some("broker-a:4;broker-b:4")
        );
        assert_eq!(KvConfig::from_json(&kv.to_json()).unwrap(), kv);
    }

    #[test]
    fn persists_atomically_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("namesrv").join("kvConfig.json");
        assert_eq!(load(&path).unwrap(), KvConfig::new());
        let mut kv = KvConfig::new();
        kv.put("ns", "k", "v");
        write_atomically(&path, &kv.to_json()).unwrap();
        assert_eq!(load(&path).unwrap(), kv);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(load(&path), Err(KvConfigFileError::Parse { .. })));
    }
}
