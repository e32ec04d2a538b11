//! A broker started on a store Apache RocketMQ 5.5.0 wrote (the store crate's fixture,
//! `crates/petrel-store/tests/fixtures/apache-5.5.0`): RocketMQ's `config/*.json` are read
//! (topics, subscription groups, consumer offsets, delay offsets) and its timer checkpoint
//! (`config/timercheck`), so committed offsets are served as RocketMQ committed them, and the
//! delayed and timer messages RocketMQ still held are delivered once while those it had
//! delivered are not delivered again.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::path::Path;
use std::time::Duration;

use petrel_broker::BrokerConfig;
use petrel_protocol::remoting::header::{
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use petrel_remoting::RemotingClient;
use support::{call, client, max_offset, properties_of, pull_header, pull_with, records, T};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the fixture's store.
fn apache_store() -> tempfile::TempDir {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../petrel-store/tests/fixtures/apache-5.5.0/store");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture, dir.path());
    dir
}

/// The sizes the fixture was written with (its README).
fn apache_sizes(config: &mut BrokerConfig) {
    config.store.mapped_file_size_commit_log = 65_536;
    config.store.mapped_file_size_consume_queue = 2_000;
    config.store.max_hash_slot_num = 64;
    config.store.max_index_num = 512;
    config.max_message_size_bytes = 16_384;
}

async fn committed(client: &RemotingClient, addr: &str, group: &str, topic: &str, q: i32) -> i64 {
    let h = QueryConsumerOffsetRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id: q,
        ..Default::default()
    };
    let r = call(
        client,
        addr,
        RemotingCommand::request(rc::QUERY_CONSUMER_OFFSET).with_header(&h),
    )
    .await;
    r.decode_header::<QueryConsumerOffsetResponseHeader>()
        .unwrap()
        .offset
}

/// The KEYS of every message of queue 0 of `topic`.
async fn keys(client: &RemotingClient, addr: &str, topic: &str) -> Vec<String> {
    let h = pull_header("readall", topic, 0, 0, "*");
    let r = client.invoke(addr, pull_with(&h), T).await.unwrap();
    assert_eq!(r.code, code::SUCCESS, "{topic}: {:?}", r.remark);
    records(&r.body)
        .iter()
        .map(|v| properties_of(v).get("KEYS").unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_on_an_apache_store_serves_its_offsets_and_delivers_what_was_pending() {
    let dir = apache_store();
    // RocketMQ's own TimerLog (not part of the fixture): Petrel moves it aside.
    std::fs::create_dir_all(dir.path().join("timerlog")).unwrap();
    std::fs::write(
        dir.path().join("timerlog/00000000000000000000"),
        b"rocketmq",
    )
    .unwrap();
    let broker = support::start(dir.path(), apache_sizes).await;
    let addr = broker.local_addr().to_string();
    let client = client();

    // consumerOffset.json: the group resumes where it stopped on RocketMQ.
    for q in 0..4 {
        assert_eq!(
            committed(&client, &addr, "mig_group", "mig_orders", q).await,
            5
        );
        assert_eq!(max_offset(&client, &addr, "mig_orders", q).await, 10);
    }
    assert_eq!(
        committed(&client, &addr, "mig_retry", "mig_retry_topic", 0).await,
        1
    );
    assert_eq!(max_offset(&client, &addr, "%RETRY%mig_retry", 0).await, 1);

    // topics.json and subscriptionGroup.json.
    let topics = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_ALL_TOPIC_CONFIG),
    )
    .await;
    let topics: serde_json::Value = serde_json::from_slice(&topics.body).unwrap();
    assert_eq!(
        topics["topicConfigTable"]["mig_orders"]["writeQueueNums"],
        4
    );
    let groups = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
    )
    .await;
    let groups: serde_json::Value = serde_json::from_slice(&groups.body).unwrap();
    assert_eq!(
        groups["subscriptionGroupTable"]["mig_group"]["groupName"],
        "mig_group"
    );

    // delayOffset.json and config/timercheck: the level-4 message and the 45 s timer RocketMQ
    // still held are delivered (they are long due), the ones it delivered are not again.
    support::wait_for(&client, &addr, "mig_delay", 0, 2, T).await;
    support::wait_for(&client, &addr, "mig_timer", 0, 2, T).await;
    // Anything delivered twice would be re-put right after the pending ones.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(keys(&client, &addr, "mig_delay").await, ["d-1s", "d-30s"]);
    assert_eq!(keys(&client, &addr, "mig_timer").await, ["t-1s", "t-45s"]);
    assert_eq!(
        std::fs::read(
            dir.path()
                .join("timerlog.apache-rocketmq/00000000000000000000")
        )
        .unwrap(),
        b"rocketmq"
    );
    broker.shutdown().await.unwrap();

    // Restarted on its own checkpoints, nothing is delivered again.
    let broker = support::start(dir.path(), apache_sizes).await;
    let addr = broker.local_addr().to_string();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(max_offset(&client, &addr, "mig_delay", 0).await, 2);
    assert_eq!(max_offset(&client, &addr, "mig_timer", 0).await, 2);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_group_file_with_forbidden_topics_is_refused_at_start() {
    let dir = apache_store();
    let path = dir.path().join("config/subscriptionGroup.json");
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "\"forbiddenTable\":{}",
        "\"forbiddenTable\":{\"mig_group\":{\"mig_orders\":1}}",
        1,
    );
    assert!(text.contains("mig_orders\":1"), "fixture layout changed");
    std::fs::write(&path, text).unwrap();
    let err = support::try_start(dir.path(), apache_sizes)
        .await
        .err()
        .unwrap();
    let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(text.contains("forbids mig_group on mig_orders"), "{text}");
}
