//! Broker admin headers used by mqadmin and the dashboard: topics (17, 215), stats (202, 208),
//! connections (203, 204) and subscription groups (207).

use super::command_header;

command_header! {
    /// `UPDATE_AND_CREATE_TOPIC` (17).
    pub struct CreateTopicRequestHeader: rpc {
        topic: String = "topic" required,
        default_topic: String = "defaultTopic" required,
        read_queue_nums: i32 = "readQueueNums" required,
        write_queue_nums: i32 = "writeQueueNums" required,
        /// `PermName` bits: 4 read, 2 write, 1 inherit, 8 priority.
        perm: i32 = "perm" required,
        /// `SINGLE_TAG` or `MULTI_TAG`.
        topic_filter_type: String = "topicFilterType" required,
        topic_sys_flag: i32 = "topicSysFlag" optional,
        /// Java marks it `@CFNotNull` but initialises it to false; absent reads as false.
        order: bool = "order" default(false),
        /// `+key=value,...`.
        attributes: String = "attributes" optional,
        force: bool = "force" optional,
    }
}

command_header! {
    /// `DELETE_TOPIC_IN_BROKER` (215).
    pub struct DeleteTopicRequestHeader: rpc {
        topic: String = "topic" required,
    }
}

command_header! {
    /// `GET_TOPIC_STATS_INFO` (202).
    pub struct GetTopicStatsInfoRequestHeader: rpc {
        topic: String = "topic" required,
    }
}

command_header! {
    /// `GET_CONSUME_STATS` (208).
    pub struct GetConsumeStatsRequestHeader: rpc {
        consumer_group: String = "consumerGroup" required,
        topic: String = "topic" optional,
        /// 5.x: comma-separated topics.
        topic_list: String = "topicList" optional,
    }
}

command_header! {
    /// `GET_CONSUMER_CONNECTION_LIST` (203).
    pub struct GetConsumerConnectionListRequestHeader: rpc {
        consumer_group: String = "consumerGroup" required,
    }
}

command_header! {
    /// `GET_PRODUCER_CONNECTION_LIST` (204).
    pub struct GetProducerConnectionListRequestHeader: rpc {
        producer_group: String = "producerGroup" required,
    }
}

command_header! {
    /// `DELETE_SUBSCRIPTIONGROUP` (207).
    pub struct DeleteSubscriptionGroupRequestHeader: rpc {
        group_name: String = "groupName" required,
        clean_offset: bool = "cleanOffset" default(false),
    }
}

command_header! {
    /// `GET_ALL_SUBSCRIPTIONGROUP_CONFIG` (201) response (5.x): how many groups the broker has.
    pub struct GetAllSubscriptionGroupResponseHeader {
        total_group_num: i32 = "totalGroupNum" required,
    }
}

command_header! {
    /// `GET_SUBSCRIPTIONGROUP_CONFIG` (352).
    pub struct GetSubscriptionGroupConfigRequestHeader: rpc {
        group: String = "group" required,
    }
}

command_header! {
    /// `GET_TOPIC_CONFIG` (351).
    pub struct GetTopicConfigRequestHeader: rpc {
        topic: String = "topic" required,
    }
}

command_header! {
    /// `QUERY_TOPIC_CONSUME_BY_WHO` (300).
    pub struct QueryTopicConsumeByWhoRequestHeader: rpc {
        topic: String = "topic" required,
    }
}

command_header! {
    /// `QUERY_TOPICS_BY_CONSUMER` (343).
    pub struct QueryTopicsByConsumerRequestHeader: rpc {
        group: String = "group" required,
    }
}

command_header! {
    /// `GET_BROKER_CONSUME_STATS` (317). The wire name is Java's field name, `isOrder`.
    pub struct GetConsumeStatsInBrokerHeader {
        is_order: bool = "isOrder" default(false),
    }
}

command_header! {
    /// `GET_BROKER_CONFIG` (26) response: the config's data version as JSON
    /// (`{"counter":0,"stateVersion":0,"timestamp":...}`).
    pub struct GetBrokerConfigResponseHeader {
        version: String = "version" required,
    }
}

