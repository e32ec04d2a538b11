//! The tag-code hook: what the dispatcher writes as a record's ConsumeQueue tag code when that
//! code is not the hash of the record's TAGS.
//!
//! A ConsumeQueue entry's third field is normally the hash of the record's TAGS, so that pulls
//! filter by tag without reading records. RocketMQ reuses the field in two internal topics of
//! broker features: in `SCHEDULE_TOPIC_XXXX` (delayed messages) it holds the record's delivery
//! time, and in `rmq_sys_wheel_timer` (timer messages) its `TIMER_OUT_MS`, so the broker's delay
//! and timer services find due messages from the ConsumeQueue alone.
//!
//! Those are broker features, so the store does not decide this itself: the dispatcher asks the
//! [`TagCodeHook`] in [`StoreConfig::tag_code_hook`](crate::StoreConfig::tag_code_hook).
//! [`DeliveryTimeTagCode`], RocketMQ's behaviour, is the default; the broker only hands it its
//! `messageDelayLevel` table.

use std::fmt;

use petrel_protocol::message::{properties, PropertiesIter, RecordView};
use petrel_protocol::topic::{SCHEDULE_TOPIC, TIMER_TOPIC};

/// RocketMQ's default `messageDelayLevel`: 1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h.
pub const DEFAULT_DELAY_LEVELS_MS: [u64; 18] = [
    1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000,
    480_000, 540_000, 600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
];

/// Decides the ConsumeQueue tag code of records whose topic stores something other than the
/// tags hash there.
pub trait TagCodeHook: Send + Sync + fmt::Debug {
    /// The tag code to store for `record` instead of its tags hash, or `None` to keep the hash.
    /// The dispatcher calls it for every record, so it must be cheap for ordinary topics.
    fn tag_code(&self, record: &RecordView<'_>) -> Option<i64>;

    /// Every topic whose records [`Self::tag_code`] may give another code. When a store is
    /// opened without a Petrel checkpoint (written by Apache RocketMQ, which keeps the tags hash
    /// in `rmq_sys_wheel_timer`), the existing ConsumeQueue entries of these topics are
    /// re-derived from their records before anything reads them.
    fn topics(&self) -> &[&str];
}

/// RocketMQ's hook: a delayed record's tag code is its delivery time (store time plus its
/// `DELAY` level's delay), a timer record's is its `TIMER_OUT_MS` (its store time when absent
/// or unreadable); every other record keeps its tags hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryTimeTagCode {
    delay_level_table_ms: Vec<u64>,
}

impl DeliveryTimeTagCode {
    /// `delay_level_table_ms` is `messageDelayLevel` in milliseconds, level 1 first.
    pub fn new(delay_level_table_ms: Vec<u64>) -> Self {
        Self {
            delay_level_table_ms,
        }
    }

    pub fn delay_level_table_ms(&self) -> &[u64] {
        &self.delay_level_table_ms
    }

    /// Store time plus the delay of the record's level. A missing or unreadable level counts as
    /// level 1, and levels beyond the table use the last one, as RocketMQ clamps them.
    fn delivery_time(&self, record: &RecordView<'_>) -> i64 {
        let table = &self.delay_level_table_ms;
        let level = last_property(record, properties::DELAY_TIME_LEVEL)
            .and_then(|l| l.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, table.len().max(1));
        let delay_ms = table.get(level - 1).copied().unwrap_or(0);
        record.store_timestamp().saturating_add(delay_ms as i64)
    }
}

impl Default for DeliveryTimeTagCode {
    fn default() -> Self {
        Self::new(DEFAULT_DELAY_LEVELS_MS.to_vec())
    }
}

/// The topics [`DeliveryTimeTagCode`] decides.
const DELIVERY_TIME_TOPICS: [&str; 2] = [SCHEDULE_TOPIC, TIMER_TOPIC];

