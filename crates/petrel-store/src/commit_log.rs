//! The CommitLog: one append-only log of stored-message records for all topics.
//!
//! Appends are serialised by one lock (RocketMQ's put-message lock) held only for the memcpy and
//! the bookkeeping: the record, its body CRC and its properties are encoded before the lock is
//! taken. Under the lock the record gets its physical offset, its queue offset (consecutive per
//! topic/queue, so a batch gets consecutive offsets) and a store timestamp that never goes
//! backwards (so that searching by time can bisect).
//!
//! Crash safety of a single append: every byte of the record except TOTALSIZE is copied first,
//! then TOTALSIZE, then the new position is published. A process killed in between leaves a zero
//! TOTALSIZE, which recovery reads as the end of the log.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use petrel_protocol::message::{
    encode_blank, encode_offset_msg_id, encode_record, patch_record, peek_record, sys_flag,
    MessageToStore, Peek, RecordView, END_FILE_MIN_BLANK_LENGTH,
};

use crate::allocate::Allocator;
use crate::config::StoreConfig;
use crate::error::{ReadRecordError, RecordError, ReplicaError, Result, StoreError};
use crate::io::{Clock, FaultInjector};
use crate::mapped_file::MappedFile;
use crate::mapped_file_queue::MappedFileQueue;

/// Where an append landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    /// Physical offset of each record, in order (one per message).
    pub physical_offsets: Vec<i64>,
    /// Offset message id of each record (store host + physical offset, §10.1): what
    /// VIEW_MESSAGE_BY_ID takes.
    pub msg_ids: Vec<String>,
    /// Queue offset of the first message (0 for half/rollback transaction records).
    pub queue_offset: i64,
    /// Store timestamp given to every record of the append.
    pub store_timestamp: i64,
    /// Bytes appended.
    pub wrote_bytes: usize,
    /// CommitLog offset one past the last record: what an fsync must cover to make it durable.
    pub end_offset: u64,
}

/// Next queue offset per topic and queue id (RocketMQ's `topicQueueTable`).
pub(crate) type TopicQueueTable = HashMap<String, HashMap<i32, i64>>;

struct AppendState {
    topic_queue_table: TopicQueueTable,
    last_store_timestamp: i64,
}

pub struct CommitLog {
    queue: MappedFileQueue,
    append: Mutex<AppendState>,
    allocator: Allocator,
    clock: Arc<dyn Clock>,
    faults: Arc<dyn FaultInjector>,
    max_message_size_bytes: usize,
}

/// What lies at a CommitLog offset, for the dispatcher.
pub enum RecordAt {
    /// A record (zero-copy).
    Message(Bytes),
    /// End-of-segment filler; continue at this offset.
    Blank { next_offset: u64 },
    /// Nothing published here yet.
    NotYet,
}

/// Does a record carry a queue offset and belong in a ConsumeQueue? Half (prepared) and
/// rollback transaction records do not: they become visible only through their commit.
pub(crate) fn takes_queue_offset(sys_flag_value: i32) -> bool {
    !matches!(
        sys_flag::transaction_type(sys_flag_value),
        sys_flag::TRANSACTION_PREPARED_TYPE | sys_flag::TRANSACTION_ROLLBACK_TYPE
    )
}

impl CommitLog {
    pub(crate) fn new(
        config: &StoreConfig,
        queue: MappedFileQueue,
        topic_queue_table: TopicQueueTable,
        allocator: Allocator,
        last_store_timestamp: i64,
    ) -> Self {
        Self {
            queue,
            append: Mutex::new(AppendState {
                topic_queue_table,
                last_store_timestamp,
            }),
            allocator,
            clock: Arc::clone(&config.clock),
            faults: Arc::clone(&config.faults),
            max_message_size_bytes: config.max_message_size_bytes,
        }
    }

    pub fn queue(&self) -> &MappedFileQueue {
        &self.queue
    }

