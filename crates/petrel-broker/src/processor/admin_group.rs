//! Subscription groups and client connections for admin tools:
//! UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200), UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST (225),
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201),
//! DELETE_SUBSCRIPTIONGROUP (207), GET_SUBSCRIPTIONGROUP_CONFIG (352),
//! GET_CONSUMER_CONNECTION_LIST (203), GET_PRODUCER_CONNECTION_LIST (204),
//! GET_ALL_PRODUCER_INFO (328), QUERY_SUBSCRIPTION_BY_CONSUMER (345) and CLONE_GROUP_OFFSET
//! (314).

use petrel_protocol::name::check_group;
use petrel_protocol::remoting::body::{
    Connection, ConsumerConnection, JsonBody, ProducerConnection, ProducerInfo, ProducerTableInfo,
    QuerySubscriptionResponseBody, SubscriptionGroupConfig, SubscriptionGroupList,
    SubscriptionGroupWrapper,
};
use petrel_protocol::remoting::header::{
    CloneGroupOffsetRequestHeader, DeleteSubscriptionGroupRequestHeader,
    GetAllSubscriptionGroupResponseHeader, GetConsumerConnectionListRequestHeader,
    GetProducerConnectionListRequestHeader, GetSubscriptionGroupConfigRequestHeader,
    QuerySubscriptionByConsumerRequestHeader,
};
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_protocol::topic::attributes;

