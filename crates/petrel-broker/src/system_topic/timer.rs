//! Timer messages (RocketMQ 5.x): delivery at any time up to `timerMaxDelaySec` ahead, given
//! as `TIMER_DELIVER_MS` (epoch ms), `TIMER_DELAY_SEC` or `TIMER_DELAY_MS`.
//!
//! A timer message is stored durably in `rmq_sys_wheel_timer` with its destination in
//! `REAL_TOPIC`/`REAL_QID` and its due time in `TIMER_OUT_MS` (which the store records as the
//! ConsumeQueue tag code). One task then does two things in turn:
//! - **index**: follows that queue and adds each timer to the store's [`TimerIndex`] (an
//!   on-disk log chained by one-second window, and a fixed-size in-memory wheel: memory does
//!   not grow with the number of pending timers);
//! - **deliver**: takes the current window's timers in due order and re-puts each to its real
//!   topic at its due millisecond, then moves to the next window. Timers that arrive for a
//!   window already passed are delivered at once.
//!
//! When a timer is due is read from its properties by [`TimerProperties::due_ms`]; the send
//! path (`processor::destination`) decides with it whether a message waits here.
//!
//! A checkpoint (`config/timerCheckpoint.json`: queue offset indexed, TimerLog end, current
//! window) is written a few times a second after the TimerLog is flushed and the deliveries
//! are durable. After a restart the log is cut back to the checkpoint, the timers after it are
//! indexed again, and the window in progress resumes after the timers the checkpoint counted
//! as delivered: no timer is lost, and only deliveries made after the last checkpoint (at most
//! 200 ms of them) repeat (at least once, like RocketMQ). If a late timer changed the
//! window's order, the count is not trusted and the whole window is delivered again.
//!
//! A store Apache RocketMQ 5.x wrote has no `timerCheckpoint.json` but RocketMQ's own
//! `config/timercheck` ([`RocketMqTimerCheckpoint`]). Its timers are all in
//! `rmq_sys_wheel_timer`, so they are indexed again from the queue's start, except those
//! RocketMQ had indexed and delivered (below its queue offset and due before its read time,
//! [`DeliveredByRocketMq`]). RocketMQ's TimerLog directory, a different format under the name
//! Petrel uses, is moved aside to `timerlog.apache-rocketmq` (kept, never read).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use petrel_protocol::message::properties;
use petrel_protocol::topic::TIMER_TOPIC;
use petrel_store::timer::{
    RocketMqTimerCheckpoint, RocketMqTimerCheckpointError, TimerEntry, TimerIndex,
};
use petrel_store::MessageStore;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};

use crate::clock::now_ms;
use crate::config_file::{ConfigFile, ConfigFileError};
use crate::message::{OwnedMessage, PropertyEdit};

/// Timer precision: the width of a wheel window (RocketMQ's `timerPrecisionMs` default).
pub const TIMER_PRECISION_MS: i64 = 1_000;
/// TimerLog segment size (1 Mi entries of 32 bytes).
const TIMER_LOG_SEGMENT_BYTES: u64 = 32 * 1024 * 1024;
/// How often the checkpoint is written while something changes.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);
/// Timers indexed per round before delivering again (keeps deliveries timely under a burst).
const INDEX_BATCH: usize = 4_096;

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
struct TimerCheckpoint {
    /// Next queue offset of `rmq_sys_wheel_timer` to index.
    enqueue_offset: i64,
    /// TimerLog bytes vouched for (flushed, and matching `enqueue_offset`).
    log_end: u64,
    /// Start of the window being delivered; every earlier window is delivered.
    current_window_ms: i64,
    /// How many of that window's timers (in due order, ties by TimerLog position) are
    /// delivered; 0 when a late timer made the order differ from a reload's.
    delivered_in_window: u64,
    /// Timers Apache RocketMQ delivered before the store was opened by Petrel; kept until the
    /// index has passed them.
    #[serde(skip_serializing_if = "Option::is_none")]
    delivered_by_rocketmq: Option<DeliveredByRocketMq>,
}

/// The timers of `rmq_sys_wheel_timer` that Apache RocketMQ delivered before Petrel opened its
/// store: those it had indexed (queue offset below `below_queue_offset`) and that were due
/// before the window it was reading (`before_ms`). Indexing skips them.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct DeliveredByRocketMq {
    pub below_queue_offset: i64,
    pub before_ms: i64,
}

