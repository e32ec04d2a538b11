//! Name server headers: `GET_ROUTEINFO_BY_TOPIC` (105), `REGISTER_BROKER` (103),
//! `UNREGISTER_BROKER` (104) and the KV config codes (100, 101, 102, 219).

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
