//! The replicated state: every broker set's members, master and SyncStateSet (Apache's
//! `ReplicasInfoManager` tables), and the events that change it.
//!
//! Pure: no I/O, no clock. Events are the raft log's entries; [`ReplicasInfo::apply`] is the
//! state machine. Each event carries the epochs it was decided against, and `apply` checks
//! them again before changing anything, so an event decided on stale state (a leader that lost
//! its leadership between deciding and committing) is skipped, the same way, on every
//! controller. The invariants `apply` keeps:
//!
//! - `master_epoch` and `sync_state_set_epoch` never decrease; each change of the master bumps
//!   `master_epoch` by one, each change of the SyncStateSet bumps `sync_state_set_epoch` by one.
//! - The master, when there is one, is a registered broker and a member of the SyncStateSet.
//! - Every SyncStateSet member is a registered broker.
//! - `next_broker_id` is greater than every id ever registered in the set.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// `MixAll.FIRST_BROKER_CONTROLLER_ID`: the first id a broker set hands out.
pub const FIRST_BROKER_ID: i64 = 1;

/// One registered broker of a set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    /// The broker's remoting address, `ip:port`.
    pub address: String,
    /// `registerCheckCode` of the APPLY_BROKER_ID that claimed the id (`address;timestamp`):
    /// the same broker applying again is let through, another one is refused.
    pub register_check_code: String,
}

/// A broker set (the brokers sharing a `brokerName`): Apache's `BrokerReplicaInfo` and
/// `SyncStateInfo` in one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerSet {
    pub cluster_name: String,
    pub broker_name: String,
    /// Broker id → the registered broker.
    pub brokers: BTreeMap<i64, Replica>,
    /// The id GET_NEXT_BROKER_ID answers.
    pub next_broker_id: i64,
    pub master_broker_id: Option<i64>,
    /// 0 until the first election.
    pub master_epoch: i32,
    pub sync_state_set: BTreeSet<i64>,
    pub sync_state_set_epoch: i32,
}

impl BrokerSet {
    fn new(cluster_name: &str, broker_name: &str) -> BrokerSet {
        BrokerSet {
            cluster_name: cluster_name.to_string(),
            broker_name: broker_name.to_string(),
            brokers: BTreeMap::new(),
            next_broker_id: FIRST_BROKER_ID,
            master_broker_id: None,
            master_epoch: 0,
            sync_state_set: BTreeSet::new(),
            sync_state_set_epoch: 0,
        }
    }

    /// The address of broker `id`, if registered.
    pub fn address(&self, id: i64) -> Option<&str> {
        self.brokers.get(&id).map(|r| r.address.as_str())
    }

    /// The master's address.
    pub fn master_address(&self) -> Option<&str> {
        self.master_broker_id.and_then(|id| self.address(id))
    }

    /// Whether no master was ever elected (the first election elects its requester).
    pub fn is_first_election(&self) -> bool {
        self.master_epoch == 0
    }
}

/// A change to the replicated state: one raft log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// APPLY_BROKER_ID accepted: `broker_id` belongs to the broker with this check code.
    /// Creates the set on its first id.
    ApplyBrokerId {
        cluster_name: String,
        broker_name: String,
        broker_id: i64,
        broker_address: String,
        register_check_code: String,
    },
    /// REGISTER_BROKER from a known id with a new address.
    UpdateBrokerAddress {
        broker_name: String,
        broker_id: i64,
        broker_address: String,
    },
    /// An election's result. `new_master`: the new master, the SyncStateSet becomes {it} and
    /// both epochs go up by one. `None`: the master is gone and nobody could replace it; the
    /// master epoch goes up, the SyncStateSet is kept (its members are the only safe masters).
    ElectMaster {
        broker_name: String,
        new_master: Option<i64>,
        /// The master epoch the decision was made against (the event makes it +1).
        prev_master_epoch: i32,
    },
    /// ALTER_SYNC_STATE_SET accepted.
    AlterSyncStateSet {
        broker_name: String,
        master_broker_id: i64,
        master_epoch: i32,
        /// The SyncStateSet epoch the master based its change on (the event makes it +1).
        prev_sync_state_set_epoch: i32,
        sync_state_set: BTreeSet<i64>,
    },
    /// CLEAN_BROKER_DATA: forget the ids, or the whole set when `broker_ids` is `None`.
    CleanBrokerData {
        broker_name: String,
        broker_ids: Option<BTreeSet<i64>>,
    },
}

