//! POP_MESSAGE (200050), PEEK_MESSAGE (200052) and NOTIFICATION (200054): taking messages for
//! a POP consumer group, looking at them, and waiting until there are some. The state and
//! its rules live in `crate::pop`; this file reads headers, checks and answers.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use petrel_protocol::mix_all::stats;
use petrel_protocol::remoting::header::{
    NotificationRequestHeader, NotificationResponseHeader, PeekMessageRequestHeader,
    PopMessageRequestHeader, PopMessageResponseHeader,
};
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_remoting::Reply;

use crate::broker::BrokerInner;
use crate::clock::now_ms;
use crate::filter::SubscriptionFilter;
use crate::pop::take::{self, InitMode, PopRequest, PopWait, Popped};
use crate::pop::{MAX_POP_MSG_NUMS, MAX_POP_POLL_MS, MIN_INVISIBLE_MS};
use crate::processor::consume_checks::{invisible_ms, pop_checks, pop_filter};
use crate::response::{self, Refusal};

pub async fn pop_message(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<Reply, Refusal> {
    let h: PopMessageRequestHeader = response::header(request)?;
    pop_checks(broker, &h.consumer_group, &h.topic, h.queue_id)?;
    if !(1..=MAX_POP_MSG_NUMS).contains(&h.max_msg_nums) {
        return Err(Refusal::new(
            response_code::INVALID_PARAMETER,
            format!(
                "maxMsgNums {} is out of range: the broker returns 1 to {MAX_POP_MSG_NUMS} \
                 messages per pop",
                h.max_msg_nums
            ),
        ));
    }
    let req = PopRequest {
        group: h.consumer_group.clone(),
        topic: h.topic.clone(),
        queue_id: h.queue_id,
        max_msgs: usize::try_from(h.max_msg_nums).unwrap_or(1),
        invisible_ms: invisible_ms(h.invisible_time)?,
        order: h.order,
        init_mode: InitMode::from_wire(h.init_mode),
        filter: pop_filter(broker, h.exp_type.as_deref(), h.exp.as_deref())?,
        poll_ms: h.poll_time.clamp(0, MAX_POP_POLL_MS),
        max_bytes: broker
            .live
            .get()
            .max_transfer_bytes_on_message_in_memory
            .max(1),
    };
    let popped = take::pop(broker, &req).await.map_err(polling_full)?;
    count_get(broker, &h, &popped);
    Ok(pop_response(request, popped))
}

fn polling_full(_: PopWait) -> Refusal {
    Refusal::new(
        response_code::POLLING_FULL,
        format!(
            "too many pop requests are waiting ({} at most); retry later",
            crate::pop::MAX_POP_POLLING
        ),
    )
}

fn count_get(broker: &BrokerInner, h: &PopMessageRequestHeader, popped: &Popped) {
    let found = popped.messages.len() as u64;
    broker
        .stats
        .messages_got
        .fetch_add(found, Ordering::Relaxed);
    if found == 0 {
        return;
    }
    let now = now_ms();
    let key = stats::group_key(&h.topic, &h.consumer_group);
    let size: usize = popped.messages.iter().map(|m| m.record.len()).sum();
    let items = &broker.stats.items;
    items.add(stats::GROUP_GET_NUMS, &key, found, now);
    items.add(stats::GROUP_GET_SIZE, &key, size as u64, now);
    items.add(
        stats::BROKER_GET_NUMS,
        &broker.config.broker_cluster_name,
        found,
        now,
    );
}

/// SUCCESS with the records, or POLLING_TIMEOUT; both carry the header (clients decode it
/// either way).
fn pop_response(request: &RemotingCommand, popped: Popped) -> Reply {
    let found = !popped.messages.is_empty();
    let header = PopMessageResponseHeader {
        pop_time: popped.pop_time,
        invisible_time: popped.invisible_ms,
        revive_qid: popped.revive_qid,
        rest_num: popped.rest,
        start_offset_info: found.then(|| popped.infos.start_offset_info.clone()),
        msg_offset_info: found.then(|| popped.infos.msg_offset_info.clone()),
        order_count_info: Some(popped.infos.order_count_info.clone()).filter(|s| !s.is_empty()),
    };
    let (code, remark) = if found {
        (response_code::SUCCESS, None)
    } else {
        (
            response_code::POLLING_TIMEOUT,
            Some("no new message to pop".to_string()),
        )
    };
    Reply {
        command: RemotingCommand::response_to(request, code, remark).with_header(&header),
        body_chunks: popped.messages.into_iter().map(|m| m.record).collect(),
    }
}

pub fn peek_message(broker: &BrokerInner, request: &RemotingCommand) -> Result<Reply, Refusal> {
    let h: PeekMessageRequestHeader = response::header(request)?;
    if h.queue_id < 0 {
        return Err(Refusal::new(
            response_code::INVALID_PARAMETER,
            "PEEK_MESSAGE needs a queueId of 0 or more",
        ));
    }
    pop_checks(broker, &h.consumer_group, &h.topic, h.queue_id)?;
    let max_msgs = usize::try_from(h.max_msg_nums.clamp(1, MAX_POP_MSG_NUMS)).unwrap_or(1);
    let records = take::peek(
        broker,
        &h.consumer_group,
        &h.topic,
        h.queue_id,
        max_msgs,
        broker
            .live
            .get()
            .max_transfer_bytes_on_message_in_memory
            .max(1),
    );
    let header = PopMessageResponseHeader {
        pop_time: now_ms(),
        invisible_time: 0,
        revive_qid: 0,
        rest_num: 0,
        ..Default::default()
    };
    let code = if records.is_empty() {
        response_code::PULL_NOT_FOUND
    } else {
        response_code::SUCCESS
    };
    Ok(Reply {
        command: RemotingCommand::response_to(request, code, None).with_header(&header),
        body_chunks: records,
    })
}

pub async fn notification(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: NotificationRequestHeader = response::header(request)?;
    pop_checks(broker, &h.consumer_group, &h.topic, h.queue_id)?;
    let req = PopRequest {
        group: h.consumer_group.clone(),
        topic: h.topic.clone(),
        queue_id: h.queue_id,
        max_msgs: 1,
        invisible_ms: MIN_INVISIBLE_MS,
        order: h.order,
        init_mode: InitMode::Max,
        filter: Arc::new(SubscriptionFilter::All),
        poll_ms: h.poll_time.clamp(0, MAX_POP_POLL_MS),
        max_bytes: usize::MAX,
    };
    let (has_msg, polling_full) = match take::notification(broker, &req).await {
        Ok(has) => (has, false),
        Err(PopWait::PollingFull) => (false, true),
    };
    Ok(
        response::ok(request).with_header(&NotificationResponseHeader {
            has_msg,
            polling_full,
        }),
    )
}
