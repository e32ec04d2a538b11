//! The exact decision for each kind of send (openraft style: every case asserts the whole
//! [`Destination`] or [`Refusal`]).

use petrel_protocol::message::{properties, sys_flag};
use petrel_protocol::remoting::response_code;

use super::*;
use crate::message::PropertyEdit::{Remove, Set};

const NOW: i64 = 1_700_000_000_000;
const LIMITS: DelayLimits = DelayLimits {
    max_delay_level: 18,
    timer_max_delay_ms: 3_600_000,
};

fn facts<'a>(topic: &'a str, props: &'a str) -> SendFacts<'a> {
    SendFacts {
        topic,
        queue_id: 2,
        sys_flag: 0,
        reconsume_times: 0,
        max_reconsume_times: None,
        properties: PropertyFacts::scan(props),
    }
}

fn decide(facts: &SendFacts<'_>) -> Result<Destination, Refusal> {
    destination(facts, None, LIMITS, NOW)
}

fn props(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}\u{1}{v}\u{2}"))
        .collect()
}

fn stays(topic: &str, queue_id: i32) -> Destination {
    Destination {
        topic: topic.into(),
        queue_id,
        sys_flag: 0,
        edits: Vec::new(),
        dead_letter: None,
        held: Held::No,
    }
}

fn real(topic: &str, queue_id: i32) -> [PropertyEdit; 2] {
    [
        Set(properties::REAL_TOPIC, topic.into()),
        Set(properties::REAL_QUEUE_ID, queue_id.to_string()),
    ]
}

fn illegal(remark: &str) -> Refusal {
    Refusal::new(response_code::MESSAGE_ILLEGAL, remark)
}

#[test]
fn a_plain_message_stays_where_it_was_sent() {
    let p = props(&[("TAGS", "a"), ("KEYS", "k")]);
    assert_eq!(decide(&facts("Orders", &p)), Ok(stays("Orders", 2)));
}

#[test]
fn a_half_message_waits_in_the_half_topic_with_its_type_bits_cleared() {
    let p = props(&[("TRAN_MSG", "true")]);
    let mut f = facts("Orders", &p);
    f.sys_flag = sys_flag::COMPRESSED | sys_flag::TRANSACTION_PREPARED_TYPE;
    assert_eq!(
        decide(&f),
        Ok(Destination {
            topic: "RMQ_SYS_TRANS_HALF_TOPIC".into(),
            queue_id: 0,
            sys_flag: sys_flag::COMPRESSED,
            edits: real("Orders", 2).to_vec(),
            dead_letter: None,
            held: Held::Half,
        })
    );
    // The sys flag alone makes a half message too.
    let mut f = facts("Orders", "");
    f.sys_flag = sys_flag::TRANSACTION_PREPARED_TYPE;
    assert_eq!(decide(&f).map(|d| d.held), Ok(Held::Half));
    // TRAN_MSG=false does not.
    let p = props(&[("TRAN_MSG", "false")]);
    assert_eq!(decide(&facts("Orders", &p)), Ok(stays("Orders", 2)));
}

#[test]
fn a_half_message_keeps_its_delay_and_timer_for_after_the_commit() {
    let p = props(&[
        ("TRAN_MSG", "true"),
        ("DELAY", "3"),
        ("TIMER_DELAY_SEC", "5"),
    ]);
    let d = decide(&facts("Orders", &p)).unwrap();
    assert_eq!(d.held, Held::Half);
    assert_eq!(d.edits, real("Orders", 2).to_vec());
}

#[test]
fn a_timer_waits_in_the_timer_topic_until_it_is_due() {
    let due = NOW + 5_000;
    let timer = |due_ms: i64| Destination {
        topic: "rmq_sys_wheel_timer".into(),
        queue_id: 0,
        sys_flag: 0,
        edits: [
            real("Orders", 2).as_slice(),
            &[Set(properties::TIMER_OUT_MS, due_ms.to_string())],
        ]
        .concat(),
        dead_letter: None,
        held: Held::Timer { due_ms },
    };
    for p in [
        props(&[("TIMER_DELIVER_MS", &due.to_string())]),
        props(&[("TIMER_DELAY_SEC", "5")]),
        props(&[("TIMER_DELAY_MS", " 5000 ")]),
        // TIMER_DELIVER_MS wins over the relative forms.
        props(&[
            ("TIMER_DELAY_MS", "1"),
            ("TIMER_DELIVER_MS", &due.to_string()),
        ]),
    ] {
        assert_eq!(decide(&facts("Orders", &p)), Ok(timer(due)), "{p:?}");
    }
}

#[test]
fn a_timer_due_now_or_past_is_stored_at_once_and_may_still_be_delayed() {
    for p in [
        props(&[("TIMER_DELIVER_MS", &NOW.to_string())]),
        props(&[("TIMER_DELIVER_MS", "1")]),
        props(&[("TIMER_DELAY_MS", "-5")]),
        // Extremes of the client's number: no overflow (a panic in debug builds before).
        props(&[("TIMER_DELIVER_MS", &i64::MIN.to_string())]),
        props(&[("TIMER_DELAY_MS", &i64::MIN.to_string())]),
        props(&[("TIMER_DELAY_SEC", &i64::MIN.to_string())]),
    ] {
        assert_eq!(
            decide(&facts("Orders", &p)),
            Ok(stays("Orders", 2)),
            "{p:?}"
        );
    }
    let p = props(&[("TIMER_DELAY_MS", "0"), ("DELAY", "2")]);
    assert_eq!(
        decide(&facts("Orders", &p)).map(|d| d.held),
        Ok(Held::Delay { level: 2 })
    );
}