impl DeliveredByRocketMq {
    fn from_checkpoint(cp: &RocketMqTimerCheckpoint) -> Self {
        Self {
            below_queue_offset: cp.indexed_below(),
            before_ms: cp.last_read_time_ms,
        }
    }

    /// Whether the timer at `queue_offset`, due at `due_ms`, was delivered by RocketMQ.
    pub fn delivered(&self, queue_offset: i64, due_ms: i64) -> bool {
        queue_offset < self.below_queue_offset && due_ms < self.before_ms
    }
}

/// Where RocketMQ keeps its timer checkpoint, under `storePathRootDir`.
const ROCKETMQ_TIMER_CHECKPOINT: &str = "config/timercheck";
/// RocketMQ's TimerLog directory: the name of Petrel's own.
const TIMER_LOG_DIR: &str = "timerlog";
/// Where RocketMQ's TimerLog is moved so that Petrel's can take its name.
const ROCKETMQ_TIMER_LOG_SET_ASIDE: &str = "timerlog.apache-rocketmq";

struct State {
    index: TimerIndex,
    enqueue_offset: i64,
    current_window: i64,
    /// The current window's undelivered timers, in due order; `None` until loaded.
    current: Option<VecDeque<TimerEntry>>,
    /// Timers of the current window delivered so far, and the due time of the last one.
    delivered_in_window: u64,
    last_delivered_due: i64,
    /// A timer arrived for the current window due before one already delivered: a reload
    /// would order the window differently, so the count above cannot be trusted.
    reordered: bool,
    /// Timers of the current window to skip when it is first loaded (from the checkpoint).
    skip_on_load: u64,
    /// Timers Apache RocketMQ delivered, skipped while indexing (a store it wrote).
    delivered_by_rocketmq: Option<DeliveredByRocketMq>,
    /// CommitLog end of the last delivery (0: none yet), for the checkpoint to wait on.
    delivered_end: u64,
    dirty: bool,
}