impl TagCodeHook for DeliveryTimeTagCode {
    fn topics(&self) -> &[&str] {
        &DELIVERY_TIME_TOPICS
    }

    fn tag_code(&self, record: &RecordView<'_>) -> Option<i64> {
        let topic = record.topic();
        if topic == SCHEDULE_TOPIC {
            Some(self.delivery_time(record))
        } else if topic == TIMER_TOPIC {
            Some(
                last_property(record, properties::TIMER_OUT_MS)
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .unwrap_or_else(|| record.store_timestamp()),
            )
        } else {
            None
        }
    }
}

/// The value of the last occurrence of property `name` (later values win, as in a map built
/// from the properties).
fn last_property<'a>(record: &RecordView<'a>, name: &str) -> Option<&'a str> {
    PropertiesIter::new(record.properties())
        .ok()?
        .filter(|(k, _)| *k == name)
        .last()
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::stored_record;

    const STORED_AT_MS: i64 = 1_700_000_000_000;

    /// A stored record of `topic` with `props`, stored at `STORED_AT_MS`.
    fn record(topic: &str, props: &[(&str, &str)]) -> Vec<u8> {
        stored_record(topic, 0, props, 0, STORED_AT_MS)
    }

    fn code(hook: &dyn TagCodeHook, bytes: &[u8]) -> Option<i64> {
        hook.tag_code(&RecordView::parse(bytes).unwrap())
    }

    #[test]
    fn ordinary_topics_keep_their_tags_hash() {
        let hook = DeliveryTimeTagCode::default();
        let bytes = record(
            "Orders",
            &[(properties::TAGS, "A"), (properties::DELAY_TIME_LEVEL, "3")],
        );
        assert_eq!(code(&hook, &bytes), None);
    }

    #[test]
    fn a_delayed_record_carries_store_time_plus_its_level_delay() {
        let hook = DeliveryTimeTagCode::default();
        let level_3 = record(SCHEDULE_TOPIC, &[(properties::DELAY_TIME_LEVEL, " 3 ")]);
        assert_eq!(code(&hook, &level_3), Some(STORED_AT_MS + 10_000));
        let beyond = record(SCHEDULE_TOPIC, &[(properties::DELAY_TIME_LEVEL, "99")]);
        assert_eq!(code(&hook, &beyond), Some(STORED_AT_MS + 7_200_000));
        let zero = record(SCHEDULE_TOPIC, &[(properties::DELAY_TIME_LEVEL, "0")]);
        assert_eq!(code(&hook, &zero), Some(STORED_AT_MS + 1_000));
        let missing = record(SCHEDULE_TOPIC, &[]);
        assert_eq!(code(&hook, &missing), Some(STORED_AT_MS + 1_000));
    }

    #[test]
    fn the_delay_table_is_the_configured_one() {
        let hook = DeliveryTimeTagCode::new(vec![7, 70]);
        let level_2 = record(SCHEDULE_TOPIC, &[(properties::DELAY_TIME_LEVEL, "2")]);
        assert_eq!(code(&hook, &level_2), Some(STORED_AT_MS + 70));
        let empty = DeliveryTimeTagCode::new(Vec::new());
        assert_eq!(code(&empty, &level_2), Some(STORED_AT_MS));
    }

    #[test]
    fn a_timer_record_carries_its_timer_out_ms_or_else_its_store_time() {
        let hook = DeliveryTimeTagCode::default();
        let timer = record(TIMER_TOPIC, &[(properties::TIMER_OUT_MS, "1700000123456")]);
        assert_eq!(code(&hook, &timer), Some(1_700_000_123_456));
        let unreadable = record(TIMER_TOPIC, &[(properties::TIMER_OUT_MS, "soon")]);
        assert_eq!(code(&hook, &unreadable), Some(STORED_AT_MS));
        let missing = record(TIMER_TOPIC, &[(properties::TAGS, "A")]);
        assert_eq!(code(&hook, &missing), Some(STORED_AT_MS));
    }
}
