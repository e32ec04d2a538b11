//! 5.x controller mode bodies (`remoting/.../protocol/body/{SyncStateSet,ElectMasterResponseBody,
//! BrokerReplicasInfo,EpochEntryCache}.java`, `protocol/EpochEntry.java`; `BrokerMemberGroup` is
//! shared with the name server's GET_BROKER_MEMBER_GROUP and lives in `route`).
//!
//! Java writes these with fastjson: fields in alphabetical order, `null`s left out, `Set<Long>`
//! as a JSON array, `Map<Long, String>` keys bare (`{1:"addr"}`). Decoding reads that form and
//! standard JSON; encoding writes standard JSON (`{"1":"addr"}`), which fastjson reads too.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{decode_json, json_body, BodyError, BrokerMemberGroup, JsonBody};

/// `SyncStateSet.java`: the broker ids in sync with the master, and the set's epoch. Body of
/// CONTROLLER_ALTER_SYNC_STATE_SET (1001) requests, of REGISTER_BROKER (1003),
/// GET_REPLICA_INFO (1004) answers and of NOTIFY_BROKER_ROLE_CHANGED (1008).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncStateSet {
    pub sync_state_set: BTreeSet<i64>,
    pub sync_state_set_epoch: i32,
}

/// `ElectMasterResponseBody.java`: CONTROLLER_ELECT_MASTER's answer body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ElectMasterResponseBody {
    /// The set's registered brokers: controller broker id → address.
    pub broker_member_group: BrokerMemberGroup,
    pub sync_state_set: BTreeSet<i64>,
}

/// `BrokerReplicasInfo.java`: CONTROLLER_GET_SYNC_STATE_DATA's (1006) answer, per broker name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerReplicasInfo {
    pub replicas_info_table: BTreeMap<String, ReplicasInfo>,
}

/// `BrokerReplicasInfo.ReplicasInfo`: one broker set's master and replicas.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicasInfo {
    pub in_sync_replicas: Vec<ReplicaIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_broker_id: Option<i64>,
    pub master_epoch: i32,
    pub not_in_sync_replicas: Vec<ReplicaIdentity>,
    pub sync_state_set_epoch: i32,
}

/// `BrokerReplicasInfo.ReplicaIdentity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicaIdentity {
    /// Whether the controller hears the broker's heartbeats (`null` when it does not know).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alive: Option<bool>,
    pub broker_address: String,
    pub broker_id: i64,
    pub broker_name: String,
}

/// `EpochEntryCache.java`: a broker's epoch file and max offset, GET_BROKER_EPOCH_CACHE's (1007)
/// answer (served by brokers, read by admin tools).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EpochEntryCache {
    pub broker_id: i64,
    pub broker_name: String,
    pub cluster_name: String,
    pub epoch_list: Vec<EpochEntry>,
    pub max_offset: i64,
}

/// `EpochEntry.java`: the CommitLog range `[startOffset, endOffset)` written under `epoch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EpochEntry {
    /// `Long.MAX_VALUE` for the current (last) epoch.
    pub end_offset: i64,
    pub epoch: i32,
    pub start_offset: i64,
}

impl Default for EpochEntry {
    /// Java's field initialiser: an entry is open-ended until the next one starts.
    fn default() -> Self {
        EpochEntry {
            end_offset: i64::MAX,
            epoch: 0,
            start_offset: 0,
        }
    }
}

/// The body of CONTROLLER_GET_SYNC_STATE_DATA (1006) requests: the broker names asked about
/// (`RemotingSerializable.encode(List<String>)`, a JSON array).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerNameList(pub Vec<String>);

impl JsonBody for BrokerNameList {
    fn decode(bytes: &[u8]) -> Result<Self, BodyError> {
        decode_json::<Vec<String>>(bytes).map(BrokerNameList)
    }
    fn encode(&self) -> Vec<u8> {
        super::encode_json(&self.0)
    }
}

