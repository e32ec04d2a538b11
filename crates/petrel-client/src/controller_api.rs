//! The client's one layer of controller requests (RocketMQ 5.x controller mode), one function
//! per request code as in [`crate::broker_api`]: `CONTROLLER_GET_METADATA_INFO` (1005),
//! `CONTROLLER_GET_SYNC_STATE_DATA` (1006), `CONTROLLER_ELECT_MASTER` (1002),
//! `GET_CONTROLLER_CONFIG` (1010), `UPDATE_CONTROLLER_CONFIG` (1009) and `CLEAN_BROKER_DATA`
//! (1011), as Apache's `MQClientAPIImpl` sends them.
//!
//! Each speaks to the address it is given and returns the typed answer or a
//! [`ClientError`] naming the controller (a refusal carries its code and remark). Which
//! controller to ask (the leader, found with 1005) is [`crate::admin::controller`]'s business.

use petrel_protocol::remoting::body::{
    BrokerNameList, BrokerReplicasInfo, ElectMasterResponseBody, JsonBody,
};
use petrel_protocol::remoting::header::{
    CleanControllerBrokerDataRequestHeader, ElectMasterRequestHeader, ElectMasterResponseHeader,
    GetMetaDataResponseHeader,
};
use petrel_protocol::remoting::{request_code as rc, RemotingCommand};

use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::response::{body, header, success};

/// One request to the controller at `addr` that must be answered SUCCESS.
async fn call_ok(
    instance: &ClientInstance,
    addr: &str,
    request: RemotingCommand,
) -> Result<RemotingCommand> {
    let response = instance.invoke(addr, request).await?;
    success(addr, response)
}

/// `CONTROLLER_GET_METADATA_INFO`: who leads the controller group, as the controller at `addr`
/// sees it. Any controller answers, leader or not.
pub(crate) async fn controller_get_metadata_info(
    instance: &ClientInstance,
    addr: &str,
) -> Result<GetMetaDataResponseHeader> {
    let request = RemotingCommand::request(rc::CONTROLLER_GET_METADATA_INFO);
    let response = call_ok(instance, addr, request).await?;
    header(addr, "controller metadata", &response)
}

/// `CONTROLLER_GET_SYNC_STATE_DATA`: the master, epochs and replicas of each broker name the
/// controller knows among `broker_names` (names it does not know are left out of the answer).
/// Only the leader answers.
pub(crate) async fn controller_get_sync_state_data(
    instance: &ClientInstance,
    addr: &str,
    broker_names: &[String],
) -> Result<BrokerReplicasInfo> {
    if broker_names.is_empty() {
        // The controller answers an empty list with "not set any response code".
        return Err(ClientError::InvalidArgument(
            "no broker name to ask the controller about".into(),
        ));
    }
    let names = BrokerNameList(broker_names.to_vec()).encode();
    let request = RemotingCommand::request(rc::CONTROLLER_GET_SYNC_STATE_DATA).with_body(names);
    let response = call_ok(instance, addr, request).await?;
    body(addr, "sync state data", &response.body)
}

/// `CONTROLLER_ELECT_MASTER` as an admin sends it (`designateElect` set by the caller): the new
/// master (header) and the broker set's members and SyncStateSet (body). Only the leader
/// answers.
pub(crate) async fn controller_elect_master(
    instance: &ClientInstance,
    addr: &str,
    request_header: &ElectMasterRequestHeader,
) -> Result<(ElectMasterResponseHeader, ElectMasterResponseBody)> {
    let request = RemotingCommand::request(rc::CONTROLLER_ELECT_MASTER).with_header(request_header);
    let response = call_ok(instance, addr, request).await?;
    let master = header(addr, "elect master answer", &response)?;
    let members = if response.body.is_empty() {
        ElectMasterResponseBody::default()
    } else {
        body(addr, "elect master body", &response.body)?
    };
    Ok((master, members))
}

/// `GET_CONTROLLER_CONFIG`: the controller's configuration as Java properties text.
pub(crate) async fn get_controller_config(instance: &ClientInstance, addr: &str) -> Result<String> {
    let request = RemotingCommand::request(rc::GET_CONTROLLER_CONFIG);
    let response = call_ok(instance, addr, request).await?;
    String::from_utf8(response.body.to_vec()).map_err(|_| ClientError::BadResponse {
        addr: addr.to_string(),
        reason: "controller config: not UTF-8 text".into(),
    })
}

/// `UPDATE_CONTROLLER_CONFIG`: change the keys in `properties` (Java properties text) on the
/// controller at `addr` (each controller keeps its own configuration).
pub(crate) async fn update_controller_config(
    instance: &ClientInstance,
    addr: &str,
    properties: &str,
) -> Result<()> {
    let request = RemotingCommand::request(rc::UPDATE_CONTROLLER_CONFIG)
        .with_body(properties.as_bytes().to_vec());
    call_ok(instance, addr, request).await?;
    Ok(())
}

/// `CLEAN_BROKER_DATA`: forget a broker set, or some of its broker ids. Only the leader
/// answers.
pub(crate) async fn clean_broker_data(
    instance: &ClientInstance,
    addr: &str,
    request_header: &CleanControllerBrokerDataRequestHeader,
) -> Result<()> {
    let request = RemotingCommand::request(rc::CLEAN_BROKER_DATA).with_header(request_header);
    call_ok(instance, addr, request).await?;
    Ok(())
}
