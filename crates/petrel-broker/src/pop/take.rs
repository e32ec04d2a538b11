//! Taking messages: one pass over a group's queues (`pop_once`), long polling around it
//! (`pop`), and the read-only variants PEEK_MESSAGE and NOTIFICATION use.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use petrel_protocol::pop::{pop_retry_topic_v1, OffsetInfos, POP_ORDER_REVIVE_QUEUE};
use petrel_protocol::topic::is_retry_topic;
use petrel_store::GetMessageStatus;

use super::{InFlight, QueueKey};
use crate::broker::BrokerInner;
use crate::clock::now_ms;
use crate::filter::SubscriptionFilter;

/// Where a group without a consume offset starts (`ConsumeInitMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitMode {
    /// `0`: the queue's first message.
    Min,
    /// `1`: the queue's end; as RocketMQ with `initPopOffsetByCheckMsgInMem`, a queue that
    /// still holds its very first message starts from it.
    Max,
}

impl InitMode {
    pub fn from_wire(value: i32) -> InitMode {
        if value == 0 {
            InitMode::Min
        } else {
            InitMode::Max
        }
    }
}

/// What a consumer asks for.
#[derive(Clone)]
pub struct PopRequest {
    pub group: String,
    /// The topic subscribed (never a retry topic: those are read along with it).
    pub topic: String,
    /// −1: any queue.
    pub queue_id: i32,
    pub max_msgs: usize,
    pub invisible_ms: i64,
    pub order: bool,
    pub init_mode: InitMode,
    pub filter: Arc<SubscriptionFilter>,
    /// Long-poll hold, ms (0: answer at once).
    pub poll_ms: i64,
    /// Most bytes one pop returns (`maxTransferBytesOnMessageInMemory`).
    pub max_bytes: usize,
}

/// One message taken.
#[derive(Debug, Clone)]
pub struct PoppedMessage {
    pub record: Bytes,
    /// The topic it is stored in (the POP retry topic for a retried message).
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    /// The first offset this pop took from the queue (the handle's `ckQueueOffset`).
    pub start_offset: i64,
    /// FIFO: deliveries of this message before this one.
    pub delivered_before: i32,
}

/// What a pop took.
#[derive(Debug, Clone, Default)]
pub struct Popped {
    pub pop_time: i64,
    pub invisible_ms: i64,
    pub revive_qid: i32,
    pub messages: Vec<PoppedMessage>,
    pub infos: OffsetInfos,
    /// Messages left behind in the queues looked at.
    pub rest: i64,
}

/// Why a pop was not held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopWait {
    /// Too many requests held already (`POLLING_FULL`).
    PollingFull,
}

/// Takes messages, waiting up to `req.poll_ms` for some to arrive.
pub async fn pop(broker: &BrokerInner, req: &PopRequest) -> Result<Popped, PopWait> {
    hold(broker, req, |now| {
        let popped = pop_once(broker, req, now);
        let found = !popped.messages.is_empty();
        (popped, found)
    })
    .await
}

/// Long polling: runs `look` until it finds something or `req.poll_ms` passes, looking again
/// whenever the topic or its POP retry topic gets a message, a FIFO batch is acked or a
/// message comes back, and at least every second (FIFO batches lapse without an event).
/// Returns the last look's answer.
async fn hold<T>(
    broker: &BrokerInner,
    req: &PopRequest,
    mut look: impl FnMut(i64) -> (T, bool),
) -> Result<T, PopWait> {
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis(u64::try_from(req.poll_ms).unwrap_or(0));
    let retry_topic = pop_retry_topic_v1(&req.topic, &req.group);
    let (main, retry) = (broker.pop.waker(&req.topic), broker.pop.waker(&retry_topic));
    let mut guard = None;
    loop {
        let (woken_main, woken_retry) = (main.notified(), retry.notified());
        tokio::pin!(woken_main, woken_retry);
        // Listen before looking, so that an event in between is not missed.
        woken_main.as_mut().enable();
        woken_retry.as_mut().enable();
        let (answer, found) = look(now_ms());
        if found || tokio::time::Instant::now() >= deadline {
            return Ok(answer);
        }
        if guard.is_none() {
            guard = Some(broker.pop.hold().ok_or(PopWait::PollingFull)?);
        }
        let wake_at = deadline.min(tokio::time::Instant::now() + Duration::from_secs(1));
        tokio::select! {
            _ = woken_main => {}
            _ = woken_retry => {}
            _ = tokio::time::sleep_until(wake_at) => {}
        }
    }
}

