//! The read path: messages of a queue by offset, lookups by physical offset, by key and by
//! time, and queue bounds. Everything returned is a zero-copy slice of a mapped segment.

use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use petrel_protocol::message::{peek_record, properties, Peek, PropertiesIter, RecordView};

use crate::commit_log::validate_record;
use crate::consume_queue::ConsumeQueue;
use crate::error::RecordError;
use crate::store::MessageStore;

/// At most one warning about damaged ConsumeQueue entries per this many milliseconds.
const DAMAGED_ENTRY_WARN_INTERVAL_MS: i64 = 10_000;

/// The record a ConsumeQueue entry points at, as the CommitLog confirms it.
///
/// ConsumeQueues are derived data and may be damaged where the CommitLog is not (a bad sector,
/// a file edited or copied by hand; recovery re-checks entries only after a crash). An entry is
/// trusted only as far as the CommitLog agrees: the bytes at its offset must start a message
/// record, and that record's own TOTALSIZE decides how many bytes are returned. Otherwise a
/// damaged size would return a record plus the bytes of the records after it, which a client
/// decodes as extra messages (found by the `store_recovery` fuzz target). The fast path costs
/// two comparisons on bytes already read; a mismatch is logged (rate-limited) and, when the
/// offset still starts a record, served by that record's real size.
fn read_entry_record(
    commit_log: &crate::commit_log::CommitLog,
    physical_offset: i64,
    size: i32,
) -> Option<Bytes> {
    if physical_offset < 0 || size <= 0 {
        return None;
    }
    let offset = physical_offset as u64;
    if let Some(bytes) = commit_log.read(offset, size as u32) {
        if matches!(peek_record(&bytes), Ok(Peek::Message { total_size }) if total_size == bytes.len())
        {
            return verified(bytes, offset);
        }
    }
    // The entry's size disagrees with the record (or points past the written log): trust the
    // record's own head, if a record starts there.
    let head = commit_log.read(offset, 8)?;
    let real = match peek_record(&head) {
        Ok(Peek::Message { total_size }) => u32::try_from(total_size).ok(),
        _ => None,
    };
    warn_damaged_entry(physical_offset, size, real);
    let bytes = commit_log.read(offset, real?)?;
    verified(bytes, offset)
}

/// `bytes` if they pass the record check recovery applies ([`validate_record`]: magic, sizes,
/// body CRC, physical offset, topic, properties), else `None` with a rate-limited error.
///
/// Recovery validates only the records after its safe point (the checkpoint), so bytes that
/// changed on disk after they were flushed (a bad sector, a file edited by hand) would
/// otherwise be served as they are: a consumer would get a message whose body is not what was
/// sent. Found by the `store_recovery` fuzz target (a bit flip in the body of the first
/// record). The check costs a CRC over the body, on pages the reply sends anyway.
fn verified(bytes: Bytes, offset: u64) -> Option<Bytes> {
    match validate_record(&bytes, offset) {
        Ok(_) => Some(bytes),
        Err(reason) => {
            warn_damaged_record(offset, &reason);
            None
        }
    }
}

fn warn_damaged_record(offset: u64, reason: &RecordError) {
    static LAST_WARN_MS: AtomicI64 = AtomicI64::new(i64::MIN);
    if !rate_limit_ok(&LAST_WARN_MS) {
        return;
    }
    tracing::error!(
        physical_offset = offset,
        %reason,
        "a CommitLog record fails its integrity check and is not served (consumers skip it). The \
         CommitLog segment holding it is damaged: check the disk (dmesg, SMART), and restore \
         the segment from a replica or backup if the message matters"
    );
}

