//! The producer (RocketMQ's `DefaultMQProducer`): sync, async and oneway sends, batches,
//! sends to a chosen queue (ordered messages), retries on another broker with latency-based
//! fault avoidance, and body compression.
//!
//! A send picks a writable queue round-robin, skipping brokers that failed or answered slowly
//! recently ([`fault`]). A transport error or a retryable response code (as in the Java client:
//! TOPIC_NOT_EXIST, SERVICE_NOT_AVAILABLE, SYSTEM_ERROR, NO_PERMISSION, ..., and SYSTEM_BUSY)
//! is retried on a queue of another broker, up to `retry_times_when_send_failed` more times,
//! all within `send_timeout`. A send to a queue the caller chose is never moved to another
//! queue: that would break the order the caller wanted.

pub mod fault;
pub mod request;
mod trace_hook;
pub mod transaction;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use petrel_protocol::message::{properties as prop, sys_flag, BatchItem};
use petrel_protocol::mix_all::DEFAULT_TOPIC_QUEUE_NUMS;
use petrel_protocol::remoting::header::SendMessageRequestHeader;
use petrel_protocol::remoting::response_code as code;
use petrel_protocol::topic::{is_retry_topic, AUTO_CREATE_TOPIC_KEY_TOPIC, TRACE_TOPIC};

use crate::broker_api;
use crate::broker_api::send::SendKind;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::instance::{ClientInstance, ProducerMember, TopicRoute};
use crate::message::{compress, new_unique_key, now_ms, Message, MessageQueue};
use crate::names::{check_group, check_topic};
use crate::trace::TraceDispatcher;
use fault::LatencyFaultTolerance;

pub use crate::broker_api::SendStatus;

/// Producer settings; the names follow `DefaultMQProducer`'s.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// The producer group (`producerGroup`).
    pub group: String,
    /// Budget of one send, retries included (`sendMsgTimeout`).
    pub send_timeout: Duration,
    /// Extra attempts of a failed sync send, on another broker (`retryTimesWhenSendFailed`).
    pub retry_times_when_send_failed: u32,
    /// Extra attempts of a failed async send (`retryTimesWhenSendAsyncFailed`).
    pub retry_times_when_send_async_failed: u32,
    /// Also retry when the broker stored the message but not as asked (flush or slave timeout)
    /// (`retryAnotherBrokerWhenNotStoreOK`); this may duplicate the message.
    pub retry_another_broker_when_not_store_ok: bool,
    /// Largest body accepted (`maxMessageSize`, bytes); the broker has its own limit too.
    pub max_message_size_bytes: usize,
    /// Bodies larger than this are zlib-compressed (`compressMsgBodyOverHowmuch`, bytes).
    pub compress_over_bytes: usize,
    /// zlib level 0–9 (`compressLevel`).
    pub compress_level: u32,
    /// Avoid brokers that failed or answered slowly recently (`sendLatencyFaultEnable`; on by
    /// default here, off in the Java client).
    pub send_latency_fault_enable: bool,
    /// Queues a broker creates for a new topic on the first send (`defaultTopicQueueNums`).
    pub default_topic_queue_nums: i32,
    /// Write a Pub trace record per send to the trace topic (`enableMsgTrace`).
    pub enable_msg_trace: bool,
    /// The trace topic (`customizedTraceTopic`); `None`: `RMQ_SYS_TRACE_TOPIC`.
    pub trace_topic: Option<String>,
}

impl ProducerConfig {
    pub fn new(group: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            send_timeout: Duration::from_millis(3_000),
            retry_times_when_send_failed: 2,
            retry_times_when_send_async_failed: 2,
            retry_another_broker_when_not_store_ok: false,
            max_message_size_bytes: 4 * 1024 * 1024,
            compress_over_bytes: 4 * 1024,
            compress_level: 5,
            send_latency_fault_enable: true,
            default_topic_queue_nums: DEFAULT_TOPIC_QUEUE_NUMS,
            enable_msg_trace: false,
            trace_topic: None,
        }
    }
}

