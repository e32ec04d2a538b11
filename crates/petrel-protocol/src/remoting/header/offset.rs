//! Offset queries and updates: `QUERY_CONSUMER_OFFSET` (14), `UPDATE_CONSUMER_OFFSET` (15),
//! `SEARCH_OFFSET_BY_TIMESTAMP` (29), `GET_MAX_OFFSET` (30), `GET_MIN_OFFSET` (31),
//! `GET_EARLIEST_MSG_STORETIME` (32).

use super::{command_header, BoundaryType};

command_header! {
    pub struct QueryConsumerOffsetRequestHeader: rpc {
        consumer_group: String = "consumerGroup" required,
        topic: String = "topic" required,
        queue_id: i32 = "queueId" required,
        set_zero_if_not_found: bool = "setZeroIfNotFound" optional,
    }
}

command_header! {
    pub struct QueryConsumerOffsetResponseHeader {
        offset: i64 = "offset" required,
    }
}

command_header! {
    pub struct UpdateConsumerOffsetRequestHeader: rpc {
        consumer_group: String = "consumerGroup" required,
        topic: String = "topic" required,
        queue_id: i32 = "queueId" required,
        commit_offset: i64 = "commitOffset" required,
    }
}

command_header! {
    pub struct GetMaxOffsetRequestHeader: rpc {
        topic: String = "topic" required,
        queue_id: i32 = "queueId" required,
        /// Whether to answer with the committed (replicated) max offset; Java's default is true.
        committed: bool = "committed" default(true),
    }
}

command_header! {
    pub struct GetMaxOffsetResponseHeader {
        offset: i64 = "offset" required,
    }
}

command_header! {
    pub struct GetMinOffsetRequestHeader: rpc {
        topic: String = "topic" required,
        queue_id: i32 = "queueId" required,
    }
}

command_header! {
    pub struct GetMinOffsetResponseHeader {
        offset: i64 = "offset" required,
    }
}

command_header! {
    /// `SearchOffsetRequestHeader.java`.
    pub struct SearchOffsetRequestHeader: rpc {
        topic: String = "topic" required,
        queue_id: i32 = "queueId" required,
        /// Epoch ms.
        timestamp: i64 = "timestamp" required,
        /// 5.x; absent means LOWER.
        boundary_type: BoundaryType = "boundaryType" optional,
    }
}

command_header! {
    pub struct SearchOffsetResponseHeader {
        offset: i64 = "offset" required,
    }
}

command_header! {
    pub struct GetEarliestMsgStoretimeRequestHeader: rpc {
        topic: String = "topic" required,
        queue_id: i32 = "queueId" required,
    }
}

command_header! {
    pub struct GetEarliestMsgStoretimeResponseHeader {
        /// Store timestamp of the oldest message, epoch ms.
        timestamp: i64 = "timestamp" required,
    }
}
