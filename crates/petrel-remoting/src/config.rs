//! Transport limits. Every one is a bound on memory or time a peer can make us spend.

use std::time::Duration;

use petrel_protocol::remoting::DEFAULT_MAX_FRAME_BYTES;

#[derive(Debug, Clone)]
pub struct RemotingConfig {
    /// Largest frame accepted (RocketMQ's `com.rocketmq.remoting.frameMaxLength`, 16 MiB).
    pub max_frame_bytes: usize,
    /// Connections a server accepts at once; more are refused by closing them.
    pub max_connections: usize,
    /// Requests one connection may have in processing at once; more get SYSTEM_BUSY.
    pub max_in_flight_per_connection: usize,
    /// Outgoing frames queued per connection before senders wait.
    pub write_queue_frames: usize,
    /// A connection with no traffic for this long is closed (`serverChannelMaxIdleTimeSeconds`,
    /// 120 s; clients heartbeat every 30 s).
    pub idle_timeout: Duration,
    /// How long a client waits to connect.
    pub connect_timeout: Duration,
}

impl Default for RemotingConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            max_connections: 10_000,
            max_in_flight_per_connection: 4_096,
            write_queue_frames: 4_096,
            idle_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(3),
        }
    }
}
