//! QUERY_CONSUME_QUEUE (321, `mqadmin queryCq`): a queue's ConsumeQueue entries, as RocketMQ's
//! `AdminBrokerProcessor.queryConsumeQueue` answers: the queue's min and max index, up to
//! `count` entries from `index` (CommitLog offset, size, tag code), and, when a group is named,
//! its live subscription to the topic and its filter.
//!
//! Petrel's ConsumeQueues have no extension units (`enableConsumeQueueExt`), so the extension
//! fields (`extendDataJson`, `bitMap`, `eval`) stay empty, as RocketMQ leaves them for a queue
//! without them. Where RocketMQ answers an index outside the queue with a remark and no body
//! (which `mqadmin queryCq` then fails to read), Petrel sends the same remark with the queue's
//! bounds and no entries.

use petrel_protocol::remoting::body::{ConsumeQueueData, JsonBody, QueryConsumeQueueResponseBody};
use petrel_protocol::remoting::header::QueryConsumeQueueRequestHeader;
use petrel_protocol::remoting::{response_code, RemotingCommand};

use crate::broker::BrokerInner;
use crate::response::{self, Refusal};

/// Most entries one answer lists (each is about 80 bytes of JSON); RocketMQ stops at the end
/// of the ConsumeQueue file holding `index` (300,000 entries).
const QUERY_CONSUME_QUEUE_MAX_ENTRIES: i64 = 10_000;

pub fn process(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: QueryConsumeQueueRequestHeader = response::header(request)?;
    let store = &broker.store;
    if !store.queue_ids(&h.topic).contains(&h.queue_id) {
        return Err(Refusal::new(
            response_code::SYSTEM_ERROR,
            format!("{}@{} is not exist!", h.queue_id, h.topic),
        ));
    }
    let mut body = QueryConsumeQueueResponseBody {
        max_queue_index: store.get_max_offset_in_queue(&h.topic, h.queue_id),
        min_queue_index: store.get_min_offset_in_queue(&h.topic, h.queue_id),
        ..Default::default()
    };
    if let Some(group) = &h.consumer_group {
        match broker.clients.subscription(group, &h.topic) {
            None => body.filter_data = Some(format!("{group}@{} is not online!", h.topic)),
            Some(sub) => {
                body.filter_data = Some(filter_data(group, &sub.data));
                body.subscription_data = Some(sub.data);
            }
        }
    }
    if !(body.min_queue_index..body.max_queue_index).contains(&h.index) {
        let mut response = response::json(request, body.encode());
        response.remark = Some(format!(
            "Index {} of {}@{} is not exist!",
            h.index, h.queue_id, h.topic
        ));
        return Ok(response);
    }
    let end = h
        .index
        .saturating_add(i64::from(h.count.max(0)).min(QUERY_CONSUME_QUEUE_MAX_ENTRIES))
        .min(body.max_queue_index);
    let queue_data = (h.index..end)
        .map_while(|offset| store.consume_queue_entry(&h.topic, h.queue_id, offset))
        .map(|entry| ConsumeQueueData {
            physic_offset: entry.physical_offset,
            physic_size: entry.size,
            tags_code: entry.tags_code,
            ..Default::default()
        })
        .collect();
    body.queue_data = Some(queue_data);
    Ok(response::json(request, body.encode()))
}

/// The group's filter as RocketMQ's `ConsumerFilterManager` keeps it: only SQL92 subscriptions
/// have one (`null` for tag subscriptions).
fn filter_data(group: &str, sub: &petrel_protocol::remoting::body::SubscriptionData) -> String {
    if !sub.expression_type.eq_ignore_ascii_case("SQL92") {
        return "null".to_string();
    }
    serde_json::json!({
        "clientVersion": sub.sub_version,
        "consumerGroup": group,
        "expression": sub.sub_string,
        "expressionType": sub.expression_type,
        "topic": sub.topic,
    })
    .to_string()
}
