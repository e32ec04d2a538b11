//! Where a message is stored, decided without the broker: no I/O, no locks, the time passed in.
//!
//! A send names a topic and queue, but what its header and properties ask for may hold it
//! elsewhere first. [`destination`] decides, in this order (RocketMQ's order):
//!
//! 1. **Dead letter.** A send to a group's `%RETRY%` topic whose `reconsumeTimes` reached the
//!    group's limit goes to `%DLQ%{group}` instead ([`dead_letter`], the one rule that
//!    CONSUMER_SEND_MSG_BACK applies too).
//! 2. **Half message** (`TRAN_MSG=true` or the prepared sys flag): held in
//!    `RMQ_SYS_TRANS_HALF_TOPIC` until END_TRANSACTION; its delay or timer waits for the commit.
//! 3. **Timer** (`TIMER_DELIVER_MS`, `TIMER_DELAY_SEC` or `TIMER_DELAY_MS` in the future): held
//!    in `rmq_sys_wheel_timer` with its due time in `TIMER_OUT_MS`.
//! 4. **Delay level** (`DELAY` > 0): held in `SCHEDULE_TOPIC_XXXX`, queue `level - 1`.
//!
//! A held message carries its real destination in `REAL_TOPIC`/`REAL_QID`. The decision is a
//! [`Destination`]: the topic, queue and sys flag to store with, and the property edits to make,
//! which the send path applies with one decode and one encode of the properties (none at all
//! when there are no edits, the common case).

use petrel_protocol::message::{properties, sys_flag, PropertiesIter};
use petrel_protocol::remoting::response_code;
use petrel_protocol::topic::{dlq_topic, is_retry_topic, TIMER_TOPIC, TRANS_HALF_TOPIC};

use crate::message::PropertyEdit;
use crate::response::Refusal;
use crate::system_topic::schedule::{delay_level_of, delayed};
use crate::system_topic::timer::TimerProperties;

/// Queues of a dead-letter topic (RocketMQ's `DLQ_NUMS_PER_GROUP`).
pub const DLQ_QUEUE_NUMS: i32 = 1;

/// What a message's properties ask of the broker, read in one pass without allocating. When a
/// property occurs twice the last value counts, as when the properties are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertyFacts<'a> {
    /// `WAIT`: whether the producer waits for the store (default true).
    pub wait_store_msg_ok: bool,
    /// `TRAN_MSG=true`: a half message.
    pub transaction_prepared: bool,
    /// `DELAY`, unless it is `0`.
    pub delay_level: Option<&'a str>,
    pub timer_deliver_ms: Option<&'a str>,
    pub timer_delay_sec: Option<&'a str>,
    pub timer_delay_ms: Option<&'a str>,
    /// `CLUSTER` is already set (the broker adds it otherwise).
    pub has_cluster: bool,
    /// `__transactionId__`.
    pub transaction_id: Option<&'a str>,
    /// `UNIQ_KEY`: the producer's message id.
    pub uniq_key: Option<&'a str>,
    /// `RETRY_TOPIC`: the topic a retried message was first sent to.
    pub retry_topic: Option<&'a str>,
    /// `ORIGIN_MESSAGE_ID`: the id of the message a retry copies.
    pub origin_message_id: Option<&'a str>,
}

impl<'a> PropertyFacts<'a> {
    /// Reads a properties string.
    pub fn scan(props: &'a str) -> Self {
        let mut facts = Self {
            wait_store_msg_ok: true,
            transaction_prepared: false,
            delay_level: None,
            timer_deliver_ms: None,
            timer_delay_sec: None,
            timer_delay_ms: None,
            has_cluster: false,
            transaction_id: None,
            uniq_key: None,
            retry_topic: None,
            origin_message_id: None,
        };
        for (k, v) in PropertiesIter::from_validated(props) {
            match k {
                properties::WAIT_STORE_MSG_OK => facts.wait_store_msg_ok = v != "false",
                properties::TRANSACTION_PREPARED => facts.transaction_prepared = v == "true",
                properties::DELAY_TIME_LEVEL => {
                    facts.delay_level = Some(v).filter(|v| v.trim() != "0")
                }
                properties::TIMER_DELIVER_MS => facts.timer_deliver_ms = Some(v),
                properties::TIMER_DELAY_SEC => facts.timer_delay_sec = Some(v),
                properties::TIMER_DELAY_MS => facts.timer_delay_ms = Some(v),
                properties::CLUSTER => facts.has_cluster = true,
                properties::TRANSACTION_ID => facts.transaction_id = Some(v),
                properties::UNIQ_CLIENT_MESSAGE_ID_KEYIDX => facts.uniq_key = Some(v),
                properties::RETRY_TOPIC => facts.retry_topic = Some(v),
                properties::ORIGIN_MESSAGE_ID => facts.origin_message_id = Some(v),
                _ => {}
            }
        }
        facts
    }

