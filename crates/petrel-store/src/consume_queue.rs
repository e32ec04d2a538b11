//! ConsumeQueue: per topic and queue, a log of 20-byte entries (CommitLog offset i64, record
//! size i32, tag hash code i64). Entry `n` (queue offset `n`) sits at byte `n × 20` of the
//! logical file, split into `consumequeue/{topic}/{queueId}/{20-digit start byte}` segments.
//!
//! Only the dispatcher writes a ConsumeQueue, so it is always derivable from the CommitLog:
//! recovery trims entries that point past the recovered CommitLog end and the dispatcher
//! re-adds whatever is missing. Readers see only published (dispatched) entries.
//!
//! ConsumeQueues another broker wrote (Apache RocketMQ) are kept, with one correction made at
//! load ([`Retag`]): the tag codes of the topics the [`TagCodeHook`] decides are re-derived from
//! their records, because RocketMQ keeps the tags hash where Petrel's timer service expects the
//! due time (`rmq_sys_wheel_timer`). An entry that does not describe the record it points at
//! stops the open with an error naming the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use petrel_protocol::message::{properties, tag_hash_code, RecordView};

use crate::config::CQ_ENTRY_SIZE_BYTES as ENTRY;
use crate::error::{Result, StoreError};
use crate::io::FaultInjector;
use crate::mapped_file::MappedFile;
use crate::mapped_file_queue::MappedFileQueue;
use crate::tag_code::TagCodeHook;

/// Byte offset of the tag code in an entry.
const TAG_CODE_AT: u64 = 12;

/// One ConsumeQueue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqEntry {
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub size: i32,
    pub tags_code: i64,
}

fn decode_entry(bytes: &[u8], queue_offset: i64) -> CqEntry {
    let mut a = [0u8; 8];
    a.copy_from_slice(&bytes[0..8]);
    let physical_offset = i64::from_be_bytes(a);
    let size = i32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    a.copy_from_slice(&bytes[12..20]);
    CqEntry {
        queue_offset,
        physical_offset,
        size,
        tags_code: i64::from_be_bytes(a),
    }
}

/// What happened to a dispatched entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CqPut {
    Written,
    /// Already present (re-dispatch after recovery).
    AlreadyPresent,
}

pub struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    files: MappedFileQueue,
    /// Byte position of the first entry that may be read (raised by retention).
    min_logic_position: AtomicU64,
}

impl std::fmt::Debug for ConsumeQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumeQueue")
            .field("topic", &self.topic)
            .field("queue_id", &self.queue_id)
            .finish()
    }
}

