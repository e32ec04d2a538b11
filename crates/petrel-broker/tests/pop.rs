//! POP consumption over real sockets: POP_MESSAGE, ACK_MESSAGE, BATCH_ACK_MESSAGE,
//! CHANGE_MESSAGE_INVISIBLETIME, PEEK_MESSAGE, NOTIFICATION; revive into the POP retry topic,
//! the DLQ, FIFO, long polling, restarts and bad input. Receipt handles are built from the
//! response exactly as the Java client's `processPopResponse` builds them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use petrel_protocol::pop::{ExtraInfo, RetryFlag};
use petrel_protocol::remoting::body::{JsonBody, SubscriptionGroupConfig};
use petrel_protocol::remoting::header::*;
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use petrel_remoting::RemotingClient;
use support::{call, create_topic, records, running, send_v1, wait_visible, T};

const G: &str = "pop-group";

/// A popped message as a client sees it.
#[derive(Debug, Clone)]
struct Got {
    topic: String,
    queue_id: i32,
    offset: i64,
    body: String,
    reconsume_times: i32,
    /// The receipt handle (`POP_CK`).
    handle: String,
}

struct PopAnswer {
    code: i32,
    header: PopMessageResponseHeader,
    got: Vec<Got>,
}

fn pop_header(
    topic: &str,
    queue_id: i32,
    n: i32,
    invisible_ms: i64,
    poll_ms: i64,
) -> PopMessageRequestHeader {
    PopMessageRequestHeader {
        consumer_group: G.into(),
        topic: topic.into(),
        queue_id,
        max_msg_nums: n,
        invisible_time: invisible_ms,
        poll_time: poll_ms,
        born_time: 0,
        init_mode: 0,
        exp_type: Some("TAG".into()),
        exp: Some("*".into()),
        ..Default::default()
    }
}

async fn pop_with(client: &RemotingClient, addr: &str, h: &PopMessageRequestHeader) -> PopAnswer {
    let r = client
        .invoke(
            addr,
            RemotingCommand::request(rc::POP_MESSAGE).with_header(h),
            T + Duration::from_secs(30),
        )
        .await
        .unwrap();
    let header: PopMessageResponseHeader = r
        .decode_header()
        .unwrap_or_else(|e| panic!("code {} {:?}: {e}", r.code, r.remark));
    let mut got = Vec::new();
    if r.code == code::SUCCESS {
        // The client's algorithm: startOffsetInfo and msgOffsetInfo keyed by "flag@queueId".
        let parse = |s: &Option<String>| -> HashMap<String, String> {
            s.as_deref()
                .unwrap_or("")
                .split(';')
                .filter(|x| !x.is_empty())
                .map(|one| {
                    let f: Vec<&str> = one.split(' ').collect();
                    assert_eq!(f.len(), 3, "{one:?}");
                    (format!("{}@{}", f[0], f[1]), f[2].to_string())
                })
                .collect()
        };
        let starts = parse(&header.start_offset_info);
        let offsets = parse(&header.msg_offset_info);
        for view in records(&r.body) {
            let flag = RetryFlag::of_topic(view.topic());
            let key = format!("{}@{}", flag.as_str(), view.queue_id());
            let start = &starts[&key];
            assert!(
                offsets[&key]
                    .split(',')
                    .any(|o| o == view.queue_offset().to_string()),
                "msgOffsetInfo lists {}",
                view.queue_offset()
            );
            got.push(Got {
                topic: view.topic().to_string(),
                queue_id: view.queue_id(),
                offset: view.queue_offset(),
                body: String::from_utf8_lossy(view.body()).into_owned(),
                reconsume_times: view.reconsume_times(),
                handle: format!(
                    "{start} {} {} {} {} broker-a {} {}",
                    header.pop_time,
                    header.invisible_time,
                    header.revive_qid,
                    flag.as_str(),
                    view.queue_id(),
                    view.queue_offset()
                ),
            });
        }
    }
    PopAnswer {
        code: r.code,
        header,
        got,
    }
}

