//! How `petrel admin` prints: aligned tables with mqadmin's `#Column` headers, message
//! details in mqadmin's `Key:  value` form, JSON documents for `--json`, and the time formats
//! mqadmin reads and writes (UTC here; mqadmin uses the local zone).

use std::collections::BTreeMap;

use petrel_client::MessageExt;
use serde::Serialize;

/// Columns separated by two spaces, each as wide as its widest cell, headers prefixed with
/// `#` as mqadmin prints them.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| format!("#{h}")).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(cell.chars().count());
                }
            }
        }
        let mut out = String::new();
        for line in std::iter::once(&self.headers).chain(&self.rows) {
            let mut text = String::new();
            for (i, cell) in line.iter().enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                let width = widths.get(i).copied().unwrap_or(0);
                for _ in cell.chars().count()..width {
                    text.push(' ');
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `Key:` padded to 20 columns, then the value (mqadmin's `%-20s %s`).
pub fn field(out: &mut String, key: &str, value: impl std::fmt::Display) {
    out.push_str(&format!("{key:<20} {value}\n"));
}

/// One JSON document, pretty-printed.
pub fn json<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|e| {
        // Serializing plain structs and maps cannot fail; say so rather than print nothing.
        format!("{{\"error\":\"cannot serialize the result: {e}\"}}")
    });
    text.push('\n');
    text
}

/// Epoch ms as `yyyy-MM-dd HH:mm:ss,SSS` in UTC (mqadmin's `timeMillisToHumanString2`
/// layout).
pub fn format_time(epoch_ms: i64) -> String {
    let (days, ms_of_day) = (
        epoch_ms.div_euclid(86_400_000),
        epoch_ms.rem_euclid(86_400_000),
    );
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, ms) = (
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000,
    );
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02},{ms:03}")
}

/// Reads mqadmin's timestamp forms: `now`, epoch ms, or `yyyy-MM-dd#HH:mm:ss:SSS` (UTC).
pub fn parse_time(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("now") {
        return Ok(now_ms);
    }
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || {
        format!(
            "{text:?} is not a time: use now, epoch milliseconds or yyyy-MM-dd#HH:mm:ss:SSS (UTC)"
        )
    };
    let (date, time) = text.split_once('#').ok_or_else(bad)?;
    let date: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let time: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let [y, m, d] = <[i64; 3]>::try_from(date).map_err(|_| bad())?;
    let [h, mi, s, ms] = <[i64; 4]>::try_from(time).map_err(|_| bad())?;
    if !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
        || !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0..60).contains(&s)
        || !(0..1000).contains(&ms)
    {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d) * 86_400_000 + ((h * 60 + mi) * 60 + s) * 1000 + ms)
}

/// Howard Hinnant's civil-from-days: (year, month, day) of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The inverse: days since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A body for a terminal: its text if it is UTF-8, else its size.
pub fn body_text(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(s) => s.to_string(),
        Err(_) => format!("<{} bytes, not UTF-8>", body.len()),
    }
}

/// A body on one table line: newlines and tabs escaped.
pub fn body_cell(body: &[u8]) -> String {
    body_text(body)
        .replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t")
}

/// Properties as Java prints a map: `{KEYS=k, TAGS=t}` (sorted by name).
pub fn properties_text(msg: &MessageExt) -> String {
    let sorted: BTreeMap<&str, &str> = msg.properties.iter().collect();
    let inner: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// A message as `--json` prints it.
pub use petrel_client::admin::MessageJson;

/// A message in mqadmin's `queryMsgById` layout.
pub fn message_detail(out: &mut String, m: &MessageExt) {
    field(out, "OffsetID:", &m.offset_msg_id);
    field(out, "MsgId:", m.msg_id());
    field(out, "Topic:", &m.topic);
    field(out, "Tags:", format!("[{}]", m.tags().unwrap_or("")));
    field(
        out,
        "Keys:",
        format!("[{}]", m.keys().collect::<Vec<_>>().join(" ")),
    );
    field(out, "Broker Name:", &m.broker_name);
    field(out, "Queue ID:", m.queue_id);
    field(out, "Queue Offset:", m.queue_offset);
    field(out, "CommitLog Offset:", m.commit_log_offset);
    field(out, "Reconsume Times:", m.reconsume_times);
    field(out, "Born Timestamp:", format_time(m.born_timestamp));
    field(out, "Store Timestamp:", format_time(m.store_timestamp));
    field(out, "Born Host:", m.born_host);
    field(out, "Store Host:", m.store_host);
    field(out, "System Flag:", m.sys_flag);
    field(out, "Properties:", properties_text(m));
    field(out, "Message Body:", body_text(&m.body));
}

/// Messages one per table line (printMsg, consumeMessage, queryMsgByKey with bodies).
pub fn message_table(messages: &[MessageExt], print_body: bool) -> String {
    let mut table = Table::new(&[
        "Msg Id",
        "Broker Name",
        "QID",
        "Offset",
        "Tags",
        "Keys",
        "Store Time (UTC)",
        "Body",
    ]);
    for m in messages {
        table.row(vec![
            m.msg_id().to_string(),
            m.broker_name.clone(),
            m.queue_id.to_string(),
            m.queue_offset.to_string(),
            m.tags().unwrap_or("").to_string(),
            m.keys().collect::<Vec<_>>().join(" "),
            format_time(m.store_timestamp),
            if print_body {
                body_cell(&m.body)
            } else {
                "NOT PRINT BODY".into()
            },
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_under_hash_headers() {
        let mut t = Table::new(&["Topic", "QID"]);
        t.row(vec!["LongTopicName".into(), "0".into()]);
        t.row(vec!["T".into(), "12".into()]);
        assert_eq!(
            t.render(),
            "#Topic         #QID\nLongTopicName  0\nT              12\n"
        );
    }

    #[test]
    fn times_read_and_print_like_mqadmin_in_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00,000");
        assert_eq!(format_time(1_700_000_000_123), "2023-11-14 22:13:20,123");
        assert_eq!(
            parse_time("2023-11-14#22:13:20:123", 0),
            Ok(1_700_000_000_123)
        );
        assert_eq!(parse_time("1700000000000", 0), Ok(1_700_000_000_000));
        assert_eq!(parse_time("now", 42), Ok(42));
        assert_eq!(
            parse_time("2024-02-29#00:00:00:000", 0),
            Ok(1_709_164_800_000)
        );
        for bad in [
            "yesterday",
            "2023-13-01#00:00:00:000",
            "2023-11-14#22:13",
            "2023-11-14",
        ] {
            assert!(parse_time(bad, 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn bodies_stay_on_one_line() {
        assert_eq!(body_cell(b"a\nb\tc"), "a\\nb\\tc");
        assert_eq!(body_cell(&[0xff, 0xfe]), "<2 bytes, not UTF-8>");
    }
}
