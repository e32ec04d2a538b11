//! Broker configuration: RocketMQ `broker.conf` keys (a Java properties file), command-line
//! overrides, validation with the offending key named, and the mapping to the store's config.
//!
//! STUB: the field names below are relied on by the rest of the broker; the full parser,
//! every key's documentation and validation are being written.

use std::net::IpAddr;
use std::path::PathBuf;

use petrel_store::{FlushDiskType, StoreConfig};

#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `brokerClusterName` (DefaultCluster).
    pub broker_cluster_name: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `brokerId`: 0 = master.
    pub broker_id: i64,
    /// `namesrvAddr`: name servers, `;`-separated in the file.
    pub namesrv_addr: Vec<String>,
    /// `bindAddress`: interface to listen on (0.0.0.0).
    pub bind_address: IpAddr,
    /// `listenPort` (10911). The "fast" port is `listenPort - 2`.
    pub listen_port: u16,
    /// `brokerIP1`: the address advertised to clients (default: the listen address, or a
    /// routable local address when listening on 0.0.0.0).
    pub broker_ip1: Option<String>,
    /// `storePathRootDir`.
    pub store_path_root_dir: PathBuf,
    /// `autoCreateTopicEnable` (true).
    pub auto_create_topic_enable: bool,
    /// `defaultTopicQueueNums` (8).
    pub default_topic_queue_nums: i32,
    /// `autoCreateSubscriptionGroup` (true).
    pub auto_create_subscription_group: bool,
    /// `maxMessageSize` (4 MiB).
    pub max_message_size_bytes: usize,
    /// `longPollingEnable` (true).
    pub long_polling_enable: bool,
    /// `shortPollingTimeMills` (1000): suspension when long polling is off.
    pub short_polling_time_ms: u64,
    /// `registerNameServerPeriod` (30000).
    pub register_name_server_period_ms: u64,
    /// `flushConsumerOffsetInterval` (5000).
    pub flush_consumer_offset_interval_ms: u64,
    /// `maxTransferBytesOnMessageInMemory` (256 KiB): bytes per pull response.
    pub max_transfer_bytes_on_message_in_memory: usize,
    /// `maxTransferCountOnMessageInMemory` (32): messages per pull response.
    pub max_transfer_count_on_message_in_memory: usize,
    /// `clientChannelMaxIdleTimeSeconds` (120).
    pub client_channel_max_idle_time_seconds: u64,
    /// `enablePropertyFilter` (false).
    pub enable_property_filter: bool,
    /// The store's settings (`flushDiskType`, `mappedFileSizeCommitLog`, `fileReservedTime`, ...).
    pub store: StoreConfig,
}

impl BrokerConfig {
    /// Defaults, with the store under `store_path_root_dir`.
    pub fn new(store_path_root_dir: impl Into<PathBuf>) -> Self {
        let root = store_path_root_dir.into();
        Self {
            broker_cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
            namesrv_addr: Vec::new(),
            bind_address: "0.0.0.0".parse().unwrap(),
            listen_port: 10911,
            broker_ip1: None,
            store_path_root_dir: root.clone(),
            auto_create_topic_enable: true,
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
            enable_property_filter: false,
            store: {
                let mut s = StoreConfig::new(root);
                s.flush_disk_type = FlushDiskType::AsyncFlush;
                s
            },
        }
    }

    /// `brokerClusterName@brokerName`-style identity for logs.
    pub fn identity(&self) -> String {
        format!("{}@{}#{}", self.broker_cluster_name, self.broker_name, self.broker_id)
    }
}
