//! Timer messages at the broker: delivered at their time, in due order, refused beyond
//! timerMaxDelaySec, and not lost across a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use petrel_broker::clock::now_ms;
use petrel_broker::{Broker, BrokerConfig};
use petrel_protocol::message::Properties;
use petrel_protocol::remoting::header::*;
use petrel_protocol::remoting::{response_code as code, RemotingCommand};
use petrel_remoting::RemotingClient;
use support::{
    body_text, max_offset, properties_of, pull_header, pull_with, records, running, send_header,
    send_with, wait_for, T,
};

/// Room for many timers, and timers up to an hour ahead.
fn timer_config(config: &mut BrokerConfig) {
    config.store.mapped_file_size_commit_log = 16 * 1024 * 1024;
    config.store.mapped_file_size_consume_queue = 20 * 100_000;
    config.store.max_hash_slot_num = 10_000;
    config.store.max_index_num = 200_000;
    config.timer_max_delay_seconds = 3600;
}

async fn start(dir: &std::path::Path) -> Broker {
    support::start(dir, timer_config).await
}

/// A send to queue 0 of `topic` (auto-created with one queue).
fn send(topic: &str, body: &str, pairs: &[(&str, String)]) -> RemotingCommand {
    let props: Properties = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let mut header = send_header(topic, 0, &props.encode());
    header.default_topic_queue_nums = 1;
    send_with(&header, body)
}

/// Every record of queue 0 as (body, store timestamp, properties).
async fn read_all(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
) -> Vec<(String, i64, Properties)> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let h = pull_header("cg", topic, 0, offset, "*");
        let r = client.invoke(addr, pull_with(&h), T).await.unwrap();
        if r.code != code::SUCCESS {
            return out;
        }
        for view in records(&r.body) {
            out.push((
                body_text(&view),
                view.store_timestamp(),
                properties_of(&view),
            ));
        }
        offset = r
            .decode_header::<PullMessageResponseHeader>()
            .unwrap()
            .next_begin_offset;
    }
}

#[tokio::test]
async fn timers_fire_on_time_with_each_property_and_too_long_is_refused() {
    let (broker, addr, client, _dir) = running(timer_config).await;
    let sent = Instant::now();
    let now = now_ms();
    for (topic, prop) in [
        ("TimerMs", ("TIMER_DELAY_MS", "700".to_string())),
        ("TimerSec", ("TIMER_DELAY_SEC", "1".to_string())),
        ("TimerAt", ("TIMER_DELIVER_MS", (now + 1200).to_string())),
    ] {
        let r = client
            .invoke(&addr, send(topic, topic, &[prop, ("KEYS", "k".into())]), T)
            .await
            .unwrap();
        assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for topic in ["TimerMs", "TimerSec", "TimerAt"] {
        assert_eq!(
            max_offset(&client, &addr, topic, 0).await,
            0,
            "{topic} fired early"
        );
    }
    for (topic, due_ms) in [("TimerMs", 700u64), ("TimerSec", 1000), ("TimerAt", 1200)] {
        let at = wait_for(&client, &addr, topic, 0, 1, T).await - sent;
        assert!(
            at >= Duration::from_millis(due_ms - 5),
            "{topic} fired at {at:?}"
        );
        assert!(
            at <= Duration::from_millis(due_ms + 150),
            "{topic} fired late at {at:?}"
        );
        let got = read_all(&client, &addr, topic).await;
        assert_eq!(got[0].0, topic);
        assert_eq!(got[0].2.get("KEYS"), Some("k"));
    }
    let r = client
        .invoke(
            &addr,
            send("TimerFar", "x", &[("TIMER_DELAY_SEC", "7200".into())]),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::MESSAGE_ILLEGAL);
    assert!(r.remark.unwrap().contains("timerMaxDelaySec"));
    let r = client
        .invoke(
            &addr,
            send("TimerBad", "x", &[("TIMER_DELAY_MS", "soon".into())]),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::MESSAGE_ILLEGAL);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn many_timers_fire_in_due_order_and_survive_a_restart() {
    let (broker, addr, client, dir) = running(timer_config).await;
    // 2,000 timers over the next 4 s, sent in a shuffled order.
    let base = now_ms() + 500;
    let n = 2_000i64;
    let mut dues: Vec<i64> = (0..n).map(|i| base + (i * 7919) % 4000).collect();
    dues.sort();
    let mut order: Vec<usize> = (0..n as usize).collect();
    order.sort_by_key(|i| (i * 7919) % 2003);
    for &i in &order {
        let r = client
            .invoke(
                &addr,
                send(
                    "Ordered",
                    &i.to_string(),
                    &[("TIMER_DELIVER_MS", dues[i].to_string())],
                ),
                T,
            )
            .await
            .unwrap();
        assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    }
    // Restart in the middle.
    let restart_at = base + 1500;
    tokio::time::sleep(Duration::from_millis((restart_at - now_ms()).max(0) as u64)).await;
    broker.shutdown().await.unwrap();
    client.close_all().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let broker = start(dir.path()).await;
    let addr = broker.local_addr().to_string();
    // Wait for every distinct timer (repeats of the window in progress at the restart also
    // count towards the queue's size, so its size alone says nothing).
    let deadline = Instant::now() + Duration::from_secs(20);
    let got = loop {
        let got = read_all(&client, &addr, "Ordered").await;
        let distinct: std::collections::HashSet<&str> = got.iter().map(|g| g.0.as_str()).collect();
        if distinct.len() == n as usize {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {n} timers fired",
            distinct.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut last_due = 0;
    for (body, stored_at, props) in &got {
        let i: usize = body.parse().unwrap();
        *seen.entry(i).or_default() += 1;
        let due: i64 = props.get("TIMER_DELIVER_MS").unwrap().parse().unwrap();
        assert_eq!(due, dues[i]);
        assert!(
            *stored_at >= due,
            "message {i} delivered {} ms early",
            due - stored_at
        );
        // In due order, except repeats of the window that was in progress at the restart.
        if *seen.get(&i).unwrap() == 1 {
            assert!(
                due >= last_due - 1000,
                "out of order: {due} after {last_due}"
            );
            last_due = last_due.max(due);
        }
    }
    let repeats = got.len() - seen.len();
    // A clean restart checkpoints exactly what was delivered.
    assert!(repeats <= 50, "{repeats} timers delivered twice");
    broker.shutdown().await.unwrap();
}
