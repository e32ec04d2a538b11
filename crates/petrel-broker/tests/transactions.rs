//! Transactional messages at the broker: half messages stay invisible, END_TRANSACTION commits
//! once or rolls back, state survives a restart, and unresolved halves are checked back and
//! finally set aside after transactionCheckMax.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use petrel_broker::{Broker, BrokerConfig};
use petrel_protocol::message::{decode_offset_msg_id, properties, sys_flag, RecordView};
use petrel_protocol::remoting::body::{HeartbeatData, JsonBody, ProducerData};
use petrel_protocol::remoting::header::*;
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use petrel_remoting::{
    BoxFuture, RemotingClient, RemotingConfig, Reply, RequestContext, RequestHandler,
};
use support::{max_offset, props, running, send_header, send_with, T};

/// Halves become checkable after 200 ms, are checked every `check_interval_ms` and set aside
/// after `check_max` checks.
fn transaction_config(config: &mut BrokerConfig, check_interval_ms: u64, check_max: u32) {
    config.transaction_timeout_ms = 200;
    config.transaction_check_interval_ms = check_interval_ms;
    config.transaction_check_max = check_max;
}

async fn start(dir: &std::path::Path, check_interval_ms: u64, check_max: u32) -> Broker {
    support::start(dir, |c| transaction_config(c, check_interval_ms, check_max)).await
}

/// A half message of producer group `tx_pg` to queue 0 of `topic`.
fn half(topic: &str, body: &str, uniq: &str) -> RemotingCommand {
    let p = props(&[
        ("TRAN_MSG", "true"),
        ("PGROUP", "tx_pg"),
        ("UNIQ_KEY", uniq),
        ("KEYS", uniq),
    ]);
    let mut header = send_header(topic, 0, &p);
    header.producer_group = "tx_pg".into();
    header.default_topic_queue_nums = 1;
    header.sys_flag = sys_flag::TRANSACTION_PREPARED_TYPE;
    send_with(&header, body)
}

fn end(queue_offset: i64, commit_log_offset: i64, kind: i32) -> RemotingCommand {
    let h = EndTransactionRequestHeader {
        producer_group: "tx_pg".into(),
        tran_state_table_offset: queue_offset,
        commit_log_offset,
        commit_or_rollback: kind,
        msg_id: "x".into(),
        ..Default::default()
    };
    RemotingCommand::request(rc::END_TRANSACTION).with_header(&h)
}

