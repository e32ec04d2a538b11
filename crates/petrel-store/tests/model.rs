//! Model-based property test: random appends (single and batch, several topics and queues)
//! interleaved with clean restarts and crashes; after every reopen the store must hold exactly
//! what the model says, and new appends continue the queue offsets.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use petrel_store::{AcceptAll, MessageStore};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append {
        topic: u8,
        queue_id: i32,
        count: usize,
        size: usize,
    },
    CleanRestart,
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..3, 0i32..3, 1usize..6, 0usize..2500)
            .prop_map(|(topic, queue_id, count, size)| Op::Append { topic, queue_id, count, size }),
        1 => Just(Op::CleanRestart),
        1 => Just(Op::Crash),
    ]
}

type Model = BTreeMap<(String, i32), Vec<Vec<u8>>>;

fn check(store: &MessageStore, model: &Model) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.dispatched_offset() < store.commit_log_max_offset() as u64 {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(1));
    }
    for ((topic, queue_id), bodies) in model {
        let got = store.get_message(topic, *queue_id, 0, 100_000, usize::MAX, &AcceptAll);
        let got: Vec<Vec<u8>> = got.messages.iter().map(|m| body_of(m)).collect();
        assert_eq!(&got, bodies, "{topic}/{queue_id}");
        assert_eq!(
            store.next_queue_offset(topic, *queue_id),
            bodies.len() as i64
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, .. ProptestConfig::default() })]

    #[test]
    fn store_matches_the_model_across_restarts_and_crashes(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let mut model: Model = BTreeMap::new();
        let mut store = Some(MessageStore::open(small_config(dir.path())).unwrap());
        let mut n = 0u64;
        for op in ops {
            match op {
                Op::Append { topic, queue_id, count, size } => {
                    let topic = format!("T{topic}");
                    let msgs: Vec<Msg> = (0..count)
                        .map(|_| {
                            n += 1;
                            let body: Vec<u8> = format!("{n}:").bytes().chain(std::iter::repeat_n(b'.', size)).collect();
                            Msg::new(&topic, queue_id, body)
                        })
                        .collect();
                    let views: Vec<_> = msgs.iter().map(Msg::as_store).collect();
                    let r = store.as_ref().unwrap().append(&views).unwrap();
                    let entry = model.entry((topic, queue_id)).or_default();
                    prop_assert_eq!(r.queue_offset, entry.len() as i64);
                    entry.extend(msgs.into_iter().map(|m| m.body));
                }
                Op::CleanRestart => {
                    let s = store.take().unwrap();
                    s.shutdown().unwrap();
                    drop(s);
                    let s = MessageStore::open(small_config(dir.path())).unwrap();
                    check(&s, &model);
                    store = Some(s);
                }
                Op::Crash => {
                    drop(store.take());
                    let s = MessageStore::open(small_config(dir.path())).unwrap();
                    check(&s, &model);
                    store = Some(s);
                }
            }
        }
        check(store.as_ref().unwrap(), &model);
    }
}
