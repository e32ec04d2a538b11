//! The broker's state managers: what it remembers about topics, groups, offsets and clients.
//!
//! Each is a plain struct behind its own lock, shared by the request processors and the
//! periodic tasks through `BrokerInner`; none of them does network I/O or knows a request code.
//! The persistent ones (`topic_config`, `subscription_group`, `consumer_offset`) keep RocketMQ's
//! JSON files under `config/` (see `crate::config_file`), and `auth` its users and ACLs
//! (`authUsers.json`, `authAcls.json`); the others live in memory only
//! (`client_registry` is rebuilt from heartbeats, `rebalance_lock` from lock renewals).

pub mod auth;
pub mod client_registry;
pub mod consumer_offset;
pub mod message_request_mode;
pub mod rebalance_lock;
pub mod subscription_group;
pub mod topic_config;