/// The queues a pop walks: the topic's (or the one asked for), and for a concurrent group
/// its POP retry topic's. Retries go first one time in five (RocketMQ's
/// `popFromRetryProbability` 20 %), otherwise after the topic's queues.
fn sources(broker: &BrokerInner, req: &PopRequest) -> Vec<(String, i32)> {
    let mut main: Vec<(String, i32)> = if req.queue_id >= 0 {
        vec![(req.topic.clone(), req.queue_id)]
    } else {
        let n = broker
            .topics
            .get(&req.topic)
            .map_or(0, |c| c.read_queue_nums.max(0));
        let start = broker.pop.rotate(usize::try_from(n).unwrap_or(1));
        (0..n)
            .map(|i| {
                let q = (i + i32::try_from(start).unwrap_or(0)) % n.max(1);
                (req.topic.clone(), q)
            })
            .collect()
    };
    if req.order {
        return main;
    }
    let retry_topic = pop_retry_topic_v1(&req.topic, &req.group);
    let retry: Vec<(String, i32)> = broker
        .topics
        .get(&retry_topic)
        .map(|c| {
            (0..c.read_queue_nums.max(0))
                .map(|q| (retry_topic.clone(), q))
                .collect()
        })
        .unwrap_or_default();
    if broker.pop.rotate(5) == 0 {
        let mut all = retry;
        all.append(&mut main);
        all
    } else {
        main.extend(retry);
        main
    }
}

/// One pass: takes what the group's queues have now, up to `req.max_msgs`.
pub fn pop_once(broker: &BrokerInner, req: &PopRequest, now: i64) -> Popped {
    let mut popped = Popped {
        pop_time: now,
        invisible_ms: req.invisible_ms,
        revive_qid: if req.order { POP_ORDER_REVIVE_QUEUE } else { 0 },
        ..Popped::default()
    };
    let mut bytes_left = req.max_bytes;
    for (topic, queue_id) in sources(broker, req) {
        if popped.messages.len() >= req.max_msgs || bytes_left == 0 {
            // Count what the remaining queues hold.
            popped.rest += backlog(broker, &req.group, &topic, queue_id);
            continue;
        }
        take_from_queue(
            broker,
            req,
            &topic,
            queue_id,
            now,
            &mut popped,
            &mut bytes_left,
        );
    }
    popped
}

/// Messages of `topic`/`queue_id` the group has not taken yet.
fn backlog(broker: &BrokerInner, group: &str, topic: &str, queue_id: i32) -> i64 {
    let max = broker.store.get_max_offset_in_queue(topic, queue_id);
    let next = broker
        .pop
        .existing(&QueueKey::new(group, topic, queue_id))
        .map(|q| q.lock().next_offset)
        .or_else(|| broker.offsets.query(group, topic, queue_id))
        .unwrap_or(0);
    (max - next).max(0)
}

/// Where a group without a book starts in a queue.
pub fn init_offset(
    broker: &BrokerInner,
    group: &str,
    topic: &str,
    queue_id: i32,
    mode: InitMode,
) -> i64 {
    if let Some(committed) = broker.offsets.query(group, topic, queue_id) {
        if committed >= 0 {
            return committed;
        }
    }
    let store = &broker.store;
    let min = store.get_min_offset_in_queue(topic, queue_id);
    if is_retry_topic(topic) || mode == InitMode::Min || min == 0 {
        min
    } else {
        store.get_max_offset_in_queue(topic, queue_id)
    }
}

