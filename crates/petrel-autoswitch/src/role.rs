//! What the supervisor and the running broker share: the role the controllers assigned, the
//! master's lease and SyncStateSet, the epoch file, and the hooks the broker calls
//! ([`petrel_broker::ControllerHooks`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use petrel_broker::ControllerHooks;
use petrel_protocol::remoting::body::{self, EpochEntryCache, SyncStateSet};
use petrel_protocol::remoting::header::NotifyBrokerRoleChangedRequestHeader;
use petrel_replication::epoch::{EpochEntry, EpochFile};
use petrel_store::MessageStore;
use tokio::sync::Notify;

/// The role this run of the broker has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assignment {
    pub master_id: u64,
    pub master_addr: String,
    pub master_epoch: i32,
    pub sync_state_set: BTreeSet<u64>,
    pub sync_state_set_epoch: i32,
}

#[derive(Debug, Default)]
struct Live {
    assignment: Option<Assignment>,
    /// An expansion proposed to the controller and not yet answered.
    proposed: Option<BTreeSet<u64>>,
    /// A master may acknowledge writes until then.
    lease_until: Option<Instant>,
    /// A controller said the master or epoch changed.
    change_noticed: bool,
}

pub(crate) struct Shared {
    pub cluster: String,
    pub name: String,
    pub my_id: u64,
    pub all_ack: bool,
    pub lease: Duration,
    live: Mutex<Live>,
    pub epochs: Mutex<EpochFile>,
    pub changed: Notify,
    /// For heartbeats: the CommitLog end and confirm offset last seen.
    pub max_offset: Mutex<(u64, u64)>,
}

impl Shared {
    pub fn new(
        cluster: String,
        name: String,
        my_id: u64,
        all_ack: bool,
        lease: Duration,
        epochs: EpochFile,
    ) -> Arc<Self> {
        Arc::new(Self {
            cluster,
            name,
            my_id,
            all_ack,
            lease,
            live: Mutex::new(Live::default()),
            epochs: Mutex::new(epochs),
            changed: Notify::new(),
            max_offset: Mutex::new((0, 0)),
        })
    }

    pub fn assign(&self, a: Option<Assignment>) {
        let mut live = self.live.lock();
        live.lease_until = a
            .as_ref()
            .filter(|a| a.master_id == self.my_id)
            .map(|_| Instant::now() + self.lease);
        live.assignment = a;
        live.proposed = None;
        live.change_noticed = false;
    }

    pub fn assignment(&self) -> Option<Assignment> {
        self.live.lock().assignment.clone()
    }

    pub fn is_master(&self) -> bool {
        self.live
            .lock()
            .assignment
            .as_ref()
            .is_some_and(|a| a.master_id == self.my_id)
    }

    /// The controllers confirmed the role as of `asked_at` (when the question was sent).
    pub fn confirm(&self, asked_at: Instant) {
        let mut live = self.live.lock();
        if live.assignment.is_some() {
            let until = asked_at + self.lease;
            if live.lease_until.is_none_or(|u| u < until) {
                live.lease_until = Some(until);
            }
        }
    }

    pub fn lease_expired_for(&self) -> Option<Duration> {
        let live = self.live.lock();
        live.lease_until
            .and_then(|u| Instant::now().checked_duration_since(u))
    }

    /// The controller accepted a new SyncStateSet (or sent a newer one).
    pub fn set_sync_state_set(&self, members: BTreeSet<u64>, epoch: i32) {
        let mut live = self.live.lock();
        live.proposed = None;
        if let Some(a) = live.assignment.as_mut() {
            if epoch >= a.sync_state_set_epoch {
                a.sync_state_set = members;
                a.sync_state_set_epoch = epoch;
            }
        }
    }

    pub fn propose(&self, members: Option<BTreeSet<u64>>) {
        self.live.lock().proposed = members;
    }

    /// Whether the controllers' view (master id, epoch) differs from this run's.
    pub fn differs(&self, master_id: Option<u64>, master_epoch: Option<i32>) -> bool {
        let live = self.live.lock();
        match &live.assignment {
            None => master_id.is_some(),
            Some(a) => {
                master_id != Some(a.master_id) || master_epoch.is_some_and(|e| e != a.master_epoch)
            }
        }
    }

