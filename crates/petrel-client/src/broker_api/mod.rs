//! The client's one layer of broker requests: one function per request code the client sends
//! to a broker, named after the code (`get_max_offset` is `GET_MAX_OFFSET`), as mini-redis has
//! one file per command. Each builds the request from typed arguments, sends it with the
//! instance's serialisation and timeout, reads the response code and decodes the answer into a
//! typed value; any other outcome is a [`crate::ClientError`] naming the broker.
//!
//! Producers, the push and lite pull consumers, the offset store and the admin API all call
//! these functions, so a request is built and its answer read in one place, and every caller
//! reports failures with the same error type. The callers decide *which* broker and *when*;
//! this layer only speaks to the address it is given.
//!
//! - [`queue`]: reading queues and messages (pull, min/max offset, offset by time, view and
//!   query messages);
//! - [`offset`]: a group's committed offsets (query, update, reset);
//! - [`group`]: group membership and queue locks (heartbeat, unregister, members, SQL92 check,
//!   send-back, lock and unlock);
//! - [`send`]: sends and transaction outcomes;
//! - [`admin`]: topic and group administration and broker statistics;
//! - [`stats`]: named broker statistics (`VIEW_BROKER_STATS_DATA`).
//!
//! Name-server requests have their own layer, [`crate::namesrv_api`].

pub(crate) mod admin;
pub(crate) mod group;
pub(crate) mod offset;
pub(crate) mod queue;
pub(crate) mod send;
pub(crate) mod stats;

use std::time::Duration;

use petrel_protocol::remoting::RemotingCommand;

use crate::error::Result;
use crate::instance::ClientInstance;
use crate::response::success;

pub use queue::{PullOutcome, PullStatus};
pub use send::SendStatus;

/// One request to `addr`, answered within `timeout` (the configured request timeout when
/// `None`), whatever the response code.
async fn call(
    instance: &ClientInstance,
    addr: &str,
    request: RemotingCommand,
    timeout: Option<Duration>,
) -> Result<RemotingCommand> {
    let timeout = timeout.unwrap_or(instance.config().request_timeout);
    instance.invoke_timeout(addr, request, timeout).await
}

/// One request that must be answered SUCCESS; any other code is
/// [`crate::ClientError::Response`].
async fn call_ok(
    instance: &ClientInstance,
    addr: &str,
    request: RemotingCommand,
    timeout: Option<Duration>,
) -> Result<RemotingCommand> {
    let response = call(instance, addr, request, timeout).await?;
    success(addr, response)
}
