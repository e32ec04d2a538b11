//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361), with long polling.
//!
//! A pull goes through the same kind of steps as a send:
//!
//! 1. **header** → 2. **checks** (`checks`: the group may consume, the topic exists, is
//!    readable and has the queue) → 3. **filter choice** (`filter_source`, pure: the
//!    request's own expression, or the subscription the group's heartbeat registered) →
//!    4. **store read** (`read`: with long polling) → 5. **response** (`response`).
//!
//! A pull that finds nothing new and carries the suspend flag waits (up to its
//! `suspendTimeoutMillis`, capped) until the store's dispatcher reports an arrival that moves
//! the queue past the requested offset and matches the subscription, then runs again. The body
//! of a found response is the stored records themselves, sliced from the CommitLog without
//! copying.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use petrel_protocol::mix_all::stats;
use petrel_protocol::pull_sys_flag;
use petrel_protocol::remoting::body::{MessageModel, SubscriptionGroupConfig, TopicConfig};
use petrel_protocol::remoting::header::{PullMessageRequestHeader, PullMessageResponseHeader};
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_protocol::topic::is_retry_topic;
use petrel_remoting::Reply;
use petrel_store::{GetMessageResult, GetMessageStatus};

use crate::broker::BrokerInner;
use crate::clock::now_ms;
use crate::config::BrokerConfig;
use crate::filter::SubscriptionFilter;
use crate::processor::consume_checks::{broker_readable, group_may_consume, readable_topic};
use crate::response::{self, Refusal};

/// Longest a pull is held, whatever the client asks (clients use 15 s with a 30 s socket
/// timeout; holding longer would make them time out).
const MAX_SUSPEND_MS: i64 = 20_000;

pub async fn process(broker: &BrokerInner, request: &RemotingCommand) -> Result<Reply, Refusal> {
    broker.stats.pull_requests.fetch_add(1, Ordering::Relaxed);
    let header: PullMessageRequestHeader = response::header(request)?;
    tracing::trace!(topic = %header.topic, group = %header.consumer_group, queue_id = header.queue_id, offset = header.queue_offset, sys_flag = header.sys_flag, subscription = ?header.subscription, "pull");

    let (topic_config, group_config) = checks(broker, &header)?;
    let filter = filter(broker, &header, &group_config)?;
    let limits = PullLimits::of(&header, &broker.live.get());

    // The piggy-backed offset is committed on arrival, as Java's `tryCommitOffset` does: after
    // a long poll it would be stale and could undo a commit made meanwhile (at shutdown).
    // A slave takes no commits with pulls (RocketMQ's does not either): offsets come from its
    // master, or from UPDATE_CONSUMER_OFFSET while the master is gone.
    if pull_sys_flag::has_commit_offset(header.sys_flag)
        && header.commit_offset >= 0
        && !broker.is_slave()
    {
        broker.offsets.commit(
            &header.consumer_group,
            &header.topic,
            header.queue_id,
            header.commit_offset,
        );
    }
    let (result, mut code) = read(broker, &header, filter, limits).await;
    let facts = SuggestFacts {
        slave_read_enable: broker.live.get().slave_read_enable,
        on_slave: broker.is_slave(),
        master_alive: match &broker.replication {
            crate::replica::Replication::Slave(link) => link.client.is_connected(),
            crate::replica::Replication::Master(_) => true,
        },
        lagging: lagging(broker, &result),
    };
    let suggestion = suggest_broker(facts, &group_config);
    if suggestion.retry_unless_found && code != response_code::SUCCESS {
        code = response_code::PULL_RETRY_IMMEDIATELY;
    }
    Ok(response(
        request,
        code,
        result,
        &topic_config,
        &group_config,
        suggestion.broker_id,
    ))
}

/// What decides `suggestWhichBrokerId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SuggestFacts {
    /// `slaveReadEnable`.
    slave_read_enable: bool,
    /// This broker is a slave.
    on_slave: bool,
    /// A slave's master is connected (always true on a master).
    master_alive: bool,
    /// The consumer is further behind the CommitLog's end than memory holds
    /// (`accessMessageInMemoryMaxRatio`): RocketMQ's `suggestPullingFromSlave`.
    lagging: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Suggestion {
    broker_id: i64,
    /// Answer PULL_RETRY_IMMEDIATELY unless messages were found (a slave whose master is up
    /// sends consumers back to it).
    retry_unless_found: bool,
}

