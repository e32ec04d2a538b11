//! The lite pull consumer's queues and message buffer as a plain state machine: no I/O, no
//! waiting. [`LiteQueues`] is what Java spreads over `AssignedMessageQueue`, the per-queue
//! `ProcessQueue`s and the `consumeRequestCache`; the consumer ([`super`]) holds it
//! under one lock and drives it from its pull tasks and from `poll`, `seek`, `pause`, commits.
//!
//! Per assigned queue it keeps:
//! - the **pull offset**: where the queue's pull task pulls next (`None` until the start offset
//!   is known: the committed offset, or `consume_from_where` for a new group);
//! - the **consumed offset**: the offset after the messages `poll` returned, i.e. what a commit
//!   writes. When nothing of the queue is buffered it equals the pull offset, so pulls that
//!   bring nothing (nothing new, nothing matching the filter, an offset the broker moved) move it
//!   too; when something is, the last buffered batch carries the offset after it;
//! - an **epoch**, bumped by every seek: a pull begun before a seek comes back to a queue that
//!   moved, and its result is thrown away;
//! - an **id**, unique per assignment, so that the task of a queue removed and assigned again
//!   stops instead of serving the new assignment alongside the new task.
//!
//! The buffer holds pulled batches in arrival order across queues. A pull task may pull only
//! while fewer than `for_all` messages are buffered in total, fewer than `for_queue` of its
//! queue and no more than `size_for_queue_bytes` of its queue's bodies; each queue has one pull
//! in flight at most, so the buffer never holds more than `for_all` plus one pull batch per
//! queue.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::message::{MessageExt, MessageQueue};

/// Flow-control limits of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Messages buffered across all queues (`pullThresholdForAll`).
    pub for_all: usize,
    /// Messages buffered of one queue (`pullThresholdForQueue`).
    pub for_queue: usize,
    /// Body bytes buffered of one queue (`pullThresholdSizeForQueue`, in bytes here).
    pub size_for_queue_bytes: usize,
}

/// What a queue's pull task is to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ticket {
    /// The queue is no longer assigned (or was assigned again, to another task): stop.
    Gone,
    /// Paused by the user: wait for a resume.
    Paused,
    /// The buffer is full (the reason says which limit): wait for a poll.
    FlowControl(&'static str),
    /// The start offset is unknown: find it, then [`LiteQueues::set_start`] with this epoch.
    Start { epoch: u64 },
    /// Pull at `offset`, then report with [`LiteQueues::on_pulled`] and this epoch.
    Pull { epoch: u64, offset: i64 },
}

/// A snapshot of one queue, for running info and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueueInfo {
    pub pull_offset: Option<i64>,
    pub consumed_offset: Option<i64>,
    pub buffered: usize,
    pub buffered_bytes: usize,
    pub paused: bool,
}

struct QueueState {
    id: u64,
    epoch: u64,
    paused: bool,
    pull_offset: Option<i64>,
    consumed: Option<i64>,
    buffered: usize,
    buffered_bytes: usize,
    /// Wakes the queue's pull task: a seek, a resume or the removal of the queue.
    wake: Arc<Notify>,
}

/// Pulled messages of one queue, in offset order, never empty while buffered.
struct Batch {
    mq: MessageQueue,
    msgs: VecDeque<MessageExt>,
    /// Where the pull that brought them ended: the consumed offset once they are all polled.
    next_begin: i64,
}

/// The assigned queues and the buffer of pulled, unpolled messages.
#[derive(Default)]
pub(crate) struct LiteQueues {
    queues: BTreeMap<MessageQueue, QueueState>,
    buffer: VecDeque<Batch>,
    /// Messages in `buffer`.
    buffered: usize,
    next_id: u64,
}

impl std::fmt::Debug for LiteQueues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiteQueues")
            .field("queues", &self.queues.len())
            .field("batches", &self.buffer.len())
            .field("buffered", &self.buffered)
            .finish()
    }
}

impl LiteQueues {
    /// The assigned queues, in order.
    pub fn queues(&self) -> Vec<MessageQueue> {
        self.queues.keys().cloned().collect()
    }

    pub fn contains(&self, mq: &MessageQueue) -> bool {
        self.queues.contains_key(mq)
    }