async fn pop(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    n: i32,
    invisible_ms: i64,
) -> Vec<Got> {
    let a = pop_with(client, addr, &pop_header(topic, -1, n, invisible_ms, 0)).await;
    a.got
}

fn ack_request(topic: &str, m: &Got) -> RemotingCommand {
    // Remoting clients name the real topic: the retry topic for a retried message.
    let h = AckMessageRequestHeader {
        consumer_group: G.into(),
        topic: topic.into(),
        queue_id: m.queue_id,
        extra_info: m.handle.clone(),
        offset: m.offset,
        ..Default::default()
    };
    RemotingCommand::request(rc::ACK_MESSAGE).with_header(&h)
}

async fn ack(client: &RemotingClient, addr: &str, m: &Got) {
    call(client, addr, ack_request(&m.topic, m)).await;
}

async fn send_n(client: &RemotingClient, addr: &str, topic: &str, queue_id: i32, n: usize) {
    for i in 0..n {
        call(client, addr, send_v1(topic, queue_id, &format!("m{i}"), "")).await;
    }
}

async fn committed(client: &RemotingClient, addr: &str, topic: &str, queue_id: i32) -> i64 {
    let h = QueryConsumerOffsetRequestHeader {
        consumer_group: G.into(),
        topic: topic.into(),
        queue_id,
        ..Default::default()
    };
    let r = client
        .invoke(
            addr,
            RemotingCommand::request(rc::QUERY_CONSUMER_OFFSET).with_header(&h),
            T,
        )
        .await
        .unwrap();
    if r.code != code::SUCCESS {
        return -1;
    }
    r.decode_header::<QueryConsumerOffsetResponseHeader>()
        .unwrap()
        .offset
}

/// Pops until `n` messages came (each pop holds up to 3 s), at most `timeout`.
async fn pop_until(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    n: usize,
    invisible_ms: i64,
    timeout: Duration,
) -> Vec<Got> {
    let deadline = Instant::now() + timeout;
    let mut all = Vec::new();
    while all.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} popped",
            all.len()
        );
        let a = pop_with(
            client,
            addr,
            &pop_header(topic, -1, 32, invisible_ms, 3_000),
        )
        .await;
        all.extend(a.got);
    }
    all
}

#[tokio::test]
async fn popped_messages_are_hidden_until_acked_and_the_offset_follows_acks() {
    let (_broker, addr, client, _dir) = running(|_| {}).await;
    create_topic(&client, &addr, "PopT", 1, 6).await;
    send_n(&client, &addr, "PopT", 0, 5).await;
    wait_visible(&client, &addr, "PopT", 0, 5).await;

    let first = pop(&client, &addr, "PopT", 3, 60_000).await;
    assert_eq!(
        first.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["m0", "m1", "m2"]
    );
    let second = pop(&client, &addr, "PopT", 32, 60_000).await;
    assert_eq!(second.iter().map(|m| m.offset).collect::<Vec<_>>(), [3, 4]);
    // Everything is in flight now.
    let a = pop_with(&client, &addr, &pop_header("PopT", -1, 32, 60_000, 0)).await;
    assert_eq!(a.code, code::POLLING_TIMEOUT);
    assert!(a.got.is_empty());

    // The consume offset is the first message not acked.
    assert_eq!(committed(&client, &addr, "PopT", 0).await, 0);
    ack(&client, &addr, &first[1]).await;
    assert_eq!(committed(&client, &addr, "PopT", 0).await, 0);
    ack(&client, &addr, &first[0]).await;
    assert_eq!(committed(&client, &addr, "PopT", 0).await, 2);
    // Acking twice is no error and changes nothing.
    ack(&client, &addr, &first[0]).await;
    for m in first[2..].iter().chain(&second) {
        ack(&client, &addr, m).await;
    }
    assert_eq!(committed(&client, &addr, "PopT", 0).await, 5);
}

