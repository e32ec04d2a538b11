//! Broker calls the consumers share (RocketMQ's `PullAPIWrapper` and the consumer half of
//! `MQAdminImpl`): one `PULL_MESSAGE` / `LITE_PULL_MESSAGE` and what its answer means, a queue's
//! min / max offset and its offset at a time, a group's members, and the SQL92 check.
//!
//! These are free functions of a [`ClientInstance`] and plain arguments: the push consumer and
//! the lite pull consumer decide *when* to call them and what the answers do to their state.

use petrel_protocol::message::properties as prop;
use petrel_protocol::pull_sys_flag;
use petrel_protocol::remoting::body::{
    ConsumerListByGroupResponseBody, JsonBody, SubscriptionData,
};
use petrel_protocol::remoting::header::{
    GetConsumerListByGroupRequestHeader, GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader,
    GetMinOffsetRequestHeader, GetMinOffsetResponseHeader, PullMessageRequestHeader,
    PullMessageResponseHeader, RpcFields, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use std::time::Duration;

use crate::error::{ClientError, Result};
use crate::instance::{ClientInstance, TopicRoute};
use crate::message::{decode_messages, MessageExt, MessageQueue};

/// What a pull brought (Java's `PullStatus` with the next offset).
#[derive(Debug)]
pub(crate) enum Pulled {
    /// Messages, already filtered by exact tag (possibly none left after that).
    Found {
        msgs: Vec<MessageExt>,
        next_begin: i64,
    },
    NoNewMsg {
        next_begin: i64,
    },
    NoMatchedMsg {
        next_begin: i64,
    },
    /// The offset asked for is outside the queue; `next_begin` is where to go on.
    OffsetIllegal {
        next_begin: i64,
    },
}

/// One pull request's settings.
#[derive(Debug)]
pub(crate) struct PullArgs<'a> {
    pub group: &'a str,
    pub mq: &'a MessageQueue,
    pub subscription: &'a SubscriptionData,
    pub offset: i64,
    pub max_msg_nums: i32,
    /// `PullSysFlag` bits; with [`pull_sys_flag::FLAG_LITE_PULL`] the request is
    /// `LITE_PULL_MESSAGE` (Java's `MQClientAPIImpl.pullMessage`), which brokers serve from
    /// their own thread pool.
    pub sys_flag: i32,
    /// The consumed offset piggy-backed with [`pull_sys_flag::FLAG_COMMIT_OFFSET`] (else ignored).
    pub commit_offset: i64,
    /// How long the broker may hold the pull when there is nothing new.
    pub suspend: Duration,
    /// How long to wait for the answer (longer than `suspend`).
    pub timeout: Duration,
}

/// The master of the broker holding `mq` (any replica if the master is unknown).
pub(crate) async fn broker_addr(instance: &ClientInstance, mq: &MessageQueue) -> Result<String> {
    match instance.master_addr(&mq.broker_name, &mq.topic).await {
        Ok(a) => Ok(a),
        Err(e) => instance.broker_addr(&mq.broker_name, true).ok_or(e),
    }
}

