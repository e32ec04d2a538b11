//! Dividing a group's queues among its members, and acting on the division.
//!
//! The allocation functions are pure and follow Java's `AllocateMessageQueue*` classes to the
//! letter (members and queues sorted as Java sorts them: client ids by `String.compareTo`,
//! queues by topic, broker name, queue id), so that Petrel consumers and Java consumers in one
//! group agree on who owns what. Every member computes its share from the same two lists; when
//! the lists agree, each queue has exactly one owner.
//!
//! The per-group rebalance (run every `ClientConfig::rebalance_interval`, when a broker says
//! the group changed, and 500 ms after an orderly queue could not be locked): for each
//! subscribed topic, the queues from the route and the members from `GET_CONSUMER_LIST_BY_GROUP`
//! (clustering) or simply all queues (broadcasting); queues no longer ours are dropped (their
//! offsets committed first, orderly ones unlocked once their batch in progress ends); new ones
//! start at the offset [`start_offset`] picks, as Java's `RebalancePushImpl.computePullFromWhere`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use md5::{Digest, Md5};
use petrel_protocol::topic::is_retry_topic;

use super::offset_store::ReadOffsetType;
use super::process_queue::ProcessQueue;
use super::push::ConsumerInner;
use super::{AllocateStrategy, ConsumeFromWhere, MessageModel};
use crate::error::Result;
use crate::instance::TopicRoute;
use crate::message::{now_ms, MessageQueue};

/// How long an orderly queue given up waits for its batch in progress before it is unlocked
/// anyway (`rocketmq.client.unlockDelayTimeMills`).
const UNLOCK_DELAY_MS: i64 = 20_000;
/// A rebalance that could not lock every new orderly queue runs again after this.
const RETRY_LOCK_DELAY: Duration = Duration::from_millis(500);

/// Java's `String.compareTo`: by UTF-16 code units.
fn java_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Java's `MessageQueue.compareTo`: topic, then broker name, then queue id.
fn java_mq_cmp(a: &MessageQueue, b: &MessageQueue) -> Ordering {
    java_cmp(&a.topic, &b.topic)
        .then_with(|| java_cmp(&a.broker_name, &b.broker_name))
        .then_with(|| a.queue_id.cmp(&b.queue_id))
}

/// Java's `MessageQueue.toString`, the key consistent hashing routes by.
fn java_mq_string(mq: &MessageQueue) -> String {
    format!(
        "MessageQueue [topic={}, brokerName={}, queueId={}]",
        mq.topic, mq.broker_name, mq.queue_id
    )
}

/// The queues of `mq_all` that `current_cid` owns among the members `cid_all`. Both lists are
/// sorted here as Java sorts them. Empty when `current_cid` is not a member (yet).
pub fn allocate(
    strategy: &AllocateStrategy,
    current_cid: &str,
    mq_all: &[MessageQueue],
    cid_all: &[String],
) -> Vec<MessageQueue> {
    let mut mqs = mq_all.to_vec();
    mqs.sort_by(java_mq_cmp);
    mqs.dedup();
    let mut cids = cid_all.to_vec();
    cids.sort_by(|a, b| java_cmp(a, b));
    if current_cid.is_empty() || mqs.is_empty() || cids.is_empty() {
        return Vec::new();
    }
    let Some(index) = cids.iter().position(|c| c == current_cid) else {
        return Vec::new();
    };
    match strategy {
        AllocateStrategy::Average => allocate_averagely(index, &mqs, cids.len()),
        AllocateStrategy::AverageByCircle => allocate_by_circle(index, &mqs, cids.len()),
        AllocateStrategy::ConsistentHash { virtual_nodes } => {
            allocate_consistent_hash(current_cid, &mqs, &cids, *virtual_nodes)
        }
    }
}

/// `AllocateMessageQueueAveragely`: contiguous ranges; the first `n % members` members get one
/// queue more.
fn allocate_averagely(index: usize, mqs: &[MessageQueue], members: usize) -> Vec<MessageQueue> {
    let n = mqs.len();
    let rem = n % members;
    let average = if n <= members {
        1
    } else if rem > 0 && index < rem {
        n / members + 1
    } else {
        n / members
    };
    let start = if rem > 0 && index < rem {
        index * average
    } else {
        index * average + rem
    };
    let range = average.min(n.saturating_sub(start));
    mqs[start.min(n)..start.min(n) + range].to_vec()
}

