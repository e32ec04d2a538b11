//! 5.x controller mode (AutoSwitch HA): the headers brokers, controllers and admin tools
//! exchange. Checked against Apache RocketMQ 5.3.3 (`develop` @ `8fc57f14`):
//! `remoting/.../protocol/header/controller/{AlterSyncStateSet,ElectMaster,GetReplicaInfo}*`,
//! `GetMetaDataResponseHeader`, `register/{RegisterBrokerToController,GetNextBrokerId,
//! ApplyBrokerId}*` (the package 5.x brokers use), `admin/CleanControllerBrokerDataRequestHeader`,
//! and `NotifyBrokerRoleChangedRequestHeader`. BROKER_HEARTBEAT (904)'s
//! `BrokerHeartbeatRequestHeader` is the name server's (`namesrv.rs`): the same header goes to both.
//!
//! Java's boxed fields (`Long`, `Integer`) without `@CFNotNull` are `Option`s here; primitive
//! fields (`long`, `int`, `boolean`) always travel and read as Java's zero value when absent.
//! Broker ids are `Long`, epochs `Integer`. The bodies that travel with these headers
//! (`SyncStateSet`, `ElectMasterResponseBody`, ...) are in [`crate::remoting::body`].

use super::command_header;

command_header! {
    /// CONTROLLER_ALTER_SYNC_STATE_SET (1001), master → controller: replace the broker set's
    /// SyncStateSet with the one in the body (`SyncStateSet` JSON, carrying the epoch the
    /// master based its change on).
    pub struct AlterSyncStateSetRequestHeader {
        broker_name: String = "brokerName" optional,
        master_broker_id: i64 = "masterBrokerId" optional,
        master_epoch: i32 = "masterEpoch" optional,
        /// ms since the epoch when the request was built.
        invoke_time: i64 = "invokeTime" default(0),
    }
}

command_header! {
    /// CONTROLLER_ALTER_SYNC_STATE_SET answer: the epoch of the accepted set.
    pub struct AlterSyncStateSetResponseHeader {
        new_sync_state_set_epoch: i32 = "newSyncStateSetEpoch" default(0),
    }
}

command_header! {
    /// CONTROLLER_ELECT_MASTER (1002). `brokerId` −1 (or absent): the controller triggered it
    /// (no preferred broker). A broker sends its own id: it is elected if the set has never
    /// had a master. An admin sends `designateElect = true`: that id is preferred if valid.
    pub struct ElectMasterRequestHeader {
        cluster_name: String = "clusterName" default(String::new()),
        broker_name: String = "brokerName" default(String::new()),
        broker_id: i64 = "brokerId" default(-1),
        designate_elect: bool = "designateElect" default(false),
        invoke_time: i64 = "invokeTime" optional,
    }
}

command_header! {
    /// CONTROLLER_ELECT_MASTER answer; body `ElectMasterResponseBody`.
    pub struct ElectMasterResponseHeader {
        master_broker_id: i64 = "masterBrokerId" optional,
        master_address: String = "masterAddress" optional,
        master_epoch: i32 = "masterEpoch" optional,
        sync_state_set_epoch: i32 = "syncStateSetEpoch" optional,
    }
}

command_header! {
    /// CONTROLLER_REGISTER_BROKER (1003), broker → controller, after it has a broker id:
    /// records (or updates) the broker's address in its set.
    pub struct RegisterBrokerToControllerRequestHeader {
        cluster_name: String = "clusterName" optional,
        broker_name: String = "brokerName" optional,
        broker_id: i64 = "brokerId" optional,
        /// The broker's remoting address, `ip:port`.
        broker_address: String = "brokerAddress" optional,
        invoke_time: i64 = "invokeTime" default(0),
    }
}

command_header! {
    /// CONTROLLER_REGISTER_BROKER answer; body `SyncStateSet`.
    pub struct RegisterBrokerToControllerResponseHeader {
        cluster_name: String = "clusterName" optional,
        broker_name: String = "brokerName" optional,
        master_broker_id: i64 = "masterBrokerId" optional,
        master_address: String = "masterAddress" optional,
        master_epoch: i32 = "masterEpoch" optional,
        sync_state_set_epoch: i32 = "syncStateSetEpoch" optional,
    }
}

