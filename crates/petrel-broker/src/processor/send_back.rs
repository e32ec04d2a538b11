//! CONSUMER_SEND_MSG_BACK (36): a consumer could not process a message; it comes back later.
//!
//! As RocketMQ does it: the message (looked up by its CommitLog offset) is stored again in the
//! group's retry topic `%RETRY%{group}` with `reconsumeTimes + 1`, delayed by level
//! `3 + reconsumeTimes` (10 s, 30 s, 1 m, 2 m, ...) unless the consumer names a level; after
//! `maxReconsumeTimes` (the group's `retryMaxTimes`, 16, or the client's own value), or when the
//! consumer asks with a negative level, it goes to the group's dead-letter topic `%DLQ%{group}`
//! instead. Consumers subscribe their retry topic, so retried messages reach them again; the
//! original topic travels in `RETRY_TOPIC`.

use std::sync::Arc;

use petrel_protocol::message::{encode_offset_msg_id, properties};
use petrel_protocol::remoting::header::ConsumerSendMsgBackRequestHeader;
use petrel_protocol::remoting::{response_code, RemotingCommand};

use crate::broker::BrokerInner;
use crate::message::OwnedMessage;
use crate::response;
use petrel_protocol::mix_all::FIRST_RETRY_DELAY_LEVEL;
use petrel_protocol::perm::{is_writeable, PERM_READ, PERM_WRITE};
use petrel_protocol::topic::{dlq_topic, retry_topic, SCHEDULE_TOPIC};

pub async fn process(broker: &Arc<BrokerInner>, request: &RemotingCommand) -> RemotingCommand {
    let h = match request.decode_header::<ConsumerSendMsgBackRequestHeader>() {
        Ok(h) => h,
        Err(e) => return response::bad_header(request, e),
    };
    let group = h.group.as_str();
    let Some(group_config) = broker.groups.find_or_create(group) else {
        return response::error(
            request,
            response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group [{group}] does not exist"),
        );
    };
    if !broker.is_writable() {
        return response::error(
            request,
            response_code::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                broker.config.broker_name
            ),
        );
    }
    if group_config.retry_queue_nums <= 0 {
        return response::ok(request); // the group asked for no retries
    }
    let Some(record) = broker.store.look_message_by_offset(h.offset) else {
        return response::error(
            request,
            response_code::SYSTEM_ERROR,
            format!("look message by offset failed, {}", h.offset),
        );
    };
    let mut msg = match OwnedMessage::from_record(&record) {
        Ok(m) => m,
        Err(e) => {
            return response::error(
                request,
                response_code::SYSTEM_ERROR,
                format!("stored message at {} is unreadable: {e}", h.offset),
            )
        }
    };
    let original_topic = msg
        .properties
        .get(properties::RETRY_TOPIC)
        .map(str::to_string)
        .unwrap_or_else(|| msg.topic.clone());
    msg.properties
        .insert(properties::RETRY_TOPIC, original_topic.clone());
    let origin_msg_id = h
        .origin_msg_id
        .clone()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| encode_offset_msg_id(broker.store_host, h.offset));
    msg.properties
        .insert(properties::ORIGIN_MESSAGE_ID, origin_msg_id.clone());

    let max_reconsume_times = h
        .max_reconsume_times
        .unwrap_or(group_config.retry_max_times);
    let to_dlq = msg.reconsume_times >= max_reconsume_times || h.delay_level < 0;
    let (topic, queue_id) = if to_dlq {
        let dlq = dlq_topic(group);
        let (config, created) =
            broker
                .topics
                .create_in_send_back(&dlq, 1, PERM_READ | PERM_WRITE, 0);
        if created {
            broker.trigger_register();
        }
        if !is_writeable(config.perm) {
            return response::error(
                request,
                response_code::NO_PERMISSION,
                format!("the topic[{dlq}] sending message is forbidden"),
            );
        }
        msg.properties
            .insert(properties::DLQ_ORIGIN_TOPIC, original_topic.clone());
        msg.properties
            .insert(properties::DLQ_ORIGIN_MESSAGE_ID, origin_msg_id);
        msg.properties.remove(properties::DELAY_TIME_LEVEL);
        tracing::info!(%group, topic = %original_topic, reconsume_times = msg.reconsume_times, "message moved to {dlq}");
        (dlq, 0)
    } else {
        let retry = retry_topic(group);
        let (config, created) = broker.topics.create_in_send_back(
            &retry,
            group_config.retry_queue_nums,
            PERM_READ | PERM_WRITE,
            0,
        );
        if created {
            broker.trigger_register();
        }
        if !is_writeable(config.perm) {
            return response::error(
                request,
                response_code::NO_PERMISSION,
                format!("the topic[{retry}] sending message is forbidden"),
            );
        }
        let queue_id = (rand_index() % config.write_queue_nums.max(1) as u32) as i32;
        (retry, queue_id)
    };
    msg.reconsume_times += 1;

    // Retries wait their level in SCHEDULE_TOPIC_XXXX before reaching the retry topic.
    if !to_dlq {
        let level = if h.delay_level == 0 {
            FIRST_RETRY_DELAY_LEVEL + msg.reconsume_times - 1
        } else {
            h.delay_level
        };
        let level = level.clamp(1, broker.schedule.max_level());
        msg.properties
            .insert(properties::DELAY_TIME_LEVEL, level.to_string());
        msg.properties.insert(properties::REAL_TOPIC, topic.clone());
        msg.properties
            .insert(properties::REAL_QUEUE_ID, queue_id.to_string());
        msg.topic = SCHEDULE_TOPIC.to_string();
        msg.queue_id = level - 1;
    } else {
        msg.topic = topic;
        msg.queue_id = queue_id;
    }
    match msg.put(&broker.store, broker.store_host).await {
        Ok(_) => response::ok(request),
        Err(e) => response::store_error(request, &e),
    }
}

fn rand_index() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(crate::clock::now_ms() as u64);
    h.finish() as u32
}
