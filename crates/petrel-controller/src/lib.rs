//! Petrel's RocketMQ 5.x controller (controller mode, "AutoSwitch HA").
//!
//! What it owns: the metadata of every broker set in controller mode (broker ids and
//! addresses, the master, its epoch, the SyncStateSet and its epoch), replicated across a
//! group of controllers with raft (openraft), and the RocketMQ controller requests brokers and
//! admin tools send (codes 904, 1001-1006, 1009-1013): answered by the raft leader from
//! applied state; the leader's heartbeat table and its scan, which elect a new master when a
//! master stops heartbeating; NOTIFY_BROKER_ROLE_CHANGED to the brokers of a set whose master
//! changed.
//!
//! Shape: pure parts with exact unit tests — [`state`] (the replicated state machine and its
//! events), [`decide`] (request → event or refusal, and Apache's election policy),
//! [`liveness`] (the heartbeat table), [`config`] — under a thin runtime: [`raft`] (the durable
//! log store, the state machine, raft RPCs over petrel-remoting) and [`server`] with one file
//! per request family in `processor/`.
//!
//! What it must not do: touch a broker's store or files, or decide anything a broker decides
//! (when to shrink or grow the SyncStateSet is the master's call; the controller only checks
//! and records it).

#![deny(unsafe_code)] // allowed in raft/dir_lock.rs only (one flock call)

pub mod config;
pub mod decide;
pub mod error;
pub mod liveness;
mod processor;
pub mod raft;
pub mod server;
pub mod state;

pub use config::{parse_properties, ControllerConfig, Peer};
pub use error::{Refusal, StartError};
pub use server::Controller;