command_header! {
    /// CONTROLLER_GET_REPLICA_INFO (1004): the broker set's master and (body) SyncStateSet.
    pub struct GetReplicaInfoRequestHeader {
        broker_name: String = "brokerName" optional,
    }
}

command_header! {
    /// CONTROLLER_GET_REPLICA_INFO answer; body `SyncStateSet`.
    pub struct GetReplicaInfoResponseHeader {
        master_broker_id: i64 = "masterBrokerId" optional,
        master_address: String = "masterAddress" optional,
        master_epoch: i32 = "masterEpoch" optional,
    }
}

command_header! {
    /// CONTROLLER_GET_METADATA_INFO (1005) answer, from any controller: who leads the
    /// controller group. `peers` is the `controllerDLegerPeers` text (`n0-host:port;...`).
    pub struct GetMetaDataResponseHeader {
        group: String = "group" optional,
        controller_leader_id: String = "controllerLeaderId" optional,
        controller_leader_address: String = "controllerLeaderAddress" optional,
        /// Java's field is `boolean isLeader`, so that is the wire name.
        is_leader: bool = "isLeader" default(false),
        peers: String = "peers" optional,
    }
}

command_header! {
    /// NOTIFY_BROKER_ROLE_CHANGED (1008), controller → broker; body `SyncStateSet`.
    pub struct NotifyBrokerRoleChangedRequestHeader {
        master_address: String = "masterAddress" optional,
        master_epoch: i32 = "masterEpoch" optional,
        sync_state_set_epoch: i32 = "syncStateSetEpoch" optional,
        master_broker_id: i64 = "masterBrokerId" optional,
    }
}

command_header! {
    /// CONTROLLER_GET_NEXT_BROKER_ID (1012): the id a new broker of this set should apply for.
    pub struct GetNextBrokerIdRequestHeader {
        cluster_name: String = "clusterName" optional,
        broker_name: String = "brokerName" optional,
    }
}

command_header! {
    /// CONTROLLER_GET_NEXT_BROKER_ID answer. The first id of a set is 1.
    pub struct GetNextBrokerIdResponseHeader {
        cluster_name: String = "clusterName" optional,
        broker_name: String = "brokerName" optional,
        next_broker_id: i64 = "nextBrokerId" optional,
    }
}

command_header! {
    /// CONTROLLER_APPLY_BROKER_ID (1013): claim `appliedBrokerId` for the broker identified
    /// by `registerCheckCode` (`brokerAddress;timestamp` in Apache's broker).
    pub struct ApplyBrokerIdRequestHeader {
        cluster_name: String = "clusterName" optional,
        broker_name: String = "brokerName" optional,
        applied_broker_id: i64 = "appliedBrokerId" optional,
        register_check_code: String = "registerCheckCode" optional,
    }
}

command_header! {
    /// CONTROLLER_APPLY_BROKER_ID answer.
    pub struct ApplyBrokerIdResponseHeader {
        cluster_name: String = "clusterName" optional,
        broker_name: String = "brokerName" optional,
    }
}

