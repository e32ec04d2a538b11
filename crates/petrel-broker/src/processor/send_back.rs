//! CONSUMER_SEND_MSG_BACK (36): a consumer could not process a message; it comes back later.
//!
//! As RocketMQ does it: the message (looked up by its CommitLog offset) is stored again in the
//! group's retry topic `%RETRY%{group}` with `reconsumeTimes + 1`, delayed by level
//! `3 + reconsumeTimes` (10 s, 30 s, 1 m, 2 m, ...) unless the consumer names a level; after
//! `maxReconsumeTimes` (the group's `retryMaxTimes`, 16, or the client's own value), or when the
//! consumer asks with a negative level, it goes to the group's dead-letter topic `%DLQ%{group}`
//! instead, by the same rule as a send to a retry topic past its limit
//! (`destination::dead_letter`). Consumers subscribe their retry topic, so retried messages
//! reach them again; the original topic travels in `RETRY_TOPIC`.
//!
//! A group whose `groupRetryPolicy` names a policy of its own (exponential, or customized
//! delays) has its retries wait the policy's delay instead (`RetryPolicy::next_delay_ms`, as
//! RocketMQ computes it), held as timer messages, unless the consumer names a level. RocketMQ's
//! remoting broker leaves the policy to its gRPC proxy; Petrel, which has no proxy, applies it
//! here so that a policy set on a group is not silently ignored. A group without one (RocketMQ
//! writes `{"type":"CUSTOMIZED"}`, whose default delays are the default levels) retries by
//! level as before.

use std::net::SocketAddr;

use petrel_protocol::message::{encode_offset_msg_id, properties, RecordView};
use petrel_protocol::mix_all::stats;
use petrel_protocol::remoting::header::ConsumerSendMsgBackRequestHeader;
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_protocol::topic::{retry_topic, TIMER_TOPIC};

use crate::broker::BrokerInner;
use crate::clock::now_ms;
use crate::message::{apply, OwnedMessage};
use crate::processor::destination::{dead_letter, retries_exhausted, retry_delay_level};
use crate::processor::send_checks;
use crate::response::{self, Refusal};
use crate::system_topic::schedule::delayed;
use crate::system_topic::timer::timed;

pub async fn process(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: ConsumerSendMsgBackRequestHeader = response::header(request)?;
    let group = h.group.as_str();
    let group_config = broker.groups.find_or_create(group).ok_or_else(|| {
        Refusal::new(
            response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group [{group}] does not exist"),
        )
    })?;
    send_checks::broker_writable(broker)?;
    if group_config.retry_queue_nums <= 0 {
        return Ok(response::ok(request)); // the group asked for no retries
    }
    let record = broker
        .store
        .look_message_by_offset(h.offset)
        .ok_or_else(|| {
            Refusal::new(
                response_code::SYSTEM_ERROR,
                format!("look message by offset failed, {}", h.offset),
            )
        })?;
    let unreadable = |e| {
        Refusal::new(
            response_code::SYSTEM_ERROR,
            format!("stored message at {} is unreadable: {e}", h.offset),
        )
    };
    let store_host = RecordView::parse(&record).map_err(unreadable)?.store_host();
    let mut msg = OwnedMessage::from_record(&record).map_err(unreadable)?;
    let original_topic = msg
        .properties
        .get(properties::RETRY_TOPIC)
        .map(str::to_string)
        .unwrap_or_else(|| msg.topic.clone());
    msg.properties
        .insert(properties::RETRY_TOPIC, original_topic.clone());
    let origin_msg_id = origin_message_id(
        msg.properties.get(properties::ORIGIN_MESSAGE_ID),
        store_host,
        h.offset,
    );
    msg.properties
        .insert(properties::ORIGIN_MESSAGE_ID, origin_msg_id.clone());

    let to_dlq = retries_exhausted(
        msg.reconsume_times,
        h.max_reconsume_times,
        group_config.retry_max_times,
    ) || h.delay_level < 0;
    if to_dlq {
        let dead = dead_letter(group, &original_topic, Some(&origin_msg_id));
        send_checks::dead_letter_topic(broker, &dead.topic)?;
        apply(&mut msg.properties, &dead.edits);
        tracing::info!(%group, topic = %original_topic, reconsume_times = msg.reconsume_times, "message moved to {}", dead.topic);
        msg.topic = dead.topic;
        msg.queue_id = dead.queue_id;
    } else {
        // Retries wait in SCHEDULE_TOPIC_XXXX (or the timer topic) before reaching the retry topic.
        let retry = retry_topic(group);
        let config = broker.create_retry_or_dlq_topic(&retry, group_config.retry_queue_nums);
        send_checks::writable_topic(&config)?;
        let queue_id = send_checks::random_queue_id(config.write_queue_nums);
        let policy = group_config
            .retry_policy()
            .inspect_err(|e| {
                tracing::warn!(%group, error = %e, "unreadable groupRetryPolicy; retrying by level")
            })
            .ok()
            .flatten()
            .filter(|_| h.delay_level == 0);
        let (topic, queue_id, edits) = match policy {
            // Retries wait their policy's delay in the timer topic.
            Some(policy) => {
                let delay_ms = policy
                    .next_delay_ms(msg.reconsume_times)
                    .min(broker.timers.max_delay_ms());
                timed(now_ms().saturating_add(delay_ms), &retry, queue_id)
            }
            None => {
                let level = retry_delay_level(
                    h.delay_level,
                    msg.reconsume_times,
                    broker.schedule.max_level(),
                );
                delayed(level, &retry, queue_id)
            }
        };
        apply(&mut msg.properties, &edits);
        msg.topic = topic;
        msg.queue_id = queue_id;
    }
    msg.reconsume_times += 1;
    msg.put(&broker.store, broker.store_host).await?;
    if msg.topic == TIMER_TOPIC {
        broker.timers.notify();
    }
    broker.stats.items.add(
        stats::SNDBCK_PUT_NUMS,
        &stats::group_key(&original_topic, group),
        1,
        now_ms(),
    );
    Ok(response::ok(request))
}

/// The `ORIGIN_MESSAGE_ID` of a message sent back, as RocketMQ sets it
/// (`AbstractSendMessageProcessor.consumerSendMsgBack`): the stored message's own
/// `ORIGIN_MESSAGE_ID` when it has a non-blank one (a retry keeps pointing at the first copy),
/// else the stored message's offset msgId (its store host and CommitLog offset). The header's
/// `originMsgId` (the client fills it with the unique id) is not used, as in RocketMQ.
fn origin_message_id(stored: Option<&str>, store_host: SocketAddr, offset: i64) -> String {
    stored
        .filter(|id| !id.trim().is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| encode_offset_msg_id(store_host, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_the_first_copy_by_offset_msg_id() {
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        assert_eq!(
            origin_message_id(None, host, 0x876A),
            "7F00000100002A9F000000000000876A"
        );
        assert_eq!(
            origin_message_id(Some(" "), host, 0x876A),
            "7F00000100002A9F000000000000876A"
        );
        assert_eq!(origin_message_id(Some("AB12"), host, 1), "AB12");
    }
}
