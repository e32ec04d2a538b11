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