/// `AllocateMessageQueueAveragelyByCircle`: queue `i` goes to member `i % members`.
fn allocate_by_circle(index: usize, mqs: &[MessageQueue], members: usize) -> Vec<MessageQueue> {
    mqs.iter()
        .enumerate()
        .skip(index)
        .filter(|(i, _)| i % members == index)
        .map(|(_, mq)| mq.clone())
        .collect()
}

/// `ConsistentHashRouter`'s default hash: the first four bytes of the MD5 of the UTF-8 key,
/// big-endian, as a non-negative long.
fn md5_hash(key: &str) -> i64 {
    let digest = Md5::digest(key.as_bytes());
    i64::from(u32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ]))
}

/// `AllocateMessageQueueConsistentHash`: each member is placed on a hash ring `virtual_nodes`
/// times (keys `{clientId}-{i}`, a later member taking a position two share, as Java's
/// `TreeMap.put` does); a queue belongs to the first member at or after its own hash.
fn allocate_consistent_hash(
    current_cid: &str,
    mqs: &[MessageQueue],
    cids: &[String],
    virtual_nodes: usize,
) -> Vec<MessageQueue> {
    let mut ring: BTreeMap<i64, &str> = BTreeMap::new();
    for cid in cids {
        for i in 0..virtual_nodes {
            ring.insert(md5_hash(&format!("{cid}-{i}")), cid);
        }
    }
    let Some((_, first)) = ring.iter().next() else {
        return Vec::new();
    };
    mqs.iter()
        .filter(|mq| {
            let h = md5_hash(&java_mq_string(mq));
            let owner = ring.range(h..).next().map(|(_, c)| *c).unwrap_or(first);
            owner == current_cid
        })
        .cloned()
        .collect()
}

/// Where a queue newly assigned to this consumer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOffset {
    /// At this offset.
    At(i64),
    /// At the queue's max offset (ask the broker: `GET_MAX_OFFSET`).
    MaxOffset,
    /// At the first message stored at or after this time, epoch ms
    /// (`SEARCH_OFFSET_BY_TIMESTAMP`).
    ByTimestamp(i64),
}

/// Java's `RebalancePushImpl.computePullFromWhere`: the committed offset when there is one;
/// for a new group, `consume_from_where` decides, except that a retry topic never skips what
/// is already in it (it holds this group's own failed messages):
///
/// | consume from | new group, normal topic | new group, `%RETRY%` topic |
/// |---|---|---|
/// | last offset (and the deprecated min/max variants) | max offset | 0 |
/// | first offset | 0 (moved to the min offset by the broker's OFFSET_ILLEGAL answer) | 0 |
/// | timestamp | the offset at `timestamp_ms` | max offset |
pub fn start_offset(
    consume_from_where: ConsumeFromWhere,
    topic: &str,
    committed: Option<i64>,
    timestamp_ms: i64,
) -> StartOffset {
    if let Some(offset) = committed.filter(|o| *o >= 0) {
        return StartOffset::At(offset);
    }
    let retry = is_retry_topic(topic);
    match consume_from_where {
        ConsumeFromWhere::ConsumeFromLastOffset
        | ConsumeFromWhere::ConsumeFromLastOffsetAndFromMinWhenBootFirst
        | ConsumeFromWhere::ConsumeFromMinOffset
        | ConsumeFromWhere::ConsumeFromMaxOffset => {
            if retry {
                StartOffset::At(0)
            } else {
                StartOffset::MaxOffset
            }
        }
        ConsumeFromWhere::ConsumeFromFirstOffset => StartOffset::At(0),
        ConsumeFromWhere::ConsumeFromTimestamp => {
            if retry {
                StartOffset::MaxOffset
            } else {
                StartOffset::ByTimestamp(timestamp_ms)
            }
        }
    }
}

