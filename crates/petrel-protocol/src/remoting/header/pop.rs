//! POP consumption (5.x): `PopMessageRequestHeader.java`, `PopMessageResponseHeader.java`,
//! `AckMessageRequestHeader.java`, `ChangeInvisibleTimeRequestHeader.java` /
//! `ChangeInvisibleTimeResponseHeader.java`, `NotificationRequestHeader.java` /
//! `NotificationResponseHeader.java`, `PeekMessageRequestHeader.java`. The receipt handle
//! (`extraInfo`) these carry is parsed by [`crate::pop::ExtraInfo`].

use super::command_header;

command_header! {
    /// POP_MESSAGE (200050): the broker picks messages of `topic` (any queue with
    /// `queueId = -1`) for `consumerGroup` and hides them from the group for `invisibleTime` ms.
    pub struct PopMessageRequestHeader: rpc {
        consumer_group: String = "consumerGroup" required,
        topic: String = "topic" required,
        /// −1: any queue.
        queue_id: i32 = "queueId" required,
        max_msg_nums: i32 = "maxMsgNums" required,
        /// How long the popped messages stay invisible to the group, ms.
        invisible_time: i64 = "invisibleTime" required,
        /// Long-poll hold time, ms.
        poll_time: i64 = "pollTime" required,
        born_time: i64 = "bornTime" required,
        /// Where a group without an offset starts: 0 the queue's first message, 1 its end.
        init_mode: i32 = "initMode" required,
        /// `TAG` or `SQL92`.
        exp_type: String = "expType" optional,
        exp: String = "exp" optional,
        /// FIFO: one batch in flight per queue, delivered in queue order.
        order: bool = "order" default(false),
        attempt_id: String = "attemptId" optional,
    }
}

command_header! {
    /// POP_MESSAGE response; the body is the concatenated stored records. The client builds
    /// each message's receipt handle from `popTime`, `invisibleTime`, `reviveQid` and the
    /// offset infos.
    pub struct PopMessageResponseHeader {
        pop_time: i64 = "popTime" required,
        invisible_time: i64 = "invisibleTime" required,
        revive_qid: i32 = "reviveQid" required,
        /// Messages left behind the popped ones.
        rest_num: i64 = "restNum" required,
        /// `;`-joined `retryFlag queueId startOffset`.
        start_offset_info: String = "startOffsetInfo" optional,
        /// `;`-joined `retryFlag queueId off1,off2,...`.
        msg_offset_info: String = "msgOffsetInfo" optional,
        /// FIFO: `;`-joined `retryFlag qo{queueId}%{offset} count` (deliveries before this one).
        order_count_info: String = "orderCountInfo" optional,
    }
}

command_header! {
    /// ACK_MESSAGE (200051): the message at `offset` was consumed.
    pub struct AckMessageRequestHeader: rpc {
        consumer_group: String = "consumerGroup" required,
        topic: String = "topic" required,
        queue_id: i32 = "queueId" required,
        /// The receipt handle (the message's `POP_CK`).
        extra_info: String = "extraInfo" required,
        offset: i64 = "offset" required,
    }
}

command_header! {
    /// CHANGE_MESSAGE_INVISIBLETIME (200053): hide the message for `invisibleTime` ms from now.
    pub struct ChangeInvisibleTimeRequestHeader: rpc {
        consumer_group: String = "consumerGroup" required,
        topic: String = "topic" required,
        queue_id: i32 = "queueId" required,
        extra_info: String = "extraInfo" required,
        offset: i64 = "offset" required,
        invisible_time: i64 = "invisibleTime" required,
    }
}

command_header! {
    /// The new handle's parts: the client rebuilds its receipt handle from them.
    pub struct ChangeInvisibleTimeResponseHeader {
        pop_time: i64 = "popTime" required,
        invisible_time: i64 = "invisibleTime" required,
        revive_qid: i32 = "reviveQid" required,
    }
}

command_header! {
    /// NOTIFICATION (200054): is there something to pop (waiting up to `pollTime` ms)?
    pub struct NotificationRequestHeader: rpc {
        consumer_group: String = "consumerGroup" required,
        topic: String = "topic" required,
        queue_id: i32 = "queueId" required,
        poll_time: i64 = "pollTime" required,
        born_time: i64 = "bornTime" required,
        order: bool = "order" default(false),
        attempt_id: String = "attemptId" optional,
    }
}

command_header! {
    pub struct NotificationResponseHeader {
        has_msg: bool = "hasMsg" required,
        polling_full: bool = "pollingFull" default(false),
    }
}

command_header! {
    /// PEEK_MESSAGE (200052): what a pop would return, without hiding anything.
    pub struct PeekMessageRequestHeader: rpc {
        topic: String = "topic" required,
        queue_id: i32 = "queueId" required,
        max_msg_nums: i32 = "maxMsgNums" required,
        consumer_group: String = "consumerGroup" required,
    }
}
