//! RocketMQ's classic master/slave replication (HA) protocol and its defaults
//! (`store/.../ha/DefaultHAConnection.java`, `DefaultHAClient.java`, `MessageStoreConfig.java`).
//!
//! It is raw TCP, not remoting frames. The slave sends 8-byte reports, its CommitLog's max
//! offset (int64, big-endian): once at connect (where the master starts), after each applied
//! batch, and as a heartbeat. The master sends frames of a 12-byte header, `physicOffset`
//! (int64, where the body starts in the CommitLog) and `bodySize` (int32), then `bodySize` raw
//! CommitLog bytes (records as on disk, which a frame may cut anywhere); a frame with
//! `bodySize` 0 is a heartbeat carrying the offset the next transfer starts from.

/// A slave's report: its CommitLog max offset (`DefaultHAClient.REPORT_HEADER_SIZE`).
pub const REPORT_HEADER_SIZE_BYTES: usize = 8;
/// A master frame's header: physicOffset + bodySize (`DefaultHAConnection.TRANSFER_HEADER_SIZE`).
pub const TRANSFER_HEADER_SIZE_BYTES: usize = 12;

/// `haSendHeartbeatInterval`: an idle side sends a heartbeat this often.
pub const DEFAULT_HA_SEND_HEARTBEAT_INTERVAL_MS: u64 = 5_000;
/// `haHousekeepingInterval`: a side that read nothing for this long closes the connection.
pub const DEFAULT_HA_HOUSEKEEPING_INTERVAL_MS: u64 = 20_000;
/// `haTransferBatchSize`: most body bytes in one master frame.
pub const DEFAULT_HA_TRANSFER_BATCH_SIZE_BYTES: usize = 32 * 1024;
/// `haSlaveFallbehindMax` (4.x): a slave further behind than this is not "OK" for SYNC_MASTER.
pub const DEFAULT_HA_SLAVE_FALLBEHIND_MAX_BYTES: u64 = 256 * 1024 * 1024;
/// `haMaxGapNotInSync` (5.x): a slave further behind than this is not in sync.
pub const DEFAULT_HA_MAX_GAP_NOT_IN_SYNC_BYTES: u64 = 256 * 1024;
/// `slaveTimeout`: how long a SYNC_MASTER send waits for a slave (then FLUSH_SLAVE_TIMEOUT).
pub const DEFAULT_SLAVE_TIMEOUT_MS: u64 = 3_000;
/// `inSyncReplicas` and `minInSyncReplicas` (5.x): replicas, the master counted, that must hold
/// a message before SEND_OK.
pub const DEFAULT_IN_SYNC_REPLICAS: u32 = 1;
/// `SubscriptionGroupConfig.whichBrokerWhenConsumeSlowly`: the broker id a master suggests to a
/// consumer that lags (with `slaveReadEnable`).
pub const DEFAULT_WHICH_BROKER_WHEN_CONSUME_SLOWLY: i64 = 1;
/// `accessMessageInMemoryMaxRatio`: a consumer more than this percentage of physical memory
/// behind the CommitLog's end reads from disk, and is suggested a slave.
pub const DEFAULT_ACCESS_MESSAGE_IN_MEMORY_MAX_RATIO_PERCENT: u64 = 40;

/// `BrokerRole` values (`store/.../config/BrokerRole.java`).
pub mod broker_role {
    pub const ASYNC_MASTER: &str = "ASYNC_MASTER";
    pub const SYNC_MASTER: &str = "SYNC_MASTER";
    pub const SLAVE: &str = "SLAVE";
}

/// A slave's 8-byte report of its CommitLog max offset.
pub fn encode_report(max_offset: u64) -> [u8; REPORT_HEADER_SIZE_BYTES] {
    (max_offset as i64).to_be_bytes()
}

/// The last complete report in `buf` (the master acts on the newest one only, as RocketMQ's
/// does) and how many bytes the complete reports took; `None` while no report is complete.
pub fn last_report(buf: &[u8]) -> Option<(i64, usize)> {
    let whole = buf.len() - buf.len() % REPORT_HEADER_SIZE_BYTES;
    if whole == 0 {
        return None;
    }
    let mut last = [0u8; REPORT_HEADER_SIZE_BYTES];
    last.copy_from_slice(&buf[whole - REPORT_HEADER_SIZE_BYTES..whole]);
    Some((i64::from_be_bytes(last), whole))
}

/// A master frame's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferHeader {
    /// CommitLog offset of the body's first byte (of the next transfer, for a heartbeat).
    pub physic_offset: i64,
    /// Body bytes that follow (0: heartbeat).
    pub body_size: i32,
}

impl TransferHeader {
    pub fn encode(&self) -> [u8; TRANSFER_HEADER_SIZE_BYTES] {
        let mut out = [0u8; TRANSFER_HEADER_SIZE_BYTES];
        out[..8].copy_from_slice(&self.physic_offset.to_be_bytes());
        out[8..].copy_from_slice(&self.body_size.to_be_bytes());
        out
    }

