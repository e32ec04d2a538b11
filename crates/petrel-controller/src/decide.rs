//! Requests → decisions: each function reads the replicated state (and the leader's liveness
//! view), and either refuses the request with a RocketMQ controller code or returns the event
//! to replicate and the answer to give once it is applied. Apache's `ReplicasInfoManager`
//! request methods and `DefaultElectPolicy`, as pure functions.
//!
//! Limits on input (`MAX_*`) are checked here, so nothing unbounded reaches the raft log.

use std::collections::BTreeSet;

use petrel_protocol::remoting::body::{
    BrokerMemberGroup, BrokerReplicasInfo, ElectMasterResponseBody, ReplicaIdentity,
    ReplicasInfo as ReplicasInfoBody, SyncStateSet,
};
use petrel_protocol::remoting::header::{
    AlterSyncStateSetRequestHeader, AlterSyncStateSetResponseHeader, ApplyBrokerIdRequestHeader,
    CleanControllerBrokerDataRequestHeader, ElectMasterRequestHeader, ElectMasterResponseHeader,
    GetNextBrokerIdRequestHeader, GetNextBrokerIdResponseHeader, GetReplicaInfoRequestHeader,
    GetReplicaInfoResponseHeader, RegisterBrokerToControllerRequestHeader,
    RegisterBrokerToControllerResponseHeader,
};
use petrel_protocol::remoting::response_code as rc;

use crate::error::Refusal;
use crate::liveness::Liveness;
use crate::state::{BrokerSet, Event, ReplicasInfo, FIRST_BROKER_ID};

/// The most broker sets a controller group tracks.
pub const MAX_BROKER_SETS: usize = 10_000;
/// The most brokers (ids) one broker set may register.
pub const MAX_REPLICAS_PER_SET: usize = 64;
/// Longest cluster or broker name, bytes.
pub const MAX_NAME_BYTES: usize = 255;
/// Longest broker address or register check code, bytes.
pub const MAX_ADDRESS_BYTES: usize = 512;
/// The most broker names one CONTROLLER_GET_SYNC_STATE_DATA may ask about.
pub const MAX_NAMES_PER_QUERY: usize = MAX_BROKER_SETS;

/// What the election may use besides the state: Apache's `enableElectUncleanMaster`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ElectSettings {
    pub enable_elect_unclean_master: bool,
}

/// An accepted write: the event to replicate and what to answer after it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<H, B> {
    pub event: Option<Event>,
    pub header: H,
    pub body: Option<B>,
}

/// CONTROLLER_ELECT_MASTER's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElectOutcome {
    /// A new master: replicate `event`, answer SUCCESS, notify the set.
    NewMaster {
        event: Event,
        header: ElectMasterResponseHeader,
        body: ElectMasterResponseBody,
    },
    /// The current master stays: answer CONTROLLER_MASTER_STILL_EXIST with its details.
    MasterStillExists {
        header: ElectMasterResponseHeader,
        body: ElectMasterResponseBody,
    },
    /// Controller-triggered and nobody can be master: replicate "no master" (when there was
    /// one), answer CONTROLLER_MASTER_NOT_AVAILABLE.
    NoMaster { event: Option<Event> },
}

fn required_name<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, Refusal> {
    let name = value
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Refusal::invalid_request(format!("the header field {field} is missing")))?;
    check_name(name, field)?;
    Ok(name)
}

fn check_name(name: &str, field: &str) -> Result<(), Refusal> {
    if name.len() > MAX_NAME_BYTES || name.chars().any(char::is_control) {
        return Err(Refusal::invalid_request(format!(
            "{field} must be at most {MAX_NAME_BYTES} bytes without control characters"
        )));
    }
    Ok(())
}

fn required_id(value: Option<i64>, field: &str) -> Result<i64, Refusal> {
    value.ok_or_else(|| Refusal::invalid_request(format!("the header field {field} is missing")))
}

fn metadata_missing(broker_name: &str) -> Refusal {
    Refusal::new(
        rc::CONTROLLER_BROKER_METADATA_NOT_EXIST,
        format!("Broker metadata is not existed: {broker_name}"),
    )
}

fn member_group(set: &BrokerSet) -> BrokerMemberGroup {
    BrokerMemberGroup {
        broker_addrs: set
            .brokers
            .iter()
            .map(|(id, r)| (*id, r.address.clone()))
            .collect(),
        broker_name: set.broker_name.clone(),
        cluster: set.cluster_name.clone(),
    }
}

/// The SyncStateSet body of a set.
pub fn sync_state_set_body(set: &BrokerSet) -> SyncStateSet {
    SyncStateSet {
        sync_state_set: set.sync_state_set.clone(),
        sync_state_set_epoch: set.sync_state_set_epoch,
    }
}

/// CONTROLLER_GET_NEXT_BROKER_ID: 1 for an unknown set.
pub fn get_next_broker_id(
    info: &ReplicasInfo,
    header: &GetNextBrokerIdRequestHeader,
) -> Result<GetNextBrokerIdResponseHeader, Refusal> {
    let broker_name = required_name(&header.broker_name, "brokerName")?;
    let next = info
        .broker_set(broker_name)
        .map_or(FIRST_BROKER_ID, |s| s.next_broker_id);
    Ok(GetNextBrokerIdResponseHeader {
        cluster_name: header.cluster_name.clone(),
        broker_name: Some(broker_name.to_string()),
        next_broker_id: Some(next),
    })
}

