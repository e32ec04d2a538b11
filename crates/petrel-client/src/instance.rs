//! The client instance (RocketMQ's `MQClientInstance`): one set of connections, route cache
//! and heartbeat shared by the producers and consumers of one client id.
//!
//! - **Routes**: `GET_ROUTEINFO_BY_TOPIC` from a name server (the next one on a transport
//!   failure), cached per topic and refreshed every `poll_name_server_interval` for the topics
//!   in use. A producer sending to a topic no name server knows gets the route of `TBW102`, so
//!   that a broker with `autoCreateTopicEnable` creates the topic on the first send, as the Java
//!   client does.
//! - **Heartbeat**: every `heartbeat_broker_interval` (and at once when a group registers),
//!   `HEART_BEAT` with every producer and consumer group to every broker of the cached routes
//!   (masters only when there are no consumers).
//! - **Requests from brokers** on the same connections: `NOTIFY_CONSUMER_IDS_CHANGED`,
//!   `CHECK_TRANSACTION_STATE`, `RESET_CONSUMER_CLIENT_OFFSET`, `GET_CONSUMER_STATUS_FROM_CLIENT`
//!   and `GET_CONSUMER_RUNNING_INFO`, handed to the group they name; and
//!   `PUSH_REPLY_MESSAGE_TO_CLIENT`, a reply to a `Producer::request`, handed to the request
//!   waiting for its `CORRELATION_ID`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use petrel_protocol::message::properties as prop;
use petrel_protocol::mix_all::{DEFAULT_TOPIC_QUEUE_NUMS, MASTER_ID};
use petrel_protocol::perm;
use petrel_protocol::remoting::body::{
    ConsumerData, HeartbeatData, JsonBody, MessageQueue, ProducerData, ResetOffsetBody,
    TopicRouteData,
};
use petrel_protocol::remoting::header::{
    CheckTransactionStateRequestHeader, NotifyConsumerIdsChangedRequestHeader,
    ReplyMessageRequestHeader, ResetOffsetRequestHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use petrel_protocol::topic::AUTO_CREATE_TOPIC_KEY_TOPIC;
use petrel_remoting::{
    BoxFuture, RemotingClient, RemotingConfig, Reply, RequestContext, RequestHandler,
};
use tokio::sync::{oneshot, watch};

use crate::broker_api;
use crate::config::ClientConfig;
use crate::error::{transport_failure, ClientError, Result};
use crate::message::MessageExt;
use crate::namesrv_api;

/// A topic's route with the queue lists producers and consumers use.
#[derive(Debug, Clone)]
pub struct TopicRoute {
    pub topic: String,
    pub data: TopicRouteData,
    /// Writable queues on masters, by broker name then queue id (what producers choose from).
    pub publish_queues: Vec<MessageQueue>,
    /// Readable queues, by broker name then queue id (what consumers divide among themselves).
    pub subscribe_queues: Vec<MessageQueue>,
    /// Borrowed from `TBW102`: the topic does not exist yet.
    pub auto_create: bool,
}

impl TopicRoute {
    pub fn new(topic: &str, data: TopicRouteData, auto_create: bool) -> Self {
        let mut queue_datas = data.queue_datas.clone();
        queue_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        let mut publish_queues = Vec::new();
        let mut subscribe_queues = Vec::new();
        for qd in &queue_datas {
            let has_master = data
                .broker_datas
                .iter()
                .any(|b| b.broker_name == qd.broker_name && b.master_addr().is_some());
            if perm::is_writeable(qd.perm) && has_master {
                let n = if auto_create {
                    qd.write_queue_nums.min(DEFAULT_TOPIC_QUEUE_NUMS)
                } else {
                    qd.write_queue_nums
                };
                for q in 0..n.max(0) {
                    publish_queues.push(MessageQueue::new(topic, qd.broker_name.clone(), q));
                }
            }
            if perm::is_readable(qd.perm) {
                for q in 0..qd.read_queue_nums.max(0) {
                    subscribe_queues.push(MessageQueue::new(topic, qd.broker_name.clone(), q));
                }
            }
        }
        Self {
            topic: topic.to_string(),
            data,
            publish_queues,
            subscribe_queues,
            auto_create,
        }
    }

    /// The master address of `broker_name`.
    pub fn master_addr(&self, broker_name: &str) -> Option<&str> {
        self.data
            .broker_datas
            .iter()
            .find(|b| b.broker_name == broker_name)
            .and_then(|b| b.master_addr())
    }
}

/// What the instance needs from a registered producer group.
pub(crate) trait ProducerMember: Send + Sync {
    /// A broker asks whether a half message committed (`CHECK_TRANSACTION_STATE`).
    fn check_transaction_state(
        &self,
        _broker_addr: String,
        _header: CheckTransactionStateRequestHeader,
        _message: MessageExt,
    ) {
    }
}

/// What the instance needs from a registered consumer group.
pub(crate) trait ConsumerMember: Send + Sync {
    fn consumer_data(&self) -> ConsumerData;
    /// The group's members or the queues changed: divide the queues again soon.
    fn trigger_rebalance(&self);
    /// A broker reset the group's offsets (`RESET_CONSUMER_CLIENT_OFFSET`).
    fn reset_offset(self: Arc<Self>, topic: &str, offsets: BTreeMap<MessageQueue, i64>);
    /// The group's current offsets for `topic` (`GET_CONSUMER_STATUS_FROM_CLIENT`).
    fn offsets(&self, topic: &str) -> BTreeMap<MessageQueue, i64>;
    /// `ConsumerRunningInfo` as JSON (`GET_CONSUMER_RUNNING_INFO`).
    fn running_info(&self) -> serde_json::Value;
}

pub struct ClientInstance {
    config: ClientConfig,
    client_id: String,
    remoting: RemotingClient,
    /// The name server tried first (moves on after a transport failure).
    namesrv_index: AtomicUsize,
    routes: RwLock<HashMap<String, Arc<TopicRoute>>>,
    /// broker name → broker id → address, from every route seen.
    brokers: RwLock<HashMap<String, BTreeMap<i64, String>>>,
    producers: RwLock<HashMap<String, Weak<dyn ProducerMember>>>,
    consumers: RwLock<HashMap<String, Weak<dyn ConsumerMember>>>,
    /// Serialises heartbeats (the timer and a registration may overlap).
    heartbeat_lock: tokio::sync::Mutex<()>,
    /// Asks the background task for a heartbeat now (a broker appeared).
    heartbeat_now: Arc<tokio::sync::Notify>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Requests waiting for their reply, by `CORRELATION_ID`.
    reply_waiters: Arc<Mutex<HashMap<String, oneshot::Sender<MessageExt>>>>,
}

/// A request's claim on its reply; dropping it (the request gave up) forgets the request.
pub(crate) struct ReplyWaiter {
    correlation_id: String,
    waiters: Arc<Mutex<HashMap<String, oneshot::Sender<MessageExt>>>>,
    pub(crate) reply: oneshot::Receiver<MessageExt>,
}

impl Drop for ReplyWaiter {
    fn drop(&mut self) {
        self.waiters.lock().remove(&self.correlation_id);
    }
}

impl std::fmt::Debug for ClientInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInstance")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Serves requests brokers send on our connections.
struct Handler(Weak<ClientInstance>);

impl ClientInstance {
    /// Starts an instance (route refresh and heartbeat run in the background of the current
    /// tokio runtime until [`ClientInstance::shutdown`]).
    pub fn start(config: ClientConfig) -> Result<Arc<Self>> {
        if config.namesrv_addrs.is_empty() {
            return Err(ClientError::NoNameServer);
        }
        let (shutdown, _) = watch::channel(false);
        let instance = Arc::new_cyclic(|weak: &Weak<ClientInstance>| {
            let remoting_config = RemotingConfig {
                connect_timeout: config.request_timeout,
                ..RemotingConfig::default()
            };
            ClientInstance {
                client_id: config.client_id(),
                remoting: RemotingClient::new(
                    remoting_config,
                    Some(Arc::new(Handler(weak.clone()))),
                ),
                config,
                namesrv_index: AtomicUsize::new(0),
                routes: RwLock::new(HashMap::new()),
                brokers: RwLock::new(HashMap::new()),
                producers: RwLock::new(HashMap::new()),
                consumers: RwLock::new(HashMap::new()),
                heartbeat_lock: tokio::sync::Mutex::new(()),
                heartbeat_now: Arc::new(tokio::sync::Notify::new()),
                shutdown,
                tasks: Mutex::new(Vec::new()),
                reply_waiters: Arc::default(),
            }
        });
        instance.spawn_background();
        Ok(instance)
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn remoting(&self) -> &RemotingClient {
        &self.remoting
    }

    /// A receiver that turns true when the instance shuts down.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn is_shut_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    fn spawn_background(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let mut stop = self.shutdown.subscribe();
        let routes_every = self.config.poll_name_server_interval;
        let heartbeat_every = self.config.heartbeat_broker_interval;
        let now = Arc::clone(&self.heartbeat_now);
        let task = tokio::spawn(async move {
            let mut routes = tokio::time::interval(routes_every);
            let mut heartbeat = tokio::time::interval(heartbeat_every);
            routes.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = routes.tick() => {
                        let Some(me) = weak.upgrade() else { return };
                        me.refresh_routes_in_use().await;
                    }
                    _ = heartbeat.tick() => {
                        let Some(me) = weak.upgrade() else { return };
                        me.heartbeat_all_brokers().await;
                    }
                    _ = now.notified() => {
                        let Some(me) = weak.upgrade() else { return };
                        me.heartbeat_all_brokers().await;
                    }
                    _ = stop.changed() => return,
                }
            }
        });
        self.tasks.lock().push(task);
    }

    /// One call with the configured timeout.
    pub async fn invoke(&self, addr: &str, request: RemotingCommand) -> Result<RemotingCommand> {
        self.invoke_timeout(addr, request, self.config.request_timeout)
            .await
    }

    pub async fn invoke_timeout(
        &self,
        addr: &str,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        request.serialize_type = self.config.serialize_type;
        Ok(self.remoting.invoke(addr, request, timeout).await?)
    }

    /// A request that expects no response.
    pub async fn invoke_oneway(&self, addr: &str, mut request: RemotingCommand) -> Result<()> {
        request.serialize_type = self.config.serialize_type;
        Ok(self.remoting.invoke_oneway(addr, request).await?)
    }

    /// One call that must answer SUCCESS; any other code is an error naming it.
    pub async fn invoke_ok(&self, addr: &str, request: RemotingCommand) -> Result<RemotingCommand> {
        let response = self.invoke(addr, request).await?;
        if response.code != code::SUCCESS {
            return Err(ClientError::response(addr, response.code, response.remark));
        }
        Ok(response)
    }

    /// A call to a name server: the one that answered last, then the others on a transport
    /// failure. When none can be reached, the error gives each one's reason.
    pub async fn invoke_namesrv(&self, request: RemotingCommand) -> Result<RemotingCommand> {
        let addrs = &self.config.namesrv_addrs;
        if addrs.is_empty() {
            return Err(ClientError::NoNameServer);
        }
        let start = self.namesrv_index.load(Ordering::Relaxed);
        let mut reasons = Vec::new();
        for i in 0..addrs.len() {
            let at = (start + i) % addrs.len();
            let addr = &addrs[at];
            match self.invoke(addr, request.clone()).await {
                Ok(response) => {
                    self.namesrv_index.store(at, Ordering::Relaxed);
                    return Ok(response);
                }
                Err(ClientError::Remoting(e)) => {
                    let Some(reason) = transport_failure(&e) else {
                        return Err(ClientError::Remoting(e));
                    };
                    tracing::debug!(namesrv = %addr, %reason, "name server call failed");
                    reasons.push(if addrs.len() > 1 {
                        format!("{addr}: {reason}")
                    } else {
                        reason
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Err(ClientError::NameServerUnreachable {
            addrs: addrs.join(";"),
            reason: reasons.join("; "),
        })
    }

    /// The route of `topic` as the name servers know it (no cache, no fallback).
    pub async fn fetch_route(&self, topic: &str) -> Result<TopicRouteData> {
        namesrv_api::get_route_info_by_topic(self, topic).await
    }

    /// The cached route of `topic`, fetched if not cached.
    pub async fn route(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        if let Some(route) = self.routes.read().get(topic) {
            return Ok(Arc::clone(route));
        }
        self.refresh_route(topic, false).await
    }

    /// The route a producer sends by: the topic's own, or `TBW102`'s when the topic does not
    /// exist yet (the broker creates it on the first send if `autoCreateTopicEnable`).
    pub async fn route_for_publish(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        if let Some(route) = self.routes.read().get(topic) {
            if !route.publish_queues.is_empty() {
                return Ok(Arc::clone(route));
            }
        }
        self.refresh_route(topic, true).await
    }

    /// Fetches `topic`'s route and caches it; with `for_publish`, falls back to `TBW102`.
    pub async fn refresh_route(&self, topic: &str, for_publish: bool) -> Result<Arc<TopicRoute>> {
        let route = match self.fetch_route(topic).await {
            Ok(data) => TopicRoute::new(topic, data, false),
            Err(ClientError::NoRoute { reason, .. }) if for_publish => {
                match self.fetch_route(AUTO_CREATE_TOPIC_KEY_TOPIC).await {
                    Ok(data) => TopicRoute::new(topic, data, true),
                    Err(_) => {
                        return Err(ClientError::NoRoute {
                            topic: topic.to_string(),
                            reason: format!(
                                "{reason}; and no broker allows creating topics automatically \
                                 (autoCreateTopicEnable): create it first, e.g. \
                                 `petrel admin updateTopic -t {topic}`"
                            ),
                        })
                    }
                }
            }
            Err(e) => return Err(e),
        };
        let route = Arc::new(route);
        let mut new_broker = false;
        {
            let mut brokers = self.brokers.write();
            for b in &route.data.broker_datas {
                if brokers.get(&b.broker_name) != Some(&b.broker_addrs) {
                    new_broker = true;
                    brokers.insert(b.broker_name.clone(), b.broker_addrs.clone());
                }
            }
        }
        if new_broker {
            // A broker we have not told about our groups yet: a transaction check-back or a
            // rebalance there must not wait for the next periodic heartbeat.
            self.heartbeat_now.notify_one();
        }
        self.routes
            .write()
            .insert(topic.to_string(), Arc::clone(&route));
        Ok(route)
    }

    /// Forgets a cached route (e.g. after a send found the topic gone).
    pub fn invalidate_route(&self, topic: &str) {
        self.routes.write().remove(topic);
    }

    async fn refresh_routes_in_use(&self) {
        let mut topics: BTreeSet<String> = self.routes.read().keys().cloned().collect();
        for c in self.consumers_alive() {
            for s in c.consumer_data().subscription_data_set {
                topics.insert(s.topic);
            }
        }
        for topic in topics {
            let auto = self
                .routes
                .read()
                .get(&topic)
                .map(|r| r.auto_create)
                .unwrap_or(false);
            if let Err(e) = self.refresh_route(&topic, auto).await {
                tracing::debug!(%topic, error = %e, "route refresh failed");
            }
        }
    }

    /// The address of `broker_name`: its master, or with `allow_slave` any replica when the
    /// master is missing.
    pub fn broker_addr(&self, broker_name: &str, allow_slave: bool) -> Option<String> {
        let brokers = self.brokers.read();
        let addrs = brokers.get(broker_name)?;
        if let Some(a) = addrs.get(&MASTER_ID) {
            return Some(a.clone());
        }
        if allow_slave {
            return addrs.values().next().cloned();
        }
        None
    }

    /// The master address of `broker_name`, refreshing `topic`'s route if it is unknown.
    pub async fn master_addr(&self, broker_name: &str, topic: &str) -> Result<String> {
        if let Some(a) = self.broker_addr(broker_name, false) {
            return Ok(a);
        }
        self.refresh_route(topic, false).await?;
        self.broker_addr(broker_name, false)
            .ok_or_else(|| ClientError::NoBrokerAddress {
                broker_name: broker_name.to_string(),
                role: "master",
            })
    }

    /// Every broker name → address map seen in routes.
    pub fn brokers(&self) -> HashMap<String, BTreeMap<i64, String>> {
        self.brokers.read().clone()
    }

    pub(crate) fn register_producer(
        &self,
        group: &str,
        member: Weak<dyn ProducerMember>,
    ) -> Result<()> {
        let mut producers = self.producers.write();
        if producers
            .get(group)
            .is_some_and(|existing| existing.strong_count() > 0)
        {
            return Err(ClientError::State(format!(
                "producer group {group} is already started in client {}; use another \
                 instance_name for a second producer of the same group",
                self.client_id
            )));
        }
        producers.insert(group.to_string(), member);
        Ok(())
    }

    pub(crate) fn register_consumer(
        &self,
        group: &str,
        member: Weak<dyn ConsumerMember>,
    ) -> Result<()> {
        let mut consumers = self.consumers.write();
        if consumers
            .get(group)
            .is_some_and(|existing| existing.strong_count() > 0)
        {
            return Err(ClientError::State(format!(
                "consumer group {group} is already started in client {}; use another \
                 instance_name for a second consumer of the same group",
                self.client_id
            )));
        }
        consumers.insert(group.to_string(), member);
        Ok(())
    }

    /// Removes a group and tells every broker (`UNREGISTER_CLIENT`), so that the others in the
    /// group rebalance at once instead of after the broker's channel expiry.
    pub(crate) async fn unregister(
        &self,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) {
        if let Some(g) = producer_group {
            self.producers.write().remove(g);
        }
        if let Some(g) = consumer_group {
            self.consumers.write().remove(g);
        }
        for addr in self.all_broker_addrs(consumer_group.is_some()) {
            let left =
                broker_api::group::unregister_client(self, &addr, producer_group, consumer_group)
                    .await;
            if let Err(e) = left {
                tracing::debug!(%addr, error = %e, "unregister failed");
            }
        }
    }

    fn consumers_alive(&self) -> Vec<Arc<dyn ConsumerMember>> {
        self.consumers
            .read()
            .values()
            .filter_map(Weak::upgrade)
            .collect()
    }

    fn consumer(&self, group: &str) -> Option<Arc<dyn ConsumerMember>> {
        self.consumers.read().get(group).and_then(Weak::upgrade)
    }

    fn all_broker_addrs(&self, include_slaves: bool) -> Vec<String> {
        let brokers = self.brokers.read();
        let mut out: Vec<String> = brokers
            .values()
            .flat_map(|addrs| {
                addrs
                    .iter()
                    .filter(|(id, _)| include_slaves || **id == MASTER_ID)
                    .map(|(_, a)| a.clone())
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether `topic`'s route is cached (a request to a new topic first heartbeats, so that
    /// the broker can find this client to push the reply to).
    pub(crate) fn has_route(&self, topic: &str) -> bool {
        self.routes.read().contains_key(topic)
    }

    /// Registers a request waiting for the reply with `correlation_id`.
    pub(crate) fn expect_reply(&self, correlation_id: &str) -> ReplyWaiter {
        let (tx, rx) = oneshot::channel();
        self.reply_waiters
            .lock()
            .insert(correlation_id.to_string(), tx);
        ReplyWaiter {
            correlation_id: correlation_id.to_string(),
            waiters: Arc::clone(&self.reply_waiters),
            reply: rx,
        }
    }

    /// A reply pushed by a broker (`PUSH_REPLY_MESSAGE_TO_CLIENT`), as Java's
    /// `ClientRemotingProcessor.receiveReplyMessage` builds it.
    fn receive_reply(
        &self,
        broker_addr: &str,
        request: &RemotingCommand,
    ) -> std::result::Result<(), String> {
        let h: ReplyMessageRequestHeader = request
            .decode_header()
            .map_err(|e| format!("bad reply header: {e}"))?;
        let mut properties = petrel_protocol::message::Properties::decode(
            h.properties.as_deref().unwrap_or("").as_bytes(),
        )
        .map_err(|e| format!("bad reply properties: {e}"))?;
        let mut sys_flag = h.sys_flag;
        let body = if sys_flag & petrel_protocol::message::sys_flag::COMPRESSED != 0 {
            sys_flag &= !petrel_protocol::message::sys_flag::COMPRESSED;
            crate::message::decompress(&request.body, h.sys_flag)
                .map_err(|e| format!("bad compressed reply body: {e}"))?
                .into()
        } else {
            request.body.clone()
        };
        properties.insert(
            prop::REPLY_MESSAGE_ARRIVE_TIME,
            crate::message::now_ms().to_string(),
        );
        let born_host = parse_java_socket_addr(&h.born_host);
        let store_host = parse_java_socket_addr(&h.store_host);
        let Some(correlation_id) = properties.get(prop::CORRELATION_ID).map(String::from) else {
            return Err(format!(
                "the reply has no {} property",
                prop::CORRELATION_ID
            ));
        };
        let message = MessageExt {
            topic: h.topic,
            body,
            flag: h.flag,
            properties,
            broker_name: String::new(),
            queue_id: h.queue_id,
            queue_offset: 0,
            commit_log_offset: 0,
            store_size: 0,
            sys_flag,
            body_crc: 0,
            born_timestamp: h.born_timestamp,
            born_host,
            store_timestamp: h.store_timestamp,
            store_host,
            reconsume_times: h.reconsume_times.unwrap_or(0),
            prepared_transaction_offset: 0,
            offset_msg_id: String::new(),
        };
        match self.reply_waiters.lock().remove(&correlation_id) {
            Some(waiter) => {
                let _ = waiter.send(message);
            }
            // Java logs and answers success too: the request timed out, or was never ours.
            None => {
                tracing::warn!(%broker_addr, %correlation_id, "a reply matched no waiting request (it timed out?)")
            }
        }
        Ok(())
    }

    /// Sends a heartbeat with every group to every known broker now.
    pub async fn heartbeat_all_brokers(&self) {
        let _serial = self.heartbeat_lock.lock().await;
        let producer_data_set: Vec<ProducerData> = self
            .producers
            .read()
            .iter()
            .filter(|(_, m)| m.strong_count() > 0)
            .map(|(g, _)| ProducerData {
                group_name: g.clone(),
            })
            .collect();
        let consumer_data_set: Vec<ConsumerData> = self
            .consumers_alive()
            .iter()
            .map(|c| c.consumer_data())
            .collect();
        if producer_data_set.is_empty() && consumer_data_set.is_empty() {
            return;
        }
        let has_consumers = !consumer_data_set.is_empty();
        let data = HeartbeatData {
            client_id: self.client_id.clone(),
            producer_data_set,
            consumer_data_set,
            ..Default::default()
        };
        let body = Bytes::from(data.encode());
        for addr in self.all_broker_addrs(has_consumers) {
            match broker_api::group::heart_beat(self, &addr, body.clone()).await {
                Ok(()) => {}
                Err(e @ ClientError::Response { .. }) => {
                    tracing::warn!(%addr, error = %e, "heartbeat refused")
                }
                Err(e) => tracing::debug!(%addr, error = %e, "heartbeat failed"),
            }
        }
    }

    /// Stops the background tasks and closes connections. Producers and consumers unregister
    /// themselves before calling this.
    pub async fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        let tasks: Vec<_> = self.tasks.lock().drain(..).collect();
        for t in tasks {
            let _ = t.await;
        }
        self.remoting.close_all().await;
    }

    async fn serve(
        self: Arc<Self>,
        ctx: RequestContext,
        request: RemotingCommand,
    ) -> Option<Reply> {
        let reply = |code: i32, remark: Option<String>| {
            Some(Reply::from(RemotingCommand::response_to(
                &request, code, remark,
            )))
        };
        match request.code {
            rc::NOTIFY_CONSUMER_IDS_CHANGED => {
                if let Ok(h) = request.decode_header::<NotifyConsumerIdsChangedRequestHeader>() {
                    if let Some(c) = self.consumer(&h.consumer_group) {
                        tracing::debug!(group = %h.consumer_group, "consumer ids changed; rebalancing");
                        c.trigger_rebalance();
                    }
                }
                None
            }
            rc::CHECK_TRANSACTION_STATE => {
                let Ok(header) = request.decode_header::<CheckTransactionStateRequestHeader>()
                else {
                    return None;
                };
                let Ok(mut messages) = crate::message::decode_messages(&request.body, "") else {
                    tracing::warn!("undecodable CHECK_TRANSACTION_STATE body");
                    return None;
                };
                let message = messages.pop()?;
                let group = message
                    .property(prop::PRODUCER_GROUP)
                    .unwrap_or("")
                    .to_string();
                let producer = self.producers.read().get(&group).and_then(Weak::upgrade);
                match producer {
                    Some(p) => {
                        let addr = ctx.remote_addr().to_string();
                        p.check_transaction_state(addr, header, message);
                    }
                    None => {
                        tracing::warn!(%group, "transaction check for a producer group not started here")
                    }
                }
                None
            }
            rc::PUSH_REPLY_MESSAGE_TO_CLIENT => {
                match self.receive_reply(&ctx.remote_addr().to_string(), &request) {
                    Ok(()) => reply(code::SUCCESS, None),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not take a pushed reply");
                        reply(
                            code::SYSTEM_ERROR,
                            Some(format!("process reply message fail: {e}")),
                        )
                    }
                }
            }
            rc::RESET_CONSUMER_CLIENT_OFFSET => {
                let Ok(h) = request.decode_header::<ResetOffsetRequestHeader>() else {
                    return reply(code::SYSTEM_ERROR, Some("bad reset header".into()));
                };
                let body = match ResetOffsetBody::decode(&request.body) {
                    Ok(b) => b,
                    Err(e) => {
                        return reply(code::SYSTEM_ERROR, Some(format!("bad reset body: {e}")))
                    }
                };
                if let Some(c) = self.consumer(&h.group) {
                    tracing::info!(group = %h.group, topic = %h.topic, queues = body.offset_table.len(), "offsets reset by the broker");
                    c.reset_offset(&h.topic, body.offset_table);
                }
                reply(code::SUCCESS, None)
            }
            rc::GET_CONSUMER_STATUS_FROM_CLIENT => {
                let group = request.ext_fields.get("group").unwrap_or("").to_string();
                let topic = request.ext_fields.get("topic").unwrap_or("").to_string();
                let offsets = self
                    .consumer(&group)
                    .map(|c| c.offsets(&topic))
                    .unwrap_or_default();
                let body = ResetOffsetBody {
                    offset_table: offsets,
                };
                let mut r = RemotingCommand::response_to(&request, code::SUCCESS, None);
                r.body = body.encode().into();
                Some(r.into())
            }
            rc::GET_CONSUMER_RUNNING_INFO => {
                let group = request
                    .ext_fields
                    .get("consumerGroup")
                    .unwrap_or("")
                    .to_string();
                match self.consumer(&group) {
                    Some(c) => {
                        let mut r = RemotingCommand::response_to(&request, code::SUCCESS, None);
                        r.body = serde_json::to_vec(&c.running_info())
                            .unwrap_or_default()
                            .into();
                        Some(r.into())
                    }
                    None => reply(
                        code::SYSTEM_ERROR,
                        Some(format!(
                            "the consumer group {group} is not running in {}",
                            self.client_id
                        )),
                    ),
                }
            }
            other => reply(
                code::REQUEST_CODE_NOT_SUPPORTED,
                Some(format!(
                    "request code {other} ({}) is not supported by petrel-client",
                    rc::name(other).unwrap_or("unknown")
                )),
            ),
        }
    }
}

/// A socket address as Java prints one (`/127.0.0.1:10911`, `host/127.0.0.1:10911`) or as
/// `host:port`; `0.0.0.0:0` if it is neither.
fn parse_java_socket_addr(s: &str) -> std::net::SocketAddr {
    let s = s.rsplit_once('/').map_or(s, |(_, a)| a);
    s.parse()
        .unwrap_or_else(|_| std::net::SocketAddr::from(([0, 0, 0, 0], 0)))
}

impl RequestHandler for Handler {
    fn handle(&self, ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>> {
        let me = self.0.upgrade();
        Box::pin(async move {
            match me {
                Some(me) => me.serve(ctx, request).await,
                None => None,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use petrel_protocol::remoting::body::{BrokerData, QueueData};

    fn route_data(perm: i32, with_master: bool) -> TopicRouteData {
        let mut addrs = BTreeMap::new();
        addrs.insert(
            if with_master { 0 } else { 1 },
            "127.0.0.1:10911".to_string(),
        );
        TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: addrs,
                broker_name: "b".into(),
                cluster: "c".into(),
                ..Default::default()
            }],
            queue_datas: vec![QueueData {
                broker_name: "b".into(),
                perm,
                read_queue_nums: 3,
                write_queue_nums: 8,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn java_socket_addresses_parse() {
        let want: std::net::SocketAddr = "127.0.0.1:10911".parse().unwrap();
        assert_eq!(parse_java_socket_addr("/127.0.0.1:10911"), want);
        assert_eq!(parse_java_socket_addr("localhost/127.0.0.1:10911"), want);
        assert_eq!(parse_java_socket_addr("127.0.0.1:10911"), want);
        assert_eq!(parse_java_socket_addr("nonsense").port(), 0);
    }

    #[test]
    fn route_lists_writable_and_readable_queues() {
        let r = TopicRoute::new(
            "T",
            route_data(perm::PERM_READ | perm::PERM_WRITE, true),
            false,
        );
        assert_eq!(r.publish_queues.len(), 8);
        assert_eq!(r.subscribe_queues.len(), 3);
        assert_eq!(r.publish_queues[7], MessageQueue::new("T", "b", 7));
        assert_eq!(r.master_addr("b"), Some("127.0.0.1:10911"));
    }

    #[test]
    fn auto_create_route_uses_the_default_queue_count() {
        let r = TopicRoute::new(
            "New",
            route_data(perm::PERM_READ | perm::PERM_WRITE, true),
            true,
        );
        assert_eq!(r.publish_queues.len(), DEFAULT_TOPIC_QUEUE_NUMS as usize);
        assert!(r.publish_queues.iter().all(|q| q.topic == "New"));
    }

    #[test]
    fn read_only_or_masterless_brokers_get_no_sends() {
        let r = TopicRoute::new("T", route_data(perm::PERM_READ, true), false);
        assert!(r.publish_queues.is_empty());
        assert_eq!(r.subscribe_queues.len(), 3);
        let r = TopicRoute::new(
            "T",
            route_data(perm::PERM_READ | perm::PERM_WRITE, false),
            false,
        );
        assert!(r.publish_queues.is_empty());
    }
}
