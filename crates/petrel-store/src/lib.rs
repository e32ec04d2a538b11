//! Petrel's message store: RocketMQ's CommitLog + ConsumeQueue + IndexFile design on
//! memory-mapped segment files, with the same byte layouts (so pull responses hand stored
//! records to clients as they are, and RocketMQ store directories can be opened).
//!
//! What it owns: the files under `storePathRootDir` (`commitlog/`, `consumequeue/`, `index/`,
//! `checkpoint`, `abort`, `lock`), durability (flush, group commit, recovery), and retention.
//! What it must not do: networking, topic/permission policy, or anything that needs the broker
//! (it stores what it is given; the broker validates requests). The one broker rule it applies,
//! RocketMQ's tag code for delayed and timer records, sits behind [`TagCodeHook`], configured in
//! [`StoreConfig`].
//!
//! Invariants:
//! - An append is acknowledged under SYNC_FLUSH only once an fsync covers it; a failed fsync
//!   makes the store read-only ("poisoned") instead of pretending.
//! - Readers (ConsumeQueue, pulls) see only dispatched records, and under SYNC_FLUSH only
//!   flushed ones: nothing a consumer saw can be lost by a crash.
//! - Recovery never surfaces a torn or corrupt record: every record after the last safe point
//!   is validated, and the log is cut at the first bad one.
//! - Nothing read from disk can panic the process: decoders return errors.
//! - No safe function can reach memory outside a mapping: positions are bounds-checked in
//!   release builds too, and every `unsafe` block says why it is sound (denied otherwise).
//!
//! See ARCHITECTURE.md for the write path, the flush and recovery in detail.

#![deny(clippy::undocumented_unsafe_blocks)]

mod allocate;
mod checkpoint;
pub mod clean;
mod commit_log;
mod config;
mod consume_queue;
mod dispatch;
mod error;
mod flush;
mod get;
mod index;
pub mod io;
mod mapped_file;
mod mapped_file_queue;
mod open;
mod recovery;
mod replica;
mod store;
mod tag_code;
#[cfg(test)]
mod test_support;
pub mod timer;

pub use checkpoint::Checkpoint;
pub use clean::ConsumedOffsets;
pub use commit_log::{validate_record, AppendResult};
pub use config::{
    ConfigError, FlushDiskType, ParseFlushDiskTypeError, StoreConfig, CQ_ENTRY_SIZE_BYTES,
};
pub use consume_queue::CqEntry;
pub use dispatch::{Arrival, ArrivalListener};
pub use error::{DeleteWhenError, RecordError, ReplicaError, Result, StoreError};
pub use get::{
    AcceptAll, BoundaryType, GetMessageResult, GetMessageStatus, MessageFilter, QueryMessageResult,
    TagsCodeFilter,
};
pub use index::index_key_hash;
pub use store::{
    MessageStore, PutResult, PutStatus, RecoveryReport, StoreStats, FLUSH_LATENCY_BUCKETS_MS,
};
pub use tag_code::{DeliveryTimeTagCode, TagCodeHook, DEFAULT_DELAY_LEVELS_MS};
