//! Classic master/slave replication for Petrel, wire-compatible with RocketMQ's HA service
//! (`DefaultHAService`): a SLAVE copies its master's CommitLog byte for byte, and a SYNC_MASTER
//! acknowledges a send only once a slave holds it.
//!
//! What it owns: the HA connections (the master's listener and per-slave streams, the slave's
//! client), the acknowledged offsets and the SYNC_MASTER wait, the replication status.
//! What it must not do: know about topics, requests or the broker's state; touch files except
//! through [`petrel_store::MessageStore`]'s replication hooks (raw reads, validated appends).
//! The broker wires it in: it starts [`Master::serve`] or [`Slave::run`], calls
//! [`Master::wait_for_slaves`] in its send path and feeds the slave its master's address.
//!
//! Shape (openraft's): [`engine`] is pure decisions with exact tests; [`master`] and [`slave`]
//! are the thin tokio runtime that does the I/O.
//!
//! Invariants:
//! - A slave's CommitLog is a byte-identical prefix of its master's: bytes are appended only at
//!   the offset they came from, only as whole validated records, and a mismatch drops the
//!   connection instead of merging.
//! - Under SYNC_MASTER a send is SEND_OK only once the rule's slaves acknowledged its end
//!   offset; otherwise SLAVE_NOT_AVAILABLE, FLUSH_SLAVE_TIMEOUT (after `slaveTimeout`) or
//!   IN_SYNC_REPLICAS_NOT_ENOUGH. No wait is unbounded.
//! - A silent connection (stalled, half-open) is closed after `haHousekeepingInterval` and
//!   re-established.

mod clock;
pub mod config;
pub mod engine;
pub mod epoch;
pub mod master;
pub mod slave;

pub use config::{HaConfig, Role};
pub use master::{Master, ReplicaOutcome};
pub use slave::Slave;
