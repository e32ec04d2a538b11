//! Topic administration: UPDATE_AND_CREATE_TOPIC (17), DELETE_TOPIC_IN_BROKER (215),
//! GET_ALL_TOPIC_CONFIG (21).

use std::collections::BTreeMap;

use petrel_protocol::name::check_topic;
use petrel_protocol::remoting::body::{TopicConfig, TopicConfigSerializeWrapper, TopicFilterType};
use petrel_protocol::remoting::header::{CreateTopicRequestHeader, DeleteTopicRequestHeader};
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_protocol::topic::AUTO_CREATE_TOPIC_KEY_TOPIC;

use crate::broker::BrokerInner;
use crate::response;

/// Most queues a topic may have.
const MAX_QUEUE_NUMS: i32 = 1024;

fn parse_attributes(s: Option<&str>) -> Result<BTreeMap<String, String>, String> {
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
            .ok_or_else(|| format!("attribute {part:?} is not +key=value"))?;
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

pub fn update_and_create_topic(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let h = match request.decode_header::<CreateTopicRequestHeader>() {
        Ok(h) => h,
        Err(e) => return response::bad_header(request, e),
    };
    if let Err(problem) = check_topic(&h.topic) {
        return response::error(
            request,
            response_code::SYSTEM_ERROR,
            format!("The specified topic is invalid: {problem}"),
        );
    }
    if h.topic == broker.config.broker_cluster_name || h.topic == AUTO_CREATE_TOPIC_KEY_TOPIC {
        return response::error(
            request,
            response_code::SYSTEM_ERROR,
            format!("The topic[{}] is conflict with system topic.", h.topic),
        );
    }
    for (name, n) in [
        ("readQueueNums", h.read_queue_nums),
        ("writeQueueNums", h.write_queue_nums),
    ] {
        if !(1..=MAX_QUEUE_NUMS).contains(&n) {
            return response::error(
                request,
                response_code::SYSTEM_ERROR,
                format!("{name} {n} must be between 1 and {MAX_QUEUE_NUMS}"),
            );
        }
    }
    let filter = match h.topic_filter_type.as_str() {
        "MULTI_TAG" => TopicFilterType::MultiTag,
        _ => TopicFilterType::SingleTag,
    };
    let attributes = match parse_attributes(h.attributes.as_deref()) {
        Ok(a) => a,
        Err(e) => return response::error(request, response_code::SYSTEM_ERROR, e),
    };
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
    response::ok(request)
}

pub fn delete_topic(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let h = match request.decode_header::<DeleteTopicRequestHeader>() {
        Ok(h) => h,
        Err(e) => return response::bad_header(request, e),
    };
    broker.topics.delete(&h.topic);
    broker.offsets.remove_topic(&h.topic);
    broker.store.delete_topics(std::slice::from_ref(&h.topic));
    broker.trigger_register();
    response::ok(request)
}

pub fn all_topic_config(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let wrapper: TopicConfigSerializeWrapper = broker.topics.serialize_wrapper();
    response::json(
        request,
        petrel_protocol::remoting::body::JsonBody::encode(&wrapper),
    )
}
