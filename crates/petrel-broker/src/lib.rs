//! The broker: serves RocketMQ's remoting requests over `petrel-store`.
//!
//! What it owns: request processors (one file per request family under `processor/`, routed by
//! a dispatch table without logic), topic and subscription-group configs, consumer offsets,
//! the client registry (producers, consumers and their subscriptions), long polling, queue
//! locks for orderly consumption, and registration with name servers.
//! What it must not do: touch files other than through `petrel-store` and its own JSON config
//! files under `storePathRootDir/config`.

pub mod broker;
pub mod client_registry;
pub mod config;
pub mod consumer_offset;
mod dispatch;
pub mod filter;
pub mod long_polling;
pub mod message;
pub mod processor;
pub mod rebalance_lock;
pub mod response;
pub mod schedule;
pub mod subscription_group;
pub mod timer;
pub mod topic_config;
pub mod transaction;
pub mod util;

pub use broker::{Broker, BrokerError, BrokerInner};
pub use config::BrokerConfig;
