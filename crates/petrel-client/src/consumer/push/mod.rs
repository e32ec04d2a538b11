//! The push consumer (RocketMQ's `DefaultMQPushConsumer`): its lifecycle and state here, and
//! one file per concern: [`config`] (settings and their checks), `pull_loop` (each queue's
//! pulls), `rebalance` (what a new division of the queues does), `consume_concurrently` /
//! `consume_orderly` (running listeners, retries, the DLQ, queue locks) and [`process_queue`]
//! (each queue's cache of pulled messages). What it shares with the lite pull consumer (the
//! group's settings and offsets, start offsets, allocation, tasks, shutdown) is in
//! `consumer::core`.
//!
//! ```no_run
//! # async fn demo() -> petrel_client::Result<()> {
//! use petrel_client::consumer::{ConsumeConcurrentlyStatus, PushConsumer, PushConsumerConfig, Selector};
//! use petrel_client::ClientConfig;
//!
//! let consumer = PushConsumer::builder(ClientConfig::new("127.0.0.1:9876"), PushConsumerConfig::new("orders-cg"))
//!     .subscribe("Orders", Selector::tags("paid || shipped"))
//!     .listener_concurrently(|msgs: &[petrel_client::MessageExt], _ctx: &mut _| {
//!         for m in msgs {
//!             println!("{} {:?}", m.msg_id(), m.body);
//!         }
//!         ConsumeConcurrentlyStatus::ConsumeSuccess
//!     })
//!     .start()
//!     .await?;
//! // ...
//! consumer.shutdown().await;
//! # Ok(()) }
//! ```

pub mod config;
mod consume_concurrently;
mod consume_orderly;
pub mod process_queue;
mod pull_loop;
mod rebalance;
mod trace_hook;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use petrel_protocol::message::properties as prop;
use petrel_protocol::mix_all::CLIENT_INNER_PRODUCER_GROUP;
use petrel_protocol::remoting::body::{ConsumeType, SubscriptionData};
use petrel_protocol::topic::{is_retry_topic, retry_topic};
use serde_json::json;
use tokio::sync::{watch, Semaphore};

use super::core::{running_info, ConsumerCore, ConsumerKind};
use super::pull_api;
use super::running_info::{RunningInfo, PROP_CONSUME_ORDERLY, PROP_THREADPOOL_CORE_SIZE};
use super::{MessageListener, MessageListenerConcurrently, MessageListenerOrderly, Selector};
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::message::{now_ms, MessageExt, MessageQueue};
use crate::producer::{Producer, ProducerConfig};
use config::{build_subscriptions, check_config};
use process_queue::{ProcessQueue, ProcessQueueInfo};

pub use config::PushConsumerConfig;

/// A running push consumer. Call [`PushConsumer::shutdown`] to stop it cleanly (offsets
/// committed, group left); dropping it only stops its tasks.
pub struct PushConsumer {
    inner: Arc<ConsumerInner>,
}

impl std::fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumer")
            .field("group", &self.inner.config.group)
            .field("client_id", &self.inner.core.client_id)
            .finish()
    }
}

/// Builds and starts a [`PushConsumer`].
pub struct PushConsumerBuilder {
    client: ClientConfig,
    config: PushConsumerConfig,
    instance: Option<Arc<ClientInstance>>,
    subscriptions: Vec<(String, Selector)>,
    listener: Option<MessageListener>,
}

impl PushConsumerBuilder {
    /// Subscribes `topic` with `selector` (call once per topic).
    pub fn subscribe(mut self, topic: impl Into<String>, selector: Selector) -> Self {
        self.subscriptions.push((topic.into(), selector));
        self
    }

    /// Consumes with a listener that may see messages in parallel.
    pub fn listener_concurrently(mut self, listener: impl MessageListenerConcurrently) -> Self {
        self.listener = Some(MessageListener::concurrently(listener));
        self
    }

    /// Consumes each queue in order, one batch at a time, holding the queue's broker lock.
    pub fn listener_orderly(mut self, listener: impl MessageListenerOrderly) -> Self {
        self.listener = Some(MessageListener::orderly(listener));
        self
    }

