//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361), with long polling.
//!
//! A pull that finds nothing new and carries the suspend flag waits (up to its
//! `suspendTimeoutMillis`, capped) until the store's dispatcher reports an arrival that moves
//! the queue past the requested offset and matches the subscription, then runs again. The body
//! of a found response is the stored records themselves, sliced from the CommitLog without
//! copying.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use petrel_protocol::perm::is_readable;
use petrel_protocol::pull_sys_flag;
use petrel_protocol::remoting::header::{PullMessageRequestHeader, PullMessageResponseHeader};
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_protocol::topic::is_retry_topic;
use petrel_remoting::{Reply, RequestContext};
use petrel_store::{GetMessageResult, GetMessageStatus};

use crate::broker::BrokerInner;
use crate::filter::SubscriptionFilter;
use crate::response;

/// Longest a pull is held, whatever the client asks (clients use 15 s with a 30 s socket
/// timeout; holding longer would make them time out).
const MAX_SUSPEND_MS: i64 = 20_000;

fn status_code(result: &GetMessageResult, requested_offset: i64) -> i32 {
    match result.status {
        GetMessageStatus::Found => response_code::SUCCESS,
        GetMessageStatus::NoMatchedMessage | GetMessageStatus::MessageWasRemoving => {
            response_code::PULL_RETRY_IMMEDIATELY
        }
        GetMessageStatus::NoMatchedLogicQueue | GetMessageStatus::NoMessageInQueue => {
            if requested_offset != 0 {
                response_code::PULL_OFFSET_MOVED
            } else {
                response_code::PULL_NOT_FOUND
            }
        }
        GetMessageStatus::OffsetFoundNull | GetMessageStatus::OffsetOverflowOne => {
            response_code::PULL_NOT_FOUND
        }
        GetMessageStatus::OffsetOverflowBadly | GetMessageStatus::OffsetTooSmall => {
            response_code::PULL_OFFSET_MOVED
        }
    }
}