#[test]
fn bad_or_too_distant_timers_are_refused() {
    let p = props(&[("TIMER_DELAY_SEC", "soon")]);
    assert_eq!(
        decide(&facts("Orders", &p)),
        Err(illegal(
            "bad timer property: TIMER_DELAY_SEC=\"soon\" is not an integer"
        ))
    );
    let p = props(&[("TIMER_DELAY_SEC", "3601")]);
    assert_eq!(
        decide(&facts("Orders", &p)),
        Err(illegal(
            "timer message due in 3601 s, beyond timerMaxDelaySec (3600 s); the message was \
             not stored"
        ))
    );
    let p = props(&[("TIMER_DELAY_SEC", "3600")]);
    assert!(decide(&facts("Orders", &p)).is_ok());
    for extreme in [i64::MAX.to_string(), (i64::MAX / 1000 + 1).to_string()] {
        let p = props(&[("TIMER_DELAY_SEC", &extreme)]);
        assert!(decide(&facts("Orders", &p)).is_err(), "{extreme}");
        let p = props(&[("TIMER_DELIVER_MS", &i64::MAX.to_string())]);
        assert!(decide(&facts("Orders", &p)).is_err());
    }
}

#[test]
fn a_timer_takes_precedence_over_a_delay_level() {
    let p = props(&[("DELAY", "3"), ("TIMER_DELAY_MS", "10")]);
    assert_eq!(
        decide(&facts("Orders", &p)).map(|d| d.held),
        Ok(Held::Timer { due_ms: NOW + 10 })
    );
}

#[test]
fn a_delayed_message_waits_in_its_levels_queue() {
    let p = props(&[("TAGS", "a"), ("DELAY", "3")]);
    assert_eq!(
        decide(&facts("Orders", &p)),
        Ok(Destination {
            topic: "SCHEDULE_TOPIC_XXXX".into(),
            queue_id: 2,
            sys_flag: 0,
            edits: [
                &[Set(properties::DELAY_TIME_LEVEL, "3".to_string())],
                real("Orders", 2).as_slice(),
            ]
            .concat(),
            dead_letter: None,
            held: Held::Delay { level: 3 },
        })
    );
}

#[test]
fn delay_levels_are_clamped_and_non_levels_ignored() {
    let p = props(&[("DELAY", "99")]);
    let d = decide(&facts("Orders", &p)).unwrap();
    assert_eq!((d.queue_id, d.held), (17, Held::Delay { level: 18 }));
    assert_eq!(d.edits[0], Set(properties::DELAY_TIME_LEVEL, "18".into()));
    for level in ["0", "-1", "soon", " 0 "] {
        let p = props(&[("DELAY", level)]);
        assert_eq!(
            decide(&facts("Orders", &p)),
            Ok(stays("Orders", 2)),
            "{level}"
        );
    }
}

const GROUP: RetryGroup<'static> = RetryGroup {
    group: "cg",
    retry_max_times: 3,
};

fn retry_send<'a>(props: &'a str, reconsume_times: i32) -> SendFacts<'a> {
    let mut f = facts("%RETRY%cg", props);
    f.reconsume_times = reconsume_times;
    f
}

#[test]
fn a_retry_below_its_limit_stays_in_the_retry_topic() {
    let p = props(&[("DELAY", "4")]);
    let d = destination(&retry_send(&p, 2), Some(GROUP), LIMITS, NOW).unwrap();
    assert_eq!(d.held, Held::Delay { level: 4 });
    assert_eq!(d.edits[1], Set(properties::REAL_TOPIC, "%RETRY%cg".into()));
    assert_eq!(d.dead_letter, None);
}

#[test]
fn a_retry_past_its_limit_is_a_dead_letter_that_remembers_its_origin() {
    let p = props(&[
        ("RETRY_TOPIC", "Orders"),
        ("ORIGIN_MESSAGE_ID", "ORIGIN"),
        ("UNIQ_KEY", "UNIQ"),
        ("DELAY", "5"),
    ]);
    assert_eq!(
        destination(&retry_send(&p, 3), Some(GROUP), LIMITS, NOW),
        Ok(Destination {
            topic: "%DLQ%cg".into(),
            queue_id: 0,
            sys_flag: 0,
            edits: vec![
                Set(properties::DLQ_ORIGIN_TOPIC, "Orders".into()),
                Set(properties::DLQ_ORIGIN_MESSAGE_ID, "ORIGIN".into()),
                Remove(properties::DELAY_TIME_LEVEL),
            ],
            dead_letter: Some("%DLQ%cg".into()),
            held: Held::No,
        })
    );
}