    /// Appends `msgs` (one message, or a batch for one topic and queue) contiguously.
    pub fn append(&self, msgs: &[MessageToStore<'_>]) -> Result<AppendResult> {
        let Some(first) = msgs.first() else {
            return Err(StoreError::MessageIllegal("empty batch".into()));
        };
        let file_size = self.queue.file_size();
        let mut buf = Vec::with_capacity(msgs.iter().map(|m| m.encoded_len()).sum());
        let mut sizes = Vec::with_capacity(msgs.len());
        for msg in msgs {
            if msg.topic != first.topic || msg.queue_id != first.queue_id {
                return Err(StoreError::MessageIllegal(
                    "a batch must target one topic and queue".into(),
                ));
            }
            if !petrel_protocol::name::is_storable_topic(msg.topic) {
                return Err(StoreError::MessageIllegal(format!(
                    "illegal topic name {:?}",
                    msg.topic
                )));
            }
            if msg.queue_id < 0 {
                return Err(StoreError::MessageIllegal(format!(
                    "illegal queue id {}",
                    msg.queue_id
                )));
            }
            if msg.body.len() > self.max_message_size_bytes {
                return Err(StoreError::MessageIllegal(format!(
                    "body of {} bytes exceeds maxMessageSize {}",
                    msg.body.len(),
                    self.max_message_size_bytes
                )));
            }
            let start = buf.len();
            let len = encode_record(msg, &mut buf)
                .map_err(|e| StoreError::MessageIllegal(e.to_string()))?;
            // TOTALSIZE is written last, after the rest of the record is in place.
            buf[start..start + 4].copy_from_slice(&[0; 4]);
            sizes.push(len);
        }
        let total = buf.len();
        if total as u64 + END_FILE_MIN_BLANK_LENGTH as u64 > file_size {
            return Err(StoreError::MessageIllegal(format!(
                "{total} bytes do not fit a {file_size}-byte CommitLog segment"
            )));
        }
        let takes_offset = takes_queue_offset(first.sys_flag);

        let mut state = self.append.lock();
        let file = self.file_with_room(total as u64)?;
        let pos = file.wrote_position();
        let base = file.file_from_offset() + pos;
        let store_timestamp = self.clock.now_ms().max(state.last_store_timestamp);
        let queue_offset = if takes_offset {
            state
                .topic_queue_table
                .get(first.topic)
                .and_then(|q| q.get(&first.queue_id))
                .copied()
                .unwrap_or(0)
        } else {
            0
        };
        let mut physical_offsets = Vec::with_capacity(sizes.len());
        let mut at = 0;
        for (i, &len) in sizes.iter().enumerate() {
            let qo = if takes_offset {
                queue_offset + i as i64
            } else {
                0
            };
            let phys = (base + at as u64) as i64;
            patch_record(&mut buf[at..at + len], qo, phys, store_timestamp);
            physical_offsets.push(phys);
            at += len;
        }
        // SAFETY: we hold the append lock, the single-writer right of the active segment, and
        // `file_with_room` checked that `total` bytes fit after `pos`.
        unsafe {
            file.write_unpublished(pos, &buf);
            let mut at = 0u64;
            for &len in &sizes {
                file.write_unpublished(pos + at, &(len as i32).to_be_bytes());
                at += len as u64;
            }
        }
        file.publish(pos + total as u64);
        if takes_offset {
            let next = queue_offset + sizes.len() as i64;
            match state.topic_queue_table.get_mut(first.topic) {
                Some(queues) => {
                    queues.insert(first.queue_id, next);
                }
                None => {
                    state.topic_queue_table.insert(
                        first.topic.to_string(),
                        HashMap::from([(first.queue_id, next)]),
                    );
                }
            }
        }
        state.last_store_timestamp = store_timestamp;
        drop(state);

        let msg_ids = physical_offsets
            .iter()
            .map(|&p| encode_offset_msg_id(first.store_host, p))
            .collect();
        Ok(AppendResult {
            msg_ids,
            physical_offsets,
            queue_offset,
            store_timestamp,
            wrote_bytes: total,
            end_offset: base + total as u64,
        })
    }

    /// Appends bytes a master sent (replication): whole records and blank markers exactly as
    /// they lie in the master's CommitLog, starting at `offset`, which must be this log's end
    /// (or, for an empty log, a segment boundary: a new slave starts where the master's
    /// retained log starts). Every record is validated as recovery validates it (its
    /// PHYSICALOFFSET must be where it lands), so bytes from a CommitLog that does not match
    /// this one are refused, never merged. Returns the new end offset.
    pub fn append_replicated(&self, offset: u64, bytes: &[u8]) -> Result<u64> {
        let file_size = self.queue.file_size();
        let mut state = self.append.lock();
        let mut file = match self.queue.last() {
            Some(file) => {
                let end = file.wrote_offset();
                if end != offset {
                    return Err(ReplicaError::OffsetMismatch {
                        expected: end,
                        got: offset,
                    }
                    .into());
                }
                if file.wrote_position() == file_size {
                    self.next_segment(offset)?
                } else {
                    file
                }
            }
            None => {
                if offset % file_size != 0 {
                    return Err(ReplicaError::NotASegmentStart { offset, file_size }.into());
                }
                std::fs::create_dir_all(self.queue.dir()).map_err(|e| {
                    StoreError::io("creating the CommitLog directory".to_string(), e)
                })?;
                self.next_segment(offset)?
            }
        };
        let mut at = 0usize;
        while at < bytes.len() {
            let here = offset + at as u64;
            if file.wrote_offset() == file.file_from_offset() + file_size {
                file = self.next_segment(here)?;
            }
            let pos = here - file.file_from_offset();
            let rest = &bytes[at..];
            let peek = peek_record(rest).map_err(|e| ReplicaError::Record {
                offset: here,
                source: RecordError::Malformed(e),
            })?;
            let len = match peek {
                Peek::Message { total_size } => {
                    let record = rest
                        .get(..total_size)
                        .ok_or(ReplicaError::Partial { offset: here })?;
                    validate_record(record, here).map_err(|source| ReplicaError::Record {
                        offset: here,
                        source,
                    })?;
                    if pos + total_size as u64 > file_size {
                        return Err(ReplicaError::PastSegmentEnd { offset: here }.into());
                    }
                    let view = RecordView::parse(record).map_err(|e| ReplicaError::Record {
                        offset: here,
                        source: RecordError::Malformed(e),
                    })?;
                    if takes_queue_offset(view.sys_flag()) {
                        state
                            .topic_queue_table
                            .entry(view.topic().to_string())
                            .or_default()
                            .insert(view.queue_id(), view.queue_offset() + 1);
                    }
                    state.last_store_timestamp =
                        state.last_store_timestamp.max(view.store_timestamp());
                    total_size
                }
                Peek::Blank { total_size } => {
                    if pos + total_size as u64 != file_size {
                        return Err(ReplicaError::BlankNotAtSegmentEnd { offset: here }.into());
                    }
                    if rest.len() < total_size {
                        return Err(ReplicaError::Partial { offset: here }.into());
                    }
                    total_size
                }
                Peek::End => return Err(ReplicaError::ZeroRecord { offset: here }.into()),
            };
            // SAFETY: we hold the append lock, the single-writer right of the active segment,
            // and `pos + len` was checked to lie within it.
            unsafe {
                file.write_unpublished(pos + 4, &rest[4..len]);
                file.write_unpublished(pos, &rest[..4]);
            }
            file.publish(pos + len as u64);
            at += len;
        }
        drop(state);
        Ok(offset + bytes.len() as u64)
    }

    /// Takes the segment starting at `from` and makes it the active one (replication, under
    /// the append lock).
    fn next_segment(&self, from: u64) -> Result<Arc<MappedFile>> {
        let next = self.allocator.take(from).map_err(|e| {
            StoreError::io_or_no_space(format!("the CommitLog segment at offset {from}"), e)
        })?;
        self.queue.push(Arc::clone(&next));
        self.allocator.prepare(from + self.queue.file_size());
        Ok(next)
    }

    /// Up to `max_bytes` published bytes from `offset`, as they lie in the CommitLog and never
    /// past the end of `offset`'s segment (replication's master side); `None` when nothing is
    /// published there yet.
    pub fn read_raw(&self, offset: u64, max_bytes: usize) -> Option<Bytes> {
        let file = self.queue.find(offset)?;
        let pos = offset - file.file_from_offset();
        let available = file.wrote_position().checked_sub(pos)?;
        if available == 0 {
            return None;
        }
        file.slice(pos, available.min(max_bytes as u64))
    }

    /// The active segment if `len` more bytes fit in it (leaving room for a blank marker),
    /// otherwise seals it with a blank marker and moves to the next one. Called under the lock.
    fn file_with_room(&self, len: u64) -> Result<Arc<MappedFile>> {
        let file_size = self.queue.file_size();
        let next_from = match self.queue.last() {
            Some(file) => {
                let pos = file.wrote_position();
                let remaining = file_size - pos;
                if len + END_FILE_MIN_BLANK_LENGTH as u64 <= remaining {
                    return Ok(file);
                }
                if remaining > 0 {
                    let mut blank = Vec::with_capacity(8);
                    encode_blank(remaining as usize, &mut blank);
                    // SAFETY: single writer under the append lock; 8 bytes fit (invariant: every
                    // append leaves at least END_FILE_MIN_BLANK_LENGTH bytes).
                    unsafe {
                        file.write_unpublished(pos + 4, &blank[4..]);
                        file.write_unpublished(pos, &blank[..4]);
                    }
                    file.publish(file_size);
                }
                file.file_from_offset() + file_size
            }
            None => 0,
        };
        let next = self.allocator.take(next_from).map_err(|e| {
            StoreError::io_or_no_space(
                format!("the next CommitLog segment (offset {next_from})"),
                e,
            )
        })?;
        self.queue.push(Arc::clone(&next));
        self.allocator.prepare(next_from + file_size);
        Ok(next)
    }

    /// What is published at `offset` (which must be a record boundary).
    pub fn record_at(&self, offset: u64) -> Result<RecordAt, ReadRecordError> {
        let Some(file) = self.queue.find(offset) else {
            return Ok(RecordAt::NotYet);
        };
        let pos = offset - file.file_from_offset();
        if pos >= file.file_size() {
            return Ok(RecordAt::Blank {
                next_offset: file.file_from_offset() + file.file_size(),
            });
        }
        let Some(head) = file.read(pos, 8) else {
            return Ok(RecordAt::NotYet);
        };
        match peek_record(head).map_err(|source| ReadRecordError::Head { offset, source })? {
            Peek::Message { total_size } => match file.slice(pos, total_size as u64) {
                Some(bytes) => Ok(RecordAt::Message(bytes)),
                None => Err(ReadRecordError::PastPublishedEnd { offset }),
            },
            Peek::Blank { .. } => Ok(RecordAt::Blank {
                next_offset: file.file_from_offset() + file.file_size(),
            }),
            Peek::End => Ok(RecordAt::NotYet),
        }
    }

    /// The record at physical `offset`, zero-copy, if one is published there.
    pub fn read_record(&self, offset: u64) -> Option<Bytes> {
        match self.record_at(offset) {
            Ok(RecordAt::Message(bytes)) => Some(bytes),
            _ => None,
        }
    }

    /// `size` published bytes at `offset` (as a ConsumeQueue entry describes them).
    pub fn read(&self, offset: u64, size: u32) -> Option<Bytes> {
        let file = self.queue.find(offset)?;
        file.slice(offset - file.file_from_offset(), u64::from(size))
    }

    pub fn min_offset(&self) -> u64 {
        self.queue.min_offset().unwrap_or(0)
    }

    pub fn max_offset(&self) -> u64 {
        self.queue.max_offset().unwrap_or(0)
    }

    /// Flushes published bytes; returns the offset now on disk.
    pub fn flush(&self) -> std::io::Result<u64> {
        Ok(self.queue.flush(&*self.faults)?.unwrap_or(0))
    }

    /// Bytes published but not yet flushed.
    pub fn unflushed_bytes(&self, flushed: u64) -> u64 {
        self.max_offset().saturating_sub(flushed)
    }

    /// A copy of the topic/queue offset table (for diagnostics and tests).
    pub(crate) fn next_queue_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.append
            .lock()
            .topic_queue_table
            .get(topic)
            .and_then(|q| q.get(&queue_id))
            .copied()
            .unwrap_or(0)
    }

