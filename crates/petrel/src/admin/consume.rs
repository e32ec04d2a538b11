//! Reading messages without consuming them: printMsg and consumeMessage. Both pull with
//! PULL_MESSAGE and commit nothing, so no group's progress changes.

use anyhow::{bail, Result};
use clap::Args;
use petrel_client::admin::PullStatus;
use petrel_client::{MessageExt, MessageQueue};
use petrel_protocol::mix_all::TOOLS_CONSUMER_GROUP;
use serde::Serialize;

use super::output::{json, message_table, now_ms, MessageJson};
use super::{time_arg, Ctx};

/// Messages per pull.
const PULL_BATCH: i32 = 32;

/// One queue's range as read.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueueRange {
    broker_name: String,
    queue_id: i32,
    min_offset: i64,
    max_offset: i64,
}

/// Messages of `mq` in `offsets` matching `expression`, at most `limit`.
async fn read_queue(
    ctx: &Ctx,
    (addr, mq): (&str, &MessageQueue),
    group: &str,
    expression: &str,
    offsets: std::ops::Range<i64>,
    limit: usize,
) -> Result<Vec<MessageExt>> {
    let mut out = Vec::new();
    let (mut offset, to) = (offsets.start, offsets.end);
    while offset < to && out.len() < limit {
        let want = (to - offset).min(i64::from(PULL_BATCH)) as i32;
        let pulled = ctx
            .admin
            .pull(addr, mq, group, expression, offset, want)
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

/// The readable queues of `topic` with their brokers' addresses, in order.
async fn queues_of(ctx: &Ctx, topic: &str) -> Result<Vec<(MessageQueue, String)>> {
    let route = ctx.admin.topic_route(topic).await?;
    let mut out = Vec::new();
    for q in &route.queue_datas {
        if q.perm & 4 == 0 {
            continue;
        }
        let Some(addr) = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == q.broker_name)
            .and_then(petrel_client::admin::topic::select_broker_addr)
        else {
            continue;
        };
        for queue_id in 0..q.read_queue_nums {
            out.push((
                MessageQueue::new(topic, q.broker_name.clone(), queue_id),
                addr.to_string(),
            ));
        }
    }
    out.sort_by(|x, y| (&x.0.broker_name, x.0.queue_id).cmp(&(&y.0.broker_name, y.0.queue_id)));
    Ok(out)
}

/// The offsets of `mq` between `begin_ms` and `end_ms` (queue bounds when absent).
async fn range(
    ctx: &Ctx,
    addr: &str,
    mq: &MessageQueue,
    begin_ms: Option<i64>,
    end_ms: Option<i64>,
) -> Result<(i64, i64)> {
    let min = match begin_ms {
        Some(t) => ctx.admin.search_offset(addr, mq, t).await?,
        None => ctx.admin.min_offset(addr, mq).await?,
    };
    let max = match end_ms {
        Some(t) => ctx.admin.search_offset(addr, mq, t).await?,
        None => ctx.admin.max_offset(addr, mq).await?,
    };
    Ok((min, max))
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
    for (mq, addr) in queues_of(ctx, topic).await? {
        let (min, max) = range(ctx, &addr, &mq, a.begin_timestamp, a.end_timestamp).await?;
        ranges.push(QueueRange {
            broker_name: mq.broker_name.clone(),
            queue_id: mq.queue_id,
            min_offset: min,
            max_offset: max,
        });
        let left = a.limit.saturating_sub(messages.len());
        messages.extend(
            read_queue(
                ctx,
                (&addr, &mq),
                TOOLS_CONSUMER_GROUP,
                &a.sub_expression,
                min..max,
                left,
            )
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
    let mut queues = queues_of(ctx, topic).await?;
    if let Some(b) = &a.broker_name {
        queues.retain(|(mq, _)| mq.broker_name == *b);
        if queues.is_empty() {
            bail!("broker {b} does not serve topic {topic}");
        }
    }
    if let Some(q) = a.queue_id {
        queues.retain(|(mq, _)| mq.queue_id == q);
        if queues.is_empty() {
            bail!("topic {topic} has no readable queue {q} on that broker");
        }
    }
    let limit = a.count as usize;
    let mut ranges = Vec::new();
    let mut messages = Vec::new();
    for (mq, addr) in queues {
        if messages.len() >= limit {
            break;
        }
        let (mut min, max) = range(ctx, &addr, &mq, a.begin_timestamp, a.end_timestamp).await?;
        if let Some(o) = a.offset {
            min = min.max(o);
        }
        ranges.push(QueueRange {
            broker_name: mq.broker_name.clone(),
            queue_id: mq.queue_id,
            min_offset: min,
            max_offset: max,
        });
        let left = limit - messages.len();
        messages
            .extend(read_queue(ctx, (&addr, &mq), &a.consumer_group, "*", min..max, left).await?);
    }
    let note =
        (messages.len() >= limit).then(|| format!("the oldest {limit} messages are shown (-c)"));
    Ok(render(ctx, topic, ranges, &messages, true, note))
}
