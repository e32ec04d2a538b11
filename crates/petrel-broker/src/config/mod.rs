//! Broker configuration: RocketMQ `broker.conf` keys (a Java properties file), command-line
//! overrides, validation with the offending key named, and the mapping to the store's config.
//!
//! Flow: [`BrokerConfig::load`] reads the file ([`properties`], parsed as Java's
//! `Properties.load`), appends `--set key=value` overrides (later ones win), applies every key
//! over the defaults ([`BrokerConfig::apply_properties`]) and validates
//! ([`BrokerConfig::validate`]). Keys Petrel does not know, and RocketMQ keys it accepts
//! without acting on them, come back as warnings in [`ConfigLoad`], never as errors: real
//! `broker.conf` files carry many keys. A value that cannot work is an error that names the
//! key, the value and what was expected; a RocketMQ feature Petrel lacks (slaves, DLedger,
//! ACL) is an error that says so.
//!
//! Where Petrel is stricter than RocketMQ (which silently keeps the default when a value does
//! not parse): `listenPort=abc`, `autoCreateTopicEnable=yes` and `flushDiskType=sync` are
//! errors. Values are trimmed before conversion (Java trims only strings, so `listenPort=10911 `
//! with a trailing blank is silently ignored there). docs/configuration.md lists every key.

mod keys;
pub mod properties;
pub mod update;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use petrel_remoting::RemotingConfig;
use petrel_store::{FlushDiskType, StoreConfig};

pub use keys::KeyStatus;
pub use properties::PropertiesError;

use keys::{SetError, IGNORED, SUPPORTED};

/// RocketMQ's `messageDelayLevel` default: the delays of levels 1 to 18.
pub const DEFAULT_MESSAGE_DELAY_LEVEL: &str =
    "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// Longest broker or cluster name: RocketMQ creates a topic named after each (when
/// `brokerTopicEnable`/`clusterTopicEnable`), and topics are limited to 127 characters.
pub const NAME_MAX_LEN: usize = petrel_protocol::name::TOPIC_MAX_LENGTH;

/// `brokerRole`: ASYNC_MASTER, SYNC_MASTER or SLAVE (the replication crate's type).
pub use petrel_replication::Role as BrokerRole;