json_body!(
    SyncStateSet,
    ElectMasterResponseBody,
    BrokerReplicasInfo,
    EpochEntryCache
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_state_set_round_trips_java_json() {
        let java = br#"{"syncStateSet":[2,1],"syncStateSetEpoch":3}"#;
        let set = SyncStateSet::decode(java).unwrap();
        assert_eq!(set.sync_state_set, [1, 2].into_iter().collect());
        assert_eq!(set.sync_state_set_epoch, 3);
        assert_eq!(
            set.encode(),
            br#"{"syncStateSet":[1,2],"syncStateSetEpoch":3}"#.to_vec()
        );
        assert_eq!(SyncStateSet::decode(&set.encode()).unwrap(), set);
    }

    #[test]
    fn elect_master_body_reads_fastjson_bare_keys() {
        let java = br#"{"brokerMemberGroup":{"brokerAddrs":{1:"10.0.0.1:30911",2:"10.0.0.2:30911"},"brokerName":"broker-a","cluster":"DefaultCluster"},"syncStateSet":[1]}"#;
        let body = ElectMasterResponseBody::decode(java).unwrap();
        assert_eq!(
            body.broker_member_group
                .broker_addrs
                .get(&2)
                .map(String::as_str),
            Some("10.0.0.2:30911")
        );
        assert_eq!(body.sync_state_set, [1].into_iter().collect());
        let standard = String::from_utf8(body.encode()).unwrap();
        assert_eq!(
            standard,
            r#"{"brokerMemberGroup":{"brokerAddrs":{"1":"10.0.0.1:30911","2":"10.0.0.2:30911"},"brokerName":"broker-a","cluster":"DefaultCluster"},"syncStateSet":[1]}"#
        );
        assert_eq!(
            ElectMasterResponseBody::decode(standard.as_bytes()).unwrap(),
            body
        );
    }

    #[test]
    fn broker_replicas_info_round_trips() {
        let java = br#"{"replicasInfoTable":{"broker-a":{"inSyncReplicas":[{"alive":true,"brokerAddress":"10.0.0.1:30911","brokerId":1,"brokerName":"broker-a"}],"masterAddress":"10.0.0.1:30911","masterBrokerId":1,"masterEpoch":2,"notInSyncReplicas":[{"alive":false,"brokerAddress":"10.0.0.2:30911","brokerId":2,"brokerName":"broker-a"}],"syncStateSetEpoch":4}}}"#;
        let info = BrokerReplicasInfo::decode(java).unwrap();
        let a = &info.replicas_info_table["broker-a"];
        assert_eq!(a.master_broker_id, Some(1));
        assert_eq!(a.master_epoch, 2);
        assert_eq!(a.not_in_sync_replicas[0].alive, Some(false));
        assert_eq!(info.encode(), java.to_vec());
        // No master: Java leaves the master fields out.
        let empty = ReplicasInfo::default();
        assert_eq!(
            serde_json::to_string(&empty).unwrap(),
            r#"{"inSyncReplicas":[],"masterEpoch":0,"notInSyncReplicas":[],"syncStateSetEpoch":0}"#
        );
    }

    #[test]
    fn epoch_entry_cache_round_trips() {
        let java = br#"{"brokerId":1,"brokerName":"broker-a","clusterName":"DefaultCluster","epochList":[{"endOffset":1024,"epoch":1,"startOffset":0},{"endOffset":9223372036854775807,"epoch":2,"startOffset":1024}],"maxOffset":2048}"#;
        let cache = EpochEntryCache::decode(java).unwrap();
        assert_eq!(cache.epoch_list.len(), 2);
        assert_eq!(cache.epoch_list[1].end_offset, i64::MAX);
        assert_eq!(cache.encode(), java.to_vec());
        // An entry without endOffset is open-ended, as Java's initialiser makes it.
        let entry: EpochEntry = decode_json(br#"{"epoch":3,"startOffset":7}"#).unwrap();
        assert_eq!(entry.end_offset, i64::MAX);
    }

    #[test]
    fn broker_name_list_is_a_json_array() {
        let names = BrokerNameList::decode(br#"["broker-a","broker-b"]"#).unwrap();
        assert_eq!(names.0, vec!["broker-a".to_string(), "broker-b".into()]);
        assert_eq!(names.encode(), br#"["broker-a","broker-b"]"#.to_vec());
        assert!(BrokerNameList::decode(br#"{"x":1}"#).is_err());
    }
}