impl ConsumeQueue {
    fn new(
        topic: String,
        queue_id: i32,
        dir: PathBuf,
        file_size: u64,
        files: Vec<MappedFile>,
    ) -> Self {
        let min = files.first().map(|f| f.file_from_offset()).unwrap_or(0);
        Self {
            topic,
            queue_id,
            files: MappedFileQueue::new(dir, file_size, files),
            min_logic_position: AtomicU64::new(min),
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }
    pub fn queue_id(&self) -> i32 {
        self.queue_id
    }

    /// Smallest readable queue offset.
    pub fn min_offset(&self) -> i64 {
        let first = self.files.min_offset().unwrap_or(0);
        (self.min_logic_position.load(Ordering::Acquire).max(first) / ENTRY) as i64
    }

    /// One past the largest dispatched queue offset.
    pub fn max_offset(&self) -> i64 {
        (self.files.max_offset().unwrap_or(0) / ENTRY) as i64
    }

    /// Adds the entry for queue offset `queue_offset`. Only the dispatcher calls this.
    pub fn put(
        &self,
        queue_offset: i64,
        physical_offset: i64,
        size: i32,
        tags_code: i64,
        faults: &dyn FaultInjector,
    ) -> std::io::Result<CqPut> {
        let position = queue_offset as u64 * ENTRY;
        let file_size = self.files.file_size();
        if let Some(max) = self.files.max_offset() {
            if position < max {
                return Ok(CqPut::AlreadyPresent);
            }
            if position > max {
                tracing::warn!(topic = %self.topic, queue_id = self.queue_id, expected = max / ENTRY, got = queue_offset,
                    "ConsumeQueue gap; entries in between stay empty");
            }
        }
        // Make sure the segment holding `position` exists (and any between, for a gap).
        let file = loop {
            match self.files.last() {
                Some(last) if last.file_from_offset() + file_size > position => break last,
                Some(last) => {
                    // Seal the last segment (entries not written stay zero) and add the next.
                    last.publish(file_size);
                    let next = self
                        .files
                        .create(last.file_from_offset() + file_size, faults)?;
                    self.files.push(next);
                }
                None => {
                    let from = position / file_size * file_size;
                    let file = self.files.create(from, faults)?;
                    self.min_logic_position.store(position, Ordering::Release);
                    self.files.push(file);
                }
            }
        };
        let rel = position - file.file_from_offset();
        let mut entry = [0u8; ENTRY as usize];
        entry[0..8].copy_from_slice(&physical_offset.to_be_bytes());
        entry[8..12].copy_from_slice(&size.to_be_bytes());
        entry[12..20].copy_from_slice(&tags_code.to_be_bytes());
        if rel < file.wrote_position() {
            return Ok(CqPut::AlreadyPresent);
        }
        // SAFETY: the dispatcher is the single writer of ConsumeQueues, and `rel` is at or past
        // the published position (bytes in a gap before it are zero: never written, or zeroed
        // by recovery).
        unsafe { file.write_unpublished(rel, &entry[..]) };
        file.publish(rel + ENTRY);
        Ok(CqPut::Written)
    }

    /// Up to `max_count` published entries from `queue_offset`, within one segment (callers
    /// loop for more). Empty entries (gaps) are returned with size 0.
    pub fn entries(&self, queue_offset: i64, max_count: usize) -> Vec<CqEntry> {
        if queue_offset < self.min_offset() {
            return Vec::new();
        }
        let position = queue_offset as u64 * ENTRY;
        let Some(file) = self.files.find(position) else {
            return Vec::new();
        };
        let rel = position - file.file_from_offset();
        let available = (file.wrote_position().saturating_sub(rel) / ENTRY) as usize;
        let count = available.min(max_count);
        let Some(bytes) = file.read(rel, count as u64 * ENTRY) else {
            return Vec::new();
        };
        bytes
            .chunks_exact(ENTRY as usize)
            .enumerate()
            .map(|(i, chunk)| decode_entry(chunk, queue_offset + i as i64))
            .collect()
    }

    /// The entry at `queue_offset`, if dispatched and not removed.
    pub fn entry(&self, queue_offset: i64) -> Option<CqEntry> {
        self.entries(queue_offset, 1).into_iter().next()
    }

    pub fn flush(&self, faults: &dyn FaultInjector) -> std::io::Result<()> {
        self.files.flush(faults).map(|_| ())
    }

    /// Retention: deletes segments whose every entry points below `commit_log_min_offset`
    /// (never the last segment), then moves the readable minimum past such entries.
    pub fn delete_expired(&self, commit_log_min_offset: i64) -> usize {
        let files = self.files.snapshot();
        let mut expired = 0;
        for file in files.iter().take(files.len().saturating_sub(1)) {
            let wrote = file.wrote_position();
            let last = if wrote >= ENTRY {
                file.read(wrote - ENTRY, ENTRY).map(|b| decode_entry(b, 0))
            } else {
                None
            };
            match last {
                Some(e)
                    if e.size > 0
                        && e.physical_offset + i64::from(e.size) <= commit_log_min_offset =>
                {
                    expired += 1
                }
                None => expired += 1,
                _ => break,
            }
        }
        if expired > 0 {
            self.files.remove_first(expired);
        }
        self.correct_min_offset(commit_log_min_offset);
        expired
    }

    /// Raises the readable minimum to the first entry pointing at or after `commit_log_min_offset`.
    pub fn correct_min_offset(&self, commit_log_min_offset: i64) {
        let Some(first) = self.files.first() else {
            return;
        };
        let start = self
            .min_logic_position
            .load(Ordering::Acquire)
            .max(first.file_from_offset());
        let rel = start - first.file_from_offset();
        let wrote = first.wrote_position();
        let Some(bytes) = first.read(rel, wrote.saturating_sub(rel) / ENTRY * ENTRY) else {
            return;
        };
        let skip = bytes
            .chunks_exact(ENTRY as usize)
            .take_while(|c| {
                let e = decode_entry(c, 0);
                e.size <= 0 || e.physical_offset < commit_log_min_offset
            })
            .count() as u64;
        if skip > 0 {
            self.min_logic_position
                .store(start + skip * ENTRY, Ordering::Release);
        }
    }

    /// Deletes the queue's files (topic deletion).
    pub fn destroy(&self) {
        let n = self.files.len();
        self.files.remove_first(n);
        let _ = std::fs::remove_dir(self.files.dir());
    }
}

/// Recovers one ConsumeQueue: finds its last entry and drops entries that point at or past
/// `commit_log_end` (they describe records recovery cut off).
fn recover_queue(mut files: Vec<MappedFile>, commit_log_end: u64) -> Result<Vec<MappedFile>> {
    let Some(file_size) = files.first().map(|f| f.file_size()) else {
        return Ok(files);
    };
    let count = files.len();
    for (i, file) in files.iter_mut().enumerate() {
        if i + 1 < count {
            file.set_positions(file_size);
        }
    }
    // Walk back from the end of the last segment(s) to the last entry that is non-empty and
    // within the CommitLog.
    while let Some(mut file) = files.pop() {
        let mut keep_to = 0;
        let mut dirty_tail = false;
        let mut at = file_size;
        while at >= ENTRY {
            let Some(bytes) = file.read_raw(at - ENTRY, ENTRY) else {
                break;
            };
            let e = decode_entry(bytes, 0);
            let is_empty = e.physical_offset == 0 && e.size == 0 && e.tags_code == 0;
            let past_end = !is_empty
                && (e.size <= 0 || (e.physical_offset as u64 + e.size as u64) > commit_log_end);
            if !is_empty && !past_end {
                keep_to = at;
                break;
            }
            dirty_tail |= past_end;
            at -= ENTRY;
        }
        if keep_to == 0 && !files.is_empty() {
            file.delete()
                .map_err(|e| StoreError::io(format!("deleting {}", file.path().display()), e))?;
            continue;
        }
        if dirty_tail {
            file.truncate_to(keep_to)
                .map_err(|e| StoreError::io(format!("truncating {}", file.path().display()), e))?;
        } else {
            file.set_positions(keep_to);
        }
        files.push(file);
        break;
    }
    Ok(files)
}

/// What re-deriving tag codes needs: the recovered CommitLog and the hook that decides them.
#[derive(Clone, Copy)]
pub struct Retag<'a> {
    pub commit_log: &'a MappedFileQueue,
    pub hook: &'a dyn TagCodeHook,
    /// Every queue, not only those of the hook's topics: RocketMQ's ConsumeQueue extensions
    /// (`enableConsumeQueueExt`) replace tag codes with addresses into `consumequeue_ext/`.
    pub all_topics: bool,
}

