//! The in-flight book of one queue for one group (pure: no I/O, no clock of its own).
//!
//! A POP consumer takes messages from a queue; each stays *in flight* — invisible to the
//! group — until it is acked or its invisible time lapses. The group's committed offset (what
//! `consumerOffset.json` and consumer-progress figures show) is the first message not yet
//! done: the lowest in-flight offset, or the next one to pop. So a restart that loses
//! in-flight state redelivers from there: nothing un-acked is skipped (at-least-once).
//!
//! Concurrent queues (not FIFO): a lapsed message is *revived* — copied to the POP retry
//! topic by the caller, then dropped from the book — so that one slow message never holds the
//! queue. FIFO queues: one batch in flight at a time; when it lapses the queue *rewinds* to
//! its first un-acked message and delivers the same messages again, in order, counting the
//! deliveries (the `orderCountInfo` a client turns into `reconsumeTimes`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// One in-flight message's handle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// The pop (or last CHANGE_MESSAGE_INVISIBLETIME) time, ms; a handle must name it.
    pub pop_time: i64,
    pub invisible_ms: i64,
}

impl InFlight {
    pub fn visible_at(&self) -> i64 {
        self.pop_time.saturating_add(self.invisible_ms)
    }
}

/// What an ack or a change of invisible time found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleOutcome {
    /// The handle named an in-flight message.
    Done,
    /// Nothing in flight at that offset with that pop time: acked already, revived or
    /// rewound since (a stale handle).
    Stale,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PopQueue {
    /// The next offset a pop reads from.
    pub next_offset: i64,
    pub in_flight: BTreeMap<i64, InFlight>,
    /// The queue is consumed in FIFO order.
    pub order: bool,
    /// FIFO: offsets acked ahead of a rewind point, skipped when the batch comes again.
    pub acked: BTreeSet<i64>,
    /// FIFO: deliveries so far of messages that came again.
    pub deliveries: BTreeMap<i64, i32>,
}

impl PopQueue {
    pub fn starting_at(offset: i64) -> PopQueue {
        PopQueue {
            next_offset: offset,
            ..PopQueue::default()
        }
    }

    /// The group's consume offset: every message before it is done.
    pub fn committed(&self) -> i64 {
        self.in_flight
            .keys()
            .next()
            .map_or(self.next_offset, |first| (*first).min(self.next_offset))
    }

    /// FIFO: a batch is in flight and part of it still invisible.
    pub fn blocked(&self, now_ms: i64) -> bool {
        self.order && self.in_flight.values().any(|f| f.visible_at() > now_ms)
    }

    /// FIFO: the batch in flight lapsed (all of it visible again).
    pub fn lapsed(&self, now_ms: i64) -> bool {
        self.order && !self.in_flight.is_empty() && !self.blocked(now_ms)
    }

    /// FIFO: the lapsed batch comes again from its first un-acked message.
    pub fn rewind(&mut self) {
        let in_flight = std::mem::take(&mut self.in_flight);
        for offset in in_flight.keys() {
            *self.deliveries.entry(*offset).or_insert(0) += 1;
        }
        if let Some(first) = in_flight.keys().next() {
            self.next_offset = self.next_offset.min(*first);
        }
        self.trim();
    }

    /// Deliveries before this one of the message at `offset` (FIFO).
    pub fn delivered_before(&self, offset: i64) -> i32 {
        self.deliveries.get(&offset).copied().unwrap_or(0)
    }

    /// FIFO: acked already (skip it when the batch comes again).
    pub fn is_acked(&self, offset: i64) -> bool {
        self.acked.contains(&offset)
    }

    /// Records a pop: `offsets` go in flight and reading goes on from `next`.
    pub fn take(&mut self, offsets: &[i64], next: i64, in_flight: InFlight, order: bool) {
        self.order = order;
        for offset in offsets {
            self.in_flight.insert(*offset, in_flight);
        }
        self.next_offset = next;
        self.trim();
    }

    /// Moves the read position without taking anything (filtered-out or vanished messages).
    pub fn skip_to(&mut self, next: i64) {
        self.next_offset = next;
        self.trim();
    }

    /// Acks the message at `offset` popped at `pop_time`.
    pub fn ack(&mut self, offset: i64, pop_time: i64) -> HandleOutcome {
        match self.in_flight.get(&offset) {
            Some(f) if f.pop_time == pop_time => {
                self.in_flight.remove(&offset);
                if self.order {
                    self.acked.insert(offset);
                }
                self.trim();
                HandleOutcome::Done
            }
            _ => HandleOutcome::Stale,
        }
    }

