//! Topic configs (RocketMQ's `TopicConfigManager`): `config/topics.json`, system topics,
//! auto-creation from `TBW102`, retry topics, and the data version name servers compare.

use std::collections::BTreeMap;
use std::path::Path;

use parking_lot::RwLock;
use petrel_protocol::perm::{is_inherited, PERM_INHERIT, PERM_READ, PERM_WRITE};
use petrel_protocol::remoting::body::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use petrel_protocol::topic::{
    reply_topic, AUTO_CREATE_TOPIC_KEY_TOPIC, OFFSET_MOVED_EVENT, SCHEDULE_TOPIC, SELF_TEST_TOPIC,
    TIMER_TOPIC, TRACE_TOPIC, TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC,
};
use serde::{Deserialize, Serialize};

use crate::clock::now_ms;
use crate::config_file::{ConfigFile, ConfigFileError};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TopicsFile {
    data_version: DataVersion,
    topic_config_table: BTreeMap<String, TopicConfig>,
}

pub struct TopicConfigManager {
    file: ConfigFile,
    state: RwLock<TopicsFile>,
}

fn system_topic(name: &str, queues: i32, perm: i32) -> TopicConfig {
    TopicConfig {
        topic_name: name.to_string(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm,
        ..TopicConfig::default()
    }
}

impl TopicConfigManager {
    /// Loads `config/topics.json` and adds the system topics.
    pub fn load(
        config_dir: &Path,
        cluster: &str,
        broker_name: &str,
        auto_create_topic_enable: bool,
        default_queue_nums: i32,
    ) -> Result<Self, ConfigFileError> {
        let file = ConfigFile::new(config_dir, "topics.json");
        let mut state: TopicsFile = file.load()?.unwrap_or_default();
        let mut system = vec![
            system_topic(SELF_TEST_TOPIC, 1, PERM_READ | PERM_WRITE),
            system_topic(cluster, 16, PERM_READ | PERM_WRITE),
            system_topic(broker_name, 1, PERM_READ | PERM_WRITE),
            system_topic(OFFSET_MOVED_EVENT, 1, PERM_READ | PERM_WRITE),
            system_topic(SCHEDULE_TOPIC, 18, PERM_READ | PERM_WRITE),
            system_topic(TRANS_HALF_TOPIC, 1, PERM_READ | PERM_WRITE),
            system_topic(TRANS_OP_HALF_TOPIC, 1, PERM_READ | PERM_WRITE),
            system_topic(TRANS_CHECK_MAX_TIME_TOPIC, 1, PERM_READ | PERM_WRITE),
            system_topic(TRACE_TOPIC, 1, PERM_READ | PERM_WRITE),
            system_topic(TIMER_TOPIC, 1, PERM_READ | PERM_WRITE),
            // Where request-reply replies are sent (TopicConfigManager adds it too).
            system_topic(&reply_topic(cluster), 1, PERM_READ | PERM_WRITE),
        ];
        if auto_create_topic_enable {
            system.push(system_topic(
                AUTO_CREATE_TOPIC_KEY_TOPIC,
                default_queue_nums,
                PERM_INHERIT | PERM_READ | PERM_WRITE,
            ));
        } else {
            state.topic_config_table.remove(AUTO_CREATE_TOPIC_KEY_TOPIC);
        }
        for topic in system {
            state
                .topic_config_table
                .entry(topic.topic_name.clone())
                .or_insert(topic);
        }
        if state.data_version.timestamp == 0 {
            state.data_version.timestamp = now_ms();
        }
        Ok(Self {
            file,
            state: RwLock::new(state),
        })
    }

    /// Creates a one-queue read-write topic at start if it is missing (the trace topic of
    /// `traceTopicEnable` with a `msgTraceTopicName` of the user's); true if it was created.
    pub fn ensure_system_topic(&self, name: &str) -> bool {
        if self.contains(name) {
            return false;
        }
        self.update(system_topic(name, 1, PERM_READ | PERM_WRITE))
    }

    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.state.read().topic_config_table.get(topic).cloned()
    }

    pub fn contains(&self, topic: &str) -> bool {
        self.state.read().topic_config_table.contains_key(topic)
    }

    pub fn names(&self) -> Vec<String> {
        self.state
            .read()
            .topic_config_table
            .keys()
            .cloned()
            .collect()
    }

    pub fn all(&self) -> BTreeMap<String, TopicConfig> {
        self.state.read().topic_config_table.clone()
    }

    pub fn data_version(&self) -> DataVersion {
        self.state.read().data_version
    }

    /// What the broker registers with name servers.
    pub fn serialize_wrapper(&self) -> TopicConfigSerializeWrapper {
        let state = self.state.read();
        TopicConfigSerializeWrapper {
            data_version: state.data_version,
            topic_config_table: state.topic_config_table.clone(),
            ..TopicConfigSerializeWrapper::default()
        }
    }

    fn bump(state: &mut TopicsFile) {
        state.data_version.counter += 1;
        state.data_version.timestamp = now_ms();
        state.data_version.state_version += 1;
    }

    fn persist(&self) {
        let state = self.state.read();
        if let Err(e) = self.file.save(&*state) {
            tracing::error!(path = %self.file.path().display(), error = %e, "could not save topic configs");
        }
    }

    /// A slave's copy of its master's table (SlaveSynchronize): replaced whole when the
    /// master's data version differs, local topics the master lacks dropped. Returns true if
    /// anything was replaced.
    pub fn replace_from_master(
        &self,
        table: BTreeMap<String, TopicConfig>,
        version: DataVersion,
    ) -> bool {
        {
            let mut state = self.state.write();
            if state.data_version == version && state.topic_config_table == table {
                return false;
            }
            state.topic_config_table = table;
            state.data_version = version;
        }
        self.persist();
        true
    }

    /// Creates or replaces a topic. Returns true if anything changed.
    pub fn update(&self, config: TopicConfig) -> bool {
        let changed = {
            let mut state = self.state.write();
            let changed = state.topic_config_table.get(&config.topic_name) != Some(&config);
            if changed {
                state
                    .topic_config_table
                    .insert(config.topic_name.clone(), config);
                Self::bump(&mut state);
            }
            changed
        };
        if changed {
            self.persist();
        }
        changed
    }

    pub fn delete(&self, topic: &str) -> bool {
        let removed = {
            let mut state = self.state.write();
            let removed = state.topic_config_table.remove(topic).is_some();
            if removed {
                Self::bump(&mut state);
            }
            removed
        };
        if removed {
            self.persist();
        }
        removed
    }

    /// Auto-creates `topic` when a producer sends to it, from the template `default_topic`
    /// (normally TBW102), as RocketMQ's `createTopicInSendMessageMethod` does: only if the
    /// template exists and carries the inherit permission. Returns the config and whether it
    /// was created now.
    pub fn create_in_send_message(
        &self,
        topic: &str,
        default_topic: &str,
        queue_nums: i32,
        topic_sys_flag: i32,
    ) -> Option<(TopicConfig, bool)> {
        if let Some(existing) = self.get(topic) {
            return Some((existing, false));
        }
        let template = self.get(default_topic)?;
        if default_topic == AUTO_CREATE_TOPIC_KEY_TOPIC && !is_inherited(template.perm) {
            return None;
        }
        let queues = queue_nums.clamp(1, template.write_queue_nums.max(1));
        let config = TopicConfig {
            topic_name: topic.to_string(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: template.perm & !PERM_INHERIT,
            topic_sys_flag,
            topic_filter_type: template.topic_filter_type,
            ..TopicConfig::default()
        };
        self.update(config.clone());
        tracing::info!(topic, queues, "auto-created topic");
        Some((config, true))
    }

    /// Creates the retry (or DLQ) topic of a group if missing. Returns (config, created).
    pub fn create_in_send_back(
        &self,
        topic: &str,
        queue_nums: i32,
        perm: i32,
        topic_sys_flag: i32,
    ) -> (TopicConfig, bool) {
        if let Some(existing) = self.get(topic) {
            return (existing, false);
        }
        let config = TopicConfig {
            topic_name: topic.to_string(),
            read_queue_nums: queue_nums,
            write_queue_nums: queue_nums,
            perm,
            topic_sys_flag,
            ..TopicConfig::default()
        };
        self.update(config.clone());
        (config, true)
    }

    pub fn flush(&self) {
        self.persist();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_creates_from_tbw102_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let m =
            TopicConfigManager::load(dir.path(), "DefaultCluster", "broker-a", true, 8).unwrap();
        assert!(m.contains(AUTO_CREATE_TOPIC_KEY_TOPIC));
        let v0 = m.data_version();
        let (cfg, created) = m
            .create_in_send_message("Orders", AUTO_CREATE_TOPIC_KEY_TOPIC, 4, 0)
            .unwrap();
        assert!(created);
        assert_eq!(
            (cfg.read_queue_nums, cfg.write_queue_nums, cfg.perm),
            (4, 4, PERM_READ | PERM_WRITE)
        );
        assert!(m.data_version().counter > v0.counter);
        let (_, again) = m
            .create_in_send_message("Orders", AUTO_CREATE_TOPIC_KEY_TOPIC, 4, 0)
            .unwrap();
        assert!(!again);
        drop(m);
        let m =
            TopicConfigManager::load(dir.path(), "DefaultCluster", "broker-a", false, 8).unwrap();
        assert_eq!(m.get("Orders").unwrap().write_queue_nums, 4);
        // Without auto-creation there is no template.
        assert!(m
            .create_in_send_message("Other", AUTO_CREATE_TOPIC_KEY_TOPIC, 4, 0)
            .is_none());
    }
}
