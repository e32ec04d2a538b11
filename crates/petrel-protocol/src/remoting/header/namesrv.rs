//! Name server headers: `GET_ROUTEINFO_BY_TOPIC` (105), `REGISTER_BROKER` (103),
//! `UNREGISTER_BROKER` (104), the KV config codes (100, 101, 102, 219), broker write
//! permission (205, 327), `QUERY_DATA_VERSION` (322), `BROKER_HEARTBEAT` (904) and the topic
//! admin codes (216, 217, 224). Field names and `@CFNotNull` checked against RocketMQ 5.x
//! `remoting/.../protocol/header/namesrv/*.java`.

use super::command_header;

command_header! {
    pub struct GetRouteInfoRequestHeader: rpc {
        topic: String = "topic" required,
        /// Asks for standard JSON even from a client older than 4.9.4.
        accept_standard_json_only: bool = "acceptStandardJsonOnly" optional,
    }
}

command_header! {
    /// The body is a `RegisterBrokerBody`.
    pub struct RegisterBrokerRequestHeader {
        broker_name: String = "brokerName" required,
        broker_addr: String = "brokerAddr" required,
        cluster_name: String = "clusterName" required,
        ha_server_addr: String = "haServerAddr" required,
        /// 0 is the master.
        broker_id: i64 = "brokerId" required,
        heartbeat_timeout_millis: i64 = "heartbeatTimeoutMillis" optional,
        enable_acting_master: bool = "enableActingMaster" optional,
        /// Whether the body uses the compressed binary form.
        compressed: bool = "compressed" default(false),
        /// CRC32 of the body; 0 means not checked.
        body_crc32: i32 = "bodyCrc32" default(0),
    }
}

command_header! {
    pub struct RegisterBrokerResponseHeader {
        ha_server_addr: String = "haServerAddr" optional,
        master_addr: String = "masterAddr" optional,
    }
}

command_header! {
    pub struct UnRegisterBrokerRequestHeader {
        broker_name: String = "brokerName" required,
        broker_addr: String = "brokerAddr" required,
        cluster_name: String = "clusterName" required,
        broker_id: i64 = "brokerId" required,
    }
}

command_header! {
    pub struct PutKVConfigRequestHeader {
        namespace: String = "namespace" required,
        key: String = "key" required,
        value: String = "value" required,
    }
}

command_header! {
    pub struct GetKVConfigRequestHeader {
        namespace: String = "namespace" required,
        key: String = "key" required,
    }
}

command_header! {
    pub struct GetKVConfigResponseHeader {
        value: String = "value" optional,
    }
}

command_header! {
    pub struct DeleteKVConfigRequestHeader {
        namespace: String = "namespace" required,
        key: String = "key" required,
    }
}

command_header! {
    pub struct GetKVListByNamespaceRequestHeader {
        namespace: String = "namespace" required,
    }
}

command_header! {
    /// `WIPE_WRITE_PERM_OF_BROKER` (205).
    pub struct WipeWritePermOfBrokerRequestHeader {
        broker_name: String = "brokerName" required,
    }
}

command_header! {
    pub struct WipeWritePermOfBrokerResponseHeader {
        wipe_topic_count: i32 = "wipeTopicCount" required,
    }
}

command_header! {
    /// `ADD_WRITE_PERM_OF_BROKER` (327).
    pub struct AddWritePermOfBrokerRequestHeader {
        broker_name: String = "brokerName" required,
    }
}

command_header! {
    pub struct AddWritePermOfBrokerResponseHeader {
        add_topic_count: i32 = "addTopicCount" required,
    }
}

command_header! {
    /// `QUERY_DATA_VERSION` (322); the body is the broker's `DataVersion`.
    pub struct QueryDataVersionRequestHeader {
        broker_name: String = "brokerName" required,
        broker_addr: String = "brokerAddr" required,
        cluster_name: String = "clusterName" required,
        broker_id: i64 = "brokerId" required,
    }
}

command_header! {
    pub struct QueryDataVersionResponseHeader {
        changed: bool = "changed" required,
    }
}

command_header! {
    /// `BROKER_HEARTBEAT` (904), the 5.x keep-alive of brokers in acting-master mode.
    pub struct BrokerHeartbeatRequestHeader {
        cluster_name: String = "clusterName" required,
        broker_addr: String = "brokerAddr" required,
        broker_name: String = "brokerName" required,
        broker_id: i64 = "brokerId" optional,
        epoch: i32 = "epoch" optional,
        max_offset: i64 = "maxOffset" optional,
        confirm_offset: i64 = "confirmOffset" optional,
        heartbeat_timeout_mills: i64 = "heartbeatTimeoutMills" optional,
        election_priority: i32 = "electionPriority" optional,
    }
}

command_header! {
    /// `DELETE_TOPIC_IN_NAMESRV` (216); without `clusterName` the topic goes everywhere.
    pub struct DeleteTopicFromNamesrvRequestHeader {
        topic: String = "topic" required,
        cluster_name: String = "clusterName" optional,
    }
}

command_header! {
    /// `GET_TOPICS_BY_CLUSTER` (224).
    pub struct GetTopicsByClusterRequestHeader {
        cluster: String = "cluster" required,
    }
}

command_header! {
    /// `REGISTER_TOPIC_IN_NAMESRV` (217); the body is a `TopicRouteData`.
    pub struct RegisterTopicRequestHeader {
        topic: String = "topic" required,
    }
}

command_header! {
    /// `GET_BROKER_MEMBER_GROUP` (901): the addresses of one broker name's members.
    pub struct GetBrokerMemberGroupRequestHeader {
        cluster_name: String = "clusterName" required,
        broker_name: String = "brokerName" required,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remoting::{CommandHeader, ExtFields, HeaderError};

    #[test]
    fn decodes_and_encodes_by_wire_name() {
        let fields: ExtFields = [("topic", "t"), ("clusterName", "c")].into_iter().collect();
        let header = DeleteTopicFromNamesrvRequestHeader::decode(&fields).unwrap();
        assert_eq!(header.topic, "t");
        assert_eq!(header.cluster_name.as_deref(), Some("c"));
        assert_eq!(header.to_ext_fields(), fields);
        assert_eq!(
            QueryDataVersionRequestHeader::decode(&fields),
            Err(HeaderError::MissingField("brokerName"))
        );
        let response = QueryDataVersionResponseHeader { changed: true };
        assert_eq!(response.to_ext_fields().get("changed"), Some("true"));
    }
}
