//! INVOKE_BROKER_TO_RESET_OFFSET (222) over real sockets: offsets reset by time are committed
//! on the broker and sent to the group's live members with RESET_CONSUMER_CLIENT_OFFSET (220).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use petrel_broker::Broker;
use petrel_protocol::remoting::body::{
    ConsumerData, HeartbeatData, JsonBody, MessageModel, MessageQueue, ResetOffsetBody,
    ResetOffsetBodyForC, SubscriptionData,
};
use petrel_protocol::remoting::header::*;
use petrel_protocol::remoting::{
    request_code as rc, response_code as code, LanguageCode, RemotingCommand,
};
use petrel_remoting::{
    BoxFuture, RemotingClient, RemotingConfig, Reply, RequestContext, RequestHandler,
};
use support::{props, running, send_v1, T};

const TOPIC: &str = "Orders";
const GROUP: &str = "cg";

fn heartbeat(client_id: &str, language: LanguageCode) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            group_name: GROUP.into(),
            message_model: Some(MessageModel::Clustering),
            subscription_data_set: vec![SubscriptionData {
                topic: TOPIC.into(),
                sub_string: "*".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut request = RemotingCommand::request(rc::HEART_BEAT).with_body(data.encode());
    request.language = language;
    request
}

fn reset(timestamp: i64, is_force: bool) -> ResetOffsetRequestHeader {
    ResetOffsetRequestHeader {
        topic: TOPIC.into(),
        group: GROUP.into(),
        timestamp,
        is_force,
        ..Default::default()
    }
}

/// RESET_CONSUMER_CLIENT_OFFSET requests a consumer received.
#[derive(Default)]
struct Resets(Mutex<Vec<RemotingCommand>>);

impl RequestHandler for Resets {
    fn handle(&self, _ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>> {
        if request.code == rc::RESET_CONSUMER_CLIENT_OFFSET {
            self.0.lock().push(request);
        }
        Box::pin(async { None })
    }
}

impl Resets {
    async fn first(&self) -> RemotingCommand {
        let deadline = Instant::now() + T;
        loop {
            if let Some(r) = self.0.lock().first() {
                return r.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no RESET_CONSUMER_CLIENT_OFFSET arrived"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A broker holding, on `Orders`, 3 messages in queue 0 and 2 in queue 1 stored before
/// `cut_ms`, and 2 more in queue 0 and 1 more in queue 1 stored after it.
struct Fixture {
    broker: Broker,
    addr: String,
    admin: RemotingClient,
    cut_ms: i64,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Fixture {
        let (broker, addr, admin, dir) = running(|_| {}).await;
        let mut f = Fixture {
            broker,
            addr,
            admin,
            cut_ms: 0,
            _dir: dir,
        };
        f.send(&[0, 0, 0, 1, 1]).await;
        // Store timestamps are taken by the broker; leave clear gaps on both sides of the cut.
        tokio::time::sleep(Duration::from_millis(50)).await;
        f.cut_ms = petrel_broker::clock::now_ms();
        tokio::time::sleep(Duration::from_millis(50)).await;
        f.send(&[0, 0, 1]).await;
        f.wait_visible(0, 5).await;
        f.wait_visible(1, 3).await;
        f
    }

    async fn send(&self, queues: &[i32]) {
        for (i, &q) in queues.iter().enumerate() {
            let r = self
                .call(send_v1(
                    TOPIC,
                    q,
                    &format!("m{i}"),
                    &props(&[("TAGS", "A")]),
                ))
                .await;
            assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
        }
    }

    async fn call(&self, request: RemotingCommand) -> RemotingCommand {
        self.admin.invoke(&self.addr, request, T).await.unwrap()
    }

    async fn wait_visible(&self, queue_id: i32, n: i64) {
        let deadline = Instant::now() + T;
        while self
            .broker
            .inner()
            .store
            .get_max_offset_in_queue(TOPIC, queue_id)
            < n
        {
            assert!(
                Instant::now() < deadline,
                "queue {queue_id} never reached {n}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    async fn commit(&self, queue_id: i32, offset: i64) {
        let update = UpdateConsumerOffsetRequestHeader {
            consumer_group: GROUP.into(),
            topic: TOPIC.into(),
            queue_id,
            commit_offset: offset,
            ..Default::default()
        };
        let r = self
            .call(RemotingCommand::request(rc::UPDATE_CONSUMER_OFFSET).with_header(&update))
            .await;
        assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    }

    async fn committed(&self, queue_id: i32) -> Option<i64> {
        let query = QueryConsumerOffsetRequestHeader {
            consumer_group: GROUP.into(),
            topic: TOPIC.into(),
            queue_id,
            ..Default::default()
        };
        let r = self
            .call(RemotingCommand::request(rc::QUERY_CONSUMER_OFFSET).with_header(&query))
            .await;
        (r.code == code::SUCCESS).then(|| {
            r.decode_header::<QueryConsumerOffsetResponseHeader>()
                .unwrap()
                .offset
        })
    }

    async fn reset(&self, header: &ResetOffsetRequestHeader) -> RemotingCommand {
        self.call(RemotingCommand::request(rc::INVOKE_BROKER_TO_RESET_OFFSET).with_header(header))
            .await
    }

    fn read_queue_nums(&self) -> i32 {
        self.broker
            .inner()
            .topics
            .get(TOPIC)
            .unwrap()
            .read_queue_nums
    }

    /// `{queue id: offset}` with every read queue at 0 except those given.
    fn table(&self, offsets: &[(i32, i64)]) -> BTreeMap<MessageQueue, i64> {
        let broker_name = &self.broker.inner().config.broker_name;
        let mut table: BTreeMap<MessageQueue, i64> = (0..self.read_queue_nums())
            .map(|q| (MessageQueue::new(TOPIC, broker_name, q), 0))
            .collect();
        for &(q, offset) in offsets {
            table.insert(MessageQueue::new(TOPIC, broker_name, q), offset);
        }
        table
    }
}

fn offsets_of(response: &RemotingCommand) -> BTreeMap<MessageQueue, i64> {
    assert_eq!(response.code, code::SUCCESS, "{:?}", response.remark);
    ResetOffsetBody::decode(&response.body)
        .unwrap()
        .offset_table
}

#[tokio::test]
async fn a_reset_by_time_commits_the_first_offsets_after_it_and_tells_live_consumers() {
    let f = Fixture::new().await;
    // The group consumed everything.
    f.commit(0, 5).await;
    f.commit(1, 3).await;
    let resets = Arc::new(Resets::default());
    let consumer = RemotingClient::new(RemotingConfig::default(), Some(resets.clone()));
    let r = consumer
        .invoke(&f.addr, heartbeat("client-1", LanguageCode::Java), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS);

    let r = f.reset(&reset(f.cut_ms, true)).await;

    let expected = f.table(&[(0, 3), (1, 2)]);
    assert_eq!(offsets_of(&r), expected);
    assert_eq!(f.committed(0).await, Some(3));
    assert_eq!(f.committed(1).await, Some(2));
    // Queues the group never consumed are committed at their (empty) start.
    assert_eq!(f.committed(2).await, Some(0));

    let told = resets.first().await;
    assert!(told.is_oneway());
    let h = told.decode_header::<ResetOffsetRequestHeader>().unwrap();
    assert_eq!((h.topic.as_str(), h.group.as_str()), (TOPIC, GROUP));
    assert_eq!((h.timestamp, h.is_force, h.queue_id), (f.cut_ms, true, -1));
    assert_eq!(
        ResetOffsetBody::decode(&told.body).unwrap().offset_table,
        expected
    );
    // The body is fastjson's form, with inline queue objects as keys.
    let text = String::from_utf8(told.body.to_vec()).unwrap();
    assert!(
        text.starts_with(r#"{"offsetTable":{{"brokerName":"#),
        "{text}"
    );
    f.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_force_a_reset_only_moves_offsets_back() {
    let f = Fixture::new().await;
    // Queue 0 is behind the cut (offset 3), queue 1 past it (offset 2).
    f.commit(0, 1).await;
    f.commit(1, 3).await;

    let r = f.reset(&reset(f.cut_ms, false)).await;

    assert_eq!(offsets_of(&r), f.table(&[(0, 1), (1, 2)]));
    assert_eq!(f.committed(0).await, Some(1));
    assert_eq!(f.committed(1).await, Some(2));
    f.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_group_with_no_live_consumer_gets_offsets_for_its_next_start() {
    let f = Fixture::new().await;
    f.commit(0, 5).await;
    f.commit(1, 3).await;

    // No member is online: Java ≤ 5.1 would answer CONSUMER_NOT_ONLINE; Petrel commits.
    let r = f.reset(&reset(f.cut_ms, true)).await;
    assert_eq!(offsets_of(&r), f.table(&[(0, 3), (1, 2)]));
    assert_eq!(f.committed(0).await, Some(3));
    assert_eq!(f.committed(1).await, Some(2));

    // A negative time skips the backlog: every queue to its end.
    let r = f.reset(&reset(-1, true)).await;
    assert_eq!(offsets_of(&r), f.table(&[(0, 5), (1, 3)]));
    assert_eq!(f.committed(0).await, Some(5));

    // A time before everything replays everything.
    let r = f.reset(&reset(0, true)).await;
    assert_eq!(offsets_of(&r), f.table(&[]));
    assert_eq!(f.committed(1).await, Some(0));
    f.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn one_queue_can_be_reset_to_a_given_offset() {
    let f = Fixture::new().await;
    f.commit(0, 1).await;
    f.commit(1, 1).await;
    let one = |offset: Option<i64>| ResetOffsetRequestHeader {
        queue_id: 0,
        offset,
        ..reset(0, false)
    };
    let broker_name = f.broker.inner().config.broker_name.clone();

    // A given offset applies even forward and without isForce (RocketMQ's resetOffsetInner).
    let r = f.reset(&one(Some(4))).await;
    assert_eq!(
        offsets_of(&r),
        BTreeMap::from([(MessageQueue::new(TOPIC, &broker_name, 0), 4)])
    );
    assert_eq!(f.committed(0).await, Some(4));
    assert_eq!(f.committed(1).await, Some(1), "other queues are left alone");

    // Offset -1 means "none": the time decides.
    let r = f.reset(&one(Some(-1))).await;
    assert_eq!(
        offsets_of(&r),
        BTreeMap::from([(MessageQueue::new(TOPIC, &broker_name, 0), 0)])
    );

    for bad in [
        one(Some(6)),
        ResetOffsetRequestHeader {
            queue_id: 99,
            ..one(None)
        },
    ] {
        let r = f.reset(&bad).await;
        assert_eq!(r.code, code::SYSTEM_ERROR, "{bad:?}");
    }
    assert_eq!(f.committed(0).await, Some(0));
    f.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_topics_groups_and_incomplete_headers_are_refused() {
    let f = Fixture::new().await;
    let r = f
        .reset(&ResetOffsetRequestHeader {
            topic: "NoSuchTopic".into(),
            ..reset(0, true)
        })
        .await;
    assert_eq!(r.code, code::TOPIC_NOT_EXIST, "{:?}", r.remark);

    // The group has no config, no member and no offsets.
    let r = f.reset(&reset(0, true)).await;
    assert_eq!(r.code, code::SUBSCRIPTION_GROUP_NOT_EXIST, "{:?}", r.remark);
    assert_eq!(f.committed(0).await, None);

    let mut incomplete =
        RemotingCommand::request(rc::INVOKE_BROKER_TO_RESET_OFFSET).with_header(&reset(0, true));
    incomplete.ext_fields = incomplete
        .ext_fields
        .iter()
        .filter(|(k, _)| *k != "isForce")
        .collect();
    let r = f.call(incomplete).await;
    assert_eq!(r.code, code::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("isForce"));
    f.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn cpp_consumers_are_told_with_the_list_form() {
    let f = Fixture::new().await;
    let java = Arc::new(Resets::default());
    let cpp = Arc::new(Resets::default());
    let java_client = RemotingClient::new(RemotingConfig::default(), Some(java.clone()));
    let cpp_client = RemotingClient::new(RemotingConfig::default(), Some(cpp.clone()));
    for (client, id, language) in [
        (&java_client, "java-1", LanguageCode::Java),
        (&cpp_client, "cpp-1", LanguageCode::Cpp),
    ] {
        let r = client
            .invoke(&f.addr, heartbeat(id, language), T)
            .await
            .unwrap();
        assert_eq!(r.code, code::SUCCESS);
    }

    let r = f.reset(&reset(f.cut_ms, true)).await;
    let expected = offsets_of(&r);

    let to_java = java.first().await;
    assert_eq!(
        ResetOffsetBody::decode(&to_java.body).unwrap().offset_table,
        expected
    );
    let to_cpp = cpp.first().await;
    let list = ResetOffsetBodyForC::decode(&to_cpp.body).unwrap();
    let as_map: BTreeMap<MessageQueue, i64> = list
        .offset_table
        .iter()
        .map(|q| {
            (
                MessageQueue::new(&q.topic, &q.broker_name, q.queue_id),
                q.offset,
            )
        })
        .collect();
    assert_eq!(as_map, expected);
    f.broker.shutdown().await.unwrap();
}