#[tokio::test]
async fn an_unacked_message_comes_back_from_the_retry_topic_and_then_goes_to_the_dlq() {
    let (_broker, addr, client, _dir) = running(|_| {}).await;
    create_topic(&client, &addr, "PopRetry", 2, 6).await;
    // One retry only: the second lapse sends it to the DLQ.
    let group = SubscriptionGroupConfig {
        group_name: G.into(),
        retry_max_times: 1,
        ..Default::default()
    };
    call(
        &client,
        &addr,
        RemotingCommand::request(rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).with_body(group.encode()),
    )
    .await;
    send_n(&client, &addr, "PopRetry", 1, 1).await;
    wait_visible(&client, &addr, "PopRetry", 1, 1).await;

    let popped_at = Instant::now();
    let first = pop(&client, &addr, "PopRetry", 1, 1_000).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].reconsume_times, 0);
    // Hidden for its invisible time, then back through %RETRY%{group}_{topic}.
    let again = pop_until(
        &client,
        &addr,
        "PopRetry",
        1,
        1_000,
        Duration::from_secs(10),
    )
    .await;
    assert!(popped_at.elapsed() >= Duration::from_millis(1_000));
    let retry_topic = format!("%RETRY%{G}_PopRetry");
    assert_eq!(again[0].topic, retry_topic);
    assert_eq!(again[0].body, "m0");
    assert_eq!(again[0].reconsume_times, 1);
    let handle = ExtraInfo::parse(&again[0].handle).unwrap();
    assert_eq!(handle.retry, RetryFlag::RetryV1);
    // The first handle is stale now: acking it is accepted and changes nothing.
    ack(&client, &addr, &first[0]).await;
    assert_eq!(committed(&client, &addr, "PopRetry", 1).await, 1);

    // Not acked again: past retryMaxTimes it lands in %DLQ%{group}.
    let dlq = format!("%DLQ%{G}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let h = GetMaxOffsetRequestHeader {
            topic: dlq.clone(),
            queue_id: 0,
            ..Default::default()
        };
        let r = client
            .invoke(
                &addr,
                RemotingCommand::request(rc::GET_MAX_OFFSET).with_header(&h),
                T,
            )
            .await
            .unwrap();
        if r.code == code::SUCCESS
            && r.decode_header::<GetMaxOffsetResponseHeader>()
                .unwrap()
                .offset
                == 1
        {
            break;
        }
        assert!(Instant::now() < deadline, "never reached the DLQ");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let a = pop_with(
        &client,
        &addr,
        &pop_header("PopRetry", -1, 32, 1_000, 1_500),
    )
    .await;
    assert!(
        a.got.is_empty(),
        "a dead letter is not delivered again: {:?}",
        a.got
    );
}

#[tokio::test]
async fn a_retried_message_is_acked_with_its_retry_topic_and_a_change_extends_its_time() {
    let (_broker, addr, client, _dir) = running(|_| {}).await;
    create_topic(&client, &addr, "PopChange", 1, 6).await;
    send_n(&client, &addr, "PopChange", 0, 2).await;
    wait_visible(&client, &addr, "PopChange", 0, 2).await;
    let got = pop(&client, &addr, "PopChange", 2, 1_000).await;
    assert_eq!(got.len(), 2);

    // Extend the second one to 60 s; the response carries the new handle's parts.
    let h = ChangeInvisibleTimeRequestHeader {
        consumer_group: G.into(),
        topic: "PopChange".into(),
        queue_id: 0,
        extra_info: got[1].handle.clone(),
        offset: got[1].offset,
        invisible_time: 60_000,
        ..Default::default()
    };
    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::CHANGE_MESSAGE_INVISIBLETIME).with_header(&h),
    )
    .await;
    let changed: ChangeInvisibleTimeResponseHeader = r.decode_header().unwrap();
    assert_eq!(changed.invisible_time, 60_000);

    // Only the first comes back.
    let back = pop_until(
        &client,
        &addr,
        "PopChange",
        1,
        60_000,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body, "m0");
    let a = pop_with(
        &client,
        &addr,
        &pop_header("PopChange", -1, 32, 60_000, 1_500),
    )
    .await;
    assert!(a.got.is_empty(), "the extended message stayed hidden");
    // Ack both: the retried one on its retry topic, the other with its new handle.
    ack(&client, &addr, &back[0]).await;
    let mut renewed = ExtraInfo::parse(&got[1].handle).unwrap();
    renewed.pop_time = changed.pop_time;
    renewed.invisible_time = changed.invisible_time;
    let m = Got {
        handle: renewed.to_string(),
        ..got[1].clone()
    };
    ack(&client, &addr, &m).await;
    assert_eq!(committed(&client, &addr, "PopChange", 0).await, 2);
}

