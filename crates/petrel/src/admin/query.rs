//! Finding messages: queryMsgById, queryMsgByKey, queryMsgByOffset, queryMsgByUniqueKey.
//! All of them work on `%DLQ%{group}` and `%RETRY%{group}` topics too.

use anyhow::{bail, Result};
use clap::Args;
use petrel_client::admin::PullStatus;
use petrel_client::{MessageExt, MessageQueue};
use petrel_protocol::mix_all::TOOLS_CONSUMER_GROUP;

use super::output::{json, message_detail, MessageJson, Table};
use super::Ctx;

/// `-f`: only UTF-8 is supported (bodies that are not print as their size).
fn parse_charset(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("utf-8") || t.eq_ignore_ascii_case("utf8") {
        Ok("UTF-8".into())
    } else {
        Err(format!("{text:?}: only UTF-8 bodies are supported"))
    }
}

/// Message details (text) or `{"messages":[...]}` (JSON).
fn details(ctx: &Ctx, messages: &[MessageExt]) -> String {
    if ctx.json {
        let list: Vec<MessageJson> = messages.iter().map(Into::into).collect();
        return json(&serde_json::json!({ "messages": list }));
    }
    let mut out = String::new();
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        message_detail(&mut out, m);
    }
    out
}

#[derive(Args)]
pub struct QueryMsgByIdArgs {
    /// The topic the message is in (e.g. %DLQ%group).
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Message ids: offset msgIds or unique keys, comma-separated.
    #[arg(short = 'i', long = "msgId", value_name = "ID[,ID...]")]
    msg_id: String,
    /// Body charset (UTF-8 only; accepted for mqadmin scripts).
    #[arg(short = 'f', long = "bodyFormat", value_parser = parse_charset)]
    body_format: Option<String>,
    /// Accepted for mqadmin scripts; the topic's route finds the brokers.
    #[arg(short = 'c', long = "cluster", value_name = "CLUSTER")]
    cluster: Option<String>,
}

pub async fn query_msg_by_id(ctx: &Ctx, a: QueryMsgByIdArgs) -> Result<String> {
    let (_, _) = (a.body_format, a.cluster);
    let topic = a.topic.trim();
    let mut found = Vec::new();
    for id in a.msg_id.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        found.push(ctx.admin.query_message_by_id(topic, id).await?);
    }
    if found.is_empty() {
        bail!("no message id given");
    }
    Ok(details(ctx, &found))
}

#[derive(Args)]
pub struct QueryMsgByKeyArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Message key (KEYS).
    #[arg(short = 'k', long = "msgKey")]
    msg_key: String,
    /// Stored at or after (epoch ms).
    #[arg(short = 'b', long = "beginTimestamp", default_value_t = 0)]
    begin_timestamp: i64,
    /// Stored at or before (epoch ms).
    #[arg(short = 'e', long = "endTimestamp", default_value_t = i64::MAX)]
    end_timestamp: i64,
    /// At most this many messages (1 to 64).
    #[arg(short = 'm', long = "maxNum", default_value_t = 64,
          value_parser = clap::value_parser!(i32).range(1..=64))]
    max_num: i32,
    /// Accepted for mqadmin scripts; the topic's route finds the brokers.
    #[arg(short = 'c', long = "cluster", value_name = "CLUSTER")]
    cluster: Option<String>,
}

pub async fn query_msg_by_key(ctx: &Ctx, a: QueryMsgByKeyArgs) -> Result<String> {
    let _ = a.cluster;
    let found = ctx
        .admin
        .query_message(
            a.topic.trim(),
            a.msg_key.trim(),
            a.max_num,
            a.begin_timestamp,
            a.end_timestamp,
            false,
        )
        .await?;
    if ctx.json {
        return Ok(details(ctx, &found));
    }
    let mut table = Table::new(&["Message ID", "Broker Name", "QID", "Offset"]);
    for m in &found {
        table.row(vec![
            m.msg_id().to_string(),
            m.broker_name.clone(),
            m.queue_id.to_string(),
            m.queue_offset.to_string(),
        ]);
    }
    Ok(table.render())
}

#[derive(Args)]
pub struct QueryMsgByOffsetArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Broker name (e.g. broker-a).
    #[arg(short = 'b', long = "brokerName")]
    broker_name: String,
    /// Queue id.
    #[arg(short = 'i', long = "queueId")]
    queue_id: i32,
    /// Queue offset.
    #[arg(short = 'o', long = "offset")]
    offset: i64,
    /// Body charset (UTF-8 only; accepted for mqadmin scripts).
    #[arg(short = 'f', long = "bodyFormat", value_parser = parse_charset)]
    body_format: Option<String>,
}

pub async fn query_msg_by_offset(ctx: &Ctx, a: QueryMsgByOffsetArgs) -> Result<String> {
    let _ = a.body_format;
    let mq = MessageQueue::new(a.topic.trim(), a.broker_name.trim(), a.queue_id);
    let addr = ctx.admin.queue_addr(&mq).await?;
    let outcome = ctx
        .admin
        .pull(&addr, &mq, TOOLS_CONSUMER_GROUP, "*", a.offset, 1)
        .await?;
    match outcome.messages.into_iter().next() {
        Some(m) if outcome.status == PullStatus::Found => Ok(details(ctx, &[m])),
        _ => bail!(
            "message not found: no message at offset {} of {}:{}:{} (the queue holds offsets {} \
             to {})",
            a.offset,
            mq.topic,
            mq.broker_name,
            mq.queue_id,
            outcome.min_offset,
            outcome.max_offset - 1
        ),
    }
}

#[derive(Args)]
pub struct QueryMsgByUniqueKeyArgs {
    /// The unique key (the msgId clients report).
    #[arg(short = 'i', long = "msgId")]
    msg_id: String,
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Print every match (at most 32), not only the oldest.
    #[arg(short = 'a', long = "showAll")]
    show_all: bool,
    /// Accepted for mqadmin scripts; the topic's route finds the brokers.
    #[arg(short = 'c', long = "cluster", value_name = "CLUSTER")]
    cluster: Option<String>,
}

pub async fn query_msg_by_unique_key(ctx: &Ctx, a: QueryMsgByUniqueKeyArgs) -> Result<String> {
    let _ = a.cluster;
    let mut found = ctx
        .admin
        .query_message(a.topic.trim(), a.msg_id.trim(), 32, 0, i64::MAX, true)
        .await?;
    if !a.show_all {
        found.truncate(1);
    }
    Ok(details(ctx, &found))
}
