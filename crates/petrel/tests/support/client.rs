//! Helpers for tests that drive a `petrel serve` with petrel-client: topic creation and raw
//! reads that do not go through a consumer (so a test can check what is stored).

use std::time::{Duration, Instant};

use petrel_client::message::decode_messages;
use petrel_client::{ClientConfig, MessageExt, MessageQueue, Producer, ProducerConfig};
use petrel_protocol::remoting::header::{
    CreateTopicRequestHeader, PullMessageRequestHeader, PullMessageResponseHeader,
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};

use super::Petrel;

/// Upper bound of the waits here.
const WAIT: Duration = Duration::from_secs(60);

/// A started producer of a fresh group on the server's name server.
pub async fn producer(p: &Petrel) -> Producer {
    Producer::start(
        ClientConfig::new(&p.namesrv),
        ProducerConfig::new(super::unique("pg")),
    )
    .await
    .unwrap()
}

/// `petrel serve` with small store files (64 MiB CommitLog segments, small index), plus
/// `sets`: client tests store little, and several servers run at once on a shared disk.
pub fn serve_small(sets: &[&str]) -> Petrel {
    let mut all = vec![
        "mappedFileSizeCommitLog=67108864",
        "maxHashSlotNum=50000",
        "maxIndexNum=200000",
    ];
    all.extend_from_slice(sets);
    Petrel::start(&all)
}

/// Creates `topic` with `queues` read and write queues on the server's broker and waits until
/// the route shows them.
pub async fn create_topic(p: &Petrel, producer: &Producer, topic: &str, queues: i32) {
    create_topic_at(producer, &p.broker, topic, queues).await;
}

/// Creates `topic` with `queues` read and write queues on the broker at `broker` (Petrel or
/// another RocketMQ broker) and waits until the name server routes them.
pub async fn create_topic_at(producer: &Producer, broker: &str, topic: &str, queues: i32) {
    let h = CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: "TBW102".into(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        ..Default::default()
    };
    producer
        .instance()
        .invoke_ok(
            broker,
            RemotingCommand::request(rc::UPDATE_AND_CREATE_TOPIC).with_header(&h),
        )
        .await
        .expect("topic created");
    let deadline = Instant::now() + WAIT;
    loop {
        match producer.instance().refresh_route(topic, false).await {
            Ok(r) if r.subscribe_queues.len() == queues as usize => return,
            other => assert!(
                Instant::now() < deadline,
                "topic {topic} never routed: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every message of queue `queue_id` of `topic` on the server's broker, read with raw pulls.
pub async fn read_queue(
    p: &Petrel,
    producer: &Producer,
    topic: &str,
    queue_id: i32,
) -> Vec<MessageExt> {
    read_queue_at(
        producer,
        &p.broker,
        &MessageQueue::new(topic, "broker", queue_id),
    )
    .await
}

/// Every message of `mq` on the broker at `broker`, read with raw pulls (nothing committed, no
/// consumer involved), in offset order.
pub async fn read_queue_at(
    producer: &Producer,
    broker: &str,
    mq: &MessageQueue,
) -> Vec<MessageExt> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let h = PullMessageRequestHeader {
            consumer_group: "reader".into(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: 64,
            sys_flag: 0x4,
            subscription: Some("*".into()),
            ..Default::default()
        };
        let r = producer
            .instance()
            .invoke(
                broker,
                RemotingCommand::request(rc::PULL_MESSAGE).with_header(&h),
            )
            .await
            .unwrap();
        if r.code != code::SUCCESS {
            return out;
        }
        out.extend(decode_messages(&r.body, &mq.broker_name).unwrap());
        offset = r
            .decode_header::<PullMessageResponseHeader>()
            .unwrap()
            .next_begin_offset;
    }
}

/// `group`'s committed offset of `mq` on the broker, `None` if it has none.
pub async fn committed_offset(
    p: &Petrel,
    producer: &Producer,
    group: &str,
    mq: &MessageQueue,
) -> Option<i64> {
    let h = QueryConsumerOffsetRequestHeader {
        consumer_group: group.into(),
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        ..Default::default()
    };
    let r = producer
        .instance()
        .invoke(
            &p.broker,
            RemotingCommand::request(rc::QUERY_CONSUMER_OFFSET).with_header(&h),
        )
        .await
        .unwrap();
    (r.code == code::SUCCESS).then(|| {
        r.decode_header::<QueryConsumerOffsetResponseHeader>()
            .unwrap()
            .offset
    })
}
