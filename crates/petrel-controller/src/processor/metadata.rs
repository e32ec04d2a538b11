//! CONTROLLER_GET_METADATA_INFO (1005): any controller says who leads the group, so a broker
//! given every controller's address finds the leader.

use std::sync::Arc;

use petrel_protocol::remoting::header::GetMetaDataResponseHeader;
use petrel_protocol::remoting::RemotingCommand;

use super::{ok, ProcessResult};
use crate::server::Shared;

pub(crate) fn get_metadata_info(shared: &Arc<Shared>, request: &RemotingCommand) -> ProcessResult {
    let leader = shared.leader_node().and_then(|id| shared.peer(id));
    let config = shared.config.read();
    // Apache's DLedger controller lists the peers as `id:address;` each.
    let peers: String = config
        .peers
        .iter()
        .map(|p| format!("{}:{};", p.id, p.addr))
        .collect();
    let header = GetMetaDataResponseHeader {
        group: Some(config.group.clone()),
        controller_leader_id: leader.as_ref().map(|p| p.id.clone()),
        controller_leader_address: leader.as_ref().map(|p| p.addr.clone()),
        is_leader: shared.is_leader(),
        peers: Some(peers),
    };
    Ok(ok(request).with_header(&header))
}
