//! The broker runtime: binds its ports, opens the store, loads its config files, serves
//! requests, registers with name servers, and stops cleanly.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use petrel_protocol::message::body_crc;
use petrel_protocol::perm::{is_readable, is_writeable, PERM_READ, PERM_WRITE};
use petrel_protocol::remoting::body::{JsonBody, RegisterBrokerBody, TopicConfig};
use petrel_protocol::remoting::header::{
    NotifyConsumerIdsChangedRequestHeader, RegisterBrokerRequestHeader,
    RegisterBrokerResponseHeader, UnRegisterBrokerRequestHeader,
};
use petrel_protocol::remoting::{request_code, response_code, RemotingCommand};
use petrel_remoting::{
    BoxFuture, ConnectionHandle, RemotingClient, RemotingConfig, RemotingServer, Reply,
    RequestContext, RequestHandler,
};
use petrel_store::{Arrival, MessageStore};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use crate::clock::now_ms;
use crate::config::update::LiveConfig;
use crate::config::{parse_message_delay_level, BrokerConfig, DelayLevelError};
use crate::config_file::ConfigFileError;
use crate::long_polling::PullWaiters;
use crate::state::auth::AuthManager;
use crate::state::client_registry::ClientRegistry;
use crate::state::consumer_offset::ConsumerOffsetManager;
use crate::state::rebalance_lock::{RebalanceLockManager, DEFAULT_LOCK_MAX_LIVE_MS};
use crate::state::subscription_group::SubscriptionGroupManager;
use crate::state::topic_config::TopicConfigManager;
use crate::stats::BrokerStats;
use crate::system_topic::schedule::{self, ScheduleService};
use crate::system_topic::timer::{self, TimerOpenError, TimerService};
use crate::system_topic::transaction::{self, TransactionContext, TransactionService};

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the store at {path}: {source}")]
    Store {
        path: String,
        #[source]
        source: petrel_store::StoreError,
    },
    #[error("cannot load {what}: {reason}")]
    Config { what: &'static str, reason: String },
    #[error("cannot load {what}: {source}")]
    State {
        what: &'static str,
        #[source]
        source: ConfigFileError,
    },
    #[error("cannot load the timer index: {0}")]
    Timer(#[source] TimerOpenError),
    #[error("cannot load messageDelayLevel: {0}")]
    DelayLevel(#[source] DelayLevelError),
}

fn state_error(what: &'static str) -> impl FnOnce(ConfigFileError) -> BrokerError {
    move |source| BrokerError::State { what, source }
}

/// Most pulls suspended at once (each holds a small waiter and a task).
const MAX_SUSPENDED_PULLS: usize = 100_000;
/// How often idle clients are looked for.
const CLIENT_SCAN_INTERVAL: Duration = Duration::from_secs(10);
/// Timeout of calls to name servers.
const NAMESRV_CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Everything request processors share.
pub struct BrokerInner {
    pub config: BrokerConfig,
    /// Controller mode's seam (`petrel-autoswitch`); `None` in classic mode.
    pub controller_hooks: Option<Arc<dyn crate::ControllerHooks>>,
    pub store: Arc<MessageStore>,
    pub topics: TopicConfigManager,
    pub groups: SubscriptionGroupManager,
    pub offsets: Arc<ConsumerOffsetManager>,
    /// Users and ACLs; every request is checked against them when authentication or
    /// authorization is on (`crate::access`).
    pub auth: AuthManager,
    pub clients: ClientRegistry,
    pub locks: RebalanceLockManager,
    pub waiters: PullWaiters,
    /// POP consumption: in-flight messages per group and queue (`crate::pop`).
    pub pop: crate::pop::PopService,
    /// PULL or POP per topic and group (`mqadmin setConsumeMode`).
    pub request_modes: crate::state::message_request_mode::MessageRequestModeManager,
    /// Delayed messages by level.
    pub schedule: ScheduleService,
    /// Resolved transactions.
    pub transactions: TransactionService,
    /// Timer messages waiting for their time.
    pub timers: Arc<TimerService>,
    /// `ip:port` clients use to reach this broker (`brokerIP1` and the listen port).
    pub broker_addr: String,
    /// The same address, stamped into stored records and offset message ids.
    pub store_host: SocketAddr,
    pub stats: BrokerStats,
    /// Prometheus metrics state (RPC latency, the replication-lag hook).
    pub metrics: crate::metrics::BrokerMetrics,
    pub started_ms: i64,
    /// The configuration as changed at run time (UPDATE_BROKER_CONFIG): where the keys that
    /// may change while the broker runs (`config::update::RUNTIME_KEYS`) are read. `config`
    /// keeps the start configuration.
    pub live: LiveConfig,
    /// The role's replication service (a master's HA listener, a slave's HA client).
    pub replication: crate::replica::Replication,
    /// `brokerIP2:haListenPort`, advertised to name servers as `haServerAddr`.
    pub ha_server_addr: String,
    register_now: Notify,
    /// Outgoing remoting connections: name servers, and a slave's master.
    pub(crate) namesrv: RemotingClient,
}

impl BrokerInner {
    /// Asks the registration task to register with name servers now (a topic was created).
    pub fn trigger_register(&self) {
        self.register_now.notify_one();
    }

    /// Creates a group's retry or dead-letter topic if it is missing (`queue_nums` read-write
    /// queues, as RocketMQ's `createTopicInSendMessageBackMethod`), and registers with name
    /// servers at once when it was created, so that consumers find its route.
    pub fn create_retry_or_dlq_topic(&self, topic: &str, queue_nums: i32) -> TopicConfig {
        self.registering(self.topics.create_in_send_back(
            topic,
            queue_nums,
            PERM_READ | PERM_WRITE,
            0,
        ))
    }

    /// Auto-creates a topic a producer sends to from its template `default_topic` (normally
    /// `TBW102`), registering at once when it was created; `None` if the template is missing
    /// or may not be inherited.
    pub fn auto_create_topic(
        &self,
        topic: &str,
        default_topic: &str,
        queue_nums: i32,
    ) -> Option<TopicConfig> {
        self.topics
            .create_in_send_message(topic, default_topic, queue_nums, 0)
            .map(|created| self.registering(created))
    }

    fn registering(&self, (config, created): (TopicConfig, bool)) -> TopicConfig {
        if created {
            self.trigger_register();
        }
        config
    }

    /// Tells every member of `group` to rebalance (oneway NOTIFY_CONSUMER_IDS_CHANGED).
    pub fn notify_consumer_ids_changed(&self, group: &str) {
        if let Some(cfg) = self.groups.get(group) {
            if !cfg.notify_consumer_ids_changed_enable {
                return;
            }
        }
        for conn in self.clients.consumer_connections(group) {
            let header = NotifyConsumerIdsChangedRequestHeader {
                consumer_group: group.to_string(),
                ..Default::default()
            };
            let request = RemotingCommand::request(request_code::NOTIFY_CONSUMER_IDS_CHANGED)
                .with_header(&header);
            tokio::spawn(async move {
                if let Err(e) = conn.invoke_oneway(request).await {
                    tracing::debug!(error = %e, "could not notify a consumer");
                }
            });
        }
    }

    async fn register_with_name_servers(&self) {
        let mut topics = self.topics.serialize_wrapper();
        // A broker that is not both readable and writable reports every topic with its own
        // permission masked by the broker's, as RocketMQ's `registerBrokerAll` does, so that
        // clients stop sending to (or pulling from) it.
        let permission = self.permission();
        if !is_writeable(permission) || !is_readable(permission) {
            for topic in topics.topic_config_table.values_mut() {
                topic.perm &= permission;
            }
        }
        let body = RegisterBrokerBody {
            topic_config_serialize_wrapper: topics,
            filter_server_list: Vec::new(),
        }
        .encode();
        let header = RegisterBrokerRequestHeader {
            broker_name: self.config.broker_name.clone(),
            broker_addr: self.broker_addr.clone(),
            cluster_name: self.config.broker_cluster_name.clone(),
            ha_server_addr: self.ha_server_addr.clone(),
            broker_id: self.config.broker_id,
            heartbeat_timeout_millis: Some(120_000),
            enable_acting_master: Some(false),
            compressed: false,
            body_crc32: body_crc(&body),
        };
        for addr in &self.config.namesrv_addr {
            let request = RemotingCommand::request(request_code::REGISTER_BROKER)
                .with_header(&header)
                .with_body(body.clone());
            match self
                .namesrv
                .invoke(addr, request, NAMESRV_CALL_TIMEOUT)
                .await
            {
                Ok(r) if r.code == response_code::SUCCESS => {
                    tracing::debug!(namesrv = %addr, "registered");
                    match r.decode_header::<RegisterBrokerResponseHeader>() {
                        Ok(answer) => crate::replica::on_registered(self, &answer),
                        Err(e) => {
                            tracing::debug!(namesrv = %addr, error = %e, "unreadable registration answer")
                        }
                    }
                }
                Ok(r) => {
                    tracing::warn!(namesrv = %addr, code = r.code, remark = ?r.remark, "name server refused registration")
                }
                Err(e) => {
                    tracing::warn!(namesrv = %addr, error = %e, "cannot register with name server")
                }
            }
        }
    }

    async fn unregister_from_name_servers(&self) {
        let header = UnRegisterBrokerRequestHeader {
            broker_name: self.config.broker_name.clone(),
            broker_addr: self.broker_addr.clone(),
            cluster_name: self.config.broker_cluster_name.clone(),
            broker_id: self.config.broker_id,
        };
        for addr in &self.config.namesrv_addr {
            let request =
                RemotingCommand::request(request_code::UNREGISTER_BROKER).with_header(&header);
            if let Err(e) = self
                .namesrv
                .invoke(addr, request, NAMESRV_CALL_TIMEOUT)
                .await
            {
                tracing::warn!(namesrv = %addr, error = %e, "cannot unregister from name server");
            }
        }
    }

    /// `brokerPermission` has the write bit: the broker takes sends.
    pub fn is_writable(&self) -> bool {
        is_writeable(self.permission())
    }

    /// `brokerPermission` has the read bit: the broker serves pulls.
    pub fn is_readable(&self) -> bool {
        is_readable(self.permission())
    }

    fn permission(&self) -> i32 {
        i32::try_from(self.live.get().broker_permission).unwrap_or(0)
    }

    /// The pieces of the broker transactions work on.
    pub fn transaction_context(&self) -> TransactionContext<'_> {
        TransactionContext {
            store: &self.store,
            store_host: self.store_host,
            service: &self.transactions,
            offsets: &self.offsets,
            clients: &self.clients,
            max_delay_level: self.schedule.max_level(),
            timeout_ms: i64::try_from(self.config.transaction_timeout_ms).unwrap_or(i64::MAX),
            check_max: i32::try_from(self.config.transaction_check_max).unwrap_or(i32::MAX),
        }
    }
}

struct Handler {
    inner: Arc<BrokerInner>,
}

impl RequestHandler for Handler {
    fn handle(&self, ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let started = std::time::Instant::now();
            let (code, oneway) = (request.code, request.is_oneway());
            let reply = crate::dispatch::dispatch(Arc::clone(&inner), ctx, request).await;
            inner.metrics.rpc.record(
                crate::metrics::rpc::RpcKey {
                    request_code: code,
                    // A oneway request has no response; RocketMQ labels it by its result.
                    response_code: reply.as_ref().map_or(-1, |r| r.command.code),
                    is_long_polling: matches!(
                        code,
                        request_code::PULL_MESSAGE
                            | request_code::LITE_PULL_MESSAGE
                            | request_code::POP_MESSAGE
                            | request_code::NOTIFICATION
                    ),
                    result: if oneway { "oneway" } else { "success" },
                },
                started.elapsed(),
            );
            reply
        })
    }

    fn on_connection_closed(&self, connection: &ConnectionHandle) {
        for group in self.inner.clients.on_connection_closed(connection) {
            tracing::info!(%group, remote = %connection.remote_addr(), "consumer left (connection closed)");
            self.inner.notify_consumer_ids_changed(&group);
        }
    }

    /// A pull held by long polling has nobody to answer once its connection is gone, and may
    /// stop at its one await (its piggy-backed offset is committed before it waits): the
    /// transport drops it then, so a closed connection leaves no pull waiting up to 20 s.
    fn cancel_on_close(&self, request: &RemotingCommand) -> bool {
        // A held POP has taken nothing yet (it takes and answers without an await between),
        // so dropping it loses no message.
        matches!(
            request.code,
            request_code::PULL_MESSAGE
                | request_code::LITE_PULL_MESSAGE
                | request_code::POP_MESSAGE
                | request_code::NOTIFICATION
        )
    }
}