/// True at most once per [`DAMAGED_ENTRY_WARN_INTERVAL_MS`] for each `last_ms` cell.
fn rate_limit_ok(last_ms: &AtomicI64) -> bool {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let last = last_ms.load(Ordering::Relaxed);
    now_ms.saturating_sub(last) >= DAMAGED_ENTRY_WARN_INTERVAL_MS
        && last_ms
            .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

fn warn_damaged_entry(physical_offset: i64, size: i32, real: Option<u32>) {
    static LAST_WARN_MS: AtomicI64 = AtomicI64::new(i64::MIN);
    if !rate_limit_ok(&LAST_WARN_MS) {
        return;
    }
    match real {
        Some(real) => tracing::warn!(
            physical_offset,
            entry_size = size,
            record_size = real,
            "a ConsumeQueue entry's size disagrees with its CommitLog record; serving the record \
             by its own size. The ConsumeQueue file is damaged: stop the broker and delete \
             consumequeue/ to rebuild it from the CommitLog"
        ),
        None => tracing::warn!(
            physical_offset,
            entry_size = size,
            "a ConsumeQueue entry points at no CommitLog record; skipping it. The ConsumeQueue \
             file is damaged: stop the broker and delete consumequeue/ to rebuild it from the \
             CommitLog"
        ),
    }
}

/// RocketMQ's `GetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetMessageStatus {
    Found,
    /// Messages were there but the filter matched none of them.
    NoMatchedMessage,
    /// An entry pointed at CommitLog data being deleted.
    MessageWasRemoving,
    /// Entries pointed below the CommitLog's minimum offset.
    OffsetFoundNull,
    /// The offset is beyond the queue's end by more than one.
    OffsetOverflowBadly,
    /// The offset is exactly the queue's end (nothing new yet).
    OffsetOverflowOne,
    /// The offset is below the queue's minimum.
    OffsetTooSmall,
    /// No such topic/queue.
    NoMatchedLogicQueue,
    /// The queue exists but holds nothing.
    NoMessageInQueue,
}

#[derive(Debug, Clone)]
pub struct GetMessageResult {
    pub status: GetMessageStatus,
    /// Where the next read should start.
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    /// Stored records, in queue order.
    pub messages: Vec<Bytes>,
    /// Queue offset of each record in `messages`.
    pub queue_offsets: Vec<i64>,
    pub buffer_total_size: usize,
}

impl GetMessageResult {
    fn empty(status: GetMessageStatus, next: i64, min: i64, max: i64) -> Self {
        Self {
            status,
            next_begin_offset: next,
            min_offset: min,
            max_offset: max,
            messages: Vec::new(),
            queue_offsets: Vec::new(),
            buffer_total_size: 0,
        }
    }
}

/// Decides which messages a read returns. The tag hash check runs on ConsumeQueue entries,
/// before the CommitLog is touched; the record check (SQL92 filters) runs on the record.
pub trait MessageFilter: Send + Sync {
    fn matches_tags_code(&self, tags_code: i64) -> bool;
    fn matches_record(&self, _record: &[u8]) -> bool {
        true
    }
}

/// Accepts every message.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAll;

impl MessageFilter for AcceptAll {
    fn matches_tags_code(&self, _tags_code: i64) -> bool {
        true
    }
}

/// Accepts messages whose tag hash code is one of a set (tag expression `A || B`).
#[derive(Debug, Clone, Default)]
pub struct TagsCodeFilter {
    pub codes: Vec<i64>,
}

impl MessageFilter for TagsCodeFilter {
    fn matches_tags_code(&self, tags_code: i64) -> bool {
        self.codes.contains(&tags_code)
    }
}

/// Which end of a run of equal timestamps a search by time lands on (5.x `boundaryType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoundaryType {
    /// The first message stored at or after the time.
    #[default]
    Lower,
    /// The last message stored at or before the time.
    Upper,
}

/// Messages found by key, verified against the records.
#[derive(Debug, Clone, Default)]
pub struct QueryMessageResult {
    pub messages: Vec<Bytes>,
    pub index_last_update_timestamp: i64,
    pub index_last_update_phy_offset: i64,
}

