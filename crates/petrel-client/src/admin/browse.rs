//! Reading a topic's messages without consuming them (mqadmin `printMsg`, `consumeMessage`,
//! the console's message search): the readable queues of a topic, a queue's offsets between
//! two times, and the messages in an offset range. Pulls commit nothing and are never held,
//! so no group's progress changes.

use std::ops::Range;

use petrel_protocol::mix_all::TOOLS_CONSUMER_GROUP;
use petrel_protocol::perm;

use super::topic::select_broker_addr;
use super::{Admin, Result};
use crate::broker_api::PullStatus;
use crate::message::{MessageExt, MessageQueue};

/// Messages asked for per pull.
const PULL_BATCH: i32 = 32;

/// A readable queue and the address of its broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAt {
    pub queue: MessageQueue,
    pub addr: String,
}

impl Admin {
    /// The readable queues of `topic` with their brokers' addresses, ordered by broker name
    /// and queue id.
    pub async fn readable_queues(&self, topic: &str) -> Result<Vec<QueueAt>> {
        let route = self.topic_route(topic).await?;
        let mut out = Vec::new();
        for q in &route.queue_datas {
            if !perm::is_readable(q.perm) {
                continue;
            }
            let Some(addr) = route
                .broker_datas
                .iter()
                .find(|b| b.broker_name == q.broker_name)
                .and_then(select_broker_addr)
            else {
                continue;
            };
            for queue_id in 0..q.read_queue_nums {
                out.push(QueueAt {
                    queue: MessageQueue::new(topic, q.broker_name.clone(), queue_id),
                    addr: addr.to_string(),
                });
            }
        }
        out.sort_by(|x, y| {
            (&x.queue.broker_name, x.queue.queue_id).cmp(&(&y.queue.broker_name, y.queue.queue_id))
        });
        Ok(out)
    }

    /// The offsets of `q` stored between `begin_ms` and `end_ms` (the queue's bounds where
    /// a time is absent), as a half-open range.
    pub async fn offsets_between(
        &self,
        q: &QueueAt,
        begin_ms: Option<i64>,
        end_ms: Option<i64>,
    ) -> Result<Range<i64>> {
        let min = match begin_ms {
            Some(t) => self.search_offset(&q.addr, &q.queue, t).await?,
            None => self.min_offset(&q.addr, &q.queue).await?,
        };
        let max = match end_ms {
            Some(t) => self.search_offset(&q.addr, &q.queue, t).await?,
            None => self.max_offset(&q.addr, &q.queue).await?,
        };
        Ok(min..max)
    }

    /// The messages of `q` at `offsets` whose tag matches `expression`, at most `limit`,
    /// pulled as `group` (nothing committed).
    pub async fn read_queue(
        &self,
        q: &QueueAt,
        group: &str,
        expression: &str,
        offsets: Range<i64>,
        limit: usize,
    ) -> Result<Vec<MessageExt>> {
        let mut out = Vec::new();
        let (mut offset, to) = (offsets.start, offsets.end);
        while offset < to && out.len() < limit {
            let want = (to - offset).min(i64::from(PULL_BATCH)) as i32;
            let pulled = self
                .pull(&q.addr, &q.queue, group, expression, offset, want)
                .await?;
            match pulled.status {
                PullStatus::Found | PullStatus::NoMatchedMsg => {
                    for m in pulled.messages {
                        if m.queue_offset < to && out.len() < limit {
                            out.push(m);
                        }
                    }
                }
                PullStatus::NoNewMsg | PullStatus::OffsetIllegal => break,
            }
            if pulled.next_begin_offset <= offset {
                break; // no progress: never spin
            }
            offset = pulled.next_begin_offset;
        }
        Ok(out)
    }

    /// Messages of `topic` stored in `[begin_ms, end_ms)`, at most `limit`, newest first,
    /// with whether the limit cut the answer short. Each queue contributes its newest
    /// messages of the range, so a busy queue does not hide the others.
    pub async fn messages_between(
        &self,
        topic: &str,
        begin_ms: i64,
        end_ms: i64,
        limit: usize,
    ) -> Result<(Vec<MessageExt>, bool)> {
        let mut found = Vec::new();
        let mut truncated = false;
        for q in self.readable_queues(topic).await? {
            let range = self
                .offsets_between(&q, Some(begin_ms), Some(end_ms))
                .await?;
            let start = range.start.max(range.end.saturating_sub(limit as i64));
            truncated |= start > range.start;
            let read = self
                .read_queue(&q, TOOLS_CONSUMER_GROUP, "*", start..range.end, limit)
                .await?;
            found.extend(
                read.into_iter()
                    .filter(|m| m.store_timestamp >= begin_ms && m.store_timestamp < end_ms),
            );
        }
        found.sort_by(|a, b| {
            (b.store_timestamp, b.commit_log_offset).cmp(&(a.store_timestamp, a.commit_log_offset))
        });
        truncated |= found.len() > limit;
        found.truncate(limit);
        Ok((found, truncated))
    }
}
