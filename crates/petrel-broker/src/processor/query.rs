//! QUERY_MESSAGE (12, by key or unique key) and VIEW_MESSAGE_BY_ID (33, by CommitLog offset).

use petrel_protocol::remoting::header::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_remoting::Reply;

use crate::broker::BrokerInner;
use crate::response::{self, Refusal};

/// Most messages one query returns (RocketMQ's `maxMsgsNumBatch`).
const MAX_QUERY_MESSAGES: usize = 64;

pub async fn query_message(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<Reply, Refusal> {
    let h: QueryMessageRequestHeader = response::header(request)?;
    super::offset::dispatch_caught_up(broker).await;
    let max = (h.max_num.max(1) as usize).min(MAX_QUERY_MESSAGES);
    let end = if h.end_timestamp <= 0 {
        i64::MAX
    } else {
        h.end_timestamp
    };
    let found = broker.store.query_message(
        &h.topic,
        &h.key,
        max,
        h.begin_timestamp,
        end,
        h.unique_key_query.unwrap_or(false),
    );
    if found.messages.is_empty() {
        return Err(Refusal::new(
            response_code::QUERY_NOT_FOUND,
            format!("no message with key {} in topic {}", h.key, h.topic),
        ));
    }
    let header = QueryMessageResponseHeader {
        index_last_update_timestamp: found.index_last_update_timestamp,
        index_last_update_phyoffset: found.index_last_update_phy_offset,
    };
    Ok(Reply {
        command: response::ok(request).with_header(&header),
        body_chunks: found.messages,
    })
}

pub fn view_message_by_id(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<Reply, Refusal> {
    let h: ViewMessageRequestHeader = response::header(request)?;
    let record = broker
        .store
        .look_message_by_offset(h.offset)
        .ok_or_else(|| {
            Refusal::new(
                response_code::SYSTEM_ERROR,
                format!("can not find message by the offset, {}", h.offset),
            )
        })?;
    Ok(Reply {
        command: response::ok(request),
        body_chunks: vec![record],
    })
}
