//! Request processors, one file per request family. `crate::dispatch` routes codes here.
//!
//! Each processor returns `Result<_, Refusal>` (`crate::response`), so its checks chain with
//! `?`. The send path's shared steps have files of their own, used by `send`, `reply` and
//! `send_back` alike, so that processors never import each other: `send_checks` (RocketMQ's
//! `msgCheck`), `consume_checks` (the read path's: pull, POP, acks), `destination` (pure: where a message is stored, and the one dead-letter rule)
//! and `send_build` (pure: the records a send becomes).

pub mod admin_auth;
pub mod admin_broker;
pub mod admin_group;
pub mod admin_stats;
pub mod admin_store;
pub mod admin_topic;
pub mod assignment;
pub mod client;
pub mod consume_checks;
pub mod consumer_call;
pub mod destination;
pub mod end_transaction;
pub mod lock;
pub mod offset;
pub mod pop;
pub mod pop_ack;
pub mod pull;
pub mod query;
pub mod query_consume_queue;
pub mod replication;
pub mod reply;
pub mod reset_offset;
pub mod send;
pub mod send_back;
pub mod send_build;
pub mod send_checks;