/// A running broker.
pub struct Broker {
    inner: Arc<BrokerInner>,
    servers: Vec<RemotingServer>,
    /// Where `/metrics` is served, if it is.
    metrics_addr: Option<SocketAddr>,
    shutdown_tx: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// The IP the broker advertises to clients, name servers and controllers: `brokerIP1`, else
/// the bind address, else (listening on all interfaces) a routable local address.
pub fn advertised_ip(config: &BrokerConfig) -> Result<IpAddr, BrokerError> {
    Ok(match &config.broker_ip1 {
        Some(ip) => ip.parse().map_err(|_| BrokerError::Config {
            what: "brokerIP1",
            reason: format!("{ip:?} is not an IP address"),
        })?,
        None if config.bind_address.is_unspecified() => routable_local_ip(),
        None => config.bind_address,
    })
}

/// A local address other hosts can reach, for brokers listening on all interfaces.
fn routable_local_ip() -> IpAddr {
    // Connecting a UDP socket sends nothing; it only asks the kernel for a route.
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("10.255.255.255:1").map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, BrokerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| BrokerError::Bind { addr, source })
}

impl Broker {
    /// Starts a broker. The store is opened (and recovered) before the ports accept requests.
    pub async fn start(config: BrokerConfig) -> Result<Broker, BrokerError> {
        Self::start_with_hooks(config, None).await
    }