#[tokio::test]
async fn fifo_pops_one_batch_at_a_time_and_redeliver_it_in_order() {
    let (_broker, addr, client, _dir) = running(|_| {}).await;
    create_topic(&client, &addr, "PopFifo", 1, 6).await;
    send_n(&client, &addr, "PopFifo", 0, 4).await;
    wait_visible(&client, &addr, "PopFifo", 0, 4).await;
    let order = |n, inv| PopMessageRequestHeader {
        order: true,
        ..pop_header("PopFifo", 0, n, inv, 0)
    };
    let a = pop_with(&client, &addr, &order(2, 1_000)).await;
    assert_eq!(a.header.revive_qid, 999);
    assert_eq!(a.got.iter().map(|m| m.offset).collect::<Vec<_>>(), [0, 1]);
    // The queue is blocked while the batch is in flight.
    let blocked = pop_with(&client, &addr, &order(2, 1_000)).await;
    assert!(blocked.got.is_empty());
    // Ack the second only; the first lapses: the batch comes again without the acked one,
    // counted as a second delivery.
    ack(&client, &addr, &a.got[1]).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let again = pop_with(&client, &addr, &order(2, 1_000)).await;
    assert_eq!(
        again.got.iter().map(|m| m.offset).collect::<Vec<_>>(),
        [0, 2]
    );
    assert_eq!(again.header.order_count_info.as_deref(), Some("0 qo0%0 1"));
    for m in &again.got {
        ack(&client, &addr, m).await;
    }
    let last = pop_with(&client, &addr, &order(2, 1_000)).await;
    assert_eq!(last.got.iter().map(|m| m.offset).collect::<Vec<_>>(), [3]);
}

#[tokio::test]
async fn a_held_pop_answers_when_a_message_arrives_and_notification_tells_first() {
    let (_broker, addr, client, _dir) = running(|_| {}).await;
    create_topic(&client, &addr, "PopPoll", 2, 6).await;
    let n = NotificationRequestHeader {
        consumer_group: G.into(),
        topic: "PopPoll".into(),
        queue_id: -1,
        poll_time: 300,
        born_time: 0,
        ..Default::default()
    };
    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::NOTIFICATION).with_header(&n),
    )
    .await;
    assert!(
        !r.decode_header::<NotificationResponseHeader>()
            .unwrap()
            .has_msg
    );

    let (c2, a2) = (support::client(), addr.clone());
    let held = tokio::spawn(async move {
        let started = Instant::now();
        let a = pop_with(&c2, &a2, &pop_header("PopPoll", -1, 32, 60_000, 10_000)).await;
        (a.got, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    send_n(&client, &addr, "PopPoll", 1, 1).await;
    let (got, waited) = held.await.unwrap();
    assert_eq!(got.len(), 1);
    assert!(
        waited < Duration::from_secs(5),
        "woken by the arrival, not the timeout: {waited:?}"
    );

    send_n(&client, &addr, "PopPoll", 0, 1).await;
    wait_visible(&client, &addr, "PopPoll", 0, 1).await;
    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::NOTIFICATION).with_header(&n),
    )
    .await;
    assert!(
        r.decode_header::<NotificationResponseHeader>()
            .unwrap()
            .has_msg
    );
    // PEEK shows it without taking it.
    let peek = PeekMessageRequestHeader {
        topic: "PopPoll".into(),
        queue_id: 0,
        max_msg_nums: 8,
        consumer_group: G.into(),
        ..Default::default()
    };
    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::PEEK_MESSAGE).with_header(&peek),
    )
    .await;
    assert_eq!(records(&r.body).len(), 1);
    assert_eq!(pop(&client, &addr, "PopPoll", 32, 60_000).await.len(), 1);
}

