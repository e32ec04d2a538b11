//! The broker over real sockets (127.0.0.1, ephemeral port), driven with raw remoting requests.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use petrel_protocol::message::{decode_offset_msg_id, properties, BatchItem, Properties};
use petrel_protocol::perm::{PERM_READ, PERM_WRITE};
use petrel_protocol::remoting::body::{
    ConsumerData, ConsumerListByGroupResponseBody, HeartbeatData, JsonBody, LockBatchRequestBody,
    LockBatchResponseBody, MessageModel, MessageQueue, ProducerData, SubscriptionData,
};
use petrel_protocol::remoting::header::*;
use petrel_protocol::remoting::{
    request_code as rc, response_code as code, RemotingCommand, SerializeType,
};
use petrel_remoting::{
    BoxFuture, RemotingClient, RemotingConfig, Reply, RequestContext, RequestHandler,
};
use support::{
    body_text, client, create_topic, properties_of, props, pull, records, running, send_header,
    send_v1, send_v2, start, wait_visible, T,
};

#[tokio::test]
async fn sends_of_every_kind_are_pulled_back_intact() {
    let (broker, addr, client, _dir) = running(|_| {}).await;

    let r = client
        .invoke(
            &addr,
            send_v1("Orders", 0, "one", &props(&[("TAGS", "A"), ("KEYS", "k1")])),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    let h = r.decode_header::<SendMessageResponseHeader>().unwrap();
    assert_eq!((h.queue_id, h.queue_offset), (0, 0));
    let (host, offset) = decode_offset_msg_id(&h.msg_id).unwrap();
    assert_eq!(host, broker.local_addr());
    assert!(offset >= 0);
    assert_eq!(r.ext_fields.get("MSG_REGION"), Some("DefaultRegion"));

    let r = client
        .invoke(
            &addr,
            send_v2("Orders", 0, "two", &props(&[("TAGS", "B")])),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    assert_eq!(r.serialize_type, SerializeType::RocketMq);

    // A batch of three.
    let mut body = Vec::new();
    for i in 0..3 {
        let p = props(&[("UNIQ_KEY", &format!("U{i}")), ("TAGS", "C")]);
        BatchItem {
            flag: 0,
            body: format!("batch-{i}").as_bytes(),
            properties: p.as_bytes(),
        }
        .encode(&mut body)
        .unwrap();
    }
    let mut req = RemotingCommand::request(rc::SEND_BATCH_MESSAGE);
    let mut header = send_header("Orders", 0, "");
    header.batch = Some(true);
    header.encode_v2(&mut req.ext_fields);
    let r = client.invoke(&addr, req.with_body(body), T).await.unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    let h = r.decode_header::<SendMessageResponseHeader>().unwrap();
    assert_eq!(h.queue_offset, 2);
    assert_eq!(h.msg_id.split(',').count(), 3);

    wait_visible(&client, &addr, "Orders", 0, 5).await;
    let r = client
        .invoke(&addr, pull("cg", "Orders", 0, 0, 0, "*"), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    let got = records(&r.body);
    let bodies: Vec<String> = got.iter().map(body_text).collect();
    assert_eq!(bodies, vec!["one", "two", "batch-0", "batch-1", "batch-2"]);
    assert_eq!(properties_of(&got[0]).get("KEYS"), Some("k1"));
    assert_eq!(
        properties_of(&got[0]).get("CLUSTER"),
        Some("DefaultCluster")
    );
    assert_eq!(properties_of(&got[3]).get("UNIQ_KEY"), Some("U1"));
    let h = r.decode_header::<PullMessageResponseHeader>().unwrap();
    assert_eq!((h.next_begin_offset, h.min_offset, h.max_offset), (5, 0, 5));

    // Tag filtering happens at the broker.
    let r = client
        .invoke(&addr, pull("cg", "Orders", 0, 0, 0, "B || C"), T)
        .await
        .unwrap();
    let bodies: Vec<String> = records(&r.body).iter().map(body_text).collect();
    assert_eq!(bodies, vec!["two", "batch-0", "batch-1", "batch-2"]);

    // Found by key and by id.
    let query = QueryMessageRequestHeader {
        topic: "Orders".into(),
        key: "k1".into(),
        max_num: 10,
        begin_timestamp: 0,
        end_timestamp: i64::MAX,
        ..Default::default()
    };
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::QUERY_MESSAGE).with_header(&query),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    assert_eq!(body_text(&records(&r.body)[0]), "one");
    let view = ViewMessageRequestHeader {
        topic: None,
        offset,
    };
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::VIEW_MESSAGE_BY_ID).with_header(&view),
            T,
        )
        .await
        .unwrap();
    assert_eq!(body_text(&records(&r.body)[0]), "one");
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_suspended_pull_wakes_when_a_message_arrives_and_times_out_otherwise() {
    let (broker, addr, _, _dir) = running(|_| {}).await;
    let client = Arc::new(client());
    client
        .invoke(&addr, send_v1("Poll", 1, "first", ""), T)
        .await
        .unwrap();
    wait_visible(&client, &addr, "Poll", 1, 1).await;

    // Nothing new at offset 1: the pull waits.
    let waiting = {
        let (client, addr) = (client.clone(), addr.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let r = client
                .invoke(&addr, pull("cg", "Poll", 1, 1, 15_000, "*"), T * 3)
                .await
                .unwrap();
            (r, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished());
    let sent_at = Instant::now();
    client
        .invoke(&addr, send_v1("Poll", 1, "second", ""), T)
        .await
        .unwrap();
    let (r, _) = waiting.await.unwrap();
    wait_visible(&client, &addr, "Poll", 1, 2).await;
    assert!(
        sent_at.elapsed() < Duration::from_secs(2),
        "woke {:?} after the send",
        sent_at.elapsed()
    );
    assert_eq!(r.code, code::SUCCESS);
    assert_eq!(body_text(&records(&r.body)[0]), "second");

    // A message with another tag does not wake a filtered pull; the timeout answers it.
    let started = Instant::now();
    let waiting = {
        let (client, addr) = (client.clone(), addr.clone());
        tokio::spawn(async move {
            client
                .invoke(&addr, pull("cg", "Poll", 1, 2, 700, "OnlyThis"), T)
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    client
        .invoke(
            &addr,
            send_v1("Poll", 1, "other tag", &props(&[("TAGS", "Else")])),
            T,
        )
        .await
        .unwrap();
    let r = waiting.await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(650));
    assert!(
        matches!(r.code, code::PULL_NOT_FOUND | code::PULL_RETRY_IMMEDIATELY),
        "{}",
        r.code
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn consumer_offsets_are_committed_queried_and_survive_a_restart() {
    let (broker, addr, client, dir) = running(|_| {}).await;
    let query = QueryConsumerOffsetRequestHeader {
        consumer_group: "cg".into(),
        topic: "T".into(),
        queue_id: 2,
        ..Default::default()
    };
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::QUERY_CONSUMER_OFFSET).with_header(&query),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::QUERY_NOT_FOUND);
    let update = UpdateConsumerOffsetRequestHeader {
        consumer_group: "cg".into(),
        topic: "T".into(),
        queue_id: 2,
        commit_offset: 17,
        ..Default::default()
    };
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::UPDATE_CONSUMER_OFFSET).with_header(&update),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS);
    broker.shutdown().await.unwrap();
    client.close_all().await;

    let broker = start(dir.path(), |_| {}).await;
    let addr = broker.local_addr().to_string();
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::QUERY_CONSUMER_OFFSET).with_header(&query),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS);
    assert_eq!(
        r.decode_header::<QueryConsumerOffsetResponseHeader>()
            .unwrap()
            .offset,
        17
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn queue_bounds_and_search_by_time() {
    let (broker, addr, client, _dir) = running(|_| {}).await;
    let before = petrel_broker::clock::now_ms();
    for i in 0..5 {
        client
            .invoke(&addr, send_v1("Bounds", 0, &format!("{i}"), ""), T)
            .await
            .unwrap();
    }
    // Messages become visible once dispatched (microseconds after the send returns).
    let max = GetMaxOffsetRequestHeader {
        topic: "Bounds".into(),
        queue_id: 0,
        ..Default::default()
    };
    let deadline = Instant::now() + T;
    loop {
        let r = client
            .invoke(
                &addr,
                RemotingCommand::request(rc::GET_MAX_OFFSET).with_header(&max),
                T,
            )
            .await
            .unwrap();
        let offset = r
            .decode_header::<GetMaxOffsetResponseHeader>()
            .unwrap()
            .offset;
        if offset == 5 {
            break;
        }
        assert!(
            offset < 5 && Instant::now() < deadline,
            "max offset {offset}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let min = GetMinOffsetRequestHeader {
        topic: "Bounds".into(),
        queue_id: 0,
        ..Default::default()
    };
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::GET_MIN_OFFSET).with_header(&min),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        r.decode_header::<GetMinOffsetResponseHeader>()
            .unwrap()
            .offset,
        0
    );
    let search = SearchOffsetRequestHeader {
        topic: "Bounds".into(),
        queue_id: 0,
        timestamp: before - 1000,
        ..Default::default()
    };
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::SEARCH_OFFSET_BY_TIMESTAMP).with_header(&search),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        r.decode_header::<SearchOffsetResponseHeader>()
            .unwrap()
            .offset,
        0
    );
    let search = SearchOffsetRequestHeader {
        timestamp: before + 3_600_000,
        ..search
    };
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::SEARCH_OFFSET_BY_TIMESTAMP).with_header(&search),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        r.decode_header::<SearchOffsetResponseHeader>()
            .unwrap()
            .offset,
        5
    );
    let earliest = GetEarliestMsgStoretimeRequestHeader {
        topic: "Bounds".into(),
        queue_id: 0,
        ..Default::default()
    };
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::GET_EARLIEST_MSG_STORETIME).with_header(&earliest),
            T,
        )
        .await
        .unwrap();
    let ts = r
        .decode_header::<GetEarliestMsgStoretimeResponseHeader>()
        .unwrap()
        .timestamp;
    assert!(ts >= before && ts <= petrel_broker::clock::now_ms());
    broker.shutdown().await.unwrap();
}

