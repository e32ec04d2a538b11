//! The gRPC v2 `MessagingService` of RocketMQ 5.x (`apache/rocketmq-apis`), served by the broker
//! itself: the official 5.x clients (Java `rocketmq-client-java`, Go, Python, C++, ...) talk to
//! Petrel without Apache's proxy process.
//!
//! What it owns: the generated protobuf types and service (`pb`, from the protos vendored under
//! `proto/` at rocketmq-apis v2.0.4 and compiled by `build.rs` with the pure-Rust `protox`, so no
//! `protoc` is needed), the server and its limits (`server`), and one file per RPC family:
//! `route` (QueryRoute), `client` (client settings, Telemetry, Heartbeat,
//! NotifyClientTermination), `send` (SendMessage), `consume` (QueryAssignment,
//! ReceiveMessage), `ack` (AckMessage, ChangeInvisibleDuration,
//! ForwardMessageToDeadLetterQueue), `offsets` (UpdateOffset, GetOffset, QueryOffset,
//! PullMessage), `message` (stored messages as v2 messages), `transaction` (EndTransaction; `orphaned`:
//! the broker's transaction check-back sent over Telemetry), and
//! `unsupported` (every other RPC: a clean v2 status). `status` maps broker refusals to v2 codes;
//! `incoming` accepts connections, TLS or plain text on one port as Apache's proxy does.
//! What it must not do: store anything on its own or bypass the broker's send path. A send is
//! built into the same `SendMessageRequestHeader` a remoting producer sends and goes through
//! `petrel_broker::processor::send::send_message`, so both protocols share topics, checks,
//! delay/timer/transaction handling and the store.

#![forbid(unsafe_code)]

pub mod pb {
    //! Generated from `proto/apache/rocketmq/v2/*.proto` (rocketmq-apis v2.0.4).
    #![allow(
        clippy::all,
        clippy::pedantic,
        clippy::unwrap_used,
        clippy::expect_used,
        missing_docs
    )]
    tonic::include_proto!("apache.rocketmq.v2");
}

mod ack;
mod auth;
mod client;
mod consume;
mod hash;
mod incoming;
mod message;
mod metadata;
mod offsets;
mod orphaned;
mod route;
mod send;
mod server;
mod service;
mod status;
mod transaction;
mod unsupported;

/// The well-known protobuf types the generated messages use (`Duration`, `Timestamp`).
pub use prost_types;
pub use server::{tls_like_the_proxy, GrpcConfig, GrpcError, GrpcServer};
