//! Requests brokers send on this client's connections, each handed to whom it concerns: the
//! consumer group it names (`NOTIFY_CONSUMER_IDS_CHANGED`, `RESET_CONSUMER_CLIENT_OFFSET`,
//! `GET_CONSUMER_STATUS_FROM_CLIENT`, `GET_CONSUMER_RUNNING_INFO`), the producer group of a half
//! message (`CHECK_TRANSACTION_STATE`), or the request waiting for a reply
//! (`PUSH_REPLY_MESSAGE_TO_CLIENT`). Anything else is answered REQUEST_CODE_NOT_SUPPORTED.

use std::sync::{Arc, Weak};

use petrel_protocol::message::properties as prop;
use petrel_protocol::remoting::body::{JsonBody, ResetOffsetBody};
use petrel_protocol::remoting::header::{
    CheckTransactionStateRequestHeader, NotifyConsumerIdsChangedRequestHeader,
    ResetOffsetRequestHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use petrel_remoting::{BoxFuture, Reply, RequestContext, RequestHandler};

use super::ClientInstance;

/// Serves requests brokers send on our connections.
pub(super) struct Handler(pub(super) Weak<ClientInstance>);

impl ClientInstance {
    async fn serve(
        self: Arc<Self>,
        ctx: RequestContext,
        request: RemotingCommand,
    ) -> Option<Reply> {
        let reply = |code: i32, remark: Option<String>| {
            Some(Reply::from(RemotingCommand::response_to(
                &request, code, remark,
            )))
        };
        match request.code {
            rc::NOTIFY_CONSUMER_IDS_CHANGED => {
                if let Ok(h) = request.decode_header::<NotifyConsumerIdsChangedRequestHeader>() {
                    if let Some(c) = self.consumer(&h.consumer_group) {
                        tracing::debug!(group = %h.consumer_group, "consumer ids changed; rebalancing");
                        c.trigger_rebalance();
                    }
                }
                None
            }
            rc::CHECK_TRANSACTION_STATE => {
                let Ok(header) = request.decode_header::<CheckTransactionStateRequestHeader>()
                else {
                    return None;
                };
                let Ok(mut messages) = crate::message::decode_messages(&request.body, "") else {
                    tracing::warn!("undecodable CHECK_TRANSACTION_STATE body");
                    return None;
                };
                let message = messages.pop()?;
                let group = message
                    .property(prop::PRODUCER_GROUP)
                    .unwrap_or("")
                    .to_string();
                let producer = self.producers.read().get(&group).and_then(Weak::upgrade);
                match producer {
                    Some(p) => {
                        let addr = ctx.remote_addr().to_string();
                        p.check_transaction_state(addr, header, message);
                    }
                    None => {
                        tracing::warn!(%group, "transaction check for a producer group not started here")
                    }
                }
                None
            }
            rc::PUSH_REPLY_MESSAGE_TO_CLIENT => {
                match self.receive_reply(&ctx.remote_addr().to_string(), &request) {
                    Ok(()) => reply(code::SUCCESS, None),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not take a pushed reply");
                        reply(
                            code::SYSTEM_ERROR,
                            Some(format!("process reply message fail: {e}")),
                        )
                    }
                }
            }
            rc::RESET_CONSUMER_CLIENT_OFFSET => {
                let Ok(h) = request.decode_header::<ResetOffsetRequestHeader>() else {
                    return reply(code::SYSTEM_ERROR, Some("bad reset header".into()));
                };
                let body = match ResetOffsetBody::decode(&request.body) {
                    Ok(b) => b,
                    Err(e) => {
                        return reply(code::SYSTEM_ERROR, Some(format!("bad reset body: {e}")))
                    }
                };
                if let Some(c) = self.consumer(&h.group) {
                    tracing::info!(group = %h.group, topic = %h.topic, queues = body.offset_table.len(), "offsets reset by the broker");
                    c.reset_offset(&h.topic, body.offset_table);
                }
                reply(code::SUCCESS, None)
            }
            rc::GET_CONSUMER_STATUS_FROM_CLIENT => {
                let group = request.ext_fields.get("group").unwrap_or("").to_string();
                let topic = request.ext_fields.get("topic").unwrap_or("").to_string();
                let offsets = self
                    .consumer(&group)
                    .map(|c| c.offsets(&topic))
                    .unwrap_or_default();
                let body = ResetOffsetBody {
                    offset_table: offsets,
                };
                let mut r = RemotingCommand::response_to(&request, code::SUCCESS, None);
                r.body = body.encode().into();
                Some(r.into())
            }
            rc::GET_CONSUMER_RUNNING_INFO => {
                let group = request
                    .ext_fields
                    .get("consumerGroup")
                    .unwrap_or("")
                    .to_string();
                match self.consumer(&group) {
                    Some(c) => {
                        let mut r = RemotingCommand::response_to(&request, code::SUCCESS, None);
                        r.body = serde_json::to_vec(&c.running_info())
                            .unwrap_or_default()
                            .into();
                        Some(r.into())
                    }
                    None => reply(
                        code::SYSTEM_ERROR,
                        Some(format!(
                            "the consumer group {group} is not running in {}",
                            self.client_id
                        )),
                    ),
                }
            }
            other => reply(
                code::REQUEST_CODE_NOT_SUPPORTED,
                Some(format!(
                    "request code {other} ({}) is not supported by petrel-client",
                    rc::name(other).unwrap_or("unknown")
                )),
            ),
        }
    }
}

impl RequestHandler for Handler {
    fn handle(&self, ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>> {
        let me = self.0.upgrade();
        Box::pin(async move {
            match me {
                Some(me) => me.serve(ctx, request).await,
                None => None,
            }
        })
    }
}
