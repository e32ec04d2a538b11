#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Runtime statistics as `petrel admin` shows them during a load: `clusterList` InTPS,
//! `brokerStatus` putTps, `topicStatus` put TPS, `statsAll` in/out TPS and
//! `consumerProgress` consume TPS are all above 0 while messages flow (the broker samples its
//! counters on a timer, whoever reads them).

mod support;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use petrel_client::consumer::{
    ConsumeFromWhere, LitePullConsumer, LitePullConsumerConfig, Selector,
};
use petrel_client::{ClientConfig, Message};
use serde_json::Value;
use support::client::{create_topic, producer, serve_small};
use support::unique;

/// Upper bound of the waits here.
const WAIT: Duration = Duration::from_secs(30);

/// `petrel admin --json -n NAMESRV ARGS`, which must succeed.
fn admin_json(ns: &str, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_petrel"))
        .args(["admin", "--json", "-n", ns])
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `petrel admin --json -n NAMESRV ARGS`, or `None` if it fails (e.g. a group the broker
/// does not know yet: a new consumer's first heartbeat or offset commit may still be on its way).
fn admin_json_opt(ns: &str, args: &[&str]) -> Option<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_petrel"))
        .args(["admin", "--json", "-n", ns])
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).unwrap())
}

/// Asks `read` until it gives a positive figure, or fails after [`WAIT`].
async fn eventually_positive(what: &str, mut read: impl FnMut() -> f64) -> f64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let v = tokio::task::block_in_place(&mut read);
        if v > 0.0 {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} stayed at {v}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_show_rates_above_zero_during_a_load() {
    let p = serve_small(&[]);
    let ns = p.namesrv.clone();
    let producer = producer(&p).await;
    let topic = unique("StatsLoad");
    let group = unique("stats-cg");
    create_topic(&p, &producer, &topic, 2).await;

    // The load: sends until the test ends.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (stop, topic) = (Arc::clone(&stop), topic.clone());
        tokio::spawn(async move {
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                producer
                    .send(Message::new(&topic, format!("m{sent}").into_bytes()))
                    .await
                    .unwrap();
                sent += 1;
            }
            sent
        })
    };
    // A consumer that pulls what arrives.
    let mut cfg = LitePullConsumerConfig::new(&group);
    cfg.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    let consumer = LitePullConsumer::start(ClientConfig::new(&p.namesrv), cfg)
        .await
        .unwrap();
    consumer.subscribe(&topic, Selector::all()).await.unwrap();
    let consuming = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let _ = consumer.poll(Duration::from_millis(200)).await;
            }
            consumer.shutdown().await;
        })
    };

    let in_tps = eventually_positive("clusterList InTPS", || {
        admin_json(&ns, &["clusterList"])["brokers"][0]["inTps"]
            .as_f64()
            .unwrap()
    })
    .await;
    assert!(in_tps > 0.0);
    eventually_positive("clusterList OutTPS", || {
        admin_json(&ns, &["clusterList"])["brokers"][0]["outTps"]
            .as_f64()
            .unwrap()
    })
    .await;
    eventually_positive("brokerStatus putTps", || {
        let doc = admin_json(&ns, &["brokerStatus", "-b", &p.broker]);
        let text = doc[p.broker.as_str()]["putTps"]
            .as_str()
            .unwrap()
            .to_string();
        text.split(' ').next().unwrap().parse().unwrap()
    })
    .await;
    eventually_positive("topicStatus topicPutTps", || {
        admin_json(&ns, &["topicStatus", "-t", &topic])["topicPutTps"]
            .as_f64()
            .unwrap()
    })
    .await;
    eventually_positive("statsAll InTPS and OutTPS", || {
        let doc = admin_json(&ns, &["statsAll", "-t", &topic]);
        let line = doc["stats"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["consumerGroup"] == group.as_str())
            .cloned();
        match line {
            Some(l) if l["inMsg24Hour"].as_i64().unwrap() > 0 => l["inTps"]
                .as_f64()
                .unwrap()
                .min(l["outTps"].as_f64().unwrap()),
            _ => 0.0,
        }
    })
    .await;
    eventually_positive("consumerProgress consumeTps", || {
        admin_json_opt(&ns, &["consumerProgress", "-g", &group])
            .and_then(|doc| doc["consumeTps"].as_f64())
            .unwrap_or(0.0)
    })
    .await;

    stop.store(true, Ordering::Relaxed);
    assert!(load.await.unwrap() > 0);
    consuming.await.unwrap();
}
