//! `PULL_MESSAGE` (11) and `LITE_PULL_MESSAGE` (361): `PullMessageRequestHeader.java`,
//! `PullMessageResponseHeader.java`.

use super::command_header;

command_header! {
    /// A consumer's pull. `sys_flag` carries the `PullSysFlag` bits (commit offset, suspend,
    /// subscription, class filter, lite pull).
    pub struct PullMessageRequestHeader: rpc {
        consumer_group: String = "consumerGroup" required,
        topic: String = "topic" required,
        queue_id: i32 = "queueId" required,
        queue_offset: i64 = "queueOffset" required,
        max_msg_nums: i32 = "maxMsgNums" required,
        sys_flag: i32 = "sysFlag" required,
        commit_offset: i64 = "commitOffset" required,
        /// Long-poll hold time, ms (15 000 by default in Java clients).
        suspend_timeout_millis: i64 = "suspendTimeoutMillis" required,
        /// The subscription expression (tags like `a || b`, or SQL92).
        subscription: String = "subscription" optional,
        sub_version: i64 = "subVersion" required,
        /// `TAG` or `SQL92`; absent means `TAG`.
        expression_type: String = "expressionType" optional,
        max_msg_bytes: i32 = "maxMsgBytes" optional,
        request_source: i32 = "requestSource" optional,
        /// Java's spelling (sic).
        proxy_forward_client_id: String = "proxyFrowardClientId" optional,
    }
}

command_header! {
    /// Pull response; the body is the concatenated stored records.
    pub struct PullMessageResponseHeader {
        suggest_which_broker_id: i64 = "suggestWhichBrokerId" required,
        next_begin_offset: i64 = "nextBeginOffset" required,
        min_offset: i64 = "minOffset" required,
        max_offset: i64 = "maxOffset" required,
        offset_delta: i64 = "offsetDelta" optional,
        topic_sys_flag: i32 = "topicSysFlag" optional,
        group_sys_flag: i32 = "groupSysFlag" optional,
        forbidden_type: i32 = "forbiddenType" optional,
    }
}
