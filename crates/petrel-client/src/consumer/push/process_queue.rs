//! The messages pulled from one queue and not consumed yet (RocketMQ's `ProcessQueue`).
//!
//! A process queue is what the pull loop fills and the listeners drain. Its size drives flow
//! control (message count, bytes, and the span between the oldest and newest offsets), and its
//! smallest unconsumed offset is what may be committed: messages are consumed out of order, so
//! the committed offset only moves past a message once everything before it is done.
//!
//! Orderly consumers take messages in offset order into a *consuming* set and commit or put
//! them back as a whole, and hold the queue's broker lock (`locked`, renewed every 20 s).
//! `dropped` marks a queue this consumer gave up (rebalanced away, offset reset): whatever is
//! still running for it must not commit offsets any more.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{watch, Notify};

use crate::message::{now_ms, MessageExt};

/// How long a lock counts as held without renewal, on the client side
/// (`rocketmq.client.rebalance.lockMaxLiveTime`; the broker's own limit is 60 s).
pub const REBALANCE_LOCK_MAX_LIVE_MS: i64 = 30_000;

#[derive(Debug, Default)]
struct State {
    /// Pulled, not taken by a listener yet (orderly) / not finished (concurrent), by offset.
    msgs: BTreeMap<i64, MessageExt>,
    /// Orderly: taken by the listener, not committed yet.
    consuming: BTreeMap<i64, MessageExt>,
    /// Messages in `msgs` and `consuming`.
    count: usize,
    /// Body bytes of the messages counted in `count`.
    bytes: usize,
    /// The largest offset ever put.
    queue_offset_max: i64,
    last_consume_ms: i64,
}

/// A snapshot for `running_info` (Java's `ProcessQueueInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessQueueInfo {
    pub cached_msg_min_offset: i64,
    pub cached_msg_max_offset: i64,
    pub cached_msg_count: usize,
    pub cached_msg_size_bytes: usize,
    pub locked: bool,
    pub try_unlock_times: u64,
    pub last_lock_timestamp: i64,
    pub dropped: bool,
    pub last_pull_timestamp: i64,
    pub last_consume_timestamp: i64,
}

pub struct ProcessQueue {
    state: Mutex<State>,
    dropped: watch::Sender<bool>,
    locked: AtomicBool,
    last_lock_ms: AtomicI64,
    last_pull_ms: AtomicI64,
    try_unlock_times: AtomicU64,
    /// Orderly: held while a batch is consumed; removing the queue waits for it (Java's
    /// `consumeLock`), so that the offset committed at removal covers that batch.
    pub(crate) consume_lock: Arc<tokio::sync::Mutex<()>>,
    /// Wakes an orderly consumer waiting for messages.
    arrived: Notify,
}

impl std::fmt::Debug for ProcessQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.lock();
        f.debug_struct("ProcessQueue")
            .field("count", &s.count)
            .field("bytes", &s.bytes)
            .field("dropped", &self.is_dropped())
            .field("locked", &self.is_locked())
            .finish()
    }
}

impl Default for ProcessQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessQueue {
    pub fn new() -> Self {
        let now = now_ms();
        Self {
            state: Mutex::new(State {
                last_consume_ms: now,
                ..State::default()
            }),
            dropped: watch::Sender::new(false),
            locked: AtomicBool::new(false),
            last_lock_ms: AtomicI64::new(now),
            last_pull_ms: AtomicI64::new(now),
            try_unlock_times: AtomicU64::new(0),
            consume_lock: Arc::new(tokio::sync::Mutex::new(())),
            arrived: Notify::new(),
        }
    }

    /// Adds pulled messages (a message already present is not counted twice); returns how many
    /// were new.
    pub fn put(&self, msgs: &[MessageExt]) -> usize {
        let mut s = self.state.lock();
        let mut added = 0;
        for m in msgs {
            if s.msgs.contains_key(&m.queue_offset) || s.consuming.contains_key(&m.queue_offset) {
                continue;
            }
            s.msgs.insert(m.queue_offset, m.clone());
            s.count += 1;
            s.bytes += m.body.len();
            s.queue_offset_max = s.queue_offset_max.max(m.queue_offset);
            added += 1;
        }
        drop(s);
        if added > 0 {
            self.arrived.notify_one();
        }
        added
    }

    /// Removes consumed messages; returns the offset that may now be committed: the smallest
    /// offset still cached, or the largest offset ever put + 1 when nothing is left. `None`
    /// when the queue held nothing (it was cleared): nothing may be committed then.
    pub fn remove(&self, offsets: impl IntoIterator<Item = i64>) -> Option<i64> {
        let mut s = self.state.lock();
        s.last_consume_ms = now_ms();
        if s.msgs.is_empty() {
            return None;
        }
        for offset in offsets {
            if let Some(m) = s.msgs.remove(&offset) {
                s.count -= 1;
                s.bytes -= m.body.len();
            }
        }
        if s.count == 0 {
            s.bytes = 0;
        }
        Some(
            s.msgs
                .keys()
                .next()
                .copied()
                .unwrap_or(s.queue_offset_max + 1),
        )
    }