/// RocketMQ's `PullMessageProcessor` rule: with `slaveReadEnable`, a lagging consumer is sent to
/// the group's `whichBrokerWhenConsumeSlowly` and others to its `brokerId`; without it, to the
/// master. A slave without `slaveReadEnable` serves what it finds but sends consumers back to a
/// live master (5.x); with its master gone it serves every pull (so consumers keep consuming).
fn suggest_broker(facts: SuggestFacts, group: &SubscriptionGroupConfig) -> Suggestion {
    let broker_id = if facts.slave_read_enable {
        if facts.lagging {
            group.which_broker_when_consume_slowly
        } else {
            group.broker_id
        }
    } else {
        petrel_protocol::mix_all::MASTER_ID
    };
    Suggestion {
        broker_id,
        retry_unless_found: facts.on_slave && !facts.slave_read_enable && facts.master_alive,
    }
}

/// `suggestPullingFromSlave`: the last message pulled lies further behind the CommitLog's end
/// than `accessMessageInMemoryMaxRatio` percent of physical memory.
fn lagging(broker: &BrokerInner, result: &GetMessageResult) -> bool {
    let Some(last) = result.messages.last() else {
        return false;
    };
    let Ok(view) = petrel_protocol::message::RecordView::parse(last) else {
        return false;
    };
    let behind = broker
        .store
        .commit_log_end()
        .saturating_sub(u64::try_from(view.physical_offset()).unwrap_or(0));
    let ratio = broker.config.access_message_in_memory_max_ratio;
    behind > crate::replica::physical_memory_bytes() / 100 * ratio
}

/// The broker serves pulls (`brokerPermission`), the group may consume, and the topic exists,
/// is readable and has the queue.
fn checks(
    broker: &BrokerInner,
    header: &PullMessageRequestHeader,
) -> Result<(TopicConfig, SubscriptionGroupConfig), Refusal> {
    let (topic, group, queue_id) = (
        header.topic.as_str(),
        header.consumer_group.as_str(),
        header.queue_id,
    );
    broker_readable(broker, "pulling")?;
    let group_config = group_may_consume(broker, group)?;
    let topic_config = readable_topic(broker, topic, "pulling")?;
    if queue_id < 0 || queue_id >= topic_config.read_queue_nums {
        return Err(Refusal::new(
            response_code::SYSTEM_ERROR,
            format!(
                "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}] \
                 consumer:[{group}]",
                topic_config.read_queue_nums
            ),
        ));
    }
    Ok((topic_config, group_config))
}

/// Where a pull's filter comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilterSource {
    /// The request's own expression (with the subscription flag, or a non-blank expression:
    /// some clients send one without the flag).
    Request,
    /// What the group's heartbeat registered for the topic.
    Registered,
}

fn filter_source(sys_flag: i32, subscription: Option<&str>) -> FilterSource {
    if pull_sys_flag::has_subscription(sys_flag)
        || subscription.is_some_and(|s| !s.trim().is_empty())
    {
        FilterSource::Request
    } else {
        FilterSource::Registered
    }
}

/// The pull's filter. A retry topic without a registered subscription takes everything. A
/// pull that relies on the registered subscription is also where RocketMQ enforces
/// `consumeBroadcastEnable`: a group with it off may not consume by broadcasting.
fn filter(
    broker: &BrokerInner,
    header: &PullMessageRequestHeader,
    group_config: &SubscriptionGroupConfig,
) -> Result<Arc<SubscriptionFilter>, Refusal> {
    let (topic, group) = (header.topic.as_str(), header.consumer_group.as_str());
    match filter_source(header.sys_flag, header.subscription.as_deref()) {
        FilterSource::Request => SubscriptionFilter::parse(
            header.expression_type.as_deref(),
            header.subscription.as_deref().unwrap_or("*"),
            broker.live.get().enable_property_filter,
        )
        .map(Arc::new)
        .map_err(|e| {
            Refusal::new(
                response_code::SUBSCRIPTION_PARSE_FAILED,
                format!("parse the consumer's subscription failed: {e}"),
            )
        }),
        FilterSource::Registered
            if !group_config.consume_broadcast_enable
                && broker.clients.message_model(group) == Some(MessageModel::Broadcasting) =>
        {
            Err(Refusal::new(
                response_code::NO_PERMISSION,
                format!("the consumer group[{group}] can not consume by broadcast way"),
            ))
        }
        FilterSource::Registered => match broker.clients.subscription(group, topic) {
            Some(sub) => Ok(sub.filter),
            None if is_retry_topic(topic) => Ok(Arc::new(SubscriptionFilter::All)),
            None => Err(Refusal::new(
                response_code::SUBSCRIPTION_NOT_EXIST,
                format!(
                    "the consumer's subscription of {topic} for group {group} does not exist \
                     (no heartbeat yet?)"
                ),
            )),
        },
    }
}