/// CONTROLLER_APPLY_BROKER_ID: a new set accepts only id 1; a known set accepts a free id, or
/// the id this very broker (same `registerCheckCode`) already holds.
pub fn apply_broker_id(
    info: &ReplicasInfo,
    header: &ApplyBrokerIdRequestHeader,
) -> Result<Event, Refusal> {
    let cluster_name = required_name(&header.cluster_name, "clusterName")?;
    let broker_name = required_name(&header.broker_name, "brokerName")?;
    let broker_id = required_id(header.applied_broker_id, "appliedBrokerId")?;
    let check_code = header
        .register_check_code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= MAX_ADDRESS_BYTES)
        .ok_or_else(|| {
            Refusal::invalid_request(format!(
                "registerCheckCode must be address;timestamp, at most {MAX_ADDRESS_BYTES} bytes"
            ))
        })?;
    let broker_address = check_code.split(';').next().unwrap_or_default().to_string();
    if broker_id < FIRST_BROKER_ID {
        return Err(Refusal::new(
            rc::CONTROLLER_BROKER_ID_INVALID,
            format!("Broker id must be at least {FIRST_BROKER_ID}, not {broker_id}"),
        ));
    }
    let event = Event::ApplyBrokerId {
        cluster_name: cluster_name.to_string(),
        broker_name: broker_name.to_string(),
        broker_id,
        broker_address,
        register_check_code: check_code.to_string(),
    };
    let Some(set) = info.broker_set(broker_name) else {
        if broker_id != FIRST_BROKER_ID {
            return Err(Refusal::new(
                rc::CONTROLLER_BROKER_ID_INVALID,
                format!("Broker-set: {broker_name} hasn't been registered in controller, but broker try to apply brokerId: {broker_id}"),
            ));
        }
        if info.len() >= MAX_BROKER_SETS {
            return Err(Refusal::invalid_request(format!(
                "the controller already tracks {MAX_BROKER_SETS} broker sets (its limit)"
            )));
        }
        return Ok(event);
    };
    match set.brokers.get(&broker_id) {
        Some(replica) if replica.register_check_code == check_code => Ok(event),
        Some(_) => Err(Refusal::new(
            rc::CONTROLLER_BROKER_ID_INVALID,
            format!("Fail to apply brokerId: {broker_id} in broker-set: {broker_name}"),
        )),
        None if set.brokers.len() >= MAX_REPLICAS_PER_SET => Err(Refusal::new(
            rc::CONTROLLER_BROKER_ID_INVALID,
            format!(
                "broker-set {broker_name} already has {MAX_REPLICAS_PER_SET} brokers (the limit)"
            ),
        )),
        None => Ok(event),
    }
}

/// CONTROLLER_REGISTER_BROKER: a broker with an id reports its address; it learns the master
/// (when the master is alive) and the SyncStateSet.
pub fn register_broker(
    info: &ReplicasInfo,
    header: &RegisterBrokerToControllerRequestHeader,
    liveness: &impl Liveness,
) -> Result<Decision<RegisterBrokerToControllerResponseHeader, SyncStateSet>, Refusal> {
    let broker_name = required_name(&header.broker_name, "brokerName")?;
    let broker_id = required_id(header.broker_id, "brokerId")?;
    let address = header
        .broker_address
        .as_deref()
        .filter(|a| !a.is_empty() && a.len() <= MAX_ADDRESS_BYTES)
        .ok_or_else(|| Refusal::invalid_request("the header field brokerAddress is missing"))?;
    let set = info.broker_set(broker_name).ok_or_else(|| {
        Refusal::new(
            rc::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
            format!("Broker-set: {broker_name} hasn't been registered in controller"),
        )
    })?;
    let Some(replica) = set.brokers.get(&broker_id) else {
        return Err(Refusal::new(
            rc::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
            format!("BrokerId: {broker_id} hasn't been registered in broker-set: {broker_name}"),
        ));
    };
    let mut response = RegisterBrokerToControllerResponseHeader {
        cluster_name: Some(set.cluster_name.clone()),
        broker_name: Some(broker_name.to_string()),
        ..Default::default()
    };
    if let Some(master) = set.master_broker_id {
        if liveness.is_alive(&set.cluster_name, broker_name, master) {
            response.master_broker_id = Some(master);
            response.master_address = set.address(master).map(str::to_string);
            response.master_epoch = Some(set.master_epoch);
            response.sync_state_set_epoch = Some(set.sync_state_set_epoch);
        }
    }
    let event = (replica.address != address).then(|| Event::UpdateBrokerAddress {
        broker_name: broker_name.to_string(),
        broker_id,
        broker_address: address.to_string(),
    });
    Ok(Decision {
        event,
        header: response,
        body: Some(sync_state_set_body(set)),
    })
}

