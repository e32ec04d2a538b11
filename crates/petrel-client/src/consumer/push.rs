//! The push consumer (RocketMQ's `DefaultMQPushConsumer`): the consumer's lifecycle and the
//! pull loop of each queue.
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
//!
//! Each queue this consumer owns has a pull loop: `PULL_MESSAGE` with long polling (the broker
//! holds the request up to `broker_suspend_max_time` until a message arrives), the request's
//! `sysFlag` built as Java's `PullAPIWrapper` builds it (commit offset piggy-backed when there
//! is one, suspend, subscription), and the answer handled as Java does: FOUND messages are
//! filtered again by exact tag (the broker filters by tag hash), cached in the queue's
//! [`ProcessQueue`] and handed to the listeners; NO_NEW_MSG / NO_MATCHED_MSG move the offset on;
//! OFFSET_ILLEGAL restarts the queue at the offset the broker gave; a failure pauses the queue
//! (`pull_time_delay_when_exception`) rather than retrying at once. Before pulling, flow control
//! pauses the queue for 50 ms while it caches more than `pull_threshold_for_queue` messages or
//! `pull_threshold_size_for_queue_mib` MiB, or (concurrent listeners) while its oldest and
//! newest cached offsets are more than `consume_concurrently_max_span` apart.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use petrel_protocol::message::{java_string_hash, properties as prop};
use petrel_protocol::mix_all::{CLIENT_INNER_PRODUCER_GROUP, DEFAULT_CONSUMER_GROUP};
use petrel_protocol::pull_sys_flag;
use petrel_protocol::remoting::body::{ConsumeType, ConsumerData, SubscriptionData};
use petrel_protocol::topic::{is_retry_topic, retry_topic};
use tokio::sync::{watch, Notify, Semaphore};

use super::offset_store::{LocalFileOffsetStore, OffsetStore, RemoteOffsetStore};
use super::process_queue::{ProcessQueue, ProcessQueueInfo};
use super::pull_api::{self, PullArgs};
use super::{
    MessageListener, MessageListenerConcurrently, MessageListenerOrderly, MessageModel,
    PushConsumerConfig, Selector,
};
use crate::broker_api::{PullOutcome, PullStatus};
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::instance::{ClientInstance, ConsumerMember};
use crate::message::{now_ms, MessageExt, MessageQueue};
use crate::names::{check_group, check_topic};
use crate::producer::{Producer, ProducerConfig};

/// Flow control pauses a queue this long (`PULL_TIME_DELAY_MILLS_WHEN_CACHE_FLOW_CONTROL`).
const FLOW_CONTROL_DELAY: Duration = Duration::from_millis(50);
/// A pull answered "nothing new" faster than this, with no progress, is followed by a pause
/// of [`NO_PROGRESS_DELAY`], so that a broker that does not hold pulls cannot make us spin.
const NO_PROGRESS_FAST: Duration = Duration::from_millis(50);
const NO_PROGRESS_DELAY: Duration = Duration::from_millis(100);

/// A running push consumer. Call [`PushConsumer::shutdown`] to stop it cleanly (offsets
/// committed, group left); dropping it only stops its tasks.
pub struct PushConsumer {
    inner: Arc<ConsumerInner>,
}