impl ConsumerInner {
    /// One rebalance of every subscribed topic (serialised with offset resets).
    pub(super) async fn rebalance(self: &Arc<Self>) {
        let _serial = self.rebalance_serial.lock().await;
        if self.is_shutting_down() {
            return;
        }
        let topics: Vec<String> = self.subscriptions.read().keys().cloned().collect();
        let mut all_locked = true;
        for topic in &topics {
            match self.rebalance_topic(topic).await {
                Ok(locked) => all_locked &= locked,
                Err(e) => {
                    if is_retry_topic(topic) {
                        tracing::debug!(group = %self.config.group, %topic, error = %e, "rebalance of the retry topic skipped");
                    } else {
                        tracing::warn!(group = %self.config.group, %topic, error = %e, "rebalance failed");
                    }
                }
            }
        }
        // Queues of topics no longer subscribed (none today: subscriptions are fixed at start).
        let stale: Vec<(MessageQueue, Arc<ProcessQueue>)> = self
            .process_queues
            .lock()
            .iter()
            .filter(|(mq, _)| !topics.contains(&mq.topic))
            .map(|(mq, pq)| (mq.clone(), Arc::clone(pq)))
            .collect();
        for (mq, pq) in stale {
            pq.set_dropped();
            self.process_queues.lock().remove(&mq);
        }
        if !all_locked {
            self.rebalance_later(RETRY_LOCK_DELAY);
        }
    }

