//! The replication engine: plain structs and functions, no I/O, no clock reads (time is passed
//! in), each tested exactly. The runtime (`master.rs`, `slave.rs`) feeds it what arrives and does
//! what it decides.
//!
//! - [`sync_rule`]: may a SYNC_MASTER send wait for slaves, and when is it acknowledged;
//! - [`receiver`]: a slave's frame assembler (offset continuity, whole records only);
//! - [`feeder`]: where a master starts streaming to a slave that reported its offset;
//! - [`rate`]: bytes per second for the status report.

pub mod feeder;
pub mod rate;
pub mod receiver;
pub mod sync_rule;