/// One pull from `addr`, built as Java's `PullAPIWrapper.pullKernelImpl` builds it, and its
/// answer processed as `processPullResult` does: FOUND messages are filtered again by exact
/// tag (the broker filters by tag hash, and hashes collide) and carry the queue's min / max
/// offsets as properties.
pub(crate) async fn pull(
    instance: &ClientInstance,
    addr: &str,
    args: PullArgs<'_>,
) -> Result<Pulled> {
    let (mq, sd) = (args.mq, args.subscription);
    let header = PullMessageRequestHeader {
        consumer_group: args.group.to_string(),
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        queue_offset: args.offset,
        max_msg_nums: args.max_msg_nums,
        sys_flag: args.sys_flag,
        commit_offset: args.commit_offset,
        suspend_timeout_millis: args.suspend.as_millis() as i64,
        subscription: Some(sd.sub_string.clone()),
        sub_version: sd.sub_version,
        expression_type: Some(sd.expression_type.clone()),
        rpc: RpcFields {
            broker_name: Some(mq.broker_name.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let request_code = if args.sys_flag & pull_sys_flag::FLAG_LITE_PULL != 0 {
        rc::LITE_PULL_MESSAGE
    } else {
        rc::PULL_MESSAGE
    };
    let response = instance
        .invoke_timeout(
            addr,
            RemotingCommand::request(request_code).with_header(&header),
            args.timeout,
        )
        .await?;
    let status = response.code;
    if !matches!(
        status,
        code::SUCCESS
            | code::PULL_NOT_FOUND
            | code::PULL_RETRY_IMMEDIATELY
            | code::PULL_OFFSET_MOVED
    ) {
        return Err(ClientError::response(addr, status, response.remark));
    }
    let h: PullMessageResponseHeader =
        response
            .decode_header()
            .map_err(|e| ClientError::BadResponse {
                addr: addr.to_string(),
                reason: format!("pull response header: {e}"),
            })?;
    let next_begin = h.next_begin_offset;
    Ok(match status {
        code::SUCCESS => {
            let mut msgs = decode_messages(&response.body, &mq.broker_name)?;
            if sd.expression_type == "TAG" && !sd.tags_set.is_empty() && !sd.class_filter_mode {
                msgs.retain(|m| m.tags().is_some_and(|t| sd.tags_set.contains(t)));
            }
            for m in &mut msgs {
                m.properties
                    .insert(prop::MIN_OFFSET, h.min_offset.to_string());
                m.properties
                    .insert(prop::MAX_OFFSET, h.max_offset.to_string());
                m.broker_name = mq.broker_name.clone();
                m.queue_id = mq.queue_id;
                if let Some(delta) = h.offset_delta {
                    m.queue_offset += delta;
                }
            }
            Pulled::Found { msgs, next_begin }
        }
        code::PULL_NOT_FOUND => Pulled::NoNewMsg { next_begin },
        code::PULL_RETRY_IMMEDIATELY => Pulled::NoMatchedMsg { next_begin },
        _ => Pulled::OffsetIllegal { next_begin },
    })
}

/// The offset after the last message of `mq` (`GET_MAX_OFFSET`, committed messages only).
pub(crate) async fn max_offset(instance: &ClientInstance, mq: &MessageQueue) -> Result<i64> {
    let addr = broker_addr(instance, mq).await?;
    let header = GetMaxOffsetRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        committed: true,
        ..Default::default()
    };
    let r = instance
        .invoke_ok(
            &addr,
            RemotingCommand::request(rc::GET_MAX_OFFSET).with_header(&header),
        )
        .await?;
    r.decode_header::<GetMaxOffsetResponseHeader>()
        .map(|h| h.offset)
        .map_err(|e| ClientError::BadResponse {
            addr,
            reason: format!("max offset: {e}"),
        })
}

/// The offset of the oldest message of `mq` still stored (`GET_MIN_OFFSET`).
pub(crate) async fn min_offset(instance: &ClientInstance, mq: &MessageQueue) -> Result<i64> {
    let addr = broker_addr(instance, mq).await?;
    let header = GetMinOffsetRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        ..Default::default()
    };
    let r = instance
        .invoke_ok(
            &addr,
            RemotingCommand::request(rc::GET_MIN_OFFSET).with_header(&header),
        )
        .await?;
    r.decode_header::<GetMinOffsetResponseHeader>()
        .map(|h| h.offset)
        .map_err(|e| ClientError::BadResponse {
            addr,
            reason: format!("min offset: {e}"),
        })
}

/// The offset of the first message of `mq` stored at or after `timestamp_ms`
/// (`SEARCH_OFFSET_BY_TIMESTAMP`).
pub(crate) async fn search_offset(
    instance: &ClientInstance,
    mq: &MessageQueue,
    timestamp_ms: i64,
) -> Result<i64> {
    let addr = broker_addr(instance, mq).await?;
    let header = SearchOffsetRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        timestamp: timestamp_ms,
        ..Default::default()
    };
    let r = instance
        .invoke_ok(
            &addr,
            RemotingCommand::request(rc::SEARCH_OFFSET_BY_TIMESTAMP).with_header(&header),
        )
        .await?;
    r.decode_header::<SearchOffsetResponseHeader>()
        .map(|h| h.offset)
        .map_err(|e| ClientError::BadResponse {
            addr,
            reason: format!("offset by time: {e}"),
        })
}

/// The members of `group`, from a broker of `route` (`GET_CONSUMER_LIST_BY_GROUP`; the next
/// broker when one fails).
pub(crate) async fn consumer_ids(
    instance: &ClientInstance,
    group: &str,
    route: &TopicRoute,
) -> Result<Vec<String>> {
    let mut brokers: Vec<&str> = route
        .data
        .broker_datas
        .iter()
        .map(|b| b.broker_name.as_str())
        .collect();
    brokers.sort();
    let mut last = None;
    for name in brokers {
        let Some(addr) = instance.broker_addr(name, true) else {
            continue;
        };
        let header = GetConsumerListByGroupRequestHeader {
            consumer_group: group.to_string(),
            ..Default::default()
        };
        let request = RemotingCommand::request(rc::GET_CONSUMER_LIST_BY_GROUP).with_header(&header);
        match instance.invoke_ok(&addr, request).await {
            Ok(r) => {
                return ConsumerListByGroupResponseBody::decode(&r.body)
                    .map(|b| b.consumer_id_list)
                    .map_err(|e| ClientError::BadResponse {
                        addr,
                        reason: format!("consumer list: {e}"),
                    })
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| ClientError::NoBrokerAddress {
        broker_name: route.topic.clone(),
        role: "any",
    }))
}

/// Java's `checkClientInBroker` for one subscription: every master of the topic must be able
/// to evaluate it (`CHECK_CLIENT_CONFIG`; a SQL92 expression needs `enablePropertyFilter`).
/// Tag subscriptions need no check.
pub(crate) async fn check_client_config(
    instance: &ClientInstance,
    group: &str,
    sd: &SubscriptionData,
) -> Result<()> {
    if sd.expression_type == "TAG" {
        return Ok(());
    }
    // A topic nobody routes yet cannot be checked; its pulls will say what is wrong.
    let Ok(route) = instance.route(&sd.topic).await else {
        return Ok(());
    };
    for b in &route.data.broker_datas {
        let Some(addr) = b.master_addr() else {
            continue;
        };
        let body = serde_json::json!({
            "clientId": instance.client_id(),
            "group": group,
            "subscriptionData": sd,
        });
        let request = RemotingCommand::request(rc::CHECK_CLIENT_CONFIG)
            .with_body(serde_json::to_vec(&body).unwrap_or_default());
        let r = instance.invoke(addr, request).await?;
        if r.code != code::SUCCESS {
            return Err(ClientError::response(addr, r.code, r.remark));
        }
    }
    Ok(())
}