#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `brokerClusterName` (DefaultCluster).
    pub broker_cluster_name: String,
    /// `brokerName` (RocketMQ: the host name; Petrel: broker-a).
    pub broker_name: String,
    /// `brokerId`: 0 for a master, 1 and up for its slaves.
    pub broker_id: i64,
    /// `brokerRole` (ASYNC_MASTER).
    pub broker_role: BrokerRole,
    /// `namesrvAddr`: name servers as `host:port`, `;`-separated in the file (none).
    pub namesrv_addr: Vec<String>,
    /// `bindAddress`: interface to listen on (0.0.0.0).
    pub bind_address: IpAddr,
    /// `listenPort` (10911). The "fast" port is `listenPort - 2`.
    pub listen_port: u16,
    /// `brokerIP1`: the address advertised to clients (default: the listen address, or a
    /// routable local address when listening on 0.0.0.0).
    pub broker_ip1: Option<String>,
    /// `brokerIP2`: the address a master advertises for replication (`haServerAddr`);
    /// default: the address advertised to clients.
    pub broker_ip2: Option<String>,
    /// `haListenPort`: where a master accepts slaves (default `listenPort + 1`; an ephemeral
    /// port when `listenPort` is 0).
    pub ha_listen_port: Option<u16>,
    /// `haMasterAddress`: the master's HA address for a slave (otherwise learned from the
    /// name server's answer to registration).
    pub ha_master_address: Option<String>,
    /// Replication settings (`haSendHeartbeatInterval`, `slaveTimeout`, `inSyncReplicas`, ...);
    /// its `role` is set from `brokerRole` when the broker starts.
    pub ha: petrel_replication::HaConfig,
    /// Controller mode (`enableControllerMode`, AutoSwitch): the role comes from the
    /// controllers, not `brokerRole`/`brokerId`.
    pub controller: ControllerModeConfig,
    /// `slaveReadEnable` (false): a master suggests a slave to consumers that lag.
    pub slave_read_enable: bool,
    /// `accessMessageInMemoryMaxRatio` (40): percent of physical memory a consumer may lag
    /// before it is suggested a slave.
    pub access_message_in_memory_max_ratio: u64,
    /// `brokerPermission`: PermName bits, read 4 | write 2 (6). Without write the broker
    /// refuses sends, without read pulls, and it registers its topics with their permission
    /// masked by it. Changeable at run time (UPDATE_BROKER_CONFIG).
    pub broker_permission: u32,
    /// `storePathRootDir` (RocketMQ: `~/store`; Petrel: `--data-dir`).
    pub store_path_root_dir: PathBuf,
    /// `autoCreateTopicEnable` (true).
    pub auto_create_topic_enable: bool,
    /// `storeReplyMessageEnable` (true): request-reply replies are also stored in
    /// `{cluster}_REPLY_TOPIC`, besides being pushed to the requester.
    pub store_reply_message_enable: bool,
    /// `defaultTopicQueueNums` (8).
    pub default_topic_queue_nums: i32,
    /// `autoCreateSubscriptionGroup` (true).
    pub auto_create_subscription_group: bool,
    /// `maxMessageSize` (4 MiB). Also in `store.max_message_size_bytes`; the key sets both.
    pub max_message_size_bytes: usize,
    /// `longPollingEnable` (true).
    pub long_polling_enable: bool,
    /// `shortPollingTimeMills` (1000): suspension when long polling is off.
    pub short_polling_time_ms: u64,
    /// `registerNameServerPeriod` (30000): 10,000 to 60,000 ms.
    pub register_name_server_period_ms: u64,
    /// `flushConsumerOffsetInterval` (5000).
    pub flush_consumer_offset_interval_ms: u64,
    /// `maxTransferBytesOnMessageInMemory` (256 KiB): bytes per pull response.
    pub max_transfer_bytes_on_message_in_memory: usize,
    /// `maxTransferCountOnMessageInMemory` (32): messages per pull response.
    pub max_transfer_count_on_message_in_memory: usize,
    /// `clientChannelMaxIdleTimeSeconds` (120). Petrel's broker closes a client connection
    /// idle this long and drops clients that stop sending heartbeats for as long (RocketMQ
    /// splits this into `serverChannelMaxIdleTimeSeconds` and `channelExpiredTimeout`, both
    /// 120 s by default, and uses this `NettyClientConfig` key for its own outgoing
    /// connections).
    pub client_channel_max_idle_time_seconds: u64,
    /// Transport limits (Petrel's keys; RocketMQ has none of them). See
    /// `petrel_remoting::RemotingConfig` for what each bounds and why.
    /// `maxConnections` (10,000): connections the broker holds at once.
    pub max_connections: usize,
    /// `maxConnectionsPerClientIp` (1,000): connections one client address may hold.
    pub max_connections_per_client_ip: usize,
    /// `connectionDescriptorReserve` (256): descriptors kept free for the store and the name
    /// server; connections beyond `RLIMIT_NOFILE - reserve` are closed at once.
    pub connection_descriptor_reserve: usize,
    /// `frameReadTimeoutSeconds` (30): a frame must arrive whole this long after its first byte.
    pub frame_read_timeout_seconds: u64,
    /// `maxLargeFrameBytesTotal` (128 MiB): bytes of frames over 64 KiB held at once.
    pub max_large_frame_bytes_total: usize,
    /// `maxInFlightRequestsTotal` (100,000): requests in processing at once, over all
    /// connections; more are answered SYSTEM_BUSY.
    pub max_in_flight_requests_total: usize,
    /// `enablePropertyFilter` (false).
    pub enable_property_filter: bool,
    /// `messageDelayLevel`: the delay of each level, e.g. `"1s 5s 10s ... 2h"`; units s, m,
    /// h, d.
    pub message_delay_level: String,
    /// `timerMaxDelaySec` (259,200 = 3 days): the longest delay of a timer message.
    pub timer_max_delay_seconds: u64,
    /// `transactionTimeOut` (6000): a half message younger than this is not checked back.
    pub transaction_timeout_ms: u64,
    /// `transactionCheckMax` (15): check-backs before a half message is moved to
    /// `TRANS_CHECK_MAX_TIME_TOPIC`.
    pub transaction_check_max: u32,
    /// `transactionCheckInterval` (30,000; RocketMQ 4.x: 60,000).
    pub transaction_check_interval_ms: u64,
    /// `waitTimeMillsInSendQueue` (200): longest a send may wait to be served before the
    /// broker answers SYSTEM_BUSY. Parsed only.
    pub wait_time_mills_in_send_queue_ms: u64,
    /// The store's settings (`flushDiskType`, `mappedFileSizeCommitLog`, `fileReservedTime`, ...).
    pub store: StoreConfig,
    /// `metricsExporterType`: `None` when not set (RocketMQ's default, DISABLE, for `petrel
    /// broker`; `petrel serve` turns PROM on then).
    pub metrics_exporter_type: Option<MetricsExporterType>,
    /// `metricsPromExporterPort` (5557): where `/metrics` is served with PROM.
    pub metrics_prom_exporter_port: u16,
    /// `metricsPromExporterHost`: the address `/metrics` listens on; `None`: `brokerIP1`, else
    /// `bindAddress` (RocketMQ: `brokerIP1`).
    pub metrics_prom_exporter_host: Option<String>,
    /// Not a broker.conf key: set by `petrel serve` for its default endpoint, whose bind
    /// failure (another Petrel has the port) is a warning instead of an error.
    pub metrics_optional: bool,
    /// `grpcServerPort` (8081, the port of Apache's proxy): where the gRPC v2 MessagingService
    /// listens, on `bindAddress`; `None` when not set (then a taken default port is a warning,
    /// not an error). 0 = an ephemeral port. The service lives in `petrel-grpc`.
    pub grpc_server_port: Option<u16>,
    /// `traceTopicEnable` (false): create the trace topic at start.
    pub trace_topic_enable: bool,
    /// `msgTraceTopicName` (`RMQ_SYS_TRACE_TOPIC`): the topic created with `traceTopicEnable`.
    pub msg_trace_topic_name: String,
    /// Authentication and authorization (RocketMQ 5.3's `AuthConfig`, ACL 1.0's switch).
    pub auth: AuthSettings,
    /// TLS (Apache's `tls.*` system properties, here broker.conf keys).
    pub tls: TlsSettings,
}

