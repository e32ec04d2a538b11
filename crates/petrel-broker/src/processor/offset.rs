//! Consumer offsets and queue bounds: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
//! GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), SEARCH_OFFSET_BY_TIMESTAMP (29),
//! GET_EARLIEST_MSG_STORETIME (32).

use petrel_protocol::remoting::header::{
    BoundaryType, GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader,
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
    GetMinOffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};
use petrel_protocol::remoting::{response_code, RemotingCommand};

use crate::broker::BrokerInner;
use crate::response;

/// The group's committed offset. A group that never committed gets QUERY_NOT_FOUND, so the
/// client applies its consume-from-where (RocketMQ sometimes answers 0 here for a new group,
/// which makes CONSUME_FROM_LAST_OFFSET replay history; Petrel does not).
pub fn query_consumer_offset(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let h = match request.decode_header::<QueryConsumerOffsetRequestHeader>() {
        Ok(h) => h,
        Err(e) => return response::bad_header(request, e),
    };
    match broker
        .offsets
        .query(&h.consumer_group, &h.topic, h.queue_id)
    {
        Some(offset) => {
            response::ok(request).with_header(&QueryConsumerOffsetResponseHeader { offset })
        }
        None => response::error(
            request,
            response_code::QUERY_NOT_FOUND,
            format!(
                "no offset committed by group {} for {}:{}",
                h.consumer_group, h.topic, h.queue_id
            ),
        ),
    }
}

pub fn update_consumer_offset(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let h = match request.decode_header::<UpdateConsumerOffsetRequestHeader>() {
        Ok(h) => h,
        Err(e) => return response::bad_header(request, e),
    };
    if h.commit_offset < 0 {
        return response::error(
            request,
            response_code::SYSTEM_ERROR,
            format!("commitOffset {} is negative", h.commit_offset),
        );
    }
    broker
        .offsets
        .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    response::ok(request)
}

pub fn max_offset(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    match request.decode_header::<GetMaxOffsetRequestHeader>() {
        Ok(h) => response::ok(request).with_header(&GetMaxOffsetResponseHeader {
            offset: broker.store.get_max_offset_in_queue(&h.topic, h.queue_id),
        }),
        Err(e) => response::bad_header(request, e),
    }
}

pub fn min_offset(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    match request.decode_header::<GetMinOffsetRequestHeader>() {
        Ok(h) => response::ok(request).with_header(&GetMinOffsetResponseHeader {
            offset: broker.store.get_min_offset_in_queue(&h.topic, h.queue_id),
        }),
        Err(e) => response::bad_header(request, e),
    }
}

pub fn search_by_timestamp(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let h = match request.decode_header::<SearchOffsetRequestHeader>() {
        Ok(h) => h,
        Err(e) => return response::bad_header(request, e),
    };
    let boundary = match h.boundary_type.unwrap_or_default() {
        BoundaryType::Lower => petrel_store::BoundaryType::Lower,
        BoundaryType::Upper => petrel_store::BoundaryType::Upper,
    };
    let offset =
        broker
            .store
            .get_offset_in_queue_by_time(&h.topic, h.queue_id, h.timestamp, boundary);
    response::ok(request).with_header(&SearchOffsetResponseHeader { offset })
}

pub fn earliest_store_time(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let h = match request.decode_header::<GetEarliestMsgStoretimeRequestHeader>() {
        Ok(h) => h,
        Err(e) => return response::bad_header(request, e),
    };
    let timestamp = broker
        .store
        .get_earliest_message_time(&h.topic, h.queue_id)
        .unwrap_or(-1);
    response::ok(request).with_header(&GetEarliestMsgStoretimeResponseHeader { timestamp })
}
