//! The broker: serves RocketMQ's remoting requests over `petrel-store`.
//!
//! What it owns: request processors (one file per request family under `processor/`, routed by
//! a dispatch table without logic), topic and subscription-group configs, consumer offsets,
//! the client registry (producers, consumers and their subscriptions), long polling, and
//! registration with name servers.
//! What it must not do: touch files other than through `petrel-store` and its own JSON config
//! files under `storePathRootDir/config`.

pub mod config;

pub use config::BrokerConfig;