pub async fn process(
    broker: &Arc<BrokerInner>,
    _ctx: &RequestContext,
    request: RemotingCommand,
) -> Reply {
    broker.stats.pull_requests.fetch_add(1, Ordering::Relaxed);
    let header = match request.decode_header::<PullMessageRequestHeader>() {
        Ok(h) => h,
        Err(e) => return response::bad_header(&request, e).into(),
    };
    let (topic, group, queue_id) = (
        header.topic.as_str(),
        header.consumer_group.as_str(),
        header.queue_id,
    );
    tracing::trace!(topic, group, queue_id, offset = header.queue_offset, sys_flag = header.sys_flag, subscription = ?header.subscription, "pull");

    let Some(group_config) = broker.groups.find_or_create(group) else {
        return response::error(
            &request,
            response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!(
                "subscription group [{group}] does not exist (autoCreateSubscriptionGroup=false)"
            ),
        )
        .into();
    };
    if !group_config.consume_enable {
        return response::error(
            &request,
            response_code::NO_PERMISSION,
            format!("subscription group [{group}] may not consume"),
        )
        .into();
    }
    let Some(topic_config) = broker.topics.get(topic) else {
        return response::error(
            &request,
            response_code::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist, apply first please!"),
        )
        .into();
    };
    if !is_readable(topic_config.perm) {
        return response::error(
            &request,
            response_code::NO_PERMISSION,
            format!("the topic[{topic}] pulling message is forbidden"),
        )
        .into();
    }
    if queue_id < 0 || queue_id >= topic_config.read_queue_nums {
        return response::error(
            &request,
            response_code::SYSTEM_ERROR,
            format!("queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}] consumer:[{group}]", topic_config.read_queue_nums),
        )
        .into();
    }

    // The filter: the request's own expression when it carries one, else what the group's
    // heartbeat registered (some clients send an empty subscription without the flag).
    let from_request = pull_sys_flag::has_subscription(header.sys_flag)
        || header
            .subscription
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty());
    let filter = if from_request {
        match SubscriptionFilter::parse(
            header.expression_type.as_deref(),
            header.subscription.as_deref().unwrap_or("*"),
            broker.config.enable_property_filter,
        ) {
            Ok(f) => Arc::new(f),
            Err(e) => {
                return response::error(
                    &request,
                    response_code::SUBSCRIPTION_PARSE_FAILED,
                    format!("parse the consumer's subscription failed: {e}"),
                )
                .into()
            }
        }
    } else if let Some(sub) = broker.clients.subscription(group, topic) {
        sub.filter
    } else if is_retry_topic(topic) {
        Arc::new(SubscriptionFilter::All)
    } else {
        return response::error(&request, response_code::SUBSCRIPTION_NOT_EXIST, format!("the consumer's subscription of {topic} for group {group} does not exist (no heartbeat yet?)")).into();
    };

    let max_msgs = (header.max_msg_nums.max(1) as usize)
        .min(broker.config.max_transfer_count_on_message_in_memory.max(1));
    let max_bytes = header
        .max_msg_bytes
        .filter(|b| *b > 0)
        .map(|b| b as usize)
        .unwrap_or(usize::MAX)
        .min(broker.config.max_transfer_bytes_on_message_in_memory.max(1));
    let suspend = pull_sys_flag::has_suspend(header.sys_flag);
    let hold_ms = if broker.config.long_polling_enable {
        header.suspend_timeout_millis.clamp(0, MAX_SUSPEND_MS)
    } else {
        broker.config.short_polling_time_ms as i64
    };
    let deadline = tokio::time::Instant::now() + Duration::from_millis(hold_ms as u64);

    // The piggy-backed offset is committed on arrival, as Java's `tryCommitOffset` does: after
    // a long poll it would be stale and could undo a commit made meanwhile (at shutdown).
    if pull_sys_flag::has_commit_offset(header.sys_flag) && header.commit_offset >= 0 {
        broker
            .offsets
            .commit(group, topic, queue_id, header.commit_offset);
    }
    let store = &broker.store;
    let mut result = store.get_message(
        topic,
        queue_id,
        header.queue_offset,
        max_msgs,
        max_bytes,
        filter.as_ref(),
    );
    let mut code = status_code(&result, header.queue_offset);
    while suspend && code == response_code::PULL_NOT_FOUND && tokio::time::Instant::now() < deadline
    {
        // Register first, then look again, so that an arrival between the two is not missed.
        let Some(woken) =
            broker
                .waiters
                .register(topic, queue_id, header.queue_offset, Arc::clone(&filter))
        else {
            // Too many pulls waiting: hold this one briefly instead of letting it spin.
            tokio::time::sleep_until(deadline.min(
                tokio::time::Instant::now()
                    + Duration::from_millis(broker.config.short_polling_time_ms),
            ))
            .await;
            break;
        };
        if store.get_max_offset_in_queue(topic, queue_id) <= header.queue_offset {
            let _ = tokio::time::timeout_at(deadline, woken).await;
        }
        result = store.get_message(
            topic,
            queue_id,
            header.queue_offset,
            max_msgs,
            max_bytes,
            filter.as_ref(),
        );
        code = status_code(&result, header.queue_offset);
    }

    broker
        .offsets
        .record_pull(group, topic, queue_id, result.next_begin_offset);
    broker
        .stats
        .messages_got
        .fetch_add(result.messages.len() as u64, Ordering::Relaxed);
    tracing::trace!(
        topic,
        group,
        queue_id,
        code,
        found = result.messages.len(),
        next = result.next_begin_offset,
        "pulled"
    );

    let response_header = PullMessageResponseHeader {
        suggest_which_broker_id: 0,
        next_begin_offset: result.next_begin_offset,
        min_offset: result.min_offset,
        max_offset: result.max_offset,
        offset_delta: None,
        topic_sys_flag: Some(topic_config.topic_sys_flag),
        group_sys_flag: Some(group_config.group_sys_flag),
        forbidden_type: None,
    };
    let command = RemotingCommand::response_to(&request, code, None).with_header(&response_header);
    Reply {
        command,
        body_chunks: result.messages,
    }
}