impl std::fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumer")
            .field("group", &self.inner.config.group)
            .field("client_id", &self.inner.client_id)
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
        let client_id = instance.client_id().to_string();
        let offset_store = match config.message_model {
            MessageModel::Clustering => {
                OffsetStore::Remote(RemoteOffsetStore::new(Arc::clone(&instance), &config.group))
            }
            MessageModel::Broadcasting => OffsetStore::Local(LocalFileOffsetStore::new(
                config.offset_store_dir.as_deref(),
                &client_id,
                &config.group,
            )),
        };
        offset_store.load()?;
        let consume_timestamp_ms = config
            .consume_timestamp_ms
            .unwrap_or_else(|| now_ms() - 30 * 60 * 1000);
        let (shutdown, _) = watch::channel(false);
        let (in_flight, _) = watch::channel(0usize);
        let inner = Arc::new_cyclic(|me: &Weak<ConsumerInner>| ConsumerInner {
            me: me.clone(),
            consume_permits: Arc::new(Semaphore::new(config.consume_thread_max)),
            config,
            instance,
            owns_instance,
            client_id,
            subscriptions: RwLock::new(subs),
            listener,
            offset_store,
            process_queues: Mutex::new(BTreeMap::new()),
            rebalance_serial: tokio::sync::Mutex::new(()),
            rebalance_now: Notify::new(),
            shutdown,
            closed: AtomicBool::new(false),
            in_flight,
            stats: Stats::default(),
            start_ms: now_ms(),
            consume_timestamp_ms,
            tasks: Mutex::new(Vec::new()),
            inner_producer: tokio::sync::OnceCell::new(),
        });
        let member: Weak<dyn ConsumerMember> = Arc::downgrade(&inner) as Weak<dyn ConsumerMember>;
        inner
            .instance
            .register_consumer(&inner.config.group, member)?;
        if let Err(e) = inner.prepare().await {
            inner
                .instance
                .unregister(None, Some(&inner.config.group))
                .await;
            return Err(e);
        }
        inner.spawn_background();
        inner.rebalance().await;
        tracing::info!(group = %inner.config.group, client = %inner.client_id, model = ?inner.config.message_model, orderly = inner.listener.is_orderly(), "push consumer started");
        Ok(PushConsumer { inner })
    }

    pub fn config(&self) -> &PushConsumerConfig {
        &self.inner.config
    }

    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.inner.instance
    }

    pub fn client_id(&self) -> &str {
        &self.inner.client_id
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
        self.inner.offset_store.offsets_of(topic)
    }

    /// `ConsumerRunningInfo` as JSON (what `GET_CONSUMER_RUNNING_INFO` answers).
    pub fn running_info(&self) -> serde_json::Value {
        self.inner.running_info_json()
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
        self.inner.shutdown().await
    }
}

impl Drop for PushConsumer {
    fn drop(&mut self) {
        // Without shutdown() nothing is committed beyond the last periodic commit; at least
        // stop the loops.
        let _ = self.inner.shutdown.send(true);
    }
}

/// Java's `checkConfig`, for the settings that would otherwise misbehave.
fn check_config(c: &PushConsumerConfig) -> Result<()> {
    check_group(&c.group)?;
    let bad = |what: &str| Err(ClientError::InvalidArgument(what.to_string()));
    if c.group == DEFAULT_CONSUMER_GROUP {
        return bad("DEFAULT_CONSUMER is a reserved group name; choose another consumer group");
    }
    if c.consume_thread_max == 0 || c.consume_thread_max > 1000 {
        return bad("consume_thread_max must be 1..=1000");
    }
    if c.consume_message_batch_max_size == 0 || c.consume_message_batch_max_size > 1024 {
        return bad("consume_message_batch_max_size must be 1..=1024");
    }
    if c.pull_batch_size < 1 || c.pull_batch_size > 1024 {
        return bad("pull_batch_size must be 1..=1024");
    }
    if c.pull_threshold_for_queue == 0 || c.pull_threshold_for_queue > 65_535 {
        return bad("pull_threshold_for_queue must be 1..=65535");
    }
    if c.pull_threshold_size_for_queue_mib == 0 || c.pull_threshold_size_for_queue_mib > 1024 {
        return bad("pull_threshold_size_for_queue_mib must be 1..=1024");
    }
    if c.consume_concurrently_max_span < 1 || c.consume_concurrently_max_span > 65_535 {
        return bad("consume_concurrently_max_span must be 1..=65535");
    }
    if c.max_reconsume_times < -1 {
        return bad("max_reconsume_times must be -1 (default) or more");
    }
    if c.broker_suspend_max_time.is_zero() {
        return bad("broker_suspend_max_time must be positive");
    }
    if c.consume_timeout.is_zero() {
        return bad("consume_timeout must be positive");
    }
    Ok(())
}