    pub fn notice_change(&self) {
        self.live.lock().change_noticed = true;
        self.changed.notify_one();
    }

    pub fn change_noticed(&self) -> bool {
        self.live.lock().change_noticed
    }
}

/// The hooks of one run of the broker.
pub(crate) struct Hooks {
    pub shared: Arc<Shared>,
    /// A replica takes these epochs once its store is open (cut where they agree).
    pub adopt_epochs: Option<Vec<EpochEntry>>,
}

impl ControllerHooks for Hooks {
    fn on_store_opened(&self, store: &MessageStore) -> Result<(), String> {
        let end = store.commit_log_end();
        let mut epochs = self.shared.epochs.lock();
        if let Some(entries) = &self.adopt_epochs {
            return epochs
                .replace_all(entries.clone())
                .map_err(|e| e.to_string());
        }
        let Some(a) = self.shared.assignment() else {
            return Ok(());
        };
        if a.master_id != self.shared.my_id {
            return Ok(());
        }
        epochs.truncate_after(end).map_err(|e| e.to_string())?;
        let last = epochs.last_epoch();
        if last > a.master_epoch {
            return Err(format!(
                "the epoch file holds epoch {last}, newer than the controllers' {}: this \
                 broker must not lead an older epoch",
                a.master_epoch
            ));
        }
        if last < a.master_epoch {
            epochs
                .append(a.master_epoch, end)
                .map_err(|e| e.to_string())?;
            tracing::info!(
                epoch = a.master_epoch,
                start_offset = end,
                "new master epoch recorded"
            );
        }
        Ok(())
    }

    fn check_writable(&self) -> Result<(), String> {
        if !self.shared.is_master() {
            return Ok(());
        }
        match self.shared.lease_expired_for() {
            None => Ok(()),
            Some(ago) => Err(format!(
                "service not available now: broker {} could not confirm with the controllers \
                 that it is still the master ({} ms past its lease); writes are refused until \
                 it can. Check that the controllers (controllerAddr) are running and reachable",
                self.shared.name,
                ago.as_millis()
            )),
        }
    }

    fn sync_state_set_replicas(&self) -> Option<Vec<u64>> {
        if !self.shared.all_ack {
            return None;
        }
        let live = self.shared.live.lock();
        let a = live.assignment.as_ref()?;
        let mut members = a.sync_state_set.clone();
        if let Some(p) = &live.proposed {
            members.extend(p.iter().copied());
        }
        members.remove(&self.shared.my_id);
        Some(members.into_iter().collect())
    }

    fn on_role_changed(
        &self,
        header: NotifyBrokerRoleChangedRequestHeader,
        sync_state_set: Option<SyncStateSet>,
    ) {
        let master_id = header
            .master_broker_id
            .filter(|id| *id > 0)
            .map(|id| id as u64);
        if self.shared.differs(master_id, header.master_epoch) {
            tracing::info!(?master_id, epoch = ?header.master_epoch, "a controller says the role changed");
            self.shared.notice_change();
        } else if let Some(set) = sync_state_set {
            self.shared.set_sync_state_set(
                set.sync_state_set.into_iter().map(|i| i as u64).collect(),
                set.sync_state_set_epoch,
            );
        }
    }

    fn epoch_cache(&self, store: &MessageStore) -> EpochEntryCache {
        let end = store.commit_log_end();
        let epochs = self.shared.epochs.lock();
        EpochEntryCache {
            broker_id: self.shared.my_id as i64,
            broker_name: self.shared.name.clone(),
            cluster_name: self.shared.cluster.clone(),
            epoch_list: epochs
                .ranges(end)
                .into_iter()
                .map(|(e, end)| body::EpochEntry {
                    end_offset: end as i64,
                    epoch: e.epoch,
                    start_offset: e.start_offset as i64,
                })
                .collect(),
            max_offset: end as i64,
        }
    }
}