/// Why the timer service could not start.
#[derive(Debug, thiserror::Error)]
pub enum TimerOpenError {
    #[error(transparent)]
    Checkpoint(#[from] ConfigFileError),
    #[error(transparent)]
    Index(petrel_store::StoreError),
    #[error(transparent)]
    RocketMqCheckpoint(#[from] RocketMqTimerCheckpointError),
    #[error("moving Apache RocketMQ's timer log {} aside to {}: {source}", from.display(), to.display())]
    SetAside {
        from: std::path::PathBuf,
        to: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The first checkpoint of a store Apache RocketMQ wrote (it has `config/timercheck`), or
/// `None` for any other store. RocketMQ's TimerLog is moved aside first, so that Petrel's can
/// be created under its name; a TimerLog found while the set-aside copy exists is Petrel's
/// (from a start that stopped before its first checkpoint) and is rebuilt.
fn checkpoint_from_rocketmq(
    broker_root: &std::path::Path,
    min_queue_offset: i64,
    now: i64,
) -> Result<Option<TimerCheckpoint>, TimerOpenError> {
    let Some(rocketmq) =
        RocketMqTimerCheckpoint::load(&broker_root.join(ROCKETMQ_TIMER_CHECKPOINT))?
    else {
        return Ok(None);
    };
    let (log, aside) = (
        broker_root.join(TIMER_LOG_DIR),
        broker_root.join(ROCKETMQ_TIMER_LOG_SET_ASIDE),
    );
    if log.exists() && !aside.exists() {
        std::fs::rename(&log, &aside).map_err(|source| TimerOpenError::SetAside {
            from: log.clone(),
            to: aside.clone(),
            source,
        })?;
        tracing::info!(from = %log.display(), to = %aside.display(),
            "moved Apache RocketMQ's timer log aside (Petrel does not read it; delete it once the migration is done)");
    }
    let delivered = DeliveredByRocketMq::from_checkpoint(&rocketmq);
    tracing::info!(
        below_queue_offset = delivered.below_queue_offset,
        before_ms = delivered.before_ms,
        "timers of a store Apache RocketMQ wrote: indexing rmq_sys_wheel_timer again, skipping those it delivered"
    );
    Ok(Some(TimerCheckpoint {
        enqueue_offset: min_queue_offset,
        log_end: 0,
        current_window_ms: now.div_euclid(TIMER_PRECISION_MS) * TIMER_PRECISION_MS,
        delivered_in_window: 0,
        delivered_by_rocketmq: Some(delivered),
    }))
}

pub struct TimerService {
    state: Mutex<State>,
    file: ConfigFile,
    wake: Notify,
    max_delay_ms: i64,
    /// Timers taken from `rmq_sys_wheel_timer` since the broker started (`timerEnqueueTps`).
    enqueued_total: AtomicU64,
    /// Timers delivered to their real topic since the broker started (`timerDequeueTps`).
    dequeued_total: AtomicU64,
}

/// Runtime info's timer figures (`TimerMessageStore`'s `getDequeueBehind`,
/// `getEnqueueBehindMessages`, `getAllCongestNum`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerFigures {
    /// `timerReadBehind`: seconds the window being delivered lags the clock.
    pub read_behind_s: i64,
    /// `timerOffsetBehind`: timer messages stored but not yet indexed.
    pub offset_behind: i64,
    /// `timerCongestNum`: timers indexed and waiting for their time.
    pub congest_num: u64,
}

/// The timer properties of a message, as sent (`None`: absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerProperties<'a> {
    /// `TIMER_DELIVER_MS`: epoch ms.
    pub deliver_ms: Option<&'a str>,
    /// `TIMER_DELAY_SEC`: seconds from now.
    pub delay_sec: Option<&'a str>,
    /// `TIMER_DELAY_MS`: ms from now.
    pub delay_ms: Option<&'a str>,
}

/// A timer property that is not an integer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}={value:?} is not an integer")]
pub struct TimerPropertyError {
    pub name: &'static str,
    pub value: String,
}

impl TimerProperties<'_> {
    pub fn is_timer(&self) -> bool {
        self.deliver_ms.is_some() || self.delay_sec.is_some() || self.delay_ms.is_some()
    }

    /// When the message asks to be delivered (`TIMER_DELIVER_MS` first, then
    /// `TIMER_DELAY_SEC`, then `TIMER_DELAY_MS`, as RocketMQ reads them); `None` if it is not
    /// a timer message.
    pub fn due_ms(&self, now_ms: i64) -> Option<Result<i64, TimerPropertyError>> {
        let parse = |name: &'static str, value: &str| {
            value.trim().parse::<i64>().map_err(|_| TimerPropertyError {
                name,
                value: value.to_string(),
            })
        };
        if let Some(v) = self.deliver_ms {
            return Some(parse(properties::TIMER_DELIVER_MS, v));
        }
        if let Some(v) = self.delay_sec {
            return Some(
                parse(properties::TIMER_DELAY_SEC, v)
                    .map(|s| now_ms.saturating_add(s.saturating_mul(1000))),
            );
        }
        self.delay_ms
            .map(|v| parse(properties::TIMER_DELAY_MS, v).map(|ms| now_ms.saturating_add(ms)))
    }
}

impl TimerService {
    pub fn open(
        broker_root: &std::path::Path,
        max_delay_seconds: u64,
        store: &petrel_store::MessageStore,
    ) -> Result<Self, TimerOpenError> {
        let file = ConfigFile::new(&broker_root.join("config"), "timerCheckpoint.json");
        let checkpoint: Option<TimerCheckpoint> = file.load()?;
        let now = now_ms();
        let min_queue_offset = store.get_min_offset_in_queue(TIMER_TOPIC, 0);
        let checkpoint = match checkpoint {
            Some(cp) => cp,
            None => checkpoint_from_rocketmq(broker_root, min_queue_offset, now)?.unwrap_or(
                TimerCheckpoint {
                    enqueue_offset: min_queue_offset,
                    log_end: 0,
                    current_window_ms: now.div_euclid(TIMER_PRECISION_MS) * TIMER_PRECISION_MS,
                    delivered_in_window: 0,
                    delivered_by_rocketmq: None,
                },
            ),
        };
        let max_delay_ms = (max_delay_seconds as i64)
            .saturating_mul(1000)
            .max(TIMER_PRECISION_MS);
        // Twice the longest delay, so that every pending window has a slot of its own even
        // while a restart catches up.
        let slots = (2 * max_delay_ms / TIMER_PRECISION_MS + 2) as usize;
        let index = TimerIndex::open(
            &broker_root.join("timerlog"),
            TIMER_LOG_SEGMENT_BYTES,
            slots,
            TIMER_PRECISION_MS,
            checkpoint.log_end,
            checkpoint.current_window_ms,
            Arc::new(petrel_store::io::NoFaults),
        )
        .map_err(TimerOpenError::Index)?;
        Ok(Self {
            state: Mutex::new(State {
                index,
                enqueue_offset: checkpoint
                    .enqueue_offset
                    .max(store.get_min_offset_in_queue(TIMER_TOPIC, 0)),
                current_window: checkpoint.current_window_ms,
                current: None,
                delivered_in_window: 0,
                last_delivered_due: i64::MIN,
                reordered: false,
                skip_on_load: checkpoint.delivered_in_window,
                delivered_by_rocketmq: checkpoint.delivered_by_rocketmq,
                delivered_end: 0,
                dirty: true,
            }),
            file,
            wake: Notify::new(),
            max_delay_ms,
            enqueued_total: AtomicU64::new(0),
            dequeued_total: AtomicU64::new(0),
        })
    }

