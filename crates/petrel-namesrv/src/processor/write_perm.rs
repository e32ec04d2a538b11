//! Taking a broker group out of (and back into) the write path: `WIPE_WRITE_PERM_OF_BROKER`
//! (205) and `ADD_WRITE_PERM_OF_BROKER` (327), used by `mqadmin wipeWritePerm` before a
//! broker is stopped. The broker's next registration restores its own perms.

use petrel_protocol::remoting::RemotingCommand;

use super::{success, ProcessResult};
use crate::state::NamesrvState;
use petrel_protocol::remoting::header::{
    AddWritePermOfBrokerRequestHeader, AddWritePermOfBrokerResponseHeader,
    WipeWritePermOfBrokerRequestHeader, WipeWritePermOfBrokerResponseHeader,
};

pub(crate) fn wipe_write_perm_of_broker(
    state: &NamesrvState,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: WipeWritePermOfBrokerRequestHeader = request.decode_header()?;
    let count = state
        .routes
        .write()
        .wipe_write_perm_of_broker(&header.broker_name);
    tracing::info!(broker_name = %header.broker_name, topics = count, "write perm wiped");
    Ok(
        success(request).with_header(&WipeWritePermOfBrokerResponseHeader {
            wipe_topic_count: saturating_i32(count),
        }),
    )
}

pub(crate) fn add_write_perm_of_broker(
    state: &NamesrvState,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: AddWritePermOfBrokerRequestHeader = request.decode_header()?;
    let count = state
        .routes
        .write()
        .add_write_perm_of_broker(&header.broker_name);
    tracing::info!(broker_name = %header.broker_name, topics = count, "write perm added");
    Ok(
        success(request).with_header(&AddWritePermOfBrokerResponseHeader {
            add_topic_count: saturating_i32(count),
        }),
    )
}

fn saturating_i32(count: usize) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}
