//! Queue and consumption statistics for admin tools: GET_TOPIC_STATS_INFO (202),
//! GET_CONSUME_STATS (208), GET_BROKER_CONSUME_STATS (317), QUERY_TOPIC_CONSUME_BY_WHO (300),
//! QUERY_TOPICS_BY_CONSUMER (343), GET_ALL_CONSUMER_OFFSET (43), QUERY_CONSUME_TIME_SPAN (303)
//! and VIEW_BROKER_STATS_DATA (315).
//!
//! Consumer lag, as mqadmin `consumerProgress` and the dashboard show it, is computed by the
//! tool from these answers: `brokerOffset - consumerOffset` per queue. The rules follow
//! `AdminBrokerProcessor` in RocketMQ 5.3: a group that never committed on a queue has consumer
//! offset 0; the pull offset is the larger of the last pull's next offset and the consumer
//! offset; `lastTimestamp` is the store time of the last consumed message (0 if none).
//! Petrel keeps no per-group or per-topic rate counters, so `consumeTps` and `topicPutTps` are
//! always 0.0.

use std::collections::BTreeSet;

use petrel_protocol::remoting::body::{
    ConsumeStats, ConsumeStatsList, ConsumerOffsetSerializeWrapper, GroupList, JsonBody,
    MessageQueue, OffsetWrapper, QueryConsumeTimeSpanBody, QueueTimeSpan, TopicList, TopicOffset,
    TopicStatsTable,
};
use petrel_protocol::remoting::header::{
    GetConsumeStatsInBrokerHeader, GetConsumeStatsRequestHeader, GetTopicStatsInfoRequestHeader,
    QueryConsumeTimeSpanRequestHeader, QueryTopicConsumeByWhoRequestHeader,
    QueryTopicsByConsumerRequestHeader, ViewBrokerStatsDataRequestHeader,
};
use petrel_protocol::remoting::{response_code, RemotingCommand};

use petrel_protocol::mix_all::stats;

use crate::broker::BrokerInner;
use crate::clock::now_ms;
use crate::response::{self, Refusal};

/// GET_TOPIC_STATS_INFO: min and max offset of every queue of a topic, and the store time of
/// each queue's newest message (0 for an empty queue, -1 if that message cannot be read, as in
/// RocketMQ).
pub fn topic_stats(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetTopicStatsInfoRequestHeader = response::header(request)?;
    let config = broker.topics.get(&h.topic).ok_or_else(|| {
        Refusal::new(
            response_code::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        )
    })?;
    let mut table = TopicStatsTable::default();
    for queue_id in 0..config.write_queue_nums.max(config.read_queue_nums) {
        let min_offset = broker
            .store
            .get_min_offset_in_queue(&h.topic, queue_id)
            .max(0);
        let max_offset = broker
            .store
            .get_max_offset_in_queue(&h.topic, queue_id)
            .max(0);
        let last_update_timestamp = if max_offset > 0 {
            broker
                .store
                .get_message_store_timestamp(&h.topic, queue_id, max_offset - 1)
                .unwrap_or(-1)
        } else {
            0
        };
        table.offset_table.insert(
            MessageQueue::new(&h.topic, &broker.config.broker_name, queue_id),
            TopicOffset {
                last_update_timestamp,
                max_offset,
                min_offset,
            },
        );
    }
    table.topic_put_tps = broker
        .stats
        .items
        .minute_tps(stats::TOPIC_PUT_NUMS, &h.topic, now_ms());
    Ok(response::json(request, table.encode()))
}

/// One queue's progress for `group`.
fn offset_wrapper(broker: &BrokerInner, group: &str, topic: &str, queue_id: i32) -> OffsetWrapper {
    let broker_offset = broker.store.get_max_offset_in_queue(topic, queue_id).max(0);
    let consumer_offset = broker
        .offsets
        .query(group, topic, queue_id)
        .unwrap_or(0)
        .max(0);
    let pull_offset = broker
        .offsets
        .pull_offset(group, topic, queue_id)
        .unwrap_or(consumer_offset)
        .max(consumer_offset);
    let last_timestamp = if consumer_offset > 0 {
        broker
            .store
            .get_message_store_timestamp(topic, queue_id, consumer_offset - 1)
            .filter(|t| *t > 0)
            .unwrap_or(0)
    } else {
        0
    };
    OffsetWrapper {
        broker_offset,
        consumer_offset,
        last_timestamp,
        pull_offset,
    }
}

