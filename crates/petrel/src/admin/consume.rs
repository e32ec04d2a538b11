//! Reading messages without consuming them: printMsg and consumeMessage. Both pull with
//! PULL_MESSAGE and commit nothing, so no group's progress changes.

use anyhow::{bail, Result};
use clap::Args;
use petrel_client::MessageExt;
use petrel_protocol::mix_all::TOOLS_CONSUMER_GROUP;
use serde::Serialize;

use super::output::{json, message_table, now_ms, MessageJson};
use super::{time_arg, Ctx};

/// One queue's range as read.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueueRange {
    broker_name: String,
    queue_id: i32,
    min_offset: i64,
    max_offset: i64,
}

fn render(
    ctx: &Ctx,
    topic: &str,
    ranges: Vec<QueueRange>,
    messages: &[MessageExt],
    print_body: bool,
    note: Option<String>,
) -> String {
    if ctx.json {
        let list: Vec<MessageJson> = messages.iter().map(Into::into).collect();
        return json(&serde_json::json!({
            "topic": topic,
            "queues": ranges,
            "messages": list,
            "truncated": note.is_some(),
        }));
    }
    let mut text = String::new();
    for r in &ranges {
        text.push_str(&format!(
            "minOffset={}, maxOffset={}, MessageQueue [topic={topic}, brokerName={}, queueId={}]\n",
            r.min_offset, r.max_offset, r.broker_name, r.queue_id
        ));
    }
    text.push('\n');
    text.push_str(&message_table(messages, print_body));
    if let Some(note) = note {
        text.push_str(&format!("\n{note}\n"));
    }
    text
}

/// `-c`/`--charsetName`: only UTF-8.
fn parse_charset(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("utf-8") || t.eq_ignore_ascii_case("utf8") {
        Ok("UTF-8".into())
    } else {
        Err(format!("{text:?}: only UTF-8 bodies are supported"))
    }
}

#[derive(Args)]
pub struct PrintMsgArgs {
    /// Topic name (e.g. %DLQ%group to inspect a dead-letter queue).
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Body charset (UTF-8 only).
    #[arg(short = 'c', long = "charsetName", value_parser = parse_charset)]
    charset_name: Option<String>,
    /// Tag expression, e.g. "TagA || TagB".
    #[arg(short = 's', long = "subExpression", default_value = "*")]
    sub_expression: String,
    /// Stored at or after: now, epoch ms or yyyy-MM-dd#HH:mm:ss:SSS (UTC).
    #[arg(short = 'b', long = "beginTimestamp", value_parser = time_arg)]
    begin_timestamp: Option<i64>,
    /// Stored before: now, epoch ms or yyyy-MM-dd#HH:mm:ss:SSS (UTC).
    #[arg(short = 'e', long = "endTimestamp", value_parser = time_arg)]
    end_timestamp: Option<i64>,
    /// Print bodies.
    #[arg(short = 'd', long = "printBody", default_value_t = true, action = clap::ArgAction::Set, value_name = "true|false")]
    print_body: bool,
    /// Stop after this many messages.
    #[arg(long = "limit", default_value_t = 10_000)]
    limit: usize,
}

pub async fn print_msg(ctx: &Ctx, a: PrintMsgArgs) -> Result<String> {
    let _ = a.charset_name;
    let topic = a.topic.trim();
    let mut ranges = Vec::new();
    let mut messages = Vec::new();
    for q in ctx.admin.readable_queues(topic).await? {
        let offsets = ctx
            .admin
            .offsets_between(&q, a.begin_timestamp, a.end_timestamp)
            .await?;
        ranges.push(QueueRange {
            broker_name: q.queue.broker_name.clone(),
            queue_id: q.queue.queue_id,
            min_offset: offsets.start,
            max_offset: offsets.end,
        });
        let left = a.limit.saturating_sub(messages.len());
        messages.extend(
            ctx.admin
                .read_queue(&q, TOOLS_CONSUMER_GROUP, &a.sub_expression, offsets, left)
                .await?,
        );
    }
    let note = (messages.len() >= a.limit)
        .then(|| format!("stopped after {} messages (--limit)", a.limit));
    Ok(render(ctx, topic, ranges, &messages, a.print_body, note))
}

#[derive(Args)]
pub struct ConsumeMessageArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Only this broker's queues.
    #[arg(short = 'b', long = "brokerName")]
    broker_name: Option<String>,
    /// Only this queue (needs -b).
    #[arg(short = 'i', long = "queueId", requires = "broker_name")]
    queue_id: Option<i32>,
    /// Start at this queue offset (needs -i).
    #[arg(short = 'o', long = "offset", requires = "queue_id")]
    offset: Option<i64>,
    /// The group to pull as (nothing is committed).
    #[arg(short = 'g', long = "consumerGroup", default_value = TOOLS_CONSUMER_GROUP)]
    consumer_group: String,
    /// Stored at or after: now, epoch ms or yyyy-MM-dd#HH:mm:ss:SSS (UTC).
    #[arg(short = 's', long = "beginTimestamp", value_parser = time_arg)]
    begin_timestamp: Option<i64>,
    /// Stored before: now, epoch ms or yyyy-MM-dd#HH:mm:ss:SSS (UTC).
    #[arg(short = 'e', long = "endTimestamp", value_parser = time_arg)]
    end_timestamp: Option<i64>,
    /// How many messages at most.
    #[arg(short = 'c', long = "MessageNumber", default_value_t = 128,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    count: u64,
}

pub async fn consume_message(ctx: &Ctx, a: ConsumeMessageArgs) -> Result<String> {
    let now = now_ms();
    if a.begin_timestamp.is_some_and(|b| b > now) {
        bail!("the begin timestamp is in the future");
    }
    if let Some(e) = a.end_timestamp {
        if e > now {
            bail!("the end timestamp is in the future");
        }
        if a.begin_timestamp.is_some_and(|b| b > e) {
            bail!("the begin timestamp is after the end timestamp");
        }
    }
    let topic = a.topic.trim();
    let mut queues = ctx.admin.readable_queues(topic).await?;
    if let Some(b) = &a.broker_name {
        queues.retain(|q| q.queue.broker_name == *b);
        if queues.is_empty() {
            bail!("broker {b} does not serve topic {topic}");
        }
    }
    if let Some(q) = a.queue_id {
        queues.retain(|at| at.queue.queue_id == q);
        if queues.is_empty() {
            bail!("topic {topic} has no readable queue {q} on that broker");
        }
    }
    let limit = a.count as usize;
    let mut ranges = Vec::new();
    let mut messages = Vec::new();
    for q in queues {
        if messages.len() >= limit {
            break;
        }
        let mut offsets = ctx
            .admin
            .offsets_between(&q, a.begin_timestamp, a.end_timestamp)
            .await?;
        if let Some(o) = a.offset {
            offsets.start = offsets.start.max(o);
        }
        ranges.push(QueueRange {
            broker_name: q.queue.broker_name.clone(),
            queue_id: q.queue.queue_id,
            min_offset: offsets.start,
            max_offset: offsets.end,
        });
        let left = limit - messages.len();
        messages.extend(
            ctx.admin
                .read_queue(&q, &a.consumer_group, "*", offsets, left)
                .await?,
        );
    }
    let note =
        (messages.len() >= limit).then(|| format!("the oldest {limit} messages are shown (-c)"));
    Ok(render(ctx, topic, ranges, &messages, true, note))
}