/// CONTROLLER_GET_REPLICA_INFO.
pub fn get_replica_info(
    info: &ReplicasInfo,
    header: &GetReplicaInfoRequestHeader,
) -> Result<(GetReplicaInfoResponseHeader, SyncStateSet), Refusal> {
    let broker_name = required_name(&header.broker_name, "brokerName")?;
    let set = info
        .broker_set(broker_name)
        .ok_or_else(|| metadata_missing(broker_name))?;
    Ok((
        GetReplicaInfoResponseHeader {
            master_broker_id: set.master_broker_id,
            master_address: set.master_address().map(str::to_string),
            master_epoch: Some(set.master_epoch),
        },
        sync_state_set_body(set),
    ))
}

/// CONTROLLER_ALTER_SYNC_STATE_SET, Apache's checks in Apache's order: known set, a real
/// change, the requester is the master, its master epoch (2000), the set's epoch (2001),
/// every member registered (2003) and alive (2006), the master kept.
pub fn alter_sync_state_set(
    info: &ReplicasInfo,
    header: &AlterSyncStateSetRequestHeader,
    body: &SyncStateSet,
    liveness: &impl Liveness,
) -> Result<Decision<AlterSyncStateSetResponseHeader, SyncStateSet>, Refusal> {
    let broker_name = required_name(&header.broker_name, "brokerName")?;
    let master_broker_id = required_id(header.master_broker_id, "masterBrokerId")?;
    let master_epoch = header
        .master_epoch
        .ok_or_else(|| Refusal::invalid_request("the header field masterEpoch is missing"))?;
    if body.sync_state_set.len() > MAX_REPLICAS_PER_SET {
        return Err(Refusal::invalid_request(format!(
            "a SyncStateSet has at most {MAX_REPLICAS_PER_SET} members"
        )));
    }
    let set = info.broker_set(broker_name).ok_or_else(|| {
        Refusal::new(
            rc::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
            "Broker metadata is not existed",
        )
    })?;
    let new_set = &body.sync_state_set;
    if *new_set == set.sync_state_set {
        return Err(Refusal::new(
            rc::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
            "The newSyncStateSet is equal with oldSyncStateSet, no needed to update syncStateSet",
        ));
    }
    if set.master_broker_id != Some(master_broker_id) {
        return Err(Refusal::new(
            rc::CONTROLLER_INVALID_MASTER,
            format!(
                "Rejecting alter syncStateSet request because the current leader is:{{{}}}, not {{{master_broker_id}}}",
                set.master_broker_id.map_or("null".to_string(), |m| m.to_string())
            ),
        ));
    }
    if master_epoch != set.master_epoch {
        return Err(Refusal::new(
            rc::CONTROLLER_FENCED_MASTER_EPOCH,
            format!(
                "Rejecting alter syncStateSet request because the current master epoch is:{{{}}}, not {{{master_epoch}}}",
                set.master_epoch
            ),
        ));
    }
    if body.sync_state_set_epoch != set.sync_state_set_epoch {
        return Err(Refusal::new(
            rc::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH,
            format!(
                "Rejecting alter syncStateSet request because the current syncStateSet epoch is:{{{}}}, not {{{}}}",
                set.sync_state_set_epoch, body.sync_state_set_epoch
            ),
        ));
    }
    for replica in new_set {
        if !set.brokers.contains_key(replica) {
            return Err(Refusal::new(
                rc::CONTROLLER_INVALID_REPLICAS,
                format!("Rejecting alter syncStateSet request because the replicas {{{replica}}} don't exist"),
            ));
        }
        if !liveness.is_alive(&set.cluster_name, broker_name, *replica) {
            return Err(Refusal::new(
                rc::CONTROLLER_BROKER_NOT_ALIVE,
                format!("Rejecting alter syncStateSet request because the replicas {{{replica}}} don't alive"),
            ));
        }
    }
    if !new_set.contains(&master_broker_id) {
        return Err(Refusal::new(
            rc::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
            format!("Rejecting alter syncStateSet request because the newSyncStateSet don't contains origin leader {{{master_broker_id}}}"),
        ));
    }
    let new_epoch = set.sync_state_set_epoch + 1;
    Ok(Decision {
        event: Some(Event::AlterSyncStateSet {
            broker_name: broker_name.to_string(),
            master_broker_id,
            master_epoch,
            prev_sync_state_set_epoch: set.sync_state_set_epoch,
            sync_state_set: new_set.clone(),
        }),
        header: AlterSyncStateSetResponseHeader {
            new_sync_state_set_epoch: new_epoch,
        },
        body: Some(SyncStateSet {
            sync_state_set: new_set.clone(),
            sync_state_set_epoch: new_epoch,
        }),
    })
}

