//! Topic administration: UPDATE_AND_CREATE_TOPIC (17), DELETE_TOPIC_IN_BROKER (215),
//! GET_ALL_TOPIC_CONFIG (21).

use std::collections::BTreeMap;

use petrel_protocol::name::check_topic;
use petrel_protocol::remoting::body::{
    JsonBody, TopicConfig, TopicConfigSerializeWrapper, TopicFilterType,
};
use petrel_protocol::remoting::header::{CreateTopicRequestHeader, DeleteTopicRequestHeader};
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_protocol::topic::AUTO_CREATE_TOPIC_KEY_TOPIC;

use crate::broker::BrokerInner;
use crate::response::{self, Refusal};

/// Most queues a topic may have.
const MAX_QUEUE_NUMS: i32 = 1024;

/// A topic attribute that is not `+key=value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attribute {0:?} is not +key=value")]
pub struct AttributeError(String);

/// `+key=value,+key2=value2` (the `+` is optional), as mqadmin `updateTopic -a` sends them.
fn parse_attributes(s: Option<&str>) -> Result<BTreeMap<String, String>, AttributeError> {
    let mut out = BTreeMap::new();
    for part in s
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let part = part.strip_prefix('+').unwrap_or(part);
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| AttributeError(part.to_string()))?;
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

fn system_error(remark: impl Into<String>) -> Refusal {
    Refusal::new(response_code::SYSTEM_ERROR, remark)
}

pub fn update_and_create_topic(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: CreateTopicRequestHeader = response::header(request)?;
    check_topic(&h.topic)
        .map_err(|problem| system_error(format!("The specified topic is invalid: {problem}")))?;
    if h.topic == broker.config.broker_cluster_name || h.topic == AUTO_CREATE_TOPIC_KEY_TOPIC {
        return Err(system_error(format!(
            "The topic[{}] is conflict with system topic.",
            h.topic
        )));
    }
    for (name, n) in [
        ("readQueueNums", h.read_queue_nums),
        ("writeQueueNums", h.write_queue_nums),
    ] {
        if !(1..=MAX_QUEUE_NUMS).contains(&n) {
            return Err(system_error(format!(
                "{name} {n} must be between 1 and {MAX_QUEUE_NUMS}"
            )));
        }
    }
    let filter = match h.topic_filter_type.as_str() {
        "MULTI_TAG" => TopicFilterType::MultiTag,
        _ => TopicFilterType::SingleTag,
    };
    let attributes =
        parse_attributes(h.attributes.as_deref()).map_err(|e| system_error(e.to_string()))?;
    let config = TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: h.read_queue_nums,
        write_queue_nums: h.write_queue_nums,
        perm: h.perm,
        topic_filter_type: filter,
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.order,
        attributes,
    };
    if broker.topics.update(config) {
        tracing::info!(topic = %h.topic, read = h.read_queue_nums, write = h.write_queue_nums, "topic created or updated");
        broker.trigger_register();
    }
    Ok(response::ok(request))
}

pub fn delete_topic(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: DeleteTopicRequestHeader = response::header(request)?;
    broker.topics.delete(&h.topic);
    broker.offsets.remove_topic(&h.topic);
    broker.store.delete_topics(std::slice::from_ref(&h.topic));
    broker.trigger_register();
    Ok(response::ok(request))
}

pub fn all_topic_config(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let wrapper: TopicConfigSerializeWrapper = broker.topics.serialize_wrapper();
    response::json(request, wrapper.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_plus_key_equals_value() {
        assert_eq!(
            parse_attributes(Some("+message.type=FIFO, queue.type=x")),
            Ok(BTreeMap::from([
                ("message.type".to_string(), "FIFO".to_string()),
                ("queue.type".to_string(), "x".to_string()),
            ]))
        );
        assert_eq!(parse_attributes(None), Ok(BTreeMap::new()));
        assert_eq!(
            parse_attributes(Some("+oops")).unwrap_err().to_string(),
            "attribute \"oops\" is not +key=value"
        );
    }
}
