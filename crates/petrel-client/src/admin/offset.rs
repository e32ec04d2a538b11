//! Consumer offsets: resets by time or per queue (`INVOKE_BROKER_TO_RESET_OFFSET`), and a
//! group's committed offsets (`QUERY_CONSUMER_OFFSET` / `UPDATE_CONSUMER_OFFSET`) for brokers
//! that cannot reset offsets of a group with no live member (RocketMQ up to 5.1 answers
//! CONSUMER_NOT_ONLINE; mqadmin then commits the offsets itself, as
//! [`Admin::reset_offset_by_time`] does).

use std::collections::BTreeMap;

use petrel_protocol::remoting::header::ResetOffsetRequestHeader;
use petrel_protocol::remoting::response_code as code;

use super::topic::select_broker_addr;
use super::{Admin, AdminError, Result};
use crate::broker_api::{offset as api, queue};
use crate::error::ClientError;
use crate::message::MessageQueue;

/// The answer to a reset, in an operator's terms: the codes that name the topic or group.
fn reset_refusal(e: ClientError, topic: &str, group: &str) -> AdminError {
    match e.response_code() {
        Some(code::TOPIC_NOT_EXIST) => AdminError::TopicNotExist(topic.to_string()),
        Some(code::SUBSCRIPTION_GROUP_NOT_EXIST) => AdminError::GroupNotExist(group.to_string()),
        _ => e.into(),
    }
}

impl Admin {
    /// Moves `group`'s offsets on every read queue of `topic` to the first message stored at
    /// or after `timestamp_ms` (mqadmin `resetOffsetByTime`). Without `force` an offset only
    /// moves back. Live members are told by the broker. Returns each queue's new offset.
    pub async fn reset_offset_by_time(
        &self,
        topic: &str,
        group: &str,
        timestamp_ms: i64,
        force: bool,
        cluster: Option<&str>,
    ) -> Result<BTreeMap<MessageQueue, i64>> {
        let mut out = BTreeMap::new();
        for (broker_name, addr) in self.topic_broker_addrs(topic, cluster).await? {
            let header = ResetOffsetRequestHeader {
                topic: topic.to_string(),
                group: group.to_string(),
                timestamp: timestamp_ms,
                is_force: force,
                ..Default::default()
            };
            match api::invoke_broker_to_reset_offset(&self.instance, &addr, &header).await {
                Ok(offsets) => out.extend(offsets),
                Err(e) if e.response_code() == Some(code::CONSUMER_NOT_ONLINE) => {
                    let offsets = self
                        .commit_offsets_by_time(
                            &addr,
                            &broker_name,
                            topic,
                            group,
                            timestamp_ms,
                            force,
                        )
                        .await?;
                    out.extend(offsets);
                }
                Err(e) => return Err(reset_refusal(e, topic, group)),
            }
        }
        Ok(out)
    }

    /// Sets `group`'s offset on one queue: to `offset`, or to the first message at or after
    /// `timestamp_ms` (a 5.x broker resets one queue when `queueId` is given).
    pub async fn reset_offset_of_queue(
        &self,
        addr: &str,
        mq: &MessageQueue,
        group: &str,
        offset: Option<i64>,
        timestamp_ms: i64,
    ) -> Result<i64> {
        let header = ResetOffsetRequestHeader {
            topic: mq.topic.clone(),
            group: group.to_string(),
            queue_id: mq.queue_id,
            offset,
            timestamp: timestamp_ms,
            is_force: true,
            ..Default::default()
        };
        let offsets = api::invoke_broker_to_reset_offset(&self.instance, addr, &header)
            .await
            .map_err(|e| reset_refusal(e, &mq.topic, group))?;
        offsets
            .iter()
            .find(|(q, _)| q.queue_id == mq.queue_id)
            .map(|(_, o)| *o)
            .ok_or_else(|| {
                AdminError::Client(ClientError::BadResponse {
                    addr: addr.to_string(),
                    reason: format!("the reset answer has no queue {}", mq.queue_id),
                })
            })
    }

    /// The old way (`ResetOffsetByTimeOldCommand`): search each queue's offset by time and
    /// commit it, for brokers that refuse to reset a group that is not online.
    async fn commit_offsets_by_time(
        &self,
        addr: &str,
        broker_name: &str,
        topic: &str,
        group: &str,
        timestamp_ms: i64,
        force: bool,
    ) -> Result<BTreeMap<MessageQueue, i64>> {
        let route = self.topic_route(topic).await?;
        let read_queue_nums = route
            .queue_datas
            .iter()
            .find(|q| q.broker_name == broker_name)
            .map(|q| q.read_queue_nums)
            .unwrap_or(0);
        let addr = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == broker_name)
            .and_then(select_broker_addr)
            .unwrap_or(addr)
            .to_string();
        let mut out = BTreeMap::new();
        for queue_id in 0..read_queue_nums {
            let mq = MessageQueue::new(topic, broker_name, queue_id);
            let target = if timestamp_ms < 0 {
                queue::get_max_offset(&self.instance, &addr, &mq).await?
            } else {
                queue::search_offset_by_timestamp(&self.instance, &addr, &mq, timestamp_ms).await?
            };
            let committed = self.query_consumer_offset(&addr, group, &mq).await?;
            let offset = match committed {
                Some(c) if !force && target >= c => c,
                _ => target,
            };
            self.update_consumer_offset(&addr, group, &mq, offset)
                .await?;
            out.insert(mq, offset);
        }
        Ok(out)
    }

    /// `group`'s committed offset on `mq`, or `None` if it never committed one.
    pub async fn query_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        mq: &MessageQueue,
    ) -> Result<Option<i64>> {
        Ok(api::query_consumer_offset(&self.instance, addr, group, mq).await?)
    }

    /// Commits `offset` as `group`'s offset on `mq`.
    pub async fn update_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        mq: &MessageQueue,
        offset: i64,
    ) -> Result<()> {
        Ok(api::update_consumer_offset(&self.instance, addr, group, mq, offset).await?)
    }
}
