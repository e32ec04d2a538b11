//! What a receipt handle does: ACK (and each entry of BATCH_ACK) and
//! CHANGE_MESSAGE_INVISIBLETIME, for the remoting processors and gRPC alike.

use petrel_protocol::pop::ExtraInfo;

use super::{HandleOutcome, QueueKey};
use crate::broker::BrokerInner;

/// A message named by a handle: `topic` is where it is stored (the POP retry topic for a
/// retried one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named<'a> {
    pub group: &'a str,
    pub topic: &'a str,
    pub queue_id: i32,
    pub offset: i64,
    pub pop_time: i64,
}

impl<'a> Named<'a> {
    /// The message a remoting ACK or change names: the request's topic (already the real
    /// one: clients send the retry topic for retried messages) and offset, the handle's pop
    /// time.
    pub fn of(
        group: &'a str,
        topic: &'a str,
        queue_id: i32,
        offset: i64,
        handle: &ExtraInfo,
    ) -> Self {
        Named {
            group,
            topic,
            queue_id,
            offset,
            pop_time: handle.pop_time,
        }
    }

    fn key(&self) -> QueueKey {
        QueueKey::new(self.group, self.topic, self.queue_id)
    }
}

/// Acks a message. A stale handle (acked already, or its invisible time lapsed and the
/// message came back) changes nothing, as in RocketMQ.
pub fn ack(broker: &BrokerInner, message: &Named<'_>) -> HandleOutcome {
    let key = message.key();
    let Some(book) = broker.pop.existing(&key) else {
        return HandleOutcome::Stale;
    };
    let mut q = book.lock();
    let outcome = q.ack(message.offset, message.pop_time);
    if outcome == HandleOutcome::Done {
        let (committed, order) = (q.committed(), q.order);
        drop(q);
        broker
            .offsets
            .commit(message.group, message.topic, message.queue_id, committed);
        broker.pop.touch();
        if order {
            // The next FIFO batch may be ready.
            broker.pop.wake(message.topic);
        }
    }
    outcome
}

/// Hides a message for `invisible_ms` from `now_ms` (a new pop time, hence a new handle).
pub fn change_invisible(
    broker: &BrokerInner,
    message: &Named<'_>,
    now_ms: i64,
    invisible_ms: i64,
) -> HandleOutcome {
    let key = message.key();
    let Some(book) = broker.pop.existing(&key) else {
        return HandleOutcome::Stale;
    };
    let outcome =
        book.lock()
            .change_invisible(message.offset, message.pop_time, now_ms, invisible_ms);
    if outcome == HandleOutcome::Done {
        broker
            .pop
            .schedule(&key, message.offset, now_ms.saturating_add(invisible_ms));
    }
    outcome
}
