//! Subscription group configs (RocketMQ's `SubscriptionGroupManager`):
//! `config/subscriptionGroup.json`, auto-created on first use when `autoCreateSubscriptionGroup`.

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
