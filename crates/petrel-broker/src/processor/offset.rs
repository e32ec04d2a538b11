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
use crate::response::{self, Refusal};

/// How long a lookup that must see every acknowledged message (max offset, offset by time,
/// query by key) waits for the dispatcher to catch up before answering with what it has.
pub(crate) const DISPATCH_CATCH_UP_WAIT: std::time::Duration =
    std::time::Duration::from_millis(500);

/// Waits (bounded) until ConsumeQueues and IndexFiles hold every message acknowledged so far.
pub async fn dispatch_caught_up(broker: &BrokerInner) {
    if !broker.store.wait_dispatched(DISPATCH_CATCH_UP_WAIT).await {
        tracing::debug!(
            wait_ms = DISPATCH_CATCH_UP_WAIT.as_millis() as u64,
            "dispatch still behind the CommitLog; answering with what is dispatched"
        );
    }
}

/// The group's committed offset. A group that never committed gets QUERY_NOT_FOUND, so the
/// client applies its consume-from-where (RocketMQ sometimes answers 0 here for a new group,
/// which makes CONSUME_FROM_LAST_OFFSET replay history; Petrel does not).
pub fn query_consumer_offset(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: QueryConsumerOffsetRequestHeader = response::header(request)?;
    let offset = broker
        .offsets
        .query(&h.consumer_group, &h.topic, h.queue_id)
        .ok_or_else(|| {
            Refusal::new(
                response_code::QUERY_NOT_FOUND,
                format!(
                    "no offset committed by group {} for {}:{}",
                    h.consumer_group, h.topic, h.queue_id
                ),
            )
        })?;
    Ok(response::ok(request).with_header(&QueryConsumerOffsetResponseHeader { offset }))
}

pub fn update_consumer_offset(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: UpdateConsumerOffsetRequestHeader = response::header(request)?;
    if h.commit_offset < 0 {
        return Err(Refusal::new(
            response_code::SYSTEM_ERROR,
            format!("commitOffset {} is negative", h.commit_offset),
        ));
    }
    broker
        .offsets
        .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    Ok(response::ok(request))
}

pub async fn max_offset(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetMaxOffsetRequestHeader = response::header(request)?;
    dispatch_caught_up(broker).await;
    Ok(
        response::ok(request).with_header(&GetMaxOffsetResponseHeader {
            offset: broker.store.get_max_offset_in_queue(&h.topic, h.queue_id),
        }),
    )
}

pub fn min_offset(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetMinOffsetRequestHeader = response::header(request)?;
    Ok(
        response::ok(request).with_header(&GetMinOffsetResponseHeader {
            offset: broker.store.get_min_offset_in_queue(&h.topic, h.queue_id),
        }),
    )
}

pub async fn search_by_timestamp(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: SearchOffsetRequestHeader = response::header(request)?;
    dispatch_caught_up(broker).await;
    let boundary = match h.boundary_type.unwrap_or_default() {
        BoundaryType::Lower => petrel_store::BoundaryType::Lower,
        BoundaryType::Upper => petrel_store::BoundaryType::Upper,
    };
    let offset =
        broker
            .store
            .get_offset_in_queue_by_time(&h.topic, h.queue_id, h.timestamp, boundary);
    Ok(response::ok(request).with_header(&SearchOffsetResponseHeader { offset }))
}

pub fn earliest_store_time(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetEarliestMsgStoretimeRequestHeader = response::header(request)?;
    let timestamp = broker
        .store
        .get_earliest_message_time(&h.topic, h.queue_id)
        .unwrap_or(-1);
    Ok(response::ok(request).with_header(&GetEarliestMsgStoretimeResponseHeader { timestamp }))
}