fn take_from_queue(
    broker: &BrokerInner,
    req: &PopRequest,
    topic: &str,
    queue_id: i32,
    now: i64,
    popped: &mut Popped,
    bytes_left: &mut usize,
) {
    if broker.pop.in_flight_bound() >= super::MAX_IN_FLIGHT_MESSAGES {
        tracing::warn!(
            limit = super::MAX_IN_FLIGHT_MESSAGES,
            "too many POP messages in flight; pops wait until consumers ack or messages come back"
        );
        return;
    }
    let key = QueueKey::new(&req.group, topic, queue_id);
    let store = &broker.store;
    let book = broker.pop.queue(&key, || {
        let start = init_offset(broker, &req.group, topic, queue_id, req.init_mode);
        broker.offsets.commit(&req.group, topic, queue_id, start);
        start
    });
    let mut q = book.lock();
    if req.order {
        if q.lapsed(now) {
            q.rewind();
        }
        if q.blocked(now) {
            return;
        }
    }
    let (committed_before, next_before) = (q.committed(), q.next_offset);
    let (min, max) = (
        store.get_min_offset_in_queue(topic, queue_id),
        store.get_max_offset_in_queue(topic, queue_id),
    );
    if q.next_offset < min {
        // Those messages are gone (retention); nothing to deliver there.
        q.skip_to(min);
    }
    if q.next_offset >= max {
        return;
    }
    let want = req.max_msgs - popped.messages.len();
    // FIFO: acked messages of a rewound batch are skipped, so read that many more.
    let skippable = if req.order { q.acked.len() } else { 0 };
    let result = store.get_message(
        topic,
        queue_id,
        q.next_offset,
        want + skippable,
        *bytes_left,
        req.filter.as_ref(),
    );
    let readable = !matches!(
        result.status,
        GetMessageStatus::NoMatchedLogicQueue | GetMessageStatus::NoMessageInQueue
    );
    let mut next = result.next_begin_offset;
    let mut taken = Vec::new();
    for (record, offset) in result.messages.into_iter().zip(result.queue_offsets) {
        if taken.len() == want {
            next = offset;
            break;
        }
        if req.order && q.is_acked(offset) {
            continue;
        }
        *bytes_left = bytes_left.saturating_sub(record.len());
        taken.push((record, offset));
    }
    if !taken.is_empty() {
        let offsets: Vec<i64> = taken.iter().map(|(_, o)| *o).collect();
        let start_offset = offsets[0];
        q.take(
            &offsets,
            next,
            InFlight {
                pop_time: now,
                invisible_ms: req.invisible_ms,
            },
            req.order,
        );
        popped
            .infos
            .add_queue(topic, queue_id, start_offset, &offsets);
        for (record, offset) in taken {
            broker
                .pop
                .schedule(&key, offset, now.saturating_add(req.invisible_ms));
            let delivered_before = q.delivered_before(offset);
            if req.order && delivered_before > 0 {
                popped
                    .infos
                    .add_order_count(topic, queue_id, offset, delivered_before);
            }
            popped.messages.push(PoppedMessage {
                record,
                topic: topic.to_string(),
                queue_id,
                queue_offset: offset,
                start_offset,
                delivered_before,
            });
        }
    } else if readable && next > q.next_offset {
        // Everything read was filtered out (or acked already): move past it.
        q.skip_to(next);
    }
    popped.rest += (max - q.next_offset).max(0);
    let committed = q.committed();
    if q.next_offset != next_before {
        broker.pop.touch();
    }
    drop(q);
    if committed != committed_before {
        broker
            .offsets
            .commit(&req.group, topic, queue_id, committed);
    }
}

/// PEEK_MESSAGE: what a pop of `queue_id` would return, without taking it.
pub fn peek(
    broker: &BrokerInner,
    group: &str,
    topic: &str,
    queue_id: i32,
    max_msgs: usize,
    max_bytes: usize,
) -> Vec<Bytes> {
    let next = broker
        .pop
        .existing(&QueueKey::new(group, topic, queue_id))
        .map(|q| q.lock().next_offset)
        .unwrap_or_else(|| init_offset(broker, group, topic, queue_id, InitMode::Min));
    broker
        .store
        .get_message(
            topic,
            queue_id,
            next,
            max_msgs,
            max_bytes,
            &petrel_store::AcceptAll,
        )
        .messages
}

/// NOTIFICATION: whether a pop by `group` would find something now.
pub fn has_message(broker: &BrokerInner, req: &PopRequest, now: i64) -> bool {
    sources(broker, req).into_iter().any(|(topic, queue_id)| {
        let key = QueueKey::new(&req.group, &topic, queue_id);
        let max = broker.store.get_max_offset_in_queue(&topic, queue_id);
        match broker.pop.existing(&key) {
            Some(q) => {
                let q = q.lock();
                !(req.order && q.blocked(now)) && (q.next_offset < max || q.lapsed(now))
            }
            None => init_offset(broker, &req.group, &topic, queue_id, req.init_mode) < max,
        }
    })
}

/// NOTIFICATION with long polling: true as soon as something can be popped, false when
/// `req.poll_ms` passes first.
pub async fn notification(broker: &BrokerInner, req: &PopRequest) -> Result<bool, PopWait> {
    hold(broker, req, |now| {
        let has = has_message(broker, req, now);
        (has, has)
    })
    .await
}