/// The `tls.*` keys: the listening side (`tls.server.*`) and the broker's own outgoing
/// connections to name servers and, on a slave, its master (`tls.enable`, `tls.client.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub server: petrel_remoting::TlsServerSettings,
    /// `tls.enable` (false): outgoing connections use TLS.
    pub client_enable: bool,
    pub client: petrel_remoting::TlsClientSettings,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            server: petrel_remoting::TlsServerSettings {
                test_mode: true,
                ..Default::default()
            },
            client_enable: false,
            client: Default::default(),
        }
    }
}

impl TlsSettings {
    /// The listening side's TLS (`None`: disabled).
    pub fn server(
        &self,
    ) -> Result<Option<petrel_remoting::TlsServer>, petrel_remoting::tls::TlsError> {
        self.server.build()
    }

    /// The outgoing side's TLS (`None` unless `tls.enable`).
    pub fn client(
        &self,
    ) -> Result<Option<petrel_remoting::TlsClient>, petrel_remoting::tls::TlsError> {
        if !self.client_enable {
            return Ok(None);
        }
        self.client.build().map(Some)
    }
}

/// The keys of authentication and authorization (ACL 2.0), and ACL 1.0's `aclEnable`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthSettings {
    /// `authenticationEnabled` (false): every request must be signed by a known user.
    pub authentication_enabled: bool,
    /// `authorizationEnabled` (false): every request must be allowed by the user's ACL.
    pub authorization_enabled: bool,
    /// `initAuthenticationUser`: a JSON user (`{"username":..,"password":..}`) created at
    /// start as a super user if missing.
    pub init_authentication_user: Option<String>,
    /// `authenticationWhitelist`: request codes (comma-separated) not authenticated.
    pub authentication_whitelist: Vec<String>,
    /// `authorizationWhitelist`: request codes (comma-separated) not authorized.
    pub authorization_whitelist: Vec<String>,
    /// `aclEnable` (false): ACL 1.0. Its `plain_acl.yml` is converted into users and ACLs at
    /// start, and both checks are on.
    pub acl_enable: bool,
    /// `aclPlainFile` (Petrel's key; Apache's `-Drocketmq.acl.plain.file`): the ACL 1.0 file;
    /// default `$ROCKETMQ_HOME/conf/plain_acl.yml`.
    pub acl_plain_file: Option<PathBuf>,
    /// `innerClientAuthenticationCredentials`: JSON `{"accessKey":..,"secretKey":..}`; the
    /// broker signs its own calls to other brokers (a slave's metadata copy from its master)
    /// with it, and creates it as a super user at start if missing.
    pub inner_client_authentication_credentials: Option<String>,
}

impl AuthSettings {
    /// Whether requests are authenticated (`authenticationEnabled` or `aclEnable`).
    pub fn authenticating(&self) -> bool {
        self.authentication_enabled || self.acl_enable
    }

    /// Whether requests are authorized (`authorizationEnabled` or `aclEnable`).
    pub fn authorizing(&self) -> bool {
        self.authorization_enabled || self.acl_enable
    }
}

/// RocketMQ 5.x's `MetricsExporterType`. Petrel exports with PROM (a Prometheus `/metrics`
/// endpoint) only; OTLP_GRPC and LOG are refused as not supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsExporterType {
    Disable,
    Prom,
}

impl MetricsExporterType {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricsExporterType::Disable => "DISABLE",
            MetricsExporterType::Prom => "PROM",
        }
    }
}

/// `metricsPromExporterPort`'s default (RocketMQ's, and the legacy exporter's).
pub const DEFAULT_METRICS_PROM_EXPORTER_PORT: u16 = 5557;

/// `grpcServerPort`'s default (Apache's proxy's `grpcServerPort`).
pub const DEFAULT_GRPC_SERVER_PORT: u16 = 8081;

