//! Request code → processor. No logic here beyond the routing: every processor's outcome
//! (its response or its `Refusal`) becomes the reply in `response::finish`.

use std::sync::Arc;

use petrel_protocol::remoting::{request_code as rc, response_code, RemotingCommand};
use petrel_remoting::{Reply, RequestContext};

use crate::broker::BrokerInner;
use crate::processor::{
    admin_auth, admin_broker, admin_group, admin_stats, admin_store, admin_topic, assignment,
    client, consumer_call, end_transaction, lock, offset, pop, pop_ack, pull, query,
    query_consume_queue, replication, reply, reset_offset, send, send_back,
};
use crate::response::{self, finish, finish_reply};

pub async fn dispatch(
    broker: Arc<BrokerInner>,
    ctx: RequestContext,
    request: RemotingCommand,
) -> Option<Reply> {
    let oneway = request.is_oneway();
    tracing::trace!(code = request.code, name = request.code_name(), remote = %ctx.remote_addr(), oneway, "request");
    let b = broker.as_ref();
    let r = &request;
    if let Err(remark) = crate::access::check(&b.auth, r, &ctx.remote_addr().ip().to_string()) {
        tracing::debug!(code = request.code, remote = %ctx.remote_addr(), %remark, "request refused by authentication or authorization");
        let reply = response::error(r, response_code::NO_PERMISSION, remark);
        return (!oneway).then_some(reply.into());
    }
    let reply: Reply = match request.code {
        rc::SEND_MESSAGE | rc::SEND_MESSAGE_V2 | rc::SEND_BATCH_MESSAGE => {
            finish(r, send::process(b, &ctx, r).await)
        }
        rc::SEND_REPLY_MESSAGE | rc::SEND_REPLY_MESSAGE_V2 => {
            finish(r, reply::process(b, &ctx, r).await)
        }
        rc::CONSUMER_SEND_MSG_BACK => finish(r, send_back::process(b, r).await),
        rc::END_TRANSACTION => finish(r, end_transaction::process(b, r).await),
        rc::PULL_MESSAGE | rc::LITE_PULL_MESSAGE => finish_reply(r, pull::process(b, r).await),
        rc::QUERY_ASSIGNMENT => finish(r, assignment::query_assignment(b, r)),
        rc::SET_MESSAGE_REQUEST_MODE => finish(r, assignment::set_message_request_mode(b, r)),
        rc::GET_ALL_MESSAGE_REQUEST_MODE => assignment::all_message_request_modes(b, r).into(),
        rc::POP_MESSAGE => finish_reply(r, pop::pop_message(b, r).await),
        rc::PEEK_MESSAGE => finish_reply(r, pop::peek_message(b, r)),
        rc::NOTIFICATION => finish(r, pop::notification(b, r).await),
        rc::ACK_MESSAGE => finish(r, pop_ack::ack_message(b, r)),
        rc::BATCH_ACK_MESSAGE => finish(r, pop_ack::batch_ack_message(b, r)),
        rc::CHANGE_MESSAGE_INVISIBLETIME => finish(r, pop_ack::change_invisible_time(b, r)),
        rc::HEART_BEAT => finish(r, client::heartbeat(b, &ctx, r)),
        rc::UNREGISTER_CLIENT => finish(r, client::unregister(b, &ctx, r)),
        rc::GET_CONSUMER_LIST_BY_GROUP => finish(r, client::consumer_list(b, r)),
        rc::CHECK_CLIENT_CONFIG => finish(r, client::check_client_config(b, r)),
        rc::QUERY_CONSUMER_OFFSET => finish(r, offset::query_consumer_offset(b, r)),
        rc::UPDATE_CONSUMER_OFFSET => finish(r, offset::update_consumer_offset(b, r)),
        rc::GET_MAX_OFFSET => finish(r, offset::max_offset(b, r).await),
        rc::GET_MIN_OFFSET => finish(r, offset::min_offset(b, r)),
        rc::SEARCH_OFFSET_BY_TIMESTAMP => finish(r, offset::search_by_timestamp(b, r).await),
        rc::GET_EARLIEST_MSG_STORETIME => finish(r, offset::earliest_store_time(b, r)),
        rc::QUERY_MESSAGE => finish_reply(r, query::query_message(b, r).await),
        rc::VIEW_MESSAGE_BY_ID => finish_reply(r, query::view_message_by_id(b, r)),
        rc::LOCK_BATCH_MQ => finish(r, lock::lock_batch(b, r)),
        rc::UNLOCK_BATCH_MQ => finish(r, lock::unlock_batch(b, r)),
        rc::UPDATE_AND_CREATE_TOPIC => finish(r, admin_topic::update_and_create_topic(b, r)),
        rc::UPDATE_AND_CREATE_TOPIC_LIST => {
            finish(r, admin_topic::update_and_create_topic_list(b, r))
        }
        rc::DELETE_TOPIC_IN_BROKER => finish(r, admin_topic::delete_topic(b, r)),
        rc::GET_ALL_TOPIC_CONFIG => admin_topic::all_topic_config(b, r).into(),
        rc::GET_TOPIC_CONFIG => finish(r, admin_broker::topic_config(b, r)),
        rc::GET_SYSTEM_TOPIC_LIST_FROM_BROKER => admin_broker::system_topic_list(b, r).into(),
        rc::GET_BROKER_RUNTIME_INFO => admin_broker::runtime_info(b, r).into(),
        rc::GET_BROKER_CONFIG => admin_broker::broker_config(b, r).into(),
        rc::UPDATE_BROKER_CONFIG => finish(r, admin_broker::update_broker_config(b, r)),
        rc::GET_TOPIC_STATS_INFO => finish(r, admin_stats::topic_stats(b, r)),
        rc::GET_CONSUME_STATS => finish(r, admin_stats::consume_stats(b, r)),
        rc::GET_BROKER_CONSUME_STATS => finish(r, admin_stats::broker_consume_stats(b, r)),
        rc::QUERY_TOPIC_CONSUME_BY_WHO => finish(r, admin_stats::topic_consumed_by(b, r)),
        rc::QUERY_TOPICS_BY_CONSUMER => finish(r, admin_stats::topics_by_consumer(b, r)),
        rc::GET_ALL_CONSUMER_OFFSET => admin_stats::all_consumer_offsets(b, r).into(),
        rc::GET_ALL_DELAY_OFFSET => replication::all_delay_offsets(b, r).into(),
        rc::GET_BROKER_HA_STATUS => replication::ha_status(b, r).into(),
        rc::GET_BROKER_EPOCH_CACHE => finish(r, crate::controller_mode::epoch_cache(b, r)),
        rc::NOTIFY_BROKER_ROLE_CHANGED => finish(r, crate::controller_mode::role_changed(b, r)),
        rc::QUERY_CONSUME_TIME_SPAN => finish(r, admin_stats::consume_time_span(b, r)),
        rc::VIEW_BROKER_STATS_DATA => finish(r, admin_stats::stats_data(b, r)),
        rc::QUERY_CONSUME_QUEUE => finish(r, query_consume_queue::process(b, r)),
        rc::INVOKE_BROKER_TO_RESET_OFFSET => finish(r, reset_offset::process(b, r)),
        rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => finish(r, admin_group::update_and_create(b, r)),
        rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST => {
            finish(r, admin_group::update_and_create_list(b, r))
        }
        rc::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => admin_group::all(b, r).into(),
        rc::DELETE_SUBSCRIPTIONGROUP => finish(r, admin_group::delete(b, r)),
        rc::GET_SUBSCRIPTIONGROUP_CONFIG => finish(r, admin_group::get(b, r)),
        rc::GET_CONSUMER_CONNECTION_LIST => finish(r, admin_group::consumer_connections(b, r)),
        rc::GET_PRODUCER_CONNECTION_LIST => finish(r, admin_group::producer_connections(b, r)),
        rc::DELETE_EXPIRED_COMMITLOG => {
            finish(r, admin_store::delete_expired_commit_log(b, r).await)
        }
        rc::CLEAN_UNUSED_TOPIC => finish(r, admin_store::clean_unused_topics(b, r)),
        rc::GET_ALL_PRODUCER_INFO => admin_group::all_producers(b, r).into(),
        rc::QUERY_SUBSCRIPTION_BY_CONSUMER => {
            finish(r, admin_group::subscription_by_consumer(b, r))
        }
        rc::CLONE_GROUP_OFFSET => finish(r, admin_group::clone_offsets(b, r)),
        rc::GET_CONSUMER_RUNNING_INFO => finish(r, consumer_call::running_info(b, r).await),
        rc::CONSUME_MESSAGE_DIRECTLY => {
            finish(r, consumer_call::consume_message_directly(b, r).await)
        }
        rc::AUTH_CREATE_USER => finish(r, admin_auth::create_user(b, r)),
        rc::AUTH_UPDATE_USER => finish(r, admin_auth::update_user(b, r)),
        rc::AUTH_DELETE_USER => finish(r, admin_auth::delete_user(b, r)),
        rc::AUTH_GET_USER => finish(r, admin_auth::get_user(b, r)),
        rc::AUTH_LIST_USER => finish(r, admin_auth::list_users(b, r)),
        rc::AUTH_CREATE_ACL | rc::AUTH_UPDATE_ACL => finish(r, admin_auth::upsert_acl(b, r)),
        rc::AUTH_DELETE_ACL => finish(r, admin_auth::delete_acl(b, r)),
        rc::AUTH_GET_ACL => finish(r, admin_auth::get_acl(b, r)),
        rc::AUTH_LIST_ACL => finish(r, admin_auth::list_acls(b, r)),
        rc::INVOKE_BROKER_TO_GET_CONSUMER_STATUS => {
            finish(r, consumer_call::consumer_status(b, r).await)
        }
        _ => response::error(
            r,
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