    /// Replaces the queue offset table (after recovery re-dispatched the log).
    pub(crate) fn set_topic_queue_table(&self, table: TopicQueueTable) {
        self.append.lock().topic_queue_table = table;
    }

    /// Forgets the queue offsets of deleted topics.
    pub(crate) fn remove_topics(&self, topics: &[String]) {
        let mut state = self.append.lock();
        for topic in topics {
            state.topic_queue_table.remove(topic);
        }
    }

    /// Blocks appends while `f` runs (shutdown uses it to drain in-flight appends).
    pub(crate) fn with_appends_blocked<T>(&self, f: impl FnOnce() -> T) -> T {
        let _state = self.append.lock();
        f()
    }

    pub(crate) fn allocator(&self) -> &Allocator {
        &self.allocator
    }
}

/// Checks that `bytes` (starting at CommitLog offset `offset`) begin with a complete, intact
/// record; returns its size or why it is not one. This is what recovery trusts.
pub fn validate_record(bytes: &[u8], offset: u64) -> Result<usize, RecordError> {
    let view = RecordView::parse(bytes)?;
    if view.physical_offset() != offset as i64 {
        return Err(RecordError::PhysicalOffsetMismatch {
            field: view.physical_offset(),
            offset,
        });
    }
    if !view.body_crc_matches() {
        return Err(RecordError::BodyCrcMismatch);
    }
    if view.queue_id() < 0 {
        return Err(RecordError::NegativeQueueId(view.queue_id()));
    }
    if !petrel_protocol::name::is_storable_topic(view.topic()) {
        return Err(RecordError::IllegalTopic(view.topic().to_string()));
    }
    if view.store_timestamp() <= 0 {
        return Err(RecordError::StoreTimestampNotSet);
    }
    let props = view.properties();
    if !props.is_empty() {
        if props.last() != Some(&2) {
            return Err(RecordError::PropertiesUnterminated);
        }
        if props.contains(&0) {
            return Err(RecordError::PropertiesContainNul);
        }
        if std::str::from_utf8(props).is_err() {
            return Err(RecordError::PropertiesNotUtf8);
        }
    }
    Ok(view.total_size())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::stored_record;

    const AT: u64 = 4096;

    fn record(queue_id: i32, store_timestamp: i64) -> Vec<u8> {
        stored_record("T", queue_id, &[], AT as i64, store_timestamp)
    }

    #[test]
    fn an_intact_record_validates_to_its_size() {
        let bytes = record(0, 1_700_000_000_000);
        assert_eq!(validate_record(&bytes, AT), Ok(bytes.len()));
    }

    #[test]
    fn each_damage_is_named() {
        let bytes = record(0, 1_700_000_000_000);
        assert_eq!(
            validate_record(&bytes, AT + 1),
            Err(RecordError::PhysicalOffsetMismatch {
                field: AT as i64,
                offset: AT + 1
            })
        );
        let mut flipped = bytes.clone();
        let body_at = flipped.len() - 2 - 1 - 2; // last body byte: before topic (1+1) and props (2)
        flipped[body_at] ^= 1;
        assert_eq!(
            validate_record(&flipped, AT),
            Err(RecordError::BodyCrcMismatch)
        );
        assert_eq!(
            validate_record(&record(-1, 1), AT),
            Err(RecordError::NegativeQueueId(-1))
        );
        assert_eq!(
            validate_record(&record(0, 0), AT),
            Err(RecordError::StoreTimestampNotSet)
        );
        assert!(matches!(
            validate_record(&bytes[..bytes.len() - 1], AT),
            Err(RecordError::Malformed(_))
        ));
    }
}
