//! The broker: serves RocketMQ's remoting requests over `petrel-store`.
//!
//! What it owns: request processors (one file per request family under `processor/`, routed by
//! a dispatch table without logic), topic and subscription-group configs, consumer offsets,
//! the client registry (producers, consumers and their subscriptions), long polling, queue
//! locks for orderly consumption, and registration with name servers.
//! What it must not do: touch files other than through `petrel-store` and its own JSON config
//! files under `storePathRootDir/config`.

pub mod broker;
pub mod clock;
pub mod config;
pub mod config_file;
mod dispatch;
pub mod filter;
pub mod long_polling;
pub mod message;
pub mod processor;
pub mod response;
pub mod state;
pub mod stats;
pub mod system_topic;

pub use broker::{Broker, BrokerError, BrokerInner};
pub use config::BrokerConfig;