/// `group`'s progress on the first `queue_nums` queues of `topic`, into `stats`.
/// Adds the topic's share of the group's consume rate too.
fn add_topic(
    broker: &BrokerInner,
    group: &str,
    topic: &str,
    queue_nums: i32,
    consume_stats: &mut ConsumeStats,
) {
    for queue_id in 0..queue_nums {
        consume_stats.offset_table.insert(
            MessageQueue::new(topic, &broker.config.broker_name, queue_id),
            offset_wrapper(broker, group, topic, queue_id),
        );
    }
    consume_stats.consume_tps += broker.stats.items.minute_tps(
        stats::GROUP_GET_NUMS,
        &stats::group_key(topic, group),
        now_ms(),
    );
}

/// Drops the topics a group with live subscriptions does not subscribe to (RocketMQ keeps
/// everything when no member is online, so an idle group's lag stays visible).
fn retain_subscribed(broker: &BrokerInner, group: &str, topics: &mut BTreeSet<String>) {
    if let Some(info) = broker.clients.consumer_group(group) {
        if !info.subscriptions.is_empty() {
            topics.retain(|t| info.subscriptions.contains_key(t));
        }
    }
}

/// Which topics GET_CONSUME_STATS reports: the `topicList` when given (`;`-separated in Java;
/// `,` is accepted too, neither can occur in a topic name), else the `topic`, else every topic
/// the group has committed offsets on (its retry topic included once it has offsets there),
/// in the last two cases narrowed to the group's live subscriptions.
fn topics_for_consume_stats(
    broker: &BrokerInner,
    h: &GetConsumeStatsRequestHeader,
) -> BTreeSet<String> {
    let listed: BTreeSet<String> = h
        .topic_list
        .as_deref()
        .unwrap_or("")
        .split([';', ','])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    let mut topics: BTreeSet<String> = match h.topic.as_deref().map(str::trim) {
        Some(topic) if !topic.is_empty() => BTreeSet::from([topic.to_string()]),
        _ => broker
            .offsets
            .topics_of_group(&h.consumer_group)
            .into_iter()
            .collect(),
    };
    retain_subscribed(broker, &h.consumer_group, &mut topics);
    topics
}

/// GET_CONSUME_STATS: a group's progress on every read queue of its topics.
pub fn consume_stats(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetConsumeStatsRequestHeader = response::header(request)?;
    let mut stats = ConsumeStats::default();
    for topic in topics_for_consume_stats(broker, &h) {
        // Unknown topics are skipped, as RocketMQ does.
        if let Some(config) = broker.topics.get(&topic) {
            add_topic(
                broker,
                &h.consumer_group,
                &topic,
                config.read_queue_nums,
                &mut stats,
            );
        }
    }
    Ok(response::json(request, stats.encode()))
}

/// GET_BROKER_CONSUME_STATS: every subscription group's progress on every write queue of the
/// topics it has offsets on (`isOrder`: ordered topics only). Unlike RocketMQ, which leaves
/// `pullOffset` at 0 here (making `totalInflightDiff` negative), the pull offset is filled in
/// as for GET_CONSUME_STATS.
pub fn broker_consume_stats(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetConsumeStatsInBrokerHeader = response::header(request)?;
    let mut body = ConsumeStatsList {
        broker_addr: Some(broker.broker_addr.clone()),
        ..Default::default()
    };
    for group in broker.groups.all().into_keys() {
        let mut topics: BTreeSet<String> =
            broker.offsets.topics_of_group(&group).into_iter().collect();
        retain_subscribed(broker, &group, &mut topics);
        let mut per_topic = Vec::new();
        for topic in topics {
            let Some(config) = broker.topics.get(&topic) else {
                continue;
            };
            if h.is_order && !config.order {
                continue;
            }
            let mut stats = ConsumeStats::default();
            add_topic(broker, &group, &topic, config.write_queue_nums, &mut stats);
            for o in stats.offset_table.values() {
                body.total_diff += o.broker_offset - o.consumer_offset;
                body.total_inflight_diff += o.pull_offset - o.consumer_offset;
            }
            per_topic.push(stats);
        }
        body.consume_stats_list
            .push([(group, per_topic)].into_iter().collect());
    }
    Ok(response::json(request, body.encode()))
}

