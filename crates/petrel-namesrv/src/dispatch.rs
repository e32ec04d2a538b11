//! The dispatch table: request code → processor. No logic lives here.

use std::sync::Arc;

use petrel_protocol::remoting::{request_code as code, RemotingCommand};
use petrel_remoting::RequestContext;

use crate::error::RequestError;
use crate::processor::{
    broker_registration, cluster_info, kv_config, namesrv_config, topic_admin, topic_route,
    write_perm, ProcessResult,
};
use crate::state::NamesrvState;

pub(crate) async fn dispatch(
    state: &Arc<NamesrvState>,
    ctx: &RequestContext,
    request: &RemotingCommand,
) -> ProcessResult {
    match request.code {
        code::GET_ROUTEINFO_BY_TOPIC => topic_route::get_route_info_by_topic(state, request),
        code::REGISTER_BROKER => {
            broker_registration::register_broker(state, ctx.connection.id(), request)
        }
        code::UNREGISTER_BROKER => broker_registration::unregister_broker(state, request),
        code::BROKER_HEARTBEAT => broker_registration::broker_heartbeat(state, request),
        code::QUERY_DATA_VERSION => broker_registration::query_data_version(state, request),
        code::GET_BROKER_CLUSTER_INFO => cluster_info::get_broker_cluster_info(state, request),
        code::GET_BROKER_MEMBER_GROUP => cluster_info::get_broker_member_group(state, request),
        code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => {
            cluster_info::get_all_topic_list(state, request)
        }
        code::GET_TOPICS_BY_CLUSTER => cluster_info::get_topics_by_cluster(state, request),
        code::GET_SYSTEM_TOPIC_LIST_FROM_NS => cluster_info::get_system_topic_list(state, request),
        code::GET_UNIT_TOPIC_LIST => cluster_info::get_unit_topic_list(state, request),
        code::GET_HAS_UNIT_SUB_TOPIC_LIST => {
            cluster_info::get_has_unit_sub_topic_list(state, request)
        }
        code::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST => {
            cluster_info::get_has_unit_sub_ununit_topic_list(state, request)
        }
        code::DELETE_TOPIC_IN_NAMESRV => topic_admin::delete_topic_in_namesrv(state, request),
        code::REGISTER_TOPIC_IN_NAMESRV => topic_admin::register_topic_in_namesrv(state, request),
        code::WIPE_WRITE_PERM_OF_BROKER => write_perm::wipe_write_perm_of_broker(state, request),
        code::ADD_WRITE_PERM_OF_BROKER => write_perm::add_write_perm_of_broker(state, request),
        code::PUT_KV_CONFIG => kv_config::put_kv_config(state, request).await,
        code::GET_KV_CONFIG => kv_config::get_kv_config(state, request),
        code::DELETE_KV_CONFIG => kv_config::delete_kv_config(state, request).await,
        code::GET_KVLIST_BY_NAMESPACE => kv_config::get_kv_list_by_namespace(state, request),
        code::UPDATE_NAMESRV_CONFIG => namesrv_config::update_namesrv_config(state, request),
        code::GET_NAMESRV_CONFIG => namesrv_config::get_namesrv_config(state, request),
        other => Err(RequestError::UnsupportedCode(other)),
    }
}