command_header! {
    /// CLEAN_BROKER_DATA (1011), admin → controller: forget a broker set (or some of its ids).
    pub struct CleanControllerBrokerDataRequestHeader {
        cluster_name: String = "clusterName" optional,
        broker_name: String = "brokerName" required,
        /// `;`-separated broker ids; absent: the whole set.
        broker_controller_ids_to_clean: String = "brokerControllerIdsToClean" optional,
        /// Also clean ids that are still heartbeating. Java's field is `boolean isCleanLivingBroker`.
        is_clean_living_broker: bool = "isCleanLivingBroker" default(false),
        invoke_time: i64 = "invokeTime" default(0),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{BrokerHeartbeatRequestHeader, CommandHeader, HeaderError};
    use super::*;
    use crate::remoting::ExtFields;

    fn fields(pairs: &[(&str, &str)]) -> ExtFields {
        pairs.iter().map(|(k, v)| (*k, *v)).collect()
    }

    #[test]
    fn elect_master_reads_java_broker_and_controller_triggers() {
        // ElectMasterRequestHeader.ofBrokerTrigger as Java writes it.
        let header = ElectMasterRequestHeader::decode(&fields(&[
            ("clusterName", "DefaultCluster"),
            ("brokerName", "broker-a"),
            ("brokerId", "2"),
            ("designateElect", "false"),
            ("invokeTime", "1700000000000"),
        ]))
        .unwrap();
        assert_eq!(header.broker_id, 2);
        assert!(!header.designate_elect);
        assert_eq!(header.invoke_time, Some(1_700_000_000_000));
        // ofControllerTrigger: only the broker name; the id defaults to -1.
        let header = ElectMasterRequestHeader::decode(&fields(&[("brokerName", "b")])).unwrap();
        assert_eq!(header.broker_id, -1);
        assert_eq!(header.cluster_name, "");
        assert_eq!(
            ElectMasterRequestHeader::decode(&header.to_ext_fields()),
            Ok(header)
        );
    }

    #[test]
    fn metadata_response_uses_java_field_names() {
        let header = GetMetaDataResponseHeader {
            group: Some("group1".into()),
            controller_leader_id: Some("n0".into()),
            controller_leader_address: Some("127.0.0.1:9878".into()),
            is_leader: true,
            peers: Some("n0-127.0.0.1:9878;n1-127.0.0.1:9868".into()),
        };
        let ext = header.to_ext_fields();
        assert_eq!(ext.get("isLeader"), Some("true"));
        assert_eq!(ext.get("controllerLeaderAddress"), Some("127.0.0.1:9878"));
        assert_eq!(GetMetaDataResponseHeader::decode(&ext), Ok(header));
    }

    #[test]
    fn heartbeat_requires_java_not_null_fields() {
        let header = BrokerHeartbeatRequestHeader::decode(&fields(&[
            ("clusterName", "c"),
            ("brokerAddr", "10.0.0.1:10911"),
            ("brokerName", "b"),
            ("brokerId", "1"),
            ("epoch", "3"),
            ("maxOffset", "1024"),
            ("confirmOffset", "512"),
            ("heartbeatTimeoutMills", "10000"),
            ("electionPriority", "2147483647"),
        ]))
        .unwrap();
        assert_eq!(header.epoch, Some(3));
        assert_eq!(header.election_priority, Some(i32::MAX));
        assert_eq!(
            BrokerHeartbeatRequestHeader::decode(&header.to_ext_fields()),
            Ok(header)
        );
        assert_eq!(
            BrokerHeartbeatRequestHeader::decode(&fields(&[("clusterName", "c")])),
            Err(HeaderError::MissingField("brokerAddr"))
        );
    }

    #[test]
    fn register_and_id_headers_round_trip() {
        let apply = ApplyBrokerIdRequestHeader {
            cluster_name: Some("c".into()),
            broker_name: Some("b".into()),
            applied_broker_id: Some(1),
            register_check_code: Some("10.0.0.1:10911;1700000000000".into()),
        };
        assert_eq!(apply.to_ext_fields().get("appliedBrokerId"), Some("1"));
        assert_eq!(
            ApplyBrokerIdRequestHeader::decode(&apply.to_ext_fields()),
            Ok(apply)
        );
        let register = RegisterBrokerToControllerRequestHeader::decode(&fields(&[
            ("clusterName", "c"),
            ("brokerName", "b"),
            ("brokerId", "1"),
            ("brokerAddress", "10.0.0.1:10911"),
            ("invokeTime", "5"),
        ]))
        .unwrap();
        assert_eq!(register.broker_address.as_deref(), Some("10.0.0.1:10911"));
        assert_eq!(register.invoke_time, 5);
        let alter = AlterSyncStateSetRequestHeader::decode(&fields(&[
            ("brokerName", "b"),
            ("masterBrokerId", "1"),
            ("masterEpoch", "x"),
        ]));
        assert!(matches!(
            alter,
            Err(HeaderError::InvalidField {
                name: "masterEpoch",
                ..
            })
        ));
    }

    #[test]
    fn clean_broker_data_needs_a_broker_name() {
        assert_eq!(
            CleanControllerBrokerDataRequestHeader::decode(&fields(&[("clusterName", "c")])),
            Err(HeaderError::MissingField("brokerName"))
        );
        let header = CleanControllerBrokerDataRequestHeader::decode(&fields(&[
            ("brokerName", "b"),
            ("brokerControllerIdsToClean", "1;2"),
            ("isCleanLivingBroker", "true"),
        ]))
        .unwrap();
        assert!(header.is_clean_living_broker);
        assert_eq!(
            header.broker_controller_ids_to_clean.as_deref(),
            Some("1;2")
        );
    }
}
