//! Where a consumer keeps how far it has consumed each queue (RocketMQ's `OffsetStore`).
//!
//! - [`RemoteOffsetStore`] (clustering): the group's offsets live on the brokers. Each queue's
//!   offset is read with `QUERY_CONSUMER_OFFSET` when the queue is first assigned, advanced in
//!   memory as messages are consumed, and written back with `UPDATE_CONSUMER_OFFSET`
//!   periodically (`ClientConfig::persist_consumer_offset_interval`), when the queue is given
//!   up and at shutdown.
//! - [`LocalFileOffsetStore`] (broadcasting): every member consumes everything, so each keeps
//!   its own offsets, in a JSON file replaced atomically and durably
//!   ([`petrel_fs::write_atomically`]) and read back at start.
//!
//! Both keep the in-memory table in an [`OffsetTable`], whose rules are those of Java's stores:
//! consumption only moves an offset forward (`increase_only`); a reset or a value read from the
//! store replaces it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use petrel_protocol::remoting::body::{mq_map, MessageQueue};
use serde::{Deserialize, Serialize};

use super::pull_api;
use crate::broker_api::offset as api;
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;

/// Where [`OffsetStore::read`] looks (`ReadOffsetType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOffsetType {
    /// Only the in-memory table.
    Memory,
    /// The broker (clustering) or the file (broadcasting); a value found replaces the
    /// in-memory one.
    Store,
    /// Memory, then the store if memory has nothing.
    MemoryThenStore,
}

/// The in-memory offsets of one group.
#[derive(Debug, Default)]
pub struct OffsetTable {
    offsets: Mutex<BTreeMap<MessageQueue, i64>>,
}

impl OffsetTable {
    /// Sets `mq`'s offset; with `increase_only` a smaller value is ignored.
    pub fn update(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        let mut t = self.offsets.lock();
        match t.get_mut(mq) {
            Some(current) if increase_only => *current = (*current).max(offset),
            Some(current) => *current = offset,
            None => {
                t.insert(mq.clone(), offset);
            }
        }
    }

    pub fn get(&self, mq: &MessageQueue) -> Option<i64> {
        self.offsets.lock().get(mq).copied()
    }

    pub fn remove(&self, mq: &MessageQueue) -> Option<i64> {
        self.offsets.lock().remove(mq)
    }

    pub fn snapshot(&self) -> BTreeMap<MessageQueue, i64> {
        self.offsets.lock().clone()
    }

    /// The offsets of `topic`'s queues.
    pub fn of_topic(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.offsets
            .lock()
            .iter()
            .filter(|(mq, _)| mq.topic == topic)
            .map(|(mq, o)| (mq.clone(), *o))
            .collect()
    }
}

/// The offsets of a clustering group, kept on the brokers.
#[derive(Debug)]
pub struct RemoteOffsetStore {
    instance: Arc<ClientInstance>,
    group: String,
    table: OffsetTable,
}

impl RemoteOffsetStore {
    pub fn new(instance: Arc<ClientInstance>, group: impl Into<String>) -> Self {
        Self {
            instance,
            group: group.into(),
            table: OffsetTable::default(),
        }
    }

    /// `QUERY_CONSUMER_OFFSET`: the committed offset, `None` if the group has none.
    pub async fn fetch(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        let addr = pull_api::broker_addr(&self.instance, mq).await?;
        api::query_consumer_offset(&self.instance, &addr, &self.group, mq).await
    }

    /// `UPDATE_CONSUMER_OFFSET` of one queue.
    pub async fn commit(&self, mq: &MessageQueue, offset: i64) -> Result<()> {
        let addr = pull_api::broker_addr(&self.instance, mq).await?;
        api::update_consumer_offset(&self.instance, &addr, &self.group, mq, offset).await
    }
}

/// The offsets of a broadcasting consumer, kept in a local file.
#[derive(Debug)]
pub struct LocalFileOffsetStore {
    path: PathBuf,
    table: OffsetTable,
    /// Serialises writers of the file.
    write_lock: Mutex<()>,
}

/// The file's content: `{"offsetTable":{"{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"t\"}":12}}`
/// (Java's `OffsetSerializeWrapper`, with each queue key written as a JSON string).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct OffsetFile {
    #[serde(with = "mq_map")]
    offset_table: BTreeMap<MessageQueue, i64>,
}

