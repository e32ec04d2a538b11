//! Which brokers are alive: the leader's heartbeat table (Apache's
//! `DefaultBrokerHeartbeatManager`). Not replicated: each controller knows what it hears.
//!
//! Pure: the caller passes the time (ms on a monotonic clock). A broker is alive while
//! `now ≤ last heartbeat + its timeout`; its entry goes at once when the connection it
//! heartbeats on closes, which is how a killed master is noticed in well under a second.

use std::collections::HashMap;

use petrel_protocol::remoting::header::BrokerHeartbeatRequestHeader;

/// The most brokers the table tracks; heartbeats from more are ignored (and logged).
pub const MAX_TRACKED_BROKERS: usize = 65_536;

/// A broker, as heartbeats name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerKey {
    pub cluster_name: String,
    pub broker_name: String,
    pub broker_id: i64,
}

impl BrokerKey {
    pub fn new(cluster_name: &str, broker_name: &str, broker_id: i64) -> BrokerKey {
        BrokerKey {
            cluster_name: cluster_name.to_string(),
            broker_name: broker_name.to_string(),
            broker_id,
        }
    }
}

/// What the last heartbeat said (`BrokerLiveInfo`). The election ranks candidates by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveInfo {
    pub broker_addr: String,
    pub last_heartbeat_ms: u64,
    pub heartbeat_timeout_ms: u64,
    /// The broker's last master epoch; −1 unknown.
    pub epoch: i32,
    /// CommitLog max offset; −1 unknown.
    pub max_offset: i64,
    pub confirm_offset: i64,
    /// Lower wins; `i32::MAX` when not given.
    pub election_priority: i32,
    /// The connection the heartbeats arrive on; `None` for an entry the controller assumed
    /// when it became leader.
    pub connection_id: Option<u64>,
}

impl LiveInfo {
    pub fn is_alive(&self, now_ms: u64) -> bool {
        now_ms
            <= self
                .last_heartbeat_ms
                .saturating_add(self.heartbeat_timeout_ms)
    }
}

/// Answers the election and validation's questions about liveness.
pub trait Liveness {
    fn live_info(&self, cluster_name: &str, broker_name: &str, broker_id: i64)
        -> Option<&LiveInfo>;
    fn is_alive(&self, cluster_name: &str, broker_name: &str, broker_id: i64) -> bool;
}

/// The heartbeat table.
#[derive(Debug, Default)]
pub struct BrokerLiveTable {
    brokers: HashMap<BrokerKey, LiveInfo>,
}

impl BrokerLiveTable {
    pub fn new() -> BrokerLiveTable {
        BrokerLiveTable::default()
    }

    pub fn len(&self) -> usize {
        self.brokers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.brokers.is_empty()
    }

    /// Records a heartbeat. Epoch and offsets only move forward (a heartbeat overtaken by a
    /// newer one must not make the broker look less up to date), as in Apache. Returns
    /// `false` when the heartbeat was ignored (no broker id, or the table is full).
    pub fn on_heartbeat(
        &mut self,
        header: &BrokerHeartbeatRequestHeader,
        connection_id: u64,
        now_ms: u64,
        default_timeout_ms: u64,
    ) -> bool {
        let Some(broker_id) = header.broker_id else {
            return false;
        };
        let key = BrokerKey::new(&header.cluster_name, &header.broker_name, broker_id);
        let epoch = header.epoch.unwrap_or(-1);
        let max_offset = header.max_offset.unwrap_or(-1);
        let confirm_offset = header.confirm_offset.unwrap_or(-1);
        let timeout_ms = header
            .heartbeat_timeout_mills
            .and_then(|t| u64::try_from(t).ok())
            .filter(|t| *t > 0)
            .unwrap_or(default_timeout_ms);
        let priority = header.election_priority.unwrap_or(i32::MAX);
        if let Some(prev) = self.brokers.get_mut(&key) {
            prev.broker_addr.clone_from(&header.broker_addr);
            prev.last_heartbeat_ms = now_ms;
            prev.heartbeat_timeout_ms = timeout_ms;
            prev.election_priority = priority;
            prev.connection_id = Some(connection_id);
            if epoch > prev.epoch || (epoch == prev.epoch && max_offset > prev.max_offset) {
                prev.epoch = epoch;
                prev.max_offset = max_offset;
                prev.confirm_offset = confirm_offset;
            }
            return true;
        }
        if self.brokers.len() >= MAX_TRACKED_BROKERS {
            return false;
        }
        self.brokers.insert(
            key,
            LiveInfo {
                broker_addr: header.broker_addr.clone(),
                last_heartbeat_ms: now_ms,
                heartbeat_timeout_ms: timeout_ms,
                epoch,
                max_offset,
                confirm_offset,
                election_priority: priority,
                connection_id: Some(connection_id),
            },
        );
        true
    }