    pub fn max_delay_ms(&self) -> i64 {
        self.max_delay_ms
    }

    /// Timers enqueued (indexed) and dequeued (delivered) since the broker started.
    pub fn counters(&self) -> (u64, u64) {
        (
            self.enqueued_total.load(Ordering::Relaxed),
            self.dequeued_total.load(Ordering::Relaxed),
        )
    }

    /// The timer figures of runtime info at `now_ms`. Counting waiting timers reads one
    /// counter per wheel slot (a few hundred thousand with the default `timerMaxDelaySec`), so
    /// this is for tools, not for every request.
    pub fn figures(&self, store: &MessageStore, now_ms: i64) -> TimerFigures {
        let st = self.state.lock();
        let precision = st.index.precision_ms();
        let slots = st.index.span_ms() / precision;
        let indexed: u64 = (0..slots)
            .map(|i| u64::from(st.index.count(st.current_window + i * precision)))
            .sum();
        TimerFigures {
            read_behind_s: (now_ms - st.current_window).max(0) / 1000,
            offset_behind: (store.get_max_offset_in_queue(TIMER_TOPIC, 0) - st.enqueue_offset)
                .max(0),
            congest_num: indexed.saturating_sub(st.delivered_in_window),
        }
    }

    /// New timer messages were stored.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Takes the state to checkpoint, if it changed: the checkpoint itself, the TimerLog to
    /// flush before it is saved, and the CommitLog end of the deliveries it counts.
    fn checkpoint_snapshot(
        &self,
    ) -> Option<(TimerCheckpoint, petrel_store::timer::TimerLogFlusher, u64)> {
        let mut st = self.state.lock();
        if !st.dirty {
            return None;
        }
        st.dirty = false;
        let cp = TimerCheckpoint {
            enqueue_offset: st.enqueue_offset,
            log_end: st.index.end_position(),
            current_window_ms: st.current_window,
            delivered_in_window: if st.reordered {
                0
            } else {
                st.delivered_in_window
            },
            delivered_by_rocketmq: st.delivered_by_rocketmq,
        };
        Some((cp, st.index.flusher(), st.delivered_end))
    }

    /// Writes a checkpoint if the state changed. Runs beside the delivery loop, so that the
    /// fsyncs it needs never delay a due timer. The checkpoint is saved only once the TimerLog
    /// entries it names and (under SYNC_FLUSH) the deliveries it counts are durable; otherwise
    /// it is retried on the next call.
    async fn checkpoint(&self, store: &petrel_store::MessageStore) {
        let Some((cp, flusher, delivered_end)) = self.checkpoint_snapshot() else {
            return;
        };
        let retry = || self.state.lock().dirty = true;
        let sync_flush = store.config().flush_disk_type == petrel_store::FlushDiskType::SyncFlush;
        if sync_flush && delivered_end > 0 {
            match store.wait_durable(delivered_end).await {
                Ok(petrel_store::PutStatus::PutOk) => {}
                _ => {
                    tracing::warn!("timer deliveries not durable yet; checkpoint postponed");
                    return retry();
                }
            }
        }
        let flushed = tokio::task::spawn_blocking(move || flusher.flush()).await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "could not flush the TimerLog");
                return retry();
            }
            Err(e) => {
                tracing::error!(error = %e, "TimerLog flush task failed");
                return retry();
            }
        }
        if let Err(e) = self.file.save(&cp) {
            tracing::error!(error = %e, "could not save the timer checkpoint");
            retry();
        }
    }
}

