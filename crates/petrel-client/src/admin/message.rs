//! Messages: by offset message id (`VIEW_MESSAGE_BY_ID`), by key or unique key
//! (`QUERY_MESSAGE` on every broker of the topic, hits verified), by queue and offset
//! (`PULL_MESSAGE`, without committing anything), queue bounds (min/max offset, offset by
//! time), and what a message taken out of a dead-letter queue is resent as.
//!
//! These work on any topic, `%DLQ%{group}` and `%RETRY%{group}` included: a message that died
//! is stored in the group's DLQ with its keys, tags and `UNIQ_KEY`, so it is found by the same
//! lookups as in its original topic.

use std::collections::BTreeMap;

use petrel_protocol::message::{decode_offset_msg_id, properties as prop, Properties};
use petrel_protocol::pull_sys_flag;
use petrel_protocol::remoting::body::TopicRouteData;
use petrel_protocol::remoting::header::{PullMessageRequestHeader, QueryMessageRequestHeader};
use petrel_protocol::topic::retry_topic;

use super::topic::select_broker_addr;
use super::{invalid, Admin, AdminError, Result};
use crate::broker_api::queue as api;
use crate::broker_api::PullOutcome;
use crate::message::{Message, MessageExt, MessageQueue};

/// Most messages one `QUERY_MESSAGE` returns (the broker's `maxMsgsNumBatch`).
pub const QUERY_MAX_NUM: i32 = 64;

/// Properties the broker or the retry machinery added that must not travel with a message
/// sent again from a DLQ or retry topic: a resent message is a new delivery to its original
/// topic, not a retry, not delayed, not a transaction half.
const NOT_RESENT: &[&str] = &[
    prop::DLQ_ORIGIN_TOPIC,
    prop::DLQ_ORIGIN_MESSAGE_ID,
    prop::RETRY_TOPIC,
    prop::ORIGIN_MESSAGE_ID,
    prop::REAL_TOPIC,
    prop::REAL_QUEUE_ID,
    prop::DELAY_TIME_LEVEL,
    prop::RECONSUME_TIME,
    prop::MAX_RECONSUME_TIMES,
    prop::CONSUME_START_TIMESTAMP,
    prop::CLUSTER,
    prop::MIN_OFFSET,
    prop::MAX_OFFSET,
    prop::TRANSACTION_PREPARED,
    prop::PRODUCER_GROUP,
    prop::TRANSACTION_CHECK_TIMES,
    prop::TIMER_DELIVER_MS,
    prop::TIMER_DELAY_SEC,
    prop::TIMER_DELAY_MS,
    prop::TIMER_OUT_MS,
    prop::TIMER_ENQUEUE_MS,
    prop::TIMER_DEQUEUE_MS,
    prop::TIMER_ROLL_TIMES,
    prop::TIMER_DEL_UNIQKEY,
];

/// The message to send to put `msg` (read from a DLQ, a retry topic or any topic) back into
/// its original topic: `to` if given, else `DLQ_ORIGIN_TOPIC`, else `RETRY_TOPIC`.
///
/// Body, flag, tags, keys and user properties are kept, and so is `UNIQ_KEY`: the resent
/// message has the msgId the application logged and traced, as with mqadmin's
/// `queryMsgById -s true` (the Java producer keeps an existing `UNIQ_KEY`). The retry and DLQ
/// bookkeeping is dropped (`NOT_RESENT`), so the message starts over with
/// `reconsumeTimes` 0 and the group's full retry budget.
pub fn message_for_resend(msg: &MessageExt, to: Option<&str>) -> Result<Message> {
    let topic = match to {
        Some(t) => t.to_string(),
        None => msg
            .property(prop::DLQ_ORIGIN_TOPIC)
            .or_else(|| msg.property(prop::RETRY_TOPIC))
            .map(str::to_string)
            .ok_or_else(|| {
                invalid(format!(
                    "message {} in {} has no original topic (no {} or {} property); name the \
                     topic to send it to",
                    msg.msg_id(),
                    msg.topic,
                    prop::DLQ_ORIGIN_TOPIC,
                    prop::RETRY_TOPIC
                ))
            })?,
    };
    if topic == msg.topic {
        return Err(invalid(format!(
            "message {} is already in {topic}; resending it there would duplicate it",
            msg.msg_id()
        )));
    }
    let mut properties = Properties::new();
    for (name, value) in msg.properties.iter() {
        if !NOT_RESENT.contains(&name) && !name.starts_with(prop::TRANSIENT_PREFIX) {
            properties.insert(name, value);
        }
    }
    Ok(Message {
        topic,
        body: msg.body.clone(),
        flag: msg.flag,
        properties,
    })
}

