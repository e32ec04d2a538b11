//! Delayed messages and consumer send-back (retry topic, DLQ), over real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use petrel_broker::{Broker, BrokerConfig};
use petrel_protocol::message::{decode_offset_msg_id, properties, Properties, RecordView};
use petrel_protocol::perm::PERM_READ;
use petrel_protocol::remoting::body::{JsonBody, SubscriptionGroupConfig};
use petrel_protocol::remoting::header::*;
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use petrel_remoting::RemotingClient;
use support::{
    create_topic, max_offset, props, pull_header, pull_with, running, send_header, send_v1,
    send_with, wait_for, T,
};

/// Short delay levels, so that tests wait little: levels 1 and 2 = 1 s, 3 = 2 s, 4 = 4 s.
fn short_delay_levels(config: &mut BrokerConfig) {
    config.message_delay_level = "1s 1s 2s 4s".to_string();
}

async fn start(dir: &std::path::Path) -> Broker {
    support::start(dir, short_delay_levels).await
}

async fn pull_one(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
) -> (RecordView<'static>, Bytes) {
    let h = PullMessageRequestHeader {
        max_msg_nums: 1,
        ..pull_header("cg", topic, queue_id, offset, "*")
    };
    let r = client.invoke(addr, pull_with(&h), T).await.unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    let body: &'static [u8] = Box::leak(r.body.to_vec().into_boxed_slice());
    (RecordView::parse(body).unwrap(), r.body)
}

