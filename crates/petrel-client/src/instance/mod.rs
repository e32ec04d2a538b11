//! The client instance (RocketMQ's `MQClientInstance`): one set of connections, route cache
//! and heartbeat shared by the producers and consumers of one client id.
//!
//! Split by concern:
//! - this file: the instance itself, its background task (route refresh, heartbeats) and the
//!   transport every request goes through (`invoke*`, `invoke_namesrv`);
//! - [`route`]: routes from the name servers (`GET_ROUTEINFO_BY_TOPIC`, the next name server
//!   on a transport failure), cached per topic and refreshed every `poll_name_server_interval`
//!   for the topics in use. A producer sending to a topic no name server knows gets the route of
//!   `TBW102`, so that a broker with `autoCreateTopicEnable` creates the topic on the first send,
//!   as the Java client does;
//! - `heartbeat`: the producer and consumer groups registered here and what brokers are told
//!   of them: `HEART_BEAT` every `heartbeat_broker_interval` (and at once when a group
//!   registers or a new broker appears) to every broker of the cached routes (masters only when
//!   there are no consumers), `UNREGISTER_CLIENT` when a group leaves;
//! - `inbound`: requests brokers send on the same connections (`NOTIFY_CONSUMER_IDS_CHANGED`,
//!   `CHECK_TRANSACTION_STATE`, `RESET_CONSUMER_CLIENT_OFFSET`,
//!   `GET_CONSUMER_STATUS_FROM_CLIENT`, `GET_CONSUMER_RUNNING_INFO`), handed to the group they
//!   name, and `PUSH_REPLY_MESSAGE_TO_CLIENT`;
//! - `reply`: requests waiting for their reply, by `CORRELATION_ID`.

mod heartbeat;
mod inbound;
mod reply;
pub mod route;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use petrel_protocol::remoting::body::{ConsumerData, MessageQueue};
use petrel_protocol::remoting::header::CheckTransactionStateRequestHeader;
use petrel_protocol::remoting::{response_code as code, RemotingCommand};
use petrel_remoting::{RemotingClient, RemotingConfig};
use tokio::sync::watch;

use crate::config::ClientConfig;
use crate::error::{transport_failure, ClientError, Result};
use crate::message::MessageExt;
use inbound::Handler;
use reply::ReplyWaiters;

pub use route::TopicRoute;

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

/// One client id's connections, routes, groups and background task; see the module docs.
pub struct ClientInstance {
    config: ClientConfig,
    client_id: String,
    remoting: RemotingClient,
    /// The name server tried first (moves on after a transport failure).
    namesrv_index: AtomicUsize,
    routes: RwLock<HashMap<String, Arc<TopicRoute>>>,
    /// broker name → broker id → address, from every route seen.
    brokers: RwLock<HashMap<String, BTreeMap<i64, String>>>,
    /// The broker id each queue's last pull answer suggested (`suggestWhichBrokerId`), as
    /// Java's `PullAPIWrapper` keeps it.
    pull_suggestions: RwLock<BTreeMap<MessageQueue, i64>>,
    producers: RwLock<HashMap<String, Weak<dyn ProducerMember>>>,
    consumers: RwLock<HashMap<String, Weak<dyn ConsumerMember>>>,
    /// Serialises heartbeats (the timer and a registration may overlap).
    heartbeat_lock: tokio::sync::Mutex<()>,
    /// Asks the background task for a heartbeat now (a broker appeared).
    heartbeat_now: Arc<tokio::sync::Notify>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Requests waiting for their reply, by `CORRELATION_ID`.
    reply_waiters: ReplyWaiters,
}

impl std::fmt::Debug for ClientInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInstance")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ClientInstance {
    /// Starts an instance (route refresh and heartbeat run in the background of the current
    /// tokio runtime until [`ClientInstance::shutdown`]).
    pub fn start(config: ClientConfig) -> Result<Arc<Self>> {
        if config.namesrv_addrs.is_empty() {
            return Err(ClientError::NoNameServer);
        }
        let tls_client = match &config.tls {
            None => None,
            Some(settings) => Some(
                settings
                    .build()
                    .map_err(|e| ClientError::InvalidArgument(format!("TLS: {e}")))?,
            ),
        };
        let (shutdown, _) = watch::channel(false);
        let instance = Arc::new_cyclic(|weak: &Weak<ClientInstance>| {
            let remoting_config = RemotingConfig {
                connect_timeout: config.request_timeout,
                tls_client,
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
                pull_suggestions: RwLock::new(BTreeMap::new()),
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
        if let Some(c) = &self.config.credentials {
            c.sign(&mut request);
        }
        Ok(self.remoting.invoke(addr, request, timeout).await?)
    }

    /// A request that expects no response.
    pub async fn invoke_oneway(&self, addr: &str, mut request: RemotingCommand) -> Result<()> {
        request.serialize_type = self.config.serialize_type;
        if let Some(c) = &self.config.credentials {
            c.sign(&mut request);
        }
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
}