    pub fn listener(mut self, listener: MessageListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Runs on an existing client instance (shared with producers) instead of its own.
    pub fn instance(mut self, instance: Arc<ClientInstance>) -> Self {
        self.instance = Some(instance);
        self
    }

    pub async fn start(self) -> Result<PushConsumer> {
        let listener = self.listener.ok_or_else(|| {
            ClientError::InvalidArgument(
                "a push consumer needs a listener (listener_concurrently or listener_orderly)"
                    .into(),
            )
        })?;
        let (instance, owns) = match self.instance {
            Some(i) => (i, false),
            None => (ClientInstance::start(self.client)?, true),
        };
        let started = PushConsumer::start_inner(
            Arc::clone(&instance),
            owns,
            self.config,
            self.subscriptions,
            listener,
        )
        .await;
        if started.is_err() && owns {
            instance.shutdown().await;
        }
        started
    }
}

impl PushConsumer {
    pub fn builder(client: ClientConfig, config: PushConsumerConfig) -> PushConsumerBuilder {
        PushConsumerBuilder {
            client,
            config,
            instance: None,
            subscriptions: Vec::new(),
            listener: None,
        }
    }

    /// Starts a consumer with its own client instance.
    pub async fn start(
        client: ClientConfig,
        config: PushConsumerConfig,
        subscriptions: Vec<(String, Selector)>,
        listener: MessageListener,
    ) -> Result<Self> {
        let mut b = Self::builder(client, config).listener(listener);
        b.subscriptions = subscriptions;
        b.start().await
    }

    /// Starts a consumer on a shared client instance.
    pub async fn start_on(
        instance: Arc<ClientInstance>,
        config: PushConsumerConfig,
        subscriptions: Vec<(String, Selector)>,
        listener: MessageListener,
    ) -> Result<Self> {
        Self::start_inner(instance, false, config, subscriptions, listener).await
    }

    async fn start_inner(
        instance: Arc<ClientInstance>,
        owns_instance: bool,
        config: PushConsumerConfig,
        subscriptions: Vec<(String, Selector)>,
        listener: MessageListener,
    ) -> Result<Self> {
        check_config(&config)?;
        let subs = build_subscriptions(&config, &subscriptions)?;
        let trace = if config.enable_msg_trace {
            let topic = config
                .trace_topic
                .as_deref()
                .unwrap_or(petrel_protocol::topic::TRACE_TOPIC);
            Some(
                crate::trace::TraceDispatcher::start(Arc::clone(&instance), &config.group, topic)
                    .await?,
            )
        } else {
            None
        };
        let core = ConsumerCore::new(instance, owns_instance, config.core_settings())?;
        *core.subscriptions.write() = subs;
        let (in_flight, _) = watch::channel(0usize);
        let inner = Arc::new(ConsumerInner {
            core,
            consume_permits: Arc::new(Semaphore::new(config.consume_thread_max)),
            config,
            listener,
            process_queues: Mutex::new(BTreeMap::new()),
            in_flight,
            stats: Stats::default(),
            inner_producer: tokio::sync::OnceCell::new(),
            trace,
        });
        inner.core.register(&inner)?;
        if let Err(e) = inner.prepare().await {
            inner
                .core
                .instance
                .unregister(None, Some(&inner.config.group))
                .await;
            return Err(e);
        }
        inner.spawn_background();
        inner.rebalance().await;
        tracing::info!(group = %inner.config.group, client = %inner.core.client_id, model = ?inner.config.message_model, orderly = inner.listener.is_orderly(), "push consumer started");
        Ok(PushConsumer { inner })
    }

    pub fn config(&self) -> &PushConsumerConfig {
        &self.inner.config
    }

    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.inner.core.instance
    }

    pub fn client_id(&self) -> &str {
        &self.inner.core.client_id
    }

    /// The queues this consumer currently consumes.
    pub fn assigned_queues(&self) -> Vec<MessageQueue> {
        self.inner
            .process_queues
            .lock()
            .iter()
            .filter(|(_, pq)| !pq.is_dropped())
            .map(|(mq, _)| mq.clone())
            .collect()
    }

    /// What is cached per queue (flow control, admin tools).
    pub fn process_queue_infos(&self) -> BTreeMap<MessageQueue, ProcessQueueInfo> {
        self.inner
            .process_queues
            .lock()
            .iter()
            .map(|(mq, pq)| (mq.clone(), pq.info()))
            .collect()
    }

