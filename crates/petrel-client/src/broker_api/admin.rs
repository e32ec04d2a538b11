//! Topic and group administration and broker statistics, what `DefaultMQAdminExt` asks a
//! broker: `UPDATE_AND_CREATE_TOPIC` (17), `DELETE_TOPIC_IN_BROKER` (215),
//! `GET_TOPIC_STATS_INFO` (202), `QUERY_TOPIC_CONSUME_BY_WHO` (300),
//! `UPDATE_AND_CREATE_SUBSCRIPTIONGROUP` (200), `GET_SUBSCRIPTIONGROUP_CONFIG` (352),
//! `GET_ALL_SUBSCRIPTIONGROUP_CONFIG` (201), `DELETE_SUBSCRIPTIONGROUP` (207), `GET_CONSUME_STATS` (208),
//! `GET_CONSUMER_CONNECTION_LIST` (203), `GET_PRODUCER_CONNECTION_LIST` (204) and
//! `GET_BROKER_RUNTIME_INFO` (28).
//!
//! Refusals are errors carrying the broker's code; the admin API decides which codes mean
//! "nothing here" (a topic deleted meanwhile, a group with no member on this broker).

use std::collections::{BTreeMap, BTreeSet};

use petrel_protocol::remoting::body::{
    ConsumeStats, ConsumerConnection, GroupList, JsonBody, KVTable, ProducerConnection,
    SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicStatsTable,
};
use petrel_protocol::remoting::header::{
    CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader, DeleteTopicRequestHeader,
    GetConsumeStatsRequestHeader, GetConsumerConnectionListRequestHeader,
    GetProducerConnectionListRequestHeader, GetSubscriptionGroupConfigRequestHeader,
    GetTopicStatsInfoRequestHeader, QueryTopicConsumeByWhoRequestHeader,
};
use petrel_protocol::remoting::{request_code as rc, RemotingCommand};

use super::call_ok;
use crate::error::Result;
use crate::instance::ClientInstance;
use crate::response::body;

/// `UPDATE_AND_CREATE_TOPIC`: creates or updates a topic's config on one broker.
pub(crate) async fn update_and_create_topic(
    instance: &ClientInstance,
    addr: &str,
    h: &CreateTopicRequestHeader,
) -> Result<()> {
    let request = RemotingCommand::request(rc::UPDATE_AND_CREATE_TOPIC).with_header(h);
    call_ok(instance, addr, request, None).await?;
    Ok(())
}

/// `DELETE_TOPIC_IN_BROKER`: deletes a topic's config, queues and offsets on one broker.
pub(crate) async fn delete_topic_in_broker(
    instance: &ClientInstance,
    addr: &str,
    topic: &str,
) -> Result<()> {
    let h = DeleteTopicRequestHeader {
        topic: topic.to_string(),
        ..Default::default()
    };
    let request = RemotingCommand::request(rc::DELETE_TOPIC_IN_BROKER).with_header(&h);
    call_ok(instance, addr, request, None).await?;
    Ok(())
}

/// `GET_TOPIC_STATS_INFO`: min/max offsets and last store time of the topic's queues there.
pub(crate) async fn get_topic_stats_info(
    instance: &ClientInstance,
    addr: &str,
    topic: &str,
) -> Result<TopicStatsTable> {
    let h = GetTopicStatsInfoRequestHeader {
        topic: topic.to_string(),
        ..Default::default()
    };
    let request = RemotingCommand::request(rc::GET_TOPIC_STATS_INFO).with_header(&h);
    let response = call_ok(instance, addr, request, None).await?;
    body(addr, "topic stats", &response.body)
}

/// `QUERY_TOPIC_CONSUME_BY_WHO`: the groups that subscribe to the topic or have offsets on it.
pub(crate) async fn query_topic_consume_by_who(
    instance: &ClientInstance,
    addr: &str,
    topic: &str,
) -> Result<BTreeSet<String>> {
    let h = QueryTopicConsumeByWhoRequestHeader {
        topic: topic.to_string(),
        ..Default::default()
    };
    let request = RemotingCommand::request(rc::QUERY_TOPIC_CONSUME_BY_WHO).with_header(&h);
    let response = call_ok(instance, addr, request, None).await?;
    let list: GroupList = body(addr, "group list", &response.body)?;
    Ok(list.group_list)
}

