//! The name server: where RocketMQ clients learn which brokers hold a topic.
//!
//! What it owns: the route tables (topics → queues per broker group, broker groups → member
//! addresses, clusters → broker groups), broker liveness (registrations, heartbeats, expiry
//! of silent brokers, removal when a broker's connection closes), the KV config (with
//! optional persistence to RocketMQ's `kvConfig.json`), and the name server request
//! processors.
//! What it must not do: talk to brokers or clients on its own initiative (it only answers),
//! touch any file but the KV config file, or keep state across restarts other than that
//! file (brokers re-register within 30 s). It does not own the transport (`petrel-remoting`)
//! or the wire codec (`petrel-protocol`).
//!
//! # Name server
//!
//! Brokers register with every name server every 30 s (`REGISTER_BROKER`, 103) sending
//! their topic table; producers and consumers ask for a topic's route every 30 s
//! (`GET_ROUTEINFO_BY_TOPIC`, 105). Name servers do not talk to each other: each holds a
//! full, independently rebuilt copy of the routes. The crate is split like openraft's engine
//! and runtime: [`RouteInfoManager`] (`route_info.rs`) is a plain struct with no I/O, async
//! or clock reads (time comes in as `now_ms`), tested by asserting the exact tables after
//! sequences of calls; the runtime (`server.rs`) holds it behind a `parking_lot::RwLock`
//! (reads dominate), runs the expiry scan every `scanNotActiveBrokerInterval` (5 s; a broker
//! expires after 120 s of silence, or its own `heartbeatTimeoutMillis`) and unregisters the
//! brokers of a connection when it closes. Requests go through `dispatch.rs` (code →
//! processor, no logic) to one file per request family under `processor/`; processors
//! return typed errors that `error.rs` maps to response codes in one place (bad or missing
//! header fields → SYSTEM_ERROR naming the field, as Java; unknown codes →
//! REQUEST_CODE_NOT_SUPPORTED). Routes go out in standard JSON to clients from 4.9.4 (version
//! 401) on or that send `acceptStandardJsonOnly=true`, and in fastjson's legacy form
//! (`"brokerAddrs":{0:"host:port"}`) to older ones. Behaviour follows RocketMQ 5.x's
//! `RouteInfoManager`, `DefaultRequestProcessor` and `ClientRequestProcessor`; differences:
//! the liveness clock is monotonic (a wall-clock step cannot expire every broker at once); a
//! refused registration changes nothing (Java half-applies it); a connection carrying
//! several brokers unregisters all of them on close (Java: the first found); the
//! `UPDATE_NAMESRV_CONFIG` changes are validated all-or-nothing and not persisted; the
//! controller, `GET_BROKER_MEMBER_GROUP` and `NOTIFY_MIN_BROKER_ID_CHANGE` are not
//! implemented; compressed registration bodies are refused (brokers must run with
//! `compressedRegister=false`, the default).
//!
//! Start and stop:
//!
//! ```no_run
//! # async fn run() -> Result<(), petrel_namesrv::NamesrvError> {
//! let server = petrel_namesrv::NameServer::start(petrel_namesrv::NamesrvConfig::default()).await?;
//! println!("listening on {}", server.local_addr());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

pub mod config;
mod dispatch;
mod error;
pub mod kv_config;
mod processor;
pub mod route_info;
mod server;
mod state;

pub use config::{ConfigError, NamesrvConfig, RuntimeSettings};
pub use error::NamesrvError;
pub use kv_config::KvConfig;
pub use route_info::{RouteInfoManager, RouteSettings};
pub use server::NameServer;
