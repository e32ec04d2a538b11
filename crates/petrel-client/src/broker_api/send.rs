//! Sends and transaction outcomes: `SEND_MESSAGE_V2` (310), `SEND_BATCH_MESSAGE` (320),
//! `SEND_REPLY_MESSAGE_V2` (325) and `END_TRANSACTION` (37, oneway).

use std::time::Duration;

use bytes::Bytes;
use petrel_protocol::remoting::header::{
    EndTransactionRequestHeader, SendMessageRequestHeader, SendMessageResponseHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};

use super::call;
use crate::error::Result;
use crate::instance::ClientInstance;
use crate::response::{header, refused};

/// How the broker stored a message (`SendStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    SendOk,
    /// Stored, but the flush to disk did not finish in time (SYNC_FLUSH brokers).
    FlushDiskTimeout,
    /// Stored, but the slave did not confirm in time (SYNC_MASTER brokers).
    FlushSlaveTimeout,
    /// Stored, but no slave is available (SYNC_MASTER brokers).
    SlaveNotAvailable,
}

/// Which send request carries a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendKind {
    /// One message: `SEND_MESSAGE_V2`.
    Single,
    /// Several messages of one topic encoded in the body: `SEND_BATCH_MESSAGE`.
    Batch,
    /// A request-reply reply: `SEND_REPLY_MESSAGE_V2`.
    Reply,
}

/// The request for one send: the header in its short (V2) form, as the Java client sends it.
fn send_request(kind: SendKind, h: &SendMessageRequestHeader, body: Bytes) -> RemotingCommand {
    let request_code = match kind {
        SendKind::Single => rc::SEND_MESSAGE_V2,
        SendKind::Batch => rc::SEND_BATCH_MESSAGE,
        SendKind::Reply => rc::SEND_REPLY_MESSAGE_V2,
    };
    let mut request = RemotingCommand::request(request_code);
    h.encode_v2(&mut request.ext_fields);
    request.with_body(body)
}

/// A send answered within `timeout`: how the message was stored and where. A code that says
/// the message was not stored is an error (the caller decides whether to retry).
pub(crate) async fn send_message(
    instance: &ClientInstance,
    addr: &str,
    kind: SendKind,
    h: &SendMessageRequestHeader,
    body: Bytes,
    timeout: Duration,
) -> Result<(SendStatus, SendMessageResponseHeader)> {
    let response = call(instance, addr, send_request(kind, h, body), Some(timeout)).await?;
    let status = match response.code {
        code::SUCCESS => SendStatus::SendOk,
        code::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
        code::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
        code::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
        _ => return Err(refused(addr, response)),
    };
    let stored = header(addr, "send response header", &response)?;
    Ok((status, stored))
}

/// A send nobody waits an answer for.
pub(crate) async fn send_message_oneway(
    instance: &ClientInstance,
    addr: &str,
    kind: SendKind,
    h: &SendMessageRequestHeader,
    body: Bytes,
) -> Result<()> {
    instance
        .invoke_oneway(addr, send_request(kind, h, body))
        .await
}

/// `END_TRANSACTION` (oneway): commits or rolls back a half message; `remark` says who decided
/// (a check-back names the client).
pub(crate) async fn end_transaction(
    instance: &ClientInstance,
    addr: &str,
    h: &EndTransactionRequestHeader,
    remark: Option<String>,
) -> Result<()> {
    let mut request = RemotingCommand::request(rc::END_TRANSACTION).with_header(h);
    if let Some(remark) = remark {
        request = request.with_remark(remark);
    }
    instance.invoke_oneway(addr, request).await
}
