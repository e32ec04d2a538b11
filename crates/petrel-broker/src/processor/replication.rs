//! GET_ALL_DELAY_OFFSET (45) and GET_BROKER_HA_STATUS (907): what a slave copies of the delay
//! service's progress, and the replication state `mqadmin haStatus` shows. (A slave's other
//! copies are GET_ALL_TOPIC_CONFIG, GET_ALL_CONSUMER_OFFSET and
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG, served by their own processors.)

use petrel_protocol::remoting::body::{DelayOffsetSerializeWrapper, JsonBody};
use petrel_protocol::remoting::RemotingCommand;

use crate::broker::BrokerInner;
use crate::response;

/// GET_ALL_DELAY_OFFSET: delay level → queue offset, with fastjson's bare keys.
pub fn all_delay_offsets(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let body = DelayOffsetSerializeWrapper {
        offset_table: broker.schedule.offsets(),
        data_version: None,
    };
    response::json(request, body.encode())
}

/// GET_BROKER_HA_STATUS: `HARuntimeInfo` (a master's slaves, or a slave's link to its master).
pub fn ha_status(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    response::json(request, broker.ha_status().encode())
}
