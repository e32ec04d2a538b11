//! POP consumption (RocketMQ 5.x): the broker assigns messages to consumers, which ack each
//! one within an invisible time; un-acked messages come back.
//!
//! Petrel keeps the in-flight state itself rather than in RocketMQ's revive topic
//! (`rmq_sys_REVIVE_LOG_*` checkpoint and ack messages): per group and queue, a [`PopQueue`]
//! book (`book`); a deadline index finds lapsed messages; the revive task (`revive`) copies
//! them to the POP retry topic `%RETRY%{group}_{topic}` (or, past the group's
//! `retryMaxTimes`, to `%DLQ%{group}`); FIFO queues rewind instead. The books are saved to
//! `config/popState.json` with the consumer offsets (every `flushConsumerOffsetInterval` and
//! at shutdown), and the group's consume offset is always the first message not done, so
//! even a `kill -9` loses no un-acked message: whatever the saved state misses is delivered
//! again (at-least-once, as RocketMQ promises).
//!
//! Wire compatibility is in the handles: the response header carries `popTime`,
//! `invisibleTime`, `reviveQid` and the offset infos from which clients build Apache's
//! receipt handle (`petrel_protocol::pop::ExtraInfo`); ACK and CHANGE_MESSAGE_INVISIBLETIME
//! name a message by queue, offset and pop time, which is all the book needs.

pub mod book;
pub mod handle;
pub mod revive;
pub mod take;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use petrel_store::Arrival;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

pub use book::{HandleOutcome, InFlight, PopQueue};

use crate::config_file::{ConfigFile, ConfigFileError};

/// Most POP and NOTIFICATION requests held by long polling at once; past it they are answered
/// `POLLING_FULL` (RocketMQ's `maxPopPollingSize`).
pub const MAX_POP_POLLING: usize = 100_000;
/// Most messages in flight over all groups; past it pops find nothing until some are acked
/// or come back (each costs about 100 bytes of memory and of `config/popState.json`).
pub const MAX_IN_FLIGHT_MESSAGES: usize = 1_000_000;
/// Most messages one pop returns (RocketMQ refuses more than 32 too).
pub const MAX_POP_MSG_NUMS: i32 = 32;
/// Longest a pop is held waiting for messages, ms.
pub const MAX_POP_POLL_MS: i64 = 30_000;
/// Shortest and longest invisible time a pop or a change may ask for, ms (RocketMQ's proxy
/// allows 10 s to 12 h; remoting clients use 60 s; tests need less).
pub const MIN_INVISIBLE_MS: i64 = 1_000;
pub const MAX_INVISIBLE_MS: i64 = 12 * 3_600_000;

/// A group's view of one queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueKey {
    pub group: String,
    /// The topic as stored: the group's POP retry topic for retried messages.
    pub topic: String,
    pub queue_id: i32,
}