    /// Whether `offset` is still cached (not consumed, not cleared).
    pub fn contains(&self, offset: i64) -> bool {
        self.state.lock().msgs.contains_key(&offset)
    }

    /// Messages cached (orderly: including those being consumed).
    pub fn count(&self) -> usize {
        self.state.lock().count
    }

    /// Body bytes cached.
    pub fn size_bytes(&self) -> usize {
        self.state.lock().bytes
    }

    /// Newest minus oldest cached offset (0 when empty): how far a slow message holds back
    /// the committed offset.
    pub fn max_span(&self) -> i64 {
        let s = self.state.lock();
        match (s.msgs.keys().next(), s.msgs.keys().next_back()) {
            (Some(first), Some(last)) => last - first,
            _ => 0,
        }
    }

    /// Orderly: takes up to `n` messages in offset order into the consuming set.
    pub fn take(&self, n: usize) -> Vec<MessageExt> {
        let mut s = self.state.lock();
        s.last_consume_ms = now_ms();
        let mut out = Vec::with_capacity(n.min(s.msgs.len()));
        while out.len() < n {
            let Some((offset, m)) = s.msgs.pop_first() else {
                break;
            };
            s.consuming.insert(offset, m.clone());
            out.push(m);
        }
        out
    }

    /// Orderly: the consuming set is done; returns the offset to commit (its last offset + 1),
    /// `None` if it was empty.
    pub fn commit(&self) -> Option<i64> {
        let mut s = self.state.lock();
        let last = s.consuming.keys().next_back().copied()?;
        let consuming = std::mem::take(&mut s.consuming);
        s.count -= consuming.len();
        s.bytes -= consuming.values().map(|m| m.body.len()).sum::<usize>();
        if s.count == 0 {
            s.bytes = 0;
        }
        Some(last + 1)
    }

    /// Orderly: these messages (taken before) are to be consumed again, first; the copies
    /// given here replace the cached ones (they carry the incremented reconsume times).
    pub fn make_messages_to_consume_again(&self, msgs: &[MessageExt]) {
        let mut s = self.state.lock();
        for m in msgs {
            s.consuming.remove(&m.queue_offset);
            s.msgs.insert(m.queue_offset, m.clone());
        }
        drop(s);
        self.arrived.notify_one();
    }

    /// Orderly: puts the whole consuming set back (consumption was interrupted).
    pub fn rollback(&self) {
        let mut s = self.state.lock();
        let consuming = std::mem::take(&mut s.consuming);
        s.msgs.extend(consuming);
    }

    /// Forgets every cached message (offset reset, queue dropped).
    pub fn clear(&self) {
        let mut s = self.state.lock();
        s.msgs.clear();
        s.consuming.clear();
        s.count = 0;
        s.bytes = 0;
        s.queue_offset_max = 0;
    }

    /// Waits until messages are put or given back, the queue is dropped, or its lock is taken.
    pub async fn wait_for_messages(&self) {
        self.arrived.notified().await
    }

    pub fn has_messages(&self) -> bool {
        !self.state.lock().msgs.is_empty()
    }

    pub fn is_dropped(&self) -> bool {
        *self.dropped.borrow()
    }

    pub fn set_dropped(&self) {
        self.dropped.send_replace(true);
        self.arrived.notify_one();
    }

