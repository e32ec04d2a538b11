//! ACK_MESSAGE (200051), BATCH_ACK_MESSAGE (200151) and CHANGE_MESSAGE_INVISIBLETIME (200053):
//! what a POP consumer does with a receipt handle. Answers as RocketMQ's
//! `AckMessageProcessor` / `ChangeInvisibleTimeProcessor`: unknown topic `TOPIC_NOT_EXIST`,
//! a queue id out of range `MESSAGE_ILLEGAL`, an offset outside the queue `NO_MESSAGE`; a stale
//! handle (acked already, or its message came back) is not an error.

use petrel_protocol::pop::{BatchAckMessageRequestBody, ExtraInfo, RetryFlag};
use petrel_protocol::remoting::header::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
};
use petrel_protocol::remoting::{response_code, RemotingCommand};

use crate::broker::BrokerInner;
use crate::clock::now_ms;
use crate::pop::handle::{self, Named};
use crate::processor::consume_checks::{handle_target, invisible_ms};
use crate::response::{self, Refusal};

/// Most offsets one BATCH_ACK entry may name (a bit set is client input).
const MAX_BATCH_ACK_OFFSETS: usize = 1_024;

fn parse_handle(text: &str) -> Result<ExtraInfo, Refusal> {
    ExtraInfo::parse(text).map_err(|e| Refusal::new(response_code::MESSAGE_ILLEGAL, e.to_string()))
}

pub fn ack_message(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: AckMessageRequestHeader = response::header(request)?;
    let info = parse_handle(&h.extra_info)?;
    handle_target(broker, &h.topic, h.queue_id, h.offset)?;
    let outcome = handle::ack(
        broker,
        &Named::of(&h.consumer_group, &h.topic, h.queue_id, h.offset, &info),
    );
    tracing::trace!(group = %h.consumer_group, topic = %h.topic, queue_id = h.queue_id, offset = h.offset, ?outcome, "ack");
    Ok(response::ok(request))
}

pub fn batch_ack_message(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let body: BatchAckMessageRequestBody =
        serde_json::from_slice(&request.body).map_err(|e| Refusal::bad_body(request, e))?;
    if body.acks.is_empty() {
        return Err(Refusal::new(
            response_code::NO_MESSAGE,
            "the batch names no acks",
        ));
    }
    for ack in &body.acks {
        let flag = RetryFlag::parse(&ack.retry).ok_or_else(|| {
            Refusal::new(
                response_code::MESSAGE_ILLEGAL,
                format!("retry flag {:?} is not 0, 1 or 2", ack.retry),
            )
        })?;
        let topic = flag.real_topic(&ack.topic, &ack.consumer_group);
        let offsets = ack.offsets(MAX_BATCH_ACK_OFFSETS).ok_or_else(|| {
            Refusal::new(
                response_code::MESSAGE_ILLEGAL,
                "the ack bit set is not base64 bytes",
            )
        })?;
        for offset in offsets {
            if handle_target(broker, &topic, ack.queue_id, offset).is_err() {
                continue; // as RocketMQ: offsets outside the queue are skipped
            }
            handle::ack(
                broker,
                &Named {
                    group: &ack.consumer_group,
                    topic: &topic,
                    queue_id: ack.queue_id,
                    offset,
                    pop_time: ack.pop_time,
                },
            );
        }
    }
    Ok(response::ok(request))
}

pub fn change_invisible_time(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: ChangeInvisibleTimeRequestHeader = response::header(request)?;
    let info = parse_handle(&h.extra_info)?;
    handle_target(broker, &h.topic, h.queue_id, h.offset)?;
    let invisible = invisible_ms(h.invisible_time)?;
    let now = now_ms();
    let outcome = handle::change_invisible(
        broker,
        &Named::of(&h.consumer_group, &h.topic, h.queue_id, h.offset, &info),
        now,
        invisible,
    );
    tracing::trace!(group = %h.consumer_group, topic = %h.topic, offset = h.offset, ?outcome, "change invisible time");
    Ok(
        response::ok(request).with_header(&ChangeInvisibleTimeResponseHeader {
            pop_time: now,
            invisible_time: invisible,
            revive_qid: info.revive_qid,
        }),
    )
}
