//! RocketMQ wire and storage encodings, as a pure codec.
//!
//! This crate owns the byte layouts Petrel shares with Apache RocketMQ: the stored-message record
//! (which is at once the CommitLog record and the element of a pull response), the properties
//! string, the batch body, message ids and tag hash codes. It does no I/O, spawns nothing and
//! never panics on input: every decoder takes a byte slice and returns a typed error when the
//! bytes are short, inconsistent or out of range.
//!
//! Facts come from `shared/protocol/remoting-protocol.md` (§8, §10, §12); all integers are
//! big-endian, as Java writes them.
//!
//! The `remoting` module is the remoting protocol (§1–7): frames, JSON and binary headers,
//! request/response codes, typed custom headers and JSON bodies, decoded from and encoded into
//! caller-owned buffers.
//!
//! This crate is also the one home of RocketMQ's facts that are not byte layouts, so that
//! client, broker, name server and store cannot drift apart: [`perm`] (permission bits),
//! [`pull_sys_flag`], [`topic`] (system topics, retry/DLQ/reply topics), [`mix_all`]
//! (well-known ids, groups and defaults), [`name`] (the topic and group name rules) and
//! [`message::properties`] (property names). Other crates import these; they never restate
//! them.

#![forbid(unsafe_code)]

pub mod ha;
pub mod message;
pub mod mix_all;
pub mod name;
pub mod perm;
pub mod pop;
pub mod pull_sys_flag;
pub mod rebalance;
pub mod remoting;
pub mod topic;
pub mod trace;