    /// [`Broker::start`] in controller mode: `hooks` supply the lease, the SyncStateSet and
    /// the epochs (see [`crate::controller_mode`]); `config`'s role and id are the ones the
    /// controllers assigned.
    pub async fn start_with_hooks(
        config: BrokerConfig,
        controller_hooks: Option<Arc<dyn crate::ControllerHooks>>,
    ) -> Result<Broker, BrokerError> {
        let listen = SocketAddr::new(config.bind_address, config.listen_port);
        let listener = bind(listen).await?;
        let local = listener.local_addr().map_err(|source| BrokerError::Bind {
            addr: listen,
            source,
        })?;
        // The "fast"/VIP port, listenPort - 2, as RocketMQ serves it (not with an ephemeral port).
        let fast_listener = match config.listen_port {
            0 => None,
            p => Some(bind(SocketAddr::new(config.bind_address, p.saturating_sub(2))).await?),
        };
        let advertised_ip = advertised_ip(&config)?;
        let store_host = SocketAddr::new(advertised_ip, local.port());

        let mut store_config = config.store.clone();
        store_config.store_path_root_dir = config.store_path_root_dir.clone();
        store_config.max_message_size_bytes = config.max_message_size_bytes;
        let delay_levels_ms = parse_message_delay_level(&config.message_delay_level)
            .map_err(BrokerError::DelayLevel)?;
        store_config.tag_code_hook = Arc::new(petrel_store::DeliveryTimeTagCode::new(
            delay_levels_ms.clone(),
        ));
        let store_path = store_config.store_path_root_dir.display().to_string();
        let store = tokio::task::spawn_blocking(move || MessageStore::open(store_config))
            .await
            .map_err(|e| BrokerError::Config {
                what: "store",
                reason: e.to_string(),
            })?
            .map_err(|source| BrokerError::Store {
                path: store_path,
                source,
            })?;
        let store = Arc::new(store);
        if let Some(hooks) = &controller_hooks {
            hooks
                .on_store_opened(&store)
                .map_err(|reason| BrokerError::Config {
                    what: "controller mode",
                    reason,
                })?;
        }

        let config_dir = config.store_path_root_dir.join("config");
        let timers = TimerService::open(
            &config.store_path_root_dir,
            config.timer_max_delay_seconds,
            &store,
        )
        .map_err(BrokerError::Timer)?;
        let schedule = ScheduleService::load(&config_dir, delay_levels_ms)
            .map_err(state_error("config/delayOffset.json"))?;
        let topics = TopicConfigManager::load(
            &config_dir,
            &config.broker_cluster_name,
            &config.broker_name,
            config.auto_create_topic_enable,
            config.default_topic_queue_nums,
        )
        .map_err(state_error("config/topics.json"))?;
        // RMQ_SYS_TRACE_TOPIC is always there (a system topic); traceTopicEnable also creates
        // a trace topic of another name.
        if config.trace_topic_enable {
            topics.ensure_system_topic(&config.msg_trace_topic_name);
        }
        let groups =
            SubscriptionGroupManager::load(&config_dir, config.auto_create_subscription_group)
                .map_err(state_error("config/subscriptionGroup.json"))?;
        let offsets = Arc::new(
            ConsumerOffsetManager::load(&config_dir)
                .map_err(state_error("config/consumerOffset.json"))?,
        );
        let pop = crate::pop::PopService::load(&config_dir)
            .map_err(state_error("config/popState.json"))?;
        let request_modes =
            crate::state::message_request_mode::MessageRequestModeManager::load(&config_dir)
                .map_err(state_error("config/messageRequestMode.json"))?;
        // A forced deletion (cleanFileForciblyEnable) counts what it removes unread against
        // the committed offsets.
        store.set_consumed_offsets(Arc::clone(&offsets) as _);
        let tls_error = |e: petrel_remoting::tls::TlsError| BrokerError::Config {
            what: "TLS",
            reason: e.to_string(),
        };
        let tls_server = config.tls.server().map_err(tls_error)?;
        let tls_client = config.tls.client().map_err(tls_error)?;
        let auth = AuthManager::load(&config_dir, &config.auth, &config.broker_cluster_name)
            .map_err(|reason| BrokerError::Config {
                what: "users and ACLs",
                reason,
            })?;

        let mut ha = config.ha.clone();
        ha.role = config.broker_role;
        let ha_ip = config
            .broker_ip2
            .clone()
            .unwrap_or_else(|| advertised_ip.to_string());
        let configured_ha_port = config.ha_listen_port.unwrap_or(match config.listen_port {
            0 => 0,
            p => p.saturating_add(1),
        });
        let (replication, ha_listener, ha_server_addr) = if ha.role.is_master() {
            let ha_listen = SocketAddr::new(config.bind_address, configured_ha_port);
            let listener = bind(ha_listen).await?;
            let port = listener
                .local_addr()
                .map_err(|source| BrokerError::Bind {
                    addr: ha_listen,
                    source,
                })?
                .port();
            (
                crate::replica::Replication::Master(petrel_replication::Master::new(
                    Arc::clone(&store),
                    ha,
                )),
                Some(listener),
                format!("{ha_ip}:{port}"),
            )
        } else {
            let client = petrel_replication::Slave::new(Arc::clone(&store), ha);
            (
                crate::replica::Replication::Slave(crate::replica::SlaveLink::new(
                    client,
                    config.ha_master_address.clone(),
                )),
                None,
                format!("{ha_ip}:{configured_ha_port}"),
            )
        };

        let inner = Arc::new(BrokerInner {
            controller_hooks,
            auth,
            replication,
            ha_server_addr,
            broker_addr: store_host.to_string(),
            store_host,
            store: Arc::clone(&store),
            topics,
            groups,
            offsets,
            clients: ClientRegistry::default(),
            locks: RebalanceLockManager::new(DEFAULT_LOCK_MAX_LIVE_MS),
            waiters: PullWaiters::new(MAX_SUSPENDED_PULLS),
            pop,
            request_modes,
            schedule,
            transactions: TransactionService::load(&store),
            timers: Arc::new(timers),
            stats: BrokerStats::default(),
            metrics: crate::metrics::BrokerMetrics::default(),
            started_ms: now_ms(),
            live: LiveConfig::new(config.clone(), now_ms()),
            register_now: Notify::new(),
            namesrv: RemotingClient::new(
                RemotingConfig {
                    tls_client,
                    ..RemotingConfig::default()
                },
                None,
            ),
            config,
        });
        let waiters_target = Arc::downgrade(&inner);
        store.add_arrival_listener(Arc::new(move |arrivals: &[Arrival]| {
            if let Some(inner) = waiters_target.upgrade() {
                inner.waiters.on_arrivals(arrivals);
                inner.pop.on_arrivals(arrivals);
                for a in arrivals
                    .iter()
                    .filter(|a| a.topic == petrel_protocol::topic::SCHEDULE_TOPIC)
                {
                    inner.schedule.notify(a.queue_id);
                }
            }
        }));

        let remoting = RemotingConfig {
            idle_timeout: Duration::from_secs(
                inner.config.client_channel_max_idle_time_seconds.max(1),
            ),
            max_frame_bytes: petrel_protocol::remoting::DEFAULT_MAX_FRAME_BYTES,
            max_connections: inner.config.max_connections,
            max_connections_per_client_ip: inner.config.max_connections_per_client_ip,
            descriptor_reserve: inner.config.connection_descriptor_reserve,
            frame_read_timeout: Duration::from_secs(inner.config.frame_read_timeout_seconds),
            max_large_frame_bytes_total: inner.config.max_large_frame_bytes_total,
            max_in_flight_total: inner.config.max_in_flight_requests_total,
            tls_server,
            ..RemotingConfig::default()
        };
        let handler: Arc<dyn RequestHandler> = Arc::new(Handler {
            inner: Arc::clone(&inner),
        });
        let bind_error = |source| BrokerError::Bind {
            addr: listen,
            source,
        };
        let mut servers =
            vec![
                RemotingServer::serve(listener, Arc::clone(&handler), remoting.clone())
                    .map_err(bind_error)?,
            ];
        if let Some(fast) = fast_listener {
            servers.push(RemotingServer::serve(fast, handler, remoting).map_err(bind_error)?);
        }

        // Register once before reporting the broker started, so that a client that starts
        // right after us finds routes (RocketMQ registers during start as well).
        inner.register_with_name_servers().await;

        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let mut tasks = vec![
            tokio::spawn(register_loop(Arc::clone(&inner), shutdown_rx.clone())),
            tokio::spawn(flush_offsets_loop(Arc::clone(&inner), shutdown_rx.clone())),
            tokio::spawn(scan_clients_loop(Arc::clone(&inner), shutdown_rx.clone())),
            tokio::spawn(crate::stats::run(Arc::clone(&inner), shutdown_rx.clone())),
        ];
        // Masters and slaves both serve /metrics.
        let metrics_addr = match crate::metrics::http::start(&inner, shutdown_rx.clone()).await? {
            Some((addr, task)) => {
                tasks.push(task);
                Some(addr)
            }
            None => None,
        };
        match &inner.replication {
            crate::replica::Replication::Master(master) => {
                let lag_of = Arc::clone(master);
                inner.metrics.set_replication_lag(Arc::new(move || {
                    lag_of
                        .status()
                        .ha_connection_info
                        .into_iter()
                        .map(|c| crate::metrics::ReplicaLag {
                            replica: c.addr,
                            lag_bytes: c.diff,
                        })
                        .collect()
                }));
                if let Some(listener) = ha_listener {
                    tracing::info!(ha = %inner.ha_server_addr, role = inner.config.broker_role.as_str(), "accepting slaves");
                    tasks.push(tokio::spawn(
                        Arc::clone(master).serve(listener, shutdown_rx.clone()),
                    ));
                }
            }
            crate::replica::Replication::Slave(link) => {
                tasks.push(tokio::spawn(
                    Arc::clone(&link.client).run(shutdown_rx.clone()),
                ));
                tasks.push(tokio::spawn(crate::replica::slave_sync_loop(
                    Arc::clone(&inner),
                    shutdown_rx.clone(),
                )));
                // A slave runs none of the services that write: its CommitLog is its master's.
                tracing::info!(broker = %inner.config.identity(), addr = %inner.broker_addr, "slave broker started");
                return Ok(Broker {
                    inner,
                    servers,
                    metrics_addr,
                    shutdown_tx,
                    tasks,
                });
            }
        }
        tasks.push(tokio::spawn(crate::pop::revive::run(
            Arc::clone(&inner),
            shutdown_rx.clone(),
        )));
        tasks.push(tokio::spawn(timer::run(
            Arc::clone(&inner.timers),
            Arc::clone(&inner.store),
            inner.store_host,
            shutdown_rx.clone(),
        )));
        tasks.push(tokio::spawn({
            let (inner, shutdown) = (Arc::clone(&inner), shutdown_rx.clone());
            async move {
                let interval =
                    Duration::from_millis(inner.config.transaction_check_interval_ms.max(100));
                transaction::run_checks(inner.transaction_context(), interval, shutdown).await
            }
        }));
        for level in 1..=inner.schedule.max_level() {
            let (inner, shutdown) = (Arc::clone(&inner), shutdown_rx.clone());
            tasks.push(tokio::spawn(async move {
                schedule::run_level(
                    &inner.schedule,
                    &inner.store,
                    inner.store_host,
                    level,
                    shutdown,
                )
                .await
            }));
        }
        tracing::info!(broker = %inner.config.identity(), addr = %inner.broker_addr, "broker started");
        Ok(Broker {
            inner,
            servers,
            metrics_addr,
            shutdown_tx,
            tasks,
        })
    }

