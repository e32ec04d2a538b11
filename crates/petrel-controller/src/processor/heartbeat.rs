//! BROKER_HEARTBEAT (904), oneway: the broker is alive, at this epoch and offset. Recorded by
//! whichever controller receives it (brokers send to the leader).

use std::sync::Arc;

use petrel_protocol::remoting::header::BrokerHeartbeatRequestHeader;
use petrel_protocol::remoting::RemotingCommand;
use petrel_remoting::RequestContext;

use super::{header, ok, ProcessResult};
use crate::error::Refusal;
use crate::server::Shared;

pub(crate) fn broker_heartbeat(
    shared: &Arc<Shared>,
    ctx: &RequestContext,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: BrokerHeartbeatRequestHeader = header(request)?;
    if header.broker_id.is_none() {
        return Err(Refusal::invalid_request("Heart beat with empty brokerId"));
    }
    let now = shared.now_ms();
    let default_timeout_ms = shared.config.read().broker_heartbeat_timeout_ms;
    let recorded =
        shared
            .live
            .lock()
            .on_heartbeat(&header, ctx.connection.id(), now, default_timeout_ms);
    if !recorded {
        tracing::warn!(broker_addr = %header.broker_addr, "heartbeat ignored: the controller tracks {} brokers, its limit", crate::liveness::MAX_TRACKED_BROKERS);
        return Err(Refusal::invalid_request(
            "the controller tracks too many brokers",
        ));
    }
    Ok(ok(request).with_remark("Heart beat success"))
}