/// Where a message waits until `due_ms` before reaching `topic`/`queue_id` (the broker's own
/// timers, e.g. a retry by its group's retry policy): the timer topic, its queue, and the
/// property edits that carry the destination and due time (any delay level is dropped).
pub fn timed(due_ms: i64, topic: &str, queue_id: i32) -> (String, i32, Vec<PropertyEdit>) {
    (
        TIMER_TOPIC.to_string(),
        0,
        vec![
            PropertyEdit::Set(properties::REAL_TOPIC, topic.to_string()),
            PropertyEdit::Set(properties::REAL_QUEUE_ID, queue_id.to_string()),
            PropertyEdit::Set(properties::TIMER_OUT_MS, due_ms.to_string()),
            PropertyEdit::Remove(properties::DELAY_TIME_LEVEL),
        ],
    )
}

/// Turns a due timer message back into the message that was sent.
fn restore(mut msg: OwnedMessage) -> Option<OwnedMessage> {
    msg.topic = msg.properties.get(properties::REAL_TOPIC)?.to_string();
    msg.queue_id = msg
        .properties
        .get(properties::REAL_QUEUE_ID)
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    Some(msg)
}

/// Stores one due timer in its real topic (without waiting for a flush); returns the CommitLog
/// end to wait for, or `None` if it could not be stored now.
fn deliver(
    store: &MessageStore,
    store_host: SocketAddr,
    physical_offset: i64,
    size: i32,
) -> Option<Option<u64>> {
    let Some(record) = store.read_commit_log(physical_offset, size) else {
        return Some(None); // removed by retention: nothing to deliver
    };
    let Some(msg) = OwnedMessage::from_record(&record).ok().and_then(restore) else {
        tracing::warn!(
            physical_offset,
            "timer message without a real topic; skipping it"
        );
        return Some(None);
    };
    let props = msg.properties.encode();
    let to_store = petrel_protocol::message::MessageToStore {
        topic: &msg.topic,
        queue_id: msg.queue_id,
        flag: msg.flag,
        body: &msg.body,
        properties: props.as_bytes(),
        sys_flag: msg.sys_flag,
        born_timestamp: msg.born_timestamp,
        born_host: msg.born_host,
        store_host,
        reconsume_times: msg.reconsume_times,
        prepared_transaction_offset: msg.prepared_transaction_offset,
    };
    match store.append(&[to_store]) {
        Ok(r) => Some(Some(r.end_offset)),
        Err(e) => {
            tracing::warn!(error = %e, "could not deliver a timer message; will retry");
            None
        }
    }
}

enum Next {
    /// More work is ready now.
    Now,
    /// Sleep until this epoch ms (or a new timer arrives).
    At(i64),
    /// Wait for the store to accept writes again.
    Backoff,
}