async fn eventually(mut f: impl AsyncFnMut() -> bool, what: &str) {
    let deadline = Instant::now() + T;
    while !f().await {
        assert!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn send_half(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    body: &str,
    uniq: &str,
) -> (i64, i64) {
    let r = client
        .invoke(addr, half(topic, body, uniq), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    let h = r.decode_header::<SendMessageResponseHeader>().unwrap();
    assert_eq!(h.transaction_id.as_deref(), Some(uniq));
    (h.queue_offset, decode_offset_msg_id(&h.msg_id).unwrap().1)
}

#[tokio::test]
async fn halves_are_invisible_until_committed_once_and_rollbacks_never_appear() {
    let (broker, addr, client, _dir) = running(|c| transaction_config(c, 60_000, 15)).await;
    let (q1, c1) = send_half(&client, &addr, "Pay", "commit me", "U-1").await;
    let (q2, c2) = send_half(&client, &addr, "Pay", "roll me back", "U-2").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        max_offset(&client, &addr, "Pay", 0).await,
        0,
        "a half message became visible"
    );
    for _ in 0..2 {
        // Committing twice (the producer's answer and a check-back answer) stores it once.
        assert_eq!(
            client.invoke(&addr, end(q1, c1, 8), T).await.unwrap().code,
            code::SUCCESS
        );
    }
    assert_eq!(
        client.invoke(&addr, end(q2, c2, 12), T).await.unwrap().code,
        code::SUCCESS
    );
    // A commit after the rollback does nothing either.
    assert_eq!(
        client.invoke(&addr, end(q2, c2, 8), T).await.unwrap().code,
        code::SUCCESS
    );
    eventually(
        async || max_offset(&client, &addr, "Pay", 0).await == 1,
        "the commit",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(max_offset(&client, &addr, "Pay", 0).await, 1);
    // An offset that holds no half message is refused.
    let r = client.invoke(&addr, end(0, 123_456, 8), T).await.unwrap();
    assert_eq!(r.code, code::SYSTEM_ERROR);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn transaction_state_survives_a_restart() {
    let (broker, addr, client, dir) = running(|c| transaction_config(c, 60_000, 15)).await;
    let (q1, c1) = send_half(&client, &addr, "Pay", "a", "R-1").await;
    let (q2, c2) = send_half(&client, &addr, "Pay", "b", "R-2").await;
    assert_eq!(
        client.invoke(&addr, end(q1, c1, 8), T).await.unwrap().code,
        code::SUCCESS
    );
    eventually(
        async || max_offset(&client, &addr, "Pay", 0).await == 1,
        "the first commit",
    )
    .await;
    broker.shutdown().await.unwrap();
    client.close_all().await;

    let broker = start(dir.path(), 60_000, 15).await;
    let addr = broker.local_addr().to_string();
    // The first is remembered as resolved; the second can still be committed.
    assert_eq!(
        client.invoke(&addr, end(q1, c1, 8), T).await.unwrap().code,
        code::SUCCESS
    );
    assert_eq!(
        client.invoke(&addr, end(q2, c2, 8), T).await.unwrap().code,
        code::SUCCESS
    );
    eventually(
        async || max_offset(&client, &addr, "Pay", 0).await == 2,
        "the second commit",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(max_offset(&client, &addr, "Pay", 0).await, 2);
    broker.shutdown().await.unwrap();
}

/// A producer that answers every check with COMMIT over the connection the check came on.
#[derive(Default)]
struct CheckedProducer {
    checks: Mutex<Vec<(i64, String)>>,
}

impl RequestHandler for CheckedProducer {
    fn handle(&self, ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>> {
        if request.code == rc::CHECK_TRANSACTION_STATE {
            let h = request
                .decode_header::<CheckTransactionStateRequestHeader>()
                .unwrap();
            let view = RecordView::parse(&request.body).unwrap();
            let uniq = properties::find(view.properties(), "UNIQ_KEY")
                .unwrap()
                .unwrap()
                .to_string();
            assert_eq!(
                properties::find(view.properties(), "PGROUP").unwrap(),
                Some("tx_pg")
            );
            self.checks
                .lock()
                .unwrap()
                .push((h.commit_log_offset, uniq));
            let mut answer = end(h.tran_state_table_offset, h.commit_log_offset, 8);
            answer.mark_oneway();
            let conn = ctx.connection.clone();
            return Box::pin(async move {
                let _ = conn.invoke_oneway(answer).await;
                None
            });
        }
        Box::pin(async { None })
    }
}

#[tokio::test]
async fn unknown_transactions_are_checked_back_then_set_aside_after_the_maximum() {
    let (broker, addr, _, _dir) = running(|c| transaction_config(c, 200, 2)).await;
    // A live producer of tx_pg answers checks with COMMIT.
    let producer = Arc::new(CheckedProducer::default());
    let client = RemotingClient::new(RemotingConfig::default(), Some(producer.clone()));
    let hb = HeartbeatData {
        client_id: "tx-client".into(),
        producer_data_set: vec![ProducerData {
            group_name: "tx_pg".into(),
        }],
        ..Default::default()
    };
    assert_eq!(
        client
            .invoke(
                &addr,
                RemotingCommand::request(rc::HEART_BEAT).with_body(hb.encode()),
                T
            )
            .await
            .unwrap()
            .code,
        code::SUCCESS
    );
    send_half(&client, &addr, "Checked", "resolved by check-back", "C-1").await;
    eventually(
        async || max_offset(&client, &addr, "Checked", 0).await == 1,
        "commit via check-back",
    )
    .await;
    assert_eq!(
        producer
            .checks
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, u)| u == "C-1")
            .count(),
        1
    );
    client.close_all().await;

    // Nobody to ask: after transactionCheckMax (2) rounds the half goes to TRANS_CHECK_MAX_TIME_TOPIC.
    let lonely = support::client();
    send_half(&lonely, &addr, "Lonely", "nobody answers", "L-1").await;
    eventually(
        async || max_offset(&lonely, &addr, "TRANS_CHECK_MAX_TIME_TOPIC", 0).await == 1,
        "set aside",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        max_offset(&lonely, &addr, "TRANS_CHECK_MAX_TIME_TOPIC", 0).await,
        1,
        "set aside more than once"
    );
    assert_eq!(max_offset(&lonely, &addr, "Lonely", 0).await, 0);
    broker.shutdown().await.unwrap();
}