#[derive(Default)]
struct Notifications(AtomicUsize);
impl RequestHandler for Notifications {
    fn handle(&self, _ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>> {
        if request.code == rc::NOTIFY_CONSUMER_IDS_CHANGED {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        Box::pin(async { None })
    }
}

fn heartbeat(client_id: &str, group: &str) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            message_model: Some(MessageModel::Clustering),
            subscription_data_set: vec![SubscriptionData {
                topic: "Orders".into(),
                sub_string: "*".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        producer_data_set: vec![ProducerData {
            group_name: "pg".into(),
        }],
        ..Default::default()
    };
    RemotingCommand::request(rc::HEART_BEAT).with_body(data.encode())
}

#[tokio::test]
async fn consumers_join_and_leave_and_are_told_to_rebalance() {
    let (broker, addr, _, _dir) = running(|_| {}).await;
    let seen1 = Arc::new(Notifications::default());
    let c1 = RemotingClient::new(RemotingConfig::default(), Some(seen1.clone()));
    let c2 = client();
    assert_eq!(
        c1.invoke(&addr, heartbeat("client-1", "cg"), T)
            .await
            .unwrap()
            .code,
        code::SUCCESS
    );
    assert_eq!(
        c2.invoke(&addr, heartbeat("client-2", "cg"), T)
            .await
            .unwrap()
            .code,
        code::SUCCESS
    );
    let list = GetConsumerListByGroupRequestHeader {
        consumer_group: "cg".into(),
        ..Default::default()
    };
    let r = c1
        .invoke(
            &addr,
            RemotingCommand::request(rc::GET_CONSUMER_LIST_BY_GROUP).with_header(&list),
            T,
        )
        .await
        .unwrap();
    let ids = ConsumerListByGroupResponseBody::decode(&r.body)
        .unwrap()
        .consumer_id_list;
    assert_eq!(ids, vec!["client-1".to_string(), "client-2".to_string()]);
    // The retry topic exists now.
    assert!(broker.inner().topics.contains("%RETRY%cg"));
    // Client 2 goes away without unregistering: its connection closes.
    c2.close_all().await;
    let deadline = Instant::now() + T;
    loop {
        let r = c1
            .invoke(
                &addr,
                RemotingCommand::request(rc::GET_CONSUMER_LIST_BY_GROUP).with_header(&list),
                T,
            )
            .await
            .unwrap();
        if ConsumerListByGroupResponseBody::decode(&r.body)
            .map(|b| b.consumer_id_list.len())
            .unwrap_or(0)
            == 1
        {
            break;
        }
        assert!(Instant::now() < deadline, "client-2 still listed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Client 1 was notified at least for the join and the leave.
    let deadline = Instant::now() + T;
    while seen1.0.load(Ordering::SeqCst) < 2 {
        assert!(
            Instant::now() < deadline,
            "notifications: {}",
            seen1.0.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn orderly_consumers_lock_their_queues() {
    let (broker, addr, client, _dir) = running(|_| {}).await;
    let mq = |i| MessageQueue::new("Orders", "broker-a", i);
    let lock = |client_id: &str, ids: &[i32]| LockBatchRequestBody {
        consumer_group: "og".into(),
        client_id: client_id.into(),
        only_this_broker: true,
        mq_set: ids.iter().map(|&i| mq(i)).collect(),
    };
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::LOCK_BATCH_MQ).with_body(lock("a", &[0, 1]).encode()),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        LockBatchResponseBody::decode(&r.body)
            .unwrap()
            .lock_ok_mq_set
            .len(),
        2
    );
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::LOCK_BATCH_MQ).with_body(lock("b", &[1, 2]).encode()),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        LockBatchResponseBody::decode(&r.body)
            .unwrap()
            .lock_ok_mq_set,
        [mq(2)].into_iter().collect()
    );
    client
        .invoke(
            &addr,
            RemotingCommand::request(rc::UNLOCK_BATCH_MQ).with_body(lock("a", &[1]).encode()),
            T,
        )
        .await
        .unwrap();
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::LOCK_BATCH_MQ).with_body(lock("b", &[1]).encode()),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        LockBatchResponseBody::decode(&r.body)
            .unwrap()
            .lock_ok_mq_set,
        [mq(1)].into_iter().collect()
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_requests_get_clear_errors_and_do_not_disturb_others() {
    let (broker, addr, client, _dir) = running(|c| c.max_message_size_bytes = 1024).await;

    let r = client
        .invoke(&addr, RemotingCommand::request(77777), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::REQUEST_CODE_NOT_SUPPORTED);
    assert!(r.remark.unwrap().contains("77777"));

    let mut missing = send_v1("T", 0, "x", "");
    missing.ext_fields = Default::default();
    let r = client.invoke(&addr, missing, T).await.unwrap();
    assert_eq!(r.code, code::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("producerGroup"));

    let r = client
        .invoke(&addr, send_v1("bad topic!", 0, "x", ""), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("invalid"));

    let r = client
        .invoke(&addr, send_v1("T", 0, &"x".repeat(2000), ""), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::MESSAGE_ILLEGAL);

    let r = client
        .invoke(&addr, send_v1("T", 99, "x", ""), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("queueId"));

    let r = client
        .invoke(&addr, send_v1("SCHEDULE_TOPIC_XXXX", 0, "x", ""), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::NO_PERMISSION);

    let r = client
        .invoke(
            &addr,
            // Beyond timerMaxDelaySec (3 days by default).
            send_v1(
                "T",
                0,
                "x",
                &props(&[(properties::TIMER_DELAY_SEC, "864000")]),
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::MESSAGE_ILLEGAL);
    assert!(r.remark.unwrap().contains("timerMaxDelaySec"));

    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::HEART_BEAT).with_body(Bytes::from_static(b"{not json")),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SYSTEM_ERROR);

    let r = client
        .invoke(&addr, pull("cg", "NoSuchTopic", 0, 0, 0, "*"), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::TOPIC_NOT_EXIST);

    // Nothing stored in T yet (every send above was refused).
    let r = client
        .invoke(&addr, pull("cg", "T", 0, 0, 0, "*"), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::PULL_NOT_FOUND);

    let mut sql = pull("cg", "T", 0, 0, 0, "a > 1");
    sql.ext_fields.insert("expressionType", "SQL92");
    let r = client.invoke(&addr, sql, T).await.unwrap();
    assert_eq!(r.code, code::SUBSCRIPTION_PARSE_FAILED);

    // Still serving.
    let r = client
        .invoke(&addr, send_v1("T", 0, "ok", ""), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn topics_can_be_created_and_auto_creation_can_be_off() {
    let (broker, addr, client, _dir) = running(|c| c.auto_create_topic_enable = false).await;
    let r = client
        .invoke(&addr, send_v1("Fresh", 0, "x", ""), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::TOPIC_NOT_EXIST);
    create_topic(&client, &addr, "Fresh", 2, PERM_READ | PERM_WRITE).await;
    assert_eq!(
        client
            .invoke(&addr, send_v1("Fresh", 1, "x", ""), T)
            .await
            .unwrap()
            .code,
        code::SUCCESS
    );
    assert_eq!(
        client
            .invoke(&addr, send_v1("Fresh", 2, "x", ""), T)
            .await
            .unwrap()
            .code,
        code::SYSTEM_ERROR
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn sql92_pulls_filter_at_the_broker_and_bad_expressions_say_where() {
    let (broker, addr, client, _dir) = running(|c| c.enable_property_filter = true).await;
    for i in 0..6 {
        let p = props(&[
            ("n", &i.to_string()),
            ("TAGS", if i % 2 == 0 { "even" } else { "odd" }),
        ]);
        client
            .invoke(&addr, send_v1("Sql", 0, &format!("m{i}"), &p), T)
            .await
            .unwrap();
    }
    wait_visible(&client, &addr, "Sql", 0, 6).await;
    let mut sql = pull("cg", "Sql", 0, 0, 0, "n > 2 AND TAGS = 'odd'");
    sql.ext_fields.insert("expressionType", "SQL92");
    let r = client.invoke(&addr, sql, T).await.unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    let bodies: Vec<String> = records(&r.body).iter().map(body_text).collect();
    assert_eq!(bodies, vec!["m3", "m5"]);
    let mut bad = pull("cg", "Sql", 0, 0, 0, "n > AND x");
    bad.ext_fields.insert("expressionType", "SQL92");
    let r = client.invoke(&addr, bad, T).await.unwrap();
    assert_eq!(r.code, code::SUBSCRIPTION_PARSE_FAILED);
    let remark = r.remark.unwrap();
    assert!(
        remark.contains("position 4") && remark.contains("AND"),
        "{remark}"
    );
    broker.shutdown().await.unwrap();
}

/// A requester's connection: records pushed replies and answers with `answer`.
struct Requester {
    answer: i32,
    replies: std::sync::Mutex<Vec<RemotingCommand>>,
}
impl RequestHandler for Requester {
    fn handle(&self, _ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>> {
        let reply = (request.code == rc::PUSH_REPLY_MESSAGE_TO_CLIENT).then(|| {
            let r = RemotingCommand::response_to(&request, self.answer, None);
            self.replies.lock().unwrap().push(request);
            Reply::from(r)
        });
        Box::pin(async move { reply })
    }
}

fn reply_request(topic: &str, props: &str, body: &str) -> RemotingCommand {
    let mut req = RemotingCommand::request(rc::SEND_REPLY_MESSAGE_V2);
    send_header(topic, 0, props).encode_v2(&mut req.ext_fields);
    req.with_body(Bytes::from(body.to_string()))
}

#[tokio::test]
async fn replies_are_pushed_to_the_requesters_connection_or_refused_with_the_reason() {
    let (broker, addr, _, _dir) = running(|_| {}).await;
    let requester = Arc::new(Requester {
        answer: code::SUCCESS,
        replies: Default::default(),
    });
    let req_client = RemotingClient::new(RemotingConfig::default(), Some(requester.clone()));
    let r = req_client
        .invoke(&addr, heartbeat("10.0.0.1@req", "cg"), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS);
    let replier = client();
    let reply_topic = "DefaultCluster_REPLY_TOPIC";
    let to = |client: &str| {
        props(&[
            ("REPLY_TO_CLIENT", client),
            ("CORRELATION_ID", "c-1"),
            ("MSG_TYPE", "reply"),
        ])
    };

    // Pushed to the requester, then stored in the reply topic.
    let r = replier
        .invoke(
            &addr,
            reply_request(reply_topic, &to("10.0.0.1@req"), "42"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    {
        let pushed = requester.replies.lock().unwrap();
        assert_eq!(pushed.len(), 1);
        assert_eq!(&pushed[0].body[..], b"42");
        let h: ReplyMessageRequestHeader = pushed[0].decode_header().unwrap();
        assert_eq!(h.topic, reply_topic);
        let p = Properties::decode(h.properties.unwrap().as_bytes()).unwrap();
        assert_eq!(p.get("CORRELATION_ID"), Some("c-1"));
        assert!(p.get("PUSH_REPLY_TIME").is_some());
        assert!(h.store_timestamp > 0);
    }
    wait_visible(&replier, &addr, reply_topic, 0, 1).await;

    // Refusals, each with its reason; none reaches the requester.
    let cases = [
        (
            props(&[("CORRELATION_ID", "c-2")]),
            reply_topic,
            code::SYSTEM_ERROR,
            "REPLY_TO_CLIENT",
        ),
        (
            to("10.0.0.9@gone"),
            reply_topic,
            code::SYSTEM_ERROR,
            "10.0.0.9@gone",
        ),
        (
            to("10.0.0.1@req"),
            "NoSuchTopic",
            code::TOPIC_NOT_EXIST,
            "NoSuchTopic",
        ),
    ];
    for (p, topic, want, why) in cases {
        let r = replier
            .invoke(&addr, reply_request(topic, &p, "x"), T)
            .await
            .unwrap();
        assert_eq!(r.code, want, "{topic} {p:?}: {:?}", r.remark);
        assert!(
            r.remark.as_deref().unwrap_or("").contains(why),
            "{:?}",
            r.remark
        );
    }
    assert_eq!(requester.replies.lock().unwrap().len(), 1);

    // A requester that refuses the push: the replier hears of it.
    let refusing = Arc::new(Requester {
        answer: code::SYSTEM_ERROR,
        replies: Default::default(),
    });
    let ref_client = RemotingClient::new(RemotingConfig::default(), Some(refusing.clone()));
    ref_client
        .invoke(&addr, heartbeat("10.0.0.2@busy", "cg2"), T)
        .await
        .unwrap();
    let r = replier
        .invoke(
            &addr,
            reply_request(reply_topic, &to("10.0.0.2@busy"), "x"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("10.0.0.2@busy"));
    assert_eq!(refusing.replies.lock().unwrap().len(), 1);
    broker.shutdown().await.unwrap();
}