#[test]
fn a_dead_letter_without_origin_properties_falls_back_to_its_topic_and_unique_key() {
    let p = props(&[("UNIQ_KEY", "UNIQ")]);
    let d = destination(&retry_send(&p, 7), Some(GROUP), LIMITS, NOW).unwrap();
    assert_eq!(
        d.edits,
        vec![
            Set(properties::DLQ_ORIGIN_TOPIC, "%RETRY%cg".into()),
            Set(properties::DLQ_ORIGIN_MESSAGE_ID, "UNIQ".into()),
            Remove(properties::DELAY_TIME_LEVEL),
        ]
    );
    // No id at all: only the origin topic is recorded.
    let d = destination(&retry_send("", 7), Some(GROUP), LIMITS, NOW).unwrap();
    assert_eq!(
        d.edits,
        vec![
            Set(properties::DLQ_ORIGIN_TOPIC, "%RETRY%cg".into()),
            Remove(properties::DELAY_TIME_LEVEL),
        ]
    );
}

#[test]
fn the_producers_max_reconsume_times_overrides_the_groups() {
    let mut f = retry_send("", 3);
    f.max_reconsume_times = Some(5);
    let d = destination(&f, Some(GROUP), LIMITS, NOW).unwrap();
    assert_eq!(d, stays("%RETRY%cg", 2));
    f.reconsume_times = 5;
    let d = destination(&f, Some(GROUP), LIMITS, NOW).unwrap();
    assert_eq!(d.dead_letter.as_deref(), Some("%DLQ%cg"));
}

#[test]
fn only_retry_topics_are_dead_lettered() {
    let mut f = facts("Orders", "");
    f.reconsume_times = 100;
    assert_eq!(
        destination(&f, Some(GROUP), LIMITS, NOW),
        Ok(stays("Orders", 2))
    );
    let f = retry_send("", 100);
    assert_eq!(
        destination(&f, None, LIMITS, NOW),
        Ok(stays("%RETRY%cg", 2))
    );
}

#[test]
fn a_half_dead_letter_waits_for_its_commit_to_reach_the_dlq() {
    let p = props(&[("TRAN_MSG", "true")]);
    let d = destination(&retry_send(&p, 3), Some(GROUP), LIMITS, NOW).unwrap();
    assert_eq!(
        d,
        Destination {
            topic: "RMQ_SYS_TRANS_HALF_TOPIC".into(),
            queue_id: 0,
            sys_flag: 0,
            edits: vec![
                Set(properties::DLQ_ORIGIN_TOPIC, "%RETRY%cg".into()),
                Remove(properties::DELAY_TIME_LEVEL),
                Set(properties::REAL_TOPIC, "%DLQ%cg".into()),
                Set(properties::REAL_QUEUE_ID, "0".into()),
            ],
            dead_letter: Some("%DLQ%cg".into()),
            held: Held::Half,
        }
    );
}

#[test]
fn send_back_shares_the_dead_letter_rule() {
    assert_eq!(
        dead_letter("cg", "Orders", Some("ID")),
        DeadLetter {
            topic: "%DLQ%cg".into(),
            queue_id: 0,
            edits: vec![
                Set(properties::DLQ_ORIGIN_TOPIC, "Orders".into()),
                Set(properties::DLQ_ORIGIN_MESSAGE_ID, "ID".into()),
                Remove(properties::DELAY_TIME_LEVEL),
            ],
        }
    );
    assert!(!retries_exhausted(2, None, 3));
    assert!(retries_exhausted(3, None, 3));
    assert!(!retries_exhausted(3, Some(4), 3));
    assert!(retries_exhausted(0, Some(0), 3));
}

#[test]
fn retries_wait_longer_each_time_unless_the_consumer_names_a_level() {
    assert_eq!(retry_delay_level(0, 0, 18), 3);
    assert_eq!(retry_delay_level(0, 4, 18), 7);
    assert_eq!(retry_delay_level(0, 40, 18), 18);
    assert_eq!(retry_delay_level(2, 9, 18), 2);
    assert_eq!(retry_delay_level(-5, 0, 18), 1);
    assert_eq!(retry_delay_level(0, 0, 2), 2);
}

#[test]
fn properties_are_read_in_one_pass_last_value_winning() {
    let p = props(&[
        ("WAIT", "false"),
        ("DELAY", "1"),
        ("DELAY", "3"),
        ("CLUSTER", "c"),
        ("__transactionId__", "tx"),
    ]);
    let f = PropertyFacts::scan(&p);
    assert!(!f.wait_store_msg_ok && f.has_cluster && !f.timer().is_timer());
    assert_eq!(f.delay_level, Some("3"));
    assert_eq!(f.transaction_id, Some("tx"));
    let p = props(&[("DELAY", "0"), ("TIMER_DELAY_MS", "1")]);
    let f = PropertyFacts::scan(&p);
    assert!(f.delay_level.is_none() && f.wait_store_msg_ok && f.timer().is_timer());
    assert_eq!(f.timer().due_ms(NOW), Some(Ok(NOW + 1)));
    assert_eq!(PropertyFacts::scan("").timer().due_ms(NOW), None);
}