    /// Asks for a rebalance after `delay`.
    pub(super) fn rebalance_later(self: &Arc<Self>, delay: Duration) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(me) = me.upgrade() {
                me.rebalance_now.notify_one();
            }
        });
    }

    /// Returns whether every new queue that needed a lock got it.
    async fn rebalance_topic(self: &Arc<Self>, topic: &str) -> Result<bool> {
        let route = self.instance.route(topic).await?;
        let assigned: BTreeSet<MessageQueue> = match self.config.message_model {
            MessageModel::Broadcasting => route.subscribe_queues.iter().cloned().collect(),
            MessageModel::Clustering => {
                let cids = self.consumer_ids(&route).await?;
                let mine = allocate(
                    &self.config.allocate_strategy,
                    &self.client_id,
                    &route.subscribe_queues,
                    &cids,
                );
                tracing::debug!(group = %self.config.group, %topic, members = cids.len(), queues = route.subscribe_queues.len(), mine = mine.len(), "allocated");
                mine.into_iter().collect()
            }
        };
        Ok(self.update_process_queues(topic, &assigned).await)
    }

    /// The group's members, from a broker of the topic (`GET_CONSUMER_LIST_BY_GROUP`).
    async fn consumer_ids(&self, route: &TopicRoute) -> Result<Vec<String>> {
        super::pull_api::consumer_ids(&self.instance, &self.config.group, route).await
    }

    /// Drops the queues of `topic` not in `assigned` and starts the new ones. Returns false
    /// when an orderly queue could not be locked (the rebalance is then repeated soon).
    async fn update_process_queues(
        self: &Arc<Self>,
        topic: &str,
        assigned: &BTreeSet<MessageQueue>,
    ) -> bool {
        let current: Vec<(MessageQueue, Arc<ProcessQueue>)> = self
            .process_queues
            .lock()
            .iter()
            .filter(|(mq, _)| mq.topic == topic)
            .map(|(mq, pq)| (mq.clone(), Arc::clone(pq)))
            .collect();
        for (mq, pq) in current {
            // A queue dropped earlier whose removal had to wait is retried here.
            if !assigned.contains(&mq) || pq.is_dropped() {
                pq.set_dropped();
                if self.remove_unnecessary_queue(&mq, &pq).await {
                    let mut table = self.process_queues.lock();
                    if table.get(&mq).is_some_and(|p| Arc::ptr_eq(p, &pq)) {
                        table.remove(&mq);
                    }
                    tracing::info!(group = %self.config.group, ?mq, "queue removed");
                }
            }
        }

        let needs_lock = self.needs_queue_locks();
        let mut all_locked = true;
        for mq in assigned {
            if self.process_queues.lock().contains_key(mq) {
                continue;
            }
            if needs_lock && !self.lock_queue(mq).await {
                tracing::info!(group = %self.config.group, ?mq, "queue not added: its lock is held by another member");
                all_locked = false;
                continue;
            }
            self.offset_store.remove(mq);
            let pq = Arc::new(ProcessQueue::new());
            pq.set_locked(true);
            match self.compute_pull_from_where(mq).await {
                Ok(offset) => {
                    tracing::info!(group = %self.config.group, ?mq, offset, "queue added");
                    self.process_queues
                        .lock()
                        .insert(mq.clone(), Arc::clone(&pq));
                    self.start_queue(mq.clone(), pq, offset);
                }
                Err(e) => {
                    tracing::warn!(group = %self.config.group, ?mq, error = %e, "queue not added: its start offset is unknown")
                }
            }
        }
        all_locked
    }

    /// Gives up a queue: commits its offset and forgets it; an orderly queue is unlocked on the
    /// broker once the batch in progress is done (or after 20 s without a lock renewal).
    /// Returns false when the queue must stay for now (a batch is still running).
    pub(super) async fn remove_unnecessary_queue(
        &self,
        mq: &MessageQueue,
        pq: &Arc<ProcessQueue>,
    ) -> bool {
        if self.needs_queue_locks() {
            let force = now_ms() > pq.last_lock_ms() + UNLOCK_DELAY_MS;
            let _guard = if force {
                None
            } else {
                match tokio::time::timeout(
                    Duration::from_millis(500),
                    Arc::clone(&pq.consume_lock).lock_owned(),
                )
                .await
                {
                    Ok(g) => Some(g),
                    Err(_) => {
                        pq.inc_try_unlock_times();
                        return false;
                    }
                }
            };
            self.persist_and_forget(mq).await;
            pq.set_locked(false);
            self.unlock_queues(&mq.broker_name, [mq.clone()].into_iter().collect())
                .await;
            true
        } else {
            self.persist_and_forget(mq).await;
            true
        }
    }

    async fn persist_and_forget(&self, mq: &MessageQueue) {
        if let Err(e) = self.offset_store.persist(mq).await {
            tracing::warn!(group = %self.config.group, ?mq, error = %e, "committing the offset of a queue given up failed");
        }
        self.offset_store.remove(mq);
    }

    /// The offset a newly assigned queue starts at ([`start_offset`]), remembered as the
    /// queue's offset so that a member taking the queue over later starts there too.
    pub(super) async fn compute_pull_from_where(&self, mq: &MessageQueue) -> Result<i64> {
        let committed = self.offset_store.read(mq, ReadOffsetType::Store).await?;
        let offset = match start_offset(
            self.config.consume_from_where,
            &mq.topic,
            committed,
            self.consume_timestamp_ms,
        ) {
            StartOffset::At(o) => o,
            StartOffset::MaxOffset => super::pull_api::max_offset(&self.instance, mq).await?,
            StartOffset::ByTimestamp(t) => {
                super::pull_api::search_offset(&self.instance, mq, t).await?
            }
        };
        if committed.is_none() {
            self.offset_store.update(mq, offset, false);
        }
        Ok(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn queues(brokers: &[&str], per_broker: i32) -> Vec<MessageQueue> {
        brokers
            .iter()
            .flat_map(|b| (0..per_broker).map(move |q| MessageQueue::new("T", *b, q)))
            .collect()
    }

    fn cids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("10.0.0.{i}@{i}")).collect()
    }

    fn ids(mqs: &[MessageQueue]) -> Vec<(String, i32)> {
        mqs.iter()
            .map(|q| (q.broker_name.clone(), q.queue_id))
            .collect()
    }

    #[test]
    fn average_gives_contiguous_ranges_with_the_remainder_first() {
        // 8 queues, 3 members: 3, 3, 2 (Java's AllocateMessageQueueAveragely).
        let mqs = queues(&["b"], 8);
        let c = cids(3);
        let got: Vec<Vec<i32>> = c
            .iter()
            .map(|me| {
                allocate(&AllocateStrategy::Average, me, &mqs, &c)
                    .iter()
                    .map(|q| q.queue_id)
                    .collect()
            })
            .collect();
        assert_eq!(got, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]);
    }

    #[test]
    fn average_with_more_members_than_queues_leaves_some_idle() {
        let mqs = queues(&["b"], 2);
        let c = cids(3);
        let got: Vec<usize> = c
            .iter()
            .map(|me| allocate(&AllocateStrategy::Average, me, &mqs, &c).len())
            .collect();
        assert_eq!(got, vec![1, 1, 0]);
    }

    #[test]
    fn by_circle_deals_queues_round_robin() {
        let mqs = queues(&["b"], 7);
        let c = cids(3);
        let got: Vec<Vec<i32>> = c
            .iter()
            .map(|me| {
                allocate(&AllocateStrategy::AverageByCircle, me, &mqs, &c)
                    .iter()
                    .map(|q| q.queue_id)
                    .collect()
            })
            .collect();
        assert_eq!(got, vec![vec![0, 3, 6], vec![1, 4], vec![2, 5]]);
    }

    #[test]
    fn inputs_are_sorted_as_java_sorts_them() {
        // Unsorted input: queues by broker name then id; members by client id.
        let mqs = vec![
            MessageQueue::new("T", "broker-b", 1),
            MessageQueue::new("T", "broker-a", 1),
            MessageQueue::new("T", "broker-b", 0),
            MessageQueue::new("T", "broker-a", 0),
        ];
        let c = vec!["z@1".to_string(), "a@1".to_string()];
        assert_eq!(
            ids(&allocate(&AllocateStrategy::Average, "a@1", &mqs, &c)),
            vec![("broker-a".into(), 0), ("broker-a".into(), 1)]
        );
        assert_eq!(
            ids(&allocate(&AllocateStrategy::Average, "z@1", &mqs, &c)),
            vec![("broker-b".into(), 0), ("broker-b".into(), 1)]
        );
        // Queue id order is numeric, not textual: 10 after 9.
        let many = queues(&["b"], 11);
        let first = allocate(&AllocateStrategy::Average, "a@1", &many, &c);
        assert_eq!(first.last().unwrap().queue_id, 5);
    }

    #[test]
    fn a_consumer_not_in_the_member_list_gets_nothing() {
        let mqs = queues(&["b"], 4);
        assert!(allocate(&AllocateStrategy::Average, "x@9", &mqs, &cids(2)).is_empty());
        assert!(allocate(&AllocateStrategy::Average, "x@9", &[], &["x@9".into()]).is_empty());
    }

    #[test]
    fn md5_hash_matches_java_consistent_hash_router() {
        // MD5("abc") = 900150983cd24fb0...: the first four bytes as a long.
        assert_eq!(md5_hash("abc"), 0x9001_5098);
        // MD5("") = d41d8cd98f00b204...
        assert_eq!(md5_hash(""), 0xd41d_8cd9);
        assert_eq!(
            java_mq_string(&MessageQueue::new("T", "b", 3)),
            "MessageQueue [topic=T, brokerName=b, queueId=3]"
        );
    }

    #[test]
    fn consistent_hash_moves_few_queues_when_a_member_leaves() {
        let mqs = queues(&["broker-a", "broker-b"], 16);
        let strategy = AllocateStrategy::ConsistentHash { virtual_nodes: 10 };
        let four = cids(4);
        let three: Vec<String> = four[..3].to_vec();
        let owner = |members: &[String], mq: &MessageQueue| -> String {
            members
                .iter()
                .find(|m| allocate(&strategy, m, &mqs, members).contains(mq))
                .cloned()
                .unwrap()
        };
        let mut moved = 0;
        for mq in &mqs {
            let before = owner(&four, mq);
            let after = owner(&three, mq);
            if before != four[3] {
                // Queues of members that stay keep their owner.
                assert_eq!(before, after, "{mq:?}");
            } else {
                moved += 1;
            }
        }
        assert!(moved < mqs.len());
        // No virtual nodes: an empty ring, nothing allocated (as in Java).
        assert!(allocate(
            &AllocateStrategy::ConsistentHash { virtual_nodes: 0 },
            &four[0],
            &mqs,
            &four
        )
        .is_empty());
    }

    fn strategies() -> impl Strategy<Value = AllocateStrategy> {
        prop_oneof![
            Just(AllocateStrategy::Average),
            Just(AllocateStrategy::AverageByCircle),
            (1usize..20).prop_map(|v| AllocateStrategy::ConsistentHash { virtual_nodes: v }),
        ]
    }

    proptest! {
        #[test]
        fn every_queue_has_exactly_one_owner(
            strategy in strategies(),
            brokers in 1usize..4,
            per_broker in 1i32..17,
            members in 1usize..12,
            seed in any::<u64>(),
        ) {
            let names: Vec<String> = (0..brokers).map(|b| format!("broker-{b}")).collect();
            let mut mqs: Vec<MessageQueue> = names
                .iter()
                .flat_map(|b| (0..per_broker).map(move |q| MessageQueue::new("T", b.clone(), q)))
                .collect();
            let mut c: Vec<String> = (0..members).map(|i| format!("10.1.{}.{i}@p{}", seed % 7, i * 13)).collect();
            // Members see the lists in different orders; allocation must not depend on it.
            let (mq_shift, c_shift) = ((seed as usize) % mqs.len(), (seed as usize) % c.len());
            mqs.rotate_left(mq_shift);
            c.rotate_left(c_shift);
            let mut owners: BTreeMap<MessageQueue, usize> = BTreeMap::new();
            for me in &c {
                let mut view = c.clone();
                view.reverse();
                for mq in allocate(&strategy, me, &mqs, &view) {
                    *owners.entry(mq).or_default() += 1;
                }
            }
            prop_assert_eq!(owners.len(), mqs.len());
            prop_assert!(owners.values().all(|n| *n == 1));
        }

        #[test]
        fn averaging_strategies_are_balanced(
            circle in any::<bool>(),
            queues_n in 1i32..40,
            members in 1usize..12,
        ) {
            let strategy = if circle { AllocateStrategy::AverageByCircle } else { AllocateStrategy::Average };
            let mqs = queues(&["b"], queues_n);
            let c = cids(members);
            let sizes: Vec<usize> = c.iter().map(|me| allocate(&strategy, me, &mqs, &c).len()).collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            prop_assert!(max - min <= 1);
        }
    }

    #[test]
    fn committed_offsets_win_whatever_consume_from_where_says() {
        for cfw in [
            ConsumeFromWhere::ConsumeFromLastOffset,
            ConsumeFromWhere::ConsumeFromFirstOffset,
            ConsumeFromWhere::ConsumeFromTimestamp,
        ] {
            assert_eq!(start_offset(cfw, "T", Some(17), 5), StartOffset::At(17));
            assert_eq!(
                start_offset(cfw, "%RETRY%g", Some(0), 5),
                StartOffset::At(0)
            );
        }
    }

    #[test]
    fn a_new_group_starts_where_consume_from_where_says() {
        use ConsumeFromWhere::*;
        // Last offset: skip the backlog of normal topics, but never of the retry topic.
        assert_eq!(
            start_offset(ConsumeFromLastOffset, "T", None, 0),
            StartOffset::MaxOffset
        );
        assert_eq!(
            start_offset(ConsumeFromLastOffset, "%RETRY%g", None, 0),
            StartOffset::At(0)
        );
        // The deprecated variants behave as last offset.
        for cfw in [
            ConsumeFromLastOffsetAndFromMinWhenBootFirst,
            ConsumeFromMinOffset,
            ConsumeFromMaxOffset,
        ] {
            assert_eq!(start_offset(cfw, "T", None, 0), StartOffset::MaxOffset);
            assert_eq!(start_offset(cfw, "%RETRY%g", None, 0), StartOffset::At(0));
        }
        // First offset: from 0 (the broker moves it to the min offset).
        assert_eq!(
            start_offset(ConsumeFromFirstOffset, "T", None, 0),
            StartOffset::At(0)
        );
        assert_eq!(
            start_offset(ConsumeFromFirstOffset, "%RETRY%g", None, 0),
            StartOffset::At(0)
        );
        // Timestamp: search by time, except the retry topic, which starts at its end.
        assert_eq!(
            start_offset(ConsumeFromTimestamp, "T", None, 1_700_000_000_000),
            StartOffset::ByTimestamp(1_700_000_000_000)
        );
        assert_eq!(
            start_offset(ConsumeFromTimestamp, "%RETRY%g", None, 1),
            StartOffset::MaxOffset
        );
        // A negative "offset" is no offset.
        assert_eq!(
            start_offset(ConsumeFromLastOffset, "T", Some(-1), 0),
            StartOffset::MaxOffset
        );
    }
}
