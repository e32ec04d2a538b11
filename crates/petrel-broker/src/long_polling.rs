//! Long polling: pulls that find nothing wait here until a message arrives on their queue (the
//! store's dispatcher calls [`PullWaiters::on_arrivals`]) or their time runs out.
//!
//! A waiter is woken only if the arrival moves the queue past the offset it waits for and the
//! newest message's tag matches its filter, so idle subscriptions to other tags stay asleep.
//! The number of waiters is bounded (`max_waiters`); past it, pulls are not suspended.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use petrel_store::{Arrival, MessageFilter};
use tokio::sync::oneshot;

use crate::filter::SubscriptionFilter;

struct Waiter {
    offset: i64,
    filter: Arc<SubscriptionFilter>,
    tx: oneshot::Sender<()>,
}

pub struct PullWaiters {
    max_waiters: usize,
    count: AtomicUsize,
    queues: Mutex<HashMap<(String, i32), Vec<Waiter>>>,
}

impl PullWaiters {
    pub fn new(max_waiters: usize) -> Self {
        Self {
            max_waiters,
            count: AtomicUsize::new(0),
            queues: Mutex::default(),
        }
    }

    /// Registers interest in `topic`/`queue_id` beyond `offset`. `None` when too many pulls
    /// already wait.
    pub fn register(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        filter: Arc<SubscriptionFilter>,
    ) -> Option<oneshot::Receiver<()>> {
        let mut queues = self.queues.lock();
        let key = (topic.to_string(), queue_id);
        let list = queues.entry(key).or_default();
        // Drop waiters whose pull already gave up.
        let before = list.len();
        list.retain(|w| !w.tx.is_closed());
        self.count.fetch_sub(before - list.len(), Ordering::Relaxed);
        if self.count.load(Ordering::Relaxed) >= self.max_waiters {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        list.push(Waiter { offset, filter, tx });
        self.count.fetch_add(1, Ordering::Relaxed);
        Some(rx)
    }

    /// Wakes the waiters the arrivals satisfy.
    pub fn on_arrivals(&self, arrivals: &[Arrival]) {
        let mut queues = self.queues.lock();
        for a in arrivals {
            let Some(list) = queues.get_mut(&(a.topic.clone(), a.queue_id)) else {
                continue;
            };
            let before = list.len();
            let mut i = 0;
            while i < list.len() {
                let w = &list[i];
                let satisfied = a.max_offset > w.offset && w.filter.matches_tags_code(a.tags_code);
                if satisfied || w.tx.is_closed() {
                    let w = list.swap_remove(i);
                    let _ = w.tx.send(());
                } else {
                    i += 1;
                }
            }
            self.count.fetch_sub(before - list.len(), Ordering::Relaxed);
        }
    }

    /// Pulls waiting now.
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use petrel_protocol::message::tag_hash_code;

    fn arrival(topic: &str, queue_id: i32, max_offset: i64, tag: &str) -> Arrival {
        Arrival {
            topic: topic.into(),
            queue_id,
            max_offset,
            tags_code: tag_hash_code(tag),
            store_timestamp: 0,
        }
    }

    #[test]
    fn wakes_only_matching_waiters() {
        let w = PullWaiters::new(10);
        let all = Arc::new(SubscriptionFilter::All);
        let only_a = Arc::new(SubscriptionFilter::parse_tags("A"));
        let mut r1 = w.register("t", 0, 5, all.clone()).unwrap();
        let mut r2 = w.register("t", 0, 5, only_a).unwrap();
        let mut r3 = w.register("t", 1, 0, all.clone()).unwrap();
        assert_eq!(w.len(), 3);
        // Not past the offset: nobody wakes.
        w.on_arrivals(&[arrival("t", 0, 5, "B")]);
        assert!(r1.try_recv().is_err() && r2.try_recv().is_err());
        // Past it with tag B: only the unfiltered waiter wakes.
        w.on_arrivals(&[arrival("t", 0, 6, "B")]);
        assert!(r1.try_recv().is_ok());
        assert!(r2.try_recv().is_err());
        w.on_arrivals(&[arrival("t", 0, 7, "A")]);
        assert!(r2.try_recv().is_ok());
        assert!(r3.try_recv().is_err());
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn bounded_and_cleans_up_abandoned_waiters() {
        let w = PullWaiters::new(2);
        let all = Arc::new(SubscriptionFilter::All);
        let r1 = w.register("t", 0, 0, all.clone()).unwrap();
        let _r2 = w.register("t", 0, 0, all.clone()).unwrap();
        assert!(w.register("t", 0, 0, all.clone()).is_none());
        drop(r1);
        assert!(w.register("t", 0, 0, all).is_some());
    }
}