    /// Messages buffered across all queues.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    pub fn info(&self) -> BTreeMap<MessageQueue, QueueInfo> {
        self.queues
            .iter()
            .map(|(mq, q)| {
                let info = QueueInfo {
                    pull_offset: q.pull_offset,
                    consumed_offset: q.consumed,
                    buffered: q.buffered,
                    buffered_bytes: q.buffered_bytes,
                    paused: q.paused,
                };
                (mq.clone(), info)
            })
            .collect()
    }

    /// Assigns `mq`; returns the id its pull task serves and the task's wake-up, or `None` if
    /// it is assigned already.
    pub fn add(&mut self, mq: &MessageQueue) -> Option<(u64, Arc<Notify>)> {
        if self.queues.contains_key(mq) {
            return None;
        }
        self.next_id += 1;
        let wake = Arc::new(Notify::new());
        self.queues.insert(
            mq.clone(),
            QueueState {
                id: self.next_id,
                epoch: 0,
                paused: false,
                pull_offset: None,
                consumed: None,
                buffered: 0,
                buffered_bytes: 0,
                wake: Arc::clone(&wake),
            },
        );
        Some((self.next_id, wake))
    }

    /// Unassigns `mq` and drops its buffered messages; returns its task's wake-up.
    pub fn remove(&mut self, mq: &MessageQueue) -> Option<Arc<Notify>> {
        let q = self.queues.remove(mq)?;
        self.drop_batches(mq);
        Some(q.wake)
    }

    /// What the task serving assignment `id` of `mq` does next.
    pub fn ticket(&self, mq: &MessageQueue, id: u64, limits: &Limits) -> Ticket {
        let Some(q) = self.queues.get(mq).filter(|q| q.id == id) else {
            return Ticket::Gone;
        };
        if q.paused {
            return Ticket::Paused;
        }
        if self.buffered >= limits.for_all {
            return Ticket::FlowControl("messages buffered for all queues");
        }
        if q.buffered >= limits.for_queue {
            return Ticket::FlowControl("messages buffered for the queue");
        }
        if q.buffered_bytes > limits.size_for_queue_bytes {
            return Ticket::FlowControl("bytes buffered for the queue");
        }
        match q.pull_offset {
            None => Ticket::Start { epoch: q.epoch },
            Some(offset) => Ticket::Pull {
                epoch: q.epoch,
                offset,
            },
        }
    }

    /// The start offset of the queue is known. Ignored if the queue moved meanwhile.
    pub fn set_start(&mut self, mq: &MessageQueue, id: u64, epoch: u64, offset: i64) -> bool {
        let Some(q) = current(&mut self.queues, mq, id, epoch) else {
            return false;
        };
        if q.pull_offset.is_none() {
            q.pull_offset = Some(offset);
            q.consumed = Some(offset);
        }
        true
    }

    /// A pull of the queue at the ticket's offset ended at `next_begin` with `msgs` (none when
    /// nothing new or nothing matching was found, or the broker moved the offset). Returns
    /// false, and changes nothing, when the queue was removed or moved since the ticket.
    pub fn on_pulled(
        &mut self,
        mq: &MessageQueue,
        id: u64,
        epoch: u64,
        msgs: Vec<MessageExt>,
        next_begin: i64,
    ) -> bool {
        let Some(q) = current(&mut self.queues, mq, id, epoch) else {
            return false;
        };
        q.pull_offset = Some(next_begin);
        if msgs.is_empty() {
            if q.buffered == 0 {
                q.consumed = Some(next_begin);
            } else if let Some(last) = self.buffer.iter_mut().rev().find(|b| &b.mq == mq) {
                // Polling that batch consumes up to here: what lies between was filtered out
                // or is gone from the broker.
                let after_last = last.msgs.back().map_or(i64::MIN, |m| m.queue_offset + 1);
                last.next_begin = next_begin.max(after_last);
            }
            return true;
        }
        let n = msgs.len();
        let bytes: usize = msgs.iter().map(|m| m.body.len()).sum();
        q.buffered += n;
        q.buffered_bytes += bytes;
        self.buffered += n;
        self.buffer.push_back(Batch {
            mq: mq.clone(),
            msgs: msgs.into(),
            next_begin,
        });
        true
    }

    /// Takes up to `max` buffered messages, oldest batch first, skipping paused queues; the
    /// consumed offset of each queue moves past what is returned.
    pub fn poll(&mut self, max: usize) -> Vec<MessageExt> {
        let mut out = Vec::new();
        let mut i = 0;
        while out.len() < max && i < self.buffer.len() {
            let batch = &mut self.buffer[i];
            let Some(q) = self.queues.get_mut(&batch.mq) else {
                // Cannot happen (batches go with their queue); never hand them out.
                let gone = self.buffer.remove(i).map_or(0, |b| b.msgs.len());
                self.buffered -= gone;
                continue;
            };
            if q.paused {
                i += 1;
                continue;
            }
            let take = (max - out.len()).min(batch.msgs.len());
            let mut after_last = None;
            for m in batch.msgs.drain(..take) {
                q.buffered_bytes -= m.body.len();
                after_last = Some(m.queue_offset + 1);
                out.push(m);
            }
            q.buffered -= take;
            self.buffered -= take;
            if batch.msgs.is_empty() {
                q.consumed = Some(batch.next_begin);
                self.buffer.remove(i);
            } else {
                q.consumed = after_last.or(q.consumed);
                i += 1;
            }
            if q.buffered == 0 {
                q.buffered_bytes = 0;
            }
        }
        out
    }

    /// Moves `mq` to `offset`: its buffered messages are dropped, a pull in flight will be
    /// ignored, the next pull starts there and a commit writes it. Returns the task's wake-up,
    /// `None` if the queue is not assigned.
    pub fn seek(&mut self, mq: &MessageQueue, offset: i64) -> Option<Arc<Notify>> {
        let q = self.queues.get_mut(mq)?;
        q.epoch += 1;
        q.pull_offset = Some(offset);
        q.consumed = Some(offset);
        let wake = Arc::clone(&q.wake);
        self.drop_batches(mq);
        Some(wake)
    }

    /// Pauses or resumes the given queues (those not assigned are ignored); returns the wake-ups
    /// of the queues whose state changed.
    pub fn set_paused(&mut self, mqs: &[MessageQueue], paused: bool) -> Vec<Arc<Notify>> {
        let mut woken = Vec::new();
        for mq in mqs {
            if let Some(q) = self.queues.get_mut(mq) {
                if q.paused != paused {
                    q.paused = paused;
                    woken.push(Arc::clone(&q.wake));
                }
            }
        }
        woken
    }

    /// The consumed offset of every queue whose start is known.
    pub fn consumed_offsets(&self) -> BTreeMap<MessageQueue, i64> {
        self.queues
            .iter()
            .filter_map(|(mq, q)| q.consumed.map(|o| (mq.clone(), o)))
            .collect()
    }

    fn drop_batches(&mut self, mq: &MessageQueue) {
        let mut dropped = 0;
        self.buffer.retain(|b| {
            if &b.mq == mq {
                dropped += b.msgs.len();
                false
            } else {
                true
            }
        });
        self.buffered -= dropped;
        if let Some(q) = self.queues.get_mut(mq) {
            q.buffered = 0;
            q.buffered_bytes = 0;
        }
    }
}

