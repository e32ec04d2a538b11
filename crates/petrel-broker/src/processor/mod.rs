//! Request processors, one file per request family. `crate::dispatch` routes codes here.

pub mod admin_broker;
pub mod admin_group;
pub mod admin_stats;
pub mod admin_topic;
pub mod client;
pub mod end_transaction;
pub mod lock;
pub mod offset;
pub mod pull;
pub mod query;
pub mod reply;
pub mod reset_offset;
pub mod send;
pub mod send_back;