/// One round of indexing and delivery. Returns when to run again.
fn round(svc: &TimerService, store: &MessageStore, store_host: SocketAddr) -> Next {
    let mut st = svc.state.lock();
    // 1. Index what arrived.
    for _ in 0..INDEX_BATCH {
        let Some(entry) = store.consume_queue_entry(TIMER_TOPIC, 0, st.enqueue_offset) else {
            break;
        };
        if let Some(rocketmq) = st.delivered_by_rocketmq {
            if st.enqueue_offset >= rocketmq.below_queue_offset {
                st.delivered_by_rocketmq = None;
            } else if rocketmq.delivered(st.enqueue_offset, entry.tags_code) {
                st.enqueue_offset += 1;
                st.dirty = true;
                continue;
            }
        }
        let window = st.index.slot_time(entry.tags_code);
        if window < st.current_window {
            // Its window has passed: deliver now.
            match deliver(store, store_host, entry.physical_offset, entry.size) {
                Some(end) => {
                    if let Some(end) = end {
                        st.delivered_end = st.delivered_end.max(end);
                    }
                    svc.dequeued_total.fetch_add(1, Ordering::Relaxed);
                }
                None => return Next::Backoff,
            }
        } else if window >= st.current_window + st.index.span_ms() - TIMER_PRECISION_MS {
            // Beyond the wheel (only while catching up after a long stop): wait for it to turn.
            break;
        } else {
            if let Err(e) = st
                .index
                .add(entry.tags_code, entry.physical_offset, entry.size)
            {
                tracing::error!(error = %e, "could not write the TimerLog");
                return Next::Backoff;
            }
            if window == st.current_window {
                if entry.tags_code < st.last_delivered_due {
                    st.reordered = true;
                }
                if let Some(current) = st.current.as_mut() {
                    let pos = current.partition_point(|e| e.due_ms <= entry.tags_code);
                    current.insert(
                        pos,
                        TimerEntry {
                            position: 0,
                            due_ms: entry.tags_code,
                            physical_offset: entry.physical_offset,
                            size: entry.size,
                        },
                    );
                }
            }
        }
        st.enqueue_offset += 1;
        st.dirty = true;
        svc.enqueued_total.fetch_add(1, Ordering::Relaxed);
    }
    let more_to_index = store
        .consume_queue_entry(TIMER_TOPIC, 0, st.enqueue_offset)
        .is_some();

    // 2. Deliver what is due in the current window.
    let now = now_ms();
    if now < st.current_window {
        return if more_to_index {
            Next::Now
        } else {
            Next::At(st.current_window)
        };
    }
    if st.current.is_none() {
        let window = st.current_window;
        let mut entries = st.index.entries(window);
        // Timers the checkpoint says were delivered before a restart.
        let skip = (st.skip_on_load as usize).min(entries.len());
        entries.drain(..skip);
        st.delivered_in_window = skip as u64;
        st.skip_on_load = 0;
        st.current = Some(entries.into());
    }
    let mut delivered = 0;
    while let Some(first) = st.current.as_ref().and_then(|c| c.front().copied()) {
        if first.due_ms > now {
            return if more_to_index {
                Next::Now
            } else {
                Next::At(first.due_ms)
            };
        }
        match deliver(store, store_host, first.physical_offset, first.size) {
            Some(end) => {
                if let Some(end) = end {
                    st.delivered_end = st.delivered_end.max(end);
                }
            }
            None => return Next::Backoff,
        }
        if let Some(c) = st.current.as_mut() {
            c.pop_front();
        }
        svc.dequeued_total.fetch_add(1, Ordering::Relaxed);
        st.delivered_in_window += 1;
        st.last_delivered_due = first.due_ms;
        st.dirty = true;
        delivered += 1;
        if delivered >= INDEX_BATCH {
            return Next::Now;
        }
    }
    // The window is empty; move on once it has ended.
    if now >= st.current_window + TIMER_PRECISION_MS {
        st.current_window += TIMER_PRECISION_MS;
        st.current = None;
        st.delivered_in_window = 0;
        st.last_delivered_due = i64::MIN;
        st.reordered = false;
        st.dirty = true;
        return Next::Now;
    }
    let window_end = st.current_window + TIMER_PRECISION_MS;
    if more_to_index {
        Next::Now
    } else {
        Next::At(window_end)
    }
}