    /// Forgets the brokers that heartbeat on `connection_id`; returns them.
    pub fn on_connection_closed(&mut self, connection_id: u64) -> Vec<BrokerKey> {
        let gone: Vec<BrokerKey> = self
            .brokers
            .iter()
            .filter(|(_, info)| info.connection_id == Some(connection_id))
            .map(|(key, _)| key.clone())
            .collect();
        for key in &gone {
            self.brokers.remove(key);
        }
        gone
    }

    /// Forgets brokers silent past their timeout; returns them.
    pub fn remove_expired(&mut self, now_ms: u64) -> Vec<BrokerKey> {
        let gone: Vec<BrokerKey> = self
            .brokers
            .iter()
            .filter(|(_, info)| !info.is_alive(now_ms))
            .map(|(key, _)| key.clone())
            .collect();
        for key in &gone {
            self.brokers.remove(key);
        }
        gone
    }

    /// A broker that just became master at its own request (the first election of its set)
    /// is alive now, on the connection it asked on, even if its first heartbeat is still on
    /// its way: a scan in between must not depose it.
    pub fn note_requester_alive(
        &mut self,
        key: BrokerKey,
        addr: &str,
        connection_id: u64,
        now_ms: u64,
        timeout_ms: u64,
    ) {
        if let Some(info) = self.brokers.get_mut(&key) {
            info.last_heartbeat_ms = info.last_heartbeat_ms.max(now_ms);
            return;
        }
        if self.brokers.len() >= MAX_TRACKED_BROKERS {
            return;
        }
        self.brokers.insert(
            key,
            LiveInfo {
                broker_addr: addr.to_string(),
                last_heartbeat_ms: now_ms,
                heartbeat_timeout_ms: timeout_ms,
                epoch: -1,
                max_offset: -1,
                confirm_offset: -1,
                election_priority: i32::MAX,
                connection_id: Some(connection_id),
            },
        );
    }

    /// A controller that just became leader has heard nobody yet: it counts every known
    /// replica as heard from `now` (unknown epoch and offset), so a live master is not deposed
    /// before it had a chance to heartbeat, and a dead one is replaced after one timeout.
    pub fn assume_alive<'a>(
        &mut self,
        replicas: impl IntoIterator<Item = (BrokerKey, &'a str)>,
        now_ms: u64,
        timeout_ms: u64,
    ) {
        for (key, addr) in replicas {
            if self.brokers.len() >= MAX_TRACKED_BROKERS {
                return;
            }
            let entry = self.brokers.entry(key).or_insert_with(|| LiveInfo {
                broker_addr: addr.to_string(),
                last_heartbeat_ms: now_ms,
                heartbeat_timeout_ms: timeout_ms,
                epoch: -1,
                max_offset: -1,
                confirm_offset: -1,
                election_priority: i32::MAX,
                connection_id: None,
            });
            entry.last_heartbeat_ms = entry.last_heartbeat_ms.max(now_ms);
        }
    }

    /// A view answering liveness questions at `now_ms`.
    pub fn at(&self, now_ms: u64) -> LivenessAt<'_> {
        LivenessAt {
            table: self,
            now_ms,
        }
    }
}

/// [`BrokerLiveTable`] seen at one instant.
pub struct LivenessAt<'a> {
    table: &'a BrokerLiveTable,
    now_ms: u64,
}

