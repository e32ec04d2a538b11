//! Message lookups, retries and transactions: `QUERY_MESSAGE` (12), `VIEW_MESSAGE_BY_ID` (33),
//! `CONSUMER_SEND_MSG_BACK` (36), `END_TRANSACTION` (37), `CHECK_TRANSACTION_STATE` (39),
//! `PUSH_REPLY_MESSAGE_TO_CLIENT` (326).

use super::command_header;

/// Ext field a client adds to `QUERY_MESSAGE` to look a message up by `UNIQ_KEY`
/// (`MixAll.UNIQUE_MSG_QUERY_FLAG`).
pub const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";

command_header! {
    /// `ViewMessageRequestHeader.java`.
    pub struct ViewMessageRequestHeader {
        /// 5.x clients send the topic too.
        topic: String = "topic" optional,
        /// CommitLog physical offset, decoded from an offset message id.
        offset: i64 = "offset" required,
    }
}

command_header! {
    pub struct QueryMessageRequestHeader: rpc {
        topic: String = "topic" required,
        key: String = "key" required,
        max_num: i32 = "maxNum" required,
        begin_timestamp: i64 = "beginTimestamp" required,
        end_timestamp: i64 = "endTimestamp" required,
        /// Not a Java header field but an ext field beside it ([`UNIQUE_KEY_QUERY`]): the key is
        /// a `UNIQ_KEY`.
        unique_key_query: bool = "_UNIQUE_KEY_QUERY" optional,
    }
}

command_header! {
    pub struct QueryMessageResponseHeader {
        index_last_update_timestamp: i64 = "indexLastUpdateTimestamp" required,
        index_last_update_phyoffset: i64 = "indexLastUpdatePhyoffset" required,
    }
}

command_header! {
    /// A consumer hands a message back for retry. `delay_level` 0 lets the broker pick
    /// `3 + reconsumeTimes`; negative sends it straight to the DLQ.
    pub struct ConsumerSendMsgBackRequestHeader: rpc {
        /// CommitLog offset of the message.
        offset: i64 = "offset" required,
        group: String = "group" required,
        delay_level: i32 = "delayLevel" required,
        origin_msg_id: String = "originMsgId" optional,
        origin_topic: String = "originTopic" optional,
        unit_mode: bool = "unitMode" default(false),
        max_reconsume_times: i32 = "maxReconsumeTimes" optional,
    }
}

command_header! {
    /// `commit_or_rollback` uses the sysflag transaction values: 0 not-type/unknown,
    /// 8 commit, 12 rollback.
    pub struct EndTransactionRequestHeader: rpc {
        /// 5.x.
        topic: String = "topic" optional,
        producer_group: String = "producerGroup" required,
        tran_state_table_offset: i64 = "tranStateTableOffset" required,
        commit_log_offset: i64 = "commitLogOffset" required,
        commit_or_rollback: i32 = "commitOrRollback" required,
        from_transaction_check: bool = "fromTransactionCheck" optional,
        msg_id: String = "msgId" required,
        transaction_id: String = "transactionId" optional,
    }
}

command_header! {
    /// Broker → producer: ask for a half message's outcome.
    pub struct CheckTransactionStateRequestHeader: rpc {
        /// 5.x.
        topic: String = "topic" optional,
        tran_state_table_offset: i64 = "tranStateTableOffset" required,
        commit_log_offset: i64 = "commitLogOffset" required,
        msg_id: String = "msgId" optional,
        transaction_id: String = "transactionId" optional,
        offset_msg_id: String = "offsetMsgId" optional,
    }
}

command_header! {
    /// Broker → requesting client: a reply message (`ReplyMessageRequestHeader.java`); the body
    /// is the reply's body. `born_host` / `store_host` are `host:port` (Java writes its
    /// `SocketAddress.toString()`, which may start with `/` or `hostname/`).
    pub struct ReplyMessageRequestHeader {
        producer_group: String = "producerGroup" required,
        topic: String = "topic" required,
        default_topic: String = "defaultTopic" required,
        default_topic_queue_nums: i32 = "defaultTopicQueueNums" required,
        queue_id: i32 = "queueId" required,
        sys_flag: i32 = "sysFlag" required,
        born_timestamp: i64 = "bornTimestamp" required,
        flag: i32 = "flag" required,
        properties: String = "properties" optional,
        reconsume_times: i32 = "reconsumeTimes" optional,
        unit_mode: bool = "unitMode" default(false),
        born_host: String = "bornHost" required,
        store_host: String = "storeHost" required,
        store_timestamp: i64 = "storeTimestamp" required,
    }
}
