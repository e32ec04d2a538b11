//! The dispatcher (RocketMQ's `ReputMessageService`): follows the CommitLog and turns each
//! record into a ConsumeQueue entry and IndexFile keys, then tells arrival listeners (the
//! broker's long polling) which queues grew.
//!
//! It reads only up to the *dispatch bound*: the flushed offset under SYNC_FLUSH, the written
//! offset under ASYNC_FLUSH. So under SYNC_FLUSH a consumer never sees a message that a crash
//! could still take back. Appends (and, under SYNC_FLUSH, flushes) wake the dispatcher with
//! `unpark`; an idle dispatcher sleeps in `park`, so visibility costs one thread wake-up.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::Thread;
use std::time::Duration;

use parking_lot::Mutex;
use petrel_protocol::message::{properties, tag_hash_code, PropertiesIter, RecordView};

use crate::commit_log::{takes_queue_offset, RecordAt};
use crate::error::DispatchError;
use crate::store::StoreInner;
use crate::tag_code::TagCodeHook;

/// Records handled before progress is published and listeners are told, so that a long
/// backlog does not delay visibility of its first records.
const DISPATCH_BATCH_RECORDS: usize = 1024;

/// A queue grew: `max_offset` is now one past its newest message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    pub topic: String,
    pub queue_id: i32,
    pub max_offset: i64,
    /// Tag hash code of the newest message.
    pub tags_code: i64,
    pub store_timestamp: i64,
}

/// Something that wants to know when queues grow (the broker's long-polling service).
pub type ArrivalListener = Arc<dyn Fn(&[Arrival]) + Send + Sync>;

/// Wake-up plumbing between appenders and the dispatcher thread.
#[derive(Default)]
pub struct DispatchSignal {
    pending: AtomicBool,
    thread: Mutex<Option<Thread>>,
}

impl DispatchSignal {
    pub fn set_thread(&self, thread: Thread) {
        *self.thread.lock() = Some(thread);
    }

    /// Called after every append (and flush under SYNC_FLUSH).
    pub fn wake(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            if let Some(t) = self.thread.lock().as_ref() {
                t.unpark();
            }
        }
    }

    fn sleep(&self, timeout: Duration) {
        if !self.pending.swap(false, Ordering::AcqRel) {
            std::thread::park_timeout(timeout);
            self.pending.store(false, Ordering::Release);
        }
    }
}

/// Where the dispatcher is.
#[derive(Debug)]
pub struct DispatchProgress {
    /// Every record before this offset has been dispatched.
    pub dispatched: AtomicU64,
    /// The same offset, for waiters ([`crate::MessageStore::wait_dispatched`]).
    progress_tx: tokio::sync::watch::Sender<u64>,
}

impl DispatchProgress {
    pub fn new(dispatched: u64) -> Self {
        Self {
            dispatched: AtomicU64::new(dispatched),
            progress_tx: tokio::sync::watch::Sender::new(dispatched),
        }
    }

    /// Records that every record before `offset` is dispatched.
    fn advance(&self, offset: u64) {
        self.dispatched.store(offset, Ordering::Release);
        self.progress_tx.send_if_modified(|at| {
            let moved = *at != offset;
            *at = offset;
            moved
        });
    }

    /// Waits until every record before `offset` is dispatched, or `timeout` passes; returns
    /// whether it is.
    pub async fn wait_for(&self, offset: u64, timeout: std::time::Duration) -> bool {
        if self.dispatched.load(Ordering::Acquire) >= offset {
            return true;
        }
        let mut rx = self.progress_tx.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|at| *at >= offset))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

/// Parsed dispatch facts of one record.
struct DispatchFacts<'a> {
    tags_code: i64,
    keys: Vec<&'a str>,
}

/// The ConsumeQueue tag code and index keys of a record: the tags hash unless the configured
/// [`TagCodeHook`](crate::tag_code::TagCodeHook) gives the record another code.
fn facts<'a>(view: &RecordView<'a>, hook: &dyn TagCodeHook) -> DispatchFacts<'a> {
    let mut tags_code = 0;
    let mut keys = Vec::new();
    if let Ok(iter) = PropertiesIter::new(view.properties()) {
        for (k, v) in iter {
            match k {
                properties::TAGS => tags_code = tag_hash_code(v),
                properties::KEYS => keys.extend(v.split(' ').filter(|k| !k.is_empty())),
                properties::UNIQ_CLIENT_MESSAGE_ID_KEYIDX => keys.push(v),
                _ => {}
            }
        }
    }
    if let Some(code) = hook.tag_code(view) {
        tags_code = code;
    }
    DispatchFacts { tags_code, keys }
}