    /// The consumed offsets of `topic`'s queues held in memory (not necessarily committed yet).
    pub fn offsets(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.inner.core.offset_store.offsets_of(topic)
    }

    /// `ConsumerRunningInfo` as JSON (what `GET_CONSUMER_RUNNING_INFO` answers).
    pub fn running_info(&self) -> serde_json::Value {
        running_info(&*self.inner)
    }

    /// Rebalances now (normally every `rebalance_interval` and when the group changes).
    pub async fn rebalance_now(&self) {
        self.inner.rebalance().await
    }

    /// Commits the consumed offsets now (normally every `persist_consumer_offset_interval`).
    pub async fn persist_offsets(&self) {
        self.inner.persist_all().await;
    }

    /// Stops pulling, waits up to `await_termination_when_shutdown` for listener calls in
    /// progress, commits the offsets, releases orderly locks and leaves the group.
    pub async fn shutdown(&self) {
        // Trace records of calls still running when it stops are dropped.
        if let Some(trace) = &self.inner.trace {
            trace.shutdown().await;
        }
        self.inner.shutdown().await
    }
}

impl Drop for PushConsumer {
    fn drop(&mut self) {
        // Without shutdown() nothing is committed beyond the last periodic commit; at least
        // stop the loops.
        self.inner.core.stop();
    }
}

/// Counts for `running_info`'s status table.
#[derive(Debug, Default)]
pub(super) struct Stats {
    pub(super) pulls: AtomicU64,
    pub(super) pull_rt_ms: AtomicU64,
    pub(super) pulled_msgs: AtomicU64,
    pub(super) consume_ok: AtomicU64,
    pub(super) consume_failed: AtomicU64,
    pub(super) consume_rt_ms: AtomicU64,
    pub(super) consume_calls: AtomicU64,
}

/// A listener call in progress; shutdown waits for the count to reach zero.
pub(super) struct InFlightGuard<'a>(&'a watch::Sender<usize>);

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// The consumer's shared state; the per-concern files add methods to it.
pub(crate) struct ConsumerInner {
    pub(super) core: ConsumerCore,
    pub(super) config: PushConsumerConfig,
    pub(super) listener: MessageListener,
    pub(super) process_queues: Mutex<BTreeMap<MessageQueue, Arc<ProcessQueue>>>,
    /// Listener calls (`consume_thread_max`).
    pub(super) consume_permits: Arc<Semaphore>,
    pub(super) in_flight: watch::Sender<usize>,
    pub(super) stats: Stats,
    inner_producer: tokio::sync::OnceCell<Option<Producer>>,
    /// Where SubBefore/SubAfter trace records go, with `enable_msg_trace`.
    pub(super) trace: Option<Arc<crate::trace::TraceDispatcher>>,
}

impl ConsumerKind for ConsumerInner {
    const CONSUME_TYPE: ConsumeType = ConsumeType::ConsumePassively;

    fn core(&self) -> &ConsumerCore {
        &self.core
    }

    /// A broker reset the group's offsets of `topic` (`RESET_CONSUMER_CLIENT_OFFSET`): the
    /// cached messages are dropped, the new offsets committed and the queues restarted there
    /// by a rebalance.
    async fn reset_offsets(self: Arc<Self>, topic: String, offsets: BTreeMap<MessageQueue, i64>) {
        {
            let _serial = self.core.rebalance_serial.lock().await;
            let queues = self.queues_of(&topic);
            for (_, pq) in &queues {
                pq.set_dropped();
                pq.clear();
            }
            // Each failure is logged; the queues restart at the new offsets regardless.
            let _ = self.core.commit_offsets(&offsets).await;
            for (mq, pq) in queues {
                self.give_up_queue(&mq, &pq).await;
            }
        }
        self.core.rebalance_now.notify_one();
    }