/// Java's `FilterAPI.buildSubscriptionData`: a tag expression becomes its tags and their hash
/// codes (`*` or empty: everything); SQL92 is kept as written for the broker to evaluate.
pub fn subscription_data(topic: &str, selector: &Selector) -> SubscriptionData {
    let mut sd = SubscriptionData {
        topic: topic.to_string(),
        sub_version: now_ms(),
        ..SubscriptionData::default()
    };
    match selector {
        Selector::Tag(expr) => {
            sd.expression_type = "TAG".into();
            let expr = expr.trim();
            if expr.is_empty() || expr == "*" {
                sd.sub_string = "*".into();
            } else {
                sd.sub_string = expr.to_string();
                for tag in expr.split("||").map(str::trim).filter(|t| !t.is_empty()) {
                    sd.tags_set.insert(tag.to_string());
                    sd.code_set.insert(java_string_hash(tag));
                }
            }
        }
        Selector::Sql92(expr) => {
            sd.expression_type = "SQL92".into();
            sd.sub_string = expr.trim().to_string();
        }
    }
    sd
}

fn build_subscriptions(
    config: &PushConsumerConfig,
    subscriptions: &[(String, Selector)],
) -> Result<BTreeMap<String, SubscriptionData>> {
    if subscriptions.is_empty() {
        return Err(ClientError::InvalidArgument(
            "a push consumer needs at least one subscription".into(),
        ));
    }
    let mut out = BTreeMap::new();
    for (topic, selector) in subscriptions {
        check_topic(topic)?;
        if let Selector::Sql92(expr) = selector {
            if expr.trim().is_empty() {
                return Err(ClientError::InvalidArgument(format!(
                    "the SQL92 expression for {topic} is empty"
                )));
            }
        }
        if out
            .insert(topic.clone(), subscription_data(topic, selector))
            .is_some()
        {
            return Err(ClientError::InvalidArgument(format!(
                "{topic} is subscribed twice; combine the expressions"
            )));
        }
    }
    if config.message_model == MessageModel::Clustering {
        // Clustering members get their failed messages back through the group's retry topic.
        let retry = retry_topic(&config.group);
        out.entry(retry.clone())
            .or_insert_with(|| subscription_data(&retry, &Selector::all()));
    }
    Ok(out)
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
    pub(super) me: Weak<ConsumerInner>,
    pub(super) config: PushConsumerConfig,
    pub(super) instance: Arc<ClientInstance>,
    owns_instance: bool,
    pub(super) client_id: String,
    /// topic → subscription, the retry topic included (clustering).
    pub(super) subscriptions: RwLock<BTreeMap<String, SubscriptionData>>,
    pub(super) listener: MessageListener,
    pub(super) offset_store: OffsetStore,
    pub(super) process_queues: Mutex<BTreeMap<MessageQueue, Arc<ProcessQueue>>>,
    /// Serialises rebalances, offset resets and offset fixes.
    pub(super) rebalance_serial: tokio::sync::Mutex<()>,
    pub(super) rebalance_now: Notify,
    pub(super) shutdown: watch::Sender<bool>,
    closed: AtomicBool,
    /// Listener calls (`consume_thread_max`).
    pub(super) consume_permits: Arc<Semaphore>,
    pub(super) in_flight: watch::Sender<usize>,
    pub(super) stats: Stats,
    pub(super) start_ms: i64,
    pub(super) consume_timestamp_ms: i64,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    inner_producer: tokio::sync::OnceCell<Option<Producer>>,
}

impl ConsumerMember for ConsumerInner {
    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            consume_from_where: Some(self.config.consume_from_where),
            consume_type: Some(ConsumeType::ConsumePassively),
            group_name: self.config.group.clone(),
            message_model: Some(self.config.message_model),
            subscription_data_set: self.subscriptions.read().values().cloned().collect(),
            unit_mode: false,
        }
    }

    fn trigger_rebalance(&self) {
        self.rebalance_now.notify_one();
    }

    fn reset_offset(&self, topic: &str, offsets: BTreeMap<MessageQueue, i64>) {
        if let Some(me) = self.me.upgrade() {
            let topic = topic.to_string();
            tokio::spawn(async move { me.reset_offsets(&topic, offsets).await });
        }
    }

    fn offsets(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.offset_store.offsets_of(topic)
    }

    fn running_info(&self) -> serde_json::Value {
        self.running_info_json()
    }
}

