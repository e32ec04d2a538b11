//! Sending: sendMessage, and resendMsgById, which puts messages from a dead-letter queue (or
//! any topic) back into their original topic.

use anyhow::{bail, Result};
use clap::{ArgGroup, Args};
use petrel_client::admin::{message_for_resend, AdminError};
use petrel_client::{Message, MessageQueue, Producer, ProducerConfig, SendResult, SendStatus};
use petrel_protocol::topic::dlq_topic;
use serde::Serialize;

use super::output::{json, Table};
use super::Ctx;

/// The producer group admin sends use.
const ADMIN_PRODUCER_GROUP: &str = "PETREL_ADMIN_PRODUCER";

/// Java's `SendStatus` constant names.
fn status_text(status: SendStatus) -> &'static str {
    match status {
        SendStatus::SendOk => "SEND_OK",
        SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
        SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
        SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
    }
}

async fn producer(ctx: &Ctx) -> Result<Producer> {
    Ok(Producer::start_on(
        ctx.admin.instance().clone(),
        ProducerConfig::new(ADMIN_PRODUCER_GROUP),
    )
    .await?)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sent {
    broker_name: String,
    queue_id: i32,
    queue_offset: i64,
    send_status: &'static str,
    msg_id: String,
    offset_msg_id: String,
}

impl From<&SendResult> for Sent {
    fn from(r: &SendResult) -> Self {
        Sent {
            broker_name: r.message_queue.broker_name.clone(),
            queue_id: r.message_queue.queue_id,
            queue_offset: r.queue_offset,
            send_status: status_text(r.status),
            msg_id: r.msg_id.clone(),
            offset_msg_id: r.offset_msg_id.clone(),
        }
    }
}

#[derive(Args)]
pub struct SendMessageArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// The body (UTF-8 text).
    #[arg(short = 'p', long = "body")]
    body: String,
    /// Message keys, space-separated.
    #[arg(short = 'k', long = "key")]
    key: Option<String>,
    /// Message tag.
    #[arg(short = 'c', long = "tags")]
    tags: Option<String>,
    /// Send to this broker (with -i).
    #[arg(short = 'b', long = "broker")]
    broker: Option<String>,
    /// Send to this queue (needs -b).
    #[arg(short = 'i', long = "qid", requires = "broker")]
    qid: Option<i32>,
    /// Accepted for mqadmin scripts; message traces are not written.
    #[arg(short = 'm', long = "msgTraceEnable", value_name = "true|false")]
    msg_trace_enable: Option<bool>,
}

pub async fn send_message(ctx: &Ctx, a: SendMessageArgs) -> Result<String> {
    let _ = a.msg_trace_enable;
    let topic = a.topic.trim();
    // Surfaces an unreachable name server as such; a topic that does not exist yet is fine
    // (brokers with autoCreateTopicEnable create it on the first send, as with mqadmin).
    match ctx.admin.topic_route(topic).await {
        Ok(_) | Err(AdminError::TopicNotExist(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let mut msg = Message::new(topic, a.body.into_bytes());
    if let Some(tags) = a.tags.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        msg = msg.with_tags(tags);
    }
    if let Some(keys) = &a.key {
        msg = msg.with_keys(keys.split_whitespace());
    }
    let producer = producer(ctx).await?;
    let result = match (&a.broker, a.qid) {
        (Some(broker), Some(qid)) => {
            let mq = MessageQueue::new(topic, broker.trim(), qid);
            producer.send_to_queue(msg, &mq).await
        }
        _ => producer.send(msg).await,
    };
    producer.shutdown().await;
    let sent = Sent::from(&result?);
    if ctx.json {
        return Ok(json(&sent));
    }
    let mut table = Table::new(&["Broker Name", "QID", "Send Result", "MsgId", "Queue Offset"]);
    table.row(vec![
        sent.broker_name,
        sent.queue_id.to_string(),
        sent.send_status.to_string(),
        sent.msg_id,
        sent.queue_offset.to_string(),
    ]);
    Ok(table.render())
}

#[derive(Args)]
#[command(group(ArgGroup::new("source").required(true).args(["group", "topic"])))]
pub struct ResendMsgByIdArgs {
    /// Message ids (offset msgIds or unique keys), comma-separated.
    #[arg(short = 'i', long = "msgId", value_name = "ID[,ID...]")]
    msg_id: String,
    /// Take the messages from this consumer group's DLQ (%DLQ%GROUP).
    #[arg(short = 'g', long = "consumerGroup")]
    group: Option<String>,
    /// Take the messages from this topic (a DLQ, a retry topic, or any topic).
    #[arg(short = 't', long = "topic")]
    topic: Option<String>,
    /// Send to this topic instead of each message's original topic.
    #[arg(long = "to", value_name = "TOPIC")]
    to: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Resent {
    from_topic: String,
    to_topic: String,
    #[serde(flatten)]
    sent: Sent,
}

pub async fn resend_msg_by_id(ctx: &Ctx, a: ResendMsgByIdArgs) -> Result<String> {
    let source = match (&a.topic, &a.group) {
        (Some(t), _) => t.trim().to_string(),
        (None, Some(g)) => dlq_topic(g.trim()),
        (None, None) => bail!("give -g or -t"),
    };
    let ids: Vec<&str> = a
        .msg_id
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() {
        bail!("no message id given");
    }
    // Find every message first, so that a typo in the third id sends nothing.
    let mut messages = Vec::new();
    for id in &ids {
        let found = ctx.admin.query_message_by_id(&source, id).await?;
        let resend = message_for_resend(&found, a.to.as_deref().map(str::trim))?;
        messages.push(resend);
    }
    let producer = producer(ctx).await?;
    let mut resent = Vec::new();
    let mut failure = None;
    for msg in messages {
        let to_topic = msg.topic.clone();
        match producer.send(msg).await {
            Ok(r) => resent.push(Resent {
                from_topic: source.clone(),
                to_topic,
                sent: Sent::from(&r),
            }),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    producer.shutdown().await;
    if let Some(e) = failure {
        let done: Vec<&str> = resent.iter().map(|r| r.sent.msg_id.as_str()).collect();
        bail!(
            "{e} (resent before the failure: {})",
            if done.is_empty() {
                "none".to_string()
            } else {
                done.join(",")
            }
        );
    }
    if ctx.json {
        return Ok(json(&serde_json::json!({ "resent": resent })));
    }
    let mut table = Table::new(&[
        "MsgId",
        "From Topic",
        "To Topic",
        "Broker Name",
        "QID",
        "Queue Offset",
        "Send Result",
    ]);
    for r in resent {
        table.row(vec![
            r.sent.msg_id,
            r.from_topic,
            r.to_topic,
            r.sent.broker_name,
            r.sent.queue_id.to_string(),
            r.sent.queue_offset.to_string(),
            r.sent.send_status.to_string(),
        ]);
    }
    Ok(table.render())
}