#[tokio::test]
async fn batch_ack_acks_the_offsets_of_its_bit_set() {
    let (_broker, addr, client, _dir) = running(|_| {}).await;
    create_topic(&client, &addr, "PopBatch", 1, 6).await;
    send_n(&client, &addr, "PopBatch", 0, 3).await;
    wait_visible(&client, &addr, "PopBatch", 0, 3).await;
    let got = pop(&client, &addr, "PopBatch", 3, 60_000).await;
    let h = ExtraInfo::parse(&got[0].handle).unwrap();
    // Bits 0 and 2 → offsets 0 and 2 ("BQ==" is the byte 0b101).
    let body = format!(
        r#"{{"brokerName":"broker-a","acks":[{{"c":"{G}","t":"PopBatch","r":"0","so":0,"q":0,"rq":0,"pt":{},"it":60000,"b":"BQ=="}}]}}"#,
        h.pop_time
    );
    call(
        &client,
        &addr,
        RemotingCommand::request(rc::BATCH_ACK_MESSAGE).with_body(body.into_bytes()),
    )
    .await;
    assert_eq!(committed(&client, &addr, "PopBatch", 0).await, 1);
    ack(&client, &addr, &got[1]).await;
    assert_eq!(committed(&client, &addr, "PopBatch", 0).await, 3);
}

#[tokio::test]
async fn bad_pop_requests_get_clear_answers() {
    let (_broker, addr, client, _dir) = running(|_| {}).await;
    create_topic(&client, &addr, "PopBad", 1, 6).await;
    send_n(&client, &addr, "PopBad", 0, 1).await;
    wait_visible(&client, &addr, "PopBad", 0, 1).await;
    let expect = |r: RemotingCommand, want: i32| {
        assert_eq!(r.code, want, "{:?}", r.remark);
        assert!(r.remark.is_some_and(|s| !s.is_empty()));
    };
    let inv =
        |h: &PopMessageRequestHeader| RemotingCommand::request(rc::POP_MESSAGE).with_header(h);
    expect(
        client
            .invoke(&addr, inv(&pop_header("NoSuchTopic", -1, 1, 60_000, 0)), T)
            .await
            .unwrap(),
        code::TOPIC_NOT_EXIST,
    );
    expect(
        client
            .invoke(&addr, inv(&pop_header("PopBad", 5, 1, 60_000, 0)), T)
            .await
            .unwrap(),
        code::INVALID_PARAMETER,
    );
    expect(
        client
            .invoke(&addr, inv(&pop_header("PopBad", -1, 0, 60_000, 0)), T)
            .await
            .unwrap(),
        code::INVALID_PARAMETER,
    );
    expect(
        client
            .invoke(&addr, inv(&pop_header("PopBad", -1, 33, 60_000, 0)), T)
            .await
            .unwrap(),
        code::INVALID_PARAMETER,
    );
    expect(
        client
            .invoke(&addr, inv(&pop_header("PopBad", -1, 1, -5, 0)), T)
            .await
            .unwrap(),
        code::INVALID_PARAMETER,
    );
    let bad_sql = PopMessageRequestHeader {
        exp_type: Some("SQL92".into()),
        exp: Some("a >".into()),
        ..pop_header("PopBad", -1, 1, 60_000, 0)
    };
    expect(
        client.invoke(&addr, inv(&bad_sql), T).await.unwrap(),
        code::SUBSCRIPTION_PARSE_FAILED,
    );
    let m = Got {
        topic: "PopBad".into(),
        queue_id: 0,
        offset: 0,
        body: String::new(),
        reconsume_times: 0,
        handle: "not a handle".into(),
    };
    expect(
        client
            .invoke(&addr, ack_request("PopBad", &m), T)
            .await
            .unwrap(),
        code::MESSAGE_ILLEGAL,
    );
    let m = Got {
        handle: "0 1 60000 0 0 broker-a 0 0".into(),
        ..m
    };
    expect(
        client
            .invoke(&addr, ack_request("NoSuchTopic", &m), T)
            .await
            .unwrap(),
        code::TOPIC_NOT_EXIST,
    );
    let far = Got {
        offset: 1_000,
        ..m.clone()
    };
    expect(
        client
            .invoke(&addr, ack_request("PopBad", &far), T)
            .await
            .unwrap(),
        code::NO_MESSAGE,
    );
    let other_queue = Got { queue_id: 7, ..m };
    expect(
        client
            .invoke(&addr, ack_request("PopBad", &other_queue), T)
            .await
            .unwrap(),
        code::MESSAGE_ILLEGAL,
    );
    expect(
        client
            .invoke(
                &addr,
                RemotingCommand::request(rc::BATCH_ACK_MESSAGE).with_body(b"{oops".to_vec()),
                T,
            )
            .await
            .unwrap(),
        code::SYSTEM_ERROR,
    );
    // The broker still serves.
    assert_eq!(pop(&client, &addr, "PopBad", 1, 60_000).await.len(), 1);
}

