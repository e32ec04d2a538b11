//! Client management: HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38),
//! CHECK_CLIENT_CONFIG (46).

use std::sync::Arc;

use petrel_protocol::name::check_group;
use petrel_protocol::perm::{PERM_READ, PERM_WRITE};
use petrel_protocol::remoting::body::{
    ConsumerListByGroupResponseBody, HeartbeatData, JsonBody, MessageModel,
};
use petrel_protocol::remoting::header::{
    GetConsumerListByGroupRequestHeader, UnregisterClientRequestHeader,
};
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_protocol::topic::retry_topic;
use petrel_remoting::RequestContext;

use crate::broker::BrokerInner;
use crate::clock::now_ms;
use crate::filter::SubscriptionFilter;
use crate::response;
use crate::state::client_registry::{ClientChannel, ConsumerRegistration, Subscription};

pub fn heartbeat(
    broker: &Arc<BrokerInner>,
    ctx: &RequestContext,
    request: &RemotingCommand,
) -> RemotingCommand {
    let data = match HeartbeatData::decode(&request.body) {
        Ok(d) => d,
        Err(e) => return response::bad_body(request, e),
    };
    if data.client_id.is_empty() {
        return response::error(
            request,
            response_code::SYSTEM_ERROR,
            "heartbeat without a clientID",
        );
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
        if let Err(problem) = check_group(group) {
            return response::error(
                request,
                response_code::SYSTEM_ERROR,
                format!("bad consumer group: {problem}"),
            );
        }
        let Some(group_config) = broker.groups.find_or_create(group) else {
            return response::error(request, response_code::SUBSCRIPTION_GROUP_NOT_EXIST, format!("subscription group [{group}] does not exist (autoCreateSubscriptionGroup=false)"));
        };
        // Clustering consumers get their retry topic, as RocketMQ creates it on heartbeat.
        if consumer.message_model != Some(MessageModel::Broadcasting) {
            let (_, created) = broker.topics.create_in_send_back(
                &retry_topic(group),
                group_config.retry_queue_nums.max(1),
                PERM_READ | PERM_WRITE,
                0,
            );
            if created {
                broker.trigger_register();
            }
        }
        let mut subscriptions = Vec::with_capacity(consumer.subscription_data_set.len());
        for sub in &consumer.subscription_data_set {
            let filter = match SubscriptionFilter::parse(
                Some(sub.expression_type.as_str()),
                &sub.sub_string,
                broker.config.enable_property_filter,
            ) {
                Ok(f) => f,
                Err(e) => {
                    return response::error(
                        request,
                        response_code::SUBSCRIPTION_PARSE_FAILED,
                        format!("subscription of {} to {}: {e}", group, sub.topic),
                    )
                }
            };
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
    response::ok(request)
}

pub fn unregister(
    broker: &BrokerInner,
    ctx: &RequestContext,
    request: &RemotingCommand,
) -> RemotingCommand {
    let h = match request.decode_header::<UnregisterClientRequestHeader>() {
        Ok(h) => h,
        Err(e) => return response::bad_header(request, e),
    };
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
    response::ok(request)
}

pub fn consumer_list(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let h = match request.decode_header::<GetConsumerListByGroupRequestHeader>() {
        Ok(h) => h,
        Err(e) => return response::bad_header(request, e),
    };
    match broker.clients.consumer_ids(&h.consumer_group) {
        Some(ids) if !ids.is_empty() => response::json(
            request,
            ConsumerListByGroupResponseBody {
                consumer_id_list: ids,
            }
            .encode(),
        ),
        _ => response::error(
            request,
            response_code::SYSTEM_ERROR,
            format!("no consumer for this group, {}", h.consumer_group),
        ),
    }
}

/// The client asks whether its filter expression can be used; tag filters always can.
pub fn check_client_config(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    #[derive(serde::Deserialize, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct CheckClientRequestBody {
        subscription_data: Option<petrel_protocol::remoting::body::SubscriptionData>,
    }
    let body: CheckClientRequestBody = serde_json::from_slice(&request.body).unwrap_or_default();
    if let Some(sub) = body.subscription_data {
        if let Err(e) = SubscriptionFilter::parse(
            Some(sub.expression_type.as_str()),
            &sub.sub_string,
            broker.config.enable_property_filter,
        ) {
            return response::error(request, response_code::SUBSCRIPTION_PARSE_FAILED, e);
        }
    }
    response::ok(request)
}