/// A loaded configuration and what the user should be warned about.
#[derive(Debug, Clone)]
pub struct ConfigLoad {
    pub config: BrokerConfig,
    /// Keys Petrel does not know (typos, or RocketMQ keys it does not list), in file order.
    pub unknown_keys: Vec<String>,
    /// Keys Petrel knows and accepts but does not act on, with the reason.
    pub ignored_keys: Vec<(String, &'static str)>,
    /// Keys set by changes saved at run time (`config/brokerUpdates.properties`, see
    /// [`update`]), which win over broker.conf.
    pub saved_updates: Vec<(String, String)>,
}

impl ConfigLoad {
    /// One line per warning, for the binary to print.
    pub fn warnings(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if !self.unknown_keys.is_empty() {
            lines.push(format!(
                "ignoring unsupported broker.conf keys: {}",
                self.unknown_keys.join(", ")
            ));
        }
        for (key, reason) in &self.ignored_keys {
            lines.push(format!(
                "broker.conf key {key} is accepted but not acted on: {reason}"
            ));
        }
        if let Some(line) = self.saved_updates_warning() {
            lines.push(line);
        }
        lines
    }

    /// The line that says which keys come from changes saved at run time, if any.
    pub fn saved_updates_warning(&self) -> Option<String> {
        if self.saved_updates.is_empty() {
            return None;
        }
        let keys: Vec<String> = self
            .saved_updates
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        Some(format!(
            "broker config changed at run time and saved in {}: {} (these win over broker.conf; \
             delete the file's lines to go back to it)",
            update::updates_path(&self.config.store_path_root_dir).display(),
            keys.join(", ")
        ))
    }
}

/// The keys of a properties list, sorted into what the user should hear about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyReport {
    pub unknown_keys: Vec<String>,
    pub ignored_keys: Vec<(String, &'static str)>,
}

/// Why a configuration was refused. Every variant about a value names its key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read broker config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("broker config {}: {source}", path.display())]
    Syntax {
        path: PathBuf,
        source: PropertiesError,
    },
    #[error("--set {arg:?}: expected key=value")]
    Override { arg: String },
    #[error("invalid broker config {key}={value:?}: expected {expected}")]
    InvalidValue {
        key: String,
        value: String,
        expected: String,
    },
    #[error("unsupported broker config {key}={value}: {reason}")]
    Unsupported {
        key: String,
        value: String,
        reason: &'static str,
    },
    #[error("invalid broker config {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl ConfigError {
    /// The key the error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::InvalidValue { key, .. } | Self::Unsupported { key, .. } => Some(key),
            Self::Invalid { key, .. } => Some(key),
            Self::Read { .. } | Self::Syntax { .. } | Self::Override { .. } => None,
        }
    }

    fn invalid(key: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key,
            reason: reason.into(),
        }
    }
}

impl From<petrel_store::ConfigError> for ConfigError {
    fn from(e: petrel_store::ConfigError) -> Self {
        Self::Invalid {
            key: e.key,
            reason: e.reason,
        }
    }
}

/// Every supported key and what Petrel does with it, in documentation order.
pub fn supported_keys() -> impl Iterator<Item = (&'static str, KeyStatus)> {
    SUPPORTED.iter().map(|k| (k.name, k.status))
}

/// RocketMQ keys Petrel accepts without acting on them, with the reason.
pub fn ignored_keys() -> impl Iterator<Item = (&'static str, &'static str)> {
    IGNORED.iter().copied()
}

/// `key=value` of one `--set` argument (split at the first `=`; the key is trimmed).
pub fn parse_override(arg: &str) -> Result<(String, String), ConfigError> {
    match arg.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(ConfigError::Override {
            arg: arg.to_string(),
        }),
    }
}

/// Why a `messageDelayLevel` value cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DelayLevelError {
    #[error("{0:?} does not end in s, m, h or d")]
    Unit(String),
    #[error("{0:?} is not a count followed by s, m, h or d")]
    Count(String),
    #[error("no delay level given")]
    Empty,
}

/// `messageDelayLevel` as milliseconds per level (level 1 first), as RocketMQ's
/// `ScheduleMessageService.parseDelayLevel` reads it: space-separated `<count><s|m|h|d>`.
pub fn parse_message_delay_level(levels: &str) -> Result<Vec<u64>, DelayLevelError> {
    let parsed: Vec<u64> = levels
        .split_whitespace()
        .map(|level| {
            const UNITS_MS: [(char, u64); 4] = [
                ('s', 1_000),
                ('m', 60_000),
                ('h', 3_600_000),
                ('d', 86_400_000),
            ];
            let (count, unit_ms) = UNITS_MS
                .iter()
                .find_map(|&(unit, ms)| level.strip_suffix(unit).map(|count| (count, ms)))
                .ok_or_else(|| DelayLevelError::Unit(level.to_string()))?;
            count
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(unit_ms))
                .ok_or_else(|| DelayLevelError::Count(level.to_string()))
        })
        .collect::<Result<_, _>>()?;
    if parsed.is_empty() {
        return Err(DelayLevelError::Empty);
    }
    Ok(parsed)
}