impl Retag<'_> {
    fn applies_to(&self, topic: &str) -> bool {
        self.all_topics || self.hook.topics().contains(&topic)
    }

    /// The tag code the dispatcher would write for `view`.
    fn tag_code(&self, view: &RecordView<'_>) -> i64 {
        self.hook.tag_code(view).unwrap_or_else(|| {
            properties::find(view.properties(), properties::TAGS)
                .ok()
                .flatten()
                .map(tag_hash_code)
                .unwrap_or(0)
        })
    }
}

/// Re-derives the tag code of every entry of one queue whose record is still in the CommitLog;
/// returns how many changed. Entries whose record retention removed are left as they are.
fn retag_queue(
    files: &mut [MappedFile],
    topic: &str,
    queue_id: i32,
    retag: Retag<'_>,
) -> Result<u64> {
    let mut changed = 0;
    for file in files.iter_mut() {
        let mut rel = 0;
        while rel + ENTRY <= file.wrote_position() {
            let queue_offset = ((file.file_from_offset() + rel) / ENTRY) as i64;
            let Some(bytes) = file.read(rel, ENTRY) else {
                break;
            };
            let e = decode_entry(bytes, queue_offset);
            rel += ENTRY;
            if e.size <= 0 || e.physical_offset < 0 {
                continue; // an empty slot (gap)
            }
            let Some(segment) = retag.commit_log.find(e.physical_offset as u64) else {
                continue; // removed by retention
            };
            let Some(record) = segment.read(
                e.physical_offset as u64 - segment.file_from_offset(),
                e.size as u64,
            ) else {
                continue;
            };
            let mismatch = |what: String| StoreError::Corrupt {
                path: file.path().to_path_buf(),
                reason: format!(
                    "entry {queue_offset} points at CommitLog offset {} ({} bytes), {what}. \
                     ConsumeQueues are derived data: move consumequeue/{topic} out of the store \
                     and start again to rebuild it from the CommitLog",
                    e.physical_offset, e.size
                ),
            };
            let view = RecordView::parse(record)
                .map_err(|err| mismatch(format!("which is not a record ({err})")))?;
            if view.topic() != topic
                || view.queue_id() != queue_id
                || view.queue_offset() != queue_offset
            {
                return Err(mismatch(format!(
                    "which holds {}/{} offset {}",
                    view.topic(),
                    view.queue_id(),
                    view.queue_offset()
                )));
            }
            let code = retag.tag_code(&view);
            if code != e.tags_code {
                file.overwrite(rel - ENTRY + TAG_CODE_AT, &code.to_be_bytes());
                changed += 1;
            }
        }
    }
    Ok(changed)
}

