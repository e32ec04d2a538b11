//! Concurrent consumption (RocketMQ's `ConsumeMessageConcurrentlyService`).
//!
//! Pulled messages are cut into batches of `consume_message_batch_max_size`; each batch runs
//! the listener on a blocking thread, at most `consume_thread_max` at once. A batch the
//! listener answers `ReconsumeLater` for (or panics on, or spends more than `consume_timeout`
//! on) is handed back to the broker it came from with `CONSUMER_SEND_MSG_BACK`, which stores it
//! in the group's retry topic `%RETRY%{group}` with a delay (or, after `max_reconsume_times`, in
//! the dead-letter topic `%DLQ%{group}`). If the broker refuses, the message is sent to the
//! retry topic by the consumer's own producer, as Java does; if that fails too, it is consumed
//! again here 5 s later. Only then does it leave the process queue, so the committed offset
//! never passes a message that is neither consumed nor safely handed back.
//!
//! Broadcasting consumers have no retry topic: failed messages are dropped with a warning
//! (Java's behaviour).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use petrel_protocol::message::properties as prop;
use petrel_protocol::mix_all::FIRST_RETRY_DELAY_LEVEL;
use petrel_protocol::remoting::header::{ConsumerSendMsgBackRequestHeader, RpcFields};
use petrel_protocol::topic::retry_topic;

use super::process_queue::ProcessQueue;
use super::ConsumerInner;
use crate::broker_api::group;
use crate::consumer::{ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, MessageListener};
use crate::error::Result;
use crate::message::{now_ms, Message, MessageExt, MessageQueue};

/// Messages whose send-back failed are consumed again after this
/// (`submitConsumeRequestLater`).
const CONSUME_AGAIN_DELAY: Duration = Duration::from_secs(5);
/// Timeout of a send-back request (Java's 5 s).
const SEND_BACK_TIMEOUT: Duration = Duration::from_secs(5);

impl ConsumerInner {
    /// Hands pulled messages (already in `pq`) to the listener in batches.
    pub(super) fn submit_concurrently(
        self: &Arc<Self>,
        mq: &MessageQueue,
        pq: &Arc<ProcessQueue>,
        msgs: Vec<MessageExt>,
    ) {
        let batch = self.config.consume_message_batch_max_size.max(1);
        for chunk in msgs.chunks(batch) {
            tokio::spawn(Arc::clone(self).consume_batch(
                mq.clone(),
                Arc::clone(pq),
                chunk.to_vec(),
            ));
        }
    }

    async fn consume_batch(
        self: Arc<Self>,
        mq: MessageQueue,
        pq: Arc<ProcessQueue>,
        msgs: Vec<MessageExt>,
    ) {
        let MessageListener::Concurrently(listener) = &self.listener else {
            return;
        };
        let _in_flight = self.in_flight();
        if pq.is_dropped() || self.core.is_shutting_down() {
            return;
        }
        let permit = tokio::select! {
            p = Arc::clone(&self.consume_permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = self.core.shutdown_signal() => return,
        };
        // Not started at shutdown: the messages stay unconsumed and uncommitted.
        if pq.is_dropped() || self.core.is_shutting_down() {
            return;
        }
        let mut view = msgs;
        self.reset_retry_topic(&mut view);
        let start = now_ms().to_string();
        for m in &mut view {
            m.properties
                .insert(prop::CONSUME_START_TIMESTAMP, start.clone());
        }
        let view = Arc::new(view);
        let ctx = ConsumeConcurrentlyContext {
            message_queue: mq.clone(),
            delay_level_when_next_consume: 0,
            ack_index: i32::MAX,
        };
        let started = Instant::now();
        let trace_request = self.trace_before(&view);
        let call = {
            let (listener, view, mut ctx) = (Arc::clone(listener), Arc::clone(&view), ctx.clone());
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let status = listener.consume_message(&view, &mut ctx);
                (status, ctx)
            })
        };
        let (status, ctx) = match tokio::time::timeout(self.config.consume_timeout, call).await {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => {
                tracing::warn!(group = %self.config.group, ?mq, error = %e, "the listener panicked; the messages will be retried");
                (ConsumeConcurrentlyStatus::ReconsumeLater, ctx)
            }
            Err(_) => {
                tracing::warn!(group = %self.config.group, ?mq, timeout = ?self.config.consume_timeout, "the listener timed out; the messages will be retried");
                (ConsumeConcurrentlyStatus::ReconsumeLater, ctx)
            }
        };
        self.trace_after(
            trace_request,
            &view,
            started.elapsed().as_millis() as i64,
            status == ConsumeConcurrentlyStatus::ConsumeSuccess,
        );
        self.stats
            .consume_rt_ms
            .fetch_add(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.stats.consume_calls.fetch_add(1, Ordering::Relaxed);
        if pq.is_dropped() {
            tracing::debug!(group = %self.config.group, ?mq, "queue dropped while consuming; result not committed");
            return;
        }
        self.process_consume_result(status, &ctx, &mq, &pq, &view)
            .await;
    }

