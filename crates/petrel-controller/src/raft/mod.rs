//! Raft for the controller group, on openraft 0.9: the type configuration, a durable log store
//! ([`log_store`]), the state machine over [`crate::state`] ([`state_machine`]) and the raft
//! RPCs over petrel-remoting ([`network`]).
//!
//! Raft traffic uses the controller's one port (its address in `controllerDLegerPeers`), as
//! Apache's DLedger controller does, with three private request codes (below). Nothing but
//! Petrel controllers sends them; Apache RocketMQ does not use 6100-6102.

pub mod dir_lock;
pub mod log_store;
pub mod network;
pub mod state_machine;

use std::io::Cursor;

use crate::state::{Applied, Event};

/// Raft's vote RPC (JSON `VoteRequest` → `Result<VoteResponse, RaftError>`).
pub const RAFT_VOTE: i32 = 6100;
/// Raft's append-entries RPC.
pub const RAFT_APPEND_ENTRIES: i32 = 6101;
/// Raft's install-snapshot RPC (one chunk per call).
pub const RAFT_INSTALL_SNAPSHOT: i32 = 6102;

/// The `extFields` key naming the sender's `controllerDLegerGroup`: raft traffic from another
/// group is refused, so two groups given overlapping peer lists cannot merge.
pub const GROUP_FIELD: &str = "controllerGroup";

openraft::declare_raft_types!(
    /// The controller's raft types: events in, [`Applied`] out, `u64` node ids (the number in
    /// `n0`), nodes known by their address.
    pub TypeConfig:
        D = Event,
        R = Applied,
        NodeId = u64,
        Node = openraft::BasicNode,
        SnapshotData = Cursor<Vec<u8>>,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type LogId = openraft::LogId<u64>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type Vote = openraft::Vote<u64>;
pub type StorageError = openraft::StorageError<u64>;
pub type StoredMembership = openraft::StoredMembership<u64, openraft::BasicNode>;
pub type SnapshotMeta = openraft::SnapshotMeta<u64, openraft::BasicNode>;

/// A storage error for openraft: what was being done (`subject`, `verb`) and why.
pub(crate) fn storage_error(
    subject: openraft::ErrorSubject<u64>,
    verb: openraft::ErrorVerb,
    reason: impl std::fmt::Display,
) -> StorageError {
    StorageError::IO {
        source: openraft::StorageIOError::new(
            subject,
            verb,
            openraft::AnyError::error(reason.to_string()),
        ),
    }
}
