//! How a group's queues are divided among its members (RocketMQ's
//! `AllocateMessageQueueStrategy` implementations), as pure functions both consumers call.
//!
//! They follow Java's `AllocateMessageQueue*` classes to the letter (members and queues sorted
//! as Java sorts them: client ids by `String.compareTo`, queues by topic, broker name, queue
//! id), so that Petrel consumers and Java consumers in one group agree on who owns what. Every
//! member computes its share from the same two lists; when the lists agree, each queue has
//! exactly one owner.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use md5::{Digest, Md5};

use crate::message::MessageQueue;

/// How a group's queues are divided among its members (`AllocateMessageQueueStrategy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocateStrategy {
    /// Contiguous ranges of about equal size (`AllocateMessageQueueAveragely`).
    Average,
    /// Round-robin (`AllocateMessageQueueAveragelyByCircle`).
    AverageByCircle,
    /// Consistent hashing with `virtual_nodes` per member (`AllocateMessageQueueConsistentHash`):
    /// a member joining or leaving moves few queues. Java's default is 10 virtual nodes.
    ConsistentHash { virtual_nodes: usize },
}

impl AllocateStrategy {
    /// The strategy's name in Java (`getName()`), shown by admin tools.
    pub fn name(&self) -> &'static str {
        match self {
            AllocateStrategy::Average => "AVG",
            AllocateStrategy::AverageByCircle => "AVG_BY_CIRCLE",
            AllocateStrategy::ConsistentHash { .. } => "CONSISTENT_HASH",
        }
    }
}

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
    mqs[petrel_protocol::rebalance::average_range(index, mqs.len(), members)].to_vec()
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
}
