//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320).
//!
//! Checks mirror RocketMQ's `AbstractSendMessageProcessor.msgCheck` (same codes, clearer
//! remarks), then the message goes to the store. Sends from many connections and many
//! in-flight requests proceed in parallel: the only serialisation is the store's append lock,
//! and under SYNC_FLUSH the wait for the fsync is async (group commit).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use petrel_protocol::message::{
    decode_batch, properties, sys_flag, MessageToStore, Properties, PropertiesIter,
    MAX_PROPERTIES_LEN_BYTES,
};
use petrel_protocol::name::check_topic;
use petrel_protocol::perm::{is_writeable, PERM_READ, PERM_WRITE};
use petrel_protocol::remoting::body::TopicConfig;
use petrel_protocol::remoting::header::{SendMessageRequestHeader, SendMessageResponseHeader};
use petrel_protocol::remoting::{request_code, response_code, RemotingCommand};
use petrel_protocol::topic::{
    dlq_topic, is_not_allowed_send_topic, RETRY_GROUP_TOPIC_PREFIX, SCHEDULE_TOPIC, TIMER_TOPIC,
};
use petrel_remoting::RequestContext;
use petrel_store::PutStatus;

use crate::broker::BrokerInner;
use crate::response;

/// What the properties of a message ask for.
#[derive(Default)]
struct PropertyFacts {
    wait_store_msg_ok: bool,
    transaction_prepared: bool,
    delay_level: Option<String>,
    timer: Option<&'static str>,
    has_cluster: bool,
    transaction_id: Option<String>,
}

fn property_facts(props: &str) -> PropertyFacts {
    let mut facts = PropertyFacts {
        wait_store_msg_ok: true,
        ..Default::default()
    };
    for (k, v) in PropertiesIter::from_validated(props) {
        match k {
            properties::WAIT_STORE_MSG_OK => facts.wait_store_msg_ok = v != "false",
            properties::TRANSACTION_PREPARED => facts.transaction_prepared = v == "true",
            properties::DELAY_TIME_LEVEL => {
                facts.delay_level = Some(v.to_string()).filter(|v| v.trim() != "0")
            }
            properties::TIMER_DELIVER_MS => facts.timer = Some(properties::TIMER_DELIVER_MS),
            properties::TIMER_DELAY_SEC => facts.timer = Some(properties::TIMER_DELAY_SEC),
            properties::TIMER_DELAY_MS => facts.timer = Some(properties::TIMER_DELAY_MS),
            properties::CLUSTER => facts.has_cluster = true,
            properties::TRANSACTION_ID => facts.transaction_id = Some(v.to_string()),
            _ => {}
        }
    }
    facts
}

/// The properties to store: the client's, plus the cluster name as RocketMQ adds it.
fn stored_properties(client: &str, has_cluster: bool, cluster: &str) -> String {
    let mut out = String::with_capacity(client.len() + cluster.len() + 10);
    out.push_str(client);
    if !has_cluster {
        if !out.is_empty() && !out.ends_with(properties::PROPERTY_SEPARATOR) {
            out.push(properties::PROPERTY_SEPARATOR);
        }
        out.push_str(properties::CLUSTER);
        out.push(properties::NAME_VALUE_SEPARATOR);
        out.push_str(cluster);
        out.push(properties::PROPERTY_SEPARATOR);
    }
    out
}

/// The first checks of any send (`msgCheck`): the broker takes writes and the topic name is
/// valid. `Some` is the error response.
pub(crate) fn refuse_send(
    broker: &BrokerInner,
    request: &RemotingCommand,
    topic: &str,
) -> Option<RemotingCommand> {
    if !broker.is_writable() {
        return Some(response::error(
            request,
            response_code::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                broker.config.broker_name
            ),
        ));
    }
    check_topic(topic).err().map(|problem| {
        response::error(
            request,
            response_code::SYSTEM_ERROR,
            format!("The specified topic is invalid: {problem}"),
        )
    })
}