impl Liveness for LivenessAt<'_> {
    fn live_info(
        &self,
        cluster_name: &str,
        broker_name: &str,
        broker_id: i64,
    ) -> Option<&LiveInfo> {
        self.table
            .brokers
            .get(&BrokerKey::new(cluster_name, broker_name, broker_id))
    }

    fn is_alive(&self, cluster_name: &str, broker_name: &str, broker_id: i64) -> bool {
        self.live_info(cluster_name, broker_name, broker_id)
            .is_some_and(|info| info.is_alive(self.now_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heartbeat(id: i64, epoch: i32, max_offset: i64) -> BrokerHeartbeatRequestHeader {
        BrokerHeartbeatRequestHeader {
            cluster_name: "c".into(),
            broker_addr: format!("10.0.0.{id}:30911"),
            broker_name: "b".into(),
            broker_id: Some(id),
            epoch: Some(epoch),
            max_offset: Some(max_offset),
            confirm_offset: Some(0),
            heartbeat_timeout_mills: Some(1_000),
            election_priority: None,
        }
    }

    #[test]
    fn alive_until_the_timeout_then_expired() {
        let mut table = BrokerLiveTable::new();
        assert!(table.on_heartbeat(&heartbeat(1, 1, 100), 7, 10_000, 10_000));
        assert!(table.at(11_000).is_alive("c", "b", 1));
        assert!(!table.at(11_001).is_alive("c", "b", 1));
        assert!(!table.at(10_000).is_alive("c", "b", 2));
        assert_eq!(table.remove_expired(11_001).len(), 1);
        assert!(table.is_empty());
    }

    #[test]
    fn closing_the_connection_forgets_its_brokers_at_once() {
        let mut table = BrokerLiveTable::new();
        table.on_heartbeat(&heartbeat(1, 1, 100), 7, 0, 10_000);
        table.on_heartbeat(&heartbeat(2, 1, 100), 8, 0, 10_000);
        let gone = table.on_connection_closed(7);
        assert_eq!(gone, vec![BrokerKey::new("c", "b", 1)]);
        assert!(!table.at(1).is_alive("c", "b", 1));
        assert!(table.at(1).is_alive("c", "b", 2));
    }

    #[test]
    fn epoch_and_offset_only_move_forward() {
        let mut table = BrokerLiveTable::new();
        table.on_heartbeat(&heartbeat(1, 2, 500), 7, 0, 10_000);
        table.on_heartbeat(&heartbeat(1, 1, 900), 7, 5, 10_000);
        let info = table.at(5).live_info("c", "b", 1).cloned().unwrap();
        assert_eq!(
            (info.epoch, info.max_offset, info.last_heartbeat_ms),
            (2, 500, 5)
        );
        table.on_heartbeat(&heartbeat(1, 2, 600), 7, 6, 10_000);
        assert_eq!(table.at(6).live_info("c", "b", 1).unwrap().max_offset, 600);
    }

    #[test]
    fn a_heartbeat_without_id_is_ignored_and_defaults_apply() {
        let mut table = BrokerLiveTable::new();
        let mut header = heartbeat(1, 1, 1);
        header.broker_id = None;
        assert!(!table.on_heartbeat(&header, 1, 0, 10_000));
        let mut header = heartbeat(1, 1, 1);
        header.heartbeat_timeout_mills = None;
        table.on_heartbeat(&header, 1, 0, 3_000);
        let view = table.at(0);
        let info = view.live_info("c", "b", 1).unwrap();
        assert_eq!(
            (info.heartbeat_timeout_ms, info.election_priority),
            (3_000, i32::MAX)
        );
    }

    #[test]
    fn a_new_leader_assumes_known_replicas_alive_for_one_timeout() {
        let mut table = BrokerLiveTable::new();
        table.assume_alive(
            [(BrokerKey::new("c", "b", 1), "10.0.0.1:30911")],
            1_000,
            2_000,
        );
        assert!(table.at(3_000).is_alive("c", "b", 1));
        assert!(!table.at(3_001).is_alive("c", "b", 1));
        let view = table.at(0);
        let info = view.live_info("c", "b", 1).unwrap();
        assert_eq!(
            (info.epoch, info.max_offset, info.connection_id),
            (-1, -1, None)
        );
    }

    #[test]
    fn a_first_master_counts_as_alive_on_the_connection_it_asked_on() {
        let mut table = BrokerLiveTable::new();
        table.note_requester_alive(BrokerKey::new("c", "b", 1), "10.0.0.1:30911", 9, 100, 1_000);
        assert!(table.at(1_100).is_alive("c", "b", 1));
        assert_eq!(table.on_connection_closed(9).len(), 1);
        // An existing entry only gets fresher.
        table.on_heartbeat(&heartbeat(2, 1, 100), 3, 0, 10_000);
        table.note_requester_alive(BrokerKey::new("c", "b", 2), "x", 4, 50, 1_000);
        let view = table.at(50);
        let info = view.live_info("c", "b", 2).unwrap();
        assert_eq!(
            (info.last_heartbeat_ms, info.connection_id, info.epoch),
            (50, Some(3), 1)
        );
    }
}