impl ConsumerInner {
    pub(super) fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves once shutdown begins.
    pub(super) async fn shutdown_signal(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    pub(super) fn in_flight(&self) -> InFlightGuard<'_> {
        self.in_flight.send_modify(|n| *n += 1);
        InFlightGuard(&self.in_flight)
    }

    pub(super) fn is_clustering(&self) -> bool {
        self.config.message_model == MessageModel::Clustering
    }

    /// Waits `delay`, or less if the queue is dropped or the consumer shuts down.
    pub(super) async fn pause(&self, pq: &ProcessQueue, delay: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = pq.dropped() => {}
            _ = self.shutdown_signal() => {}
        }
    }

    /// The master of the broker holding `mq` (any replica if the master is unknown).
    pub(super) async fn broker_addr(&self, mq: &MessageQueue) -> Result<String> {
        pull_api::broker_addr(&self.instance, mq).await
    }

    /// Routes of the subscribed topics, a heartbeat (so brokers know the group before the
    /// first rebalance asks them for its members), and the SQL92 check.
    async fn prepare(&self) -> Result<()> {
        let topics: Vec<String> = self.subscriptions.read().keys().cloned().collect();
        for topic in &topics {
            if let Err(e) = self.instance.route(topic).await {
                if !is_retry_topic(topic) {
                    tracing::warn!(group = %self.config.group, %topic, error = %e, "no route for a subscribed topic yet");
                }
            }
        }
        self.check_client_in_broker().await?;
        self.instance.heartbeat_all_brokers().await;
        Ok(())
    }

    /// Java's `checkClientInBroker`: a broker that cannot evaluate a SQL92 subscription (no
    /// `enablePropertyFilter`) fails the start instead of delivering nothing.
    async fn check_client_in_broker(&self) -> Result<()> {
        let subs: Vec<SubscriptionData> = self
            .subscriptions
            .read()
            .values()
            .filter(|s| s.expression_type != "TAG")
            .cloned()
            .collect();
        for sd in subs {
            pull_api::check_client_config(&self.instance, &self.config.group, &sd).await?;
        }
        Ok(())
    }

    fn spawn_background(self: &Arc<Self>) {
        let mut tasks = self.tasks.lock();
        // Rebalance: periodically and on demand.
        let me = Arc::clone(self);
        tasks.push(tokio::spawn(async move {
            let mut every = tokio::time::interval(me.instance.config().rebalance_interval);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every.tick().await;
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = me.rebalance_now.notified() => {}
                    _ = me.shutdown_signal() => return,
                }
                me.rebalance().await;
            }
        }));
        // Offsets: committed periodically.
        let me = Arc::clone(self);
        tasks.push(tokio::spawn(async move {
            let mut every =
                tokio::time::interval(me.instance.config().persist_consumer_offset_interval);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every.tick().await;
            loop {
                tokio::select! {
                    _ = every.tick() => me.persist_all().await,
                    _ = me.shutdown_signal() => return,
                }
            }
        }));
        // Orderly clustering: queue locks renewed.
        if self.needs_queue_locks() {
            let me = Arc::clone(self);
            tasks.push(tokio::spawn(async move {
                let mut every = tokio::time::interval(me.config.lock_interval);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                every.tick().await;
                loop {
                    tokio::select! {
                        _ = every.tick() => me.lock_all().await,
                        _ = me.shutdown_signal() => return,
                    }
                }
            }));
        }
    }

    /// Commits the offsets of the queues held now (and forgets those of others).
    pub(super) async fn persist_all(&self) {
        let mqs: BTreeSet<MessageQueue> = self.process_queues.lock().keys().cloned().collect();
        self.offset_store.persist_all(&mqs).await;
    }

    /// Starts consuming a newly assigned queue at `offset`.
    pub(super) fn start_queue(
        self: &Arc<Self>,
        mq: MessageQueue,
        pq: Arc<ProcessQueue>,
        offset: i64,
    ) {
        if self.listener.is_orderly() {
            tokio::spawn(Arc::clone(self).consume_orderly_loop(mq.clone(), Arc::clone(&pq)));
        }
        tokio::spawn(Arc::clone(self).pull_loop(mq, pq, offset));
    }

    /// The reason to hold back pulling this queue, if any.
    fn flow_control(&self, pq: &ProcessQueue) -> Option<&'static str> {
        if pq.count() > self.config.pull_threshold_for_queue {
            return Some("cached message count");
        }
        if pq.size_bytes() / (1024 * 1024) > self.config.pull_threshold_size_for_queue_mib {
            return Some("cached message size");
        }
        if !self.listener.is_orderly() && pq.max_span() > self.config.consume_concurrently_max_span
        {
            return Some("offset span");
        }
        None
    }

    async fn pull_loop(
        self: Arc<Self>,
        mq: MessageQueue,
        pq: Arc<ProcessQueue>,
        mut next_offset: i64,
    ) {
        let orderly = self.listener.is_orderly();
        let mut previously_locked = false;
        let mut flow_controlled: u64 = 0;
        loop {
            if pq.is_dropped() || self.is_shutting_down() {
                return;
            }
            pq.touch_pull();
            if let Some(why) = self.flow_control(&pq) {
                if flow_controlled % 1000 == 0 {
                    tracing::debug!(group = %self.config.group, ?mq, why, count = pq.count(), "flow control: pulling paused");
                }
                flow_controlled += 1;
                self.pause(&pq, FLOW_CONTROL_DELAY).await;
                continue;
            }
            if orderly && self.is_clustering() {
                if !pq.is_locked() {
                    self.pause(&pq, self.config.pull_time_delay_when_exception)
                        .await;
                    continue;
                }
                if !previously_locked {
                    // The first pull under the lock starts from the committed offset: another
                    // member may have consumed this queue until just now.
                    match self.compute_pull_from_where(&mq).await {
                        Ok(o) => {
                            next_offset = o;
                            previously_locked = true;
                        }
                        Err(e) => {
                            tracing::warn!(group = %self.config.group, ?mq, error = %e, "reading the offset of a locked queue failed");
                            self.pause(&pq, self.config.pull_time_delay_when_exception)
                                .await;
                            continue;
                        }
                    }
                }
            }
            let Some(sd) = self.subscriptions.read().get(&mq.topic).cloned() else {
                self.pause(&pq, self.config.pull_time_delay_when_exception)
                    .await;
                continue;
            };
            let started = Instant::now();
            let pulled = tokio::select! {
                r = self.pull_once(&mq, &sd, next_offset) => r,
                _ = pq.dropped() => return,
                _ = self.shutdown_signal() => return,
            };
            let elapsed = started.elapsed();
            self.stats.pulls.fetch_add(1, Ordering::Relaxed);
            self.stats
                .pull_rt_ms
                .fetch_add(elapsed.as_millis() as u64, Ordering::Relaxed);
            match pulled {
                Ok(PullOutcome {
                    status: PullStatus::Found,
                    messages: msgs,
                    next_begin_offset: next_begin,
                    ..
                }) => {
                    next_offset = next_begin;
                    if msgs.is_empty() {
                        self.correct_tags_offset(&mq, &pq, next_offset);
                    } else {
                        self.stats
                            .pulled_msgs
                            .fetch_add(msgs.len() as u64, Ordering::Relaxed);
                        pq.put(&msgs);
                        if !orderly {
                            self.submit_concurrently(&mq, &pq, msgs);
                        }
                    }
                }
                Ok(PullOutcome {
                    status: PullStatus::NoNewMsg | PullStatus::NoMatchedMsg,
                    next_begin_offset: next_begin,
                    ..
                }) => {
                    let progressed = next_begin != next_offset;
                    next_offset = next_begin;
                    self.correct_tags_offset(&mq, &pq, next_offset);
                    if !progressed && elapsed < NO_PROGRESS_FAST {
                        self.pause(&pq, NO_PROGRESS_DELAY).await;
                    }
                }
                Ok(PullOutcome {
                    status: PullStatus::OffsetIllegal,
                    next_begin_offset: next_begin,
                    ..
                }) => {
                    tracing::warn!(group = %self.config.group, ?mq, offset = next_offset, next_begin, "pull offset illegal; restarting the queue at the broker's offset");
                    pq.set_dropped();
                    let me = Arc::clone(&self);
                    tokio::spawn(async move { me.fix_offset(mq, pq, next_begin).await });
                    return;
                }
                Err(e) => {
                    if is_retry_topic(&mq.topic) {
                        tracing::debug!(group = %self.config.group, ?mq, error = %e, "pull failed");
                    } else {
                        tracing::warn!(group = %self.config.group, ?mq, error = %e, "pull failed");
                    }
                    self.pause(&pq, self.config.pull_time_delay_when_exception)
                        .await;
                }
            }
        }
    }

    /// Nothing is cached, so everything before `next_offset` is consumed or filtered out.
    fn correct_tags_offset(&self, mq: &MessageQueue, pq: &ProcessQueue, next_offset: i64) {
        if pq.count() == 0 && !pq.is_dropped() {
            self.offset_store.update(mq, next_offset, true);
        }
    }

    /// One PULL_MESSAGE (see [`pull_api::pull`]), with the consumed offset piggy-backed.
    async fn pull_once(
        &self,
        mq: &MessageQueue,
        sd: &SubscriptionData,
        offset: i64,
    ) -> Result<PullOutcome> {
        let addr = self.broker_addr(mq).await?;
        let commit_offset = if self.is_clustering() {
            self.offset_store.memory(mq).unwrap_or(0)
        } else {
            0
        };
        let sys_flag = pull_sys_flag::build(commit_offset > 0, true, true, sd.class_filter_mode);
        let suspend = self.config.broker_suspend_max_time;
        // The broker holds the request up to `suspend`; the answer may take a while more.
        let timeout = suspend + self.instance.config().request_timeout.max(suspend);
        let args = PullArgs {
            group: &self.config.group,
            mq,
            subscription: sd,
            offset,
            max_msg_nums: self.config.pull_batch_size,
            sys_flag,
            commit_offset,
            suspend,
            timeout,
        };
        pull_api::pull(&self.instance, &addr, args).await
    }

    /// After OFFSET_ILLEGAL: the queue's offset becomes the broker's, is committed, and the
    /// queue is started again by a rebalance.
    async fn fix_offset(self: Arc<Self>, mq: MessageQueue, pq: Arc<ProcessQueue>, offset: i64) {
        {
            let _serial = self.rebalance_serial.lock().await;
            self.offset_store.update(&mq, offset, false);
            if let Err(e) = self.offset_store.persist(&mq).await {
                tracing::warn!(group = %self.config.group, ?mq, error = %e, "committing the corrected offset failed");
            }
            if self.remove_unnecessary_queue(&mq, &pq).await {
                let mut table = self.process_queues.lock();
                if table.get(&mq).is_some_and(|p| Arc::ptr_eq(p, &pq)) {
                    table.remove(&mq);
                }
            }
        }
        self.rebalance_now.notify_one();
    }

    /// A broker reset the group's offsets of `topic` (`RESET_CONSUMER_CLIENT_OFFSET`): the
    /// cached messages are dropped and the queues restart at the new offsets.
    async fn reset_offsets(self: Arc<Self>, topic: &str, offsets: BTreeMap<MessageQueue, i64>) {
        {
            let _serial = self.rebalance_serial.lock().await;
            let queues: Vec<(MessageQueue, Arc<ProcessQueue>)> = self
                .process_queues
                .lock()
                .iter()
                .filter(|(mq, _)| mq.topic == topic)
                .map(|(mq, pq)| (mq.clone(), Arc::clone(pq)))
                .collect();
            for (_, pq) in &queues {
                pq.set_dropped();
                pq.clear();
            }
            for (mq, offset) in &offsets {
                self.offset_store.update(mq, *offset, false);
                if let Err(e) = self.offset_store.persist(mq).await {
                    tracing::warn!(group = %self.config.group, ?mq, error = %e, "committing a reset offset failed");
                }
            }
            for (mq, pq) in queues {
                if self.remove_unnecessary_queue(&mq, &pq).await {
                    let mut table = self.process_queues.lock();
                    if table.get(&mq).is_some_and(|p| Arc::ptr_eq(p, &pq)) {
                        table.remove(&mq);
                    }
                }
            }
        }
        self.rebalance_now.notify_one();
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
                    Arc::clone(&self.instance),
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
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = self.shutdown.send(true);
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
        let tasks: Vec<_> = self.tasks.lock().drain(..).collect();
        for t in tasks {
            let _ = t.await;
        }
        {
            // A rebalance in progress finishes first (it sees the shutdown and stops).
            let _serial = self.rebalance_serial.lock().await;
            self.persist_all().await;
            if self.needs_queue_locks() {
                self.unlock_all().await;
            }
        }
        if let Some(Some(p)) = self.inner_producer.get() {
            p.shutdown().await;
        }
        self.instance
            .unregister(None, Some(&self.config.group))
            .await;
        if self.owns_instance {
            self.instance.shutdown().await;
        }
        tracing::info!(group = %self.config.group, client = %self.client_id, "push consumer shut down");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_expressions_become_tags_and_hash_codes() {
        let sd = subscription_data("T", &Selector::tags(" TagA || TagB ||  "));
        assert_eq!(sd.expression_type, "TAG");
        assert_eq!(sd.sub_string, "TagA || TagB ||");
        assert_eq!(
            sd.tags_set.iter().map(String::as_str).collect::<Vec<_>>(),
            ["TagA", "TagB"]
        );
        assert!(sd.code_set.contains(&2_598_919)); // "TagA".hashCode()
        let all = subscription_data("T", &Selector::all());
        assert_eq!(all.sub_string, "*");
        assert!(all.tags_set.is_empty());
        let sql = subscription_data("T", &Selector::sql92("a > 1"));
        assert_eq!(sql.expression_type, "SQL92");
        assert!(sql.tags_set.is_empty());
    }

    #[test]
    fn clustering_subscribes_the_retry_topic_and_broadcasting_does_not() {
        let subs = vec![("T".to_string(), Selector::all())];
        let clustering = PushConsumerConfig::new("g1");
        let got = build_subscriptions(&clustering, &subs).unwrap();
        assert!(got.contains_key("%RETRY%g1"));
        assert_eq!(got["%RETRY%g1"].sub_string, "*");
        let mut broadcasting = PushConsumerConfig::new("g1");
        broadcasting.message_model = MessageModel::Broadcasting;
        let got = build_subscriptions(&broadcasting, &subs).unwrap();
        assert_eq!(got.keys().collect::<Vec<_>>(), ["T"]);
    }

    #[test]
    fn bad_subscriptions_and_settings_are_refused() {
        let c = PushConsumerConfig::new("g");
        assert!(build_subscriptions(&c, &[]).is_err());
        assert!(build_subscriptions(&c, &[("bad topic".into(), Selector::all())]).is_err());
        assert!(build_subscriptions(
            &c,
            &[
                ("T".into(), Selector::all()),
                ("T".into(), Selector::tags("a"))
            ]
        )
        .is_err());
        assert!(build_subscriptions(&c, &[("T".into(), Selector::sql92("  "))]).is_err());
        assert!(check_config(&c).is_ok());
        let mut bad = c.clone();
        bad.consume_thread_max = 0;
        assert!(check_config(&bad).is_err());
        let mut bad = c.clone();
        bad.pull_batch_size = 0;
        assert!(check_config(&bad).is_err());
        let mut bad = c;
        bad.group = "DEFAULT_CONSUMER".into();
        assert!(check_config(&bad).is_err());
    }
}
