//! Topic administration: UPDATE_AND_CREATE_TOPIC (17), UPDATE_AND_CREATE_TOPIC_LIST (18),
//! DELETE_TOPIC_IN_BROKER (215), GET_ALL_TOPIC_CONFIG (21).
//!
//! As RocketMQ 5.x (`validateSystemTopicWhenUpdateTopic`, on by default): the broker's system
//! topics (RocketMQ's set, `rmq_sys_*`, and the cluster, broker and reply topics named after
//! this broker) can be neither created, changed nor deleted through these requests, so the
//! messages waiting in `SCHEDULE_TOPIC_XXXX`, the timer and transaction topics cannot be thrown
//! away by an admin command. Topic attributes are validated and applied as RocketMQ does
//! (`petrel_protocol::topic::attributes`); values Petrel cannot honour (a batch ConsumeQueue,
//! compaction, a per-topic retention) are refused rather than stored and ignored.

use std::collections::BTreeMap;

use petrel_protocol::name::check_topic;
use petrel_protocol::remoting::body::{
    CreateTopicListRequestBody, JsonBody, TopicConfig, TopicConfigSerializeWrapper, TopicFilterType,
};
use petrel_protocol::remoting::header::{CreateTopicRequestHeader, DeleteTopicRequestHeader};
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_protocol::topic::attributes::{self, AttributeError};
use petrel_protocol::topic::{is_system_topic, reply_topic};

use crate::broker::BrokerInner;
use crate::response::{self, Refusal};

/// Most queues a topic may have.
const MAX_QUEUE_NUMS: i32 = 1024;

fn system_error(remark: impl Into<String>) -> Refusal {
    Refusal::new(response_code::SYSTEM_ERROR, remark)
}

fn invalid(remark: impl Into<String>) -> Refusal {
    Refusal::new(response_code::INVALID_PARAMETER, remark)
}

/// RocketMQ's system topics as this broker has them: `TopicValidator`'s set and prefix, plus
/// the topics the broker creates under its cluster and broker names (which RocketMQ adds to its
/// system set at start).
pub(crate) fn is_broker_system_topic(broker: &BrokerInner, topic: &str) -> bool {
    let cluster = &broker.config.broker_cluster_name;
    is_system_topic(topic)
        || topic == cluster
        || topic == broker.config.broker_name
        || topic == reply_topic(cluster)
}

fn refuse_system_topic(broker: &BrokerInner, topic: &str) -> Result<(), Refusal> {
    if is_broker_system_topic(broker, topic) {
        Err(invalid(format!(
            "The topic[{topic}] is conflict with system topic."
        )))
    } else {
        Ok(())
    }
}

/// The attributes a topic ends up with after `modification` (keys signed: `+key`, `-key`), as
/// RocketMQ's `TopicConfigManager.updateTopicConfig` computes them, then refused if Petrel
/// cannot honour them.
fn topic_attributes(
    broker: &BrokerInner,
    topic: &str,
    modification: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Refusal> {
    let key = format!("+{}", attributes::MESSAGE_TYPE);
    if modification.get(&key).map(String::as_str) == Some(attributes::MIXED) {
        return Err(invalid("MIXED message type is not supported."));
    }
    let existing = broker.topics.get(topic);
    let current = existing
        .as_ref()
        .map(|c| c.attributes.clone())
        .unwrap_or_default();
    let altered = attributes::alter(existing.is_none(), &current, modification)
        .map_err(|e: AttributeError| system_error(e.to_string()))?;
    for (name, value) in &altered {
        let unsupported = match (name.as_str(), value.as_str()) {
            (attributes::QUEUE_TYPE, "BatchCQ") => {
                Some("Petrel's ConsumeQueues are SimpleCQ; batch ConsumeQueues are not supported")
            }
            (attributes::CLEANUP_POLICY, "COMPACTION") => {
                Some("compacted topics are not supported; messages expire by fileReservedTime")
            }
            (attributes::RESERVE_TIME, v) if v != "-1" => {
                Some("a per-topic retention is not supported; every topic keeps fileReservedTime")
            }
            _ => None,
        };
        if let Some(why) = unsupported {
            return Err(invalid(format!(
                "topic attribute {name}={value} is not supported by Petrel: {why}"
            )));
        }
    }
    Ok(altered)
}

/// A topic config as a request asks for it, checked as RocketMQ checks it (legal name, not a
/// system topic, attributes), with its final attributes.
fn checked_topic(
    broker: &BrokerInner,
    mut config: TopicConfig,
    modification: &BTreeMap<String, String>,
) -> Result<TopicConfig, Refusal> {
    let topic = config.topic_name.clone();
    check_topic(&topic)
        .map_err(|problem| invalid(format!("The specified topic is invalid: {problem}")))?;
    refuse_system_topic(broker, &topic)?;
    for (name, n) in [
        ("readQueueNums", config.read_queue_nums),
        ("writeQueueNums", config.write_queue_nums),
    ] {
        if !(1..=MAX_QUEUE_NUMS).contains(&n) {
            return Err(system_error(format!(
                "{name} {n} must be between 1 and {MAX_QUEUE_NUMS}"
            )));
        }
    }
    config.attributes = topic_attributes(broker, &topic, modification)?;
    Ok(config)
}

fn store_topics(broker: &BrokerInner, configs: Vec<TopicConfig>) {
    let mut changed = false;
    for config in configs {
        let (topic, read, write) = (
            config.topic_name.clone(),
            config.read_queue_nums,
            config.write_queue_nums,
        );
        if broker.topics.update(config) {
            tracing::info!(%topic, read, write, "topic created or updated");
            changed = true;
        }
    }
    if changed {
        broker.trigger_register();
    }
}

pub fn update_and_create_topic(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: CreateTopicRequestHeader = response::header(request)?;
    let modification = attributes::parse_modification(h.attributes.as_deref().unwrap_or_default())
        .map_err(|e| system_error(e.to_string()))?;
    let requested = TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: h.read_queue_nums,
        write_queue_nums: h.write_queue_nums,
        perm: h.perm,
        topic_filter_type: match h.topic_filter_type.as_str() {
            "MULTI_TAG" => TopicFilterType::MultiTag,
            _ => TopicFilterType::SingleTag,
        },
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.order,
        attributes: BTreeMap::new(),
    };
    let config = checked_topic(broker, requested, &modification)?;
    store_topics(broker, vec![config]);
    Ok(response::ok(request))
}

/// UPDATE_AND_CREATE_TOPIC_LIST (`mqadmin updateTopicList`): several topics at once, each
/// checked as UPDATE_AND_CREATE_TOPIC checks one; none is stored unless all pass.
pub fn update_and_create_topic_list(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let body = CreateTopicListRequestBody::decode(&request.body)
        .map_err(|e| Refusal::bad_body(request, e))?;
    let configs = body
        .topic_config_list
        .into_iter()
        .map(|mut config| {
            let modification = std::mem::take(&mut config.attributes);
            checked_topic(broker, config, &modification)
        })
        .collect::<Result<Vec<_>, _>>()?;
    store_topics(broker, configs);
    Ok(response::ok(request))
}

pub fn delete_topic(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: DeleteTopicRequestHeader = response::header(request)?;
    if h.topic.trim().is_empty() {
        return Err(invalid("The specified topic is blank."));
    }
    refuse_system_topic(broker, &h.topic)?;
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
