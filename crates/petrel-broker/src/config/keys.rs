//! The `broker.conf` keys Petrel knows: the supported ones (parsed into [`BrokerConfig`] and
//! written back by [`BrokerConfig::effective_properties`]) and RocketMQ keys Petrel accepts
//! without acting on them. Names, Java types (hence the accepted number ranges) and defaults
//! follow RocketMQ 5.3's `BrokerConfig`, `MessageStoreConfig`, `NettyServerConfig`,
//! `NettyClientConfig` and `AuthConfig`.
//!
//! One table drives parsing, the effective-config listing and the docs test, so a key cannot
//! be parsed without being listed, or listed without being parsed.

use std::path::PathBuf;

use petrel_store::FlushDiskType;

use super::{BrokerConfig, BrokerRole, MetricsExporterType};

/// What Petrel does with a supported key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Petrel acts on the value (the store today; the broker's keys as the broker lands).
    Used,
    /// Parsed, validated and kept in [`BrokerConfig`], but nothing acts on it yet; the reason
    /// is reported to the user when the key is set.
    ParsedOnly(&'static str),
}

/// Why a value could not be applied.
pub(super) enum SetError {
    /// Not a value of the key's type; says what was expected.
    Expected(String),
    /// A valid RocketMQ value for a feature Petrel does not have.
    Unsupported(&'static str),
}

pub(super) struct KeySpec {
    pub name: &'static str,
    pub status: KeyStatus,
    /// The value in RocketMQ's text form.
    pub get: fn(&BrokerConfig) -> String,
    /// Parses `value` (already trimmed) into the config.
    pub set: fn(&mut BrokerConfig, &str) -> Result<(), SetError>,
}

const JAVA_INT_MAX: i64 = i32::MAX as i64;

/// An integer in `min..=max` (the Java field's range, narrowed to what Petrel's field holds).
fn int(value: &str, min: i64, max: i64) -> Result<i64, SetError> {
    match value.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(SetError::Expected(format!(
            "a whole number from {min} to {max}"
        ))),
    }
}

/// `true` or `false`, any case. (Java's `Boolean.parseBoolean` turns anything else into
/// `false` silently; a typo here is an error instead.)
fn boolean(value: &str) -> Result<bool, SetError> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(SetError::Expected("true or false".to_string()))
    }
}

/// A `false`-only switch for a feature Petrel does not have.
fn must_be_false(value: &str, unsupported: &'static str) -> Result<(), SetError> {
    if boolean(value)? {
        Err(SetError::Unsupported(unsupported))
    } else {
        Ok(())
    }
}