impl MessageStore {
    /// Reads up to `max_msg_nums` messages (and about `max_total_bytes`, always at least one)
    /// of `topic`/`queue_id` from `offset`, skipping those `filter` rejects.
    pub fn get_message(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msg_nums: usize,
        max_total_bytes: usize,
        filter: &dyn MessageFilter,
    ) -> GetMessageResult {
        let inner = &self.inner;
        let Some(cq) = inner.consume_queues.get(topic, queue_id) else {
            return GetMessageResult::empty(GetMessageStatus::NoMatchedLogicQueue, 0, 0, 0);
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        if max == 0 {
            return GetMessageResult::empty(GetMessageStatus::NoMessageInQueue, 0, min, max);
        }
        if offset < min {
            return GetMessageResult::empty(GetMessageStatus::OffsetTooSmall, min, min, max);
        }
        if offset == max {
            return GetMessageResult::empty(GetMessageStatus::OffsetOverflowOne, offset, min, max);
        }
        if offset > max {
            let next = if min == 0 { min } else { max };
            return GetMessageResult::empty(GetMessageStatus::OffsetOverflowBadly, next, min, max);
        }

        let commit_log_min = inner.commit_log.min_offset() as i64;
        let max_scan = inner.config.max_filter_message_count.max(max_msg_nums);
        let mut result =
            GetMessageResult::empty(GetMessageStatus::NoMatchedMessage, offset, min, max);
        let mut next = offset;
        let mut scanned = 0;
        'outer: while result.messages.len() < max_msg_nums && scanned < max_scan {
            let entries = cq.entries(next, (max_scan - scanned).min(4096));
            if entries.is_empty() {
                break;
            }
            for e in entries {
                if result.messages.len() >= max_msg_nums {
                    break 'outer;
                }
                if e.size <= 0 {
                    scanned += 1;
                    next = e.queue_offset + 1;
                    continue;
                }
                if !result.messages.is_empty()
                    && result.buffer_total_size + e.size as usize > max_total_bytes
                {
                    break 'outer;
                }
                scanned += 1;
                next = e.queue_offset + 1;
                if e.physical_offset < commit_log_min {
                    if result.messages.is_empty() {
                        result.status = GetMessageStatus::OffsetFoundNull;
                    }
                    continue;
                }
                if !filter.matches_tags_code(e.tags_code) {
                    continue;
                }
                let Some(bytes) = read_entry_record(&inner.commit_log, e.physical_offset, e.size)
                else {
                    if result.messages.is_empty() {
                        result.status = GetMessageStatus::MessageWasRemoving;
                    }
                    continue;
                };
                if !filter.matches_record(&bytes) {
                    continue;
                }
                result.buffer_total_size += bytes.len();
                result.messages.push(bytes);
                result.queue_offsets.push(e.queue_offset);
            }
        }
        if !result.messages.is_empty() {
            result.status = GetMessageStatus::Found;
            inner
                .stats
                .get_message_count
                .fetch_add(result.messages.len() as u64, Ordering::Relaxed);
        }
        result.next_begin_offset = next;
        result
    }

    fn consume_queue(&self, topic: &str, queue_id: i32) -> Option<std::sync::Arc<ConsumeQueue>> {
        self.inner.consume_queues.get(topic, queue_id)
    }

    /// The ConsumeQueue entry at `offset`, if dispatched (the delay service reads delivery
    /// times from it without touching the CommitLog).
    pub fn consume_queue_entry(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Option<crate::CqEntry> {
        self.consume_queue(topic, queue_id)?.entry(offset)
    }

    /// `size` bytes of the CommitLog at `physical_offset` (a record a ConsumeQueue entry
    /// describes), if still there.
    pub fn read_commit_log(&self, physical_offset: i64, size: i32) -> Option<Bytes> {
        if physical_offset < 0 || size <= 0 {
            return None;
        }
        read_entry_record(&self.inner.commit_log, physical_offset, size)
    }

    /// One past the newest dispatched message of the queue (0 if unknown).
    pub fn get_max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.consume_queue(topic, queue_id)
            .map(|cq| cq.max_offset())
            .unwrap_or(0)
    }