impl Event {
    /// The broker set the event is about.
    pub fn broker_name(&self) -> &str {
        match self {
            Event::ApplyBrokerId { broker_name, .. }
            | Event::UpdateBrokerAddress { broker_name, .. }
            | Event::ElectMaster { broker_name, .. }
            | Event::AlterSyncStateSet { broker_name, .. }
            | Event::CleanBrokerData { broker_name, .. } => broker_name,
        }
    }
}

/// What applying an event did (the raft response to the proposer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applied {
    /// The state changed (or already was as the event says).
    Done,
    /// The event's preconditions no longer held; nothing changed. The reason is for the log
    /// and the requester's remark.
    Skipped(String),
}

/// All broker sets, by broker name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicasInfo {
    sets: BTreeMap<String, BrokerSet>,
}

impl ReplicasInfo {
    pub fn new() -> ReplicasInfo {
        ReplicasInfo::default()
    }

    pub fn broker_set(&self, broker_name: &str) -> Option<&BrokerSet> {
        self.sets.get(broker_name)
    }

    pub fn broker_sets(&self) -> impl Iterator<Item = &BrokerSet> {
        self.sets.values()
    }

    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Applies `event`, checking its preconditions against the current state.
    pub fn apply(&mut self, event: &Event) -> Applied {
        match event {
            Event::ApplyBrokerId {
                cluster_name,
                broker_name,
                broker_id,
                broker_address,
                register_check_code,
            } => {
                let set = self
                    .sets
                    .entry(broker_name.clone())
                    .or_insert_with(|| BrokerSet::new(cluster_name, broker_name));
                match set.brokers.get(broker_id) {
                    Some(r) if r.register_check_code != *register_check_code => {
                        return skipped(format!(
                            "broker id {broker_id} of {broker_name} belongs to another broker"
                        ))
                    }
                    _ => {}
                }
                set.brokers.insert(
                    *broker_id,
                    Replica {
                        address: broker_address.clone(),
                        register_check_code: register_check_code.clone(),
                    },
                );
                set.next_broker_id = set.next_broker_id.max(broker_id.saturating_add(1));
                Applied::Done
            }
            Event::UpdateBrokerAddress {
                broker_name,
                broker_id,
                broker_address,
            } => {
                let Some(replica) = self
                    .sets
                    .get_mut(broker_name)
                    .and_then(|s| s.brokers.get_mut(broker_id))
                else {
                    return skipped(format!(
                        "broker id {broker_id} of {broker_name} is not registered"
                    ));
                };
                replica.address = broker_address.clone();
                Applied::Done
            }
            Event::ElectMaster {
                broker_name,
                new_master,
                prev_master_epoch,
            } => {
                let Some(set) = self.sets.get_mut(broker_name) else {
                    return skipped(format!("broker set {broker_name} is not registered"));
                };
                if set.master_epoch != *prev_master_epoch {
                    return skipped(format!(
                        "the election was decided at master epoch {prev_master_epoch}, the set is at {}",
                        set.master_epoch
                    ));
                }
                match new_master {
                    Some(id) => {
                        if !set.brokers.contains_key(id) {
                            return skipped(format!(
                                "broker id {id} of {broker_name} is not registered"
                            ));
                        }
                        set.master_broker_id = Some(*id);
                        set.master_epoch += 1;
                        set.sync_state_set = BTreeSet::from([*id]);
                        set.sync_state_set_epoch += 1;
                    }
                    None => {
                        set.master_broker_id = None;
                        set.master_epoch += 1;
                    }
                }
                Applied::Done
            }
            Event::AlterSyncStateSet {
                broker_name,
                master_broker_id,
                master_epoch,
                prev_sync_state_set_epoch,
                sync_state_set,
            } => {
                let Some(set) = self.sets.get_mut(broker_name) else {
                    return skipped(format!("broker set {broker_name} is not registered"));
                };
                if set.master_broker_id != Some(*master_broker_id)
                    || set.master_epoch != *master_epoch
                    || set.sync_state_set_epoch != *prev_sync_state_set_epoch
                {
                    return skipped(format!(
                        "the change was decided for master {master_broker_id} at epochs {master_epoch}/{prev_sync_state_set_epoch}; the set is at master {:?}, epochs {}/{}",
                        set.master_broker_id, set.master_epoch, set.sync_state_set_epoch
                    ));
                }
                if !sync_state_set.contains(master_broker_id)
                    || sync_state_set
                        .iter()
                        .any(|id| !set.brokers.contains_key(id))
                {
                    return skipped(
                        "the new SyncStateSet must contain the master and only registered brokers"
                            .to_string(),
                    );
                }
                set.sync_state_set = sync_state_set.clone();
                set.sync_state_set_epoch += 1;
                Applied::Done
            }
            Event::CleanBrokerData {
                broker_name,
                broker_ids,
            } => {
                let Some(ids) = broker_ids.as_ref().filter(|ids| !ids.is_empty()) else {
                    self.sets.remove(broker_name);
                    return Applied::Done;
                };
                let Some(set) = self.sets.get_mut(broker_name) else {
                    return Applied::Done;
                };
                for id in ids {
                    set.brokers.remove(id);
                    set.sync_state_set.remove(id);
                    if set.master_broker_id == Some(*id) {
                        set.master_broker_id = None;
                    }
                }
                if set.brokers.is_empty() {
                    self.sets.remove(broker_name);
                }
                Applied::Done
            }
        }
    }

