//! Transport limits. Every one is a bound on memory, time or descriptors a peer can make us
//! spend; each says its unit, its default and why, and RocketMQ's key where RocketMQ has one.
//! The broker's `broker.conf` keys that set them are listed in `docs/reliability.md`.

use std::time::Duration;

use petrel_protocol::remoting::DEFAULT_MAX_FRAME_BYTES;

/// TCP keepalive probes, which find half-open connections (a peer that vanished without a FIN:
/// power loss, a dropped NAT entry) even while we have nothing to send them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpKeepalive {
    /// Silence before the first probe (`TCP_KEEPIDLE`).
    pub idle: Duration,
    /// Time between unanswered probes (`TCP_KEEPINTVL`).
    pub interval: Duration,
    /// Unanswered probes before the kernel resets the connection (`TCP_KEEPCNT`).
    pub probes: u32,
}

impl Default for TcpKeepalive {
    /// 60 s + 4 × 10 s: a vanished peer is noticed within 100 s, before the idle timeout.
    fn default() -> Self {
        TcpKeepalive {
            idle: Duration::from_secs(60),
            interval: Duration::from_secs(10),
            probes: 4,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RemotingConfig {
    /// Largest frame accepted, in bytes, length prefix included (RocketMQ's
    /// `com.rocketmq.remoting.frameMaxLength`, 16 MiB). A larger one closes the connection.
    pub max_frame_bytes: usize,
    /// Connections a server holds at once (Petrel's `maxConnections`, 10,000; RocketMQ has no
    /// limit). More are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Connections one client IP address may hold at once on a server (Petrel's
    /// `maxConnectionsPerClientIp`, 1,000; RocketMQ has no limit). A client instance opens one
    /// connection per broker and one to a name server, so 1,000 is many processes behind one
    /// address; more are closed as soon as they are accepted.
    pub max_connections_per_client_ip: usize,
    /// Descriptors the transport leaves to the rest of the process (the store's segment files
    /// and checkpoint, the name server, outgoing connections): a server closes an accepted
    /// connection whose descriptor number is within this many of the soft `RLIMIT_NOFILE`.
    /// Since Linux hands out the lowest free number, every socket a server keeps then has a
    /// number below `limit - reserve`, so at least `reserve` descriptors stay free for
    /// others. (Petrel's `connectionDescriptorReserve`, 256.)
    pub descriptor_reserve: usize,
    /// Requests one connection may have in processing at once (4,096); more are answered with
    /// SYSTEM_BUSY at once, never queued.
    pub max_in_flight_per_connection: usize,
    /// Requests a server may have in processing at once over all its connections (100,000:
    /// RocketMQ's `pullThreadPoolQueueCapacity`, as held long polls count); more are answered
    /// with SYSTEM_BUSY at once.
    pub max_in_flight_total: usize,
    /// Outgoing frames queued per connection before senders wait (4,096).
    pub write_queue_frames: usize,
    /// A connection with no traffic for this long is closed (`serverChannelMaxIdleTimeSeconds`,
    /// 120 s; clients heartbeat every 30 s).
    pub idle_timeout: Duration,
    /// Once the first byte of a frame has arrived, the whole frame must arrive within this
    /// time, or the connection is closed (Petrel's `frameReadTimeoutSeconds`, 30 s). This is
    /// what ends a slow-loris peer that keeps a connection busy by trickling a frame. A 16 MiB
    /// frame needs 560 KiB/s to make it; clients give up on a send after 3 s anyway.
    pub frame_read_timeout: Duration,
    /// Each connection's read buffer, in bytes (64 KiB). Frames up to this size are read into
    /// it at no cost to the budget below; the buffer is allocated again when a larger frame
    /// has been read, so a connection does not keep a large buffer after a large frame.
    pub read_buffer_bytes: usize,
    /// Bytes of frames larger than `read_buffer_bytes` that a server (or client) holds at once
    /// over all its connections, while they arrive and while their requests are processed
    /// (Petrel's `maxLargeFrameBytesTotal`, 128 MiB; at least `max_frame_bytes`). A buffer for
    /// such a frame grows as its bytes arrive, never on the word of its length prefix; a
    /// connection that needs more than is left waits (its peer's TCP window closes) until
    /// other frames are done, within `frame_read_timeout`.
    pub max_large_frame_bytes_total: usize,
    /// TCP keepalive on every connection (`None`: off).
    pub tcp_keepalive: Option<TcpKeepalive>,
    /// How long a client waits to connect.
    pub connect_timeout: Duration,
    /// A server's TLS (`tls.server.mode` and its certificate); `None`: plain TCP only.
    pub tls_server: Option<crate::tls::TlsServer>,
    /// A client's TLS: every outgoing connection starts a TLS handshake; `None`: plain TCP.
    pub tls_client: Option<crate::tls::TlsClient>,
}

impl Default for RemotingConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            max_connections: 10_000,
            max_connections_per_client_ip: 1_000,
            descriptor_reserve: 256,
            max_in_flight_per_connection: 4_096,
            max_in_flight_total: 100_000,
            write_queue_frames: 4_096,
            idle_timeout: Duration::from_secs(120),
            frame_read_timeout: Duration::from_secs(30),
            read_buffer_bytes: 64 * 1024,
            max_large_frame_bytes_total: 128 * 1024 * 1024,
            tcp_keepalive: Some(TcpKeepalive::default()),
            connect_timeout: Duration::from_secs(3),
            tls_server: None,
            tls_client: None,
        }
    }
}

impl RemotingConfig {
    /// The large-frame budget actually used: never below one largest frame, or such a frame
    /// could never be read.
    pub fn large_frame_budget_bytes(&self) -> usize {
        self.max_large_frame_bytes_total.max(self.max_frame_bytes)
    }
}
