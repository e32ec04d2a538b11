//! The records a send becomes: one for a single message, one per item for a batch
//! (SEND_BATCH_MESSAGE, or a send with `batch=true`). Each carries the client's properties
//! plus the cluster name, as RocketMQ adds it; a single message also gets the edits its
//! [`Destination`] asks for, with one decode and one encode of its properties, and none when
//! there are no edits (the common case). Batches hold neither half nor delayed messages
//! (RocketMQ refuses them too), and their items' sizes are checked one by one.

use petrel_protocol::message::{
    decode_batch, properties, Properties, PropertiesIter, MAX_PROPERTIES_LEN_BYTES,
};
use petrel_protocol::remoting::response_code;

use crate::message::{apply, PropertyEdit};
use crate::processor::destination::{Destination, Held, PropertyFacts};
use crate::processor::send_checks::body_fits;
use crate::response::Refusal;

/// What a send request gives to build its records from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendBody<'a> {
    /// The request body: the message body, or the encoded batch.
    pub body: &'a [u8],
    pub batch: bool,
    /// The header's message flag (a batch item carries its own).
    pub flag: i32,
    /// The header's properties (a batch item carries its own).
    pub properties: &'a str,
    pub has_cluster: bool,
    /// `brokerClusterName`, stored as the `CLUSTER` property.
    pub cluster: &'a str,
    /// `maxMessageSize`.
    pub max_body: usize,
}

/// One record to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record<'a> {
    pub body: &'a [u8],
    pub properties: String,
    pub flag: i32,
}

/// The properties to store: the client's, plus `CLUSTER` when missing, plus the broker's
/// `MSG_REGION` and `TRACE_ON` when missing, with `edits` applied.
///
/// RocketMQ's broker stamps `MSG_REGION` (its `regionId`) and `TRACE_ON` into every message it
/// stores (`AbstractSendMessageProcessor.buildMsgContext`); Java consumers with trace on skip
/// messages without a region, so without them a consumer's SubBefore/SubAfter records are
/// never sent (5.x clients).
pub(crate) fn stored_properties(
    client: &str,
    has_cluster: bool,
    cluster: &str,
    edits: &[PropertyEdit],
) -> String {
    if edits.is_empty() {
        return with_broker_properties(client, has_cluster, cluster);
    }
    let mut props: Properties = PropertiesIter::from_validated(client).collect();
    if !has_cluster {
        props.insert(properties::CLUSTER, cluster);
    }
    for (key, value) in BROKER_PROPERTIES {
        if props.get(key).is_none() {
            props.insert(key, value);
        }
    }
    apply(&mut props, edits);
    props.encode()
}

/// The properties the broker adds to every stored message when the client did not set them:
/// its region (RocketMQ's default `regionId`) and its trace switch (`traceOn`, true).
const BROKER_PROPERTIES: [(&str, &str); 2] = [
    (
        properties::MSG_REGION,
        petrel_protocol::trace::DEFAULT_REGION,
    ),
    (properties::TRACE_SWITCH, "true"),
];

/// Whether the encoded properties `props` have `key`.
fn has_property(props: &str, key: &str) -> bool {
    props.split(properties::PROPERTY_SEPARATOR).any(|pair| {
        pair.strip_prefix(key)
            .is_some_and(|rest| rest.starts_with(properties::NAME_VALUE_SEPARATOR))
    })
}

/// The client's properties string, with `CLUSTER`, `MSG_REGION` and `TRACE_ON` appended when
/// missing (no decoding).
fn with_broker_properties(client: &str, has_cluster: bool, cluster: &str) -> String {
    let mut out = String::with_capacity(client.len() + cluster.len() + 48);
    out.push_str(client);
    let mut append = |key: &str, value: &str| {
        if !out.is_empty() && !out.ends_with(properties::PROPERTY_SEPARATOR) {
            out.push(properties::PROPERTY_SEPARATOR);
        }
        out.push_str(key);
        out.push(properties::NAME_VALUE_SEPARATOR);
        out.push_str(value);
        out.push(properties::PROPERTY_SEPARATOR);
    };
    if !has_cluster {
        append(properties::CLUSTER, cluster);
    }
    for (key, value) in BROKER_PROPERTIES {
        if !has_property(client, key) {
            append(key, value);
        }
    }
    out
}

/// The records of a send going to `destination`, or why it is refused.
pub(crate) fn build_messages<'a>(
    send: &SendBody<'a>,
    destination: &Destination,
) -> Result<Vec<Record<'a>>, Refusal> {
    if send.batch {
        build_batch(send, destination)
    } else {
        body_fits(send.body.len(), send.max_body)?;
        let properties = stored_properties(
            send.properties,
            send.has_cluster,
            send.cluster,
            &destination.edits,
        );
        if properties.len() > MAX_PROPERTIES_LEN_BYTES {
            return Err(illegal(format!(
                "the message properties are {} bytes, over the max {MAX_PROPERTIES_LEN_BYTES}",
                properties.len()
            )));
        }
        Ok(vec![Record {
            body: send.body,
            properties,
            flag: send.flag,
        }])
    }
}