/// The message to send to give `msg` to one consumer group again, and to no other: a copy in
/// the group's retry topic (`%RETRY%{group}`, which every member of the group subscribes to)
/// with `RETRY_TOPIC` naming the topic the group's consumers see it in — `DLQ_ORIGIN_TOPIC`
/// for a message from a dead-letter queue, the message's own topic otherwise. Body, tags, keys,
/// user properties and `UNIQ_KEY` are kept, as in [`message_for_resend`].
pub fn message_for_group(msg: &MessageExt, group: &str) -> Result<Message> {
    crate::names::check_group(group)?;
    let shown_topic = msg
        .property(prop::DLQ_ORIGIN_TOPIC)
        .or_else(|| msg.property(prop::RETRY_TOPIC))
        .unwrap_or(&msg.topic)
        .to_string();
    let mut resend = message_for_resend(msg, Some(&retry_topic(group)))?;
    resend.properties.insert(prop::RETRY_TOPIC, &shown_topic);
    Ok(resend)
}

/// A message as admin tools show it (`petrel admin ... --json`, the console).
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageJson {
    pub msg_id: String,
    pub offset_msg_id: String,
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub tags: Option<String>,
    pub keys: Vec<String>,
    pub reconsume_times: i32,
    pub born_timestamp: i64,
    pub store_timestamp: i64,
    pub born_host: String,
    pub store_host: String,
    pub sys_flag: i32,
    pub flag: i32,
    pub properties: BTreeMap<String, String>,
    /// The body as UTF-8 (invalid bytes replaced).
    pub body: String,
    pub body_size: usize,
}

impl From<&MessageExt> for MessageJson {
    fn from(m: &MessageExt) -> Self {
        MessageJson {
            msg_id: m.msg_id().to_string(),
            offset_msg_id: m.offset_msg_id.clone(),
            topic: m.topic.clone(),
            broker_name: m.broker_name.clone(),
            queue_id: m.queue_id,
            queue_offset: m.queue_offset,
            commit_log_offset: m.commit_log_offset,
            tags: m.tags().map(String::from),
            keys: m.keys().map(String::from).collect(),
            reconsume_times: m.reconsume_times,
            born_timestamp: m.born_timestamp,
            store_timestamp: m.store_timestamp,
            born_host: m.born_host.to_string(),
            store_host: m.store_host.to_string(),
            sys_flag: m.sys_flag,
            flag: m.flag,
            properties: m
                .properties
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: String::from_utf8_lossy(&m.body).into_owned(),
            body_size: m.body.len(),
        }
    }
}

/// The address of `broker_name` in `route`.
fn route_addr(route: &TopicRouteData, broker_name: &str) -> Option<String> {
    route
        .broker_datas
        .iter()
        .find(|b| b.broker_name == broker_name)
        .and_then(select_broker_addr)
        .map(String::from)
}

impl Admin {
    /// The address to reach `mq`'s broker at, from the topic's route.
    pub async fn queue_addr(&self, mq: &MessageQueue) -> Result<String> {
        let route = self.topic_route(&mq.topic).await?;
        route_addr(&route, &mq.broker_name).ok_or_else(|| {
            invalid(format!(
                "broker {} does not serve topic {}",
                mq.broker_name, mq.topic
            ))
        })
    }

    /// The message stored at `commit_log_offset` on the broker at `addr`.
    pub async fn view_message(
        &self,
        addr: &str,
        broker_name: &str,
        commit_log_offset: i64,
    ) -> Result<MessageExt> {
        api::view_message_by_id(&self.instance, addr, broker_name, commit_log_offset)
            .await?
            .ok_or_else(|| {
                AdminError::MessageNotFound(format!(
                    "nothing at offset {commit_log_offset} on {addr}"
                ))
            })
    }

