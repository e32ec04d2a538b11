//! Name server headers that `petrel-protocol` does not define yet (field names and
//! `@CFNotNull` checked against RocketMQ 5.x `remoting/.../protocol/header/namesrv/*.java`).
//! They belong in `petrel_protocol::remoting::header::namesrv`; until they move, they are
//! built here on that crate's public field helpers.

use petrel_protocol::remoting::header::{optional, put, put_opt, required, FieldKind};
use petrel_protocol::remoting::{CommandHeader, ExtFields, HeaderError};

/// `name: Type = "wire" required|optional`, like `petrel-protocol`'s internal macro.
macro_rules! namesrv_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($field:ident : $ty:ty = $wire:literal $mode:ident,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            $(pub $field: namesrv_header!(@type $mode $ty),)*
        }

        impl CommandHeader for $name {
            const FIELDS: &'static [(&'static str, FieldKind)] = &[
                $(($wire, <$ty as petrel_protocol::remoting::header::HeaderValue>::KIND),)*
            ];

            fn decode(fields: &ExtFields) -> Result<Self, HeaderError> {
                Ok($name { $($field: $mode::<$ty>(fields, $wire)?,)* })
            }

            fn encode(&self, fields: &mut ExtFields) {
                $(namesrv_header!(@put $mode fields $wire &self.$field);)*
            }
        }
    };
    (@type required $ty:ty) => { $ty };
    (@type optional $ty:ty) => { Option<$ty> };
    (@put required $fields:ident $wire:literal $value:expr) => { put($fields, $wire, $value) };
    (@put optional $fields:ident $wire:literal $value:expr) => { put_opt($fields, $wire, $value) };
}

namesrv_header! {
    /// `WIPE_WRITE_PERM_OF_BROKER` (205).
    pub struct WipeWritePermOfBrokerRequestHeader {
        broker_name: String = "brokerName" required,
    }
}

namesrv_header! {
    pub struct WipeWritePermOfBrokerResponseHeader {
        wipe_topic_count: i32 = "wipeTopicCount" required,
    }
}

namesrv_header! {
    /// `ADD_WRITE_PERM_OF_BROKER` (327).
    pub struct AddWritePermOfBrokerRequestHeader {
        broker_name: String = "brokerName" required,
    }
}

namesrv_header! {
    pub struct AddWritePermOfBrokerResponseHeader {
        add_topic_count: i32 = "addTopicCount" required,
    }
}

namesrv_header! {
    /// `QUERY_DATA_VERSION` (322); the body is the broker's `DataVersion`.
    pub struct QueryDataVersionRequestHeader {
        broker_name: String = "brokerName" required,
        broker_addr: String = "brokerAddr" required,
        cluster_name: String = "clusterName" required,
        broker_id: i64 = "brokerId" required,
    }
}

namesrv_header! {
    pub struct QueryDataVersionResponseHeader {
        changed: bool = "changed" required,
    }
}

namesrv_header! {
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

namesrv_header! {
    /// `DELETE_TOPIC_IN_NAMESRV` (216); without `clusterName` the topic goes everywhere.
    pub struct DeleteTopicFromNamesrvRequestHeader {
        topic: String = "topic" required,
        cluster_name: String = "clusterName" optional,
    }
}

namesrv_header! {
    /// `GET_TOPICS_BY_CLUSTER` (224).
    pub struct GetTopicsByClusterRequestHeader {
        cluster: String = "cluster" required,
    }
}

namesrv_header! {
    /// `REGISTER_TOPIC_IN_NAMESRV` (217); the body is a `TopicRouteData`.
    pub struct RegisterTopicRequestHeader {
        topic: String = "topic" required,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