    /// Java's `processConsumeResult`: retries for the failed part of the batch, then the
    /// batch leaves the process queue and the queue's offset moves on.
    async fn process_consume_result(
        self: &Arc<Self>,
        status: ConsumeConcurrentlyStatus,
        ctx: &ConsumeConcurrentlyContext,
        mq: &MessageQueue,
        pq: &Arc<ProcessQueue>,
        msgs: &[MessageExt],
    ) {
        if msgs.is_empty() {
            return;
        }
        let ack_index = match status {
            ConsumeConcurrentlyStatus::ConsumeSuccess => {
                (i64::from(ctx.ack_index)).min(msgs.len() as i64 - 1)
            }
            ConsumeConcurrentlyStatus::ReconsumeLater => -1,
        };
        let ok = (ack_index + 1) as usize;
        self.stats
            .consume_ok
            .fetch_add(ok as u64, Ordering::Relaxed);
        self.stats
            .consume_failed
            .fetch_add((msgs.len() - ok) as u64, Ordering::Relaxed);
        let failed = &msgs[ok..];
        let mut back_failed: Vec<MessageExt> = Vec::new();
        if self.core.is_clustering() {
            for m in failed {
                if !pq.contains(m.queue_offset) {
                    continue; // cleared meanwhile (offset reset)
                }
                if !self
                    .send_message_back(m, ctx.delay_level_when_next_consume)
                    .await
                {
                    let mut again = m.clone();
                    again.reconsume_times += 1;
                    back_failed.push(again);
                }
            }
        } else {
            for m in failed {
                tracing::warn!(group = %self.config.group, msg_id = %m.msg_id(), topic = %m.topic, "broadcasting: the message failed and is dropped");
            }
        }
        let offsets = msgs
            .iter()
            .map(|m| m.queue_offset)
            .filter(|o| !back_failed.iter().any(|b| b.queue_offset == *o));
        if let Some(offset) = pq.remove(offsets) {
            if !pq.is_dropped() {
                self.core.offset_store.update(mq, offset, true);
            }
        }
        if !back_failed.is_empty() {
            self.consume_later(mq, pq, back_failed);
        }
    }

    /// Consumes `msgs` (still in `pq`) again after [`CONSUME_AGAIN_DELAY`].
    fn consume_later(
        self: &Arc<Self>,
        mq: &MessageQueue,
        pq: &Arc<ProcessQueue>,
        msgs: Vec<MessageExt>,
    ) {
        let me = Arc::clone(self);
        let (mq, pq) = (mq.clone(), Arc::clone(pq));
        tokio::spawn(async move {
            me.pause(&pq, CONSUME_AGAIN_DELAY).await;
            me.consume_batch(mq, pq, msgs).await;
        });
    }