    /// Resolves once the queue is dropped.
    pub async fn dropped(&self) {
        let mut rx = self.dropped.subscribe();
        let _ = rx.wait_for(|d| *d).await;
    }

    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::SeqCst)
    }

    pub fn set_locked(&self, locked: bool) {
        self.locked.store(locked, Ordering::SeqCst);
        if locked {
            self.last_lock_ms.store(now_ms(), Ordering::SeqCst);
            self.arrived.notify_one();
        }
    }

    pub fn last_lock_ms(&self) -> i64 {
        self.last_lock_ms.load(Ordering::SeqCst)
    }

    /// Whether the lock was last renewed too long ago to be trusted.
    pub fn is_lock_expired(&self, now_ms: i64) -> bool {
        now_ms - self.last_lock_ms() > REBALANCE_LOCK_MAX_LIVE_MS
    }

    pub fn inc_try_unlock_times(&self) {
        self.try_unlock_times.fetch_add(1, Ordering::Relaxed);
    }

    pub fn touch_pull(&self) {
        self.last_pull_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub fn info(&self) -> ProcessQueueInfo {
        let s = self.state.lock();
        let first = s.consuming.keys().chain(s.msgs.keys()).min().copied();
        let last = s.consuming.keys().chain(s.msgs.keys()).max().copied();
        ProcessQueueInfo {
            cached_msg_min_offset: first.unwrap_or(0),
            cached_msg_max_offset: last.unwrap_or(0),
            cached_msg_count: s.count,
            cached_msg_size_bytes: s.bytes,
            locked: self.is_locked(),
            try_unlock_times: self.try_unlock_times.load(Ordering::Relaxed),
            last_lock_timestamp: self.last_lock_ms(),
            dropped: self.is_dropped(),
            last_pull_timestamp: self.last_pull_ms.load(Ordering::Relaxed),
            last_consume_timestamp: s.last_consume_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::test_message;

    fn msg(offset: i64, body_len: usize) -> MessageExt {
        MessageExt {
            body: vec![b'x'; body_len].into(),
            ..test_message("T", offset)
        }
    }

    fn msgs(offsets: impl IntoIterator<Item = i64>) -> Vec<MessageExt> {
        offsets.into_iter().map(|o| msg(o, 10)).collect()
    }

    #[test]
    fn commit_offset_is_the_smallest_unconsumed_offset() {
        let pq = ProcessQueue::new();
        assert_eq!(pq.put(&msgs(10..15)), 5);
        assert_eq!(pq.count(), 5);
        assert_eq!(pq.size_bytes(), 50);
        assert_eq!(pq.max_span(), 4);
        // 12 finished first: 10 is still pending, so only 10 may be committed.
        assert_eq!(pq.remove([12]), Some(10));
        assert_eq!(pq.remove([10, 11]), Some(13));
        assert_eq!(pq.count(), 2);
        assert_eq!(pq.size_bytes(), 20);
        // All done: the next offset after the largest put.
        assert_eq!(pq.remove([13, 14]), Some(15));
        assert_eq!(pq.count(), 0);
        assert_eq!(pq.size_bytes(), 0);
        assert_eq!(pq.max_span(), 0);
    }

    #[test]
    fn removing_from_an_empty_or_cleared_queue_commits_nothing() {
        let pq = ProcessQueue::new();
        assert_eq!(pq.remove([1]), None);
        pq.put(&msgs(0..3));
        pq.clear();
        assert_eq!(pq.count(), 0);
        assert_eq!(pq.remove([0, 1, 2]), None);
    }

    #[test]
    fn duplicates_are_counted_once_and_unknown_offsets_ignored() {
        let pq = ProcessQueue::new();
        assert_eq!(pq.put(&msgs(0..3)), 3);
        assert_eq!(pq.put(&msgs(2..5)), 2);
        assert_eq!(pq.count(), 5);
        assert_eq!(pq.remove([99]), Some(0));
        assert_eq!(pq.count(), 5);
        assert!(pq.contains(4));
        assert!(!pq.contains(5));
    }

    #[test]
    fn orderly_take_commit_and_consume_again() {
        let pq = ProcessQueue::new();
        pq.put(&msgs(0..5));
        let first = pq.take(2);
        assert_eq!(
            first.iter().map(|m| m.queue_offset).collect::<Vec<_>>(),
            [0, 1]
        );
        // Taken messages still count for flow control until committed.
        assert_eq!(pq.count(), 5);
        assert_eq!(pq.commit(), Some(2));
        assert_eq!(pq.count(), 3);
        assert_eq!(pq.size_bytes(), 30);

        let mut again = pq.take(2);
        for m in &mut again {
            m.reconsume_times += 1;
        }
        pq.make_messages_to_consume_again(&again);
        assert_eq!(pq.commit(), None);
        let retaken = pq.take(10);
        assert_eq!(
            retaken
                .iter()
                .map(|m| (m.queue_offset, m.reconsume_times))
                .collect::<Vec<_>>(),
            [(2, 1), (3, 1), (4, 0)]
        );
        pq.rollback();
        assert_eq!(pq.take(1)[0].queue_offset, 2);
        assert_eq!(pq.commit(), Some(3));
        assert_eq!(pq.count(), 2);
    }

    #[test]
    fn lock_and_drop_state() {
        let pq = ProcessQueue::new();
        assert!(!pq.is_locked());
        pq.set_locked(true);
        assert!(pq.is_locked());
        let now = now_ms();
        assert!(!pq.is_lock_expired(now));
        assert!(pq.is_lock_expired(now + REBALANCE_LOCK_MAX_LIVE_MS + 1));
        assert!(!pq.is_dropped());
        pq.set_dropped();
        assert!(pq.is_dropped());
        let info = pq.info();
        assert!(info.dropped && info.locked);
    }

    #[tokio::test]
    async fn dropped_wakes_waiters() {
        let pq = Arc::new(ProcessQueue::new());
        let waiter = {
            let pq = Arc::clone(&pq);
            tokio::spawn(async move { pq.dropped().await })
        };
        pq.set_dropped();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .unwrap();
    }

    #[test]
    fn info_reports_the_cached_range() {
        let pq = ProcessQueue::new();
        pq.put(&msgs([3, 7, 5]));
        pq.take(1);
        let info = pq.info();
        assert_eq!(info.cached_msg_min_offset, 3);
        assert_eq!(info.cached_msg_max_offset, 7);
        assert_eq!(info.cached_msg_count, 3);
    }
}
