//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320).
//!
//! A send goes through five steps, each a function of its own:
//!
//! 1. **checks** (`send_checks.rs`, RocketMQ's `msgCheck`, same codes, clearer remarks): the
//!    broker takes writes, the topic name is legal and not internal, the topic exists (it is
//!    auto-created from `TBW102`, or as a retry topic), is writable, and has the queue;
//! 2. **destination** (`destination.rs`, pure): where the message is stored — its topic, or
//!    its group's DLQ, or held as a half, timer or delayed message — and which properties change;
//! 3. **build** (`send_build.rs`, pure): the records, one per message (batch items included);
//! 4. **store**: one `put_messages` call; on a SYNC_MASTER, then the wait for its slaves
//!    (`replica::after_store`: SLAVE_NOT_AVAILABLE or FLUSH_SLAVE_TIMEOUT replace SUCCESS);
//! 5. **response**: the message ids and queue offset, as RocketMQ answers.
//!
//! Sends from many connections and many in-flight requests proceed in parallel: the only
//! serialisation is the store's append lock, and under SYNC_FLUSH the wait for the fsync is
//! async (group commit).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use petrel_protocol::message::MessageToStore;
use petrel_protocol::mix_all::stats;
use petrel_protocol::remoting::body::TopicConfig;
use petrel_protocol::remoting::header::{SendMessageRequestHeader, SendMessageResponseHeader};
use petrel_protocol::remoting::{request_code, response_code, RemotingCommand};
use petrel_protocol::topic::{is_retry_topic, RETRY_GROUP_TOPIC_PREFIX};
use petrel_remoting::RequestContext;
use petrel_store::PutStatus;

use crate::broker::BrokerInner;
use crate::clock::now_ms;
use crate::processor::destination::{
    destination, DelayLimits, Destination, PropertyFacts, RetryGroup, SendFacts,
};
use crate::processor::send_build::{build_messages, SendBody};
use crate::processor::send_checks;
use crate::response::{self, Refusal};

pub async fn process(
    broker: &BrokerInner,
    ctx: &RequestContext,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    broker.stats.send_requests.fetch_add(1, Ordering::Relaxed);
    let header = SendMessageRequestHeader::decode_for_code(request.code, &request.ext_fields)
        .map_err(|e| Refusal::bad_header(request, e))?;
    let batch = request.code == request_code::SEND_BATCH_MESSAGE || header.batch == Some(true);
    let outcome = send_message(broker, ctx.remote_addr(), &header, &request.body, batch).await?;
    Ok(response::send_result(
        request,
        outcome.code,
        &outcome.header,
    ))
}

/// What a stored send answers: the response code (SUCCESS, or FLUSH_DISK_TIMEOUT /
/// FLUSH_SLAVE_TIMEOUT / SLAVE_NOT_AVAILABLE, which are stored too), the response header, and
/// where the records went in the CommitLog (a half message's offset resolves its transaction).
#[derive(Debug, Clone)]
pub struct SendOutcome {
    pub code: i32,
    pub header: SendMessageResponseHeader,
    pub physical_offsets: Vec<i64>,
}