    /// The address the main port is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.servers[0].local_addr()
    }

    /// Where Prometheus metrics are served (`http://{addr}/metrics`), if they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The address the fast port is bound to, if any.
    pub fn fast_addr(&self) -> Option<SocketAddr> {
        self.servers.get(1).map(RemotingServer::local_addr)
    }

    /// `ip:port` advertised to clients and name servers.
    pub fn advertised_addr(&self) -> &str {
        &self.inner.broker_addr
    }

    pub fn inner(&self) -> &Arc<BrokerInner> {
        &self.inner
    }

    /// Stops cleanly: stops accepting, unregisters from name servers, flushes consumer offsets
    /// and topic configs, and shuts the store down (flush, checkpoint).
    pub async fn shutdown(self) -> Result<(), BrokerError> {
        let _ = self.shutdown_tx.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.inner.unregister_from_name_servers().await;
        for server in &self.servers {
            server.shutdown().await;
        }
        self.inner.namesrv.close_all().await;
        if let Err(e) = self.inner.offsets.flush() {
            tracing::error!(error = %e, "could not save consumer offsets at shutdown");
        }
        if let Err(e) = self.inner.schedule.flush() {
            tracing::error!(error = %e, "could not save delay offsets at shutdown");
        }
        if let Err(e) = self.inner.pop.flush() {
            tracing::error!(error = %e, "could not save the POP state at shutdown");
        }
        self.inner.topics.flush();
        let store = Arc::clone(&self.inner.store);
        let path = self.inner.config.store_path_root_dir.display().to_string();
        tokio::task::spawn_blocking(move || store.shutdown())
            .await
            .map_err(|e| BrokerError::Config {
                what: "store",
                reason: e.to_string(),
            })?
            .map_err(|source| BrokerError::Store { path, source })?;
        tracing::info!("broker stopped");
        Ok(())
    }
}