command_header! {
    /// `INVOKE_BROKER_TO_RESET_OFFSET` (222), admin tool → broker, and
    /// `RESET_CONSUMER_CLIENT_OFFSET` (220), broker → consumer (`ResetOffsetRequestHeader.java`,
    /// a `TopicQueueRequestHeader`). Java writes every primitive field, so `queueId` and
    /// `isForce` always travel; `offset` only when set.
    pub struct ResetOffsetRequestHeader: rpc {
        topic: String = "topic" required,
        group: String = "group" required,
        /// 5.x: reset only this queue; −1 (Java's default): every read queue.
        queue_id: i32 = "queueId" default(-1),
        /// 5.x: the offset to give `queueId`; absent or −1: found from `timestamp`.
        offset: i64 = "offset" optional,
        /// Epoch ms; negative: the queue's max offset (skip the backlog).
        timestamp: i64 = "timestamp" required,
        /// false: a queue's offset may only move back.
        is_force: bool = "isForce" required,
    }
}

#[cfg(test)]
mod reset_offset_tests {
    use super::*;
    use crate::remoting::header::{CommandHeader, HeaderError};
    use crate::remoting::ExtFields;

    #[test]
    fn reset_offset_header_reads_what_admin_tools_send() {
        // What rocketmq-client-rust's resetOffsetByTimestamp sends (Java's is the same
        // without `offset`).
        let fields: ExtFields = [
            ("topic", "t"),
            ("group", "g"),
            ("queueId", "-1"),
            ("offset", "-1"),
            ("timestamp", "1700000000000"),
            ("isForce", "true"),
            ("bname", "broker-a"),
        ]
        .into_iter()
        .collect();
        let h = ResetOffsetRequestHeader::decode(&fields).unwrap();
        assert_eq!(h.queue_id, -1);
        assert_eq!(h.offset, Some(-1));
        assert_eq!(h.timestamp, 1_700_000_000_000);
        assert!(h.is_force);
        assert_eq!(h.rpc.broker_name.as_deref(), Some("broker-a"));

        let without_force: ExtFields = [("topic", "t"), ("group", "g"), ("timestamp", "0")]
            .into_iter()
            .collect();
        assert_eq!(
            ResetOffsetRequestHeader::decode(&without_force),
            Err(HeaderError::MissingField("isForce"))
        );
    }

    #[test]
    fn reset_offset_header_writes_java_primitives() {
        let h = ResetOffsetRequestHeader {
            topic: "t".into(),
            group: "g".into(),
            timestamp: 5,
            ..Default::default()
        };
        let fields = h.to_ext_fields();
        let written: Vec<(&str, &str)> = fields.iter().collect();
        assert_eq!(
            written,
            vec![
                ("group", "g"),
                ("isForce", "false"),
                ("queueId", "-1"),
                ("timestamp", "5"),
                ("topic", "t"),
            ]
        );
    }
}

command_header! {
    /// `GET_CONSUMER_RUNNING_INFO` (307): admin tool → broker, which forwards it unchanged to
    /// the consumer over that consumer's own connection (`GetConsumerRunningInfoRequestHeader`).
    pub struct GetConsumerRunningInfoRequestHeader: rpc {
        consumer_group: String = "consumerGroup" required,
        client_id: String = "clientId" required,
        /// Ask the client to include its thread stacks.
        jstack_enable: bool = "jstackEnable" default(false),
    }
}

command_header! {
    /// `CONSUME_MESSAGE_DIRECTLY` (309): admin tool → broker → consumer
    /// (`ConsumeMessageDirectlyResultRequestHeader`). The broker adds `brokerName`,
    /// `topicSysFlag` and `groupSysFlag` and puts the stored message in the body.
    pub struct ConsumeMessageDirectlyResultRequestHeader: rpc {
        consumer_group: String = "consumerGroup" required,
        client_id: String = "clientId" optional,
        /// The message's offset msgId.
        msg_id: String = "msgId" optional,
        broker_name: String = "brokerName" optional,
        topic: String = "topic" optional,
        topic_sys_flag: i32 = "topicSysFlag" optional,
        group_sys_flag: i32 = "groupSysFlag" optional,
    }
}