impl LocalFileOffsetStore {
    /// A store at `{dir}/{client_id}/{group}/offsets.json`; `dir` defaults to
    /// `$HOME/.petrel_offsets`.
    pub fn new(dir: Option<&Path>, client_id: &str, group: &str) -> Self {
        let root = match dir {
            Some(d) => d.to_path_buf(),
            None => std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir)
                .join(".petrel_offsets"),
        };
        Self::at(root.join(client_id).join(group).join("offsets.json"))
    }

    /// A store in the file `path`.
    pub fn at(path: PathBuf) -> Self {
        Self {
            path,
            table: OffsetTable::default(),
            write_lock: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file into memory (at start). A missing file is an empty table.
    pub fn load(&self) -> Result<()> {
        for (mq, offset) in self.read_file()? {
            self.table.update(&mq, offset, false);
        }
        Ok(())
    }

    fn read_file(&self) -> Result<BTreeMap<MessageQueue, i64>> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(source) => {
                return Err(ClientError::Io {
                    what: format!("reading {}", self.path.display()),
                    source,
                })
            }
        };
        let file: OffsetFile = serde_json::from_slice(&bytes).map_err(|e| ClientError::Io {
            what: format!("parsing {}", self.path.display()),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        Ok(file.offset_table)
    }

    /// Writes `offsets` over the file's content (other queues' offsets in the file are kept),
    /// atomically: a reader sees the old or the new file, never a torn one.
    fn write(&self, offsets: BTreeMap<MessageQueue, i64>) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let _serial = self.write_lock.lock();
        let mut all = self.read_file().unwrap_or_default();
        all.extend(offsets);
        let body = serde_json::to_vec_pretty(&OffsetFile { offset_table: all }).map_err(|e| {
            ClientError::Io {
                what: format!("encoding {}", self.path.display()),
                source: std::io::Error::other(e),
            }
        })?;
        // The error names the step and the path.
        petrel_fs::write_atomically(&self.path, &body).map_err(|source| ClientError::Io {
            what: "writing the local offset file".into(),
            source,
        })
    }
}

/// A group's offset store.
#[derive(Debug)]
pub enum OffsetStore {
    Remote(RemoteOffsetStore),
    Local(LocalFileOffsetStore),
}

impl OffsetStore {
    fn table(&self) -> &OffsetTable {
        match self {
            OffsetStore::Remote(s) => &s.table,
            OffsetStore::Local(s) => &s.table,
        }
    }

    /// Reads what was stored before (broadcasting: the file).
    pub fn load(&self) -> Result<()> {
        match self {
            OffsetStore::Remote(_) => Ok(()),
            OffsetStore::Local(s) => s.load(),
        }
    }

    /// Sets `mq`'s offset in memory; consumption passes `increase_only`.
    pub fn update(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        self.table().update(mq, offset, increase_only)
    }

    /// `mq`'s offset; `Ok(None)` when there is none (a new group). A failure to ask the broker
    /// is an error, never "none": that would restart the queue from its consume-from-where.
    pub async fn read(&self, mq: &MessageQueue, how: ReadOffsetType) -> Result<Option<i64>> {
        if how != ReadOffsetType::Store {
            if let Some(o) = self.table().get(mq) {
                return Ok(Some(o));
            }
            if how == ReadOffsetType::Memory {
                return Ok(None);
            }
        }
        let stored = match self {
            OffsetStore::Remote(s) => s.fetch(mq).await?,
            OffsetStore::Local(s) => s.read_file()?.get(mq).copied(),
        };
        if let Some(o) = stored {
            self.table().update(mq, o, false);
        }
        Ok(stored)
    }

    /// Writes `mq`'s in-memory offset to the store now.
    pub async fn persist(&self, mq: &MessageQueue) -> Result<()> {
        let Some(offset) = self.table().get(mq) else {
            return Ok(());
        };
        match self {
            OffsetStore::Remote(s) => s.commit(mq, offset).await,
            OffsetStore::Local(s) => s.write([(mq.clone(), offset)].into_iter().collect()),
        }
    }