#[tokio::test]
async fn in_flight_messages_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = support::start(dir.path(), |_| {}).await;
    let addr = broker.local_addr().to_string();
    let client = support::client();
    create_topic(&client, &addr, "PopRestart", 1, 6).await;
    send_n(&client, &addr, "PopRestart", 0, 3).await;
    wait_visible(&client, &addr, "PopRestart", 0, 3).await;
    let got = pop(&client, &addr, "PopRestart", 3, 2_000).await;
    assert_eq!(got.len(), 3);
    ack(&client, &addr, &got[0]).await;
    ack(&client, &addr, &got[2]).await;
    broker.shutdown().await.unwrap();

    // Clean restart: m1 is still in flight with its old deadline, and comes back (only it).
    let broker = support::start(dir.path(), |_| {}).await;
    let addr = broker.local_addr().to_string();
    let client = support::client();
    let back = pop_until(
        &client,
        &addr,
        "PopRestart",
        1,
        60_000,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        back.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["m1"]
    );
    let none = pop_with(
        &client,
        &addr,
        &pop_header("PopRestart", -1, 32, 60_000, 1_500),
    )
    .await;
    assert!(
        none.got.is_empty(),
        "acked messages stay acked: {:?}",
        none.got
    );

    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_reset_offset_moves_a_pop_group_back() {
    let (_broker, addr, client, _dir) = running(|_| {}).await;
    create_topic(&client, &addr, "PopReset", 1, 6).await;
    send_n(&client, &addr, "PopReset", 0, 4).await;
    wait_visible(&client, &addr, "PopReset", 0, 4).await;
    for m in pop(&client, &addr, "PopReset", 4, 60_000).await {
        ack(&client, &addr, &m).await;
    }
    assert_eq!(committed(&client, &addr, "PopReset", 0).await, 4);
    // resetOffsetByTime to the start: the group reads everything again.
    let h = ResetOffsetRequestHeader {
        topic: "PopReset".into(),
        group: G.into(),
        timestamp: 0,
        is_force: true,
        ..Default::default()
    };
    call(
        &client,
        &addr,
        RemotingCommand::request(rc::INVOKE_BROKER_TO_RESET_OFFSET).with_header(&h),
    )
    .await;
    let again = pop(&client, &addr, "PopReset", 32, 60_000).await;
    assert_eq!(
        again.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["m0", "m1", "m2", "m3"]
    );
}