/// CONTROLLER_ELECT_MASTER. `brokerId` −1 (or absent): controller-triggered; a broker's own
/// id: that broker becomes the first master of a set that never had one; `designateElect`:
/// an admin prefers that id.
pub fn elect_master(
    info: &ReplicasInfo,
    header: &ElectMasterRequestHeader,
    liveness: &impl Liveness,
    settings: ElectSettings,
) -> Result<ElectOutcome, Refusal> {
    let broker_name = header.broker_name.trim();
    if broker_name.is_empty() {
        return Err(Refusal::invalid_request(
            "the header field brokerName is missing",
        ));
    }
    check_name(broker_name, "brokerName")?;
    let set = info.broker_set(broker_name).ok_or_else(|| {
        Refusal::new(
            rc::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
            "Broker hasn't been registered",
        )
    })?;
    let requester = (header.broker_id >= 0).then_some(header.broker_id);
    let mut new_master = None;
    if set.is_first_election() {
        if let Some(id) = requester {
            if !set.brokers.contains_key(&id) {
                return Err(Refusal::new(
                    rc::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
                    format!("BrokerId: {id} hasn't been registered in broker-set: {broker_name}"),
                ));
            }
            new_master = Some(id);
        }
    }
    if new_master.is_none() {
        let preferred = if header.designate_elect {
            requester
        } else {
            None
        };
        new_master = elect_policy(set, liveness, preferred, settings);
    }
    let member_group = member_group(set);
    match new_master {
        Some(id) if Some(id) == set.master_broker_id => Ok(ElectOutcome::MasterStillExists {
            header: ElectMasterResponseHeader {
                master_broker_id: Some(id),
                master_address: set.address(id).map(str::to_string),
                master_epoch: Some(set.master_epoch),
                sync_state_set_epoch: Some(set.sync_state_set_epoch),
            },
            body: ElectMasterResponseBody {
                broker_member_group: member_group,
                sync_state_set: set.sync_state_set.clone(),
            },
        }),
        Some(id) => Ok(ElectOutcome::NewMaster {
            event: Event::ElectMaster {
                broker_name: broker_name.to_string(),
                new_master: Some(id),
                prev_master_epoch: set.master_epoch,
            },
            header: ElectMasterResponseHeader {
                master_broker_id: Some(id),
                master_address: set.address(id).map(str::to_string),
                master_epoch: Some(set.master_epoch + 1),
                sync_state_set_epoch: Some(set.sync_state_set_epoch + 1),
            },
            body: ElectMasterResponseBody {
                broker_member_group: member_group,
                sync_state_set: BTreeSet::from([id]),
            },
        }),
        None if requester.is_none() => Ok(ElectOutcome::NoMaster {
            event: set.master_broker_id.map(|_| Event::ElectMaster {
                broker_name: broker_name.to_string(),
                new_master: None,
                prev_master_epoch: set.master_epoch,
            }),
        }),
        None => Err(Refusal::new(
            rc::CONTROLLER_ELECT_MASTER_FAILED,
            "Failed to elect a new master",
        )),
    }
}

/// `DefaultElectPolicy.elect`: try the SyncStateSet, then (only with
/// `enableElectUncleanMaster`) every replica.
pub fn elect_policy(
    set: &BrokerSet,
    liveness: &impl Liveness,
    preferred: Option<i64>,
    settings: ElectSettings,
) -> Option<i64> {
    try_elect(set, &set.sync_state_set, liveness, preferred).or_else(|| {
        if settings.enable_elect_unclean_master {
            let all: BTreeSet<i64> = set.brokers.keys().copied().collect();
            try_elect(set, &all, liveness, preferred)
        } else {
            None
        }
    })
}

/// Among the alive `candidates`: keep the old master unless another is preferred; a preferred
/// id must be alive among them; otherwise the most up to date (epoch desc, max offset desc),
/// then the lowest election priority, then the lowest id.
fn try_elect(
    set: &BrokerSet,
    candidates: &BTreeSet<i64>,
    liveness: &impl Liveness,
    preferred: Option<i64>,
) -> Option<i64> {
    let alive: Vec<i64> = candidates
        .iter()
        .copied()
        .filter(|id| set.brokers.contains_key(id))
        .filter(|id| liveness.is_alive(&set.cluster_name, &set.broker_name, *id))
        .collect();
    if alive.is_empty() {
        return None;
    }
    if let Some(old) = set.master_broker_id {
        if alive.contains(&old) && preferred.is_none_or(|p| p == old) {
            return Some(old);
        }
    }
    if let Some(p) = preferred {
        return alive.contains(&p).then_some(p);
    }
    alive.into_iter().min_by_key(|id| {
        let rank = liveness
            .live_info(&set.cluster_name, &set.broker_name, *id)
            .map_or((-1, -1, i32::MAX), |i| {
                (i.epoch, i.max_offset, i.election_priority)
            });
        (
            std::cmp::Reverse(rank.0),
            std::cmp::Reverse(rank.1),
            rank.2,
            *id,
        )
    })
}

/// The sets whose master is not alive while at least one of their brokers is: the scan
/// elects for them (`scanNeedReelectBrokerSets`).
pub fn sets_needing_election(info: &ReplicasInfo, liveness: &impl Liveness) -> Vec<String> {
    info.broker_sets()
        .filter(|set| {
            set.master_broker_id
                .is_some_and(|m| !liveness.is_alive(&set.cluster_name, &set.broker_name, m))
                && set
                    .brokers
                    .keys()
                    .any(|id| liveness.is_alive(&set.cluster_name, &set.broker_name, *id))
        })
        .map(|set| set.broker_name.clone())
        .collect()
}