/// Java's `String.trim`: strips every char up to and including U+0020.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// RocketMQ's default `storePathRootDir`: `${user.home}/store`.
fn rocketmq_default_store_root() -> PathBuf {
    std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join("store"))
        .unwrap_or_else(|| PathBuf::from("store"))
}

impl BrokerConfig {
    /// Defaults, with the store under `store_path_root_dir`.
    pub fn new(store_path_root_dir: impl Into<PathBuf>) -> Self {
        let root = store_path_root_dir.into();
        Self {
            broker_cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
            broker_role: BrokerRole::AsyncMaster,
            namesrv_addr: Vec::new(),
            bind_address: IpAddr::from([0, 0, 0, 0]),
            listen_port: 10911,
            broker_ip1: None,
            broker_ip2: None,
            ha_listen_port: None,
            ha_master_address: None,
            ha: petrel_replication::HaConfig::default(),
            controller: ControllerModeConfig::default(),
            slave_read_enable: false,
            access_message_in_memory_max_ratio:
                petrel_protocol::ha::DEFAULT_ACCESS_MESSAGE_IN_MEMORY_MAX_RATIO_PERCENT,
            broker_permission: 6,
            store_path_root_dir: root.clone(),
            auto_create_topic_enable: true,
            store_reply_message_enable: true,
            default_topic_queue_nums: 8,
            auto_create_subscription_group: true,
            max_message_size_bytes: 4 * 1024 * 1024,
            long_polling_enable: true,
            short_polling_time_ms: 1000,
            register_name_server_period_ms: 30_000,
            flush_consumer_offset_interval_ms: 5_000,
            max_transfer_bytes_on_message_in_memory: 256 * 1024,
            max_transfer_count_on_message_in_memory: 32,
            client_channel_max_idle_time_seconds: 120,
            max_connections: RemotingConfig::default().max_connections,
            max_connections_per_client_ip: RemotingConfig::default().max_connections_per_client_ip,
            connection_descriptor_reserve: RemotingConfig::default().descriptor_reserve,
            frame_read_timeout_seconds: RemotingConfig::default().frame_read_timeout.as_secs(),
            max_large_frame_bytes_total: RemotingConfig::default().max_large_frame_bytes_total,
            max_in_flight_requests_total: RemotingConfig::default().max_in_flight_total,
            enable_property_filter: false,
            message_delay_level: DEFAULT_MESSAGE_DELAY_LEVEL.to_string(),
            timer_max_delay_seconds: 3 * 24 * 3600,
            transaction_timeout_ms: 6_000,
            transaction_check_max: 15,
            transaction_check_interval_ms: 30_000,
            wait_time_mills_in_send_queue_ms: 200,
            store: {
                let mut s = StoreConfig::new(root);
                s.flush_disk_type = FlushDiskType::AsyncFlush;
                s
            },
            metrics_exporter_type: None,
            metrics_prom_exporter_port: DEFAULT_METRICS_PROM_EXPORTER_PORT,
            metrics_prom_exporter_host: None,
            metrics_optional: false,
            grpc_server_port: None,
            trace_topic_enable: false,
            msg_trace_topic_name: petrel_protocol::topic::TRACE_TOPIC.to_string(),
            auth: AuthSettings::default(),
            tls: TlsSettings::default(),
        }
    }

    /// `brokerClusterName@brokerName`-style identity for logs.
    pub fn identity(&self) -> String {
        format!(
            "{}@{}#{}",
            self.broker_cluster_name, self.broker_name, self.broker_id
        )
    }

