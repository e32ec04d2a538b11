//! A Petrel broker in RocketMQ 5.x controller mode (`enableControllerMode=true`, "AutoSwitch").
//!
//! The controllers (`petrel controller`, a Raft group) decide which replica of a broker name is
//! master; this crate is the broker's side of that conversation, RocketMQ's `ReplicasManager`:
//!
//! - **Identity** ([`identity`]): the broker id the controllers assigned, kept in
//!   `{storePathRootDir}/brokerIdentity` (GET_NEXT_BROKER_ID, then APPLY_BROKER_ID).
//! - **Role** ([`supervisor`]): register (1003), ask for an election when the set has no master
//!   (1002), then run the broker in the assigned role. A role change (a NOTIFY_BROKER_ROLE_CHANGED
//!   push, or the periodic GET_REPLICA_INFO) stops the broker and starts it again in the new
//!   role, on the same ports and store. Restarting costs a clean store close and open (well
//!   under a second) and keeps each role's start path the one that classic mode tests.
//! - **Epochs** ([`petrel_replication::epoch`]): a new master records `(epoch, CommitLog end)`
//!   before its ports open; a replica first asks its master for its epochs (1007), opens its
//!   store cut at the last offset they share, and takes the master's list.
//! - **SyncStateSet** ([`sync_state_set`]): the master reviews who is caught up and asks the
//!   controller to shrink or expand the set (1001); with `allAckInSyncStateSet` a SYNC send is
//!   acknowledged once every member holds it.
//! - **Lease**: a master that has not confirmed its role with the controllers for half of
//!   `controllerHeartBeatTimeoutMills` refuses writes, so an isolated old master stops
//!   acknowledging before the controllers can elect another.
//!
//! Heartbeats (904) go to the leader every `brokerHeartbeatInterval` for the supervisor's whole
//! life, from one connection: a killed broker's connection closes and the controller elects at
//! once.

pub mod client;
pub mod identity;
mod role;
pub mod supervisor;
pub mod sync_state_set;

pub use supervisor::{run, AutoSwitchError, BoxFuture, RoleObserver};
