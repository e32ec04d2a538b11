//! Consumer offsets: `INVOKE_BROKER_TO_RESET_OFFSET` (222), and `QUERY_CONSUMER_OFFSET` (14) /
//! `UPDATE_CONSUMER_OFFSET` (15) for brokers that cannot reset offsets of a group with no live
//! member (RocketMQ up to 5.1 answers CONSUMER_NOT_ONLINE; mqadmin then commits the offsets
//! itself, as [`Admin::reset_offset_by_time`] does).

use std::collections::BTreeMap;

use petrel_protocol::remoting::body::ResetOffsetBody;
use petrel_protocol::remoting::header::{
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader, ResetOffsetRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};

use super::topic::select_broker_addr;
use super::{decode_body, Admin, AdminError, Result};
use crate::message::MessageQueue;

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
            let response = self
                .broker_call(
                    &addr,
                    RemotingCommand::request(rc::INVOKE_BROKER_TO_RESET_OFFSET)
                        .with_header(&header),
                )
                .await?;
            match response.code {
                code::SUCCESS => {
                    let body: ResetOffsetBody =
                        decode_body(&addr, "reset offsets", &response.body)?;
                    out.extend(body.offset_table);
                }
                code::CONSUMER_NOT_ONLINE => {
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
                code::TOPIC_NOT_EXIST => return Err(AdminError::TopicNotExist(topic.to_string())),
                code::SUBSCRIPTION_GROUP_NOT_EXIST => {
                    return Err(AdminError::GroupNotExist(group.to_string()))
                }
                _ => return Err(AdminError::refused(&addr, response)),
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
        let response = self
            .broker_call(
                addr,
                RemotingCommand::request(rc::INVOKE_BROKER_TO_RESET_OFFSET).with_header(&header),
            )
            .await?;
        match response.code {
            code::SUCCESS => {
                let body: ResetOffsetBody = decode_body(addr, "reset offsets", &response.body)?;
                body.offset_table
                    .iter()
                    .find(|(q, _)| q.queue_id == mq.queue_id)
                    .map(|(_, o)| *o)
                    .ok_or_else(|| AdminError::BadResponse {
                        addr: addr.to_string(),
                        reason: format!("the reset answer has no queue {}", mq.queue_id),
                    })
            }
            code::TOPIC_NOT_EXIST => Err(AdminError::TopicNotExist(mq.topic.clone())),
            code::SUBSCRIPTION_GROUP_NOT_EXIST => Err(AdminError::GroupNotExist(group.to_string())),
            _ => Err(AdminError::refused(addr, response)),
        }
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
                self.max_offset(&addr, &mq).await?
            } else {
                self.search_offset(&addr, &mq, timestamp_ms).await?
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
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_string(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            ..Default::default()
        };
        let response = self
            .broker_call(
                addr,
                RemotingCommand::request(rc::QUERY_CONSUMER_OFFSET).with_header(&header),
            )
            .await?;
        match response.code {
            code::SUCCESS => response
                .decode_header::<QueryConsumerOffsetResponseHeader>()
                .map(|h| Some(h.offset))
                .map_err(|e| AdminError::BadResponse {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                }),
            code::QUERY_NOT_FOUND => Ok(None),
            _ => Err(AdminError::refused(addr, response)),
        }
    }

    /// Commits `offset` as `group`'s offset on `mq`.
    pub async fn update_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        mq: &MessageQueue,
        offset: i64,
    ) -> Result<()> {
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_string(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            commit_offset: offset,
            ..Default::default()
        };
        self.broker_call_ok(
            addr,
            RemotingCommand::request(rc::UPDATE_CONSUMER_OFFSET).with_header(&header),
        )
        .await?;
        Ok(())
    }
}
