//! The raft state machine: [`ReplicasInfo`] in memory, applied from the log, plus its
//! snapshot on disk.
//!
//! The state itself is not written on every apply: after a restart it is the last snapshot
//! (`raft-snapshot.json`, replaced atomically) with the log entries after it applied again by
//! openraft. Snapshots are taken every `raftSnapshotLogEntries` entries, after which the log
//! before them is purged.

use std::io::{self, Cursor};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine, Snapshot};
use openraft::{EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, RaftLogId};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use super::{
    storage_error, Entry, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};
use crate::state::{Applied, ReplicasInfo};

pub const SNAPSHOT_FILE: &str = "raft-snapshot.json";

/// What the state machine has applied; shared with the request processors, which read it.
#[derive(Debug, Default)]
pub struct AppliedState {
    pub info: ReplicasInfo,
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
}

/// The shared, applied state.
pub type SharedState = Arc<RwLock<AppliedState>>;

/// `raft-snapshot.json`: the snapshot's meta and the state (JSON text).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta,
    data: String,
}

/// The snapshot on disk and in memory, shared by the state machine and its builders.
struct SnapshotFile {
    path: PathBuf,
    current: Mutex<Option<StoredSnapshot>>,
    built: AtomicU64,
}

impl SnapshotFile {
    /// Makes `stored` the current snapshot, durably, unless a newer one already is.
    fn save(&self, stored: StoredSnapshot) -> io::Result<()> {
        let mut current = self.current.lock();
        if current
            .as_ref()
            .is_some_and(|c| c.meta.last_log_id > stored.meta.last_log_id)
        {
            return Ok(());
        }
        let bytes = serde_json::to_vec(&stored).map_err(io::Error::other)?;
        petrel_fs::write_atomically(&self.path, &bytes)?;
        *current = Some(stored);
        Ok(())
    }
}

/// The state machine openraft applies entries to.
pub struct StateMachine {
    state: SharedState,
    snapshots: Arc<SnapshotFile>,
}

impl StateMachine {
    /// Loads the last snapshot under `dir`, if any.
    pub fn open(dir: &Path) -> io::Result<StateMachine> {
        let path = dir.join(SNAPSHOT_FILE);
        let (applied, current) = match std::fs::read(&path) {
            Ok(bytes) => {
                let bad = |e: String| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{} is not a controller snapshot: {e}", path.display()),
                    )
                };
                let stored: StoredSnapshot =
                    serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
                let info: ReplicasInfo =
                    serde_json::from_str(&stored.data).map_err(|e| bad(e.to_string()))?;
                info.check_invariants().map_err(bad)?;
                (
                    AppliedState {
                        info,
                        last_applied: stored.meta.last_log_id,
                        membership: stored.meta.last_membership.clone(),
                    },
                    Some(stored),
                )
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => (AppliedState::default(), None),
            Err(e) => return Err(e),
        };
        Ok(StateMachine {
            state: Arc::new(RwLock::new(applied)),
            snapshots: Arc::new(SnapshotFile {
                path,
                current: Mutex::new(current),
                built: AtomicU64::new(0),
            }),
        })
    }

    /// The applied state, for readers.
    pub fn shared(&self) -> SharedState {
        Arc::clone(&self.state)
    }

    async fn persist(&self, stored: StoredSnapshot) -> Result<(), StorageError> {
        let signature = Some(stored.meta.signature());
        let snapshots = Arc::clone(&self.snapshots);
        tokio::task::spawn_blocking(move || snapshots.save(stored))
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e)))
            .map_err(|e| storage_error(ErrorSubject::Snapshot(signature), ErrorVerb::Write, e))
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let (data, last_log_id, membership) = {
            let state = self.state.read();
            let data = serde_json::to_string(&state.info)
                .map_err(|e| storage_error(ErrorSubject::StateMachine, ErrorVerb::Read, e))?;
            (data, state.last_applied, state.membership.clone())
        };
        let built = self.snapshots.built.fetch_add(1, Ordering::Relaxed) + 1;
        let snapshot_id = match last_log_id {
            Some(id) => format!("{}-{}-{built}", id.leader_id, id.index),
            None => format!("empty-{built}"),
        };
        let stored = StoredSnapshot {
            meta: SnapshotMeta {
                last_log_id,
                last_membership: membership,
                snapshot_id,
            },
            data,
        };
        let snapshot = Snapshot {
            meta: stored.meta.clone(),
            snapshot: Box::new(Cursor::new(stored.data.clone().into_bytes())),
        };
        self.persist(stored).await?;
        Ok(snapshot)
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let state = self.state.read();
        Ok((state.last_applied, state.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut state = self.state.write();
        let mut results = Vec::new();
        for entry in entries {
            let log_id = *entry.get_log_id();
            state.last_applied = Some(log_id);
            let result = match entry.payload {
                EntryPayload::Blank => Applied::Done,
                EntryPayload::Normal(event) => {
                    let result = state.info.apply(&event);
                    match &result {
                        Applied::Done => tracing::debug!(index = log_id.index, ?event, "applied"),
                        Applied::Skipped(why) => tracing::warn!(
                            index = log_id.index,
                            ?event,
                            why,
                            "event skipped: its preconditions no longer held"
                        ),
                    }
                    result
                }
                EntryPayload::Membership(membership) => {
                    state.membership = StoredMembership::new(Some(log_id), membership);
                    Applied::Done
                }
            };
            results.push(result);
        }
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> StateMachine {
        // A builder over the same shared state; it takes the state under the lock when it
        // runs, so what it captures is always a state some prefix of the log produced.
        StateMachine {
            state: Arc::clone(&self.state),
            snapshots: Arc::clone(&self.snapshots),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let signature = Some(meta.signature());
        let data = String::from_utf8(snapshot.into_inner()).map_err(|e| {
            storage_error(
                ErrorSubject::Snapshot(signature.clone()),
                ErrorVerb::Read,
                e,
            )
        })?;
        let info: ReplicasInfo = serde_json::from_str(&data).map_err(|e| {
            storage_error(
                ErrorSubject::Snapshot(signature.clone()),
                ErrorVerb::Read,
                e,
            )
        })?;
        info.check_invariants()
            .map_err(|e| storage_error(ErrorSubject::Snapshot(signature), ErrorVerb::Read, e))?;
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        self.persist(stored).await?;
        let mut state = self.state.write();
        state.info = info;
        state.last_applied = meta.last_log_id;
        state.membership = meta.last_membership.clone();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        Ok(self
            .snapshots
            .current
            .lock()
            .as_ref()
            .map(|stored| Snapshot {
                meta: stored.meta.clone(),
                snapshot: Box::new(Cursor::new(stored.data.clone().into_bytes())),
            }))
    }
}