    /// Hides the message for `invisible_ms` from `now_ms` instead (a new pop time).
    pub fn change_invisible(
        &mut self,
        offset: i64,
        pop_time: i64,
        now_ms: i64,
        invisible_ms: i64,
    ) -> HandleOutcome {
        match self.in_flight.get_mut(&offset) {
            Some(f) if f.pop_time == pop_time => {
                *f = InFlight {
                    pop_time: now_ms,
                    invisible_ms,
                };
                HandleOutcome::Done
            }
            _ => HandleOutcome::Stale,
        }
    }

    /// Not FIFO: the message at `offset` (popped at `pop_time`) was revived; it leaves the
    /// book. False if it was acked or changed meanwhile.
    pub fn revived(&mut self, offset: i64, pop_time: i64) -> bool {
        let matches = self
            .in_flight
            .get(&offset)
            .is_some_and(|f| f.pop_time == pop_time);
        if matches {
            self.in_flight.remove(&offset);
            self.trim();
        }
        matches
    }

    /// Lapsed in-flight messages (not FIFO), with their handles' pop times.
    pub fn lapsed_messages(&self, now_ms: i64) -> Vec<(i64, i64)> {
        self.in_flight
            .iter()
            .filter(|(_, f)| f.visible_at() <= now_ms)
            .map(|(o, f)| (*o, f.pop_time))
            .collect()
    }

    /// Forgets FIFO bookkeeping behind the committed offset.
    fn trim(&mut self) {
        let committed = self.committed();
        self.acked = self.acked.split_off(&committed);
        self.deliveries = self.deliveries.split_off(&committed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: InFlight = InFlight {
        pop_time: 1_000,
        invisible_ms: 500,
    };

    #[test]
    fn the_committed_offset_is_the_first_message_not_done() {
        let mut q = PopQueue::starting_at(10);
        assert_eq!(q.committed(), 10);
        q.take(&[10, 11, 12], 13, F, false);
        assert_eq!(q.committed(), 10);
        assert_eq!(q.ack(11, 1_000), HandleOutcome::Done);
        assert_eq!(q.committed(), 10);
        assert_eq!(q.ack(10, 1_000), HandleOutcome::Done);
        assert_eq!(q.committed(), 12);
        // A handle with another pop time, or acked twice, is stale.
        assert_eq!(q.ack(12, 999), HandleOutcome::Stale);
        assert_eq!(q.ack(10, 1_000), HandleOutcome::Stale);
        assert!(q.revived(12, 1_000));
        assert_eq!(q.committed(), 13);
        assert!(!q.revived(12, 1_000));
    }

    #[test]
    fn lapsed_messages_are_found_and_a_changed_handle_moves_its_time() {
        let mut q = PopQueue::starting_at(0);
        q.take(&[0, 1], 2, F, false);
        assert!(q.lapsed_messages(1_499).is_empty());
        assert_eq!(
            q.change_invisible(1, 1_000, 1_200, 1_000),
            HandleOutcome::Done
        );
        assert_eq!(q.lapsed_messages(1_500), vec![(0, 1_000)]);
        // The old handle no longer acks; the new one does.
        assert_eq!(q.ack(1, 1_000), HandleOutcome::Stale);
        assert_eq!(q.ack(1, 1_200), HandleOutcome::Done);
        assert!(!q.blocked(0), "not FIFO: never blocked");
    }

    #[test]
    fn a_fifo_batch_blocks_the_queue_and_comes_again_in_order() {
        let mut q = PopQueue::starting_at(0);
        q.take(&[0, 1, 2], 3, F, true);
        assert!(q.blocked(1_499));
        assert_eq!(q.ack(1, 1_000), HandleOutcome::Done);
        assert!(q.lapsed(1_500));
        q.rewind();
        assert_eq!(q.next_offset, 0);
        assert!(q.in_flight.is_empty());
        assert_eq!((q.delivered_before(0), q.delivered_before(2)), (1, 1));
        assert!(q.is_acked(1));
        // Second delivery: 0 and 2 (1 is skipped by the reader); then all acked.
        let second = InFlight {
            pop_time: 2_000,
            invisible_ms: 500,
        };
        q.take(&[0, 2], 3, second, true);
        assert_eq!(q.ack(0, 2_000), HandleOutcome::Done);
        assert_eq!(q.ack(2, 2_000), HandleOutcome::Done);
        assert!(!q.blocked(2_100));
        assert_eq!(q.committed(), 3);
        assert!(q.acked.is_empty() && q.deliveries.is_empty(), "trimmed");
    }
}
