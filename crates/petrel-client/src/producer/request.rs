//! Request-reply (RocketMQ's `DefaultMQProducer.request`): RPC over the message queue.
//!
//! The requester sends an ordinary message with three extra properties — `CORRELATION_ID` (a
//! fresh unique id), `REPLY_TO_CLIENT` (this client's id) and `TTL` (the timeout, ms) — and
//! waits. A consumer of the topic builds the reply with
//! [`create_reply_message`](crate::message::create_reply_message) and sends it with any
//! producer; the broker pushes it to the requester's connection (`PUSH_REPLY_MESSAGE_TO_CLIENT`),
//! where the client instance hands it to the request waiting for that correlation id.
//!
//! ```no_run
//! # async fn demo() -> petrel_client::Result<()> {
//! use std::time::Duration;
//! use petrel_client::consumer::{ConsumeConcurrentlyStatus, PushConsumer, PushConsumerConfig, Selector};
//! use petrel_client::message::create_reply_message;
//! use petrel_client::{ClientConfig, Message, Producer, ProducerConfig};
//!
//! // The replier: a consumer of the request topic answers with a producer of its own.
//! let replier = std::sync::Arc::new(
//!     Producer::start(ClientConfig::new("127.0.0.1:9876"), ProducerConfig::new("price-svc")).await?,
//! );
//! let rt = tokio::runtime::Handle::current();
//! let r = replier.clone();
//! let service = PushConsumer::builder(ClientConfig::new("127.0.0.1:9876"), PushConsumerConfig::new("price-svc-cg"))
//!     .subscribe("PriceRequests", Selector::all())
//!     .listener_concurrently(move |msgs: &[petrel_client::MessageExt], _ctx: &mut _| {
//!         for m in msgs {
//!             if let Ok(reply) = create_reply_message(m, "42.00") {
//!                 let r = r.clone();
//!                 rt.spawn(async move { r.send(reply).await });
//!             }
//!         }
//!         ConsumeConcurrentlyStatus::ConsumeSuccess
//!     })
//!     .start()
//!     .await?;
//!
//! // The requester.
//! let requester = Producer::start(ClientConfig::new("127.0.0.1:9876"), ProducerConfig::new("shop")).await?;
//! let reply = requester.request(Message::new("PriceRequests", "sku-7"), Duration::from_secs(3)).await?;
//! assert_eq!(&reply.body[..], b"42.00");
//! # service.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The broker finds the requester among the producers that heartbeat to it, so the first
//! request to a topic first learns the route and heartbeats to every known broker (as Java
//! does); it also looks up the reply topics of the route's clusters so that the brokers the
//! reply may pass through know this client too.

use std::time::{Duration, Instant};

use petrel_protocol::message::properties as prop;

use std::sync::Arc;

use super::{Inner, Producer};
use crate::error::{ClientError, Result};
use crate::message::{new_unique_key, Message, MessageExt, MessageQueue};

impl Producer {
    /// Sends `msg` as a request and waits up to `timeout` (all of it: route lookup, send and
    /// reply) for its reply. Errors: the send's own error, or [`ClientError::Timeout`] when no
    /// reply came in time (the replier may still act on the request).
    pub async fn request(&self, msg: Message, timeout: Duration) -> Result<MessageExt> {
        request(&self.inner, msg, None, timeout).await
    }

    /// [`request`](Self::request) through the given queue (ordered requests).
    pub async fn request_to_queue(
        &self,
        msg: Message,
        mq: &MessageQueue,
        timeout: Duration,
    ) -> Result<MessageExt> {
        request(&self.inner, msg, Some(mq.clone()), timeout).await
    }

