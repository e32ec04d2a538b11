//! Replication settings, RocketMQ's keys with RocketMQ's defaults (`MessageStoreConfig`), as the
//! broker reads them from `broker.conf`.

use std::time::Duration;

use petrel_protocol::ha;

use crate::engine::sync_rule::SyncRule;

/// `brokerRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    AsyncMaster,
    SyncMaster,
    Slave,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AsyncMaster => ha::broker_role::ASYNC_MASTER,
            Self::SyncMaster => ha::broker_role::SYNC_MASTER,
            Self::Slave => ha::broker_role::SLAVE,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            ha::broker_role::ASYNC_MASTER => Some(Self::AsyncMaster),
            ha::broker_role::SYNC_MASTER => Some(Self::SyncMaster),
            ha::broker_role::SLAVE => Some(Self::Slave),
            _ => None,
        }
    }

    pub fn is_master(self) -> bool {
        self != Self::Slave
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaConfig {
    pub role: Role,
    /// `haSendHeartbeatInterval`.
    pub heartbeat_interval_ms: u64,
    /// `haHousekeepingInterval`: a connection that read nothing for this long is closed.
    pub housekeeping_interval_ms: u64,
    /// `haTransferBatchSize`.
    pub transfer_batch_size_bytes: usize,
    /// `haSlaveFallbehindMax`.
    pub slave_fallbehind_max_bytes: u64,
    /// `haMaxGapNotInSync`.
    pub max_gap_not_in_sync_bytes: u64,
    /// `slaveTimeout`: how long a SYNC_MASTER send waits for its slaves.
    pub slave_timeout_ms: u64,
    /// `inSyncReplicas`, when set: the 5.x rule instead of 4.9's.
    pub in_sync_replicas: Option<u32>,
    /// `minInSyncReplicas`.
    pub min_in_sync_replicas: u32,
    /// `enableAutoInSyncReplicas`.
    pub enable_auto_in_sync_replicas: bool,
    /// Controller mode (`enableControllerMode`): a slave opens each connection with the
    /// AutoSwitch handshake naming `broker_id`, and a master requires one, so that the
    /// SyncStateSet's broker ids map to connections.
    pub controller_mode: bool,
    /// This broker's id (a slave's, in controller mode: the one the controller assigned).
    pub broker_id: u64,
}

impl Default for HaConfig {
    fn default() -> Self {
        Self {
            role: Role::AsyncMaster,
            heartbeat_interval_ms: ha::DEFAULT_HA_SEND_HEARTBEAT_INTERVAL_MS,
            housekeeping_interval_ms: ha::DEFAULT_HA_HOUSEKEEPING_INTERVAL_MS,
            transfer_batch_size_bytes: ha::DEFAULT_HA_TRANSFER_BATCH_SIZE_BYTES,
            slave_fallbehind_max_bytes: ha::DEFAULT_HA_SLAVE_FALLBEHIND_MAX_BYTES,
            max_gap_not_in_sync_bytes: ha::DEFAULT_HA_MAX_GAP_NOT_IN_SYNC_BYTES,
            slave_timeout_ms: ha::DEFAULT_SLAVE_TIMEOUT_MS,
            in_sync_replicas: None,
            min_in_sync_replicas: ha::DEFAULT_IN_SYNC_REPLICAS,
            enable_auto_in_sync_replicas: false,
            controller_mode: false,
            broker_id: 0,
        }
    }
}

impl HaConfig {
    /// The rule a SYNC_MASTER applies: 4.9's unless `inSyncReplicas` was set.
    pub fn sync_rule(&self) -> SyncRule {
        match self.in_sync_replicas {
            None => SyncRule::OneSlave {
                fallbehind_max_bytes: self.slave_fallbehind_max_bytes,
            },
            Some(n) => SyncRule::Replicas {
                in_sync_replicas: n,
                min_in_sync_replicas: self.min_in_sync_replicas,
                auto: self.enable_auto_in_sync_replicas,
                max_gap_bytes: self.max_gap_not_in_sync_bytes,
            },
        }
    }

    pub(crate) fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_interval_ms.max(1))
    }

    pub(crate) fn housekeeping(&self) -> Duration {
        Duration::from_millis(self.housekeeping_interval_ms.max(1))
    }

    pub(crate) fn batch(&self) -> usize {
        self.transfer_batch_size_bytes
            .clamp(1, MAX_FRAME_BODY_BYTES)
    }
}

/// Largest frame body either side accepts (a master's `haTransferBatchSize` beyond it is
/// clamped; a peer's larger frame closes the connection).
pub const MAX_FRAME_BODY_BYTES: usize = 16 * 1024 * 1024;
