//! `GET_ROUTEINFO_BY_TOPIC` (105): what every producer and consumer asks, every 30 s per
//! topic.

use petrel_protocol::remoting::header::GetRouteInfoRequestHeader;
use petrel_protocol::remoting::RemotingCommand;

use super::{success, wants_standard_json, ProcessResult};
use crate::error::RequestError;
use crate::state::NamesrvState;
use petrel_protocol::mix_all::NAMESPACE_ORDER_TOPIC_CONFIG;

/// The topic's route, in standard JSON for clients from 4.9.4 on (or that ask for it with
/// `acceptStandardJsonOnly`), in fastjson's legacy form with bare integer `brokerAddrs` keys
/// for older ones; TOPIC_NOT_EXIST when no registered broker has the topic (a producer then
/// falls back to the `TBW102` route).
pub(crate) fn get_route_info_by_topic(
    state: &NamesrvState,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: GetRouteInfoRequestHeader = request.decode_header()?;
    let route = state.routes.read().pick_topic_route(&header.topic);
    let Some(mut route) = route else {
        return Err(RequestError::TopicNotExist(header.topic));
    };
    if state.settings().order_message_enable {
        route.order_topic_conf = state
            .kv
            .read()
            .get(NAMESPACE_ORDER_TOPIC_CONFIG, &header.topic)
            .map(str::to_owned);
    }
    let body = if wants_standard_json(request, header.accept_standard_json_only) {
        route.encode_standard()
    } else {
        route.encode_legacy()
    };
    Ok(success(request).with_body(body))
}