fn build_batch<'a>(
    send: &SendBody<'a>,
    destination: &Destination,
) -> Result<Vec<Record<'a>>, Refusal> {
    match destination.held {
        Held::Half => return Err(illegal("a batch may not carry transactional messages")),
        Held::Delay { .. } => return Err(illegal("a batch may not carry delayed messages")),
        Held::No | Held::Timer { .. } => {}
    }
    let mut records = Vec::new();
    for item in decode_batch(send.body) {
        let item = item.map_err(|e| illegal(format!("malformed batch body: {e}")))?;
        if item.body.len() > send.max_body {
            return Err(illegal(format!(
                "a message body of the batch is {} bytes, over the max {}",
                item.body.len(),
                send.max_body
            )));
        }
        let item_props = std::str::from_utf8(item.properties)
            .map_err(|_| illegal("batch message properties are not UTF-8"))?;
        let facts = PropertyFacts::scan(item_props);
        if facts.delay_level.is_some() || facts.timer().is_timer() {
            return Err(illegal("a batch may not carry delayed messages"));
        }
        records.push(Record {
            body: item.body,
            properties: with_broker_properties(item_props, facts.has_cluster, send.cluster),
            flag: item.flag,
        });
    }
    if records.is_empty() {
        return Err(illegal("empty batch"));
    }
    if records
        .iter()
        .any(|r| r.properties.len() > MAX_PROPERTIES_LEN_BYTES)
    {
        return Err(illegal(format!(
            "message properties are over {MAX_PROPERTIES_LEN_BYTES} bytes"
        )));
    }
    Ok(records)
}

fn illegal(remark: impl Into<String>) -> Refusal {
    Refusal::new(response_code::MESSAGE_ILLEGAL, remark)
}

#[cfg(test)]
mod tests {
    use super::*;
    use petrel_protocol::message::BatchItem;

    fn plain() -> Destination {
        Destination {
            topic: "Orders".into(),
            queue_id: 1,
            sys_flag: 0,
            edits: Vec::new(),
            dead_letter: None,
            held: Held::No,
        }
    }

    fn send<'a>(body: &'a [u8], batch: bool, props: &'a str) -> SendBody<'a> {
        SendBody {
            body,
            batch,
            flag: 7,
            properties: props,
            has_cluster: PropertyFacts::scan(props).has_cluster,
            cluster: "C",
            max_body: 16,
        }
    }

    fn batch(items: &[(&str, &str)]) -> Vec<u8> {
        let mut buf = Vec::new();
        for (body, props) in items {
            BatchItem {
                flag: 3,
                body: body.as_bytes(),
                properties: props.as_bytes(),
            }
            .encode(&mut buf)
            .unwrap();
        }
        buf
    }

    #[test]
    fn cluster_property_is_appended_once() {
        assert_eq!(
            stored_properties("", false, "C", &[]),
            "CLUSTER\u{1}C\u{2}MSG_REGION\u{1}DefaultRegion\u{2}TRACE_ON\u{1}true\u{2}"
        );
        assert_eq!(
            stored_properties("TAGS\u{1}a\u{2}", false, "C", &[]),
            "TAGS\u{1}a\u{2}CLUSTER\u{1}C\u{2}MSG_REGION\u{1}DefaultRegion\u{2}TRACE_ON\u{1}true\u{2}"
        );
        assert_eq!(
            stored_properties("TAGS\u{1}a", false, "C", &[]),
            "TAGS\u{1}a\u{2}CLUSTER\u{1}C\u{2}MSG_REGION\u{1}DefaultRegion\u{2}TRACE_ON\u{1}true\u{2}"
        );
        assert_eq!(
            stored_properties(
                "CLUSTER\u{1}X\u{2}MSG_REGION\u{1}DefaultRegion\u{2}TRACE_ON\u{1}true\u{2}",
                true,
                "C",
                &[]
            ),
            "CLUSTER\u{1}X\u{2}MSG_REGION\u{1}DefaultRegion\u{2}TRACE_ON\u{1}true\u{2}"
        );
    }

    #[test]
    fn edits_follow_the_cluster_property() {
        let edits = [
            PropertyEdit::Set(properties::REAL_TOPIC, "Orders".into()),
            PropertyEdit::Remove(properties::TAGS),
        ];
        assert_eq!(
            stored_properties("TAGS\u{1}a\u{2}KEYS\u{1}k\u{2}", false, "C", &edits),
            "KEYS\u{1}k\u{2}CLUSTER\u{1}C\u{2}MSG_REGION\u{1}DefaultRegion\u{2}TRACE_ON\u{1}true\u{2}REAL_TOPIC\u{1}Orders\u{2}"
        );
    }