/// Dispatches one record; returns the arrival it causes (if it joined a ConsumeQueue).
fn dispatch_record(
    inner: &StoreInner,
    bytes: &[u8],
    offset: u64,
) -> Result<Option<Arrival>, DispatchError> {
    let view =
        RecordView::parse(bytes).map_err(|source| DispatchError::Record { offset, source })?;
    let facts = facts(&view, &*inner.config.tag_code_hook);
    let faults = &*inner.config.faults;
    let sys_flag = view.sys_flag();
    let mut arrival = None;
    if takes_queue_offset(sys_flag) {
        let cq = inner
            .consume_queues
            .get_or_create(view.topic(), view.queue_id());
        cq.put(
            view.queue_offset(),
            offset as i64,
            view.total_size() as i32,
            facts.tags_code,
            faults,
        )
        .map_err(|source| DispatchError::ConsumeQueue {
            topic: view.topic().to_string(),
            queue_id: view.queue_id(),
            source,
        })?;
        arrival = Some(Arrival {
            topic: view.topic().to_string(),
            queue_id: view.queue_id(),
            max_offset: view.queue_offset() + 1,
            tags_code: facts.tags_code,
            store_timestamp: view.store_timestamp(),
        });
    }
    let rollback = petrel_protocol::message::sys_flag::transaction_type(sys_flag)
        == petrel_protocol::message::sys_flag::TRANSACTION_ROLLBACK_TYPE;
    if let Some(index) = &inner.index {
        if !rollback {
            index
                .put(
                    view.topic(),
                    &facts.keys,
                    offset as i64,
                    view.store_timestamp(),
                    faults,
                )
                .map_err(DispatchError::IndexFile)?;
        }
    }
    Ok(arrival)
}

/// Dispatches from the current position up to `bound`, at most `max_records` records.
/// Returns the arrivals (one per queue, newest) and whether the bound was reached.
pub(crate) fn dispatch_some(
    inner: &StoreInner,
    bound: u64,
    max_records: usize,
) -> Result<(Vec<Arrival>, bool), DispatchError> {
    let mut offset = inner.dispatch.dispatched.load(Ordering::Acquire);
    let mut arrivals: Vec<Arrival> = Vec::new();
    let mut done = 0;
    let caught_up = loop {
        if offset >= bound {
            break true;
        }
        if done >= max_records {
            break false;
        }
        match inner.commit_log.record_at(offset)? {
            RecordAt::Message(bytes) => {
                if let Some(a) = dispatch_record(inner, &bytes, offset)? {
                    match arrivals.last_mut() {
                        Some(last) if last.topic == a.topic && last.queue_id == a.queue_id => {
                            *last = a
                        }
                        _ => arrivals.push(a),
                    }
                }
                offset += bytes.len() as u64;
                done += 1;
            }
            RecordAt::Blank { next_offset } => offset = next_offset,
            RecordAt::NotYet => break true,
        }
    };
    inner.dispatch.advance(offset);
    // Several runs for one queue: keep only its newest arrival.
    if arrivals.len() > 1 {
        arrivals.sort_by(|a, b| {
            (&a.topic, a.queue_id, a.max_offset).cmp(&(&b.topic, b.queue_id, b.max_offset))
        });
        arrivals.dedup_by(|later, earlier| {
            if later.topic == earlier.topic && later.queue_id == earlier.queue_id {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
    }
    Ok((arrivals, caught_up))
}

/// The dispatcher thread.
pub(crate) fn run(inner: Arc<StoreInner>) {
    loop {
        let stopping = inner.stopping.load(Ordering::Acquire);
        let bound = inner.dispatch_bound();
        match dispatch_some(&inner, bound, DISPATCH_BATCH_RECORDS) {
            Ok((arrivals, caught_up)) => {
                if !arrivals.is_empty() {
                    inner.notify_arrivals(&arrivals);
                }
                if caught_up {
                    if stopping {
                        return;
                    }
                    inner.dispatch_signal.sleep(Duration::from_millis(1000));
                }
            }
            Err(reason) => {
                inner.poison(format!("dispatch failed: {reason}"));
                return;
            }
        }
    }
}
