//! What admin tools list: `GET_BROKER_CLUSTER_INFO` (106), `GET_ALL_TOPIC_LIST_FROM_NAMESERVER`
//! (206), `GET_TOPICS_BY_CLUSTER` (224), `GET_SYSTEM_TOPIC_LIST_FROM_NS` (304) and the unit
//! topic lists (311, 312, 313), and `GET_BROKER_MEMBER_GROUP` (901).

use petrel_protocol::remoting::body::{GetBrokerMemberGroupResponseBody, JsonBody, TopicList};
use petrel_protocol::remoting::RemotingCommand;

use super::{success, wants_standard_json, ProcessResult};
use crate::error::RequestError;
use crate::state::NamesrvState;
use petrel_protocol::remoting::header::{
    GetBrokerMemberGroupRequestHeader, GetTopicsByClusterRequestHeader,
};
use petrel_protocol::topic::{TOPIC_SYS_FLAG_UNIT, TOPIC_SYS_FLAG_UNIT_SUB};

/// `GET_BROKER_CLUSTER_INFO`. `brokerAddrs` has integer keys like routes; Java always writes
/// them bare here, we do so only for clients older than 4.9.4 (newer fastjson-based clients
/// read both forms, and standard JSON is what non-Java clients can parse).
pub(crate) fn get_broker_cluster_info(
    state: &NamesrvState,
    request: &RemotingCommand,
) -> ProcessResult {
    let info = state.routes.read().cluster_info();
    let body = if wants_standard_json(request, None) {
        info.encode_standard()
    } else {
        info.encode_legacy()
    };
    Ok(success(request).with_body(body))
}

/// `GET_BROKER_MEMBER_GROUP`: the members of one broker name (brokers of 5.x use it to find
/// their peers; `mqadmin` to list a broker group). Same key forms as cluster info.
pub(crate) fn get_broker_member_group(
    state: &NamesrvState,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: GetBrokerMemberGroupRequestHeader = request.decode_header()?;
    let body = GetBrokerMemberGroupResponseBody {
        broker_member_group: state
            .routes
            .read()
            .broker_member_group(&header.cluster_name, &header.broker_name),
    };
    let body = if wants_standard_json(request, None) {
        body.encode_standard()
    } else {
        body.encode_legacy()
    };
    Ok(success(request).with_body(body))
}

/// `GET_ALL_TOPIC_LIST_FROM_NAMESERVER`, unless `enableAllTopicList` is off.
pub(crate) fn get_all_topic_list(state: &NamesrvState, request: &RemotingCommand) -> ProcessResult {
    if !state.settings().enable_all_topic_list {
        return Err(RequestError::Disabled);
    }
    let list = state.routes.read().all_topic_list();
    Ok(topic_list_response(request, &list))
}

/// `GET_TOPICS_BY_CLUSTER`, unless `enableTopicList` is off.
pub(crate) fn get_topics_by_cluster(
    state: &NamesrvState,
    request: &RemotingCommand,
) -> ProcessResult {
    if !state.settings().enable_topic_list {
        return Err(RequestError::Disabled);
    }
    let header: GetTopicsByClusterRequestHeader = request.decode_header()?;
    let list = state.routes.read().topics_by_cluster(&header.cluster);
    Ok(topic_list_response(request, &list))
}

/// `GET_SYSTEM_TOPIC_LIST_FROM_NS`: cluster and broker names, plus one broker address.
pub(crate) fn get_system_topic_list(
    state: &NamesrvState,
    request: &RemotingCommand,
) -> ProcessResult {
    let list = state.routes.read().system_topic_list();
    Ok(topic_list_response(request, &list))
}

/// `GET_UNIT_TOPIC_LIST`.
pub(crate) fn get_unit_topic_list(
    state: &NamesrvState,
    request: &RemotingCommand,
) -> ProcessResult {
    unit_topic_list(state, request, |flag| flag & TOPIC_SYS_FLAG_UNIT != 0)
}

/// `GET_HAS_UNIT_SUB_TOPIC_LIST`.
pub(crate) fn get_has_unit_sub_topic_list(
    state: &NamesrvState,
    request: &RemotingCommand,
) -> ProcessResult {
    unit_topic_list(state, request, |flag| flag & TOPIC_SYS_FLAG_UNIT_SUB != 0)
}

/// `GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST`.
pub(crate) fn get_has_unit_sub_ununit_topic_list(
    state: &NamesrvState,
    request: &RemotingCommand,
) -> ProcessResult {
    unit_topic_list(state, request, |flag| {
        flag & TOPIC_SYS_FLAG_UNIT == 0 && flag & TOPIC_SYS_FLAG_UNIT_SUB != 0
    })
}

fn unit_topic_list(
    state: &NamesrvState,
    request: &RemotingCommand,
    filter: impl Fn(i32) -> bool,
) -> ProcessResult {
    if !state.settings().enable_topic_list {
        return Err(RequestError::Disabled);
    }
    let list = state.routes.read().topics_with_sys_flag(filter);
    Ok(topic_list_response(request, &list))
}

fn topic_list_response(request: &RemotingCommand, list: &TopicList) -> RemotingCommand {
    success(request).with_body(list.encode())
}
