//! Requests waiting for their reply (`Producer::request`), by `CORRELATION_ID`: a request
//! registers a [`ReplyWaiter`] before it sends; a reply a broker pushes
//! (`PUSH_REPLY_MESSAGE_TO_CLIENT`) is decoded as Java's `ClientRemotingProcessor` decodes it and
//! handed to its waiter. A request that gave up leaves no entry behind (the waiter's drop
//! removes it), and a reply nobody waits for is logged and dropped.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use petrel_protocol::message::properties as prop;
use petrel_protocol::remoting::header::ReplyMessageRequestHeader;
use petrel_protocol::remoting::RemotingCommand;
use tokio::sync::oneshot;

use super::ClientInstance;
use crate::message::MessageExt;

/// Why a pushed reply could not be taken (the broker is answered SYSTEM_ERROR with this).
#[derive(Debug, thiserror::Error)]
pub(super) enum ReplyError {
    #[error("bad reply header: {0}")]
    Header(petrel_protocol::remoting::header::HeaderError),
    #[error("bad reply properties: {0}")]
    Properties(petrel_protocol::message::DecodeError),
    #[error("bad compressed reply body: {0}")]
    Body(std::io::Error),
    #[error("the reply has no {} property", prop::CORRELATION_ID)]
    NoCorrelationId,
}

/// The waiting requests, by correlation id.
pub(super) type ReplyWaiters = Arc<Mutex<HashMap<String, oneshot::Sender<MessageExt>>>>;

/// A request's claim on its reply; dropping it (the request gave up) forgets the request.
pub(crate) struct ReplyWaiter {
    correlation_id: String,
    waiters: ReplyWaiters,
    pub(crate) reply: oneshot::Receiver<MessageExt>,
}

impl Drop for ReplyWaiter {
    fn drop(&mut self) {
        self.waiters.lock().remove(&self.correlation_id);
    }
}

impl ClientInstance {
    /// Registers a request waiting for the reply with `correlation_id`.
    pub(crate) fn expect_reply(&self, correlation_id: &str) -> ReplyWaiter {
        let (tx, rx) = oneshot::channel();
        self.reply_waiters
            .lock()
            .insert(correlation_id.to_string(), tx);
        ReplyWaiter {
            correlation_id: correlation_id.to_string(),
            waiters: Arc::clone(&self.reply_waiters),
            reply: rx,
        }
    }

    /// A reply pushed by a broker (`PUSH_REPLY_MESSAGE_TO_CLIENT`), as Java's
    /// `ClientRemotingProcessor.receiveReplyMessage` builds it.
    pub(super) fn receive_reply(
        &self,
        broker_addr: &str,
        request: &RemotingCommand,
    ) -> Result<(), ReplyError> {
        let h: ReplyMessageRequestHeader = request.decode_header().map_err(ReplyError::Header)?;
        let mut properties = petrel_protocol::message::Properties::decode(
            h.properties.as_deref().unwrap_or("").as_bytes(),
        )
        .map_err(ReplyError::Properties)?;
        let mut sys_flag = h.sys_flag;
        let body = if sys_flag & petrel_protocol::message::sys_flag::COMPRESSED != 0 {
            sys_flag &= !petrel_protocol::message::sys_flag::COMPRESSED;
            crate::message::decompress(&request.body, h.sys_flag)
                .map_err(ReplyError::Body)?
                .into()
        } else {
            request.body.clone()
        };
        properties.insert(
            prop::REPLY_MESSAGE_ARRIVE_TIME,
            crate::message::now_ms().to_string(),
        );
        let born_host = parse_java_socket_addr(&h.born_host);
        let store_host = parse_java_socket_addr(&h.store_host);
        let Some(correlation_id) = properties.get(prop::CORRELATION_ID).map(String::from) else {
            return Err(ReplyError::NoCorrelationId);
        };
        let message = MessageExt {
            topic: h.topic,
            body,
            flag: h.flag,
            properties,
            broker_name: String::new(),
            queue_id: h.queue_id,
            queue_offset: 0,
            commit_log_offset: 0,
            store_size: 0,
            sys_flag,
            body_crc: 0,
            born_timestamp: h.born_timestamp,
            born_host,
            store_timestamp: h.store_timestamp,
            store_host,
            reconsume_times: h.reconsume_times.unwrap_or(0),
            prepared_transaction_offset: 0,
            offset_msg_id: String::new(),
        };
        match self.reply_waiters.lock().remove(&correlation_id) {
            Some(waiter) => {
                let _ = waiter.send(message);
            }
            // Java logs and answers success too: the request timed out, or was never ours.
            None => {
                tracing::warn!(%broker_addr, %correlation_id, "a reply matched no waiting request (it timed out?)")
            }
        }
        Ok(())
    }
}

/// A socket address as Java prints one (`/127.0.0.1:10911`, `host/127.0.0.1:10911`) or as
/// `host:port`; `0.0.0.0:0` if it is neither.
fn parse_java_socket_addr(s: &str) -> std::net::SocketAddr {
    let s = s.rsplit_once('/').map_or(s, |(_, a)| a);
    s.parse()
        .unwrap_or_else(|_| std::net::SocketAddr::from(([0, 0, 0, 0], 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_socket_addresses_parse() {
        let want: std::net::SocketAddr = "127.0.0.1:10911".parse().unwrap();
        assert_eq!(parse_java_socket_addr("/127.0.0.1:10911"), want);
        assert_eq!(parse_java_socket_addr("localhost/127.0.0.1:10911"), want);
        assert_eq!(parse_java_socket_addr("127.0.0.1:10911"), want);
        assert_eq!(parse_java_socket_addr("nonsense").port(), 0);
    }
}