/// QUERY_TOPIC_CONSUME_BY_WHO: groups with a live subscription to the topic or committed
/// offsets on it.
pub fn topic_consumed_by(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: QueryTopicConsumeByWhoRequestHeader = response::header(request)?;
    let mut group_list: BTreeSet<String> = broker
        .clients
        .groups_subscribing(&h.topic)
        .into_iter()
        .collect();
    group_list.extend(broker.offsets.groups_of_topic(&h.topic));
    Ok(response::json(request, GroupList { group_list }.encode()))
}

/// QUERY_TOPICS_BY_CONSUMER: topics the group has committed offsets on.
pub fn topics_by_consumer(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: QueryTopicsByConsumerRequestHeader = response::header(request)?;
    let list = TopicList {
        broker_addr: Some(broker.broker_addr.clone()),
        topic_list: broker
            .offsets
            .topics_of_group(&h.group)
            .into_iter()
            .collect(),
    };
    Ok(response::json(request, list.encode()))
}

/// GET_ALL_CONSUMER_OFFSET: the whole offset table, written as fastjson writes RocketMQ's
/// (bare integer queue ids). Petrel keeps no data version for offsets, so none is sent (as
/// with a 4.x broker).
pub fn all_consumer_offsets(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let wrapper = ConsumerOffsetSerializeWrapper {
        data_version: None,
        offset_table: broker.offsets.snapshot(),
    };
    response::json(request, wrapper.encode())
}

/// QUERY_CONSUME_TIME_SPAN: for each write queue of a topic, the store times of its oldest and
/// newest messages and of the last message `group` consumed, and how long the next message to
/// consume has waited (`AdminBrokerProcessor.queryConsumeTimeSpan`; -1 where there is no
/// message, as in RocketMQ). A group that never committed on a queue is taken to be at the
/// queue's start (RocketMQ computes its wait from offset -1, i.e. from the epoch).
pub fn consume_time_span(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: QueryConsumeTimeSpanRequestHeader = response::header(request)?;
    let config = broker.topics.get(&h.topic).ok_or_else(|| {
        Refusal::new(
            response_code::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        )
    })?;
    let store = &broker.store;
    let store_time = |queue_id: i32, offset: i64| {
        store
            .get_message_store_timestamp(&h.topic, queue_id, offset)
            .unwrap_or(-1)
    };
    let now = now_ms();
    let mut body = QueryConsumeTimeSpanBody::default();
    for queue_id in 0..config.write_queue_nums {
        let min_time_stamp = store
            .get_earliest_message_time(&h.topic, queue_id)
            .unwrap_or(-1);
        let max_offset = store.get_max_offset_in_queue(&h.topic, queue_id);
        let consumer_offset = broker.offsets.query(&h.group, &h.topic, queue_id);
        let consume_time_stamp = match consumer_offset {
            Some(offset) if offset > 0 => store_time(queue_id, offset - 1),
            _ => min_time_stamp,
        };
        let next = consumer_offset
            .unwrap_or_else(|| store.get_min_offset_in_queue(&h.topic, queue_id))
            .max(0);
        let delay_time = if next < max_offset {
            now - store_time(queue_id, next)
        } else {
            0
        };
        body.consume_time_span_set.push(QueueTimeSpan {
            consume_time_stamp,
            delay_time,
            max_time_stamp: store_time(queue_id, max_offset - 1),
            message_queue: MessageQueue::new(&h.topic, &broker.config.broker_name, queue_id),
            min_time_stamp,
        });
    }
    Ok(response::json(request, body.encode()))
}

/// VIEW_BROKER_STATS_DATA: one of RocketMQ's named statistics (`TOPIC_PUT_NUMS` of a topic,
/// `GROUP_GET_NUMS` of `topic@group`, ...; `petrel_protocol::mix_all::stats` lists those Petrel
/// counts) over the last minute, hour and day. A statistic never counted since the broker
/// started is SYSTEM_ERROR, as in RocketMQ.
pub fn stats_data(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: ViewBrokerStatsDataRequestHeader = response::header(request)?;
    let data = broker
        .stats
        .items
        .data(&h.stats_name, &h.stats_key, now_ms())
        .ok_or_else(|| {
            Refusal::new(
                response_code::SYSTEM_ERROR,
                format!("The stats <{}> <{}> not exist", h.stats_name, h.stats_key),
            )
        })?;
    Ok(response::json(request, data.encode()))
}
