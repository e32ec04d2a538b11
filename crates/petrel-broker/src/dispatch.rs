//! Request code → processor. No logic here beyond the routing.

use std::sync::Arc;

use petrel_protocol::remoting::{request_code as rc, response_code, RemotingCommand};
use petrel_remoting::{Reply, RequestContext};

use crate::broker::BrokerInner;
use crate::processor::{
    admin_broker, admin_group, admin_stats, admin_topic, client, end_transaction, lock, offset,
    pull, query, reply, reset_offset, send, send_back,
};
use crate::response;

pub async fn dispatch(
    broker: Arc<BrokerInner>,
    ctx: RequestContext,
    request: RemotingCommand,
) -> Option<Reply> {
    let oneway = request.is_oneway();
    tracing::trace!(code = request.code, name = request.code_name(), remote = %ctx.remote_addr(), oneway, "request");
    let reply: Reply = match request.code {
        rc::SEND_MESSAGE | rc::SEND_MESSAGE_V2 | rc::SEND_BATCH_MESSAGE => {
            send::process(&broker, &ctx, request).await.into()
        }
        rc::SEND_REPLY_MESSAGE | rc::SEND_REPLY_MESSAGE_V2 => {
            reply::process(&broker, &ctx, request).await.into()
        }
        rc::CONSUMER_SEND_MSG_BACK => send_back::process(&broker, &request).await.into(),
        rc::END_TRANSACTION => end_transaction::process(&broker, &request).await.into(),
        rc::PULL_MESSAGE | rc::LITE_PULL_MESSAGE => pull::process(&broker, &ctx, request).await,
        rc::HEART_BEAT => client::heartbeat(&broker, &ctx, &request).into(),
        rc::UNREGISTER_CLIENT => client::unregister(&broker, &ctx, &request).into(),
        rc::GET_CONSUMER_LIST_BY_GROUP => client::consumer_list(&broker, &request).into(),
        rc::CHECK_CLIENT_CONFIG => client::check_client_config(&broker, &request).into(),
        rc::QUERY_CONSUMER_OFFSET => offset::query_consumer_offset(&broker, &request).into(),
        rc::UPDATE_CONSUMER_OFFSET => offset::update_consumer_offset(&broker, &request).into(),
        rc::GET_MAX_OFFSET => offset::max_offset(&broker, &request).into(),
        rc::GET_MIN_OFFSET => offset::min_offset(&broker, &request).into(),
        rc::SEARCH_OFFSET_BY_TIMESTAMP => offset::search_by_timestamp(&broker, &request).into(),
        rc::GET_EARLIEST_MSG_STORETIME => offset::earliest_store_time(&broker, &request).into(),
        rc::QUERY_MESSAGE => query::query_message(&broker, &request),
        rc::VIEW_MESSAGE_BY_ID => query::view_message_by_id(&broker, &request),
        rc::LOCK_BATCH_MQ => lock::lock_batch(&broker, &request).into(),
        rc::UNLOCK_BATCH_MQ => lock::unlock_batch(&broker, &request).into(),
        rc::UPDATE_AND_CREATE_TOPIC => {
            admin_topic::update_and_create_topic(&broker, &request).into()
        }
        rc::DELETE_TOPIC_IN_BROKER => admin_topic::delete_topic(&broker, &request).into(),
        rc::GET_ALL_TOPIC_CONFIG => admin_topic::all_topic_config(&broker, &request).into(),
        rc::GET_TOPIC_CONFIG => admin_broker::topic_config(&broker, &request).into(),
        rc::GET_SYSTEM_TOPIC_LIST_FROM_BROKER => {
            admin_broker::system_topic_list(&broker, &request).into()
        }
        rc::GET_BROKER_RUNTIME_INFO => admin_broker::runtime_info(&broker, &request).into(),
        rc::GET_BROKER_CONFIG => admin_broker::broker_config(&broker, &request).into(),
        rc::UPDATE_BROKER_CONFIG => admin_broker::update_broker_config(&broker, &request).into(),
        rc::GET_TOPIC_STATS_INFO => admin_stats::topic_stats(&broker, &request).into(),
        rc::GET_CONSUME_STATS => admin_stats::consume_stats(&broker, &request).into(),
        rc::GET_BROKER_CONSUME_STATS => admin_stats::broker_consume_stats(&broker, &request).into(),
        rc::QUERY_TOPIC_CONSUME_BY_WHO => admin_stats::topic_consumed_by(&broker, &request).into(),
        rc::QUERY_TOPICS_BY_CONSUMER => admin_stats::topics_by_consumer(&broker, &request).into(),
        rc::GET_ALL_CONSUMER_OFFSET => admin_stats::all_consumer_offsets(&broker, &request).into(),
        rc::INVOKE_BROKER_TO_RESET_OFFSET => reset_offset::process(&broker, &request).into(),
        rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
            admin_group::update_and_create(&broker, &request).into()
        }
        rc::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => admin_group::all(&broker, &request).into(),
        rc::DELETE_SUBSCRIPTIONGROUP => admin_group::delete(&broker, &request).into(),
        rc::GET_SUBSCRIPTIONGROUP_CONFIG => admin_group::get(&broker, &request).into(),
        rc::GET_CONSUMER_CONNECTION_LIST => {
            admin_group::consumer_connections(&broker, &request).into()
        }
        rc::GET_PRODUCER_CONNECTION_LIST => {
            admin_group::producer_connections(&broker, &request).into()
        }
        _ => response::error(
            &request,
            response_code::REQUEST_CODE_NOT_SUPPORTED,
            format!(
                "request code {} ({}) is not supported by this broker",
                request.code,
                request.code_name()
            ),
        )
        .into(),
    };
    tracing::trace!(code = reply.command.code, remark = ?reply.command.remark, "response");
    (!oneway).then_some(reply)
}
