//! Delayed and timer messages sent and received with `petrel-client` against a real
//! `petrel serve` (the same features are tested with the third-party client in
//! interop_client_rust.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use petrel_client::consumer::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeFromWhere, PushConsumer,
    PushConsumerConfig, Selector,
};
use petrel_client::{ClientConfig, ClientError, Message, MessageExt, Producer, ProducerConfig};
use petrel_protocol::remoting::response_code as code;
use support::{eventually, unique, Petrel};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// (body, received at ms, store timestamp of the delivered copy)
type Received = Arc<Mutex<Vec<(String, i64, i64)>>>;

async fn consume(petrel: &Petrel, topic: &str) -> (PushConsumer, Received) {
    let received: Received = Arc::default();
    let sink = Arc::clone(&received);
    let mut config = PushConsumerConfig::new(unique("g"));
    config.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    let consumer = PushConsumer::builder(ClientConfig::new(&petrel.namesrv), config)
        .subscribe(topic, Selector::all())
        .listener_concurrently(
            move |msgs: &[MessageExt], _: &mut ConsumeConcurrentlyContext| {
                let at = now_ms();
                for m in msgs {
                    sink.lock().unwrap().push((
                        String::from_utf8(m.body.to_vec()).unwrap(),
                        at,
                        m.store_timestamp,
                    ));
                }
                ConsumeConcurrentlyStatus::ConsumeSuccess
            },
        )
        .start()
        .await
        .unwrap();
    (consumer, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_levels_and_timers_arrive_on_time_and_too_far_is_refused() {
    let petrel = Petrel::start(&["timerMaxDelaySec=3600"]);
    let producer = Producer::start(
        ClientConfig::new(&petrel.namesrv),
        ProducerConfig::new(unique("pg")),
    )
    .await
    .unwrap();
    let topic = unique("Later");
    // Create the topic and the consumer before the clock starts.
    producer.send(Message::new(&topic, "now")).await.unwrap();
    let (consumer, received) = consume(&petrel, &topic).await;

    let sent_at = now_ms();
    producer
        .send(Message::new(&topic, "level-1").with_delay_level(1))
        .await
        .unwrap();
    producer
        .send(Message::new(&topic, "delay-1500ms").with_delay_ms(1500))
        .await
        .unwrap();
    let deliver_at = sent_at + 2_000;
    producer
        .send(Message::new(&topic, "at-2000ms").with_deliver_time_ms(deliver_at))
        .await
        .unwrap();
    // Timers given out of order come back in due order.
    let base = now_ms() + 2_500;
    for i in (0..20).rev() {
        producer
            .send(Message::new(&topic, format!("t-{i:02}")).with_deliver_time_ms(base + i * 20))
            .await
            .unwrap();
    }

    eventually("every scheduled message", Duration::from_secs(20), || {
        received.lock().unwrap().len() >= 24
    })
    .await;
    let got = received.lock().unwrap().clone();
    let find = |body: &str| got.iter().find(|g| g.0 == body).unwrap().clone();
    // Delivered no earlier than due and at most 100 ms late (delivery is the store time of
    // the delivered copy; the listener may see it a little later).
    let (_, _, stored) = find("level-1");
    assert!(
        stored >= sent_at + 1_000,
        "level 1 early by {}",
        sent_at + 1_000 - stored
    );
    assert!(
        stored <= sent_at + 1_000 + 100 + 50,
        "level 1 late: {}",
        stored - sent_at
    );
    let (_, _, stored) = find("delay-1500ms");
    assert!(stored >= sent_at + 1_500 - 5, "{}", stored - sent_at);
    assert!(stored <= sent_at + 1_500 + 150, "{}", stored - sent_at);
    let (_, _, stored) = find("at-2000ms");
    assert!(stored >= deliver_at, "early by {}", deliver_at - stored);
    assert!(
        stored <= deliver_at + 100,
        "late by {}",
        stored - deliver_at
    );
    let timers: Vec<(String, i64)> = {
        let mut t: Vec<(String, i64)> = got
            .iter()
            .filter(|g| g.0.starts_with("t-"))
            .map(|g| (g.0.clone(), g.2))
            .collect();
        t.sort_by_key(|x| x.1);
        t
    };
    let order: Vec<&str> = timers.iter().map(|t| t.0.as_str()).collect();
    let mut want: Vec<String> = (0..20).map(|i| format!("t-{i:02}")).collect();
    want.sort();
    assert_eq!(order, want.iter().map(String::as_str).collect::<Vec<_>>());

    // Beyond timerMaxDelaySec: a clear error, not a silent drop.
    let err = producer
        .send(Message::new(&topic, "too far").with_delay_ms(2 * 3_600_000))
        .await
        .unwrap_err();
    assert_eq!(err.response_code(), Some(code::MESSAGE_ILLEGAL), "{err}");
    assert!(
        matches!(err, ClientError::Response { .. }),
        "not retried: {err}"
    );
    assert!(err.to_string().contains("timerMaxDelaySec"), "{err}");

    consumer.shutdown().await;
    producer.shutdown().await;
}