async fn register_loop(inner: Arc<BrokerInner>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let period_ms = inner.live.get().register_name_server_period_ms;
        let period = Duration::from_millis(period_ms.clamp(1_000, 60_000));
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = inner.register_now.notified() => {}
            _ = shutdown.changed() => return,
        }
        inner.register_with_name_servers().await;
    }
}

async fn flush_offsets_loop(inner: Arc<BrokerInner>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let period_ms = inner.live.get().flush_consumer_offset_interval_ms;
        let period = Duration::from_millis(period_ms.max(100));
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
        let inner = Arc::clone(&inner);
        let _ = tokio::task::spawn_blocking(move || {
            if let Err(e) = inner.offsets.flush() {
                tracing::error!(error = %e, "could not save consumer offsets");
            }
            if let Err(e) = inner.schedule.flush() {
                tracing::error!(error = %e, "could not save delay offsets");
            }
            if let Err(e) = inner.pop.flush() {
                tracing::error!(error = %e, "could not save the POP state (config/popState.json)");
            }
        })
        .await;
    }
}

async fn scan_clients_loop(inner: Arc<BrokerInner>, mut shutdown: watch::Receiver<bool>) {
    let max_idle_ms = inner.config.client_channel_max_idle_time_seconds as i64 * 1000;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(CLIENT_SCAN_INTERVAL) => {}
            _ = shutdown.changed() => return,
        }
        for group in inner.clients.remove_idle(now_ms() - max_idle_ms) {
            tracing::info!(%group, "consumer removed after missing heartbeats");
            inner.notify_consumer_ids_changed(&group);
        }
    }
}
