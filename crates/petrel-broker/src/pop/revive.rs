//! The revive task: messages whose invisible time lapsed come back.
//!
//! A concurrent group's lapsed message is copied to the group's POP retry topic
//! `%RETRY%{group}_{topic}` with `reconsumeTimes + 1` (the same message id: its `UNIQ_KEY`
//! travels along), where the next pop finds it; once it has been delivered
//! `1 + retryMaxTimes` times it goes to `%DLQ%{group}` instead. Only after the copy is stored
//! does the original leave the book (and the consume offset move past it), so a crash in
//! between delivers it twice rather than never. A FIFO queue's lapsed batch rewinds in place.

use std::sync::Arc;
use std::time::Duration;

use petrel_protocol::message::{encode_offset_msg_id, properties, RecordView};
use petrel_protocol::pop::{pop_retry_topic_v1, topic_of_pop_retry};
use tokio::sync::watch;

use super::QueueKey;
use crate::broker::BrokerInner;
use crate::clock::now_ms;
use crate::message::{apply, OwnedMessage};
use crate::processor::destination::{dead_letter, retries_exhausted};

/// How often lapsed messages are looked for.
const REVIVE_INTERVAL: Duration = Duration::from_millis(200);
/// When storing a revived message fails, the next attempt waits this long.
const REVIVE_RETRY_MS: i64 = 1_000;

pub async fn run(broker: Arc<BrokerInner>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(REVIVE_INTERVAL) => {}
            _ = shutdown.changed() => return,
        }
        revive_due(&broker, now_ms()).await;
    }
}

/// Brings back every message lapsed at `now`; returns how many were copied.
pub async fn revive_due(broker: &BrokerInner, now: i64) -> usize {
    let mut revived = 0;
    for (key, offset) in broker.pop.take_due(now) {
        let Some(book) = broker.pop.existing(&key) else {
            continue;
        };
        let pop_time = {
            let mut q = book.lock();
            if q.order {
                if q.lapsed(now) {
                    q.rewind();
                    drop(q);
                    tracing::debug!(group = %key.group, topic = %key.topic, queue_id = key.queue_id, "FIFO batch not acked in time; delivering it again");
                    broker.pop.touch();
                    broker.pop.wake(&key.topic);
                }
                continue;
            }
            match q.in_flight.get(&offset) {
                Some(f) if f.visible_at() <= now => f.pop_time,
                _ => continue, // acked, or its time was changed
            }
        };
        match bring_back(broker, &key, offset, pop_time, false).await {
            Ok(()) => {
                let mut q = book.lock();
                if q.revived(offset, pop_time) {
                    let committed = q.committed();
                    drop(q);
                    broker
                        .offsets
                        .commit(&key.group, &key.topic, key.queue_id, committed);
                    broker.pop.touch();
                    revived += 1;
                }
            }
            Err(e) => {
                tracing::warn!(group = %key.group, topic = %key.topic, queue_id = key.queue_id, offset, error = %e, "cannot bring back an un-acked POP message; trying again in 1 s");
                broker
                    .pop
                    .schedule(&key, offset, now.saturating_add(REVIVE_RETRY_MS));
            }
        }
    }
    revived
}

/// A consumer gives up on an in-flight message (gRPC ForwardMessageToDeadLetterQueue): it
/// is stored in `%DLQ%{group}` and leaves the book. False if the handle was stale.
pub async fn forward_to_dead_letter_queue(
    broker: &BrokerInner,
    key: &QueueKey,
    offset: i64,
    pop_time: i64,
) -> Result<bool, String> {
    let Some(book) = broker.pop.existing(key) else {
        return Ok(false);
    };
    let in_flight = book
        .lock()
        .in_flight
        .get(&offset)
        .is_some_and(|f| f.pop_time == pop_time);
    if !in_flight {
        return Ok(false);
    }
    bring_back(broker, key, offset, pop_time, true).await?;
    let mut q = book.lock();
    let done = q.ack(offset, pop_time) == super::HandleOutcome::Done;
    let committed = q.committed();
    drop(q);
    broker
        .offsets
        .commit(&key.group, &key.topic, key.queue_id, committed);
    broker.pop.touch();
    Ok(done)
}

/// Stores the message at `key`/`offset` (popped at `pop_time`) again in the POP retry topic,
/// or in the DLQ when its retries are used up or `dead` says so.
async fn bring_back(
    broker: &BrokerInner,
    key: &QueueKey,
    offset: i64,
    pop_time: i64,
    dead: bool,
) -> Result<(), String> {
    let result = broker.store.get_message(
        &key.topic,
        key.queue_id,
        offset,
        1,
        usize::MAX,
        &petrel_store::AcceptAll,
    );
    let record = match (
        result.queue_offsets.first(),
        result.messages.into_iter().next(),
    ) {
        (Some(found), Some(record)) if *found == offset => record,
        _ => {
            // Deleted by retention meanwhile: nothing left to deliver.
            tracing::debug!(topic = %key.topic, queue_id = key.queue_id, offset, "un-acked POP message no longer stored");
            return Ok(());
        }
    };
    let view = RecordView::parse(&record).map_err(|e| e.to_string())?;
    let store_host = view.store_host();
    let physical_offset = view.physical_offset();
    let mut msg = OwnedMessage::from_record(&record).map_err(|e| e.to_string())?;
    let group = key.group.as_str();
    let original = topic_of_pop_retry(&key.topic, group)
        .unwrap_or(&key.topic)
        .to_string();
    let retry_max_times = broker
        .groups
        .find_or_create(group)
        .map_or(16, |g| g.retry_max_times);
    if dead || retries_exhausted(msg.reconsume_times, None, retry_max_times) {
        let origin_id = msg
            .properties
            .get(properties::ORIGIN_MESSAGE_ID)
            .map(str::to_string)
            .unwrap_or_else(|| encode_offset_msg_id(store_host, physical_offset));
        let dead = dead_letter(group, &original, Some(&origin_id));
        broker.create_retry_or_dlq_topic(&dead.topic, 1);
        apply(&mut msg.properties, &dead.edits);
        tracing::info!(%group, topic = %original, reconsume_times = msg.reconsume_times, "POP message not acked after its last delivery; moved to {}", dead.topic);
        msg.topic = dead.topic;
        msg.queue_id = dead.queue_id;
    } else {
        let retry = pop_retry_topic_v1(&original, group);
        broker.create_retry_or_dlq_topic(&retry, 1);
        if msg.properties.get(properties::FIRST_POP_TIME).is_none() {
            msg.properties
                .insert(properties::FIRST_POP_TIME, pop_time.to_string());
        }
        msg.topic = retry;
        msg.queue_id = 0;
    }
    msg.reconsume_times += 1;
    msg.put(&broker.store, broker.store_host)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
