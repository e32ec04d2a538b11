//! Delayed messages by level (RocketMQ's `ScheduleMessageService`).
//!
//! A message sent with the `DELAY` property (level 1..N of `messageDelayLevel`) is stored in
//! `SCHEDULE_TOPIC_XXXX`, queue `level - 1`, with its real topic and queue in `REAL_TOPIC` /
//! `REAL_QID`. The store records each entry's delivery time as its ConsumeQueue tag code, and
//! since every message of a level has the same delay, a level's queue is in delivery order. One
//! task per level therefore only ever looks at the head of its queue: it sleeps until the head
//! is due (or until a new message arrives on an empty queue), re-puts it to its real topic
//! (exactly as sent, minus `DELAY`), and moves on. Progress per level is kept in
//! `config/delayOffset.json` (RocketMQ's file), written with consumer offsets and at shutdown;
//! after a crash, messages past the last written offset are delivered again (at least once).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use petrel_protocol::message::properties;
use petrel_protocol::topic::SCHEDULE_TOPIC;
use petrel_store::MessageStore;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};

use crate::clock::now_ms;
use crate::config_file::{ConfigFile, ConfigFileError};
use crate::message::{OwnedMessage, PropertyEdit};

/// How long a level waits before retrying a delivery the store refused (disk full, ...).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DelayOffsetsFile {
    offset_table: BTreeMap<i32, i64>,
}

pub struct ScheduleService {
    levels_ms: Vec<u64>,
    file: ConfigFile,
    offsets: Mutex<BTreeMap<i32, i64>>,
    dirty: AtomicBool,
    /// One wake-up per level, rung when its queue grows.
    wake: Vec<Notify>,
}

impl ScheduleService {
    pub fn load(config_dir: &Path, levels_ms: Vec<u64>) -> Result<Self, ConfigFileError> {
        let file = ConfigFile::new(config_dir, "delayOffset.json");
        let loaded: DelayOffsetsFile = file.load()?.unwrap_or_default();
        let wake = (0..levels_ms.len()).map(|_| Notify::new()).collect();
        Ok(Self {
            levels_ms,
            file,
            offsets: Mutex::new(loaded.offset_table),
            dirty: AtomicBool::new(false),
            wake,
        })
    }

    pub fn max_level(&self) -> i32 {
        self.levels_ms.len() as i32
    }

    /// The store's dispatcher saw new delayed messages on `queue_id`.
    pub fn notify(&self, queue_id: i32) {
        if let Some(n) = usize::try_from(queue_id)
            .ok()
            .and_then(|q| self.wake.get(q))
        {
            n.notify_one();
        }
    }

    /// Progress of each level (for GET_ALL_DELAY_OFFSET and tests).
    pub fn offsets(&self) -> BTreeMap<i32, i64> {
        self.offsets.lock().clone()
    }

    /// A slave's copy of its master's delay progress (SlaveSynchronize).
    pub fn replace_from_master(&self, offsets: BTreeMap<i32, i64>) {
        let mut local = self.offsets.lock();
        if *local != offsets {
            *local = offsets;
            self.dirty.store(true, Ordering::Release);
        }
    }

    fn offset(&self, level: i32) -> i64 {
        self.offsets.lock().get(&level).copied().unwrap_or(0)
    }

    fn advance(&self, level: i32, next: i64) {
        self.offsets.lock().insert(level, next);
        self.dirty.store(true, Ordering::Release);
    }

    pub fn flush(&self) -> std::io::Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let file = DelayOffsetsFile {
            offset_table: self.offsets(),
        };
        let result = self.file.save(&file);
        if result.is_err() {
            self.dirty.store(true, Ordering::Release);
        }
        result
    }
}

/// The level a `DELAY` value asks for, clamped to the table (RocketMQ clamps too); `None` for
/// 0, negative or unparsable values (no delay).
pub fn delay_level_of(delay_property: &str, max_level: i32) -> Option<i32> {
    let level = delay_property
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|l| *l > 0)?;
    Some(level.min(max_level))
}

/// A message delayed by `level` before it reaches `topic`/`queue_id`: where it waits
/// (`SCHEDULE_TOPIC_XXXX`, queue `level - 1`) and the edits that record its level and real
/// destination.
pub fn delayed(level: i32, topic: &str, queue_id: i32) -> (String, i32, Vec<PropertyEdit>) {
    (
        SCHEDULE_TOPIC.to_string(),
        level - 1,
        vec![
            PropertyEdit::Set(properties::DELAY_TIME_LEVEL, level.to_string()),
            PropertyEdit::Set(properties::REAL_TOPIC, topic.to_string()),
            PropertyEdit::Set(properties::REAL_QUEUE_ID, queue_id.to_string()),
        ],
    )
}

