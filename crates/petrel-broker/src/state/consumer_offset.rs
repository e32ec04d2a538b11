//! Consumer offsets (RocketMQ's `ConsumerOffsetManager`): `topic@group` → queue id → offset,
//! kept in memory, written to `config/consumerOffset.json` every `flushConsumerOffsetInterval`
//! and on shutdown. Reads RocketMQ's own file (fastjson with unquoted integer keys).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::config_file::{ConfigFile, ConfigFileError};

pub const TOPIC_GROUP_SEPARATOR: char = '@';

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct OffsetsFile {
    offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

pub struct ConsumerOffsetManager {
    file: ConfigFile,
    /// `topic@group` → queue id → next offset to consume.
    table: RwLock<HashMap<String, HashMap<i32, i64>>>,
    /// Offsets last seen in pulls (for consumer progress), not persisted.
    pull_offsets: RwLock<HashMap<String, HashMap<i32, i64>>>,
    dirty: AtomicBool,
}

fn key(topic: &str, group: &str) -> String {
    format!("{topic}{TOPIC_GROUP_SEPARATOR}{group}")
}

impl ConsumerOffsetManager {
    pub fn load(config_dir: &Path) -> Result<Self, ConfigFileError> {
        let file = ConfigFile::new(config_dir, "consumerOffset.json");
        let loaded: OffsetsFile = file.load()?.unwrap_or_default();
        let table = loaded
            .offset_table
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().collect()))
            .collect();
        Ok(Self {
            file,
            table: RwLock::new(table),
            pull_offsets: RwLock::default(),
            dirty: AtomicBool::new(false),
        })
    }

    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        self.table
            .write()
            .entry(key(topic, group))
            .or_default()
            .insert(queue_id, offset);
        self.dirty.store(true, Ordering::Release);
    }

    /// A slave's copy of its master's offsets (SlaveSynchronize): every entry the master has
    /// overwrites the local one (RocketMQ's slave does the same).
    pub fn replace_from_master(&self, table: BTreeMap<String, BTreeMap<i32, i64>>) {
        let mut local = self.table.write();
        for (topic_at_group, queues) in table {
            local.entry(topic_at_group).or_default().extend(queues);
        }
        self.dirty.store(true, Ordering::Release);
    }

    /// The committed offset, or `None` if the group never committed one for this queue.
    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.table
            .read()
            .get(&key(topic, group))?
            .get(&queue_id)
            .copied()
    }

    pub fn record_pull(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        let k = key(topic, group);
        let mut pulls = self.pull_offsets.write();
        match pulls.get_mut(&k) {
            Some(q) => {
                q.insert(queue_id, offset);
            }
            None => {
                pulls.insert(k, HashMap::from([(queue_id, offset)]));
            }
        }
    }

    pub fn pull_offset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.pull_offsets
            .read()
            .get(&key(topic, group))?
            .get(&queue_id)
            .copied()
    }

    /// The lowest offset any group has committed on the queue (`None`: no group has one).
    pub fn min_committed_offset(&self, topic: &str, queue_id: i32) -> Option<i64> {
        let prefix = format!("{topic}{TOPIC_GROUP_SEPARATOR}");
        self.table
            .read()
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(_, queues)| queues.get(&queue_id).copied())
            .min()
    }

    /// Every queue offset of `group` on `topic`.
    pub fn offsets_of(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.table
            .read()
            .get(&key(topic, group))
            .map(|q| q.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default()
    }

    /// Topics `group` has offsets for.
    pub fn topics_of_group(&self, group: &str) -> Vec<String> {
        let suffix = format!("{TOPIC_GROUP_SEPARATOR}{group}");
        let mut topics: Vec<String> = self
            .table
            .read()
            .keys()
            .filter_map(|k| k.strip_suffix(&suffix).map(str::to_string))
            .collect();
        topics.sort();
        topics
    }

    /// Groups with offsets on `topic`.
    pub fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        let prefix = format!("{topic}{TOPIC_GROUP_SEPARATOR}");
        let mut groups: Vec<String> = self
            .table
            .read()
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
            .collect();
        groups.sort();
        groups
    }

    pub fn remove_group(&self, group: &str) {
        let suffix = format!("{TOPIC_GROUP_SEPARATOR}{group}");
        self.table.write().retain(|k, _| !k.ends_with(&suffix));
        self.dirty.store(true, Ordering::Release);
    }

    pub fn remove_topic(&self, topic: &str) {
        let prefix = format!("{topic}{TOPIC_GROUP_SEPARATOR}");
        self.table.write().retain(|k, _| !k.starts_with(&prefix));
        self.dirty.store(true, Ordering::Release);
    }

    /// The whole table, for GET_ALL_CONSUMER_OFFSET and persistence.
    pub fn snapshot(&self) -> BTreeMap<String, BTreeMap<i32, i64>> {
        self.table
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().map(|(q, o)| (*q, *o)).collect()))
            .collect()
    }

    /// Writes the file if anything changed since the last write.
    pub fn flush(&self) -> std::io::Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let file = OffsetsFile {
            offset_table: self.snapshot(),
        };
        let result = self.file.save(&file);
        if result.is_err() {
            self.dirty.store(true, Ordering::Release);
        }
        result
    }
}

/// The store counts what a forced deletion removes unread against the committed offsets (it
/// knows no groups itself).
impl petrel_store::ConsumedOffsets for ConsumerOffsetManager {
    fn min_committed_offset(&self, topic: &str, queue_id: i32) -> Option<i64> {
        ConsumerOffsetManager::min_committed_offset(self, topic, queue_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_persist_and_read_rocketmq_files() {
        let dir = tempfile::tempdir().unwrap();
        let m = ConsumerOffsetManager::load(dir.path()).unwrap();
        assert_eq!(m.query("g", "t", 0), None);
        m.commit("g", "t", 0, 42);
        m.commit("g", "t", 1, 7);
        m.commit("other", "t", 0, 1);
        m.flush().unwrap();
        let m = ConsumerOffsetManager::load(dir.path()).unwrap();
        assert_eq!(m.query("g", "t", 0), Some(42));
        assert_eq!(m.topics_of_group("g"), vec!["t".to_string()]);
        assert_eq!(
            m.groups_of_topic("t"),
            vec!["g".to_string(), "other".to_string()]
        );
        // A file written by Java RocketMQ.
        std::fs::write(
            dir.path().join("consumerOffset.json"),
            br#"{"offsetTable":{"TopicTest@cg":{0:250,1:251}}}"#,
        )
        .unwrap();
        let m = ConsumerOffsetManager::load(dir.path()).unwrap();
        assert_eq!(m.query("cg", "TopicTest", 1), Some(251));
    }

    #[test]
    fn the_lowest_committed_offset_of_a_queue_over_groups() {
        let dir = tempfile::tempdir().unwrap();
        let m = ConsumerOffsetManager::load(dir.path()).unwrap();
        assert_eq!(m.min_committed_offset("t", 0), None);
        m.commit("fast", "t", 0, 90);
        m.commit("slow", "t", 0, 40);
        m.commit("slow", "t", 1, 5);
        m.commit("other", "t2", 0, 1);
        assert_eq!(m.min_committed_offset("t", 0), Some(40));
        assert_eq!(m.min_committed_offset("t", 1), Some(5));
        assert_eq!(m.min_committed_offset("t", 2), None);
        // Only `t@...` keys: not `t2@other`.
        assert_eq!(m.min_committed_offset("t2", 0), Some(1));
    }
}