    /// The settings (as `DefaultMQPushConsumer` names them), each queue's cache and lock, and
    /// the rates since start (the Java client reports last-minute rates).
    fn describe(&self, info: &mut RunningInfo<'_>) {
        let c = &self.config;
        info.property(PROP_THREADPOOL_CORE_SIZE, c.consume_thread_max);
        info.property(PROP_CONSUME_ORDERLY, self.listener.is_orderly());
        info.property("consumeThreadMax", c.consume_thread_max);
        info.property(
            "consumeMessageBatchMaxSize",
            c.consume_message_batch_max_size,
        );
        info.property("pullBatchSize", c.pull_batch_size);
        info.property("pullThresholdForQueue", c.pull_threshold_for_queue);
        info.property(
            "pullThresholdSizeForQueue",
            c.pull_threshold_size_for_queue_mib,
        );
        info.property(
            "consumeConcurrentlyMaxSpan",
            c.consume_concurrently_max_span,
        );
        info.property("maxReconsumeTimes", c.max_reconsume_times);
        info.property("consumeTimeout", c.consume_timeout.as_millis() / 60_000);
        let queues: Vec<(MessageQueue, ProcessQueueInfo)> = self
            .process_queues
            .lock()
            .iter()
            .map(|(mq, pq)| (mq.clone(), pq.info()))
            .collect();
        for (mq, q) in queues {
            info.queue(
                &mq,
                json!({
                    "cachedMsgMinOffset": q.cached_msg_min_offset,
                    "cachedMsgMaxOffset": q.cached_msg_max_offset,
                    "cachedMsgCount": q.cached_msg_count,
                    "cachedMsgSizeInMiB": q.cached_msg_size_bytes / (1024 * 1024),
                    "transactionMsgMinOffset": 0,
                    "transactionMsgMaxOffset": 0,
                    "transactionMsgCount": 0,
                    "locked": q.locked,
                    "tryUnlockTimes": q.try_unlock_times,
                    "lastLockTimestamp": q.last_lock_timestamp,
                    "droped": q.dropped,
                    "lastPullTimestamp": q.last_pull_timestamp,
                    "lastConsumeTimestamp": q.last_consume_timestamp,
                }),
            );
        }
        let s = &self.stats;
        let secs = ((now_ms() - self.core.start_ms).max(1) as f64) / 1000.0;
        let pulls = s.pulls.load(Ordering::Relaxed);
        let calls = s.consume_calls.load(Ordering::Relaxed);
        let failed = s.consume_failed.load(Ordering::Relaxed);
        let avg = |total: u64, n: u64| if n == 0 { 0.0 } else { total as f64 / n as f64 };
        let status = json!({
            "pullRT": avg(s.pull_rt_ms.load(Ordering::Relaxed), pulls),
            "pullTPS": s.pulled_msgs.load(Ordering::Relaxed) as f64 / secs,
            "consumeRT": avg(s.consume_rt_ms.load(Ordering::Relaxed), calls),
            "consumeOKTPS": s.consume_ok.load(Ordering::Relaxed) as f64 / secs,
            "consumeFailedTPS": failed as f64 / secs,
            "consumeFailedMsgs": failed,
        });
        let topics: Vec<String> = self.core.subscriptions.read().keys().cloned().collect();
        for topic in topics {
            info.status(&topic, status.clone());
        }
    }
}

impl ConsumerInner {
    /// The process queues of `topic` held now.
    pub(super) fn queues_of(&self, topic: &str) -> Vec<(MessageQueue, Arc<ProcessQueue>)> {
        self.process_queues
            .lock()
            .iter()
            .filter(|(mq, _)| mq.topic == topic)
            .map(|(mq, pq)| (mq.clone(), Arc::clone(pq)))
            .collect()
    }

