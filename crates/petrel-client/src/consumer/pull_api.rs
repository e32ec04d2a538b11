//! What both consumers ask brokers, on top of [`crate::broker_api`] (RocketMQ's
//! `PullAPIWrapper` and the consumer half of `MQAdminImpl`): which broker serves a queue, one
//! pull built and its answer processed as Java processes it, a queue's min / max offset and its
//! offset at a time, a group's members (from any broker of the topic), and the SQL92 check on
//! every master.
//!
//! These are free functions of a [`ClientInstance`] and plain arguments: the push consumer and
//! the lite pull consumer decide *when* to call them and what the answers do to their state.

use std::time::Duration;

use petrel_protocol::message::properties as prop;
use petrel_protocol::remoting::body::SubscriptionData;
use petrel_protocol::remoting::header::{PullMessageRequestHeader, RpcFields};

use crate::broker_api::{group, queue, PullOutcome, PullStatus};
use crate::error::{ClientError, Result};
use crate::instance::{ClientInstance, TopicRoute};
use crate::message::MessageQueue;

/// One pull request's settings.
#[derive(Debug)]
pub(crate) struct PullArgs<'a> {
    pub group: &'a str,
    pub mq: &'a MessageQueue,
    pub subscription: &'a SubscriptionData,
    pub offset: i64,
    pub max_msg_nums: i32,
    /// `PullSysFlag` bits; with [`FLAG_LITE_PULL`](petrel_protocol::pull_sys_flag::FLAG_LITE_PULL) the request is
    /// `LITE_PULL_MESSAGE` (Java's `MQClientAPIImpl.pullMessage`), which brokers serve from
    /// their own thread pool.
    pub sys_flag: i32,
    /// The consumed offset piggy-backed with [`FLAG_COMMIT_OFFSET`] (else
    /// ignored).
    ///
    /// [`FLAG_COMMIT_OFFSET`]: petrel_protocol::pull_sys_flag::FLAG_COMMIT_OFFSET
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

/// Where to pull `mq` from: the broker id the last answer suggested, else the master, else a
/// slave (reads go on while a master is down); the route is refreshed when the broker name is
/// unknown.
pub(crate) async fn pull_addr(instance: &ClientInstance, mq: &MessageQueue) -> Result<String> {
    if let Some(addr) = instance.pull_addr(mq) {
        return Ok(addr);
    }
    instance.refresh_route(&mq.topic, false).await?;
    instance
        .pull_addr(mq)
        .ok_or_else(|| ClientError::NoBrokerAddress {
            broker_name: mq.broker_name.clone(),
            role: "any",
        })
}

/// One pull from `addr`, built as Java's `PullAPIWrapper.pullKernelImpl` builds it, and its
/// answer processed as `processPullResult` does: FOUND messages are filtered again by exact
/// tag (the broker filters by tag hash, and hashes collide), carry the queue's min / max
/// offsets as properties, and get the static-topic offset delta.
pub(crate) async fn pull(
    instance: &ClientInstance,
    addr: &str,
    args: PullArgs<'_>,
) -> Result<PullOutcome> {
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
    let mut outcome = match queue::pull_message(
        instance,
        addr,
        &header,
        &mq.broker_name,
        args.timeout,
    )
    .await
    {
        Ok(o) => o,
        Err(e) => {
            if matches!(e, ClientError::Remoting(_)) {
                // The broker may be gone (a dead master): learn the route again now rather
                // than at the next periodic refresh, so pulls move to a live replica.
                instance.suggest_pull_broker(mq, petrel_protocol::mix_all::MASTER_ID);
                if let Err(refresh) = instance.refresh_route(&mq.topic, false).await {
                    tracing::debug!(topic = %mq.topic, error = %refresh, "route refresh after a failed pull");
                }
            }
            return Err(e);
        }
    };
    instance.suggest_pull_broker(mq, outcome.suggest_which_broker_id);
    if outcome.status == PullStatus::Found {
        let msgs = &mut outcome.messages;
        if sd.expression_type == "TAG" && !sd.tags_set.is_empty() && !sd.class_filter_mode {
            msgs.retain(|m| m.tags().is_some_and(|t| sd.tags_set.contains(t)));
        }
        let (min, max) = (
            outcome.min_offset.to_string(),
            outcome.max_offset.to_string(),
        );
        for m in msgs.iter_mut() {
            m.properties.insert(prop::MIN_OFFSET, min.clone());
            m.properties.insert(prop::MAX_OFFSET, max.clone());
            m.broker_name = mq.broker_name.clone();
            m.queue_id = mq.queue_id;
            if let Some(delta) = outcome.offset_delta {
                m.queue_offset += delta;
            }
        }
    }
    Ok(outcome)
}

/// The offset after the last message of `mq` (`GET_MAX_OFFSET`, committed messages only).
pub(crate) async fn max_offset(instance: &ClientInstance, mq: &MessageQueue) -> Result<i64> {
    let addr = broker_addr(instance, mq).await?;
    queue::get_max_offset(instance, &addr, mq).await
}

/// The offset of the oldest message of `mq` still stored (`GET_MIN_OFFSET`).
pub(crate) async fn min_offset(instance: &ClientInstance, mq: &MessageQueue) -> Result<i64> {
    let addr = broker_addr(instance, mq).await?;
    queue::get_min_offset(instance, &addr, mq).await
}

/// The offset of the first message of `mq` stored at or after `timestamp_ms`
/// (`SEARCH_OFFSET_BY_TIMESTAMP`).
pub(crate) async fn search_offset(
    instance: &ClientInstance,
    mq: &MessageQueue,
    timestamp_ms: i64,
) -> Result<i64> {
    let addr = broker_addr(instance, mq).await?;
    queue::search_offset_by_timestamp(instance, &addr, mq, timestamp_ms).await
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
        match group::get_consumer_list_by_group(instance, &addr, group).await {
            Ok(ids) => return Ok(ids),
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
        group::check_client_config(instance, addr, group, sd).await?;
    }
    Ok(())
}