    /// Reads a header from the first 12 bytes of `buf`; `None` if they have not all arrived.
    pub fn decode(buf: &[u8]) -> Option<Self> {
        let head = buf.get(..TRANSFER_HEADER_SIZE_BYTES)?;
        let mut offset = [0u8; 8];
        offset.copy_from_slice(&head[..8]);
        let mut size = [0u8; 4];
        size.copy_from_slice(&head[8..]);
        Some(Self {
            physic_offset: i64::from_be_bytes(offset),
            body_size: i32::from_be_bytes(size),
        })
    }
}

/// Size of the slave's handshake in controller mode (`AutoSwitchHAClient.HANDSHAKE_HEADER_SIZE`).
pub const SLAVE_HANDSHAKE_SIZE_BYTES: usize = 16;
/// `HAConnectionState.HANDSHAKE`'s ordinal, the handshake's first field.
pub const HANDSHAKE_STATE: i32 = 1;

/// In controller mode a Petrel slave opens its HA connection with AutoSwitch's 16-byte
/// handshake, `state` (int32, 1) | `isSyncFromLastFile` (int16) | `isAsyncLearner` (int16) |
/// `slaveBrokerId` (int64), so that the master knows which replica each connection is (the
/// SyncStateSet is a set of broker ids); classic 8-byte reports follow. Petrel's dialect: the
/// rest is the classic protocol, not Apache's AutoSwitch frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaveHandshake {
    pub is_sync_from_last_file: bool,
    pub is_async_learner: bool,
    pub slave_broker_id: i64,
}

impl SlaveHandshake {
    pub fn encode(&self) -> [u8; SLAVE_HANDSHAKE_SIZE_BYTES] {
        let mut out = [0u8; SLAVE_HANDSHAKE_SIZE_BYTES];
        out[..4].copy_from_slice(&HANDSHAKE_STATE.to_be_bytes());
        out[4..6].copy_from_slice(&i16::from(self.is_sync_from_last_file).to_be_bytes());
        out[6..8].copy_from_slice(&i16::from(self.is_async_learner).to_be_bytes());
        out[8..].copy_from_slice(&self.slave_broker_id.to_be_bytes());
        out
    }

    /// Reads a handshake; `Err` names what is wrong with 16 bytes that are not one.
    pub fn decode(buf: &[u8; SLAVE_HANDSHAKE_SIZE_BYTES]) -> Result<Self, String> {
        let state = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        if state != HANDSHAKE_STATE {
            return Err(format!(
                "expected the handshake state {HANDSHAKE_STATE}, got {state} (a slave not in \
                 controller mode?)"
            ));
        }
        let flag = |at: usize| i16::from_be_bytes([buf[at], buf[at + 1]]) != 0;
        let mut id = [0u8; 8];
        id.copy_from_slice(&buf[8..]);
        let slave_broker_id = i64::from_be_bytes(id);
        if slave_broker_id < 1 {
            return Err(format!(
                "slave broker id {slave_broker_id} is not a replica id"
            ));
        }
        Ok(Self {
            is_sync_from_last_file: flag(4),
            is_async_learner: flag(6),
            slave_broker_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slave_handshake_round_trips_and_junk_is_refused() {
        let h = SlaveHandshake {
            is_sync_from_last_file: false,
            is_async_learner: true,
            slave_broker_id: 3,
        };
        let bytes = h.encode();
        assert_eq!(&bytes[..4], &[0, 0, 0, 1]);
        assert_eq!(SlaveHandshake::decode(&bytes), Ok(h));
        // A classic slave's first 8-byte report followed by another.
        let mut classic = [0u8; SLAVE_HANDSHAKE_SIZE_BYTES];
        classic[7] = 9;
        assert!(SlaveHandshake::decode(&classic).is_err());
        let zero_id = SlaveHandshake {
            slave_broker_id: 0,
            ..h
        };
        assert!(SlaveHandshake::decode(&zero_id.encode()).is_err());
    }

    #[test]
    fn a_report_is_eight_big_endian_bytes_and_the_last_whole_one_counts() {
        assert_eq!(encode_report(0x0102), [0, 0, 0, 0, 0, 0, 1, 2]);
        let mut buf = encode_report(10).to_vec();
        buf.extend_from_slice(&encode_report(20));
        buf.extend_from_slice(&[0, 0, 0]);
        assert_eq!(last_report(&buf), Some((20, 16)));
        assert_eq!(last_report(&buf[..7]), None);
    }

    #[test]
    fn a_transfer_header_round_trips() {
        let h = TransferHeader {
            physic_offset: 1 << 33,
            body_size: 32 * 1024,
        };
        let bytes = h.encode();
        assert_eq!(&bytes[..8], &(1i64 << 33).to_be_bytes());
        assert_eq!(TransferHeader::decode(&bytes), Some(h));
        assert_eq!(TransferHeader::decode(&bytes[..11]), None);
    }
}