    /// Hands a failed message back for a retry: `CONSUMER_SEND_MSG_BACK` to the broker it
    /// came from, else a send to the retry topic. False if both failed.
    pub(super) async fn send_message_back(&self, msg: &MessageExt, delay_level: i32) -> bool {
        let max = self.config.max_reconsume_times_concurrently();
        match self.send_back_to_broker(msg, delay_level, max).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(group = %self.config.group, msg_id = %msg.msg_id(), error = %e, "send-back refused; sending to the retry topic instead");
                match self
                    .resend_to_retry_topic(msg, max, msg.reconsume_times + 1)
                    .await
                {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(group = %self.config.group, msg_id = %msg.msg_id(), error = %e, "retry send failed too; consuming the message again later");
                        false
                    }
                }
            }
        }
    }

    /// `CONSUMER_SEND_MSG_BACK`: the broker re-stores the message (found by its CommitLog
    /// offset) in the retry topic with `delay_level` (0: the broker's choice, 3 + reconsume
    /// times), or in the DLQ when its reconsume times reached `max_reconsume_times` or
    /// `delay_level` is negative.
    pub(super) async fn send_back_to_broker(
        &self,
        msg: &MessageExt,
        delay_level: i32,
        max_reconsume_times: i32,
    ) -> Result<()> {
        let mq = MessageQueue::new(msg.topic.clone(), msg.broker_name.clone(), msg.queue_id);
        let addr = self.broker_addr(&mq).await?;
        let header = ConsumerSendMsgBackRequestHeader {
            offset: msg.commit_log_offset,
            group: self.config.group.clone(),
            delay_level,
            origin_msg_id: Some(msg.msg_id().to_string()),
            origin_topic: Some(msg.topic.clone()),
            unit_mode: false,
            max_reconsume_times: Some(max_reconsume_times),
            rpc: RpcFields {
                broker_name: Some(msg.broker_name.clone()),
                ..Default::default()
            },
        };
        group::consumer_send_msg_back(&self.core.instance, &addr, &header, SEND_BACK_TIMEOUT).await
    }

    /// Java's fallback: the message is sent to `%RETRY%{group}` by the consumer's producer,
    /// carrying its original topic, id and the reconsume count; the broker routes it to the
    /// DLQ itself when `reconsume_times` reached `max_reconsume_times`.
    pub(super) async fn resend_to_retry_topic(
        &self,
        msg: &MessageExt,
        max_reconsume_times: i32,
        reconsume_times: i32,
    ) -> Result<()> {
        let Some(producer) = self.inner_producer().await else {
            return Err(crate::error::ClientError::State(
                "the consumer's retry producer is not available".into(),
            ));
        };
        let mut properties = msg.properties.clone();
        if properties
            .get(prop::ORIGIN_MESSAGE_ID)
            .is_none_or(str::is_empty)
        {
            properties.insert(prop::ORIGIN_MESSAGE_ID, msg.msg_id().to_string());
        }
        properties.insert(prop::RETRY_TOPIC, msg.topic.clone());
        properties.insert(prop::RECONSUME_TIME, reconsume_times.to_string());
        properties.insert(prop::MAX_RECONSUME_TIMES, max_reconsume_times.to_string());
        properties.insert(
            prop::DELAY_TIME_LEVEL,
            (FIRST_RETRY_DELAY_LEVEL + msg.reconsume_times).to_string(),
        );
        for transient in [
            prop::TRANSACTION_PREPARED,
            prop::MIN_OFFSET,
            prop::MAX_OFFSET,
            prop::CONSUME_START_TIMESTAMP,
        ] {
            properties.remove(transient);
        }
        let retry = Message {
            topic: retry_topic(&self.config.group),
            body: msg.body.clone(),
            flag: msg.flag,
            properties,
        };
        producer.send(retry).await.map(|_| ())
    }
}
