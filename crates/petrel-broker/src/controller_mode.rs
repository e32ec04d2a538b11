//! The broker's seam for controller mode (`enableControllerMode`, RocketMQ 5.x AutoSwitch).
//!
//! In controller mode the controllers decide each broker's role; `petrel-autoswitch` talks to
//! them and starts this broker in the role they assigned, with [`ControllerHooks`] for what can
//! change while it runs: the master's lease (whether it may still acknowledge writes), its
//! SyncStateSet (whom a SYNC send waits for), role-change notices from controllers and the
//! epoch cache admin tools and replicas read. The broker knows nothing of controllers beyond
//! these calls.

use petrel_protocol::remoting::body::{EpochEntryCache, JsonBody, SyncStateSet};
use petrel_protocol::remoting::header::NotifyBrokerRoleChangedRequestHeader;
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_store::MessageStore;

use crate::broker::BrokerInner;
use crate::response::{self, Refusal};

/// What a broker in controller mode asks of its controller client.
pub trait ControllerHooks: Send + Sync + 'static {
    /// The store is open and nothing serves yet: a new master records its epoch here, at the
    /// CommitLog's end, before any write can land. An error stops the start.
    fn on_store_opened(&self, store: &MessageStore) -> Result<(), String>;
    /// Whether this broker may acknowledge a write now; `Err` is the remark (a master that
    /// could not confirm its role with the controllers in time).
    fn check_writable(&self) -> Result<(), String>;
    /// With `allAckInSyncStateSet`: the replicas (broker ids, the master left out) every SYNC
    /// send waits for; `None` applies the `inSyncReplicas` rule instead.
    fn sync_state_set_replicas(&self) -> Option<Vec<u64>>;
    /// NOTIFY_BROKER_ROLE_CHANGED (1008) from a controller.
    fn on_role_changed(
        &self,
        header: NotifyBrokerRoleChangedRequestHeader,
        sync_state_set: Option<SyncStateSet>,
    );
    /// GET_BROKER_EPOCH_CACHE (1007): this broker's epochs and CommitLog end.
    fn epoch_cache(&self, store: &MessageStore) -> EpochEntryCache;
}

/// GET_BROKER_EPOCH_CACHE (1007).
pub fn epoch_cache(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let hooks = hooks(broker)?;
    Ok(response::json(
        request,
        hooks.epoch_cache(&broker.store).encode(),
    ))
}

/// NOTIFY_BROKER_ROLE_CHANGED (1008).
pub fn role_changed(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let hooks = hooks(broker)?;
    let header: NotifyBrokerRoleChangedRequestHeader = request
        .decode_header()
        .map_err(|e| Refusal::new(response_code::INVALID_PARAMETER, e.to_string()))?;
    let set = (!request.body.is_empty())
        .then(|| SyncStateSet::decode(&request.body).ok())
        .flatten();
    hooks.on_role_changed(header, set);
    Ok(response::ok(request))
}

fn hooks(broker: &BrokerInner) -> Result<&dyn ControllerHooks, Refusal> {
    broker.controller_hooks.as_deref().ok_or_else(|| {
        Refusal::new(
            response_code::REQUEST_CODE_NOT_SUPPORTED,
            "this broker is not in controller mode (enableControllerMode=false)",
        )
    })
}
