//! Subscription group configs (RocketMQ's `SubscriptionGroupManager`):
//! `config/subscriptionGroup.json`, auto-created on first use when `autoCreateSubscriptionGroup`.
//!
//! RocketMQ's file is read as it is. Its `forbiddenTable` (per group, topics the group may not
//! consume) is not enforced by Petrel, so a file that forbids anything is refused at start
//! rather than its rules being dropped silently.

use std::collections::BTreeMap;
use std::path::Path;

use parking_lot::RwLock;
use petrel_protocol::mix_all::SYSTEM_GROUPS;
use petrel_protocol::remoting::body::{DataVersion, SubscriptionGroupConfig};
use serde::{Deserialize, Serialize};

use crate::clock::now_ms;
use crate::config_file::{ConfigFile, ConfigFileError};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct GroupsFile {
    data_version: DataVersion,
    subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
    /// RocketMQ's group → topic → forbidden permission bits; read only to refuse it.
    #[serde(skip_serializing)]
    forbidden_table: BTreeMap<String, BTreeMap<String, i64>>,
}

/// The `group on topic` pairs a RocketMQ `forbiddenTable` forbids (bits set).
fn forbidden_pairs(table: &BTreeMap<String, BTreeMap<String, i64>>) -> Vec<String> {
    table
        .iter()
        .flat_map(|(group, topics)| {
            topics
                .iter()
                .filter(|(_, bits)| **bits != 0)
                .map(move |(topic, _)| format!("{group} on {topic}"))
        })
        .collect()
}

pub struct SubscriptionGroupManager {
    file: ConfigFile,
    auto_create: bool,
    state: RwLock<GroupsFile>,
}

impl SubscriptionGroupManager {
    pub fn load(config_dir: &Path, auto_create: bool) -> Result<Self, ConfigFileError> {
        let file = ConfigFile::new(config_dir, "subscriptionGroup.json");
        let mut state: GroupsFile = file.load()?.unwrap_or_default();
        let forbidden = forbidden_pairs(&state.forbidden_table);
        if !forbidden.is_empty() {
            return Err(ConfigFileError::Unsupported {
                path: file.path().to_path_buf(),
                what: format!(
                    "its forbiddenTable forbids {} (Apache RocketMQ's per-group topic \
                     permissions), which Petrel does not enforce; remove those entries to start \
                     Petrel on this store",
                    forbidden.join(", ")
                ),
            });
        }
        for name in SYSTEM_GROUPS {
            state
                .subscription_group_table
                .entry(name.to_string())
                .or_insert_with(|| SubscriptionGroupConfig {
                    group_name: name.to_string(),
                    ..Default::default()
                });
        }
        Ok(Self {
            file,
            auto_create,
            state: RwLock::new(state),
        })
    }

    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.state
            .read()
            .subscription_group_table
            .get(group)
            .cloned()
    }

    /// The group's config, created with defaults if missing and auto-creation is on.
    pub fn find_or_create(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        if let Some(config) = self.get(group) {
            return Some(config);
        }
        if !self.auto_create {
            return None;
        }
        let config = SubscriptionGroupConfig {
            group_name: group.to_string(),
            ..Default::default()
        };
        self.update(config.clone());
        Some(config)
    }

    pub fn update(&self, config: SubscriptionGroupConfig) {
        {
            let mut state = self.state.write();
            state
                .subscription_group_table
                .insert(config.group_name.clone(), config);
            state.data_version.counter += 1;
            state.data_version.timestamp = now_ms();
        }
        self.persist();
    }

    pub fn delete(&self, group: &str) -> bool {
        let removed = {
            let mut state = self.state.write();
            let removed = state.subscription_group_table.remove(group).is_some();
            if removed {
                state.data_version.counter += 1;
                state.data_version.timestamp = now_ms();
            }
            removed
        };
        if removed {
            self.persist();
        }
        removed
    }

    /// A slave's copy of its master's groups (SlaveSynchronize), replaced whole when the
    /// master's data version differs. Returns true if anything was replaced.
    pub fn replace_from_master(
        &self,
        table: BTreeMap<String, SubscriptionGroupConfig>,
        version: DataVersion,
    ) -> bool {
        {
            let mut state = self.state.write();
            if state.data_version == version && state.subscription_group_table == table {
                return false;
            }
            state.subscription_group_table = table;
            state.data_version = version;
        }
        self.persist();
        true
    }

    pub fn all(&self) -> BTreeMap<String, SubscriptionGroupConfig> {
        self.state.read().subscription_group_table.clone()
    }

    pub fn data_version(&self) -> DataVersion {
        self.state.read().data_version
    }

    fn persist(&self) {
        let state = self.state.read();
        if let Err(e) = self.file.save(&*state) {
            tracing::error!(path = %self.file.path().display(), error = %e, "could not save subscription groups");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rocketmq_files_and_refuses_rules_it_would_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscriptionGroup.json");
        // As Apache RocketMQ 5.5.0 writes it (fastjson), nothing forbidden.
        std::fs::write(
            &path,
            br#"{"dataVersion":{"counter":3,"stateVersion":0,"timestamp":1796404802501},
                "forbiddenTable":{"g":{"t":0}},
                "subscriptionGroupTable":{"g":{"groupName":"g","retryMaxTimes":5,
                    "groupRetryPolicy":{"type":"CUSTOMIZED"},"consumeEnable":true}}}"#,
        )
        .unwrap();
        let m = SubscriptionGroupManager::load(dir.path(), true).unwrap();
        assert_eq!(m.get("g").unwrap().retry_max_times, 5);
        assert_eq!(m.data_version().counter, 3);

        std::fs::write(
            &path,
            br#"{"forbiddenTable":{"g":{"t":1,"u":0}},"subscriptionGroupTable":{}}"#,
        )
        .unwrap();
        let err = SubscriptionGroupManager::load(dir.path(), true)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("subscriptionGroup.json"), "{err}");
        assert!(err.contains("forbids g on t ("), "{err}");
    }
}
