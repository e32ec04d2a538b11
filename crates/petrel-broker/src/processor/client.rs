//! Client management: HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38),
//! CHECK_CLIENT_CONFIG (46).

use std::sync::Arc;

use petrel_protocol::name::check_group;
use petrel_protocol::remoting::body::{
    CheckClientRequestBody, ConsumerListByGroupResponseBody, HeartbeatData, JsonBody, MessageModel,
};
use petrel_protocol::remoting::header::{
    GetConsumerListByGroupRequestHeader, UnregisterClientRequestHeader,
};
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_protocol::topic::retry_topic;
use petrel_remoting::RequestContext;

use crate::broker::BrokerInner;
use crate::clock::now_ms;
use crate::filter::{FilterError, SubscriptionFilter};
use crate::response::{self, Refusal};
use crate::state::client_registry::{ClientChannel, ConsumerRegistration, Subscription};

pub fn heartbeat(
    broker: &BrokerInner,
    ctx: &RequestContext,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let data = HeartbeatData::decode(&request.body).map_err(|e| Refusal::bad_body(request, e))?;
    if data.client_id.is_empty() {
        return Err(Refusal::new(
            response_code::SYSTEM_ERROR,
            "heartbeat without a clientID",
        ));
    }
    let channel = ClientChannel {
        client_id: data.client_id.clone(),
        connection: ctx.connection.clone(),
        language: request.language,
        version: request.version,
        last_update_ms: now_ms(),
    };
    for consumer in &data.consumer_data_set {
        let group = consumer.group_name.as_str();
        check_group(group).map_err(|problem| {
            Refusal::new(
                response_code::SYSTEM_ERROR,
                format!("bad consumer group: {problem}"),
            )
        })?;
        let group_config = broker.groups.find_or_create(group).ok_or_else(|| {
            Refusal::new(
                response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!(
                    "subscription group [{group}] does not exist \
                     (autoCreateSubscriptionGroup=false)"
                ),
            )
        })?;
        // Clustering consumers get their retry topic, as RocketMQ creates it on heartbeat.
        if consumer.message_model != Some(MessageModel::Broadcasting) {
            broker.create_retry_or_dlq_topic(
                &retry_topic(group),
                group_config.retry_queue_nums.max(1),
            );
        }
        let mut subscriptions = Vec::with_capacity(consumer.subscription_data_set.len());
        for sub in &consumer.subscription_data_set {
            let filter = SubscriptionFilter::parse(
                Some(sub.expression_type.as_str()),
                &sub.sub_string,
                broker.live.get().enable_property_filter,
            )
            .map_err(|e| {
                Refusal::new(
                    response_code::SUBSCRIPTION_PARSE_FAILED,
                    format!("subscription of {} to {}: {e}", group, sub.topic),
                )
            })?;
            subscriptions.push(Subscription {
                data: sub.clone(),
                filter: Arc::new(filter),
            });
        }
        let changed = broker.clients.register_consumer(ConsumerRegistration {
            group,
            channel: channel.clone(),
            consume_type: consumer.consume_type,
            message_model: consumer.message_model,
            consume_from_where: consumer.consume_from_where,
            subscriptions,
        });
        if changed {
            tracing::info!(%group, client = %data.client_id, "consumer joined");
            broker.notify_consumer_ids_changed(group);
        }
    }
    for producer in &data.producer_data_set {
        broker
            .clients
            .register_producer(&producer.group_name, channel.clone());
    }
    Ok(response::ok(request))
}

pub fn unregister(
    broker: &BrokerInner,
    ctx: &RequestContext,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: UnregisterClientRequestHeader = response::header(request)?;
    if let Some(group) = h.producer_group.as_deref().filter(|g| !g.is_empty()) {
        broker
            .clients
            .unregister_producer(group, &h.client_id, &ctx.connection);
    }
    if let Some(group) = h.consumer_group.as_deref().filter(|g| !g.is_empty()) {
        if broker
            .clients
            .unregister_consumer(group, &h.client_id, &ctx.connection)
        {
            tracing::info!(%group, client = %h.client_id, "consumer left");
            broker.notify_consumer_ids_changed(group);
        }
    }
    Ok(response::ok(request))
}

pub fn consumer_list(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetConsumerListByGroupRequestHeader = response::header(request)?;
    let ids = broker
        .clients
        .consumer_ids(&h.consumer_group)
        .filter(|ids| !ids.is_empty())
        .ok_or_else(|| {
            Refusal::new(
                response_code::SYSTEM_ERROR,
                format!("no consumer for this group, {}", h.consumer_group),
            )
        })?;
    Ok(response::json(
        request,
        ConsumerListByGroupResponseBody {
            consumer_id_list: ids,
        }
        .encode(),
    ))
}

/// CHECK_CLIENT_CONFIG: can the broker serve the consumer's filter? As RocketMQ's
/// `ClientManageProcessor.checkClientConfig`: tag filters always; SQL92 needs
/// `enablePropertyFilter` and an expression that compiles (SUBSCRIPTION_PARSE_FAILED
/// otherwise; SQL92 on a broker without it is SYSTEM_ERROR with RocketMQ's remark). A body that
/// cannot be read is refused (RocketMQ fails the same request with SYSTEM_ERROR) rather than
/// answered with a success it did not check.
pub fn check_client_config(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    if request.body.is_empty() {
        return Err(Refusal::bad_body(
            request,
            "the CheckClientRequestBody body is missing",
        ));
    }
    let body =
        CheckClientRequestBody::decode(&request.body).map_err(|e| Refusal::bad_body(request, e))?;
    if let Some(sub) = body.subscription_data {
        let enabled = broker.live.get().enable_property_filter;
        SubscriptionFilter::parse(Some(sub.expression_type.as_str()), &sub.sub_string, enabled)
            .map_err(|e| match e {
                FilterError::Sql92Disabled => {
                    Refusal::new(response_code::SYSTEM_ERROR, e.to_string())
                }
                _ => Refusal::new(response_code::SUBSCRIPTION_PARSE_FAILED, e.to_string()),
            })?;
    }
    Ok(response::ok(request))
}