command_header! {
    /// `INVOKE_BROKER_TO_GET_CONSUMER_STATUS` (223), admin tool → broker, and
    /// `GET_CONSUMER_STATUS_FROM_CLIENT` (221), broker → consumer (`GetConsumerStatusRequestHeader`).
    pub struct GetConsumerStatusRequestHeader: rpc {
        topic: String = "topic" required,
        group: String = "group" required,
        /// Only this client id, when given.
        client_addr: String = "clientAddr" optional,
    }
}

command_header! {
    /// `QUERY_CONSUME_QUEUE` (321): `count` ConsumeQueue entries of a queue from `index`
    /// (`QueryConsumeQueueRequestHeader`; Java's primitives default to 0 when absent).
    pub struct QueryConsumeQueueRequestHeader: rpc {
        topic: String = "topic" required,
        queue_id: i32 = "queueId" default(0),
        index: i64 = "index" default(0),
        count: i32 = "count" default(0),
        consumer_group: String = "consumerGroup" optional,
    }
}

command_header! {
    /// `QUERY_CONSUME_TIME_SPAN` (303) (`QueryConsumeTimeSpanRequestHeader`).
    pub struct QueryConsumeTimeSpanRequestHeader: rpc {
        topic: String = "topic" required,
        group: String = "group" required,
    }
}

command_header! {
    /// `CLONE_GROUP_OFFSET` (314) (`CloneGroupOffsetRequestHeader`).
    pub struct CloneGroupOffsetRequestHeader: rpc {
        src_group: String = "srcGroup" required,
        dest_group: String = "destGroup" required,
        /// Only this topic; absent or blank: every topic the source group has offsets on.
        topic: String = "topic" optional,
        /// false: skip topics the source group's live members do not subscribe to.
        offline: bool = "offline" default(false),
    }
}

command_header! {
    /// `VIEW_BROKER_STATS_DATA` (315) (`ViewBrokerStatsDataRequestHeader`): one statistic, e.g.
    /// `TOPIC_PUT_NUMS` of `topic` or `GROUP_GET_NUMS` of `topic@group`.
    pub struct ViewBrokerStatsDataRequestHeader {
        stats_name: String = "statsName" required,
        stats_key: String = "statsKey" required,
    }
}

command_header! {
    /// `QUERY_SUBSCRIPTION_BY_CONSUMER` (345) (`QuerySubscriptionByConsumerRequestHeader`).
    pub struct QuerySubscriptionByConsumerRequestHeader: rpc {
        group: String = "group" required,
        topic: String = "topic" optional,
    }
}

command_header! {
    /// `AUTH_CREATE_USER` (3001), `AUTH_UPDATE_USER` (3002), `AUTH_DELETE_USER` (3003) and
    /// `AUTH_GET_USER` (3004): the user is named here, the rest is a `UserInfo` body.
    pub struct UserRequestHeader: rpc {
        username: String = "username" optional,
    }
}

command_header! {
    /// `AUTH_LIST_USER` (3005).
    pub struct ListUsersRequestHeader: rpc {
        filter: String = "filter" optional,
    }
}

command_header! {
    /// `AUTH_CREATE_ACL` (3006), `AUTH_UPDATE_ACL` (3007) and `AUTH_GET_ACL` (3009): the
    /// subject (`User:alice`); the rules are an `AclInfo` body.
    pub struct AclRequestHeader: rpc {
        subject: String = "subject" optional,
    }
}

command_header! {
    /// `AUTH_DELETE_ACL` (3008): the whole ACL, or one resource's entry of a policy.
    pub struct DeleteAclRequestHeader: rpc {
        subject: String = "subject" optional,
        policy_type: String = "policyType" optional,
        resource: String = "resource" optional,
    }
}

command_header! {
    /// `AUTH_LIST_ACL` (3010).
    pub struct ListAclsRequestHeader: rpc {
        subject_filter: String = "subjectFilter" optional,
        resource_filter: String = "resourceFilter" optional,
    }
}