/// All ConsumeQueues, by topic and queue id.
pub struct ConsumeQueueTable {
    root: PathBuf,
    file_size: u64,
    queues: RwLock<HashMap<String, HashMap<i32, Arc<ConsumeQueue>>>>,
}

impl ConsumeQueueTable {
    /// Loads and recovers every ConsumeQueue under `root` against the recovered CommitLog end;
    /// with `retag`, first re-derives the tag codes of the hook's topics (see [`Retag`]).
    pub fn load(
        root: &Path,
        file_size: u64,
        commit_log_end: u64,
        retag: Option<Retag<'_>>,
    ) -> Result<Self> {
        std::fs::create_dir_all(root)
            .map_err(|e| StoreError::io(format!("creating {}", root.display()), e))?;
        let mut queues: HashMap<String, HashMap<i32, Arc<ConsumeQueue>>> = HashMap::new();
        let list = |dir: &Path| -> Result<Vec<(String, PathBuf)>> {
            let mut out = Vec::new();
            for entry in std::fs::read_dir(dir)
                .map_err(|e| StoreError::io(format!("listing {}", dir.display()), e))?
            {
                let entry =
                    entry.map_err(|e| StoreError::io(format!("listing {}", dir.display()), e))?;
                if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    if let Some(name) = entry.file_name().to_str() {
                        out.push((name.to_string(), entry.path()));
                    }
                }
            }
            Ok(out)
        };
        for (topic, topic_dir) in list(root)? {
            for (queue_name, queue_dir) in list(&topic_dir)? {
                let Ok(queue_id) = queue_name.parse::<i32>() else {
                    tracing::warn!(path = %queue_dir.display(), "ignoring a ConsumeQueue directory that is not a queue id");
                    continue;
                };
                let loaded = MappedFileQueue::load(&queue_dir, file_size)?;
                let mut files = recover_queue(loaded.files, commit_log_end)?;
                if let Some(retag) = retag.filter(|r| r.applies_to(&topic)) {
                    let changed = retag_queue(&mut files, &topic, queue_id, retag)?;
                    if changed > 0 {
                        tracing::info!(
                            topic,
                            queue_id,
                            changed,
                            "re-derived ConsumeQueue tag codes another broker wrote"
                        );
                    }
                }
                if let Some(last) = files.last() {
                    last.allocate_blocks()
                        .map_err(|e| StoreError::io("preparing a ConsumeQueue", e))?;
                }
                let cq = ConsumeQueue::new(topic.clone(), queue_id, queue_dir, file_size, files);
                queues
                    .entry(topic.clone())
                    .or_default()
                    .insert(queue_id, Arc::new(cq));
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
            file_size,
            queues: RwLock::new(queues),
        })
    }

    pub fn get(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.queues.read().get(topic)?.get(&queue_id).cloned()
    }

    /// The queue for `topic`/`queue_id`, created (empty, no files yet) if new.
    pub fn get_or_create(&self, topic: &str, queue_id: i32) -> Arc<ConsumeQueue> {
        if let Some(cq) = self.get(topic, queue_id) {
            return cq;
        }
        let mut queues = self.queues.write();
        let per_topic = queues.entry(topic.to_string()).or_default();
        Arc::clone(per_topic.entry(queue_id).or_insert_with(|| {
            let dir = self.root.join(topic).join(queue_id.to_string());
            Arc::new(ConsumeQueue::new(
                topic.to_string(),
                queue_id,
                dir,
                self.file_size,
                Vec::new(),
            ))
        }))
    }

    pub fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        self.queues
            .read()
            .values()
            .flat_map(|q| q.values().cloned())
            .collect()
    }

    pub fn topics(&self) -> Vec<String> {
        self.queues.read().keys().cloned().collect()
    }

    pub fn queue_ids(&self, topic: &str) -> Vec<i32> {
        let mut ids: Vec<i32> = self
            .queues
            .read()
            .get(topic)
            .map(|q| q.keys().copied().collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    pub fn is_empty(&self) -> bool {
        self.queues.read().is_empty()
    }

    /// Removes a topic's queues and files.
    pub fn remove_topic(&self, topic: &str) {
        let removed = self.queues.write().remove(topic);
        if let Some(queues) = removed {
            for cq in queues.values() {
                cq.destroy();
            }
            let _ = std::fs::remove_dir(self.root.join(topic));
        }
    }

    /// The queue offset the next record of each queue will get, from the dispatched entries.
    pub fn max_offsets(&self) -> HashMap<String, HashMap<i32, i64>> {
        self.queues
            .read()
            .iter()
            .map(|(topic, qs)| {
                (
                    topic.clone(),
                    qs.iter().map(|(id, cq)| (*id, cq.max_offset())).collect(),
                )
            })
            .collect()
    }
}