    /// Reads `file` (a RocketMQ `broker.conf`) if given, applies `overrides` (`key=value`, as
    /// `petrel serve --set` passes them; later ones win, and they win over the file) over the
    /// defaults, and validates. `storePathRootDir` defaults to `default_root` (`--data-dir`).
    pub fn load(
        file: Option<&Path>,
        overrides: &[String],
        default_root: &Path,
    ) -> Result<ConfigLoad, ConfigError> {
        let mut props = match file {
            None => Vec::new(),
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                properties::parse(&properties::decode(&bytes)).map_err(|source| {
                    ConfigError::Syntax {
                        path: path.to_path_buf(),
                        source,
                    }
                })?
            }
        };
        let mut set = Vec::with_capacity(overrides.len());
        for arg in overrides {
            set.push(parse_override(arg)?);
        }
        // Changes saved at run time live under storePathRootDir, which the file or --set may
        // name: find it first, then apply broker.conf, the saved changes, then --set.
        let root = {
            let mut probe = BrokerConfig::new(default_root);
            probe.apply_properties(&[props.as_slice(), set.as_slice()].concat())?;
            probe.store_path_root_dir
        };
        let saved_updates = update::load_updates(&root)?;
        props.extend(saved_updates.iter().cloned());
        props.extend(set);
        let mut config = BrokerConfig::new(default_root);
        let report = config.apply_properties(&props)?;
        config.validate()?;
        Ok(ConfigLoad {
            config,
            unknown_keys: report.unknown_keys,
            ignored_keys: report.ignored_keys,
            saved_updates,
        })
    }

    /// A validated config from `key`/`value` pairs over the defaults (later duplicates win);
    /// `storePathRootDir` defaults to RocketMQ's `~/store`.
    pub fn from_properties(props: &[(String, String)]) -> Result<ConfigLoad, ConfigError> {
        let mut config = BrokerConfig::new(rocketmq_default_store_root());
        let report = config.apply_properties(props)?;
        config.validate()?;
        Ok(ConfigLoad {
            config,
            unknown_keys: report.unknown_keys,
            ignored_keys: report.ignored_keys,
            saved_updates: Vec::new(),
        })
    }

    /// Applies `key`/`value` pairs to this config without validating the result. As with
    /// Java's `Properties`, a later duplicate of a key replaces the earlier value (so an
    /// override fixes a bad value in the file). Values are trimmed before conversion.
    pub fn apply_properties(
        &mut self,
        props: &[(String, String)],
    ) -> Result<KeyReport, ConfigError> {
        // Last value of each key, in order of first appearance.
        let mut order: Vec<&str> = Vec::new();
        let mut last: HashMap<&str, &str> = HashMap::new();
        for (key, value) in props {
            if last.insert(key, value).is_none() {
                order.push(key);
            }
        }

        let mut report = KeyReport::default();
        let mut store_path_commit_log = None;
        for key in order {
            let raw = last[key];
            let value = java_trim(raw);
            if let Some(spec) = SUPPORTED.iter().find(|k| k.name == key) {
                (spec.set)(self, value).map_err(|e| match e {
                    SetError::Expected(expected) => ConfigError::InvalidValue {
                        key: key.to_string(),
                        value: raw.to_string(),
                        expected,
                    },
                    SetError::Unsupported(reason) => ConfigError::Unsupported {
                        key: key.to_string(),
                        value: value.to_string(),
                        reason,
                    },
                })?;
                if let KeyStatus::ParsedOnly(reason) = spec.status {
                    report.ignored_keys.push((key.to_string(), reason));
                }
                if key == "storePathCommitLog" {
                    store_path_commit_log = Some(value);
                }
            } else if let Some((_, reason)) = IGNORED.iter().find(|(name, _)| *name == key) {
                report.ignored_keys.push((key.to_string(), reason));
            } else {
                report.unknown_keys.push(key.to_string());
            }
        }

        // Only after every key: storePathRootDir may come later than storePathCommitLog.
        if let Some(path) = store_path_commit_log {
            let expected = self.store_path_root_dir.join("commitlog");
            if Path::new(path) != expected {
                return Err(ConfigError::Unsupported {
                    key: "storePathCommitLog".to_string(),
                    value: path.to_string(),
                    reason: "a CommitLog outside storePathRootDir is not supported yet; \
                             remove the key or set it to storePathRootDir/commitlog",
                });
            }
        }
        Ok(report)
    }

    /// Every supported key with its current value in RocketMQ's text form, in documentation
    /// order (what GET_BROKER_CONFIG answers). Unset optional addresses are empty strings.
    /// [`BrokerConfig::from_properties`] of the result gives this config back.
    pub fn effective_properties(&self) -> Vec<(String, String)> {
        SUPPORTED
            .iter()
            .map(|k| (k.name.to_string(), (k.get)(self)))
            .collect()
    }

    /// Checks the values that cannot work, naming the offending key; then the store's.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_name("brokerClusterName", &self.broker_cluster_name)?;
        validate_name("brokerName", &self.broker_name)?;
        if self.controller.enable_controller_mode {
            if self.controller.controller_addr.is_empty() {
                return Err(ConfigError::invalid(
                    "controllerAddr",
                    "must name the controllers (host:port;host:port) when \
                     enableControllerMode=true",
                ));
            }
            for addr in &self.controller.controller_addr {
                validate_host_port(addr)
                    .map_err(|e| ConfigError::invalid("controllerAddr", e.to_string()))?;
            }
        }
        match self.broker_role {
            // In controller mode the controllers assign both (Apache's samples say
            // brokerId=-1, brokerRole=SLAVE).
            _ if self.controller.enable_controller_mode => {}
            BrokerRole::Slave if self.broker_id < 1 => {
                return Err(ConfigError::invalid(
                    "brokerId",
                    format!(
                        "must be 1 or more for brokerRole=SLAVE, not {} (0 is the master's id)",
                        self.broker_id
                    ),
                ))
            }
            BrokerRole::AsyncMaster | BrokerRole::SyncMaster if self.broker_id != 0 => {
                return Err(ConfigError::invalid(
                    "brokerId",
                    format!(
                        "must be 0 for a master (brokerRole={}), not {}; a slave needs \
                         brokerRole=SLAVE",
                        self.broker_role.as_str(),
                        self.broker_id
                    ),
                ))
            }
            _ => {}
        }
        if let Some(addr) = &self.ha_master_address {
            validate_host_port(addr)
                .map_err(|e| ConfigError::invalid("haMasterAddress", e.to_string()))?;
        }
        if self.ha.transfer_batch_size_bytes == 0 {
            return Err(ConfigError::invalid(
                "haTransferBatchSize",
                "must be positive",
            ));
        }
        if self.ha.in_sync_replicas == Some(0) {
            return Err(ConfigError::invalid("inSyncReplicas", "must be 1 or more"));
        }
        if !(1..=100).contains(&self.access_message_in_memory_max_ratio) {
            return Err(ConfigError::invalid(
                "accessMessageInMemoryMaxRatio",
                "must be a percentage from 1 to 100",
            ));
        }
        for addr in &self.namesrv_addr {
            validate_host_port(addr)
                .map_err(|e| ConfigError::invalid("namesrvAddr", e.to_string()))?;
        }
        if self.listen_port < 3 {
            return Err(ConfigError::invalid(
                "listenPort",
                format!(
                    "must be at least 3, not {}: the fast port is listenPort - 2",
                    self.listen_port
                ),
            ));
        }
        if let Some(ip) = &self.broker_ip1 {
            if ip.parse::<IpAddr>().is_err() {
                return Err(ConfigError::invalid(
                    "brokerIP1",
                    format!("{ip:?} is not an IP address (it goes into message ids)"),
                ));
            }
        }
        if let Some(ip) = &self.broker_ip2 {
            if ip.chars().any(char::is_whitespace) {
                return Err(ConfigError::invalid(
                    "brokerIP2",
                    format!("{ip:?} contains whitespace"),
                ));
            }
        }
        if self.broker_permission > 0xF {
            return Err(ConfigError::invalid(
                "brokerPermission",
                format!(
                    "must combine priority 8, read 4, write 2 and inherit 1 (0 to 15), not {}",
                    self.broker_permission
                ),
            ));
        }
        if !(1..=1024).contains(&self.default_topic_queue_nums) {
            return Err(ConfigError::invalid(
                "defaultTopicQueueNums",
                format!(
                    "must be from 1 to 1024, not {}",
                    self.default_topic_queue_nums
                ),
            ));
        }
        if self.max_message_size_bytes == 0 {
            return Err(ConfigError::invalid("maxMessageSize", "must be positive"));
        }
        if self.max_message_size_bytes != self.store.max_message_size_bytes {
            return Err(ConfigError::invalid(
                "maxMessageSize",
                format!(
                    "the broker's {} and the store's {} differ",
                    self.max_message_size_bytes, self.store.max_message_size_bytes
                ),
            ));
        }
        if !(10_000..=60_000).contains(&self.register_name_server_period_ms) {
            return Err(ConfigError::invalid(
                "registerNameServerPeriod",
                format!(
                    "must be from 10000 to 60000 ms, not {} (RocketMQ clamps it to that range)",
                    self.register_name_server_period_ms
                ),
            ));
        }
        for (key, value) in [
            (
                "maxTransferBytesOnMessageInMemory",
                self.max_transfer_bytes_on_message_in_memory as u64,
            ),
            (
                "maxTransferCountOnMessageInMemory",
                self.max_transfer_count_on_message_in_memory as u64,
            ),
            (
                "flushConsumerOffsetInterval",
                self.flush_consumer_offset_interval_ms,
            ),
            (
                "transactionCheckInterval",
                self.transaction_check_interval_ms,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(key, "must be positive"));
            }
        }
        parse_message_delay_level(&self.message_delay_level)
            .map_err(|e| ConfigError::invalid("messageDelayLevel", e.to_string()))?;
        if self.store_path_root_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                "storePathRootDir",
                "must not be empty",
            ));
        }
        if self.store_path_root_dir != self.store.store_path_root_dir {
            return Err(ConfigError::invalid(
                "storePathRootDir",
                format!(
                    "the broker's {} and the store's {} differ",
                    self.store_path_root_dir.display(),
                    self.store.store_path_root_dir.display()
                ),
            ));
        }
        self.store.validate()?;
        Ok(())
    }
}

