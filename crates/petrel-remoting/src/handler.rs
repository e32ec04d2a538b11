//! What the transport calls for each incoming request.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use bytes::Bytes;
use petrel_protocol::remoting::RemotingCommand;

use crate::connection::ConnectionHandle;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A response, optionally with a body made of several zero-copy chunks (a pull response is the
/// frame header followed by stored records sliced straight from the CommitLog).
#[derive(Debug)]
pub struct Reply {
    pub command: RemotingCommand,
    /// Appended after `command.body` on the wire, without copying.
    pub body_chunks: Vec<Bytes>,
}

impl From<RemotingCommand> for Reply {
    fn from(command: RemotingCommand) -> Self {
        Self {
            command,
            body_chunks: Vec::new(),
        }
    }
}

/// Where a request came from.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub connection: ConnectionHandle,
}

impl RequestContext {
    pub fn remote_addr(&self) -> SocketAddr {
        self.connection.remote_addr()
    }
}

/// Handles requests arriving on connections. `handle` returns the response, or `None` for
/// oneway requests (the transport drops a response to a oneway request anyway).
pub trait RequestHandler: Send + Sync + 'static {
    fn handle(&self, ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>>;

    /// A connection closed (clients registered on it should be forgotten).
    fn on_connection_closed(&self, _connection: &ConnectionHandle) {}

    /// Whether the transport should drop `request`'s processing (its future, at its next
    /// await) when its connection closes, because nobody is left to answer. Only for requests
    /// whose processing may stop at any await point without harm, such as a held long poll;
    /// by default processing always runs to its end.
    fn cancel_on_close(&self, _request: &RemotingCommand) -> bool {
        false
    }
}