/// Turns a due delayed message back into the message that was sent.
pub fn restore_delayed(mut msg: OwnedMessage) -> Option<OwnedMessage> {
    let topic = msg.properties.get(properties::REAL_TOPIC)?.to_string();
    let queue_id = msg
        .properties
        .get(properties::REAL_QUEUE_ID)
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    msg.properties.remove(properties::DELAY_TIME_LEVEL);
    msg.topic = topic;
    msg.queue_id = queue_id;
    Some(msg)
}

async fn sleep_or_stop(d: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = shutdown.changed() => true,
    }
}

/// The delivery task of one level: re-puts each due message of the level's queue in `store`
/// (records stamped with `store_host`).
pub async fn run_level(
    service: &ScheduleService,
    store: &MessageStore,
    store_host: SocketAddr,
    level: i32,
    mut shutdown: watch::Receiver<bool>,
) {
    let queue_id = level - 1;
    let delay_ms = service.levels_ms[queue_id as usize] as i64;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let offset = service
            .offset(level)
            .max(store.get_min_offset_in_queue(SCHEDULE_TOPIC, queue_id));
        let Some(entry) = store.consume_queue_entry(SCHEDULE_TOPIC, queue_id, offset) else {
            // Nothing waiting: sleep until a delayed message of this level arrives.
            let notified = service.wake[queue_id as usize].notified();
            if store
                .consume_queue_entry(SCHEDULE_TOPIC, queue_id, offset)
                .is_some()
            {
                continue;
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = shutdown.changed() => return,
            }
            continue;
        };
        let now = now_ms();
        // A delivery time further away than the level's delay means the clock went back; deliver
        // now rather than hold the message for as long as the clock jumped (RocketMQ does this).
        let due = entry.tags_code.min(now + delay_ms);
        if due > now {
            if sleep_or_stop(Duration::from_millis((due - now) as u64), &mut shutdown).await {
                return;
            }
            continue;
        }
        let delivered = match store.read_commit_log(entry.physical_offset, entry.size) {
            None => true, // deleted by retention: nothing to deliver
            Some(record) => match OwnedMessage::from_record(&record)
                .ok()
                .and_then(restore_delayed)
            {
                None => {
                    tracing::warn!(
                        level,
                        offset,
                        "delayed message without a real topic; skipping it"
                    );
                    true
                }
                Some(msg) => match msg.put(store, store_host).await {
                    Ok(_) => true,
                    Err(e) => {
                        tracing::warn!(level, offset, error = %e, "could not deliver a delayed message; will retry");
                        false
                    }
                },
            },
        };
        if delivered {
            service.advance(level, offset + 1);
        } else if sleep_or_stop(RETRY_AFTER_FAILURE, &mut shutdown).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::apply;
    use petrel_protocol::message::Properties;

    #[test]
    fn delay_levels_are_clamped_to_the_table() {
        assert_eq!(delay_level_of("3", 18), Some(3));
        assert_eq!(delay_level_of(" 40 ", 18), Some(18));
        for none in ["0", "-2", "", "three"] {
            assert_eq!(delay_level_of(none, 18), None, "{none:?}");
        }
    }

    #[test]
    fn a_delayed_message_comes_back_as_it_was_sent() {
        let sent: Properties = [("TAGS", "a"), ("DELAY", "2")].into_iter().collect();
        let (topic, queue_id, edits) = delayed(2, "Orders", 5);
        assert_eq!((topic.as_str(), queue_id), (SCHEDULE_TOPIC, 1));
        let mut msg = OwnedMessage {
            topic,
            queue_id,
            flag: 0,
            body: bytes::Bytes::from_static(b"x"),
            properties: sent.clone(),
            sys_flag: 0,
            born_timestamp: 0,
            born_host: "127.0.0.1:1".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        };
        apply(&mut msg.properties, &edits);
        assert_eq!(msg.properties.get(properties::REAL_TOPIC), Some("Orders"));
        let restored = restore_delayed(msg).unwrap();
        assert_eq!((restored.topic.as_str(), restored.queue_id), ("Orders", 5));
        assert_eq!(restored.properties.get(properties::DELAY_TIME_LEVEL), None);
        assert_eq!(restored.properties.get("TAGS"), Some("a"));
    }
}