/// How much one pull returns and how long it may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PullLimits {
    max_msgs: usize,
    max_bytes: usize,
    /// The request may be held until a message arrives.
    suspend: bool,
    hold_ms: u64,
}

impl PullLimits {
    /// The request's limits within the broker's (`maxTransferCountOnMessageInMemory`,
    /// `maxTransferBytesOnMessageInMemory`); long polling holds a pull up to its
    /// `suspendTimeoutMillis` (at most [`MAX_SUSPEND_MS`]), short polling `shortPollingTimeMills`.
    fn of(header: &PullMessageRequestHeader, config: &BrokerConfig) -> Self {
        let max_msgs = usize::try_from(header.max_msg_nums.max(1))
            .unwrap_or(1)
            .min(config.max_transfer_count_on_message_in_memory.max(1));
        let max_bytes = header
            .max_msg_bytes
            .and_then(|b| usize::try_from(b).ok())
            .filter(|b| *b > 0)
            .unwrap_or(usize::MAX)
            .min(config.max_transfer_bytes_on_message_in_memory.max(1));
        let hold_ms = if config.long_polling_enable {
            u64::try_from(header.suspend_timeout_millis.clamp(0, MAX_SUSPEND_MS)).unwrap_or(0)
        } else {
            config.short_polling_time_ms
        };
        Self {
            max_msgs,
            max_bytes,
            suspend: pull_sys_flag::has_suspend(header.sys_flag),
            hold_ms,
        }
    }
}

/// Reads from the store, waiting (long polling) while there is nothing and the pull may be
/// held. Returns the result and the response code.
async fn read(
    broker: &BrokerInner,
    header: &PullMessageRequestHeader,
    filter: Arc<SubscriptionFilter>,
    limits: PullLimits,
) -> (GetMessageResult, i32) {
    let (topic, queue_id, offset) = (header.topic.as_str(), header.queue_id, header.queue_offset);
    let deadline = tokio::time::Instant::now() + Duration::from_millis(limits.hold_ms);
    let store = &broker.store;
    let get = || {
        store.get_message(
            topic,
            queue_id,
            offset,
            limits.max_msgs,
            limits.max_bytes,
            filter.as_ref(),
        )
    };
    let mut result = get();
    let mut code = status_code(&result, offset);
    while limits.suspend
        && code == response_code::PULL_NOT_FOUND
        && tokio::time::Instant::now() < deadline
    {
        // Register first, then look again, so that an arrival between the two is not missed.
        let Some(woken) = broker
            .waiters
            .register(topic, queue_id, offset, Arc::clone(&filter))
        else {
            // Too many pulls waiting: hold this one briefly instead of letting it spin.
            let short_polling_ms = broker.live.get().short_polling_time_ms;
            tokio::time::sleep_until(
                deadline.min(tokio::time::Instant::now() + Duration::from_millis(short_polling_ms)),
            )
            .await;
            break;
        };
        if store.get_max_offset_in_queue(topic, queue_id) <= offset {
            // Timing out is the normal end of a long poll; the store is read again either way.
            let _ = tokio::time::timeout_at(deadline, woken).await;
        }
        result = get();
        code = status_code(&result, offset);
    }
    broker.offsets.record_pull(
        &header.consumer_group,
        topic,
        queue_id,
        result.next_begin_offset,
    );
    broker
        .stats
        .messages_got
        .fetch_add(result.messages.len() as u64, Ordering::Relaxed);
    if !result.messages.is_empty() {
        count_get(broker, header, &result);
    }
    tracing::trace!(
        topic,
        group = %header.consumer_group,
        queue_id,
        code,
        found = result.messages.len(),
        next = result.next_begin_offset,
        "pulled"
    );
    (result, code)
}

/// RocketMQ's `GROUP_GET_*` and `BROKER_GET_NUMS` statistics of a pull that found messages.
fn count_get(broker: &BrokerInner, header: &PullMessageRequestHeader, result: &GetMessageResult) {
    let now = now_ms();
    let items = &broker.stats.items;
    let key = stats::group_key(&header.topic, &header.consumer_group);
    let found = result.messages.len() as u64;
    items.add(stats::GROUP_GET_NUMS, &key, found, now);
    items.add(
        stats::GROUP_GET_SIZE,
        &key,
        result.buffer_total_size as u64,
        now,
    );
    items.add(
        stats::BROKER_GET_NUMS,
        &broker.config.broker_cluster_name,
        found,
        now,
    );
}