    /// Messages of `topic` with `key` (a business key, or with `unique` a `UNIQ_KEY`) stored
    /// in `[begin_ms, end_ms]`, from every broker serving the topic, oldest first.
    pub async fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: i32,
        begin_ms: i64,
        end_ms: i64,
        unique: bool,
    ) -> Result<Vec<MessageExt>> {
        let route = self.topic_route(topic).await?;
        let mut found = Vec::new();
        for broker in &route.broker_datas {
            let Some(addr) = select_broker_addr(broker) else {
                continue;
            };
            let header = QueryMessageRequestHeader {
                topic: topic.to_string(),
                key: key.to_string(),
                max_num: max_num.clamp(1, QUERY_MAX_NUM),
                begin_timestamp: begin_ms,
                end_timestamp: end_ms,
                unique_key_query: unique.then_some(true),
                ..Default::default()
            };
            found.extend(
                api::query_message(&self.instance, addr, &broker.broker_name, &header).await?,
            );
        }
        // Brokers verify their hits; a Java broker leaves hash collisions to the client.
        found.retain(|m| {
            m.topic == topic
                && if unique {
                    m.property(prop::UNIQ_CLIENT_MESSAGE_ID_KEYIDX) == Some(key)
                } else {
                    m.keys().any(|k| k == key)
                }
        });
        if found.is_empty() {
            let what = if unique { "unique key" } else { "key" };
            return Err(AdminError::MessageNotFound(format!(
                "no message with {what} {key} in topic {topic}"
            )));
        }
        found.sort_by_key(|m| (m.store_timestamp, m.commit_log_offset));
        found.truncate(max_num.max(1) as usize);
        Ok(found)
    }

    /// A message of `topic` by id (mqadmin `queryMsgById`): an offset message id (store host
    /// + CommitLog offset) is read directly from that broker; anything else, or an offset id
    ///   that leads nowhere, is looked up as a `UNIQ_KEY` (the oldest match).
    pub async fn query_message_by_id(&self, topic: &str, msg_id: &str) -> Result<MessageExt> {
        let route = self.topic_route(topic).await?;
        if let Ok((host, offset)) = decode_offset_msg_id(msg_id) {
            let host = host.to_string();
            let broker = route
                .broker_datas
                .iter()
                .find(|b| b.broker_addrs.values().any(|a| *a == host));
            if let Some(broker) = broker {
                if let Ok(msg) = self.view_message(&host, &broker.broker_name, offset).await {
                    return Ok(msg);
                }
            }
        }
        match self
            .query_message(topic, msg_id, QUERY_MAX_NUM, 0, i64::MAX, true)
            .await
        {
            Ok(mut found) => Ok(found.remove(0)),
            Err(AdminError::MessageNotFound(_)) => Err(AdminError::MessageNotFound(format!(
                "no message with id {msg_id} in topic {topic}"
            ))),
            Err(e) => Err(e),
        }
    }

    /// The smallest offset still stored in `mq`.
    pub async fn min_offset(&self, addr: &str, mq: &MessageQueue) -> Result<i64> {
        Ok(api::get_min_offset(&self.instance, addr, mq).await?)
    }

    /// The offset the next message of `mq` will get.
    pub async fn max_offset(&self, addr: &str, mq: &MessageQueue) -> Result<i64> {
        Ok(api::get_max_offset(&self.instance, addr, mq).await?)
    }

    /// The first offset of `mq` stored at or after `timestamp_ms`.
    pub async fn search_offset(
        &self,
        addr: &str,
        mq: &MessageQueue,
        timestamp_ms: i64,
    ) -> Result<i64> {
        Ok(api::search_offset_by_timestamp(&self.instance, addr, mq, timestamp_ms).await?)
    }

    /// Up to `max_nums` messages of `mq` from `offset` matching the tag `expression`, as
    /// `group` (the pull is not held and commits nothing, like `DefaultMQPullConsumer.pull`).
    pub async fn pull(
        &self,
        addr: &str,
        mq: &MessageQueue,
        group: &str,
        expression: &str,
        offset: i64,
        max_nums: i32,
    ) -> Result<PullOutcome> {
        let header = PullMessageRequestHeader {
            consumer_group: group.to_string(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: max_nums.max(1),
            sys_flag: pull_sys_flag::FLAG_SUBSCRIPTION,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some(expression.to_string()),
            expression_type: Some("TAG".into()),
            ..Default::default()
        };
        let timeout = self.instance.config().request_timeout;
        Ok(api::pull_message(&self.instance, addr, &header, &mq.broker_name, timeout).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    use crate::message::test_message;

    fn dlq_message() -> MessageExt {
        let mut properties = Properties::new();
        for (k, v) in [
            ("TAGS", "TagA"),
            ("KEYS", "order-1"),
            ("UNIQ_KEY", "7F0000010001000000000000000A0001"),
            ("color", "red"),
            ("RETRY_TOPIC", "Orders"),
            ("DLQ_ORIGIN_TOPIC", "Orders"),
            ("DLQ_ORIGIN_MESSAGE_ID", "AB"),
            ("ORIGIN_MESSAGE_ID", "AB"),
            ("CLUSTER", "DefaultCluster"),
            ("MAX_OFFSET", "3"),
            ("MIN_OFFSET", "0"),
            ("__RMQ.TRANSIENT.x", "1"),
            ("TIMER_OUT_MS", "1700000000000"),
            ("TIMER_ROLL_TIMES", "1"),
        ] {
            properties.insert(k, v);
        }
        MessageExt {
            body: Bytes::from_static(b"hello"),
            flag: 7,
            properties,
            reconsume_times: 3,
            offset_msg_id: "X".into(),
            ..test_message("%DLQ%g", 1)
        }
    }

    #[test]
    fn a_dlq_message_goes_back_to_its_topic_as_a_fresh_delivery() {
        let m = message_for_resend(&dlq_message(), None).unwrap();
        assert_eq!(m.topic, "Orders");
        assert_eq!(&m.body[..], b"hello");
        assert_eq!(m.flag, 7);
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.keys().collect::<Vec<_>>(), ["order-1"]);
        assert_eq!(m.unique_key(), Some("7F0000010001000000000000000A0001"));
        assert_eq!(m.property("color"), Some("red"));
        for gone in [
            "RETRY_TOPIC",
            "DLQ_ORIGIN_TOPIC",
            "DLQ_ORIGIN_MESSAGE_ID",
            "ORIGIN_MESSAGE_ID",
            "CLUSTER",
            "MAX_OFFSET",
            "MIN_OFFSET",
            "__RMQ.TRANSIENT.x",
            "TIMER_OUT_MS",
            "TIMER_ROLL_TIMES",
        ] {
            assert_eq!(m.property(gone), None, "{gone}");
        }
    }

    #[test]
    fn the_destination_comes_from_the_caller_or_the_retry_property() {
        let mut msg = dlq_message();
        assert_eq!(
            message_for_resend(&msg, Some("Other")).unwrap().topic,
            "Other"
        );
        msg.properties.remove("DLQ_ORIGIN_TOPIC");
        assert_eq!(message_for_resend(&msg, None).unwrap().topic, "Orders");
        msg.properties.remove("RETRY_TOPIC");
        let e = message_for_resend(&msg, None).unwrap_err();
        assert!(e.to_string().contains("no original topic"), "{e}");
        assert!(message_for_resend(&msg, Some("%DLQ%g")).is_err());
    }

    #[test]
    fn a_message_for_a_group_goes_to_its_retry_topic_named_as_its_origin() {
        let resend = message_for_group(&dlq_message(), "billing").unwrap();
        assert_eq!(resend.topic, "%RETRY%billing");
        assert_eq!(resend.properties.get("RETRY_TOPIC"), Some("Orders"));
        assert_eq!(resend.properties.get("KEYS"), Some("order-1"));
        assert_eq!(resend.properties.get("DLQ_ORIGIN_TOPIC"), None);
        assert_eq!(&resend.body[..], b"hello");

        let plain = MessageExt {
            properties: Properties::new(),
            ..test_message("Orders", 1)
        };
        let resend = message_for_group(&plain, "billing").unwrap();
        assert_eq!(resend.properties.get("RETRY_TOPIC"), Some("Orders"));
        assert!(message_for_group(&plain, "bad group!").is_err());
    }
}
