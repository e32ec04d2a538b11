//! The consume path's shared steps (as `send_checks` is the send path's): the checks every
//! read request makes (the broker serves reads, the group may consume, the topic exists and
//! is readable), and the POP-specific ones (queue, invisible time, filter, the message a
//! receipt handle names). PULL, POP, ACK and the gRPC consumer RPCs use them, so that a
//! processor never imports another.

use std::sync::Arc;

use petrel_protocol::perm::is_readable;
use petrel_protocol::remoting::body::{SubscriptionGroupConfig, TopicConfig};
use petrel_protocol::remoting::response_code;

use crate::broker::BrokerInner;
use crate::filter::SubscriptionFilter;
use crate::pop::{MAX_INVISIBLE_MS, MIN_INVISIBLE_MS};
use crate::response::Refusal;

/// `brokerPermission` has the read bit. `verb` names the request in the remark ("pulling").
pub(crate) fn broker_readable(broker: &BrokerInner, verb: &str) -> Result<(), Refusal> {
    if broker.is_readable() {
        return Ok(());
    }
    Err(Refusal::new(
        response_code::NO_PERMISSION,
        format!(
            "the broker[{}] {verb} message is forbidden",
            broker.config.broker_name
        ),
    ))
}

/// The group's config (created with defaults under `autoCreateSubscriptionGroup`), if it may
/// consume.
pub(crate) fn group_may_consume(
    broker: &BrokerInner,
    group: &str,
) -> Result<SubscriptionGroupConfig, Refusal> {
    let config = broker.groups.find_or_create(group).ok_or_else(|| {
        Refusal::new(
            response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!(
                "subscription group [{group}] does not exist (autoCreateSubscriptionGroup=false); \
                 create it with updateSubGroup"
            ),
        )
    })?;
    if !config.consume_enable {
        return Err(Refusal::new(
            response_code::NO_PERMISSION,
            format!("subscription group [{group}] may not consume (consumeEnable=false)"),
        ));
    }
    Ok(config)
}

/// The topic's config, if it exists and may be read.
pub(crate) fn readable_topic(
    broker: &BrokerInner,
    topic: &str,
    verb: &str,
) -> Result<TopicConfig, Refusal> {
    let config = broker.topics.get(topic).ok_or_else(|| {
        Refusal::new(
            response_code::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist, apply first please!"),
        )
    })?;
    if !is_readable(config.perm) {
        return Err(Refusal::new(
            response_code::NO_PERMISSION,
            format!("the topic[{topic}] {verb} message is forbidden"),
        ));
    }
    Ok(config)
}

/// A POP-family request's checks: a master (a slave cannot store revived copies; its master
/// serves POP), reads allowed, the group may consume, the topic is readable, and `queue_id`
/// is −1 (any) or one of its read queues.
pub fn pop_checks(
    broker: &BrokerInner,
    group: &str,
    topic: &str,
    queue_id: i32,
) -> Result<(TopicConfig, SubscriptionGroupConfig), Refusal> {
    if broker.is_slave() {
        return Err(Refusal::new(
            response_code::NO_PERMISSION,
            format!(
                "the broker[{}] is a slave: POP consumption is served by its master",
                broker.config.broker_name
            ),
        ));
    }
    broker_readable(broker, "pop")?;
    let group_config = group_may_consume(broker, group)?;
    let topic_config = readable_topic(broker, topic, "pop")?;
    if queue_id < -1 || queue_id >= topic_config.read_queue_nums {
        return Err(Refusal::new(
            response_code::INVALID_PARAMETER,
            format!(
                "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}] \
                 consumer:[{group}]",
                topic_config.read_queue_nums
            ),
        ));
    }
    Ok((topic_config, group_config))
}

/// The invisible time of a request: at least [`MIN_INVISIBLE_MS`] (a shorter one, 0
/// included, is taken as "visible again soon"), at most [`MAX_INVISIBLE_MS`]; negative is
/// refused.
pub fn invisible_ms(requested: i64) -> Result<i64, Refusal> {
    if requested < 0 {
        return Err(Refusal::new(
            response_code::INVALID_PARAMETER,
            format!("invisibleTime {requested} ms is negative; use 1000 ms to 12 h"),
        ));
    }
    Ok(requested.clamp(MIN_INVISIBLE_MS, MAX_INVISIBLE_MS))
}

/// The filter of a pop: the request's expression (`*` when absent).
pub fn pop_filter(
    broker: &BrokerInner,
    exp_type: Option<&str>,
    exp: Option<&str>,
) -> Result<Arc<SubscriptionFilter>, Refusal> {
    SubscriptionFilter::parse(
        exp_type,
        exp.unwrap_or("*"),
        broker.live.get().enable_property_filter,
    )
    .map(Arc::new)
    .map_err(|e| {
        Refusal::new(
            response_code::SUBSCRIPTION_PARSE_FAILED,
            format!("parse the consumer's subscription failed: {e}"),
        )
    })
}

/// The message a receipt handle names exists: the topic does, the queue is one of its read
/// queues, and `offset` lies in it (RocketMQ's `AckMessageProcessor` answers:
/// `TOPIC_NOT_EXIST`, `MESSAGE_ILLEGAL`, `NO_MESSAGE`).
pub fn handle_target(
    broker: &BrokerInner,
    topic: &str,
    queue_id: i32,
    offset: i64,
) -> Result<(), Refusal> {
    let config = broker.topics.get(topic).ok_or_else(|| {
        Refusal::new(
            response_code::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist, apply first please!"),
        )
    })?;
    if queue_id < 0 || queue_id >= config.read_queue_nums {
        return Err(Refusal::new(
            response_code::MESSAGE_ILLEGAL,
            format!(
                "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}]",
                config.read_queue_nums
            ),
        ));
    }
    let (min, max) = (
        broker.store.get_min_offset_in_queue(topic, queue_id),
        broker.store.get_max_offset_in_queue(topic, queue_id),
    );
    if offset < min || offset > max {
        return Err(Refusal::new(
            response_code::NO_MESSAGE,
            format!(
                "offset is illegal, key:{topic}@{queue_id}, commit:{offset}, store:{min}~{max}"
            ),
        ));
    }
    Ok(())
}
