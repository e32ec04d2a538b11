#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Message trace with petrel-client: a producer and a push consumer with trace on write Pub,
//! SubBefore and SubAfter records to `RMQ_SYS_TRACE_TOPIC`, and `petrel admin
//! queryMsgTraceById` finds them by the message's id and prints the timeline: sent, stored,
//! delivered, failed, delivered again (retry 1), consumed.

mod support;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use petrel_client::consumer::ConsumeFromWhere;
use petrel_client::{
    ClientConfig, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, Message, MessageExt,
    Producer, ProducerConfig, PushConsumer, PushConsumerConfig, Selector,
};
use serde_json::Value;
use support::client::{create_topic, serve_small};
use support::unique;

/// Upper bound of the waits here.
const WAIT: Duration = Duration::from_secs(30);

fn admin(ns: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_petrel"))
        .args(["admin", "-n", ns])
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traced_clients_leave_a_timeline_query_msg_trace_by_id_prints() {
    let p = serve_small(&[]);
    let topic = unique("Traced");
    let (pg, cg) = (unique("trace-pg"), unique("trace-cg"));
    let mut producer_config = ProducerConfig::new(&pg);
    producer_config.enable_msg_trace = true;
    let producer = Producer::start(ClientConfig::new(&p.namesrv), producer_config)
        .await
        .unwrap();
    create_topic(&p, &producer, &topic, 2).await;

    let consumed: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut consumer_config = PushConsumerConfig::new(&cg);
    consumer_config.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    consumer_config.enable_msg_trace = true;
    let sink = Arc::clone(&consumed);
    // The retry topic appears after the first send-back: look routes up every second.
    let mut client = ClientConfig::new(&p.namesrv);
    client.poll_name_server_interval = Duration::from_secs(1);
    client.rebalance_interval = Duration::from_secs(1);
    let consumer = PushConsumer::builder(client, consumer_config)
        .subscribe(&topic, Selector::all())
        .listener_concurrently(
            move |msgs: &[MessageExt], ctx: &mut ConsumeConcurrentlyContext| {
                // The first delivery fails; the retry (1 s later, delay level 1) succeeds.
                if msgs.iter().any(|m| m.reconsume_times == 0) {
                    ctx.delay_level_when_next_consume = 1;
                    return ConsumeConcurrentlyStatus::ReconsumeLater;
                }
                let mut s = sink.lock().unwrap();
                s.extend(msgs.iter().map(|m| m.msg_id().to_string()));
                ConsumeConcurrentlyStatus::ConsumeSuccess
            },
        )
        .start()
        .await
        .unwrap();

    let sent = producer
        .send(
            Message::new(&topic, b"traced".to_vec())
                .with_tags("TagA")
                .with_keys(["order-1"]),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while !consumed.lock().unwrap().contains(&sent.msg_id) {
        assert!(Instant::now() < deadline, "not consumed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The trace batches arrive within moments; the index makes them findable by msgId.
    let deadline = Instant::now() + WAIT;
    let doc: Value = loop {
        let (ok, out) = admin(
            &p.namesrv,
            &["--json", "queryMsgTraceById", "-i", &sent.msg_id],
        );
        if ok {
            let doc: Value = serde_json::from_str(&out).unwrap();
            let kinds: Vec<&str> = doc["traces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["type"].as_str().unwrap())
                .collect();
            let afters = kinds.iter().filter(|k| **k == "SubAfter").count();
            if kinds.contains(&"Pub") && kinds.contains(&"SubBefore") && afters >= 2 {
                break doc;
            }
        }
        assert!(Instant::now() < deadline, "no complete trace: {out}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let traces = doc["traces"].as_array().unwrap();
    let pub_record = traces.iter().find(|t| t["type"] == "Pub").unwrap();
    assert_eq!(pub_record["groupName"], pg.as_str());
    assert_eq!(pub_record["topic"], topic.as_str());
    assert_eq!(pub_record["tags"], "TagA");
    assert_eq!(pub_record["keys"], "order-1");
    assert_eq!(pub_record["storeHost"], p.broker.as_str());
    assert_eq!(pub_record["success"], true);
    let afters: Vec<&Value> = traces.iter().filter(|t| t["type"] == "SubAfter").collect();
    assert!(afters.iter().all(|a| a["groupName"] == cg.as_str()));
    assert!(
        afters.iter().any(|a| a["success"] == false),
        "the failed delivery"
    );
    assert!(afters.iter().any(|a| a["success"] == true), "the retry");
    assert!(
        traces
            .iter()
            .any(|t| t["type"] == "SubBefore" && t["retryTimes"] == 1),
        "the retry's delivery: {traces:?}"
    );

    // The table mqadmin prints, and the timeline.
    let (ok, text) = admin(&p.namesrv, &["queryMsgTraceById", "-i", &sent.msg_id]);
    assert!(ok, "{text}");
    assert!(text.contains("#ProducerGroup"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("Pub ") && l.contains(&pg) && l.contains("success")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("Sub ") && l.contains(&cg) && l.contains("success")),
        "{text}"
    );
    assert!(
        text.contains(&format!("sent by producer group {pg}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("delivered to consumer group {cg}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("consumed by consumer group {cg}")),
        "{text}"
    );

    consumer.shutdown().await;
    producer.shutdown().await;
}
