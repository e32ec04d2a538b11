//! Client membership: `UNREGISTER_CLIENT` (35), `GET_CONSUMER_LIST_BY_GROUP` (38),
//! `NOTIFY_CONSUMER_IDS_CHANGED` (40).

use super::command_header;

command_header! {
    pub struct UnregisterClientRequestHeader: rpc {
        /// Java's spelling: `clientID`.
        client_id: String = "clientID" required,
        producer_group: String = "producerGroup" optional,
        consumer_group: String = "consumerGroup" optional,
    }
}

command_header! {
    pub struct GetConsumerListByGroupRequestHeader: rpc {
        consumer_group: String = "consumerGroup" required,
    }
}

command_header! {
    /// Broker → consumer, oneway: rebalance now.
    pub struct NotifyConsumerIdsChangedRequestHeader: rpc {
        consumer_group: String = "consumerGroup" required,
    }
}