/// The send path of SEND_MESSAGE(_V2) and SEND_BATCH_MESSAGE after its header is decoded:
/// also the entry point of other front ends (the gRPC service), so that every send goes through
/// the same checks, destination, build and store steps. `born_host` is the producer's address.
pub async fn send_message(
    broker: &BrokerInner,
    born_host: SocketAddr,
    header: &SendMessageRequestHeader,
    body: &[u8],
    batch: bool,
) -> Result<SendOutcome, Refusal> {
    // 1. Checks.
    let topic = header.topic.as_str();
    send_checks::refuse_send(broker, topic)?;
    send_checks::allowed_send_topic(topic)?;
    let topic_config = send_topic(broker, header)?;
    let queue_id = send_checks::writable_queue(&topic_config, header.queue_id, born_host)?;

    // 2. Destination.
    let client_props = header.properties.as_deref().unwrap_or("");
    let facts = SendFacts {
        topic,
        queue_id,
        sys_flag: header.sys_flag,
        reconsume_times: header.reconsume_times.unwrap_or(0),
        max_reconsume_times: header.max_reconsume_times,
        properties: PropertyFacts::scan(client_props),
    };
    let retry_group = retry_group(broker, topic)?;
    let limits = DelayLimits {
        max_delay_level: broker.schedule.max_level(),
        timer_max_delay_ms: broker.timers.max_delay_ms(),
    };
    let dest = destination(&facts, retry_group, limits, now_ms())?;
    if let Some(dlq) = &dest.dead_letter {
        send_checks::dead_letter_topic(broker, dlq)?;
        tracing::info!(
            %topic,
            reconsume_times = facts.reconsume_times,
            "message reached maxReconsumeTimes; moved to {dlq}"
        );
    }

    // 3. Build.
    let send = SendBody {
        body,
        batch,
        flag: header.flag,
        properties: client_props,
        has_cluster: facts.properties.has_cluster,
        cluster: &broker.config.broker_cluster_name,
        max_body: broker.config.max_message_size_bytes,
    };
    let records = build_messages(&send, &dest)?;

    // 4. Store.
    let base = store_base(broker, born_host, header, &dest);
    let messages: Vec<MessageToStore<'_>> = records
        .iter()
        .map(|r| MessageToStore {
            body: r.body,
            properties: r.properties.as_bytes(),
            flag: r.flag,
            ..base.clone()
        })
        .collect();
    let result = broker
        .store
        .put_messages(&messages, facts.properties.wait_store_msg_ok)
        .await?;
    broker
        .stats
        .messages_put
        .fetch_add(messages.len() as u64, Ordering::Relaxed);
    count_put(broker, topic, messages.len(), result.append.wrote_bytes);

    let replicated = crate::replica::after_store(
        broker,
        result.append.end_offset,
        facts.properties.wait_store_msg_ok,
    )
    .await?;

    // 5. Response. A slave's answer wins over the disk's, as in RocketMQ 4.9.
    let code = match (replicated, result.status) {
        (Some(code), _) => code,
        (None, PutStatus::PutOk) => response_code::SUCCESS,
        (None, PutStatus::FlushDiskTimeout) => response_code::FLUSH_DISK_TIMEOUT,
    };
    let props = &facts.properties;
    let response_header = SendMessageResponseHeader {
        msg_id: result.append.msg_ids.join(","),
        queue_id,
        queue_offset: result.append.queue_offset,
        transaction_id: props
            .transaction_id
            .or_else(|| props.uniq_key.filter(|_| facts.is_prepared()))
            .map(str::to_string),
        batch_uniq_id: None,
        recall_handle: None,
    };
    Ok(SendOutcome {
        code,
        header: response_header,
        physical_offsets: result.append.physical_offsets,
    })
}

/// RocketMQ's `TOPIC_PUT_*` and `BROKER_PUT_NUMS` statistics of a stored send (counted under
/// the topic the producer named).
fn count_put(broker: &BrokerInner, topic: &str, messages: usize, bytes: usize) {
    let now = now_ms();
    let items = &broker.stats.items;
    items.add(stats::TOPIC_PUT_NUMS, topic, messages as u64, now);
    items.add(stats::TOPIC_PUT_SIZE, topic, bytes as u64, now);
    items.add(
        stats::BROKER_PUT_NUMS,
        &broker.config.broker_cluster_name,
        messages as u64,
        now,
    );
}

/// The topic a send goes to: a retry topic is created on demand, others are auto-created from
/// their template (`TBW102`) when `autoCreateTopicEnable`, or must exist.
fn send_topic(
    broker: &BrokerInner,
    header: &SendMessageRequestHeader,
) -> Result<TopicConfig, Refusal> {
    let topic = header.topic.as_str();
    let config = if is_retry_topic(topic) {
        Some(broker.create_retry_or_dlq_topic(topic, 1))
    } else if broker.config.auto_create_topic_enable {
        let queues = if header.default_topic_queue_nums > 0 {
            header.default_topic_queue_nums
        } else {
            broker.live.get().default_topic_queue_nums
        };
        broker.auto_create_topic(topic, &header.default_topic, queues)
    } else {
        broker.topics.get(topic)
    };
    config.ok_or_else(|| {
        Refusal::new(
            response_code::TOPIC_NOT_EXIST,
            format!(
                "topic[{topic}] not exist, apply first please! (autoCreateTopicEnable=false on \
                 this broker)"
            ),
        )
    })
}

/// The group of a `%RETRY%` topic with its retry limit (the group is created on first use when
/// `autoCreateSubscriptionGroup`); `None` for other topics.
fn retry_group<'a>(
    broker: &BrokerInner,
    topic: &'a str,
) -> Result<Option<RetryGroup<'a>>, Refusal> {
    let Some(group) = topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) else {
        return Ok(None);
    };
    let config = broker.groups.find_or_create(group).ok_or_else(|| {
        Refusal::new(
            response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group [{group}] does not exist"),
        )
    })?;
    Ok(Some(RetryGroup {
        group,
        retry_max_times: config.retry_max_times,
    }))
}

/// The fields every record of the send shares.
fn store_base<'a>(
    broker: &BrokerInner,
    born_host: SocketAddr,
    header: &SendMessageRequestHeader,
    dest: &'a Destination,
) -> MessageToStore<'a> {
    MessageToStore {
        topic: &dest.topic,
        queue_id: dest.queue_id,
        flag: header.flag,
        body: &[],
        properties: &[],
        sys_flag: dest.sys_flag,
        born_timestamp: header.born_timestamp,
        born_host,
        store_host: broker.store_host,
        reconsume_times: header.reconsume_times.unwrap_or(0),
        prepared_transaction_offset: 0,
    }
}
