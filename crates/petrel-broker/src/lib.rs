//! The broker: serves RocketMQ's remoting requests over `petrel-store`.
//!
//! What it owns: request processors (`processor/`, one file per request family, routed by a
//! dispatch table without logic; the send path's shared steps `send_checks`, `destination` and
//! `send_build` beside them), the state managers (`state/`: topic and subscription-group
//! configs, consumer offsets, the client registry, queue locks), the features built on system
//! topics (`system_topic/`: delay levels, timers, transactions), POP consumption (`pop/`: in-flight
//! books, revive), long polling, and registration
//! with name servers, and the wiring of replication (`replica`: the role's service from
//! `petrel-replication`, the SYNC_MASTER wait, a slave's refusals and metadata copy).
//! Processors answer `Result<_, response::Refusal>`; `response` turns
//! refusals and store errors into RocketMQ response codes in one place.
//! What it must not do: touch files other than through `petrel-store` and its own JSON config
//! files under `storePathRootDir/config`; declare RocketMQ facts (names, bits, limits) that
//! `petrel-protocol` owns.

#![forbid(unsafe_code)]

mod access;
pub mod broker;
pub mod clock;
pub mod config;
pub mod config_file;
pub mod controller_mode;
mod dispatch;
pub mod filter;
pub mod long_polling;
pub mod message;
pub mod metrics;
pub mod pop;
pub mod processor;
pub mod replica;
pub mod response;
pub mod state;
pub mod stats;
pub mod system_topic;

pub use broker::{Broker, BrokerError, BrokerInner};
pub use config::BrokerConfig;
pub use controller_mode::ControllerHooks;
