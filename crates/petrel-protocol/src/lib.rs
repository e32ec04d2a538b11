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

pub mod message;
pub mod remoting;