/// CONTROLLER_GET_SYNC_STATE_DATA: the sets asked about that exist.
pub fn get_sync_state_data(
    info: &ReplicasInfo,
    broker_names: &[String],
    liveness: &impl Liveness,
) -> Result<BrokerReplicasInfo, Refusal> {
    if broker_names.len() > MAX_NAMES_PER_QUERY {
        return Err(Refusal::invalid_request(format!(
            "at most {MAX_NAMES_PER_QUERY} broker names per request"
        )));
    }
    let mut out = BrokerReplicasInfo::default();
    for name in broker_names {
        let Some(set) = info.broker_set(name) else {
            continue;
        };
        let mut in_sync = Vec::new();
        let mut not_in_sync = Vec::new();
        for (id, replica) in &set.brokers {
            let identity = ReplicaIdentity {
                alive: Some(liveness.is_alive(&set.cluster_name, name, *id)),
                broker_address: replica.address.clone(),
                broker_id: *id,
                broker_name: name.clone(),
            };
            if set.sync_state_set.contains(id) {
                in_sync.push(identity);
            } else {
                not_in_sync.push(identity);
            }
        }
        out.replicas_info_table.insert(
            name.clone(),
            ReplicasInfoBody {
                in_sync_replicas: in_sync,
                master_address: set.master_address().map(str::to_string),
                master_broker_id: set.master_broker_id,
                master_epoch: set.master_epoch,
                not_in_sync_replicas: not_in_sync,
                sync_state_set_epoch: set.sync_state_set_epoch,
            },
        );
    }
    Ok(out)
}

