//! Features built on system topics: each stores messages in an internal topic of the same
//! CommitLog (so they inherit its durability and recovery), keeps its progress in a small JSON
//! file under `config/`, and runs its own task that re-puts messages when they are due.
//!
//! - [`schedule`]: delay levels (`SCHEDULE_TOPIC_XXXX`), used by delayed sends and retries.
//! - [`timer`]: timer messages at any millisecond (`rmq_sys_wheel_timer` + the TimerLog).
//! - [`transaction`]: half messages, commit/rollback and check-backs
//!   (`RMQ_SYS_TRANS_HALF_TOPIC`, `RMQ_SYS_TRANS_OP_HALF_TOPIC`).
//!
//! They are given the pieces they need (the store, the address stamped into records, the state
//! managers they read), never the whole broker, so they do not depend on `broker.rs`.

pub mod schedule;
pub mod timer;
pub mod transaction;
