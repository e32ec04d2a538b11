//! Queue locks for orderly consumption (RocketMQ's `RebalanceLockManager`): a consumer of an
//! orderly group locks its queues on the broker (LOCK_BATCH_MQ) so that two members never
//! process one queue at once; a lock not renewed within `lock_max_live_ms` (60 s; clients renew
//! every 20 s) expires. Pure: callers pass the time.

use std::collections::{BTreeSet, HashMap};

use parking_lot::Mutex;
use petrel_protocol::remoting::body::MessageQueue;

/// RocketMQ's `rocketmq.broker.rebalance.lockMaxLiveTime` default.
pub const DEFAULT_LOCK_MAX_LIVE_MS: i64 = 60_000;

#[derive(Debug, Clone)]
struct LockEntry {
    client_id: String,
    last_update_ms: i64,
}

pub struct RebalanceLockManager {
    lock_max_live_ms: i64,
    groups: Mutex<HashMap<String, HashMap<MessageQueue, LockEntry>>>,
}

impl RebalanceLockManager {
    pub fn new(lock_max_live_ms: i64) -> Self {
        Self {
            lock_max_live_ms,
            groups: Mutex::default(),
        }
    }

    /// Locks (or renews) each queue for `client_id` unless another live client holds it;
    /// returns the queues `client_id` now holds.
    pub fn try_lock_batch(
        &self,
        group: &str,
        mqs: &BTreeSet<MessageQueue>,
        client_id: &str,
        now_ms: i64,
    ) -> BTreeSet<MessageQueue> {
        let mut groups = self.groups.lock();
        let locks = groups.entry(group.to_string()).or_default();
        let mut locked = BTreeSet::new();
        for mq in mqs {
            let free = match locks.get(mq) {
                None => true,
                Some(e) if e.client_id == client_id => true,
                Some(e) => now_ms - e.last_update_ms > self.lock_max_live_ms,
            };
            if free {
                locks.insert(
                    mq.clone(),
                    LockEntry {
                        client_id: client_id.to_string(),
                        last_update_ms: now_ms,
                    },
                );
                locked.insert(mq.clone());
            }
        }
        locked
    }

    /// Releases the queues `client_id` holds among `mqs`.
    pub fn unlock_batch(&self, group: &str, mqs: &BTreeSet<MessageQueue>, client_id: &str) {
        let mut groups = self.groups.lock();
        if let Some(locks) = groups.get_mut(group) {
            for mq in mqs {
                if locks.get(mq).is_some_and(|e| e.client_id == client_id) {
                    locks.remove(mq);
                }
            }
        }
    }

    /// The live holder of a queue, if any.
    pub fn holder(&self, group: &str, mq: &MessageQueue, now_ms: i64) -> Option<String> {
        let groups = self.groups.lock();
        let e = groups.get(group)?.get(mq)?;
        (now_ms - e.last_update_ms <= self.lock_max_live_ms).then(|| e.client_id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mqs(ids: &[i32]) -> BTreeSet<MessageQueue> {
        ids.iter()
            .map(|&i| MessageQueue::new("t", "b", i))
            .collect()
    }

    #[test]
    fn one_live_holder_per_queue_and_expiry() {
        let m = RebalanceLockManager::new(60_000);
        assert_eq!(m.try_lock_batch("g", &mqs(&[0, 1]), "c1", 0), mqs(&[0, 1]));
        assert_eq!(m.try_lock_batch("g", &mqs(&[1, 2]), "c2", 10), mqs(&[2]));
        // c1 renews; c2 still cannot take queue 1.
        assert_eq!(m.try_lock_batch("g", &mqs(&[1]), "c1", 50_000), mqs(&[1]));
        assert_eq!(m.try_lock_batch("g", &mqs(&[1]), "c2", 100_000), mqs(&[]));
        // Not renewed for over 60 s: expired.
        assert_eq!(m.try_lock_batch("g", &mqs(&[0]), "c2", 70_001), mqs(&[0]));
        // Another group is independent; unlock frees.
        assert_eq!(m.try_lock_batch("h", &mqs(&[1]), "c2", 70_001), mqs(&[1]));
        m.unlock_batch("g", &mqs(&[1]), "c1");
        assert_eq!(m.holder("g", &MessageQueue::new("t", "b", 1), 70_002), None);
        assert_eq!(m.try_lock_batch("g", &mqs(&[1]), "c2", 70_002), mqs(&[1]));
        // Unlock by a non-holder does nothing.
        m.unlock_batch("g", &mqs(&[1]), "c1");
        assert_eq!(
            m.holder("g", &MessageQueue::new("t", "b", 1), 70_003)
                .as_deref(),
            Some("c2")
        );
    }
}