    pub(super) fn in_flight(&self) -> InFlightGuard<'_> {
        self.in_flight.send_modify(|n| *n += 1);
        InFlightGuard(&self.in_flight)
    }

    /// Waits `delay`, or less if the queue is dropped or the consumer shuts down.
    pub(super) async fn pause(&self, pq: &ProcessQueue, delay: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = pq.dropped() => {}
            _ = self.core.shutdown_signal() => {}
        }
    }

    /// The master of the broker holding `mq` (any replica if the master is unknown).
    pub(super) async fn broker_addr(&self, mq: &MessageQueue) -> Result<String> {
        pull_api::broker_addr(&self.core.instance, mq).await
    }

    /// Routes of the subscribed topics, a heartbeat (so brokers know the group before the
    /// first rebalance asks them for its members), and the SQL92 check.
    async fn prepare(&self) -> Result<()> {
        let topics: Vec<String> = self.core.subscriptions.read().keys().cloned().collect();
        for topic in &topics {
            if let Err(e) = self.core.instance.route(topic).await {
                if !is_retry_topic(topic) {
                    tracing::warn!(group = %self.config.group, %topic, error = %e, "no route for a subscribed topic yet");
                }
            }
        }
        self.check_client_in_broker().await?;
        self.core.instance.heartbeat_all_brokers().await;
        Ok(())
    }

    /// Java's `checkClientInBroker`: a broker that cannot evaluate a SQL92 subscription (no
    /// `enablePropertyFilter`) fails the start instead of delivering nothing.
    async fn check_client_in_broker(&self) -> Result<()> {
        let subs: Vec<SubscriptionData> = self
            .core
            .subscriptions
            .read()
            .values()
            .filter(|s| s.expression_type != "TAG")
            .cloned()
            .collect();
        for sd in subs {
            pull_api::check_client_config(&self.core.instance, &self.config.group, &sd).await?;
        }
        Ok(())
    }

    fn spawn_background(self: &Arc<Self>) {
        let client = self.core.instance.config();
        // Rebalance: periodically and on demand.
        self.core.spawn_periodic(
            self,
            client.rebalance_interval,
            Some(|me: &Self| &me.core.rebalance_now),
            |me| Box::pin(async move { me.rebalance().await }),
        );
        // Offsets: committed periodically.
        self.core
            .spawn_periodic(self, client.persist_consumer_offset_interval, None, |me| {
                Box::pin(async move { me.persist_all().await })
            });
        // Orderly clustering: queue locks renewed.
        if self.needs_queue_locks() {
            self.core
                .spawn_periodic(self, self.config.lock_interval, None, |me| {
                    Box::pin(async move { me.lock_all().await })
                });
        }
    }

    /// Commits the offsets of the queues held now (and forgets those of others).
    pub(super) async fn persist_all(&self) {
        let mqs: BTreeSet<MessageQueue> = self.process_queues.lock().keys().cloned().collect();
        self.core.offset_store.persist_all(&mqs).await;
    }

    /// Java's `resetRetryAndNamespace`: a message from the group's retry topic is shown with
    /// the topic it was first sent to.
    pub(super) fn reset_retry_topic(&self, msgs: &mut [MessageExt]) {
        let group_retry = retry_topic(&self.config.group);
        for m in msgs {
            if m.topic == group_retry {
                if let Some(original) = m.properties.get(prop::RETRY_TOPIC) {
                    m.topic = original.to_string();
                }
            }
        }
    }

    /// The consumer's own producer, started on first use (for retries when a broker refuses
    /// a send-back). `None` if it cannot start (another one runs on this client instance).
    pub(super) async fn inner_producer(&self) -> Option<&Producer> {
        self.inner_producer
            .get_or_init(|| async {
                match Producer::start_on(
                    Arc::clone(&self.core.instance),
                    ProducerConfig::new(CLIENT_INNER_PRODUCER_GROUP),
                )
                .await
                {
                    Ok(p) => Some(p),
                    Err(e) => {
                        tracing::warn!(group = %self.config.group, error = %e, "the consumer's retry producer could not start");
                        None
                    }
                }
            })
            .await
            .as_ref()
    }

    async fn shutdown(&self) {
        if !self.core.begin_shutdown() {
            return;
        }
        // Listener calls in progress finish (and commit) within the bound.
        let mut in_flight = self.in_flight.subscribe();
        if tokio::time::timeout(
            self.config.await_termination_when_shutdown,
            in_flight.wait_for(|n| *n == 0),
        )
        .await
        .is_err()
        {
            tracing::warn!(group = %self.config.group, running = *self.in_flight.borrow(), "listener calls still running at shutdown; their messages will be consumed again");
        }
        self.core.join_tasks().await;
        {
            // A rebalance in progress finishes first (it sees the shutdown and stops).
            let _serial = self.core.rebalance_serial.lock().await;
            self.persist_all().await;
            if self.needs_queue_locks() {
                self.unlock_all().await;
            }
        }
        if let Some(Some(p)) = self.inner_producer.get() {
            p.shutdown().await;
        }
        self.core.leave("push consumer").await;
    }
}