use crate::broker::BrokerInner;
use crate::response::{self, Refusal};
use crate::state::client_registry::ClientChannel;

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: creates or replaces a group's config (the body). A bad
/// group name is refused with INVALID_PARAMETER, as RocketMQ 5.x does.
pub fn update_and_create(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    if request.body.is_empty() {
        return Err(Refusal::bad_body(
            request,
            "the SubscriptionGroupConfig body is missing",
        ));
    }
    let config = SubscriptionGroupConfig::decode(&request.body)
        .map_err(|e| Refusal::bad_body(request, e))?;
    let config = checked_group(broker, request, config)?;
    tracing::info!(group = %config.group_name, "subscription group created or updated");
    broker.groups.update(config);
    Ok(response::ok(request))
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST (`mqadmin updateSubGroupList`): several groups at
/// once, each checked as UPDATE_AND_CREATE_SUBSCRIPTIONGROUP checks one; none is stored unless
/// all pass.
pub fn update_and_create_list(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let body =
        SubscriptionGroupList::decode(&request.body).map_err(|e| Refusal::bad_body(request, e))?;
    let configs = body
        .group_config_list
        .into_iter()
        .map(|config| checked_group(broker, request, config))
        .collect::<Result<Vec<_>, _>>()?;
    for config in configs {
        tracing::info!(group = %config.group_name, "subscription group created or updated");
        broker.groups.update(config);
    }
    Ok(response::ok(request))
}

/// A group config checked as RocketMQ checks it: a legal name, and attributes applied as
/// `SubscriptionGroupManager` applies them (RocketMQ defines none, so any is refused). Its
/// retry policy takes effect on send-backs (`send_back.rs`): one that cannot be read is refused
/// now rather than ignored later.
fn checked_group(
    broker: &BrokerInner,
    request: &RemotingCommand,
    mut config: SubscriptionGroupConfig,
) -> Result<SubscriptionGroupConfig, Refusal> {
    check_group(&config.group_name).map_err(|problem| {
        Refusal::new(
            response_code::INVALID_PARAMETER,
            format!("the subscription group is invalid: {problem}"),
        )
    })?;
    config
        .retry_policy()
        .map_err(|e| Refusal::bad_body(request, format!("groupRetryPolicy: {e}")))?;
    let existing = broker.groups.get(&config.group_name);
    let current = existing
        .as_ref()
        .map(|c| c.attributes.clone())
        .unwrap_or_default();
    config.attributes = attributes::alter_in(
        attributes::SUBSCRIPTION_GROUP_ALL,
        existing.is_none(),
        &current,
        &config.attributes,
    )
    .map_err(|e| Refusal::new(response_code::SYSTEM_ERROR, e.to_string()))?;
    Ok(config)
}

/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG: every group config with the table's data version.
/// Petrel has no group forbidding (5.x), so `forbiddenTable` is empty.
pub fn all(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let wrapper = SubscriptionGroupWrapper {
        data_version: broker.groups.data_version(),
        forbidden_table: Default::default(),
        subscription_group_table: broker.groups.all(),
    };
    let header = GetAllSubscriptionGroupResponseHeader {
        total_group_num: i32::try_from(wrapper.subscription_group_table.len()).unwrap_or(i32::MAX),
    };
    response::json(request, wrapper.encode()).with_header(&header)
}

/// DELETE_SUBSCRIPTIONGROUP: removes the config and, with `cleanOffset`, the group's committed
/// offsets. Deleting a group that does not exist succeeds, as in RocketMQ.
pub fn delete(broker: &BrokerInner, request: &RemotingCommand) -> Result<RemotingCommand, Refusal> {
    let h: DeleteSubscriptionGroupRequestHeader = response::header(request)?;
    let removed = broker.groups.delete(&h.group_name);
    if h.clean_offset {
        broker.offsets.remove_group(&h.group_name);
        broker.pop.forget_group(&h.group_name);
    }
    tracing::info!(group = %h.group_name, removed, clean_offset = h.clean_offset, "subscription group deleted");
    Ok(response::ok(request))
}

/// GET_SUBSCRIPTIONGROUP_CONFIG: one group's config. As in RocketMQ, a missing group with a
/// valid name is created with defaults when `autoCreateSubscriptionGroup` is on.
pub fn get(broker: &BrokerInner, request: &RemotingCommand) -> Result<RemotingCommand, Refusal> {
    let h: GetSubscriptionGroupConfigRequestHeader = response::header(request)?;
    let config = match check_group(&h.group) {
        Ok(()) => broker.groups.find_or_create(&h.group),
        Err(_) => broker.groups.get(&h.group),
    };
    let config = config.ok_or_else(|| {
        Refusal::new(
            response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!(
                "subscription group [{}] does not exist on this broker",
                h.group
            ),
        )
    })?;
    Ok(response::json(request, config.encode()))
}

fn connection(client: &ClientChannel) -> Connection {
    Connection {
        client_addr: client.connection.remote_addr().to_string(),
        client_id: client.client_id.clone(),
        language: client.language,
        version: client.version,
    }
}

/// GET_CONSUMER_CONNECTION_LIST: a consumer group's live members and subscriptions, or
/// CONSUMER_NOT_ONLINE.
pub fn consumer_connections(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetConsumerConnectionListRequestHeader = response::header(request)?;
    let info = broker
        .clients
        .consumer_group(&h.consumer_group)
        .filter(|info| !info.clients.is_empty())
        .ok_or_else(|| {
            Refusal::new(
                response_code::CONSUMER_NOT_ONLINE,
                format!("the consumer group[{}] not online", h.consumer_group),
            )
        })?;
    let body = ConsumerConnection {
        connection_set: info.clients.values().map(connection).collect(),
        consume_from_where: info.consume_from_where,
        consume_type: info.consume_type,
        message_model: info.message_model,
        subscription_table: info
            .subscriptions
            .into_iter()
            .map(|(topic, sub)| (topic, sub.data))
            .collect(),
    };
    Ok(response::json(request, body.encode()))
}

/// GET_PRODUCER_CONNECTION_LIST: a producer group's live members, or SYSTEM_ERROR when there
/// are none (RocketMQ's answer).
pub fn producer_connections(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetProducerConnectionListRequestHeader = response::header(request)?;
    let members = broker.clients.producer_group(&h.producer_group);
    if members.is_empty() {
        return Err(Refusal::new(
            response_code::SYSTEM_ERROR,
            format!("the producer group[{}] not exist", h.producer_group),
        ));
    }
    let body = ProducerConnection {
        connection_set: members.iter().map(connection).collect(),
    };
    Ok(response::json(request, body.encode()))
}

/// GET_ALL_PRODUCER_INFO: every live producer by group (`ProducerManager.getProducerTable`;
/// `remoteIP` is Java's `SocketAddress.toString`, hence the leading `/`).
pub fn all_producers(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let data = broker
        .clients
        .producer_groups()
        .into_iter()
        .map(|group| {
            let producers = broker
                .clients
                .producer_group(&group)
                .iter()
                .map(|c| ProducerInfo {
                    client_id: c.client_id.clone(),
                    language: c.language,
                    last_update_timestamp: c.last_update_ms,
                    remote_ip: format!("/{}", c.connection.remote_addr()),
                    version: c.version,
                })
                .collect();
            (group, producers)
        })
        .collect();
    response::json(request, ProducerTableInfo { data }.encode())
}

/// QUERY_SUBSCRIPTION_BY_CONSUMER: the group's live subscription to a topic (none in the body
/// when no member subscribes it).
pub fn subscription_by_consumer(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: QuerySubscriptionByConsumerRequestHeader = response::header(request)?;
    let topic = h.topic.unwrap_or_default();
    let body = QuerySubscriptionResponseBody {
        subscription_data: broker
            .clients
            .subscription(&h.group, &topic)
            .map(|sub| sub.data),
        group: h.group,
        topic,
    };
    Ok(response::json(request, body.encode()))
}

/// CLONE_GROUP_OFFSET: copies the source group's committed offsets on a topic (or on every
/// topic it has offsets on) to the destination group. Unless `offline`, topics that the source
/// group's live members do not subscribe to are skipped, as are unknown topics, as in RocketMQ.
pub fn clone_offsets(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: CloneGroupOffsetRequestHeader = response::header(request)?;
    let topics = match h.topic.as_deref().map(str::trim) {
        Some(topic) if !topic.is_empty() => vec![topic.to_string()],
        _ => broker.offsets.topics_of_group(&h.src_group),
    };
    let live = broker.clients.consumer_group(&h.src_group);
    for topic in topics {
        if !broker.topics.contains(&topic) {
            tracing::warn!(%topic, "clone group offset: no such topic");
            continue;
        }
        if !h.offline {
            if let Some(info) = &live {
                if !info.subscriptions.is_empty() && !info.subscriptions.contains_key(&topic) {
                    continue;
                }
            }
        }
        for (queue_id, offset) in broker.offsets.offsets_of(&h.src_group, &topic) {
            broker
                .offsets
                .commit(&h.dest_group, &topic, queue_id, offset);
        }
        tracing::info!(src = %h.src_group, dest = %h.dest_group, %topic, "group offsets cloned");
    }
    Ok(response::ok(request))
}