/// The outcome of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    pub status: SendStatus,
    /// The client's unique id (`UNIQ_KEY`); comma-separated for a batch.
    pub msg_id: String,
    /// The broker's offset message id(s) (store host + CommitLog offset).
    pub offset_msg_id: String,
    pub message_queue: MessageQueue,
    /// Queue offset of the (first) message.
    pub queue_offset: i64,
    pub transaction_id: Option<String>,
}

/// What the send path does with the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Sync,
    Async,
}

/// A producer; cheap to clone (clones share one producer).
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: ProducerConfig,
    pub(crate) instance: Arc<ClientInstance>,
    owns_instance: bool,
    fault: LatencyFaultTolerance,
    next_queue: AtomicUsize,
    closed: AtomicBool,
    pub(crate) transaction: Option<Arc<transaction::TransactionChecker>>,
    /// Where Pub trace records go, with `enable_msg_trace`.
    trace: Option<Arc<TraceDispatcher>>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("group", &self.inner.config.group)
            .field("client_id", &self.inner.instance.client_id())
            .finish()
    }
}

impl ProducerMember for Inner {
    fn check_transaction_state(
        &self,
        broker_addr: String,
        header: petrel_protocol::remoting::header::CheckTransactionStateRequestHeader,
        message: crate::message::MessageExt,
    ) {
        if let Some(checker) = &self.transaction {
            checker.check(
                Arc::clone(&self.instance),
                self.config.group.clone(),
                broker_addr,
                header,
                message,
            );
        }
    }
}

impl Producer {
    /// Starts a producer with its own client instance.
    pub async fn start(client: ClientConfig, config: ProducerConfig) -> Result<Self> {
        let instance = ClientInstance::start(client)?;
        Self::start_inner(instance, true, config, None).await
    }

    /// Starts a producer on a shared client instance.
    pub async fn start_on(instance: Arc<ClientInstance>, config: ProducerConfig) -> Result<Self> {
        Self::start_inner(instance, false, config, None).await
    }

    pub(crate) async fn start_inner(
        instance: Arc<ClientInstance>,
        owns_instance: bool,
        config: ProducerConfig,
        transaction: Option<Arc<transaction::TransactionChecker>>,
    ) -> Result<Self> {
        check_group(&config.group)?;
        let trace = if config.enable_msg_trace {
            let topic = config.trace_topic.as_deref().unwrap_or(TRACE_TOPIC);
            Some(TraceDispatcher::start(Arc::clone(&instance), &config.group, topic).await?)
        } else {
            None
        };
        let inner = Arc::new(Inner {
            config,
            instance,
            owns_instance,
            fault: LatencyFaultTolerance::default(),
            next_queue: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            transaction,
            trace,
        });
        let weak = Arc::downgrade(&inner);
        let member: std::sync::Weak<dyn ProducerMember> = weak;
        inner
            .instance
            .register_producer(&inner.config.group, member)?;
        Ok(Self { inner })
    }

    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.inner.instance
    }

    /// Sends and waits for the broker's answer, retrying on another broker when allowed.
    pub async fn send(&self, msg: Message) -> Result<SendResult> {
        self.inner.send_default(msg, Mode::Sync).await
    }

    /// Sends in the background; the handle yields the result (retries as for `send`, with
    /// `retry_times_when_send_async_failed`).
    pub fn send_async(&self, msg: Message) -> tokio::task::JoinHandle<Result<SendResult>> {
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move { inner.send_default(msg, Mode::Async).await })
    }

    /// Sends in the background and calls `callback` with the result.
    pub fn send_with_callback<F>(&self, msg: Message, callback: F)
    where
        F: FnOnce(Result<SendResult>) + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move { callback(inner.send_default(msg, Mode::Async).await) });
    }

    /// Sends without waiting for any answer (one attempt; nothing says whether it was stored).
    pub async fn send_oneway(&self, msg: Message) -> Result<()> {
        self.inner.send_oneway(msg).await
    }

    /// Sends several messages of one topic in one request; they get consecutive offsets in
    /// one queue.
    pub async fn send_batch(&self, msgs: Vec<Message>) -> Result<SendResult> {
        self.inner.send_batch(msgs, None).await
    }

    /// Sends a batch to the given queue.
    pub async fn send_batch_to_queue(
        &self,
        msgs: Vec<Message>,
        mq: &MessageQueue,
    ) -> Result<SendResult> {
        self.inner.send_batch(msgs, Some(mq.clone())).await
    }

    /// Sends to the given queue (no retry on another queue).
    pub async fn send_to_queue(&self, msg: Message, mq: &MessageQueue) -> Result<SendResult> {
        self.inner.send_to_queue(msg, mq.clone()).await
    }

    /// Sends to the queue `selector` picks among the topic's writable queues (an index into
    /// them; taken modulo their number). Messages a selector sends to one queue are consumed
    /// in the order they were sent.
    pub async fn send_with_selector<F>(&self, msg: Message, selector: F) -> Result<SendResult>
    where
        F: FnOnce(&[MessageQueue], &Message) -> usize,
    {
        let route = self.inner.instance.route_for_publish(&msg.topic).await?;
        if route.publish_queues.is_empty() {
            return Err(no_writable_queue(&msg.topic));
        }
        let i = selector(&route.publish_queues, &msg) % route.publish_queues.len();
        let mq = route.publish_queues[i].clone();
        self.inner.send_to_queue(msg, mq).await
    }

    /// Sends to the queue chosen by hashing `sharding_key` (e.g. an order id): all messages
    /// with one key go to one queue, in order (`SelectMessageQueueByHash`).
    pub async fn send_orderly(&self, msg: Message, sharding_key: &str) -> Result<SendResult> {
        let hash = java_string_hash(sharding_key).unsigned_abs() as usize;
        self.send_with_selector(msg, |queues, _| hash % queues.len())
            .await
    }

    /// Unregisters the group from the brokers; a producer that owns its client instance
    /// also stops it.
    pub async fn shutdown(&self) {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(trace) = &self.inner.trace {
            trace.shutdown().await;
        }
        self.inner
            .instance
            .unregister(Some(&self.inner.config.group), None)
            .await;
        if self.inner.owns_instance {
            self.inner.instance.shutdown().await;
        }
    }
}

