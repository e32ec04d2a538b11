//! The RocketMQ remoting transport on tokio.
//!
//! What it owns: TCP connections (and TLS over them, with Apache's disabled / permissive /
//! enforcing modes: [`tls`]), framing them with `petrel-protocol`'s codec, matching
//! responses to requests by `opaque`, running a [`RequestHandler`] for incoming requests, and
//! the limits that keep one peer from hurting the others: frame size, memory for frames still
//! arriving, connections in total, per client address and against the descriptor limit,
//! requests in flight per connection and per server, queued outgoing frames, idle time, the
//! time a frame may take to arrive (slow-loris), and TCP keepalive (half-open sockets). Every
//! limit is in [`RemotingConfig`], with its unit, default and reason.
//! What it must not do: interpret requests (that is the handler's job: the broker and name
//! server own the dispatch tables).
//!
//! Connections are symmetric: either side may send requests (the broker sends
//! NOTIFY_CONSUMER_IDS_CHANGED and CHECK_TRANSACTION_STATE to clients over the connection they
//! opened), so [`RemotingServer`] and [`RemotingClient`] share [`connection`].
//!
//! Bad input: a frame that cannot be decoded (oversized, truncated or garbage header) closes
//! that connection, as the Java broker does, because the byte stream can no longer be trusted;
//! other connections are not affected. Everything after the frame (unknown codes, bad header
//! fields) is answered with an error response by the handler.

#![forbid(unsafe_code)]

pub mod client;
pub mod config;
pub mod connection;
pub mod descriptors;
mod error;
pub mod handler;
mod read_buffer;
pub mod server;
pub mod tls;
mod write;

pub use client::RemotingClient;
pub use config::{RemotingConfig, TcpKeepalive};
pub use connection::ConnectionHandle;
pub use error::RemotingError;
pub use handler::{BoxFuture, Reply, RequestContext, RequestHandler};
pub use server::RemotingServer;
pub use tls::{ClientAuth, TlsClient, TlsClientSettings, TlsMode, TlsServer, TlsServerSettings};
