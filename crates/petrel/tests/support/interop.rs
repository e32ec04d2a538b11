//! Helpers for the interop tests, which drive a `petrel serve` with the third-party
//! rocketmq-client-rust client: a started producer, and a topic created the way that client
//! creates one (auto-creation from `TBW102` by a first send).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rocketmq_client_rust::{ClientRuntime, DefaultMQProducer};
use rocketmq_model::common::message::message_single::Message;

use super::unique;

/// The send timeout the interop tests give the third-party client (it is slower to start than
/// its default allows on a loaded machine).
pub const SEND_TIMEOUT_MS: u64 = 10_000;
/// Upper bound of the interop tests' waits.
pub const WAIT: Duration = Duration::from_secs(60);

/// A started producer of a fresh group.
pub async fn producer(rt: Arc<ClientRuntime>, namesrv: &str) -> DefaultMQProducer {
    let mut p = DefaultMQProducer::builder(rt)
        .producer_group(unique("pg"))
        .name_server_addr(namesrv)
        .send_msg_timeout(SEND_TIMEOUT_MS as u32)
        .build();
    p.start().await.expect("producer start");
    p
}

/// Creates `topic` by sending one message (auto-creation from TBW102; the message has no
/// `seq` property, so no test counts it) and waits until the name server routes all its
/// queues.
pub async fn create_topic(p: &mut DefaultMQProducer, topic: &str) {
    let warm = Message::builder()
        .topic(topic)
        .tags("warmup")
        .body_slice(b"warmup")
        .build_unchecked();
    p.send_with_timeout(warm, SEND_TIMEOUT_MS)
        .await
        .expect("first send creates the topic");
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(queues) = p.fetch_publish_message_queues(topic).await {
            if queues.len() >= 4 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "topic {topic} never routed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