    /// The message's timer properties.
    pub fn timer(&self) -> TimerProperties<'a> {
        TimerProperties {
            deliver_ms: self.timer_deliver_ms,
            delay_sec: self.timer_delay_sec,
            delay_ms: self.timer_delay_ms,
        }
    }
}

/// What a send says about itself: its header and the properties that steer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendFacts<'a> {
    pub topic: &'a str,
    /// The queue the send goes to (already checked against the topic's queues).
    pub queue_id: i32,
    pub sys_flag: i32,
    pub reconsume_times: i32,
    /// The producer's own `maxReconsumeTimes`, which overrides the group's.
    pub max_reconsume_times: Option<i32>,
    pub properties: PropertyFacts<'a>,
}

impl SendFacts<'_> {
    /// A half (prepared) transaction message, by its property or its sys flag.
    pub fn is_prepared(&self) -> bool {
        self.properties.transaction_prepared
            || sys_flag::transaction_type(self.sys_flag) == sys_flag::TRANSACTION_PREPARED_TYPE
    }
}

/// The broker settings the decision depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayLimits {
    /// Levels of `messageDelayLevel`; a higher `DELAY` is clamped to it.
    pub max_delay_level: i32,
    /// `timerMaxDelaySec`, in ms: timers due later are refused.
    pub timer_max_delay_ms: i64,
}

/// The group whose `%RETRY%` topic a send goes to, with its retry limit
/// (`SubscriptionGroupConfig.retryMaxTimes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryGroup<'a> {
    pub group: &'a str,
    pub retry_max_times: i32,
}

/// What holds a message back before it reaches its real topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Stored in its topic at once.
    No,
    /// A half message, until END_TRANSACTION.
    Half,
    /// A timer message, until `due_ms`.
    Timer { due_ms: i64 },
    /// A delayed message, for its level.
    Delay { level: i32 },
}

/// Where a message is stored and how its properties change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub topic: String,
    pub queue_id: i32,
    pub sys_flag: i32,
    /// Property edits, in order; empty when the message is stored as sent.
    pub edits: Vec<PropertyEdit>,
    /// The dead-letter topic, when the message was dead-lettered: it must exist and be
    /// writable before the message is stored.
    pub dead_letter: Option<String>,
    pub held: Held,
}

/// Decides where a sent message is stored (see the module documentation for the order).
/// `retry_group` is the group when `facts.topic` is its `%RETRY%` topic.
pub fn destination(
    facts: &SendFacts<'_>,
    retry_group: Option<RetryGroup<'_>>,
    limits: DelayLimits,
    now_ms: i64,
) -> Result<Destination, Refusal> {
    let props = &facts.properties;
    let mut dest = Destination {
        topic: facts.topic.to_string(),
        queue_id: facts.queue_id,
        sys_flag: facts.sys_flag,
        edits: Vec::new(),
        dead_letter: None,
        held: Held::No,
    };
    let mut delay_level = props.delay_level;

    if let Some(group) = retry_group.filter(|_| is_retry_topic(facts.topic)) {
        if retries_exhausted(
            facts.reconsume_times,
            facts.max_reconsume_times,
            group.retry_max_times,
        ) {
            let origin_topic = props.retry_topic.unwrap_or(facts.topic);
            let origin_id = props.origin_message_id.or(props.uniq_key);
            let dead = dead_letter(group.group, origin_topic, origin_id);
            dest.topic = dead.topic.clone();
            dest.queue_id = dead.queue_id;
            dest.edits = dead.edits;
            dest.dead_letter = Some(dead.topic);
            delay_level = None;
        }
    }

    if facts.is_prepared() {
        // A half message: invisible until END_TRANSACTION commits it (see transaction.rs).
        hold(&mut dest, TRANS_HALF_TOPIC, 0, Vec::new());
        dest.sys_flag =
            sys_flag::with_transaction_type(facts.sys_flag, sys_flag::TRANSACTION_NOT_TYPE);
        dest.held = Held::Half;
        return Ok(dest);
    }
    if let Some(due) = props.timer().due_ms(now_ms) {
        let due = due.map_err(|e| {
            Refusal::new(
                response_code::MESSAGE_ILLEGAL,
                format!("bad timer property: {e}"),
            )
        })?;
        // Saturating: the property is the client's, any i64 (i64::MIN must not overflow).
        if due.saturating_sub(now_ms) > limits.timer_max_delay_ms {
            return Err(Refusal::new(
                response_code::MESSAGE_ILLEGAL,
                format!(
                    "timer message due in {} s, beyond timerMaxDelaySec ({} s); the message was \
                     not stored",
                    due.saturating_sub(now_ms) / 1000,
                    limits.timer_max_delay_ms / 1000
                ),
            ));
        }
        if due > now_ms {
            let out = vec![PropertyEdit::Set(properties::TIMER_OUT_MS, due.to_string())];
            hold(&mut dest, TIMER_TOPIC, 0, out);
            dest.held = Held::Timer { due_ms: due };
            return Ok(dest);
        }
    }
    if let Some(level) = delay_level.and_then(|d| delay_level_of(d, limits.max_delay_level)) {
        let (topic, queue_id, edits) = delayed(level, &dest.topic, dest.queue_id);
        dest.edits.extend(edits);
        dest.topic = topic;
        dest.queue_id = queue_id;
        dest.held = Held::Delay { level };
    }
    Ok(dest)
}

