//! Server-side rebalance (5.x remoting clients with `clientRebalance=false`):
//! QUERY_ASSIGNMENT (400) answers which queues a consumer reads and whether by PULL or POP;
//! SET_MESSAGE_REQUEST_MODE (401, `mqadmin setConsumeMode`) switches a group's topic to POP;
//! GET_ALL_MESSAGE_REQUEST_MODE (402) lists the modes. As RocketMQ's
//! `QueryAssignmentProcessor`: in POP mode (with `popShareQueueNum` 0) every consumer of the
//! group reads every queue (queue id −1: the broker picks); in PULL mode the queues of this
//! broker are shared out evenly (`AllocateMessageQueueAveragely`, whatever strategy is named);
//! retry topics are always PULL; broadcasting consumers get every queue.

use petrel_protocol::remoting::body::{
    JsonBody, MessageModel, MessageQueue, MessageQueueAssignment, MessageRequestMode,
    QueryAssignmentRequestBody, QueryAssignmentResponseBody, SetMessageRequestModeRequestBody,
};
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_protocol::topic::is_retry_topic;

use crate::broker::BrokerInner;
use crate::response::{self, Refusal};

pub fn query_assignment(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let body = QueryAssignmentRequestBody::decode(&request.body)
        .map_err(|e| Refusal::bad_body(request, e))?;
    let (topic, group) = (body.topic.as_str(), body.consumer_group.as_str());
    let mode = mode_of(broker, topic, group);
    let assignments = match broker.topics.get(topic) {
        None => Vec::new(),
        Some(config) => {
            let broker_name = &broker.config.broker_name;
            let all: Vec<MessageQueue> = (0..config.read_queue_nums.max(0))
                .map(|q| MessageQueue::new(topic, broker_name.as_str(), q))
                .collect();
            let queues = if all.is_empty() {
                Vec::new()
            } else if body.message_model == Some(MessageModel::Broadcasting) {
                all
            } else if mode == MessageRequestMode::Pop {
                vec![MessageQueue::new(topic, broker_name.as_str(), -1)]
            } else {
                let mut ids = broker.clients.consumer_ids(group).unwrap_or_default();
                if !ids.contains(&body.client_id) {
                    ids.push(body.client_id.clone());
                }
                ids.sort();
                allocate_averagely(&all, &ids, &body.client_id)
            };
            queues
                .into_iter()
                .map(|message_queue| MessageQueueAssignment {
                    message_queue,
                    mode,
                    attachments: None,
                })
                .collect()
        }
    };
    Ok(response::json(
        request,
        QueryAssignmentResponseBody {
            message_queue_assignments: assignments,
        }
        .encode(),
    ))
}

/// The group's mode for `topic`: what was set, else PULL (RocketMQ's
/// `defaultMessageRequestMode`); always PULL for retry topics.
fn mode_of(broker: &BrokerInner, topic: &str, group: &str) -> MessageRequestMode {
    if is_retry_topic(topic) {
        return MessageRequestMode::Pull;
    }
    broker
        .request_modes
        .get(topic, group)
        .map_or(MessageRequestMode::Pull, |m| m.mode)
}

/// This consumer's share of `all` (sorted) among `ids` (sorted client ids), by RocketMQ's
/// `AllocateMessageQueueAveragely`.
pub fn allocate_averagely(all: &[MessageQueue], ids: &[String], me: &str) -> Vec<MessageQueue> {
    let Some(index) = ids.iter().position(|id| id == me) else {
        return Vec::new();
    };
    all[petrel_protocol::rebalance::average_range(index, all.len(), ids.len())].to_vec()
}

pub fn set_message_request_mode(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let body = SetMessageRequestModeRequestBody::decode(&request.body)
        .map_err(|e| Refusal::bad_body(request, e))?;
    if is_retry_topic(&body.topic) {
        return Err(Refusal::new(
            response_code::NO_PERMISSION,
            "retry topic is not allowed to set mode",
        ));
    }
    if body.topic.is_empty() || body.consumer_group.is_empty() {
        return Err(Refusal::new(
            response_code::INVALID_PARAMETER,
            "setConsumeMode needs a topic and a consumer group",
        ));
    }
    tracing::info!(topic = %body.topic, group = %body.consumer_group, mode = ?body.mode, "message request mode set");
    broker.request_modes.set(body).map_err(|e| {
        Refusal::new(
            response_code::SYSTEM_ERROR,
            format!("cannot save config/messageRequestMode.json: {e}"),
        )
    })?;
    Ok(response::ok(request))
}

pub fn all_message_request_modes(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> RemotingCommand {
    let body = serde_json::json!({ "messageRequestModeMap": broker.request_modes.all() });
    response::json(request, body.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_are_shared_out_as_java_does() {
        let all: Vec<MessageQueue> = (0..5).map(|q| MessageQueue::new("T", "b", q)).collect();
        let ids: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let ids_of = |me| {
            allocate_averagely(&all, &ids, me)
                .iter()
                .map(|q| q.queue_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids_of("a"), [0, 1, 2]);
        assert_eq!(ids_of("b"), [3, 4]);
        assert!(ids_of("z").is_empty());
        let many: Vec<String> = (0..7).map(|i| i.to_string()).collect();
        assert_eq!(allocate_averagely(&all, &many, "6").len(), 0);
        assert_eq!(allocate_averagely(&all, &many, "4").len(), 1);
    }
}