/// The state of `mq` if assignment `id` still holds it at `epoch`.
fn current<'a>(
    queues: &'a mut BTreeMap<MessageQueue, QueueState>,
    mq: &MessageQueue,
    id: u64,
    epoch: u64,
) -> Option<&'a mut QueueState> {
    queues
        .get_mut(mq)
        .filter(|q| q.id == id && q.epoch == epoch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    use crate::message::test_message;

    const LIMITS: Limits = Limits {
        for_all: 10,
        for_queue: 6,
        size_for_queue_bytes: 1 << 20,
    };

    fn mq(q: i32) -> MessageQueue {
        MessageQueue::new("T", "broker-a", q)
    }

    fn msg(q: i32, offset: i64) -> MessageExt {
        MessageExt {
            broker_name: "broker-a".into(),
            queue_id: q,
            body: Bytes::from(format!("m{q}-{offset}")),
            ..test_message("T", offset)
        }
    }

    fn msgs(q: i32, offsets: impl IntoIterator<Item = i64>) -> Vec<MessageExt> {
        offsets.into_iter().map(|o| msg(q, o)).collect()
    }

    fn offsets(ms: &[MessageExt]) -> Vec<(i32, i64)> {
        ms.iter().map(|m| (m.queue_id, m.queue_offset)).collect()
    }

    /// Assigns `mq` and starts it at `start`; returns (id, epoch).
    fn started(qs: &mut LiteQueues, mq: &MessageQueue, start: i64) -> (u64, u64) {
        let (id, _) = qs.add(mq).unwrap();
        let Ticket::Start { epoch } = qs.ticket(mq, id, &LIMITS) else {
            panic!("a new queue needs its start offset");
        };
        assert!(qs.set_start(mq, id, epoch, start));
        (id, epoch)
    }

    #[test]
    fn a_new_queue_asks_for_its_start_then_pulls_from_it() {
        let mut qs = LiteQueues::default();
        let (id, epoch) = started(&mut qs, &mq(0), 7);
        assert_eq!(
            qs.ticket(&mq(0), id, &LIMITS),
            Ticket::Pull { epoch, offset: 7 }
        );
        assert_eq!(qs.consumed_offsets()[&mq(0)], 7);
        assert!(qs.add(&mq(0)).is_none(), "assigned twice");
    }

    #[test]
    fn polling_returns_batches_in_arrival_order_and_moves_consumed_offsets() {
        let mut qs = LiteQueues::default();
        let (a, ea) = started(&mut qs, &mq(0), 0);
        let (b, eb) = started(&mut qs, &mq(1), 10);
        assert!(qs.on_pulled(&mq(0), a, ea, msgs(0, 0..3), 3));
        assert!(qs.on_pulled(&mq(1), b, eb, msgs(1, 10..12), 12));
        assert_eq!(qs.buffered(), 5);
        assert_eq!(
            qs.ticket(&mq(0), a, &LIMITS),
            Ticket::Pull {
                epoch: ea,
                offset: 3
            }
        );
        // Pulled is not consumed: the consumed offsets stay until a poll returns the messages.
        assert_eq!(qs.consumed_offsets()[&mq(0)], 0);

        let got = qs.poll(4);
        assert_eq!(offsets(&got), [(0, 0), (0, 1), (0, 2), (1, 10)]);
        assert_eq!(qs.consumed_offsets()[&mq(0)], 3);
        // A batch split by `max`: consumed up to the last message returned.
        assert_eq!(qs.consumed_offsets()[&mq(1)], 11);
        assert_eq!(offsets(&qs.poll(100)), [(1, 11)]);
        assert_eq!(qs.consumed_offsets()[&mq(1)], 12);
        assert_eq!(qs.buffered(), 0);
        assert!(qs.poll(100).is_empty());
    }

    #[test]
    fn pulls_that_bring_nothing_move_the_consumed_offset_past_filtered_messages() {
        let mut qs = LiteQueues::default();
        let (id, e) = started(&mut qs, &mq(0), 0);
        // Nothing buffered: the consumed offset follows the pull offset.
        assert!(qs.on_pulled(&mq(0), id, e, vec![], 32));
        assert_eq!(qs.consumed_offsets()[&mq(0)], 32);
        // Offsets 32..64 held two matching messages; 64..96 none: polling the batch consumes
        // up to 96.
        assert!(qs.on_pulled(&mq(0), id, e, msgs(0, [40, 50]), 64));
        assert!(qs.on_pulled(&mq(0), id, e, vec![], 96));
        assert_eq!(qs.consumed_offsets()[&mq(0)], 32);
        assert_eq!(qs.poll(10).len(), 2);
        assert_eq!(qs.consumed_offsets()[&mq(0)], 96);
    }

    #[test]
    fn seek_drops_buffered_messages_and_results_of_pulls_begun_before() {
        let mut qs = LiteQueues::default();
        let (a, ea) = started(&mut qs, &mq(0), 0);
        let (b, eb) = started(&mut qs, &mq(1), 0);
        assert!(qs.on_pulled(&mq(0), a, ea, msgs(0, 0..4), 4));
        assert!(qs.on_pulled(&mq(1), b, eb, msgs(1, 0..2), 2));
        // A pull of queue 0 at 4 is in flight when the user seeks back to 1.
        assert!(qs.seek(&mq(0), 1).is_some());
        assert_eq!(qs.buffered(), 2, "only queue 1's messages stay");
        assert!(!qs.on_pulled(&mq(0), a, ea, msgs(0, 4..8), 8), "stale pull");
        assert_eq!(qs.buffered(), 2);
        let Ticket::Pull { epoch, offset } = qs.ticket(&mq(0), a, &LIMITS) else {
            panic!("the queue pulls again");
        };
        assert_eq!((epoch, offset), (ea + 1, 1));
        assert_eq!(
            qs.consumed_offsets()[&mq(0)],
            1,
            "a commit now writes the seek offset"
        );
        assert!(qs.on_pulled(&mq(0), a, epoch, msgs(0, 1..3), 3));
        assert_eq!(offsets(&qs.poll(10)), [(1, 0), (1, 1), (0, 1), (0, 2)]);
        // A seek before the start offset is known wins over the start offset found later.
        let (c, ec) = qs.add(&mq(2)).map(|(id, _)| (id, 0)).unwrap();
        assert!(qs.seek(&mq(2), 5).is_some());
        assert!(!qs.set_start(&mq(2), c, ec, 0));
        assert_eq!(
            qs.ticket(&mq(2), c, &LIMITS),
            Ticket::Pull {
                epoch: 1,
                offset: 5
            }
        );
        assert!(qs.seek(&mq(9), 0).is_none(), "not assigned");
    }

    #[test]
    fn flow_control_stops_pulling_at_the_limits_and_the_bound_holds() {
        let mut qs = LiteQueues::default();
        let batch = 4;
        let ids: Vec<(u64, u64)> = (0..4).map(|q| started(&mut qs, &mq(q), 0)).collect();
        // Every queue pulls whenever its ticket says so, and nobody polls.
        let mut next = [0i64; 4];
        for _round in 0..10 {
            for q in 0..4 {
                let (id, e) = ids[q as usize];
                if let Ticket::Pull { offset, .. } = qs.ticket(&mq(q), id, &LIMITS) {
                    let end = offset + batch;
                    assert!(qs.on_pulled(&mq(q), id, e, msgs(q, offset..end), end));
                    next[q as usize] = end;
                }
            }
            assert!(qs.buffered() <= LIMITS.for_all + 4 * batch as usize);
        }
        assert!(qs.buffered() >= LIMITS.for_all);
        assert_eq!(
            qs.ticket(&mq(0), ids[0].0, &LIMITS),
            Ticket::FlowControl("messages buffered for all queues")
        );
        // One queue alone stops at its own limit.
        let mut one = LiteQueues::default();
        let (id, e) = started(&mut one, &mq(0), 0);
        assert!(one.on_pulled(&mq(0), id, e, msgs(0, 0..6), 6));
        assert_eq!(
            one.ticket(&mq(0), id, &LIMITS),
            Ticket::FlowControl("messages buffered for the queue")
        );
        one.poll(1);
        assert!(matches!(
            one.ticket(&mq(0), id, &LIMITS),
            Ticket::Pull { .. }
        ));
    }

    #[test]
    fn paused_queues_neither_pull_nor_hand_out_buffered_messages() {
        let mut qs = LiteQueues::default();
        let (a, ea) = started(&mut qs, &mq(0), 0);
        let (b, eb) = started(&mut qs, &mq(1), 0);
        assert!(qs.on_pulled(&mq(0), a, ea, msgs(0, 0..2), 2));
        assert!(qs.on_pulled(&mq(1), b, eb, msgs(1, 0..2), 2));
        assert_eq!(qs.set_paused(&[mq(0), mq(7)], true).len(), 1);
        assert_eq!(qs.ticket(&mq(0), a, &LIMITS), Ticket::Paused);
        assert_eq!(offsets(&qs.poll(10)), [(1, 0), (1, 1)]);
        assert_eq!(qs.consumed_offsets()[&mq(0)], 0);
        assert_eq!(qs.set_paused(&[mq(0)], false).len(), 1);
        assert!(qs.set_paused(&[mq(0)], false).is_empty(), "already resumed");
        assert_eq!(offsets(&qs.poll(10)), [(0, 0), (0, 1)]);
    }

    #[test]
    fn a_queue_removed_and_assigned_again_is_served_by_the_new_task_only() {
        let mut qs = LiteQueues::default();
        let (old, e) = started(&mut qs, &mq(0), 0);
        assert!(qs.on_pulled(&mq(0), old, e, msgs(0, 0..3), 3));
        assert!(qs.remove(&mq(0)).is_some());
        assert_eq!(qs.buffered(), 0, "its messages go with it");
        assert_eq!(qs.ticket(&mq(0), old, &LIMITS), Ticket::Gone);
        let (new, _) = qs.add(&mq(0)).unwrap();
        assert_ne!(old, new);
        assert_eq!(qs.ticket(&mq(0), old, &LIMITS), Ticket::Gone);
        assert!(!qs.on_pulled(&mq(0), old, e, msgs(0, 3..5), 5));
        assert!(matches!(
            qs.ticket(&mq(0), new, &LIMITS),
            Ticket::Start { .. }
        ));
        assert!(qs.consumed_offsets().is_empty(), "no start offset yet");
        assert!(qs.remove(&mq(5)).is_none());
    }
}
