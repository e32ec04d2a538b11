//! Broker statistics beyond runtime info: `VIEW_BROKER_STATS_DATA` (315), one of RocketMQ's
//! named statistics (`TOPIC_PUT_NUMS` of a topic, `GROUP_GET_NUMS` of `topic@group`, ...)
//! over the last minute, hour and day.

use petrel_protocol::remoting::body::BrokerStatsData;
use petrel_protocol::remoting::header::ViewBrokerStatsDataRequestHeader;
use petrel_protocol::remoting::{request_code as rc, RemotingCommand};

use super::call_ok;
use crate::error::Result;
use crate::instance::ClientInstance;
use crate::response::body;

/// `VIEW_BROKER_STATS_DATA`: the statistic `name` of `key`. A statistic the broker never
/// counted is refused (SYSTEM_ERROR, "not exist"), as by RocketMQ.
pub(crate) async fn view_broker_stats_data(
    instance: &ClientInstance,
    addr: &str,
    name: &str,
    key: &str,
) -> Result<BrokerStatsData> {
    let header = ViewBrokerStatsDataRequestHeader {
        stats_name: name.to_string(),
        stats_key: key.to_string(),
    };
    let request = RemotingCommand::request(rc::VIEW_BROKER_STATS_DATA).with_header(&header);
    let response = call_ok(instance, addr, request, None).await?;
    body(addr, "broker stats data", &response.body)
}