impl QueueKey {
    pub fn new(group: &str, topic: &str, queue_id: i32) -> QueueKey {
        QueueKey {
            group: group.to_string(),
            topic: topic.to_string(),
            queue_id,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct StateFile {
    queues: Vec<SavedQueue>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedQueue {
    key: QueueKey,
    book: PopQueue,
}

/// The POP state of the broker.
pub struct PopService {
    file: ConfigFile,
    queues: Mutex<HashMap<QueueKey, Arc<Mutex<PopQueue>>>>,
    /// (visible-at ms, queue, offset) of every in-flight message; entries may be stale (the
    /// book decides), never missing.
    deadlines: Mutex<BTreeSet<(i64, QueueKey, i64)>>,
    wakers: Mutex<HashMap<String, Arc<Notify>>>,
    polling: AtomicUsize,
    /// Where the next pop over all queues starts, so that queues take turns.
    rotation: AtomicUsize,
    dirty: AtomicBool,
}

impl PopService {
    pub fn load(config_dir: &Path) -> Result<PopService, ConfigFileError> {
        let file = ConfigFile::new(config_dir, "popState.json");
        let saved: StateFile = file.load()?.unwrap_or_default();
        let service = PopService {
            file,
            queues: Mutex::default(),
            deadlines: Mutex::default(),
            wakers: Mutex::default(),
            polling: AtomicUsize::new(0),
            rotation: AtomicUsize::new(0),
            dirty: AtomicBool::new(false),
        };
        for SavedQueue { key, book } in saved.queues {
            for (offset, f) in &book.in_flight {
                service.schedule(&key, *offset, f.visible_at());
            }
            service
                .queues
                .lock()
                .insert(key, Arc::new(Mutex::new(book)));
        }
        Ok(service)
    }

    /// The book of `key`, created at `init()` (the offset to start from) if the group has
    /// none for the queue yet.
    pub fn queue(&self, key: &QueueKey, init: impl FnOnce() -> i64) -> Arc<Mutex<PopQueue>> {
        if let Some(q) = self.queues.lock().get(key) {
            return Arc::clone(q);
        }
        let start = init();
        let mut queues = self.queues.lock();
        Arc::clone(
            queues
                .entry(key.clone())
                .or_insert_with(|| Arc::new(Mutex::new(PopQueue::starting_at(start)))),
        )
    }

    /// The book of `key` if there is one.
    pub fn existing(&self, key: &QueueKey) -> Option<Arc<Mutex<PopQueue>>> {
        self.queues.lock().get(key).cloned()
    }

    /// Remembers that the message at `offset` becomes visible at `visible_at`.
    pub fn schedule(&self, key: &QueueKey, offset: i64, visible_at: i64) {
        self.deadlines
            .lock()
            .insert((visible_at, key.clone(), offset));
        self.dirty.store(true, Ordering::Release);
    }

    /// Marks the state changed (saved at the next flush).
    pub fn touch(&self) {
        self.dirty.store(true, Ordering::Release);
    }

    /// Takes the deadline entries due at `now_ms`.
    pub fn take_due(&self, now_ms: i64) -> Vec<(QueueKey, i64)> {
        let mut deadlines = self.deadlines.lock();
        let mut due = Vec::new();
        while let Some(first) = deadlines.first() {
            if first.0 > now_ms {
                break;
            }
            if let Some((_, key, offset)) = deadlines.pop_first() {
                due.push((key, offset));
            }
        }
        due
    }

    /// The notifier pops of `topic` wait on.
    pub fn waker(&self, topic: &str) -> Arc<Notify> {
        Arc::clone(self.wakers.lock().entry(topic.to_string()).or_default())
    }

    /// Wakes the pops waiting on `topic` (a message arrived, was acked or came back).
    pub fn wake(&self, topic: &str) {
        if let Some(n) = self.wakers.lock().get(topic) {
            n.notify_waiters();
        }
    }

    /// The store's dispatcher made messages visible.
    pub fn on_arrivals(&self, arrivals: &[Arrival]) {
        let wakers = self.wakers.lock();
        if wakers.is_empty() {
            return;
        }
        for a in arrivals {
            if let Some(n) = wakers.get(&a.topic) {
                n.notify_waiters();
            }
        }
    }

    /// Counts a held request; `None` when [`MAX_POP_POLLING`] are held already.
    pub fn hold(&self) -> Option<PollingGuard<'_>> {
        let before = self.polling.fetch_add(1, Ordering::AcqRel);
        if before >= MAX_POP_POLLING {
            self.polling.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(PollingGuard { service: self })
    }

    /// Requests held by long polling now.
    pub fn polling(&self) -> usize {
        self.polling.load(Ordering::Acquire)
    }

    /// Next start for a walk over `n` queues.
    pub fn rotate(&self, n: usize) -> usize {
        self.rotation.fetch_add(1, Ordering::Relaxed) % n.max(1)
    }

    /// Forgets every book of `group` (deleted with its offsets).
    pub fn forget_group(&self, group: &str) {
        self.queues.lock().retain(|k, _| k.group != group);
        self.touch();
    }

    /// An admin moved the group's offset in a queue (resetOffsetByTime): its book, if it has
    /// one, starts again there, with nothing in flight.
    pub fn reset(&self, key: &QueueKey, offset: i64) {
        if let Some(book) = self.existing(key) {
            *book.lock() = PopQueue::starting_at(offset);
            self.touch();
        }
    }

    /// Messages in flight or recently so (the deadline index: an upper bound, cheap to read).
    pub fn in_flight_bound(&self) -> usize {
        self.deadlines.lock().len()
    }

    /// Saves the books if they changed.
    pub fn flush(&self) -> std::io::Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let queues: Vec<(QueueKey, Arc<Mutex<PopQueue>>)> = self
            .queues
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        let mut saved = StateFile::default();
        for (key, q) in queues {
            let book = q.lock().clone();
            saved.queues.push(SavedQueue { key, book });
        }
        saved.queues.sort_by(|a, b| a.key.cmp(&b.key));
        let result = self.file.save(&saved);
        if result.is_err() {
            self.dirty.store(true, Ordering::Release);
        }
        result
    }
}

/// One request held by long polling; released on drop.
pub struct PollingGuard<'a> {
    service: &'a PopService,
}

impl Drop for PollingGuard<'_> {
    fn drop(&mut self) {
        self.service.polling.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn books_survive_a_save_and_load_with_their_deadlines() {
        let dir = tempfile::tempdir().unwrap();
        let service = PopService::load(dir.path()).unwrap();
        let key = QueueKey::new("G", "T", 1);
        let q = service.queue(&key, || 5);
        let f = InFlight {
            pop_time: 100,
            invisible_ms: 50,
        };
        q.lock().take(&[5, 6], 7, f, false);
        service.schedule(&key, 5, 150);
        service.schedule(&key, 6, 150);
        service.flush().unwrap();

        let loaded = PopService::load(dir.path()).unwrap();
        let book = loaded.existing(&key).unwrap().lock().clone();
        assert_eq!(book.next_offset, 7);
        assert_eq!(book.committed(), 5);
        assert!(loaded.take_due(149).is_empty());
        assert_eq!(loaded.take_due(150), vec![(key.clone(), 5), (key, 6)]);
    }

    #[test]
    fn polling_is_bounded_and_released() {
        let dir = tempfile::tempdir().unwrap();
        let service = PopService::load(dir.path()).unwrap();
        let guard = service.hold().unwrap();
        assert_eq!(service.polling(), 1);
        drop(guard);
        assert_eq!(service.polling(), 0);
    }
}
