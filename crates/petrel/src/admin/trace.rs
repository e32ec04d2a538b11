//! `queryMsgTraceById`: a message's trace as clients with trace on recorded it in the trace
//! topic (mqadmin's command: its flags, its Pub and Sub tables), followed by the records as
//! one timeline: sent and stored (Pub), delivered to each consumer group (SubBefore, with the
//! retry count), consumed or failed (SubAfter).

use anyhow::Result;
use clap::Args;
use petrel_client::admin::TraceEvent;
use petrel_protocol::topic::TRACE_TOPIC;
use petrel_protocol::trace::TraceType;

use super::output::{format_time, json};
use super::Ctx;

#[derive(Args)]
pub struct QueryMsgTraceByIdArgs {
    /// The traced message's id (its client msgId).
    #[arg(short = 'i', long = "msgId")]
    msg_id: String,
    /// The trace topic.
    #[arg(short = 't', long = "traceTopic", default_value = TRACE_TOPIC)]
    trace_topic: String,
    /// Trace messages stored at or after (epoch ms).
    #[arg(short = 'b', long = "beginTimestamp", default_value_t = 0)]
    begin_timestamp: i64,
    /// Trace messages stored at or before (epoch ms).
    #[arg(short = 'e', long = "endTimestamp", default_value_t = i64::MAX)]
    end_timestamp: i64,
    /// At most this many trace messages (mqadmin: `-num`).
    #[arg(long = "maxNum", alias = "num", default_value_t = 64,
          value_parser = clap::value_parser!(i32).range(1..=64))]
    max_num: i32,
}

fn status(success: bool) -> &'static str {
    if success {
        "success"
    } else {
        "failed"
    }
}

fn row(out: &mut String, cells: [&str; 6]) {
    out.push_str(&format!(
        "{:<10} {:<20} {:<20} {:<23} {:<10} {:<10}\n",
        cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]
    ));
}

/// What happened, in order, in words.
fn timeline(lines: &[TraceEvent]) -> String {
    let mut sorted: Vec<&TraceEvent> = lines.iter().collect();
    sorted.sort_by_key(|l| l.timestamp);
    let mut out = String::from("Timeline (UTC):\n");
    for l in sorted {
        let what = match l.kind {
            "Pub" => format!(
                "sent by producer group {} from {} to topic {}, stored on {} ({} ms, {})",
                l.group_name,
                l.client_host,
                l.topic,
                l.store_host,
                l.cost_time_ms,
                status(l.success)
            ),
            "SubBefore" if l.retry_times > 0 => format!(
                "delivered to consumer group {} at {} (retry {})",
                l.group_name, l.client_host, l.retry_times
            ),
            "SubBefore" => format!(
                "delivered to consumer group {} at {}",
                l.group_name, l.client_host
            ),
            "SubAfter" if l.success => format!(
                "consumed by consumer group {} at {} in {} ms",
                l.group_name, l.client_host, l.cost_time_ms
            ),
            "SubAfter" => format!(
                "consumption failed in consumer group {} at {} after {} ms (it will be retried)",
                l.group_name, l.client_host, l.cost_time_ms
            ),
            other => format!("{other} by {} ({})", l.group_name, status(l.success)),
        };
        out.push_str(&format!("  {}  {what}\n", format_time(l.timestamp)));
    }
    out
}

pub async fn query_msg_trace_by_id(ctx: &Ctx, a: QueryMsgTraceByIdArgs) -> Result<String> {
    let msg_id = a.msg_id.trim();
    let lines = ctx
        .admin
        .message_trace(
            msg_id,
            a.trace_topic.trim(),
            a.begin_timestamp,
            a.end_timestamp,
            a.max_num,
        )
        .await?;
    if ctx.json {
        return Ok(json(
            &serde_json::json!({ "msgId": msg_id, "traces": lines }),
        ));
    }
    let mut out = String::new();
    let header = [
        "#Type",
        "#ProducerGroup",
        "#ClientHost",
        "#SendTime",
        "#CostTimes",
        "#Status",
    ];
    for l in lines.iter().filter(|l| l.kind == TraceType::Pub.as_str()) {
        row(&mut out, header);
        let (time, cost) = (format_time(l.timestamp), format!("{}ms", l.cost_time_ms));
        row(
            &mut out,
            [
                "Pub",
                &l.group_name,
                &l.client_host,
                &time,
                &cost,
                status(l.success),
            ],
        );
        out.push('\n');
    }
    let mut groups: Vec<&str> = lines
        .iter()
        .filter(|l| l.kind == TraceType::SubAfter.as_str())
        .map(|l| l.group_name.as_str())
        .collect();
    groups.sort();
    groups.dedup();
    for group in groups {
        row(
            &mut out,
            [
                "#Type",
                "#ConsumerGroup",
                "#ClientHost",
                "#ConsumerTime",
                "#CostTimes",
                "#Status",
            ],
        );
        for l in lines
            .iter()
            .filter(|l| l.kind == TraceType::SubAfter.as_str() && l.group_name == group)
        {
            let (time, cost) = (format_time(l.timestamp), format!("{}ms", l.cost_time_ms));
            row(
                &mut out,
                [
                    "Sub",
                    &l.group_name,
                    &l.client_host,
                    &time,
                    &cost,
                    status(l.success),
                ],
            );
        }
        out.push('\n');
    }
    if lines.is_empty() {
        out.push_str(&format!(
            "no trace records for {msg_id} in {} (is trace on in its clients?)\n",
            a.trace_topic
        ));
    } else {
        out.push_str(&timeline(&lines));
    }
    Ok(out)
}
