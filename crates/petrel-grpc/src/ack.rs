//! AckMessage, ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue: what a 5.x
//! consumer does with a receipt handle, on the broker's POP state. As Apache's proxy: a
//! handle that cannot be read, or whose invisible time has passed, is INVALID_RECEIPT_HANDLE
//! (the message may have been delivered to someone else since).

use petrel_broker::clock::now_ms;
use petrel_broker::pop::handle::{self, Named};
use petrel_broker::pop::{HandleOutcome, QueueKey};
use petrel_broker::processor::consume_checks::handle_target;
use petrel_protocol::pop::ExtraInfo;

use crate::auth;
use crate::consume::checked_group;
use crate::metadata::Caller;
use crate::pb::{
    AckMessageRequest, AckMessageResponse, AckMessageResultEntry, ChangeInvisibleDurationRequest,
    ChangeInvisibleDurationResponse, Code, ForwardMessageToDeadLetterQueueRequest,
    ForwardMessageToDeadLetterQueueResponse,
};
use crate::route::checked_topic;
use crate::server::Shared;
use crate::status::{ok, status, Failure};

/// A receipt handle: the POP handle and the CommitLog offset after it.
struct Receipt {
    info: ExtraInfo,
    queue_offset: i64,
    commit_log_offset: String,
}

fn receipt(text: &str, now: i64) -> Result<Receipt, Failure> {
    let invalid = |why: String| Failure::new(Code::InvalidReceiptHandle, why);
    let info = ExtraInfo::parse(text).map_err(|e| invalid(e.to_string()))?;
    let queue_offset = info
        .queue_offset
        .ok_or_else(|| invalid("the receipt handle names no queue offset".into()))?;
    if info.visible_at() < now {
        return Err(invalid(format!(
            "the receipt handle is expired: its invisible time ended at {} ms",
            info.visible_at()
        )));
    }
    Ok(Receipt {
        info,
        queue_offset,
        commit_log_offset: text.split(' ').nth(8).unwrap_or("0").to_string(),
    })
}

fn target<'a>(
    shared: &'a Shared,
    caller: &Caller,
    group: Option<&'a crate::pb::Resource>,
    topic: Option<&'a crate::pb::Resource>,
) -> Result<(&'a str, &'a str), Failure> {
    let topic = checked_topic(topic)?;
    let group = checked_group(group)?;
    auth::check(
        shared,
        caller,
        &[
            petrel_auth::Need::new(
                petrel_auth::Resource::topic(topic),
                &[petrel_auth::Action::Sub],
            ),
            petrel_auth::Need::new(
                petrel_auth::Resource::group(group),
                &[petrel_auth::Action::Sub],
            ),
        ],
    )?;
    Ok((group, topic))
}

pub fn ack(shared: &Shared, caller: &Caller, request: &AckMessageRequest) -> AckMessageResponse {
    let (group, topic) = match target(
        shared,
        caller,
        request.group.as_ref(),
        request.topic.as_ref(),
    ) {
        Ok(t) => t,
        Err(Failure(s)) => {
            return AckMessageResponse {
                status: Some(s),
                entries: Vec::new(),
            }
        }
    };
    let now = now_ms();
    let entries: Vec<AckMessageResultEntry> = request
        .entries
        .iter()
        .map(|e| {
            let result = ack_one(shared, group, topic, &e.receipt_handle, now);
            AckMessageResultEntry {
                message_id: e.message_id.clone(),
                receipt_handle: e.receipt_handle.clone(),
                status: Some(result.map_or_else(|Failure(s)| s, |()| ok())),
            }
        })
        .collect();
    let overall = match entries.as_slice() {
        [] => status(Code::BadRequest, "no entries to ack"),
        [only] => only.status.clone().unwrap_or_else(ok),
        all if all
            .iter()
            .all(|e| e.status.as_ref().is_some_and(|s| s.code == Code::Ok as i32)) =>
        {
            ok()
        }
        _ => status(
            Code::MultipleResults,
            "some entries were not acked; see each entry",
        ),
    };
    AckMessageResponse {
        status: Some(overall),
        entries,
    }
}