    /// Checks the invariants in the module docs; `Err` names the first broken one. Used by
    /// tests and after loading a snapshot.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (name, set) in &self.sets {
            if *name != set.broker_name {
                return Err(format!("set {name} is named {}", set.broker_name));
            }
            if let Some(master) = set.master_broker_id {
                if !set.brokers.contains_key(&master) {
                    return Err(format!("{name}: master {master} is not registered"));
                }
                if !set.sync_state_set.contains(&master) {
                    return Err(format!(
                        "{name}: master {master} is not in the SyncStateSet"
                    ));
                }
            }
            if let Some(id) = set
                .sync_state_set
                .iter()
                .find(|id| !set.brokers.contains_key(id))
            {
                return Err(format!(
                    "{name}: SyncStateSet member {id} is not registered"
                ));
            }
            if let Some(max) = set.brokers.keys().next_back() {
                if set.next_broker_id <= *max {
                    return Err(format!(
                        "{name}: next broker id {} is not above {max}",
                        set.next_broker_id
                    ));
                }
            }
        }
        Ok(())
    }
}

fn skipped(reason: String) -> Applied {
    Applied::Skipped(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply_id(info: &mut ReplicasInfo, id: i64) -> Applied {
        info.apply(&Event::ApplyBrokerId {
            cluster_name: "c".into(),
            broker_name: "b".into(),
            broker_id: id,
            broker_address: format!("10.0.0.{id}:30911"),
            register_check_code: format!("10.0.0.{id}:30911;1"),
        })
    }

    fn elect(info: &mut ReplicasInfo, new_master: Option<i64>, prev: i32) -> Applied {
        info.apply(&Event::ElectMaster {
            broker_name: "b".into(),
            new_master,
            prev_master_epoch: prev,
        })
    }

    #[test]
    fn applying_ids_creates_the_set_and_advances_next_id() {
        let mut info = ReplicasInfo::new();
        assert_eq!(apply_id(&mut info, 1), Applied::Done);
        assert_eq!(apply_id(&mut info, 2), Applied::Done);
        let set = info.broker_set("b").unwrap();
        assert_eq!(set.next_broker_id, 3);
        assert_eq!(set.address(2), Some("10.0.0.2:30911"));
        assert_eq!(set.master_epoch, 0);
        assert!(set.is_first_election());
        // The same broker again: fine. Another broker with a taken id: skipped.
        assert_eq!(apply_id(&mut info, 2), Applied::Done);
        let stolen = info.apply(&Event::ApplyBrokerId {
            cluster_name: "c".into(),
            broker_name: "b".into(),
            broker_id: 2,
            broker_address: "10.9.9.9:1".into(),
            register_check_code: "10.9.9.9:1;5".into(),
        });
        assert!(matches!(stolen, Applied::Skipped(_)));
        assert_eq!(
            info.broker_set("b").unwrap().address(2),
            Some("10.0.0.2:30911")
        );
        info.check_invariants().unwrap();
    }

    #[test]
    fn election_bumps_epochs_and_resets_the_sync_state_set() {
        let mut info = ReplicasInfo::new();
        for id in 1..=3 {
            apply_id(&mut info, id);
        }
        assert_eq!(elect(&mut info, Some(1), 0), Applied::Done);
        let set = info.broker_set("b").unwrap();
        assert_eq!(
            (
                set.master_broker_id,
                set.master_epoch,
                set.sync_state_set_epoch
            ),
            (Some(1), 1, 1)
        );
        assert_eq!(set.sync_state_set, BTreeSet::from([1]));
        // Grow the set, then elect 2: the set shrinks to {2}.
        let alter = Event::AlterSyncStateSet {
            broker_name: "b".into(),
            master_broker_id: 1,
            master_epoch: 1,
            prev_sync_state_set_epoch: 1,
            sync_state_set: BTreeSet::from([1, 2, 3]),
        };
        assert_eq!(info.apply(&alter), Applied::Done);
        assert_eq!(info.broker_set("b").unwrap().sync_state_set_epoch, 2);
        // The same change again is stale now.
        assert!(matches!(info.apply(&alter), Applied::Skipped(_)));
        assert_eq!(elect(&mut info, Some(2), 1), Applied::Done);
        let set = info.broker_set("b").unwrap();
        assert_eq!(
            (
                set.master_broker_id,
                set.master_epoch,
                set.sync_state_set_epoch
            ),
            (Some(2), 2, 3)
        );
        assert_eq!(set.sync_state_set, BTreeSet::from([2]));
        // An election decided at epoch 1 is stale.
        assert!(matches!(elect(&mut info, Some(3), 1), Applied::Skipped(_)));
        info.check_invariants().unwrap();
    }

    #[test]
    fn no_master_keeps_the_sync_state_set() {
        let mut info = ReplicasInfo::new();
        apply_id(&mut info, 1);
        apply_id(&mut info, 2);
        elect(&mut info, Some(1), 0);
        assert_eq!(elect(&mut info, None, 1), Applied::Done);
        let set = info.broker_set("b").unwrap();
        assert_eq!((set.master_broker_id, set.master_epoch), (None, 2));
        assert_eq!(set.sync_state_set, BTreeSet::from([1]));
        assert_eq!(set.sync_state_set_epoch, 1);
        info.check_invariants().unwrap();
    }

    #[test]
    fn alter_must_keep_the_master_and_registered_members() {
        let mut info = ReplicasInfo::new();
        apply_id(&mut info, 1);
        elect(&mut info, Some(1), 0);
        let alter = |set: &[i64]| Event::AlterSyncStateSet {
            broker_name: "b".into(),
            master_broker_id: 1,
            master_epoch: 1,
            prev_sync_state_set_epoch: 1,
            sync_state_set: set.iter().copied().collect(),
        };
        assert!(matches!(info.apply(&alter(&[1, 9])), Applied::Skipped(_)));
        assert!(matches!(info.apply(&alter(&[])), Applied::Skipped(_)));
        info.check_invariants().unwrap();
    }

    #[test]
    fn clean_removes_ids_or_the_whole_set() {
        let mut info = ReplicasInfo::new();
        for id in 1..=3 {
            apply_id(&mut info, id);
        }
        elect(&mut info, Some(1), 0);
        info.apply(&Event::CleanBrokerData {
            broker_name: "b".into(),
            broker_ids: Some(BTreeSet::from([1])),
        });
        let set = info.broker_set("b").unwrap();
        assert_eq!(set.master_broker_id, None);
        assert!(set.sync_state_set.is_empty());
        assert_eq!(set.next_broker_id, 4);
        info.check_invariants().unwrap();
        info.apply(&Event::CleanBrokerData {
            broker_name: "b".into(),
            broker_ids: None,
        });
        assert!(info.broker_set("b").is_none());
    }

    #[test]
    fn events_round_trip_through_json() {
        let event = Event::AlterSyncStateSet {
            broker_name: "b".into(),
            master_broker_id: 1,
            master_epoch: 2,
            prev_sync_state_set_epoch: 3,
            sync_state_set: BTreeSet::from([1, 2]),
        };
        let json = serde_json::to_vec(&event).unwrap();
        assert_eq!(serde_json::from_slice::<Event>(&json).unwrap(), event);
        let mut info = ReplicasInfo::new();
        apply_id(&mut info, 1);
        let json = serde_json::to_vec(&info).unwrap();
        assert_eq!(serde_json::from_slice::<ReplicasInfo>(&json).unwrap(), info);
    }
}