    #[test]
    fn a_single_message_is_one_record_with_the_destinations_edits() {
        let mut dest = plain();
        dest.edits = vec![PropertyEdit::Set(properties::REAL_QUEUE_ID, "1".into())];
        let records = build_messages(&send(b"body", false, "TAGS\u{1}a\u{2}"), &dest).unwrap();
        assert_eq!(
            records,
            vec![Record {
                body: b"body",
                properties: "TAGS\u{1}a\u{2}CLUSTER\u{1}C\u{2}MSG_REGION\u{1}DefaultRegion\u{2}TRACE_ON\u{1}true\u{2}REAL_QID\u{1}1\u{2}".into(),
                flag: 7,
            }]
        );
    }

    #[test]
    fn oversized_single_messages_are_illegal() {
        assert_eq!(
            build_messages(&send(&[0; 17], false, ""), &plain()),
            Err(illegal("the message body size over max value, MAX: 16"))
        );
        let long = format!("K\u{1}{}\u{2}", "v".repeat(MAX_PROPERTIES_LEN_BYTES));
        let refused = build_messages(&send(b"", false, &long), &plain()).unwrap_err();
        assert_eq!(
            refused.remark,
            format!(
                "the message properties are {} bytes, over the max 32767",
                long.len()
                    + "CLUSTER\u{1}C\u{2}MSG_REGION\u{1}DefaultRegion\u{2}TRACE_ON\u{1}true\u{2}"
                        .len()
            )
        );
    }

    #[test]
    fn a_batch_is_one_record_per_item_with_its_own_properties() {
        let body = batch(&[
            ("one", "TAGS\u{1}a\u{2}"),
            (
                "two",
                "CLUSTER\u{1}X\u{2}MSG_REGION\u{1}DefaultRegion\u{2}TRACE_ON\u{1}true\u{2}",
            ),
        ]);
        let records = build_messages(&send(&body, true, "IGNORED\u{1}x\u{2}"), &plain()).unwrap();
        assert_eq!(
            records,
            vec![
                Record {
                    body: b"one",
                    properties: "TAGS\u{1}a\u{2}CLUSTER\u{1}C\u{2}MSG_REGION\u{1}DefaultRegion\u{2}TRACE_ON\u{1}true\u{2}".into(),
                    flag: 3,
                },
                Record {
                    body: b"two",
                    properties: "CLUSTER\u{1}X\u{2}MSG_REGION\u{1}DefaultRegion\u{2}TRACE_ON\u{1}true\u{2}".into(),
                    flag: 3,
                },
            ]
        );
    }

    #[test]
    fn batches_refuse_half_delayed_empty_and_oversized_items() {
        let body = batch(&[("one", "")]);
        let mut half = plain();
        half.held = Held::Half;
        assert_eq!(
            build_messages(&send(&body, true, ""), &half),
            Err(illegal("a batch may not carry transactional messages"))
        );
        let mut delayed = plain();
        delayed.held = Held::Delay { level: 3 };
        assert_eq!(
            build_messages(&send(&body, true, ""), &delayed),
            Err(illegal("a batch may not carry delayed messages"))
        );
        for props in ["DELAY\u{1}2\u{2}", "TIMER_DELAY_MS\u{1}5\u{2}"] {
            let body = batch(&[("one", ""), ("two", props)]);
            assert_eq!(
                build_messages(&send(&body, true, ""), &plain()),
                Err(illegal("a batch may not carry delayed messages"))
            );
        }
        assert_eq!(
            build_messages(&send(b"", true, ""), &plain()),
            Err(illegal("empty batch"))
        );
        let body = batch(&[("a body longer than 16", "")]);
        assert_eq!(
            build_messages(&send(&body, true, ""), &plain()),
            Err(illegal(
                "a message body of the batch is 21 bytes, over the max 16"
            ))
        );
        assert_eq!(
            build_messages(&send(b"\x00\x00", true, ""), &plain())
                .unwrap_err()
                .remark
                .split(':')
                .next(),
            Some("malformed batch body")
        );
    }

    #[test]
    fn a_region_or_trace_switch_the_client_set_is_kept() {
        let client = "MSG_REGION\u{1}R1\u{2}TRACE_ON\u{1}false\u{2}";
        assert_eq!(
            stored_properties(client, true, "C", &[]),
            client,
            "nothing appended"
        );
        assert!(!has_property(
            "XMSG_REGION\u{1}a\u{2}",
            properties::MSG_REGION
        ));
    }
}