fn ack_one(shared: &Shared, group: &str, topic: &str, text: &str, now: i64) -> Result<(), Failure> {
    let r = receipt(text, now)?;
    let real = r.info.retry.real_topic(topic, group);
    handle_target(&shared.broker, &real, r.info.queue_id, r.queue_offset)?;
    let outcome = handle::ack(
        &shared.broker,
        &Named::of(group, &real, r.info.queue_id, r.queue_offset, &r.info),
    );
    tracing::trace!(%group, topic = %real, offset = r.queue_offset, ?outcome, "gRPC ack");
    Ok(())
}

pub fn change_invisible_duration(
    shared: &Shared,
    caller: &Caller,
    request: &ChangeInvisibleDurationRequest,
) -> ChangeInvisibleDurationResponse {
    match change(shared, caller, request) {
        Ok(receipt_handle) => ChangeInvisibleDurationResponse {
            status: Some(ok()),
            receipt_handle,
        },
        Err(Failure(s)) => ChangeInvisibleDurationResponse {
            status: Some(s),
            receipt_handle: String::new(),
        },
    }
}

fn change(
    shared: &Shared,
    caller: &Caller,
    request: &ChangeInvisibleDurationRequest,
) -> Result<String, Failure> {
    let (group, topic) = target(
        shared,
        caller,
        request.group.as_ref(),
        request.topic.as_ref(),
    )?;
    let now = now_ms();
    let r = receipt(&request.receipt_handle, now)?;
    let invisible = request
        .invisible_duration
        .as_ref()
        .map(|d| {
            d.seconds
                .saturating_mul(1000)
                .saturating_add(i64::from(d.nanos / 1_000_000))
        })
        .unwrap_or(-1);
    if !(0..=petrel_broker::pop::MAX_INVISIBLE_MS).contains(&invisible) {
        return Err(Failure::new(
            Code::IllegalInvisibleTime,
            format!(
                "the invisible duration {invisible} ms is out of range: use 0 to {} ms",
                petrel_broker::pop::MAX_INVISIBLE_MS
            ),
        ));
    }
    let invisible = invisible.max(petrel_broker::pop::MIN_INVISIBLE_MS);
    let real = r.info.retry.real_topic(topic, group);
    handle_target(&shared.broker, &real, r.info.queue_id, r.queue_offset)?;
    let outcome = handle::change_invisible(
        &shared.broker,
        &Named::of(group, &real, r.info.queue_id, r.queue_offset, &r.info),
        now,
        invisible,
    );
    if outcome == HandleOutcome::Stale {
        return Err(Failure::new(
            Code::InvalidReceiptHandle,
            "the receipt handle is stale: the message was acked or delivered again since",
        ));
    }
    let renewed = ExtraInfo {
        pop_time: now,
        invisible_time: invisible,
        ..r.info
    };
    Ok(format!("{renewed} {}", r.commit_log_offset))
}

pub async fn forward_to_dead_letter_queue(
    shared: &Shared,
    caller: &Caller,
    request: &ForwardMessageToDeadLetterQueueRequest,
) -> ForwardMessageToDeadLetterQueueResponse {
    let result = async {
        let (group, topic) =
            target(shared, caller, request.group.as_ref(), request.topic.as_ref())?;
        let r = receipt(&request.receipt_handle, now_ms())?;
        let real = r.info.retry.real_topic(topic, group);
        handle_target(&shared.broker, &real, r.info.queue_id, r.queue_offset)?;
        let key = QueueKey::new(group, &real, r.info.queue_id);
        let moved = petrel_broker::pop::revive::forward_to_dead_letter_queue(
            &shared.broker,
            &key,
            r.queue_offset,
            r.info.pop_time,
        )
        .await
        .map_err(|e| Failure::new(Code::InternalServerError, e))?;
        if !moved {
            return Err(Failure::new(
                Code::InvalidReceiptHandle,
                "the receipt handle is stale: the message was acked or delivered again since",
            ));
        }
        tracing::info!(%group, %topic, message_id = %request.message_id, attempts = request.delivery_attempt, "message forwarded to the DLQ by its consumer");
        Ok::<(), Failure>(())
    }
    .await;
    ForwardMessageToDeadLetterQueueResponse {
        status: Some(result.map_or_else(|Failure(s)| s, |()| ok())),
    }
}