/// CLEAN_BROKER_DATA: a set with a master, or ids still alive, are kept unless
/// `isCleanLivingBroker`.
pub fn clean_broker_data(
    info: &ReplicasInfo,
    header: &CleanControllerBrokerDataRequestHeader,
    liveness: &impl Liveness,
) -> Result<Event, Refusal> {
    let broker_name = header.broker_name.trim();
    check_name(broker_name, "brokerName")?;
    let invalid =
        |remark: String| Refusal::new(rc::CONTROLLER_INVALID_CLEAN_BROKER_METADATA, remark);
    let ids_text = header
        .broker_controller_ids_to_clean
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let ids: Option<BTreeSet<i64>> = match ids_text {
        None => None,
        Some(text) => Some(
            text.split(';')
                .map(|s| s.trim().parse::<i64>())
                .collect::<Result<_, _>>()
                .map_err(|e| {
                    invalid(format!(
                        "Please set the option <brokerControllerIdsToClean> according to the format, exception: {e}"
                    ))
                })?,
        ),
    };
    let set = info.broker_set(broker_name);
    if !header.is_clean_living_broker {
        if let Some(set) = set {
            if ids.is_none() && set.master_broker_id.is_some() {
                return Err(invalid(format!(
                    "Broker {broker_name} is still alive, clean up failure"
                )));
            }
            if let Some(id) = ids
                .iter()
                .flatten()
                .find(|id| liveness.is_alive(&set.cluster_name, broker_name, **id))
            {
                return Err(invalid(format!(
                    "Broker [{broker_name},  {id}] is still alive, clean up failure"
                )));
            }
        }
    }
    if set.is_none() {
        return Err(invalid(format!(
            "Broker {broker_name} is not existed,clean broker data failure."
        )));
    }
    Ok(Event::CleanBrokerData {
        broker_name: broker_name.to_string(),
        broker_ids: ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::liveness::{BrokerLiveTable, LiveInfo};
    use petrel_protocol::remoting::header::BrokerHeartbeatRequestHeader;
    use std::collections::HashMap;

    /// Liveness by hand: id → (epoch, max offset, priority) for the alive ones.
    #[derive(Default)]
    struct Alive(HashMap<i64, LiveInfo>);

    impl Alive {
        fn with(mut self, id: i64, epoch: i32, max_offset: i64, priority: i32) -> Alive {
            self.0.insert(
                id,
                LiveInfo {
                    broker_addr: String::new(),
                    last_heartbeat_ms: 0,
                    heartbeat_timeout_ms: 1,
                    epoch,
                    max_offset,
                    confirm_offset: 0,
                    election_priority: priority,
                    connection_id: None,
                },
            );
            self
        }
    }

    impl Liveness for Alive {
        fn live_info(&self, _: &str, _: &str, id: i64) -> Option<&LiveInfo> {
            self.0.get(&id)
        }
        fn is_alive(&self, _: &str, _: &str, id: i64) -> bool {
            self.0.contains_key(&id)
        }
    }

    fn apply(info: &mut ReplicasInfo, event: Event) {
        assert_eq!(info.apply(&event), crate::state::Applied::Done);
    }

    /// A set "b" with brokers 1..=n registered through the request path.
    fn registered(n: i64) -> ReplicasInfo {
        let mut info = ReplicasInfo::new();
        for id in 1..=n {
            let next = get_next_broker_id(
                &info,
                &GetNextBrokerIdRequestHeader {
                    cluster_name: Some("c".into()),
                    broker_name: Some("b".into()),
                },
            )
            .unwrap();
            assert_eq!(next.next_broker_id, Some(id));
            let event = apply_broker_id(
                &info,
                &ApplyBrokerIdRequestHeader {
                    cluster_name: Some("c".into()),
                    broker_name: Some("b".into()),
                    applied_broker_id: Some(id),
                    register_check_code: Some(format!("10.0.0.{id}:30911;17")),
                },
            )
            .unwrap();
            apply(&mut info, event);
        }
        info
    }

    fn elect_request(id: i64, designate: bool) -> ElectMasterRequestHeader {
        ElectMasterRequestHeader {
            cluster_name: "c".into(),
            broker_name: "b".into(),
            broker_id: id,
            designate_elect: designate,
            invoke_time: None,
        }
    }

    fn elect_and_apply(
        info: &mut ReplicasInfo,
        id: i64,
        alive: &Alive,
    ) -> ElectMasterResponseHeader {
        match elect_master(
            info,
            &elect_request(id, false),
            alive,
            ElectSettings::default(),
        )
        .unwrap()
        {
            ElectOutcome::NewMaster { event, header, .. } => {
                apply(info, event);
                header
            }
            other => panic!("expected a new master, got {other:?}"),
        }
    }

    fn set_sss(info: &mut ReplicasInfo, ids: &[i64]) {
        let set = info.broker_set("b").unwrap();
        let body = SyncStateSet {
            sync_state_set: ids.iter().copied().collect(),
            sync_state_set_epoch: set.sync_state_set_epoch,
        };
        let header = AlterSyncStateSetRequestHeader {
            broker_name: Some("b".into()),
            master_broker_id: set.master_broker_id,
            master_epoch: Some(set.master_epoch),
            invoke_time: 0,
        };
        let alive = ids
            .iter()
            .fold(Alive::default(), |a, id| a.with(*id, 0, 0, 0));
        let decision = alter_sync_state_set(info, &header, &body, &alive).unwrap();
        apply(info, decision.event.unwrap());
    }

    #[test]
    fn apply_broker_id_rules() {
        let info = registered(2);
        let apply_header = |id: i64, code: &str| ApplyBrokerIdRequestHeader {
            cluster_name: Some("c".into()),
            broker_name: Some("b".into()),
            applied_broker_id: Some(id),
            register_check_code: Some(code.into()),
        };
        // Same broker again: accepted. Another broker on a taken id: 2014.
        assert!(apply_broker_id(&info, &apply_header(2, "10.0.0.2:30911;17")).is_ok());
        assert_eq!(
            apply_broker_id(&info, &apply_header(2, "10.9.9.9:1;1"))
                .unwrap_err()
                .code,
            rc::CONTROLLER_BROKER_ID_INVALID
        );
        // A new set only starts at 1.
        let mut other = apply_header(2, "10.0.0.5:1;1");
        other.broker_name = Some("other".into());
        assert_eq!(
            apply_broker_id(&info, &other).unwrap_err().code,
            rc::CONTROLLER_BROKER_ID_INVALID
        );
        let mut missing = apply_header(3, "x;1");
        missing.register_check_code = None;
        assert_eq!(
            apply_broker_id(&info, &missing).unwrap_err().code,
            rc::CONTROLLER_INVALID_REQUEST
        );
    }

    #[test]
    fn first_election_elects_the_requester() {
        let mut info = registered(3);
        let header = elect_and_apply(&mut info, 2, &Alive::default());
        assert_eq!(header.master_broker_id, Some(2));
        assert_eq!(header.master_address.as_deref(), Some("10.0.0.2:30911"));
        assert_eq!(
            (header.master_epoch, header.sync_state_set_epoch),
            (Some(1), Some(1))
        );
        let set = info.broker_set("b").unwrap();
        assert_eq!(set.sync_state_set, BTreeSet::from([2]));
    }

    #[test]
    fn an_alive_master_is_kept_unless_another_is_designated() {
        let mut info = registered(3);
        elect_and_apply(&mut info, 1, &Alive::default());
        set_sss(&mut info, &[1, 2, 3]);
        let alive = Alive::default()
            .with(1, 1, 10, 0)
            .with(2, 1, 99, 0)
            .with(3, 1, 10, 0);
        let outcome = elect_master(
            &info,
            &elect_request(3, false),
            &alive,
            ElectSettings::default(),
        )
        .unwrap();
        assert!(matches!(
            outcome,
            ElectOutcome::MasterStillExists { ref header, .. } if header.master_broker_id == Some(1) && header.master_epoch == Some(1)
        ));
        // An admin designates 3: elected although 2 is further ahead.
        let outcome = elect_master(
            &info,
            &elect_request(3, true),
            &alive,
            ElectSettings::default(),
        )
        .unwrap();
        assert!(
            matches!(outcome, ElectOutcome::NewMaster { ref header, .. } if header.master_broker_id == Some(3))
        );
        // A designated id that is not an alive SyncStateSet member: nobody.
        let alive_without_3 = Alive::default().with(1, 1, 10, 0).with(2, 1, 10, 0);
        assert_eq!(
            elect_master(
                &info,
                &elect_request(3, true),
                &alive_without_3,
                ElectSettings::default()
            )
            .unwrap_err()
            .code,
            rc::CONTROLLER_ELECT_MASTER_FAILED
        );
    }

    #[test]
    fn candidates_rank_by_epoch_then_offset_then_priority() {
        let mut info = registered(4);
        elect_and_apply(&mut info, 1, &Alive::default());
        set_sss(&mut info, &[1, 2, 3, 4]);
        let trigger = elect_request(-1, false);
        let pick =
            |alive: &Alive| match elect_master(&info, &trigger, alive, ElectSettings::default())
                .unwrap()
            {
                ElectOutcome::NewMaster { header, .. } => header.master_broker_id,
                other => panic!("{other:?}"),
            };
        // 1 (the master) is dead in each case.
        assert_eq!(
            pick(&Alive::default().with(2, 1, 500, 0).with(3, 2, 10, 9)),
            Some(3)
        );
        assert_eq!(
            pick(&Alive::default().with(2, 1, 500, 0).with(3, 1, 10, 0)),
            Some(2)
        );
        assert_eq!(
            pick(&Alive::default().with(2, 1, 10, 5).with(3, 1, 10, 1)),
            Some(3)
        );
        assert_eq!(
            pick(&Alive::default().with(4, 1, 10, 1).with(3, 1, 10, 1)),
            Some(3)
        );
    }

    #[test]
    fn only_sync_state_set_members_unless_unclean_election_is_enabled() {
        let mut info = registered(2);
        elect_and_apply(&mut info, 1, &Alive::default());
        // The set is {1}; 1 is dead, 2 alive but not in sync.
        let alive = Alive::default().with(2, 1, 10, 0);
        let trigger = elect_request(-1, false);
        let outcome = elect_master(&info, &trigger, &alive, ElectSettings::default()).unwrap();
        let ElectOutcome::NoMaster { event: Some(event) } = outcome else {
            panic!("{outcome:?}")
        };
        let unclean = ElectSettings {
            enable_elect_unclean_master: true,
        };
        let outcome = elect_master(&info, &trigger, &alive, unclean).unwrap();
        assert!(
            matches!(outcome, ElectOutcome::NewMaster { ref header, .. } if header.master_broker_id == Some(2))
        );
        // Applying "no master" keeps the set and bumps the master epoch only.
        apply(&mut info, event);
        let set = info.broker_set("b").unwrap();
        assert_eq!(
            (
                set.master_broker_id,
                set.master_epoch,
                set.sync_state_set_epoch
            ),
            (None, 2, 1)
        );
        // A broker asking now (not the first election) fails with 2012.
        assert_eq!(
            elect_master(
                &info,
                &elect_request(2, false),
                &alive,
                ElectSettings::default()
            )
            .unwrap_err()
            .code,
            rc::CONTROLLER_ELECT_MASTER_FAILED
        );
        // Controller-triggered without a master to remove: no event.
        assert_eq!(
            elect_master(&info, &trigger, &alive, ElectSettings::default()).unwrap(),
            ElectOutcome::NoMaster { event: None }
        );
        info.check_invariants().unwrap();
    }

    #[test]
    fn alter_sync_state_set_checks_in_apache_order() {
        let mut info = registered(3);
        elect_and_apply(&mut info, 1, &Alive::default());
        let alive = Alive::default().with(1, 1, 0, 0).with(2, 1, 0, 0);
        let header = |master: i64, epoch: i32| AlterSyncStateSetRequestHeader {
            broker_name: Some("b".into()),
            master_broker_id: Some(master),
            master_epoch: Some(epoch),
            invoke_time: 0,
        };
        let body = |ids: &[i64], epoch: i32| SyncStateSet {
            sync_state_set: ids.iter().copied().collect(),
            sync_state_set_epoch: epoch,
        };
        let code = |h, b| {
            alter_sync_state_set(&info, &h, &b, &alive)
                .unwrap_err()
                .code
        };
        assert_eq!(
            code(header(1, 1), body(&[1], 1)),
            rc::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED
        );
        assert_eq!(
            code(header(2, 1), body(&[1, 2], 1)),
            rc::CONTROLLER_INVALID_MASTER
        );
        assert_eq!(
            code(header(1, 0), body(&[1, 2], 1)),
            rc::CONTROLLER_FENCED_MASTER_EPOCH
        );
        assert_eq!(
            code(header(1, 1), body(&[1, 2], 0)),
            rc::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH
        );
        assert_eq!(
            code(header(1, 1), body(&[1, 7], 1)),
            rc::CONTROLLER_INVALID_REPLICAS
        );
        assert_eq!(
            code(header(1, 1), body(&[1, 3], 1)),
            rc::CONTROLLER_BROKER_NOT_ALIVE
        );
        assert_eq!(
            code(header(1, 1), body(&[2], 1)),
            rc::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED
        );
        let ok = alter_sync_state_set(&info, &header(1, 1), &body(&[1, 2], 1), &alive).unwrap();
        assert_eq!(ok.header.new_sync_state_set_epoch, 2);
        assert_eq!(ok.body.unwrap().sync_state_set_epoch, 2);
    }

    #[test]
    fn register_reports_an_alive_master_and_address_changes() {
        let mut info = registered(2);
        elect_and_apply(&mut info, 1, &Alive::default());
        let request = |id: i64, addr: &str| RegisterBrokerToControllerRequestHeader {
            cluster_name: Some("c".into()),
            broker_name: Some("b".into()),
            broker_id: Some(id),
            broker_address: Some(addr.into()),
            invoke_time: 0,
        };
        let alive = Alive::default().with(1, 1, 0, 0);
        let d = register_broker(&info, &request(2, "10.0.0.2:30911"), &alive).unwrap();
        assert_eq!(d.event, None);
        assert_eq!(d.header.master_broker_id, Some(1));
        assert_eq!(d.header.master_address.as_deref(), Some("10.0.0.1:30911"));
        assert_eq!(d.body.unwrap().sync_state_set, BTreeSet::from([1]));
        // Master dead: no master in the answer. New address: an event.
        let d = register_broker(&info, &request(2, "10.0.0.22:30911"), &Alive::default()).unwrap();
        assert_eq!(d.header.master_broker_id, None);
        assert!(matches!(d.event, Some(Event::UpdateBrokerAddress { .. })));
        assert_eq!(
            register_broker(&info, &request(9, "x:1"), &alive)
                .unwrap_err()
                .code,
            rc::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED
        );
    }

    #[test]
    fn scan_finds_sets_with_a_dead_master_and_a_live_member() {
        let mut info = registered(2);
        elect_and_apply(&mut info, 1, &Alive::default());
        assert_eq!(
            sets_needing_election(&info, &Alive::default().with(1, 1, 0, 0)),
            Vec::<String>::new()
        );
        assert_eq!(
            sets_needing_election(&info, &Alive::default()),
            Vec::<String>::new()
        );
        assert_eq!(
            sets_needing_election(&info, &Alive::default().with(2, 1, 0, 0)),
            vec!["b".to_string()]
        );
    }

    #[test]
    fn sync_state_data_and_clean() {
        let mut info = registered(2);
        elect_and_apply(&mut info, 1, &Alive::default());
        let alive = Alive::default().with(1, 1, 0, 0);
        let data = get_sync_state_data(&info, &["b".into(), "nope".into()], &alive).unwrap();
        let b = &data.replicas_info_table["b"];
        assert_eq!(b.in_sync_replicas.len(), 1);
        assert_eq!(b.in_sync_replicas[0].alive, Some(true));
        assert_eq!(b.not_in_sync_replicas[0].broker_id, 2);
        assert!(!data.replicas_info_table.contains_key("nope"));
        let clean = |ids: Option<&str>, living: bool| CleanControllerBrokerDataRequestHeader {
            cluster_name: Some("c".into()),
            broker_name: "b".into(),
            broker_controller_ids_to_clean: ids.map(str::to_string),
            is_clean_living_broker: living,
            invoke_time: 0,
        };
        let code = |h| clean_broker_data(&info, &h, &alive).unwrap_err().code;
        assert_eq!(
            code(clean(None, false)),
            rc::CONTROLLER_INVALID_CLEAN_BROKER_METADATA
        );
        assert_eq!(
            code(clean(Some("1"), false)),
            rc::CONTROLLER_INVALID_CLEAN_BROKER_METADATA
        );
        assert_eq!(
            code(clean(Some("x"), false)),
            rc::CONTROLLER_INVALID_CLEAN_BROKER_METADATA
        );
        let event = clean_broker_data(&info, &clean(Some("2"), false), &alive).unwrap();
        apply(&mut info, event);
        assert_eq!(info.broker_set("b").unwrap().brokers.len(), 1);
        let event = clean_broker_data(&info, &clean(None, true), &alive).unwrap();
        apply(&mut info, event);
        assert!(info.is_empty());
    }

    #[test]
    fn the_heartbeat_table_drives_the_policy() {
        let mut info = registered(2);
        elect_and_apply(&mut info, 1, &Alive::default());
        set_sss(&mut info, &[1, 2]);
        let mut table = BrokerLiveTable::new();
        let hb = |id: i64| BrokerHeartbeatRequestHeader {
            cluster_name: "c".into(),
            broker_addr: format!("10.0.0.{id}:30911"),
            broker_name: "b".into(),
            broker_id: Some(id),
            epoch: Some(1),
            max_offset: Some(10),
            confirm_offset: None,
            heartbeat_timeout_mills: Some(1_000),
            election_priority: None,
        };
        table.on_heartbeat(&hb(1), 1, 0, 10_000);
        table.on_heartbeat(&hb(2), 2, 0, 10_000);
        assert!(sets_needing_election(&info, &table.at(500)).is_empty());
        table.on_connection_closed(1);
        assert_eq!(
            sets_needing_election(&info, &table.at(500)),
            vec!["b".to_string()]
        );
        let outcome = elect_master(
            &info,
            &elect_request(-1, false),
            &table.at(500),
            ElectSettings::default(),
        )
        .unwrap();
        assert!(
            matches!(outcome, ElectOutcome::NewMaster { ref header, .. } if header.master_broker_id == Some(2) && header.master_epoch == Some(2))
        );
    }
}
