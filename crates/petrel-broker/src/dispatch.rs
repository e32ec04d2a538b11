//! Request code → processor. No logic here beyond the routing.

use std::sync::Arc;

use petrel_protocol::remoting::{request_code as rc, response_code, RemotingCommand};
use petrel_remoting::{Reply, RequestContext};

use crate::broker::BrokerInner;
use crate::processor::{admin, client, lock, offset, pull, query, send};
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
        rc::UPDATE_AND_CREATE_TOPIC => admin::update_and_create_topic(&broker, &request).into(),
        rc::DELETE_TOPIC_IN_BROKER => admin::delete_topic(&broker, &request).into(),
        rc::GET_ALL_TOPIC_CONFIG => admin::all_topic_config(&broker, &request).into(),
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