/// `UPDATE_AND_CREATE_SUBSCRIPTIONGROUP`: creates or replaces a subscription group's config.
pub(crate) async fn update_and_create_subscription_group(
    instance: &ClientInstance,
    addr: &str,
    config: &SubscriptionGroupConfig,
) -> Result<()> {
    let request = RemotingCommand::request(rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
        .with_body(config.encode());
    call_ok(instance, addr, request, None).await?;
    Ok(())
}

/// `SET_MESSAGE_REQUEST_MODE`: PULL or POP for a group on a topic (mqadmin `setConsumeMode`).
pub(crate) async fn set_message_request_mode(
    instance: &ClientInstance,
    addr: &str,
    body: &petrel_protocol::remoting::body::SetMessageRequestModeRequestBody,
) -> Result<()> {
    let request = RemotingCommand::request(rc::SET_MESSAGE_REQUEST_MODE).with_body(body.encode());
    call_ok(instance, addr, request, None).await?;
    Ok(())
}

/// `GET_SUBSCRIPTIONGROUP_CONFIG`: a subscription group's config on one broker.
pub(crate) async fn get_subscription_group_config(
    instance: &ClientInstance,
    addr: &str,
    group: &str,
) -> Result<SubscriptionGroupConfig> {
    let h = GetSubscriptionGroupConfigRequestHeader {
        group: group.to_string(),
        ..Default::default()
    };
    let request = RemotingCommand::request(rc::GET_SUBSCRIPTIONGROUP_CONFIG).with_header(&h);
    let response = call_ok(instance, addr, request, None).await?;
    body(addr, "subscription group config", &response.body)
}

/// `GET_ALL_SUBSCRIPTIONGROUP_CONFIG`: every subscription group config of one broker.
pub(crate) async fn get_all_subscription_group_config(
    instance: &ClientInstance,
    addr: &str,
) -> Result<SubscriptionGroupWrapper> {
    let request = RemotingCommand::request(rc::GET_ALL_SUBSCRIPTIONGROUP_CONFIG);
    let response = call_ok(instance, addr, request, None).await?;
    body(addr, "subscription groups", &response.body)
}

/// `DELETE_SUBSCRIPTIONGROUP`: deletes a subscription group; with `clean_offset`, its offsets.
pub(crate) async fn delete_subscription_group(
    instance: &ClientInstance,
    addr: &str,
    group: &str,
    clean_offset: bool,
) -> Result<()> {
    let h = DeleteSubscriptionGroupRequestHeader {
        group_name: group.to_string(),
        clean_offset,
        ..Default::default()
    };
    let request = RemotingCommand::request(rc::DELETE_SUBSCRIPTIONGROUP).with_header(&h);
    call_ok(instance, addr, request, None).await?;
    Ok(())
}

/// `GET_CONSUME_STATS`: a group's progress on the queues of `topic` (every topic it has offsets
/// on when `None`) on one broker.
pub(crate) async fn get_consume_stats(
    instance: &ClientInstance,
    addr: &str,
    group: &str,
    topic: Option<&str>,
) -> Result<ConsumeStats> {
    let h = GetConsumeStatsRequestHeader {
        consumer_group: group.to_string(),
        topic: topic.map(String::from),
        ..Default::default()
    };
    let request = RemotingCommand::request(rc::GET_CONSUME_STATS).with_header(&h);
    let response = call_ok(instance, addr, request, None).await?;
    body(addr, "consume stats", &response.body)
}

/// `GET_CONSUMER_CONNECTION_LIST`: a consumer group's live members and subscriptions on one
/// broker (CONSUMER_NOT_ONLINE when it has none there).
pub(crate) async fn get_consumer_connection_list(
    instance: &ClientInstance,
    addr: &str,
    group: &str,
) -> Result<ConsumerConnection> {
    let h = GetConsumerConnectionListRequestHeader {
        consumer_group: group.to_string(),
        ..Default::default()
    };
    let request = RemotingCommand::request(rc::GET_CONSUMER_CONNECTION_LIST).with_header(&h);
    let response = call_ok(instance, addr, request, None).await?;
    body(addr, "consumer connection", &response.body)
}

/// `GET_PRODUCER_CONNECTION_LIST`: a producer group's live members on one broker (RocketMQ
/// answers SYSTEM_ERROR for a group with none).
pub(crate) async fn get_producer_connection_list(
    instance: &ClientInstance,
    addr: &str,
    group: &str,
) -> Result<ProducerConnection> {
    let h = GetProducerConnectionListRequestHeader {
        producer_group: group.to_string(),
        ..Default::default()
    };
    let request = RemotingCommand::request(rc::GET_PRODUCER_CONNECTION_LIST).with_header(&h);
    let response = call_ok(instance, addr, request, None).await?;
    body(addr, "producer connection", &response.body)
}

/// `GET_BROKER_RUNTIME_INFO`: the broker's runtime figures, RocketMQ's key names.
pub(crate) async fn get_broker_runtime_info(
    instance: &ClientInstance,
    addr: &str,
) -> Result<BTreeMap<String, String>> {
    let request = RemotingCommand::request(rc::GET_BROKER_RUNTIME_INFO);
    let response = call_ok(instance, addr, request, None).await?;
    let table: KVTable = body(addr, "runtime info", &response.body)?;
    Ok(table.table)
}

/// `GET_BROKER_HA_STATUS`: a broker's replication state (`HARuntimeInfo`: a master's slaves
/// with their acknowledged offsets, or a slave's link to its master).
pub(crate) async fn get_broker_ha_status(
    instance: &ClientInstance,
    addr: &str,
) -> Result<petrel_protocol::remoting::body::HaRuntimeInfo> {
    let request = RemotingCommand::request(rc::GET_BROKER_HA_STATUS);
    let response = call_ok(instance, addr, request, None).await?;
    body(addr, "HA status", &response.body)
}

/// `GET_BROKER_EPOCH_CACHE`: a controller-mode broker's epochs (`EpochEntryCache`: each epoch's
/// first CommitLog offset) and CommitLog end. Brokers not in controller mode refuse it.
pub(crate) async fn get_broker_epoch_cache(
    instance: &ClientInstance,
    addr: &str,
) -> Result<petrel_protocol::remoting::body::EpochEntryCache> {
    let request = RemotingCommand::request(rc::GET_BROKER_EPOCH_CACHE);
    let response = call_ok(instance, addr, request, None).await?;
    body(addr, "epoch cache", &response.body)
}