/// The queue a send goes to (`msgCheck`'s second half): the topic must be writable, a negative
/// queue id lets the broker pick a writable queue, and the id must exist. `Err` is the error
/// response.
pub(crate) fn writable_queue(
    request: &RemotingCommand,
    ctx: &RequestContext,
    topic_config: &TopicConfig,
    wanted: i32,
) -> Result<i32, RemotingCommand> {
    let topic = &topic_config.topic_name;
    if !is_writeable(topic_config.perm) {
        return Err(response::error(
            request,
            response_code::NO_PERMISSION,
            format!("the topic[{topic}] sending message is forbidden"),
        ));
    }
    let queue_count = topic_config
        .write_queue_nums
        .max(topic_config.read_queue_nums);
    let queue_id = if wanted < 0 {
        (rand_u32() % topic_config.write_queue_nums.max(1) as u32) as i32
    } else {
        wanted
    };
    if queue_id >= queue_count {
        return Err(response::error(
            request,
            response_code::SYSTEM_ERROR,
            format!(
                "request queueId[{queue_id}] is illegal, topic {topic} has {queue_count} queues, producer {}",
                ctx.remote_addr()
            ),
        ));
    }
    Ok(queue_id)
}

pub async fn process(
    broker: &Arc<BrokerInner>,
    ctx: &RequestContext,
    request: RemotingCommand,
) -> RemotingCommand {
    broker.stats.send_requests.fetch_add(1, Ordering::Relaxed);
    let header = match SendMessageRequestHeader::decode_for_code(request.code, &request.ext_fields)
    {
        Ok(h) => h,
        Err(e) => return response::bad_header(&request, e),
    };
    let topic = header.topic.as_str();
    if let Some(refused) = refuse_send(broker, &request, topic) {
        return refused;
    }
    if is_not_allowed_send_topic(topic) {
        return response::error(
            &request,
            response_code::NO_PERMISSION,
            format!("Sending message to topic[{topic}] is forbidden."),
        );
    }

    // The topic, auto-created from the template (TBW102) or as a retry topic when missing.
    let topic_config = if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
        let (config, created) =
            broker
                .topics
                .create_in_send_back(topic, 1, PERM_READ | PERM_WRITE, 0);
        if created {
            broker.trigger_register();
        }
        Some(config)
    } else if broker.config.auto_create_topic_enable {
        let queues = if header.default_topic_queue_nums > 0 {
            header.default_topic_queue_nums
        } else {
            broker.config.default_topic_queue_nums
        };
        broker
            .topics
            .create_in_send_message(topic, &header.default_topic, queues, 0)
            .map(|(config, created)| {
                if created {
                    broker.trigger_register();
                }
                config
            })
    } else {
        broker.topics.get(topic)
    };
    let Some(topic_config) = topic_config else {
        return response::error(&request, response_code::TOPIC_NOT_EXIST, format!("topic[{topic}] not exist, apply first please! (autoCreateTopicEnable=false on this broker)"));
    };
    let queue_id = match writable_queue(&request, ctx, &topic_config, header.queue_id) {
        Ok(q) => q,
        Err(refused) => return refused,
    };

    let client_props = header.properties.as_deref().unwrap_or("");
    let facts = property_facts(client_props);
    let prepared = facts.transaction_prepared
        || sys_flag::transaction_type(header.sys_flag) == sys_flag::TRANSACTION_PREPARED_TYPE;
    let mut props = stored_properties(
        client_props,
        facts.has_cluster,
        &broker.config.broker_cluster_name,
    );

    // Where the message is stored: retries past their limit go to the group's DLQ; delayed
    // messages wait in SCHEDULE_TOPIC_XXXX (queue = level - 1) with their real destination in
    // their properties.
    let mut store_topic = topic.to_string();
    let mut store_queue = queue_id;
    if let Some(group) = topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) {
        let Some(group_config) = broker.groups.find_or_create(group) else {
            return response::error(
                &request,
                response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("subscription group [{group}] does not exist"),
            );
        };
        let max = header
            .max_reconsume_times
            .unwrap_or(group_config.retry_max_times);
        if header.reconsume_times.unwrap_or(0) >= max {
            let dlq = dlq_topic(group);
            let (_, created) =
                broker
                    .topics
                    .create_in_send_back(&dlq, 1, PERM_READ | PERM_WRITE, 0);
            if created {
                broker.trigger_register();
            }
            tracing::info!(%group, "message reached maxReconsumeTimes {max}; moved to {dlq}");
            store_topic = dlq;
            store_queue = 0;
        }
    }
    let mut store_sys_flag = header.sys_flag;
    if prepared {
        // A half message: invisible until END_TRANSACTION commits it (see transaction.rs).
        let mut p = match Properties::decode(props.as_bytes()) {
            Ok(p) => p,
            Err(e) => {
                return response::error(
                    &request,
                    response_code::MESSAGE_ILLEGAL,
                    format!("message properties: {e}"),
                )
            }
        };
        let (half_topic, half_queue, half_flag) = crate::system_topic::transaction::to_half(
            &mut p,
            &store_topic,
            store_queue,
            header.sys_flag,
        );
        props = p.encode();
        store_topic = half_topic;
        store_queue = half_queue;
        store_sys_flag = half_flag;
    }
    // Timer messages wait in rmq_sys_wheel_timer until their time (see timer.rs).
    let mut is_timer = false;
    if facts.timer.is_some() && !prepared {
        let mut p = match Properties::decode(props.as_bytes()) {
            Ok(p) => p,
            Err(e) => {
                return response::error(
                    &request,
                    response_code::MESSAGE_ILLEGAL,
                    format!("message properties: {e}"),
                )
            }
        };
        let now = crate::clock::now_ms();
        let due = match crate::system_topic::timer::due_time(&p, now) {
            Some(Ok(due)) => due,
            Some(Err(e)) => {
                return response::error(
                    &request,
                    response_code::MESSAGE_ILLEGAL,
                    format!("bad timer property: {e}"),
                )
            }
            None => now,
        };
        if due - now > broker.timers.max_delay_ms() {
            return response::error(
                &request,
                response_code::MESSAGE_ILLEGAL,
                format!(
                    "timer message due in {} s, beyond timerMaxDelaySec ({} s); the message was not stored",
                    (due - now) / 1000,
                    broker.timers.max_delay_ms() / 1000
                ),
            );
        }
        if due > now {
            p.insert(properties::REAL_TOPIC, store_topic.clone());
            p.insert(properties::REAL_QUEUE_ID, store_queue.to_string());
            p.insert(properties::TIMER_OUT_MS, due.to_string());
            props = p.encode();
            store_topic = TIMER_TOPIC.to_string();
            store_queue = 0;
            is_timer = true;
        }
    }
    let delay_level = facts
        .delay_level
        .as_deref()
        .and_then(|d| broker.schedule.level_of(d));
    if let (Some(level), false) = (delay_level, prepared || is_timer) {
        let mut p = match Properties::decode(props.as_bytes()) {
            Ok(p) => p,
            Err(e) => {
                return response::error(
                    &request,
                    response_code::MESSAGE_ILLEGAL,
                    format!("message properties: {e}"),
                )
            }
        };
        p.insert(properties::DELAY_TIME_LEVEL, level.to_string());
        p.insert(properties::REAL_TOPIC, store_topic.clone());
        p.insert(properties::REAL_QUEUE_ID, store_queue.to_string());
        props = p.encode();
        store_topic = SCHEDULE_TOPIC.to_string();
        store_queue = level - 1;
    }

    let born_host = ctx.remote_addr();
    let base = MessageToStore {
        topic: &store_topic,
        queue_id: store_queue,
        flag: header.flag,
        body: &[],
        properties: props.as_bytes(),
        sys_flag: store_sys_flag,
        born_timestamp: header.born_timestamp,
        born_host,
        store_host: broker.store_host,
        reconsume_times: header.reconsume_times.unwrap_or(0),
        prepared_transaction_offset: 0,
    };
    let max_body = broker.config.max_message_size_bytes;

    // Batch: one record per item, with the item's own properties (plus the cluster name).
    let is_batch = request.code == request_code::SEND_BATCH_MESSAGE || header.batch == Some(true);
    let batch_props: Vec<String>;
    let batch_bodies: Vec<&[u8]>;
    let mut messages = Vec::new();
    if is_batch {
        if prepared {
            return response::error(
                &request,
                response_code::MESSAGE_ILLEGAL,
                "a batch may not carry transactional messages",
            );
        }
        if store_topic == SCHEDULE_TOPIC {
            return response::error(
                &request,
                response_code::MESSAGE_ILLEGAL,
                "a batch may not carry delayed messages",
            );
        }
        let mut props_list = Vec::new();
        let mut bodies = Vec::new();
        let mut flags = Vec::new();
        for item in decode_batch(&request.body) {
            let item = match item {
                Ok(i) => i,
                Err(e) => {
                    return response::error(
                        &request,
                        response_code::MESSAGE_ILLEGAL,
                        format!("malformed batch body: {e}"),
                    )
                }
            };
            if item.body.len() > max_body {
                return response::error(
                    &request,
                    response_code::MESSAGE_ILLEGAL,
                    format!(
                        "a message body of the batch is {} bytes, over the max {max_body}",
                        item.body.len()
                    ),
                );
            }
            let Ok(item_props) = std::str::from_utf8(item.properties) else {
                return response::error(
                    &request,
                    response_code::MESSAGE_ILLEGAL,
                    "batch message properties are not UTF-8",
                );
            };
            let item_facts = property_facts(item_props);
            if item_facts.delay_level.is_some() || item_facts.timer.is_some() {
                return response::error(
                    &request,
                    response_code::MESSAGE_ILLEGAL,
                    "a batch may not carry delayed messages",
                );
            }
            props_list.push(stored_properties(
                item_props,
                item_facts.has_cluster,
                &broker.config.broker_cluster_name,
            ));
            bodies.push(item.body);
            flags.push(item.flag);
        }
        if bodies.is_empty() {
            return response::error(&request, response_code::MESSAGE_ILLEGAL, "empty batch");
        }
        batch_props = props_list;
        batch_bodies = bodies;
        for (i, body) in batch_bodies.iter().enumerate() {
            if batch_props[i].len() > MAX_PROPERTIES_LEN_BYTES {
                return response::error(
                    &request,
                    response_code::MESSAGE_ILLEGAL,
                    format!("message properties are over {MAX_PROPERTIES_LEN_BYTES} bytes"),
                );
            }
            messages.push(MessageToStore {
                body,
                properties: batch_props[i].as_bytes(),
                flag: flags[i],
                ..base.clone()
            });
        }
    } else {
        if request.body.len() > max_body {
            return response::error(
                &request,
                response_code::MESSAGE_ILLEGAL,
                format!("the message body size over max value, MAX: {max_body}"),
            );
        }
        if props.len() > MAX_PROPERTIES_LEN_BYTES {
            return response::error(
                &request,
                response_code::MESSAGE_ILLEGAL,
                format!(
                    "the message properties are {} bytes, over the max {MAX_PROPERTIES_LEN_BYTES}",
                    props.len()
                ),
            );
        }
        messages.push(MessageToStore {
            body: &request.body,
            ..base
        });
    }

    let result = match broker
        .store
        .put_messages(&messages, facts.wait_store_msg_ok)
        .await
    {
        Ok(r) => r,
        Err(e) => return response::store_error(&request, &e),
    };
    broker
        .stats
        .messages_put
        .fetch_add(messages.len() as u64, Ordering::Relaxed);
    let code = match result.status {
        PutStatus::PutOk => response_code::SUCCESS,
        PutStatus::FlushDiskTimeout => response_code::FLUSH_DISK_TIMEOUT,
    };
    let response_header = SendMessageResponseHeader {
        msg_id: result.append.msg_ids.join(","),
        queue_id,
        queue_offset: result.append.queue_offset,
        transaction_id: facts.transaction_id.or_else(|| {
            prepared.then(|| {
                PropertiesIter::from_validated(client_props)
                    .find(|(k, _)| *k == properties::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
                    .map(|(_, v)| v.to_string())
            })?
        }),
        batch_uniq_id: None,
        recall_handle: None,
    };
    let mut response =
        RemotingCommand::response_to(&request, code, None).with_header(&response_header);
    response
        .ext_fields
        .insert(properties::MSG_REGION, "DefaultRegion");
    response.ext_fields.insert(properties::TRACE_SWITCH, "true");
    response
}

/// A cheap random number for picking a queue when the producer leaves it to the broker.
fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_property_is_appended_once() {
        assert_eq!(stored_properties("", false, "C"), "CLUSTER\u{1}C\u{2}");
        assert_eq!(
            stored_properties("TAGS\u{1}a\u{2}", false, "C"),
            "TAGS\u{1}a\u{2}CLUSTER\u{1}C\u{2}"
        );
        assert_eq!(
            stored_properties("TAGS\u{1}a", false, "C"),
            "TAGS\u{1}a\u{2}CLUSTER\u{1}C\u{2}"
        );
        assert_eq!(
            stored_properties("CLUSTER\u{1}X\u{2}", true, "C"),
            "CLUSTER\u{1}X\u{2}"
        );
    }

    #[test]
    fn reads_what_the_properties_ask_for() {
        let f = property_facts("WAIT\u{1}false\u{2}DELAY\u{1}3\u{2}");
        assert!(!f.wait_store_msg_ok);
        assert_eq!(f.delay_level.as_deref(), Some("3"));
        let f = property_facts("DELAY\u{1}0\u{2}");
        assert!(f.delay_level.is_none() && f.wait_store_msg_ok);
    }
}