/// Java's `String.hashCode`, so that keys map to the queues a Java producer would pick.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

fn no_writable_queue(topic: &str) -> ClientError {
    ClientError::NoRoute {
        topic: topic.to_string(),
        reason: "no writable queue on any master".into(),
    }
}

/// A message ready for the wire: header fields and the (possibly compressed) body.
struct Prepared {
    topic: String,
    body: Bytes,
    flag: i32,
    sys_flag: i32,
    properties: String,
    unique_key: String,
    reconsume_times: Option<i32>,
    max_reconsume_times: Option<i32>,
    /// A batch, a request-reply reply (`MSG_TYPE=reply`) or one message.
    kind: SendKind,
}

impl Inner {
    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(ClientError::State(format!(
                "producer {} is shut down",
                self.config.group
            )));
        }
        Ok(())
    }

    fn check_message(&self, msg: &Message) -> Result<()> {
        check_topic(&msg.topic)?;
        if msg.body.is_empty() {
            return Err(ClientError::InvalidArgument(
                "the message body is empty".into(),
            ));
        }
        if msg.body.len() > self.config.max_message_size_bytes {
            return Err(ClientError::InvalidArgument(format!(
                "the message body is {} bytes; the limit is {} (max_message_size_bytes)",
                msg.body.len(),
                self.config.max_message_size_bytes
            )));
        }
        Ok(())
    }

    fn prepare(&self, mut msg: Message) -> Result<Prepared> {
        self.check_message(&msg)?;
        let unique_key = match msg.unique_key() {
            Some(k) => k.to_string(),
            None => {
                let k = new_unique_key();
                msg.properties
                    .insert(prop::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, k.clone());
                k
            }
        };
        let mut sys = 0;
        let mut body = msg.body;
        if body.len() > self.config.compress_over_bytes {
            let (compressed, bits) = compress(&body, self.config.compress_level);
            if compressed.len() < body.len() {
                body = Bytes::from(compressed);
                sys |= bits;
            }
        }
        if msg.properties.get(prop::TRANSACTION_PREPARED) == Some("true") {
            sys |= sys_flag::TRANSACTION_PREPARED_TYPE;
        }
        let (mut reconsume_times, mut max_reconsume_times) = (None, None);
        if is_retry_topic(&msg.topic) {
            reconsume_times = msg
                .properties
                .remove(prop::RECONSUME_TIME)
                .and_then(|v| v.parse().ok());
            max_reconsume_times = msg
                .properties
                .remove(prop::MAX_RECONSUME_TIMES)
                .and_then(|v| v.parse().ok());
        }
        let kind = if msg.properties.get(prop::MESSAGE_TYPE) == Some(prop::REPLY_MESSAGE_FLAG) {
            SendKind::Reply
        } else {
            SendKind::Single
        };
        Ok(Prepared {
            topic: msg.topic,
            body,
            flag: msg.flag,
            sys_flag: sys,
            properties: msg.properties.encode(),
            unique_key,
            reconsume_times,
            max_reconsume_times,
            kind,
        })
    }

    /// The send request's header for `p` to `mq`.
    fn header(&self, p: &Prepared, mq: &MessageQueue) -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: self.config.group.clone(),
            topic: p.topic.clone(),
            default_topic: AUTO_CREATE_TOPIC_KEY_TOPIC.to_string(),
            default_topic_queue_nums: self.config.default_topic_queue_nums,
            queue_id: mq.queue_id,
            sys_flag: p.sys_flag,
            born_timestamp: now_ms(),
            flag: p.flag,
            properties: Some(p.properties.clone()),
            reconsume_times: Some(p.reconsume_times.unwrap_or(0)),
            unit_mode: Some(false),
            max_reconsume_times: p.max_reconsume_times,
            batch: Some(p.kind == SendKind::Batch),
            rpc: petrel_protocol::remoting::header::RpcFields {
                broker_name: Some(mq.broker_name.clone()),
                ..Default::default()
            },
        }
    }

    /// Picks a queue: round-robin, avoiding `last_broker` (the one that just failed) and, with
    /// fault avoidance on, brokers being avoided.
    fn select_queue(&self, route: &TopicRoute, last_broker: Option<&str>) -> MessageQueue {
        let queues = &route.publish_queues;
        let start = self.next_queue.fetch_add(1, Ordering::Relaxed);
        let ok = |mq: &MessageQueue| {
            last_broker != Some(mq.broker_name.as_str())
                && (!self.config.send_latency_fault_enable
                    || self.fault.is_available(&mq.broker_name))
        };
        for i in 0..queues.len() {
            let mq = &queues[(start + i) % queues.len()];
            if ok(mq) {
                return mq.clone();
            }
        }
        // Every broker is being avoided (or there is only the one that failed): take the
        // least bad, on another broker than the last one when there is one.
        if self.config.send_latency_fault_enable {
            let names = queues
                .iter()
                .map(|q| q.broker_name.as_str())
                .filter(|b| Some(*b) != last_broker);
            if let Some(best) = self.fault.least_bad(names) {
                let on_best: Vec<&MessageQueue> =
                    queues.iter().filter(|q| q.broker_name == best).collect();
                return on_best[start % on_best.len()].clone();
            }
        }
        queues[start % queues.len()].clone()
    }

    async fn send_default(&self, msg: Message, mode: Mode) -> Result<SendResult> {
        self.check_open()?;
        let pub_trace = self.trace.as_ref().map(|_| trace_hook::PubTrace::of(&msg));
        let prepared = self.prepare(msg)?;
        let retries = match mode {
            Mode::Sync => self.config.retry_times_when_send_failed,
            Mode::Async => self.config.retry_times_when_send_async_failed,
        };
        let Some(pub_trace) = pub_trace else {
            return self.send_with_retries(prepared, None, retries).await;
        };
        let (topic, unique_key) = (prepared.topic.clone(), prepared.unique_key.clone());
        let result = self.send_with_retries(prepared, None, retries).await;
        self.trace_pub(pub_trace, &topic, &unique_key, &result)
            .await;
        result
    }

    async fn send_to_queue(&self, msg: Message, mq: MessageQueue) -> Result<SendResult> {
        self.check_open()?;
        if mq.topic != msg.topic {
            return Err(ClientError::InvalidArgument(format!(
                "the message is for topic {} but the queue is of topic {}",
                msg.topic, mq.topic
            )));
        }
        let pub_trace = self.trace.as_ref().map(|_| trace_hook::PubTrace::of(&msg));
        let prepared = self.prepare(msg)?;
        let Some(pub_trace) = pub_trace else {
            return self.send_with_retries(prepared, Some(mq), 0).await;
        };
        let (topic, unique_key) = (prepared.topic.clone(), prepared.unique_key.clone());
        let result = self.send_with_retries(prepared, Some(mq), 0).await;
        self.trace_pub(pub_trace, &topic, &unique_key, &result)
            .await;
        result
    }

    async fn send_with_retries(
        &self,
        prepared: Prepared,
        fixed_queue: Option<MessageQueue>,
        retries: u32,
    ) -> Result<SendResult> {
        let started = Instant::now();
        let deadline = started + self.config.send_timeout;
        let route = self.instance.route_for_publish(&prepared.topic).await?;
        if route.publish_queues.is_empty() && fixed_queue.is_none() {
            return Err(no_writable_queue(&prepared.topic));
        }
        let mut route = route;
        let mut last_broker: Option<String> = None;
        let mut last_error = None;
        let attempts = retries + 1;
        let mut made = 0;
        for attempt in 0..attempts {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let mq = match &fixed_queue {
                Some(q) => q.clone(),
                None => self.select_queue(&route, last_broker.as_deref()),
            };
            let call_started = Instant::now();
            made += 1;
            let result = self.send_once(&prepared, &mq, deadline - now).await;
            let latency_ms = call_started.elapsed().as_millis() as u64;
            match result {
                Ok(r) => {
                    self.fault.update(&mq.broker_name, latency_ms, false);
                    if r.status != SendStatus::SendOk
                        && self.config.retry_another_broker_when_not_store_ok
                        && attempt + 1 < attempts
                        && fixed_queue.is_none()
                    {
                        last_broker = Some(mq.broker_name.clone());
                        continue;
                    }
                    return Ok(r);
                }
                Err(e) => {
                    let retryable = e.is_retryable();
                    self.fault.update(
                        &mq.broker_name,
                        latency_ms,
                        matches!(e, ClientError::Remoting(_)),
                    );
                    tracing::debug!(
                        topic = %prepared.topic, broker = %mq.broker_name, attempt, error = %e,
                        "send failed"
                    );
                    if e.response_code() == Some(code::TOPIC_NOT_EXIST) {
                        // The route may be stale (topic deleted or moved): ask again.
                        self.instance.invalidate_route(&prepared.topic);
                        if let Ok(r) = self.instance.route_for_publish(&prepared.topic).await {
                            route = r;
                        }
                    }
                    last_broker = Some(mq.broker_name.clone());
                    last_error = Some(e);
                    if !retryable || fixed_queue.is_some() {
                        break;
                    }
                }
            }
        }
        let elapsed_ms = started.elapsed().as_millis() as u64;
        Err(match last_error {
            // One attempt (not retryable, or no retries allowed): its own error says it all.
            Some(e) if made == 1 => e,
            Some(e) => ClientError::SendFailed {
                topic: prepared.topic,
                attempts: made,
                elapsed_ms,
                last: Box::new(e),
            },
            None => ClientError::Timeout {
                what: format!("sending to {}", prepared.topic),
                elapsed_ms,
            },
        })
    }

    async fn send_once(
        &self,
        p: &Prepared,
        mq: &MessageQueue,
        timeout: Duration,
    ) -> Result<SendResult> {
        let addr = self.instance.master_addr(&mq.broker_name, &p.topic).await?;
        let (status, header) = broker_api::send::send_message(
            &self.instance,
            &addr,
            p.kind,
            &self.header(p, mq),
            p.body.clone(),
            timeout,
        )
        .await?;
        Ok(SendResult {
            status,
            msg_id: p.unique_key.clone(),
            offset_msg_id: header.msg_id,
            message_queue: MessageQueue::new(
                p.topic.clone(),
                mq.broker_name.clone(),
                header.queue_id,
            ),
            queue_offset: header.queue_offset,
            transaction_id: header.transaction_id,
        })
    }

    async fn send_oneway(&self, msg: Message) -> Result<()> {
        self.check_open()?;
        let prepared = self.prepare(msg)?;
        let route = self.instance.route_for_publish(&prepared.topic).await?;
        if route.publish_queues.is_empty() {
            return Err(no_writable_queue(&prepared.topic));
        }
        let mq = self.select_queue(&route, None);
        let addr = self
            .instance
            .master_addr(&mq.broker_name, &prepared.topic)
            .await?;
        let h = self.header(&prepared, &mq);
        broker_api::send::send_message_oneway(
            &self.instance,
            &addr,
            prepared.kind,
            &h,
            prepared.body,
        )
        .await
    }

    async fn send_batch(&self, msgs: Vec<Message>, mq: Option<MessageQueue>) -> Result<SendResult> {
        self.check_open()?;
        let Some(first) = msgs.first() else {
            return Err(ClientError::InvalidArgument("the batch is empty".into()));
        };
        let topic = first.topic.clone();
        // Each item is its body and properties plus 20 fixed bytes; leave room for the
        // properties (UNIQ_KEY alone is ~45 bytes) so the buffer is not regrown.
        let estimate: usize = msgs.iter().map(|m| m.body.len() + 160).sum();
        let mut body = BytesMut::with_capacity(estimate);
        let mut ids = Vec::with_capacity(msgs.len());
        for mut msg in msgs {
            self.check_message(&msg)?;
            if msg.topic != topic {
                return Err(ClientError::InvalidArgument(format!(
                    "a batch goes to one topic; found {} and {}",
                    topic, msg.topic
                )));
            }
            if msg.properties.get(prop::DELAY_TIME_LEVEL).is_some()
                || msg.properties.get(prop::TIMER_DELIVER_MS).is_some()
                || msg.properties.get(prop::TIMER_DELAY_MS).is_some()
                || msg.properties.get(prop::TIMER_DELAY_SEC).is_some()
            {
                return Err(ClientError::InvalidArgument(
                    "delayed and timer messages cannot be sent in a batch".into(),
                ));
            }
            if is_retry_topic(&topic) {
                return Err(ClientError::InvalidArgument(
                    "retry topics cannot take batches".into(),
                ));
            }
            let key = match msg.unique_key() {
                Some(k) => k.to_string(),
                None => {
                    let k = new_unique_key();
                    msg.properties
                        .insert(prop::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, k.clone());
                    k
                }
            };
            ids.push(key);
            let props = msg.properties.encode();
            BatchItem {
                flag: msg.flag,
                body: &msg.body,
                properties: props.as_bytes(),
            }
            .encode(&mut body)
            .map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
        }
        if body.len() > self.config.max_message_size_bytes {
            return Err(ClientError::InvalidArgument(format!(
                "the batch is {} bytes; the limit is {} (max_message_size_bytes): split it",
                body.len(),
                self.config.max_message_size_bytes
            )));
        }
        let mut properties = petrel_protocol::message::Properties::new();
        properties.insert(prop::WAIT_STORE_MSG_OK, "true");
        let prepared = Prepared {
            topic,
            body: body.freeze(),
            flag: 0,
            sys_flag: 0,
            properties: properties.encode(),
            unique_key: ids.join(","),
            reconsume_times: None,
            max_reconsume_times: None,
            kind: SendKind::Batch,
        };
        let retries = if mq.is_some() {
            0
        } else {
            self.config.retry_times_when_send_failed
        };
        self.send_with_retries(prepared, mq, retries).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_string_hash_code() {
        // "hello".hashCode() == 99162322; "order-1".hashCode() == -1207109511 in Java.
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(
            java_string_hash("order-1"),
            "order-1"
                .encode_utf16()
                .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
        );
    }
}