/// Broker and cluster names become topic names in RocketMQ, so they follow the topic rules:
/// 1 to 127 characters from `a-z A-Z 0-9 _ % | -`.
fn validate_name(key: &'static str, name: &str) -> Result<(), ConfigError> {
    let valid_chars = name.chars().all(petrel_protocol::name::is_legal_char);
    if name.is_empty() || name.len() > NAME_MAX_LEN || !valid_chars {
        return Err(ConfigError::invalid(
            key,
            format!(
                "{name:?} must be 1 to {NAME_MAX_LEN} characters from a-z A-Z 0-9 _ % | - \
                 (RocketMQ makes a topic of it)"
            ),
        ));
    }
    Ok(())
}

/// A name server address that is not `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not host:port (expected e.g. 127.0.0.1:9876;192.168.0.1:9876)")]
pub struct HostPortError(String);

/// A name server address: `host:port` (IPv6 hosts may be bracketed).
fn validate_host_port(addr: &str) -> Result<(), HostPortError> {
    let ok = addr.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty() && !host.chars().any(char::is_whitespace) && port.parse::<u16>().is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(HostPortError(addr.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_levels_are_counts_with_a_unit() {
        assert_eq!(
            parse_message_delay_level("1s 2m 3h 1d"),
            Ok(vec![1_000, 120_000, 10_800_000, 86_400_000])
        );
        assert_eq!(
            parse_message_delay_level("1s 5x"),
            Err(DelayLevelError::Unit("5x".into()))
        );
        assert_eq!(
            parse_message_delay_level("1é"),
            Err(DelayLevelError::Unit("1é".into()))
        );
        assert_eq!(
            parse_message_delay_level("s"),
            Err(DelayLevelError::Count("s".into()))
        );
        assert_eq!(
            parse_message_delay_level("99999999999999999999d")
                .unwrap_err()
                .to_string(),
            "\"99999999999999999999d\" is not a count followed by s, m, h or d"
        );
        assert_eq!(parse_message_delay_level("  "), Err(DelayLevelError::Empty));
    }

    #[test]
    fn name_servers_are_host_and_port() {
        assert!(validate_host_port("127.0.0.1:9876").is_ok());
        assert!(validate_host_port("[::1]:9876").is_ok());
        assert_eq!(
            validate_host_port("localhost").unwrap_err().to_string(),
            "\"localhost\" is not host:port (expected e.g. 127.0.0.1:9876;192.168.0.1:9876)"
        );
    }
}

/// Controller mode's keys (`BrokerConfig`/`MessageStoreConfig` in RocketMQ 5.x). Periods are
/// shorter than Apache's defaults where failover time depends on them (documented in
/// docs/controller.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerModeConfig {
    /// `enableControllerMode`.
    pub enable_controller_mode: bool,
    /// `controllerAddr`: `;`-separated controller addresses (any of them; the leader is asked).
    pub controller_addr: Vec<String>,
    /// `allAckInSyncStateSet`: a SYNC send is acknowledged once every SyncStateSet member holds
    /// it (Apache's default false; its samples set true).
    pub all_ack_in_sync_state_set: bool,
    /// `haMaxTimeSlaveNotCatchup`: a replica behind for this long leaves the SyncStateSet.
    pub ha_max_time_slave_not_catchup_ms: u64,
    /// `controllerHeartBeatTimeoutMills`: the controller deems this broker dead after this long
    /// without a heartbeat; a master that cannot confirm its role for half of it stops
    /// acknowledging writes (its lease).
    pub controller_heart_beat_timeout_ms: u64,
    /// `brokerHeartbeatInterval`.
    pub broker_heartbeat_interval_ms: u64,
    /// `syncBrokerMetadataPeriod`: how often the role is confirmed with the controller
    /// (Apache 5 s; Petrel 1 s, the lease needs it).
    pub sync_broker_metadata_period_ms: u64,
    /// `checkSyncStateSetPeriod`: how often a master reviews its SyncStateSet (Apache 5 s;
    /// Petrel 1 s).
    pub check_sync_state_set_period_ms: u64,
    /// `brokerElectionPriority`: lower wins among equally caught-up replicas.
    pub broker_election_priority: i32,
}

impl Default for ControllerModeConfig {
    fn default() -> Self {
        Self {
            enable_controller_mode: false,
            controller_addr: Vec::new(),
            all_ack_in_sync_state_set: false,
            ha_max_time_slave_not_catchup_ms: 15_000,
            controller_heart_beat_timeout_ms: 10_000,
            broker_heartbeat_interval_ms: 1_000,
            sync_broker_metadata_period_ms: 1_000,
            check_sync_state_set_period_ms: 1_000,
            broker_election_priority: i32::MAX,
        }
    }
}