#[tokio::test]
async fn a_delayed_message_arrives_on_time_and_as_sent() {
    let (broker, addr, client, _dir) = running(short_delay_levels).await;
    let p = props(&[
        ("TAGS", "late"),
        ("KEYS", "k-delay"),
        ("DELAY", "2"),
        ("color", "red"),
    ]);
    let sent_at = Instant::now();
    let r = client
        .invoke(&addr, send_v1("Delayed", 1, "wait for it", &p), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    // Level 2 is 1 s: not there at first, there within 100 ms of due.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        max_offset(&client, &addr, "Delayed", 1).await,
        0,
        "delivered early"
    );
    let arrived = wait_for(&client, &addr, "Delayed", 1, 1, T).await;
    let waited = arrived - sent_at;
    assert!(
        waited >= Duration::from_millis(1000),
        "too early: {waited:?}"
    );
    assert!(
        waited <= Duration::from_millis(1150),
        "too late: {waited:?}"
    );
    let (view, _) = pull_one(&client, &addr, "Delayed", 1, 0).await;
    assert_eq!(view.body(), b"wait for it");
    let got = Properties::decode(view.properties()).unwrap();
    assert_eq!(
        (got.get("TAGS"), got.get("KEYS"), got.get("color")),
        (Some("late"), Some("k-delay"), Some("red"))
    );
    assert_eq!(got.get("DELAY"), None);
    assert_eq!(got.get("REAL_TOPIC"), Some("Delayed"));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn pending_delays_survive_a_restart() {
    let (broker, addr, client, dir) = running(short_delay_levels).await;
    for i in 0..3 {
        let r = client
            .invoke(
                &addr,
                send_v1("Survivor", 0, &format!("m{i}"), &props(&[("DELAY", "3")])),
                T,
            )
            .await
            .unwrap();
        assert_eq!(r.code, code::SUCCESS);
    }
    broker.shutdown().await.unwrap();
    client.close_all().await;
    let broker = start(dir.path()).await;
    let addr = broker.local_addr().to_string();
    wait_for(&client, &addr, "Survivor", 0, 3, T).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        max_offset(&client, &addr, "Survivor", 0).await,
        3,
        "delivered twice"
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn sent_back_messages_are_retried_then_dead_lettered() {
    let (broker, addr, client, _dir) = running(short_delay_levels).await;
    let r = client
        .invoke(
            &addr,
            send_v1(
                "Work",
                0,
                "task",
                &props(&[("TAGS", "t"), ("UNIQ_KEY", "U1")]),
            ),
            T,
        )
        .await
        .unwrap();
    let msg_id = r
        .decode_header::<SendMessageResponseHeader>()
        .unwrap()
        .msg_id;
    let offset = decode_offset_msg_id(&msg_id).unwrap().1;

    // First failure: retried via the retry topic after its level (level 1 = 1 s here).
    let back = |offset: i64, level: i32, max: Option<i32>| {
        let h = ConsumerSendMsgBackRequestHeader {
            offset,
            group: "workers".into(),
            delay_level: level,
            // What the Java client sends: the unique id. RocketMQ does not use it.
            origin_msg_id: Some("U1".into()),
            origin_topic: Some("Work".into()),
            max_reconsume_times: max,
            ..Default::default()
        };
        RemotingCommand::request(rc::CONSUMER_SEND_MSG_BACK).with_header(&h)
    };
    let r = client
        .invoke(&addr, back(offset, 1, Some(2)), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    wait_for(&client, &addr, "%RETRY%workers", 0, 1, T).await;
    let (retry, _) = pull_one(&client, &addr, "%RETRY%workers", 0, 0).await;
    assert_eq!(retry.body(), b"task");
    assert_eq!(retry.reconsume_times(), 1);
    let p = Properties::decode(retry.properties()).unwrap();
    assert_eq!(p.get(properties::RETRY_TOPIC), Some("Work"));
    assert_eq!(p.get("UNIQ_KEY"), Some("U1"));
    // RocketMQ's ORIGIN_MESSAGE_ID: the offset msgId of the message first sent back.
    assert_eq!(p.get(properties::ORIGIN_MESSAGE_ID), Some(msg_id.as_str()));

    // Second failure of the retried message: reconsumeTimes reaches the maximum (2) on the
    // next send-back -> straight to the DLQ, no delay.
    let r = client
        .invoke(&addr, back(retry.physical_offset(), 0, Some(2)), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS);
    wait_for(&client, &addr, "%RETRY%workers", 0, 1, T).await;
    let retry2_offset = {
        // The second retry lands after its level 4 (3 + reconsumeTimes 1) = 4 s here.
        wait_for(
            &client,
            &addr,
            "%RETRY%workers",
            0,
            2,
            Duration::from_secs(15),
        )
        .await;
        pull_one(&client, &addr, "%RETRY%workers", 0, 1).await.0
    };
    assert_eq!(retry2_offset.reconsume_times(), 2);
    let r = client
        .invoke(&addr, back(retry2_offset.physical_offset(), 0, Some(2)), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS);
    wait_for(&client, &addr, "%DLQ%workers", 0, 1, Duration::from_secs(2)).await;
    let (dead, _) = pull_one(&client, &addr, "%DLQ%workers", 0, 0).await;
    assert_eq!(dead.body(), b"task");
    let p = Properties::decode(dead.properties()).unwrap();
    assert_eq!(p.get(properties::DLQ_ORIGIN_TOPIC), Some("Work"));
    // Later send-backs keep pointing at the first copy.
    assert_eq!(p.get(properties::ORIGIN_MESSAGE_ID), Some(msg_id.as_str()));
    assert_eq!(
        p.get(properties::DLQ_ORIGIN_MESSAGE_ID),
        Some(msg_id.as_str())
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_negative_level_sends_straight_to_the_dlq_and_unknown_offsets_are_errors() {
    let (broker, addr, client, _dir) = running(short_delay_levels).await;
    let offset = stored_offset(&client, &addr, "Work", "poison").await;
    let r = client
        .invoke(&addr, send_back("g", offset, -1), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS);
    wait_for(&client, &addr, "%DLQ%g", 0, 1, T).await;
    let r = client
        .invoke(&addr, send_back("g", 987_654_321, 0), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("987654321"));
    broker.shutdown().await.unwrap();
}

/// Sends a message to queue 0 of `topic`; returns its CommitLog offset.
async fn stored_offset(client: &RemotingClient, addr: &str, topic: &str, body: &str) -> i64 {
    let r = client
        .invoke(addr, send_v1(topic, 0, body, ""), T)
        .await
        .unwrap();
    let msg_id = r
        .decode_header::<SendMessageResponseHeader>()
        .unwrap()
        .msg_id;
    decode_offset_msg_id(&msg_id).unwrap().1
}

/// CONSUMER_SEND_MSG_BACK of the message at `offset` by `group`, at `delay_level`.
fn send_back(group: &str, offset: i64, delay_level: i32) -> RemotingCommand {
    let h = ConsumerSendMsgBackRequestHeader {
        offset,
        group: group.into(),
        delay_level,
        ..Default::default()
    };
    RemotingCommand::request(rc::CONSUMER_SEND_MSG_BACK).with_header(&h)
}

/// A send to `%RETRY%{group}` as a consumer's inner producer makes it when CONSUMER_SEND_MSG_BACK
/// fails: the retry count travels in the header.
fn retry_send(group: &str, reconsume_times: i32, props: &str) -> RemotingCommand {
    let mut header = send_header(&format!("%RETRY%{group}"), 0, props);
    header.producer_group = "CLIENT_INNER_PRODUCER".into();
    header.reconsume_times = Some(reconsume_times);
    send_with(&header, "poison")
}

#[tokio::test]
async fn a_retry_send_past_its_limit_is_dead_lettered_with_its_origin() {
    let (broker, addr, client, _dir) = running(short_delay_levels).await;

    // Below the group's retryMaxTimes (16): it stays a retry, delayed by its level.
    let p = props(&[
        ("RETRY_TOPIC", "Orders"),
        ("UNIQ_KEY", "U0"),
        ("DELAY", "1"),
    ]);
    let r = client
        .invoke(&addr, retry_send("cg", 15, &p), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    wait_for(&client, &addr, "%RETRY%cg", 0, 1, T).await;

    // At the limit: into %DLQ%cg at once (its delay dropped), remembering where it came from.
    let p = props(&[
        ("RETRY_TOPIC", "Orders"),
        ("ORIGIN_MESSAGE_ID", "ORIGIN-1"),
        ("UNIQ_KEY", "U1"),
        ("DELAY", "4"),
    ]);
    let r = client
        .invoke(&addr, retry_send("cg", 16, &p), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    wait_for(&client, &addr, "%DLQ%cg", 0, 1, Duration::from_secs(2)).await;
    let (dead, _) = pull_one(&client, &addr, "%DLQ%cg", 0, 0).await;
    assert_eq!(dead.body(), b"poison");
    assert_eq!(dead.reconsume_times(), 16);
    let stored = Properties::decode(dead.properties()).unwrap();
    assert_eq!(stored.get(properties::DLQ_ORIGIN_TOPIC), Some("Orders"));
    assert_eq!(
        stored.get(properties::DLQ_ORIGIN_MESSAGE_ID),
        Some("ORIGIN-1")
    );
    assert_eq!(stored.get(properties::DELAY_TIME_LEVEL), None);
    assert_eq!(stored.get(properties::REAL_TOPIC), None);

    // Without origin properties: the retry topic and the message's own id.
    let p = props(&[("UNIQ_KEY", "U2")]);
    let r = client
        .invoke(&addr, retry_send("cg", 20, &p), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    wait_for(&client, &addr, "%DLQ%cg", 0, 2, T).await;
    let (dead, _) = pull_one(&client, &addr, "%DLQ%cg", 0, 1).await;
    let stored = Properties::decode(dead.properties()).unwrap();
    assert_eq!(stored.get(properties::DLQ_ORIGIN_TOPIC), Some("%RETRY%cg"));
    assert_eq!(stored.get(properties::DLQ_ORIGIN_MESSAGE_ID), Some("U2"));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_read_only_dlq_refuses_dead_letters_from_sends_and_send_backs() {
    let (broker, addr, client, _dir) = running(short_delay_levels).await;

    // The operator makes the group's DLQ read-only (perm 4).
    create_topic(&client, &addr, "%DLQ%cg", 1, PERM_READ).await;
    let forbidden = Some("the topic[%DLQ%cg] sending message is forbidden".to_string());

    // A retry send past its limit.
    let p = props(&[("UNIQ_KEY", "U1")]);
    let r = client
        .invoke(&addr, retry_send("cg", 16, &p), T)
        .await
        .unwrap();
    assert_eq!((r.code, r.remark), (code::NO_PERMISSION, forbidden.clone()));

    // A consumer's send-back past its limit.
    let offset = stored_offset(&client, &addr, "Orders", "poison").await;
    let r = client
        .invoke(&addr, send_back("cg", offset, -1), T)
        .await
        .unwrap();
    assert_eq!((r.code, r.remark), (code::NO_PERMISSION, forbidden));
    assert_eq!(max_offset(&client, &addr, "%DLQ%cg", 0).await, 0);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_groups_retry_policy_sets_the_retry_delay() {
    // Default delay levels: by level, the first retry would wait 10 s.
    let (broker, addr, client, _dir) = running(|_| {}).await;
    let group = |policy: serde_json::Value| {
        let config = SubscriptionGroupConfig {
            group_name: "pol".into(),
            group_retry_policy: Some(policy),
            ..Default::default()
        };
        RemotingCommand::request(rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).with_body(config.encode())
    };
    // A policy that cannot be read is refused, not ignored.
    let r = client
        .invoke(
            &addr,
            group(serde_json::json!({"customizedRetryPolicy": {"next": "soon"}})),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("groupRetryPolicy"));
    // Retry n waits next[n + 2]: 300 ms for the first.
    let policy = serde_json::json!({"type": "CUSTOMIZED", "customizedRetryPolicy": {"next": [100, 200, 300, 400]}});
    let r = client.invoke(&addr, group(policy), T).await.unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);

    let offset = stored_offset(&client, &addr, "Work", "flaky").await;
    let sent_back = Instant::now();
    let r = client
        .invoke(&addr, send_back("pol", offset, 0), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    let arrived = wait_for(&client, &addr, "%RETRY%pol", 0, 1, Duration::from_secs(5)).await;
    assert!(
        arrived.duration_since(sent_back) >= Duration::from_millis(250),
        "{:?}",
        arrived.duration_since(sent_back)
    );
    let (retry, _) = pull_one(&client, &addr, "%RETRY%pol", 0, 0).await;
    assert_eq!(retry.body(), b"flaky");
    assert_eq!(retry.reconsume_times(), 1);
    let p = Properties::decode(retry.properties()).unwrap();
    assert!(p.get(properties::TIMER_OUT_MS).is_some(), "held as a timer");
    assert_eq!(p.get(properties::RETRY_TOPIC), Some("Work"));
    broker.shutdown().await.unwrap();
}