    /// [`request`](Self::request) through the queue `selector` picks among the topic's
    /// writable queues (an index, taken modulo their number), as
    /// [`send_with_selector`](Self::send_with_selector) does.
    pub async fn request_with_selector<F>(
        &self,
        msg: Message,
        selector: F,
        timeout: Duration,
    ) -> Result<MessageExt>
    where
        F: FnOnce(&[MessageQueue], &Message) -> usize,
    {
        let started = Instant::now();
        let route =
            tokio::time::timeout(timeout, self.inner.instance.route_for_publish(&msg.topic))
                .await
                .map_err(|_| ClientError::Timeout {
                    what: format!("finding the route of a request to {}", msg.topic),
                    elapsed_ms: started.elapsed().as_millis() as u64,
                })??;
        if route.publish_queues.is_empty() {
            return Err(super::no_writable_queue(&msg.topic));
        }
        let i = selector(&route.publish_queues, &msg) % route.publish_queues.len();
        let mq = route.publish_queues[i].clone();
        let remaining = timeout.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            return Err(ClientError::Timeout {
                what: format!("finding the route of a request to {}", msg.topic),
                elapsed_ms: started.elapsed().as_millis() as u64,
            });
        }
        request(&self.inner, msg, Some(mq), remaining).await
    }

    /// [`request`](Self::request) in the background: `callback` gets the reply or the error
    /// (Java's `request(msg, RequestCallback, timeout)`).
    pub fn request_with_callback<F>(&self, msg: Message, timeout: Duration, callback: F)
    where
        F: FnOnce(Result<MessageExt>) + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move { callback(request(&inner, msg, None, timeout).await) });
    }
}

async fn request(
    inner: &Inner,
    mut msg: Message,
    mq: Option<MessageQueue>,
    timeout: Duration,
) -> Result<MessageExt> {
    let started = Instant::now();
    if timeout.is_zero() {
        return Err(ClientError::InvalidArgument(
            "a request needs a positive timeout".into(),
        ));
    }
    inner.check_open()?;
    inner.check_message(&msg)?;
    let instance = &inner.instance;
    let correlation_id = new_unique_key();
    msg.properties.insert(prop::CORRELATION_ID, &correlation_id);
    msg.properties
        .insert(prop::MESSAGE_REPLY_TO_CLIENT, instance.client_id());
    msg.properties
        .insert(prop::MESSAGE_TTL, timeout.as_millis().to_string());
    let topic = msg.topic.clone();
    let timed_out = |what: &str| ClientError::Timeout {
        what: format!("{what} of a request to {topic} (correlation id {correlation_id})"),
        elapsed_ms: started.elapsed().as_millis() as u64,
    };

    if !instance.has_route(&topic) {
        let prepare = async {
            let route = instance.route_for_publish(&topic).await?;
            let mut clusters: Vec<&str> = route
                .data
                .broker_datas
                .iter()
                .map(|b| b.cluster.as_str())
                .collect();
            clusters.sort_unstable();
            clusters.dedup();
            for cluster in clusters {
                if let Err(e) = instance
                    .route(&petrel_protocol::topic::reply_topic(cluster))
                    .await
                {
                    tracing::debug!(cluster, error = %e, "no route for the reply topic");
                }
            }
            instance.heartbeat_all_brokers().await;
            Ok::<_, ClientError>(())
        };
        tokio::time::timeout(timeout, prepare)
            .await
            .map_err(|_| timed_out("finding the route"))??;
    }

    // Wait for the reply before sending: it may arrive before the send's response.
    let mut waiter = instance.expect_reply(&correlation_id);
    let remaining = timeout.saturating_sub(started.elapsed());
    let send = async {
        match mq {
            Some(mq) => inner.send_to_queue(msg, mq).await,
            None => inner.send_default(msg, super::Mode::Sync).await,
        }
    };
    tokio::time::timeout(remaining, send)
        .await
        .map_err(|_| timed_out("sending"))??;
    let remaining = timeout.saturating_sub(started.elapsed());
    match tokio::time::timeout(remaining, &mut waiter.reply).await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(_)) => Err(ClientError::State(format!(
            "the client instance stopped while waiting for the reply to {correlation_id}"
        ))),
        Err(_) => Err(timed_out("waiting for the reply")),
    }
}