/// The timer task: delivers due timers (re-put in `store`, stamped with `store_host`), and
/// beside it a task that writes checkpoints.
pub async fn run(
    timers: Arc<TimerService>,
    store: Arc<MessageStore>,
    store_host: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    let (stop_checkpoints, mut checkpoints_stopped) = watch::channel(false);
    let checkpointer = {
        let (timers, store) = (Arc::clone(&timers), Arc::clone(&store));
        tokio::spawn(async move {
            loop {
                let stopping = *checkpoints_stopped.borrow();
                timers.checkpoint(&store).await;
                if stopping {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(CHECKPOINT_INTERVAL) => {}
                    _ = checkpoints_stopped.changed() => {}
                }
            }
        })
    };
    loop {
        let next = round(&timers, &store, store_host);
        if *shutdown.borrow() {
            break;
        }
        let sleep = match next {
            Next::Now => {
                tokio::task::yield_now().await;
                continue;
            }
            Next::Backoff => Duration::from_secs(1),
            Next::At(at) => Duration::from_millis(
                at.saturating_sub(now_ms())
                    .clamp(0, CHECKPOINT_INTERVAL.as_millis() as i64) as u64,
            ),
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = timers.wake.notified() => {}
            _ = shutdown.changed() => {}
        }
    }
    // The last checkpoint covers every delivery made.
    let _ = stop_checkpoints.send(true);
    if let Err(e) = checkpointer.await {
        tracing::error!(error = %e, "timer checkpoint task failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn the_absolute_time_wins_over_relative_ones() {
        let timer = TimerProperties {
            deliver_ms: Some("1700000005000"),
            delay_sec: Some("1"),
            delay_ms: Some("1"),
        };
        assert_eq!(timer.due_ms(NOW), Some(Ok(NOW + 5_000)));
        let timer = TimerProperties {
            delay_sec: Some(" 2 "),
            delay_ms: Some("1"),
            ..Default::default()
        };
        assert_eq!(timer.due_ms(NOW), Some(Ok(NOW + 2_000)));
        let timer = TimerProperties {
            delay_ms: Some("7"),
            ..Default::default()
        };
        assert_eq!(timer.due_ms(NOW), Some(Ok(NOW + 7)));
        assert!(timer.is_timer());
        assert_eq!(TimerProperties::default().due_ms(NOW), None);
        assert!(!TimerProperties::default().is_timer());
    }

    #[test]
    fn timers_rocketmq_indexed_and_passed_count_as_delivered() {
        let delivered = DeliveredByRocketMq::from_checkpoint(&RocketMqTimerCheckpoint {
            last_read_time_ms: NOW,
            last_timer_log_flush_pos: 104,
            last_timer_queue_offset: 2,
            master_timer_queue_offset: 3,
        });
        assert_eq!(delivered.below_queue_offset, 2);
        assert!(delivered.delivered(1, NOW - 1));
        // Due at or after the window RocketMQ was reading: pending.
        assert!(!delivered.delivered(1, NOW));
        // Not indexed by RocketMQ: pending, however old.
        assert!(!delivered.delivered(2, NOW - 60_000));
    }

    #[test]
    fn a_store_rocketmq_wrote_starts_from_its_timer_checkpoint_with_its_log_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(checkpoint_from_rocketmq(dir.path(), 0, NOW).unwrap(), None);
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::create_dir_all(dir.path().join(TIMER_LOG_DIR)).unwrap();
        std::fs::write(
            dir.path().join("timerlog/00000000000000000000"),
            b"rocketmq",
        )
        .unwrap();
        let mut timercheck = vec![0u8; 4096];
        for (i, v) in [NOW - 5_000, 104, 2, 2].iter().enumerate() {
            timercheck[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        std::fs::write(dir.path().join(ROCKETMQ_TIMER_CHECKPOINT), &timercheck).unwrap();
        let cp = checkpoint_from_rocketmq(dir.path(), 0, NOW + 250)
            .unwrap()
            .unwrap();
        assert_eq!(
            cp,
            TimerCheckpoint {
                enqueue_offset: 0,
                log_end: 0,
                current_window_ms: NOW,
                delivered_in_window: 0,
                delivered_by_rocketmq: Some(DeliveredByRocketMq {
                    below_queue_offset: 2,
                    before_ms: NOW - 5_000
                }),
            }
        );
        assert!(!dir.path().join(TIMER_LOG_DIR).exists());
        assert_eq!(
            std::fs::read(
                dir.path()
                    .join("timerlog.apache-rocketmq/00000000000000000000")
            )
            .unwrap(),
            b"rocketmq"
        );
        // Started again before Petrel's first checkpoint: the log found now is Petrel's.
        std::fs::create_dir_all(dir.path().join(TIMER_LOG_DIR)).unwrap();
        assert!(checkpoint_from_rocketmq(dir.path(), 0, NOW)
            .unwrap()
            .is_some());
        assert!(dir.path().join(TIMER_LOG_DIR).exists());
    }

    #[test]
    fn non_integers_are_errors_and_huge_delays_saturate() {
        let timer = TimerProperties {
            delay_sec: Some("soon"),
            ..Default::default()
        };
        assert_eq!(
            timer.due_ms(NOW),
            Some(Err(TimerPropertyError {
                name: "TIMER_DELAY_SEC",
                value: "soon".into()
            }))
        );
        let big = i64::MAX.to_string();
        let timer = TimerProperties {
            delay_sec: Some(&big),
            ..Default::default()
        };
        assert_eq!(timer.due_ms(NOW), Some(Ok(i64::MAX)));
    }
}