/// Moves `dest` into a holding topic: its real topic and queue go into the properties,
/// followed by `extra` edits.
fn hold(dest: &mut Destination, topic: &str, queue_id: i32, extra: Vec<PropertyEdit>) {
    dest.edits.push(PropertyEdit::Set(
        properties::REAL_TOPIC,
        std::mem::replace(&mut dest.topic, topic.to_string()),
    ));
    dest.edits.push(PropertyEdit::Set(
        properties::REAL_QUEUE_ID,
        dest.queue_id.to_string(),
    ));
    dest.edits.extend(extra);
    dest.queue_id = queue_id;
}

/// Has a message used up its retries? `max_reconsume_times` (the client's own limit, when it
/// sends one) overrides the group's `retryMaxTimes`.
pub fn retries_exhausted(
    reconsume_times: i32,
    max_reconsume_times: Option<i32>,
    group_retry_max_times: i32,
) -> bool {
    reconsume_times >= max_reconsume_times.unwrap_or(group_retry_max_times)
}

/// The delay level of a consumer's retry: the level it asks for, or
/// `FIRST_RETRY_DELAY_LEVEL + reconsumeTimes` (10 s, 30 s, 1 m, ... with the default table)
/// when it asks for none (0); always within `1..=max_level`.
pub fn retry_delay_level(requested: i32, reconsume_times: i32, max_level: i32) -> i32 {
    let level = if requested == 0 {
        petrel_protocol::mix_all::FIRST_RETRY_DELAY_LEVEL + reconsume_times
    } else {
        requested
    };
    level.clamp(1, max_level.max(1))
}

/// Where a dead letter goes and how it is marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// `%DLQ%{group}`.
    pub topic: String,
    pub queue_id: i32,
    pub edits: Vec<PropertyEdit>,
}

/// The one dead-letter rule, for sends to a `%RETRY%` topic past their limit and for
/// CONSUMER_SEND_MSG_BACK alike: the message goes to queue 0 of `%DLQ%{group}` (a topic of
/// [`DLQ_QUEUE_NUMS`] read-write queues, which must be writable), keeps where it came from in
/// `DLQ_ORIGIN_TOPIC` (`origin_topic`: its `RETRY_TOPIC` if it has one, else its topic) and
/// `DLQ_ORIGIN_MESSAGE_ID` (when known), and loses its delay level.
pub fn dead_letter(group: &str, origin_topic: &str, origin_message_id: Option<&str>) -> DeadLetter {
    let mut edits = vec![PropertyEdit::Set(
        properties::DLQ_ORIGIN_TOPIC,
        origin_topic.to_string(),
    )];
    if let Some(id) = origin_message_id {
        edits.push(PropertyEdit::Set(
            properties::DLQ_ORIGIN_MESSAGE_ID,
            id.to_string(),
        ));
    }
    edits.push(PropertyEdit::Remove(properties::DELAY_TIME_LEVEL));
    DeadLetter {
        topic: dlq_topic(group),
        queue_id: 0,
        edits,
    }
}

#[cfg(test)]
mod tests;