/// A comma-separated list of request codes (`authenticationWhitelist`), trimmed.
fn code_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn path_text(p: &Option<PathBuf>) -> String {
    p.as_ref()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Encrypted private keys are not read; an empty password is fine.
fn no_key_password(value: &str) -> Result<(), SetError> {
    if value.is_empty() {
        Ok(())
    } else {
        Err(SetError::Unsupported(
            "encrypted private keys are not supported: decrypt the key (openssl pkcs8 -topk8 -nocrypt) and leave the password empty",
        ))
    }
}

fn optional(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

/// An integer key stored in `config.<path>` (any integer type): `min..=max` is checked here.
macro_rules! int_key {
    ($name:literal, $status:expr, $($field:ident).+, $min:expr, $max:expr) => {
        KeySpec {
            name: $name,
            status: $status,
            get: |c| c.$($field).+.to_string(),
            set: |c, v| {
                c.$($field).+ = int(v, $min, $max)? as _;
                Ok(())
            },
        }
    };
}

macro_rules! bool_key {
    ($name:literal, $status:expr, $($field:ident).+) => {
        KeySpec {
            name: $name,
            status: $status,
            get: |c| c.$($field).+.to_string(),
            set: |c, v| {
                c.$($field).+ = boolean(v)?;
                Ok(())
            },
        }
    };
}

use KeyStatus::Used;

/// Every supported key, grouped as in docs/configuration.md.
pub(super) static SUPPORTED: &[KeySpec] = &[
    // --- Identity & network ---
    KeySpec {
        name: "brokerClusterName",
        status: Used,
        get: |c| c.broker_cluster_name.clone(),
        set: |c, v| {
            c.broker_cluster_name = v.to_string();
            Ok(())
        },
    },
    KeySpec {
        name: "brokerName",
        status: Used,
        get: |c| c.broker_name.clone(),
        set: |c, v| {
            c.broker_name = v.to_string();
            Ok(())
        },
    },
    int_key!("brokerId", Used, broker_id, i64::MIN, i64::MAX),
    KeySpec {
        name: "brokerRole",
        status: Used,
        get: |c| c.broker_role.as_str().to_string(),
        set: |c, v| {
            c.broker_role = BrokerRole::parse(v).ok_or_else(|| {
                SetError::Expected("ASYNC_MASTER, SYNC_MASTER or SLAVE".to_string())
            })?;
            Ok(())
        },
    },
    KeySpec {
        name: "namesrvAddr",
        status: Used,
        get: |c| c.namesrv_addr.join(";"),
        set: |c, v| {
            c.namesrv_addr = v
                .split(';')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect();
            Ok(())
        },
    },
    int_key!("listenPort", Used, listen_port, 0, 65_535),
    KeySpec {
        name: "grpcServerPort",
        status: Used,
        get: |c| {
            c.grpc_server_port
                .unwrap_or(super::DEFAULT_GRPC_SERVER_PORT)
                .to_string()
        },
        set: |c, v| {
            c.grpc_server_port = Some(int(v, 0, 65_535)? as u16);
            Ok(())
        },
    },
    KeySpec {
        name: "bindAddress",
        status: Used,
        get: |c| c.bind_address.to_string(),
        set: |c, v| {
            c.bind_address = v.parse().map_err(|_| {
                SetError::Expected("an IP address such as 0.0.0.0 or ::".to_string())
            })?;
            Ok(())
        },
    },
    KeySpec {
        name: "brokerIP1",
        status: Used,
        get: |c| c.broker_ip1.clone().unwrap_or_default(),
        set: |c, v| {
            c.broker_ip1 = optional(v);
            Ok(())
        },
    },
    KeySpec {
        name: "brokerIP2",
        status: Used,
        get: |c| c.broker_ip2.clone().unwrap_or_default(),
        set: |c, v| {
            c.broker_ip2 = optional(v);
            Ok(())
        },
    },
    int_key!("brokerPermission", Used, broker_permission, 0, JAVA_INT_MAX),
    int_key!(
        "registerNameServerPeriod",
        Used,
        register_name_server_period_ms,
        0,
        JAVA_INT_MAX
    ),
    int_key!(
        "clientChannelMaxIdleTimeSeconds",
        Used,
        client_channel_max_idle_time_seconds,
        0,
        JAVA_INT_MAX
    ),
    int_key!("maxConnections", Used, max_connections, 1, JAVA_INT_MAX),
    int_key!(
        "maxConnectionsPerClientIp",
        Used,
        max_connections_per_client_ip,
        1,
        JAVA_INT_MAX
    ),
    int_key!(
        "connectionDescriptorReserve",
        Used,
        connection_descriptor_reserve,
        0,
        JAVA_INT_MAX
    ),
    int_key!(
        "frameReadTimeoutSeconds",
        Used,
        frame_read_timeout_seconds,
        1,
        JAVA_INT_MAX
    ),
    int_key!(
        "maxLargeFrameBytesTotal",
        Used,
        max_large_frame_bytes_total,
        petrel_protocol::remoting::DEFAULT_MAX_FRAME_BYTES as i64,
        i64::MAX
    ),
    int_key!(
        "maxInFlightRequestsTotal",
        Used,
        max_in_flight_requests_total,
        1,
        JAVA_INT_MAX
    ),
    KeySpec {
        name: "enableDLegerCommitLog",
        status: Used,
        get: |_| "false".to_string(),
        set: |_, v| {
            must_be_false(
                v,
                "DLedger (Raft) CommitLog replication is not supported yet",
            )
        },
    },
    bool_key!(
        "enableControllerMode",
        Used,
        controller.enable_controller_mode
    ),
    KeySpec {
        name: "controllerAddr",
        status: Used,
        get: |c| c.controller.controller_addr.join(";"),
        set: |c, v| {
            c.controller.controller_addr = v
                .split(';')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(String::from)
                .collect();
            Ok(())
        },
    },
    bool_key!(
        "allAckInSyncStateSet",
        Used,
        controller.all_ack_in_sync_state_set
    ),
    int_key!(
        "haMaxTimeSlaveNotCatchup",
        Used,
        controller.ha_max_time_slave_not_catchup_ms,
        1,
        JAVA_INT_MAX
    ),
    int_key!(
        "controllerHeartBeatTimeoutMills",
        Used,
        controller.controller_heart_beat_timeout_ms,
        100,
        JAVA_INT_MAX
    ),
    int_key!(
        "brokerHeartbeatInterval",
        Used,
        controller.broker_heartbeat_interval_ms,
        10,
        JAVA_INT_MAX
    ),
    int_key!(
        "syncBrokerMetadataPeriod",
        Used,
        controller.sync_broker_metadata_period_ms,
        10,
        JAVA_INT_MAX
    ),
    int_key!(
        "checkSyncStateSetPeriod",
        Used,
        controller.check_sync_state_set_period_ms,
        10,
        JAVA_INT_MAX
    ),
    int_key!(
        "brokerElectionPriority",
        Used,
        controller.broker_election_priority,
        i32::MIN as i64,
        i32::MAX as i64
    ),
    KeySpec {
        name: "aclEnable",
        status: Used,
        get: |c| c.auth.acl_enable.to_string(),
        set: |c, v| {
            c.auth.acl_enable = boolean(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "aclPlainFile",
        status: Used,
        get: |c| {
            c.auth
                .acl_plain_file
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
        },
        set: |c, v| {
            c.auth.acl_plain_file = optional(v).map(PathBuf::from);
            Ok(())
        },
    },
    KeySpec {
        name: "authenticationEnabled",
        status: Used,
        get: |c| c.auth.authentication_enabled.to_string(),
        set: |c, v| {
            c.auth.authentication_enabled = boolean(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "authorizationEnabled",
        status: Used,
        get: |c| c.auth.authorization_enabled.to_string(),
        set: |c, v| {
            c.auth.authorization_enabled = boolean(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "initAuthenticationUser",
        status: Used,
        get: |c| c.auth.init_authentication_user.clone().unwrap_or_default(),
        set: |c, v| {
            c.auth.init_authentication_user = optional(v);
            Ok(())
        },
    },
    KeySpec {
        name: "innerClientAuthenticationCredentials",
        status: Used,
        get: |c| {
            c.auth
                .inner_client_authentication_credentials
                .clone()
                .unwrap_or_default()
        },
        set: |c, v| {
            c.auth.inner_client_authentication_credentials = optional(v);
            Ok(())
        },
    },
    KeySpec {
        name: "authenticationWhitelist",
        status: Used,
        get: |c| c.auth.authentication_whitelist.join(","),
        set: |c, v| {
            c.auth.authentication_whitelist = code_list(v);
            Ok(())
        },
    },
    KeySpec {
        name: "authorizationWhitelist",
        status: Used,
        get: |c| c.auth.authorization_whitelist.join(","),
        set: |c, v| {
            c.auth.authorization_whitelist = code_list(v);
            Ok(())
        },
    },
    KeySpec {
        name: "tls.server.mode",
        status: Used,
        get: |c| c.tls.server.mode.as_str().to_string(),
        set: |c, v| {
            c.tls.server.mode = petrel_remoting::TlsMode::parse(v).ok_or_else(|| {
                SetError::Expected("disabled, permissive or enforcing".to_string())
            })?;
            Ok(())
        },
    },
    KeySpec {
        name: "tls.server.certPath",
        status: Used,
        get: |c| path_text(&c.tls.server.cert_path),
        set: |c, v| {
            c.tls.server.cert_path = optional(v).map(PathBuf::from);
            Ok(())
        },
    },
    KeySpec {
        name: "tls.server.keyPath",
        status: Used,
        get: |c| path_text(&c.tls.server.key_path),
        set: |c, v| {
            c.tls.server.key_path = optional(v).map(PathBuf::from);
            Ok(())
        },
    },
    KeySpec {
        name: "tls.server.keyPassword",
        status: Used,
        get: |_| String::new(),
        set: |_, v| no_key_password(v),
    },
    KeySpec {
        name: "tls.server.need.client.auth",
        status: Used,
        get: |c| c.tls.server.need_client_auth.as_str().to_string(),
        set: |c, v| {
            c.tls.server.need_client_auth = petrel_remoting::ClientAuth::parse(v)
                .ok_or_else(|| SetError::Expected("none, optional or require".to_string()))?;
            Ok(())
        },
    },
    KeySpec {
        name: "tls.server.trustCertPath",
        status: Used,
        get: |c| path_text(&c.tls.server.trust_cert_path),
        set: |c, v| {
            c.tls.server.trust_cert_path = optional(v).map(PathBuf::from);
            Ok(())
        },
    },
    KeySpec {
        name: "tls.test.mode.enable",
        status: Used,
        get: |c| c.tls.server.test_mode.to_string(),
        set: |c, v| {
            c.tls.server.test_mode = boolean(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "tls.enable",
        status: Used,
        get: |c| c.tls.client_enable.to_string(),
        set: |c, v| {
            c.tls.client_enable = boolean(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "tls.client.trustCertPath",
        status: Used,
        get: |c| path_text(&c.tls.client.trust_cert_path),
        set: |c, v| {
            c.tls.client.trust_cert_path = optional(v).map(PathBuf::from);
            Ok(())
        },
    },
    KeySpec {
        name: "tls.client.certPath",
        status: Used,
        get: |c| path_text(&c.tls.client.cert_path),
        set: |c, v| {
            c.tls.client.cert_path = optional(v).map(PathBuf::from);
            Ok(())
        },
    },
    KeySpec {
        name: "tls.client.keyPath",
        status: Used,
        get: |c| path_text(&c.tls.client.key_path),
        set: |c, v| {
            c.tls.client.key_path = optional(v).map(PathBuf::from);
            Ok(())
        },
    },
    KeySpec {
        name: "tls.client.keyPassword",
        status: Used,
        get: |_| String::new(),
        set: |_, v| no_key_password(v),
    },
    // --- Storage ---
    KeySpec {
        name: "storePathRootDir",
        status: Used,
        get: |c| c.store_path_root_dir.to_string_lossy().into_owned(),
        set: |c, v| {
            if v.is_empty() {
                return Err(SetError::Expected("a directory path".to_string()));
            }
            c.store_path_root_dir = PathBuf::from(v);
            c.store.store_path_root_dir = PathBuf::from(v);
            Ok(())
        },
    },
    KeySpec {
        // Checked against storePathRootDir once every key is applied (see apply_properties).
        name: "storePathCommitLog",
        status: Used,
        get: |c| {
            c.store_path_root_dir
                .join("commitlog")
                .to_string_lossy()
                .into_owned()
        },
        set: |_, v| {
            if v.is_empty() {
                return Err(SetError::Expected("a directory path".to_string()));
            }
            Ok(())
        },
    },
    int_key!(
        "mappedFileSizeCommitLog",
        Used,
        store.mapped_file_size_commit_log,
        0,
        JAVA_INT_MAX
    ),
    int_key!(
        "mappedFileSizeConsumeQueue",
        Used,
        store.mapped_file_size_consume_queue,
        0,
        JAVA_INT_MAX
    ),
    bool_key!("messageIndexEnable", Used, store.message_index_enable),
    int_key!(
        "maxHashSlotNum",
        Used,
        store.max_hash_slot_num,
        0,
        JAVA_INT_MAX
    ),
    int_key!("maxIndexNum", Used, store.max_index_num, 0, JAVA_INT_MAX),
    bool_key!("warmMapedFileEnable", Used, store.warm_mapped_file_enable),
    // --- Flush ---
    KeySpec {
        name: "flushDiskType",
        status: Used,
        get: |c| {
            match c.store.flush_disk_type {
                FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
                FlushDiskType::SyncFlush => "SYNC_FLUSH",
            }
            .to_string()
        },
        set: |c, v| {
            c.store.flush_disk_type = match v {
                "ASYNC_FLUSH" => FlushDiskType::AsyncFlush,
                "SYNC_FLUSH" => FlushDiskType::SyncFlush,
                _ => return Err(SetError::Expected("ASYNC_FLUSH or SYNC_FLUSH".to_string())),
            };
            Ok(())
        },
    },
    int_key!(
        "flushIntervalCommitLog",
        Used,
        store.flush_interval_commit_log_ms,
        0,
        JAVA_INT_MAX
    ),
    int_key!(
        "flushCommitLogLeastPages",
        Used,
        store.flush_commit_log_least_pages,
        0,
        JAVA_INT_MAX
    ),
    int_key!(
        "flushCommitLogThoroughInterval",
        Used,
        store.flush_commit_log_thorough_interval_ms,
        0,
        JAVA_INT_MAX
    ),
    int_key!(
        "flushIntervalConsumeQueue",
        Used,
        store.flush_interval_consume_queue_ms,
        0,
        JAVA_INT_MAX
    ),
    int_key!(
        "syncFlushTimeout",
        Used,
        store.sync_flush_timeout_ms,
        0,
        JAVA_INT_MAX
    ),
    // --- Retention ---
    int_key!(
        "fileReservedTime",
        Used,
        store.file_reserved_time_hours,
        0,
        JAVA_INT_MAX
    ),
    KeySpec {
        name: "deleteWhen",
        status: Used,
        get: |c| c.store.delete_when.clone(),
        set: |c, v| {
            c.store.delete_when = v.to_string();
            Ok(())
        },
    },
    int_key!(
        "diskMaxUsedSpaceRatio",
        Used,
        store.disk_max_used_space_ratio,
        0,
        JAVA_INT_MAX
    ),
    int_key!(
        "diskSpaceCleanForciblyRatio",
        Used,
        store.disk_space_clean_forcibly_ratio,
        0,
        JAVA_INT_MAX
    ),
    bool_key!(
        "cleanFileForciblyEnable",
        Used,
        store.clean_file_forcibly_enable
    ),
    int_key!(
        "diskSpaceWarningLevelRatio",
        Used,
        store.disk_space_warning_level_ratio,
        0,
        JAVA_INT_MAX
    ),
    int_key!(
        "cleanResourceInterval",
        Used,
        store.clean_resource_interval_ms,
        0,
        JAVA_INT_MAX
    ),
    // --- Topics & subscription groups ---
    bool_key!("autoCreateTopicEnable", Used, auto_create_topic_enable),
    bool_key!("storeReplyMessageEnable", Used, store_reply_message_enable),
    int_key!(
        "defaultTopicQueueNums",
        Used,
        default_topic_queue_nums,
        i32::MIN as i64,
        JAVA_INT_MAX
    ),
    bool_key!(
        "autoCreateSubscriptionGroup",
        Used,
        auto_create_subscription_group
    ),
    // --- Consumption & long polling ---
    bool_key!("longPollingEnable", Used, long_polling_enable),
    int_key!(
        "shortPollingTimeMills",
        Used,
        short_polling_time_ms,
        0,
        i64::MAX
    ),
    int_key!(
        "maxTransferBytesOnMessageInMemory",
        Used,
        max_transfer_bytes_on_message_in_memory,
        0,
        JAVA_INT_MAX
    ),
    int_key!(
        "maxTransferCountOnMessageInMemory",
        Used,
        max_transfer_count_on_message_in_memory,
        0,
        JAVA_INT_MAX
    ),
    int_key!(
        "flushConsumerOffsetInterval",
        Used,
        flush_consumer_offset_interval_ms,
        0,
        JAVA_INT_MAX
    ),
    bool_key!("enablePropertyFilter", Used, enable_property_filter),
    // --- Transactions & delayed messages ---
    KeySpec {
        name: "messageDelayLevel",
        status: Used,
        get: |c| c.message_delay_level.clone(),
        set: |c, v| {
            c.message_delay_level = v.to_string();
            Ok(())
        },
    },
    int_key!(
        "timerMaxDelaySec",
        Used,
        timer_max_delay_seconds,
        0,
        JAVA_INT_MAX
    ),
    int_key!(
        "transactionTimeOut",
        Used,
        transaction_timeout_ms,
        0,
        i64::MAX
    ),
    int_key!(
        "transactionCheckMax",
        Used,
        transaction_check_max,
        0,
        JAVA_INT_MAX
    ),
    int_key!(
        "transactionCheckInterval",
        Used,
        transaction_check_interval_ms,
        0,
        i64::MAX
    ),
    // --- Limits ---
    KeySpec {
        name: "maxMessageSize",
        status: Used,
        get: |c| c.max_message_size_bytes.to_string(),
        set: |c, v| {
            let n = int(v, 0, JAVA_INT_MAX)? as usize;
            c.max_message_size_bytes = n;
            c.store.max_message_size_bytes = n;
            Ok(())
        },
    },
    int_key!(
        "waitTimeMillsInSendQueue",
        KeyStatus::ParsedOnly("parsed; the broker does not shed queued sends yet"),
        wait_time_mills_in_send_queue_ms,
        0,
        i64::MAX
    ),
    // --- Replication ---
    KeySpec {
        name: "haListenPort",
        status: Used,
        get: |c| {
            c.ha_listen_port
                .map(|p| p.to_string())
                .unwrap_or_else(|| c.listen_port.saturating_add(1).to_string())
        },
        set: |c, v| {
            c.ha_listen_port = match int(v, -1, 65_535)? {
                n if n <= 0 => None,
                n => Some(n as u16),
            };
            Ok(())
        },
    },
    KeySpec {
        name: "haMasterAddress",
        status: Used,
        get: |c| c.ha_master_address.clone().unwrap_or_default(),
        set: |c, v| {
            c.ha_master_address = optional(v);
            Ok(())
        },
    },
    int_key!(
        "haSendHeartbeatInterval",
        Used,
        ha.heartbeat_interval_ms,
        1,
        JAVA_INT_MAX
    ),
    int_key!(
        "haHousekeepingInterval",
        Used,
        ha.housekeeping_interval_ms,
        1,
        JAVA_INT_MAX
    ),
    int_key!(
        "haTransferBatchSize",
        Used,
        ha.transfer_batch_size_bytes,
        1,
        JAVA_INT_MAX
    ),
    int_key!(
        "haSlaveFallbehindMax",
        Used,
        ha.slave_fallbehind_max_bytes,
        0,
        JAVA_INT_MAX
    ),
    int_key!(
        "haMaxGapNotInSync",
        Used,
        ha.max_gap_not_in_sync_bytes,
        0,
        i64::MAX
    ),
    int_key!("slaveTimeout", Used, ha.slave_timeout_ms, 1, JAVA_INT_MAX),
    KeySpec {
        name: "inSyncReplicas",
        status: Used,
        get: |c| {
            c.ha.in_sync_replicas
                .unwrap_or(petrel_protocol::ha::DEFAULT_IN_SYNC_REPLICAS)
                .to_string()
        },
        set: |c, v| {
            c.ha.in_sync_replicas = Some(int(v, 1, JAVA_INT_MAX)? as u32);
            Ok(())
        },
    },
    int_key!(
        "minInSyncReplicas",
        Used,
        ha.min_in_sync_replicas,
        1,
        JAVA_INT_MAX
    ),
    bool_key!(
        "enableAutoInSyncReplicas",
        Used,
        ha.enable_auto_in_sync_replicas
    ),
    bool_key!("slaveReadEnable", Used, slave_read_enable),
    int_key!(
        "accessMessageInMemoryMaxRatio",
        Used,
        access_message_in_memory_max_ratio,
        0,
        100
    ),
    // --- Observability ---
    KeySpec {
        name: "metricsExporterType",
        status: Used,
        get: |c| {
            c.metrics_exporter_type
                .unwrap_or(MetricsExporterType::Disable)
                .as_str()
                .to_string()
        },
        set: |c, v| {
            c.metrics_exporter_type =
                Some(match v {
                    "DISABLE" | "0" => MetricsExporterType::Disable,
                    "PROM" | "2" => MetricsExporterType::Prom,
                    "OTLP_GRPC" | "1" | "LOG" | "3" => return Err(SetError::Unsupported(
                        "Petrel exports metrics with PROM (a Prometheus /metrics endpoint) only",
                    )),
                    _ => {
                        return Err(SetError::Expected(
                            "DISABLE, OTLP_GRPC, PROM or LOG".to_string(),
                        ))
                    }
                });
            Ok(())
        },
    },
    int_key!(
        "metricsPromExporterPort",
        Used,
        metrics_prom_exporter_port,
        0,
        65_535
    ),
    KeySpec {
        name: "metricsPromExporterHost",
        status: Used,
        get: |c| c.metrics_prom_exporter_host.clone().unwrap_or_default(),
        set: |c, v| {
            c.metrics_prom_exporter_host = optional(v);
            Ok(())
        },
    },
    bool_key!("traceTopicEnable", Used, trace_topic_enable),
    KeySpec {
        name: "msgTraceTopicName",
        status: Used,
        get: |c| c.msg_trace_topic_name.clone(),
        set: |c, v| {
            if v.is_empty() {
                return Err(SetError::Expected("a topic name".to_string()));
            }
            c.msg_trace_topic_name = v.to_string();
            Ok(())
        },
    },
];

const THREADS: &str =
    "Petrel serves requests on a tokio runtime; there are no per-request thread pools to size";
const NETTY: &str = "a Netty setting; Petrel's transport is tokio";
const REPLICATION: &str =
    "5.x replica-group and acting-master settings; Petrel replicates classically (brokerRole)";
const DLEDGER: &str = "used only with enableDLegerCommitLog=true, which is not supported";
const CONTROLLER: &str = "not used by Petrel's controller mode";
const METRICS: &str =
    "Petrel exports metrics with PROM only, with fixed labels and cumulative counters";
const WRITE_BUFFER: &str =
    "Petrel writes records straight into the mapped CommitLog; there is no separate write buffer";
const LAZY_DELETE: &str =
    "Petrel deletes expired files at once; a pull still sending from one keeps its mapping alive";
const DISK_LIMITS: &str = "Petrel applies the *OnMessageInMemory limits to every pull";
const QUEUES: &str = "a wait limit of a Java thread-pool queue; Petrel has no such queues";
const ACL: &str = "Petrel has one authentication and one authorization provider (RocketMQ's defaults), with users and ACLs in storePathRootDir/config";

/// RocketMQ keys Petrel accepts and does not act on, with the reason reported to the user.
pub(super) static IGNORED: &[(&str, &str)] = &[
    // Thread pools and their queues.
    ("sendMessageThreadPoolNums", THREADS),
    ("putMessageFutureThreadPoolNums", THREADS),
    ("pullMessageThreadPoolNums", THREADS),
    ("litePullMessageThreadPoolNums", THREADS),
    ("ackMessageThreadPoolNums", THREADS),
    ("processReplyMessageThreadPoolNums", THREADS),
    ("queryMessageThreadPoolNums", THREADS),
    ("adminBrokerThreadPoolNums", THREADS),
    ("clientManageThreadPoolNums", THREADS),
    ("consumerManageThreadPoolNums", THREADS),
    ("loadBalanceProcessorThreadPoolNums", THREADS),
    ("heartbeatThreadPoolNums", THREADS),
    ("recoverThreadPoolNums", THREADS),
    ("endTransactionThreadPoolNums", THREADS),
    ("sendThreadPoolQueueCapacity", THREADS),
    ("putThreadPoolQueueCapacity", THREADS),
    ("pullThreadPoolQueueCapacity", THREADS),
    ("litePullThreadPoolQueueCapacity", THREADS),
    ("ackThreadPoolQueueCapacity", THREADS),
    ("replyThreadPoolQueueCapacity", THREADS),
    ("queryThreadPoolQueueCapacity", THREADS),
    ("clientManagerThreadPoolQueueCapacity", THREADS),
    ("consumerManagerThreadPoolQueueCapacity", THREADS),
    ("heartbeatThreadPoolQueueCapacity", THREADS),
    ("endTransactionPoolQueueCapacity", THREADS),
    ("adminBrokerThreadPoolQueueCapacity", THREADS),
    ("loadBalanceThreadPoolQueueCapacity", THREADS),
    ("brokerFastFailureEnable", QUEUES),
    ("waitTimeMillsInPullQueue", QUEUES),
    ("waitTimeMillsInLitePullQueue", QUEUES),
    ("waitTimeMillsInHeartbeatQueue", QUEUES),
    ("waitTimeMillsInTransactionQueue", QUEUES),
    ("waitTimeMillsInAckQueue", QUEUES),
    // Netty.
    ("serverWorkerThreads", NETTY),
    ("serverCallbackExecutorThreads", NETTY),
    ("serverSelectorThreads", NETTY),
    ("serverOnewaySemaphoreValue", NETTY),
    ("serverAsyncSemaphoreValue", NETTY),
    ("serverSocketSndBufSize", NETTY),
    ("serverSocketRcvBufSize", NETTY),
    ("serverSocketBacklog", NETTY),
    ("writeBufferHighWaterMark", NETTY),
    ("writeBufferLowWaterMark", NETTY),
    ("serverPooledByteBufAllocatorEnable", NETTY),
    ("serverNettyWorkerGroupEnable", NETTY),
    ("useEpollNativeSelector", NETTY),
    ("clientWorkerThreads", NETTY),
    ("clientCallbackExecutorThreads", NETTY),
    ("clientOnewaySemaphoreValue", NETTY),
    ("clientAsyncSemaphoreValue", NETTY),
    ("clientSocketSndBufSize", NETTY),
    ("clientSocketRcvBufSize", NETTY),
    ("clientPooledByteBufAllocatorEnable", NETTY),
    (
        "serverChannelMaxIdleTimeSeconds",
        "Petrel's broker uses clientChannelMaxIdleTimeSeconds for idle client connections",
    ),
    (
        "channelExpiredTimeout",
        "Petrel's broker uses clientChannelMaxIdleTimeSeconds to expire silent clients",
    ),
    // Replication, DLedger, controller.
    (
        "totalReplicas",
        "Petrel counts the slaves connected to the master (inSyncReplicas decides)",
    ),
    ("enableSlaveActingMaster", REPLICATION),
    ("brokerNotActiveTimeoutMillis", REPLICATION),
    ("sendHeartbeatTimeoutMillis", REPLICATION),
    ("syncBrokerMemberGroupPeriod", REPLICATION),
    ("dLegerGroup", DLEDGER),
    ("dLegerPeers", DLEDGER),
    ("dLegerSelfId", DLEDGER),
    ("storePathDLedgerCommitLog", DLEDGER),
    ("preferredLeaderId", DLEDGER),
    ("fetchControllerAddrByDnsLookup", CONTROLLER),
    ("syncControllerMetadataPeriod", CONTROLLER),
    // Store internals Petrel does differently.
    ("transientStorePoolEnable", WRITE_BUFFER),
    ("transientStorePoolSize", WRITE_BUFFER),
    ("commitIntervalCommitLog", WRITE_BUFFER),
    ("commitCommitLogLeastPages", WRITE_BUFFER),
    ("commitCommitLogThoroughInterval", WRITE_BUFFER),
    (
        "useReentrantLockWhenPutMessage",
        "Petrel's put-message lock is always a mutex",
    ),
    (
        "flushLeastPagesWhenWarmMapedFile",
        "Petrel pre-faults segments with MADV_POPULATE_WRITE and does not flush while warming",
    ),
    (
        "flushConsumeQueueLeastPages",
        "Petrel flushes every dirty ConsumeQueue page each flushIntervalConsumeQueue",
    ),
    (
        "flushConsumeQueueThoroughInterval",
        "Petrel flushes every dirty ConsumeQueue page each flushIntervalConsumeQueue",
    ),
    ("deleteCommitLogFilesInterval", LAZY_DELETE),
    ("deleteConsumeQueueFilesInterval", LAZY_DELETE),
    ("destroyMapedFileIntervalForcibly", LAZY_DELETE),
    ("redeleteHangedFileInterval", LAZY_DELETE),
    (
        "checkCRCOnRecover",
        "Petrel always verifies body CRCs during recovery",
    ),
    ("maxTransferBytesOnMessageInDisk", DISK_LIMITS),
    ("maxTransferCountOnMessageInDisk", DISK_LIMITS),
    (
        "osPageCacheBusyTimeOutMills",
        "Petrel does not time out waiting for the put-message lock",
    ),
    // Broker features not implemented.
    (
        "rocketmqHome",
        "Petrel does not use ROCKETMQ_HOME; pass --config and --data-dir",
    ),
    (
        "fetchNamesrvAddrByAddressServer",
        "address-server lookup is not supported; set namesrvAddr",
    ),
    (
        "fetchNameSrvAddrByDnsLookup",
        "DNS lookup of name servers is not supported; set namesrvAddr",
    ),
    (
        "isolateLogEnable",
        "Petrel logs through tracing to standard error",
    ),
    ("accountStatsEnable", METRICS),
    ("enableDetailStat", METRICS),
    ("metricsGrpcExporterTarget", METRICS),
    ("metricsGrpcExporterHeader", METRICS),
    ("metricGrpcExporterTimeOutInMills", METRICS),
    ("metricGrpcExporterIntervalInMills", METRICS),
    ("metricLoggingExporterIntervalInMills", METRICS),
    ("metricsLabel", METRICS),
    ("metricsInDelta", METRICS),
    ("authenticationProvider", ACL),
    ("authenticationMetadataProvider", ACL),
    ("authorizationProvider", ACL),
    ("authorizationMetadataProvider", ACL),
];