/// The response code of a store read (RocketMQ's `PullMessageProcessor` mapping).
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

/// The answer: the queue's bounds and next offset in the header, the records as body chunks.
fn response(
    request: &RemotingCommand,
    code: i32,
    result: GetMessageResult,
    topic_config: &TopicConfig,
    group_config: &SubscriptionGroupConfig,
    suggest_which_broker_id: i64,
) -> Reply {
    let response_header = PullMessageResponseHeader {
        suggest_which_broker_id,
        next_begin_offset: result.next_begin_offset,
        min_offset: result.min_offset,
        max_offset: result.max_offset,
        offset_delta: None,
        topic_sys_flag: Some(topic_config.topic_sys_flag),
        group_sys_flag: Some(group_config.group_sys_flag),
        forbidden_type: None,
    };
    Reply {
        command: RemotingCommand::response_to(request, code, None).with_header(&response_header),
        body_chunks: result.messages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use petrel_protocol::pull_sys_flag::{FLAG_COMMIT_OFFSET, FLAG_SUBSCRIPTION, FLAG_SUSPEND};

    #[test]
    fn the_filter_comes_from_the_request_when_it_carries_one() {
        assert_eq!(
            filter_source(FLAG_SUBSCRIPTION, None),
            FilterSource::Request
        );
        assert_eq!(filter_source(0, Some("TagA")), FilterSource::Request);
        assert_eq!(filter_source(0, Some("  ")), FilterSource::Registered);
        assert_eq!(
            filter_source(FLAG_SUSPEND | FLAG_COMMIT_OFFSET, None),
            FilterSource::Registered
        );
    }

    #[test]
    fn which_broker_is_suggested() {
        let group = SubscriptionGroupConfig {
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            ..Default::default()
        };
        let master = SuggestFacts {
            slave_read_enable: false,
            on_slave: false,
            master_alive: true,
            lagging: true,
        };
        // Without slaveReadEnable everyone is sent to the master.
        assert_eq!(
            suggest_broker(master, &group),
            Suggestion {
                broker_id: 0,
                retry_unless_found: false
            }
        );
        // With it, a lagging consumer is sent to the slave, others stay.
        let read_slaves = SuggestFacts {
            slave_read_enable: true,
            ..master
        };
        assert_eq!(suggest_broker(read_slaves, &group).broker_id, 1);
        let keeping_up = SuggestFacts {
            lagging: false,
            ..read_slaves
        };
        assert_eq!(suggest_broker(keeping_up, &group).broker_id, 0);
        // A slave with its master up sends consumers back unless it found messages; with the
        // master gone it serves.
        let slave = SuggestFacts {
            on_slave: true,
            ..master
        };
        assert!(suggest_broker(slave, &group).retry_unless_found);
        let orphan = SuggestFacts {
            master_alive: false,
            ..slave
        };
        assert!(!suggest_broker(orphan, &group).retry_unless_found);
    }

    #[test]
    fn limits_stay_within_the_brokers() {
        let mut config = BrokerConfig::new("/tmp/petrel-pull-test");
        config.max_transfer_count_on_message_in_memory = 32;
        config.max_transfer_bytes_on_message_in_memory = 1024;
        config.long_polling_enable = true;
        let header = PullMessageRequestHeader {
            max_msg_nums: 100,
            max_msg_bytes: Some(4096),
            sys_flag: FLAG_SUSPEND,
            suspend_timeout_millis: 60_000,
            ..Default::default()
        };
        assert_eq!(
            PullLimits::of(&header, &config),
            PullLimits {
                max_msgs: 32,
                max_bytes: 1024,
                suspend: true,
                hold_ms: 20_000,
            }
        );
        let header = PullMessageRequestHeader {
            max_msg_nums: 0,
            max_msg_bytes: None,
            suspend_timeout_millis: 5_000,
            ..Default::default()
        };
        let limits = PullLimits::of(&header, &config);
        assert_eq!(
            (limits.max_msgs, limits.suspend, limits.hold_ms),
            (1, false, 5_000)
        );
        config.long_polling_enable = false;
        config.short_polling_time_ms = 1_000;
        assert_eq!(PullLimits::of(&header, &config).hold_ms, 1_000);
    }
}