    /// Writes the offsets of the queues in `mqs`; offsets of other queues (no longer assigned)
    /// are forgotten, as in Java. Returns how many were written.
    pub async fn persist_all(&self, mqs: &BTreeSet<MessageQueue>) -> usize {
        let mut keep = BTreeMap::new();
        for (mq, offset) in self.table().snapshot() {
            if mqs.contains(&mq) {
                keep.insert(mq, offset);
            } else {
                self.table().remove(&mq);
            }
        }
        match self {
            OffsetStore::Remote(s) => {
                let mut written = 0;
                for (mq, offset) in &keep {
                    match s.commit(mq, *offset).await {
                        Ok(()) => written += 1,
                        Err(e) => {
                            tracing::warn!(group = %s.group, ?mq, offset, error = %e, "committing an offset failed")
                        }
                    }
                }
                written
            }
            OffsetStore::Local(s) => {
                let n = keep.len();
                match s.write(keep) {
                    Ok(()) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "writing the local offset file failed");
                        0
                    }
                }
            }
        }
    }

    /// Forgets `mq`'s in-memory offset (the queue is no longer ours).
    pub fn remove(&self, mq: &MessageQueue) {
        self.table().remove(mq);
    }

    /// The in-memory offsets of `topic`.
    pub fn offsets_of(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.table().of_topic(topic)
    }

    /// The in-memory offset of `mq`.
    pub fn memory(&self, mq: &MessageQueue) -> Option<i64> {
        self.table().get(mq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(q: i32) -> MessageQueue {
        MessageQueue::new("T", "broker-a", q)
    }

    #[test]
    fn consumption_only_moves_offsets_forward_but_resets_replace_them() {
        let t = OffsetTable::default();
        t.update(&mq(0), 10, true);
        t.update(&mq(0), 7, true);
        assert_eq!(t.get(&mq(0)), Some(10));
        t.update(&mq(0), 12, true);
        assert_eq!(t.get(&mq(0)), Some(12));
        t.update(&mq(0), 3, false);
        assert_eq!(t.get(&mq(0)), Some(3));
        assert_eq!(t.remove(&mq(0)), Some(3));
        assert_eq!(t.get(&mq(0)), None);
    }

    #[test]
    fn table_lists_offsets_by_topic() {
        let t = OffsetTable::default();
        t.update(&mq(0), 1, false);
        t.update(&MessageQueue::new("U", "broker-a", 0), 2, false);
        let of_t = t.of_topic("T");
        assert_eq!(of_t.len(), 1);
        assert_eq!(of_t[&mq(0)], 1);
    }

    #[tokio::test]
    async fn local_offsets_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = OffsetStore::Local(LocalFileOffsetStore::new(
            Some(dir.path()),
            "10.0.0.1@app",
            "g1",
        ));
        store.load().unwrap();
        assert_eq!(
            store.read(&mq(0), ReadOffsetType::Store).await.unwrap(),
            None
        );
        store.update(&mq(0), 42, true);
        store.update(&mq(1), 7, true);
        let all: BTreeSet<_> = [mq(0), mq(1)].into_iter().collect();
        assert_eq!(store.persist_all(&all).await, 2);
        let path = dir.path().join("10.0.0.1@app/g1/offsets.json");
        assert!(path.exists(), "{}", path.display());
        assert!(!path.with_extension("json.tmp").exists());

        // A new store on the same file (a restarted consumer) reads them back.
        let again = OffsetStore::Local(LocalFileOffsetStore::at(path.clone()));
        assert_eq!(
            again.read(&mq(0), ReadOffsetType::Store).await.unwrap(),
            Some(42)
        );
        again.load().unwrap();
        assert_eq!(
            again.read(&mq(1), ReadOffsetType::Memory).await.unwrap(),
            Some(7)
        );
        // The file is plain JSON keyed by each queue's JSON.
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["offsetTable"][r#"{"brokerName":"broker-a","queueId":0,"topic":"T"}"#],
            42
        );
    }

    #[tokio::test]
    async fn persisting_one_queue_keeps_the_others_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        let store = OffsetStore::Local(LocalFileOffsetStore::at(path.clone()));
        store.update(&mq(0), 5, false);
        store.update(&mq(1), 6, false);
        store.persist(&mq(0)).await.unwrap();
        store.persist(&mq(1)).await.unwrap();
        store.update(&mq(1), 9, true);
        store.persist(&mq(1)).await.unwrap();
        let reread = LocalFileOffsetStore::at(path);
        let file = reread.read_file().unwrap();
        assert_eq!(file.get(&mq(0)), Some(&5));
        assert_eq!(file.get(&mq(1)), Some(&9));
    }

    #[tokio::test]
    async fn queues_no_longer_assigned_are_forgotten_on_persist_all() {
        let dir = tempfile::tempdir().unwrap();
        let store = OffsetStore::Local(LocalFileOffsetStore::at(dir.path().join("o.json")));
        store.update(&mq(0), 1, false);
        store.update(&mq(1), 2, false);
        let only0: BTreeSet<_> = [mq(0)].into_iter().collect();
        assert_eq!(store.persist_all(&only0).await, 1);
        assert_eq!(store.memory(&mq(1)), None);
        assert_eq!(store.memory(&mq(0)), Some(1));
    }

    #[test]
    fn a_corrupt_offset_file_is_an_error_not_an_empty_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        std::fs::write(&path, b"{not json").unwrap();
        let store = LocalFileOffsetStore::at(path);
        let err = store.load().unwrap_err();
        assert!(matches!(err, ClientError::Io { .. }), "{err}");
    }

    #[test]
    fn default_location_is_under_home() {
        let s = LocalFileOffsetStore::new(None, "ip@x", "g");
        assert!(s
            .path()
            .ends_with(Path::new(".petrel_offsets/ip@x/g/offsets.json")));
    }
}