    /// The oldest readable offset of the queue (0 if unknown).
    pub fn get_min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.consume_queue(topic, queue_id)
            .map(|cq| cq.min_offset())
            .unwrap_or(0)
    }

    /// Store timestamp of the message at `offset` in the queue.
    pub fn get_message_store_timestamp(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Option<i64> {
        let entry = self.consume_queue(topic, queue_id)?.entry(offset)?;
        self.store_timestamp_at(entry.physical_offset, entry.size)
    }

    fn store_timestamp_at(&self, physical_offset: i64, size: i32) -> Option<i64> {
        if size <= 0 {
            return None;
        }
        let bytes = self
            .inner
            .commit_log
            .read(physical_offset as u64, size as u32)?;
        RecordView::parse(&bytes).ok().map(|v| v.store_timestamp())
    }

    /// Store timestamp of the oldest readable message of the queue.
    pub fn get_earliest_message_time(&self, topic: &str, queue_id: i32) -> Option<i64> {
        let cq = self.consume_queue(topic, queue_id)?;
        let (min, max) = (cq.min_offset(), cq.max_offset());
        (min..max).take(64).find_map(|o| {
            cq.entry(o)
                .and_then(|e| self.store_timestamp_at(e.physical_offset, e.size))
        })
    }

    /// The queue offset for a point in time (bisection over store timestamps, which never
    /// decrease along a queue). `Lower`: the first message stored at or after `timestamp_ms`
    /// (the queue's end if none). `Upper`: the last stored at or before it (the queue's
    /// minimum if none).
    pub fn get_offset_in_queue_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp_ms: i64,
        boundary: BoundaryType,
    ) -> i64 {
        let Some(cq) = self.consume_queue(topic, queue_id) else {
            return 0;
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        let ts = |o: i64| {
            cq.entry(o)
                .and_then(|e| self.store_timestamp_at(e.physical_offset, e.size))
        };
        // Find the first offset whose timestamp is > or >= the target.
        let (mut lo, mut hi) = (min, max);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let before = match (ts(mid), boundary) {
                (Some(t), BoundaryType::Lower) => t < timestamp_ms,
                (Some(t), BoundaryType::Upper) => t <= timestamp_ms,
                // An unreadable entry (being removed) counts as old.
                (None, _) => true,
            };
            if before {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        match boundary {
            BoundaryType::Lower => lo,
            BoundaryType::Upper => (lo - 1).max(min),
        }
    }

    /// The record at CommitLog offset `physical_offset` (VIEW_MESSAGE_BY_ID). Any record below
    /// the dispatch bound is readable (written under ASYNC_FLUSH, flushed under SYNC_FLUSH),
    /// whether or not the dispatcher has reached it yet: a producer may look up a message the
    /// moment its send returns.
    pub fn look_message_by_offset(&self, physical_offset: i64) -> Option<Bytes> {
        let offset = u64::try_from(physical_offset).ok()?;
        if offset < self.inner.commit_log.min_offset() || offset >= self.inner.dispatch_bound() {
            return None;
        }
        let bytes = self.inner.commit_log.read_record(offset)?;
        verified(bytes, offset)
    }

    /// Messages of `topic` whose `KEYS` contain `key` (or, with `unique_key`, whose `UNIQ_KEY`
    /// is `key`), stored within `[begin_ms, end_ms]`, newest first, at most `max_num`.
    pub fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin_ms: i64,
        end_ms: i64,
        unique_key: bool,
    ) -> QueryMessageResult {
        let Some(index) = &self.inner.index else {
            return QueryMessageResult::default();
        };
        // Ask for more than needed: collisions and stale entries are dropped below.
        let candidates = index.query(
            topic,
            key,
            max_num.saturating_mul(4).max(32),
            begin_ms,
            end_ms,
        );
        let mut result = QueryMessageResult {
            messages: Vec::new(),
            index_last_update_timestamp: candidates.index_last_update_timestamp,
            index_last_update_phy_offset: candidates.index_last_update_phy_offset,
        };
        let mut seen = std::collections::HashSet::new();
        for offset in candidates.physical_offsets {
            if result.messages.len() >= max_num {
                break;
            }
            if !seen.insert(offset) {
                continue;
            }
            let Some(bytes) = self.look_message_by_offset(offset) else {
                continue;
            };
            let Ok(view) = RecordView::parse(&bytes) else {
                continue;
            };
            if view.topic() != topic
                || view.store_timestamp() < begin_ms
                || view.store_timestamp() > end_ms
            {
                continue;
            }
            let Ok(props) = PropertiesIter::new(view.properties()) else {
                continue;
            };
            let matched = props.into_iter().any(|(k, v)| {
                if unique_key {
                    k == properties::UNIQ_CLIENT_MESSAGE_ID_KEYIDX && v == key
                } else {
                    (k == properties::KEYS && v.split(' ').any(|part| part == key))
                        || (k == properties::UNIQ_CLIENT_MESSAGE_ID_KEYIDX && v == key)
                }
            });
            if matched {
                result.messages.push(bytes);
            }
        }
        result
    }

    pub fn commit_log_min_offset(&self) -> i64 {
        self.inner.commit_log.min_offset() as i64
    }

    pub fn commit_log_max_offset(&self) -> i64 {
        self.inner.commit_log.max_offset() as i64
    }

    /// Topics with ConsumeQueues.
    pub fn topics(&self) -> Vec<String> {
        self.inner.consume_queues.topics()
    }

    /// Queue ids with ConsumeQueues for `topic`.
    pub fn queue_ids(&self, topic: &str) -> Vec<i32> {
        self.inner.consume_queues.queue_ids(topic)
    }

    /// The next queue offset an append to `topic`/`queue_id` would get.
    pub fn next_queue_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.inner.commit_log.next_queue_offset(topic, queue_id)
    }
}
