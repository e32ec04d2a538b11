//! SendMessage: each gRPC message is checked as Apache's proxy checks it (`SendMessageActivity`,
//! `ProducerProcessor`), turned into the properties a remoting producer would send (tag, keys,
//! `UNIQ_KEY` = the client's message id, `TRAN_MSG`, `TIMER_DELIVER_MS`, `__SHARDINGKEY`, ...),
//! given a queue (a FIFO message's group picks it as the proxy does; others round robin), and
//! stored through the broker's own send path (`petrel_broker::processor::send::send_message`).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;

use petrel_auth::{Action, Need, Resource as AuthResource};
use petrel_broker::clock::now_ms;
use petrel_broker::processor::send::send_message;
use petrel_protocol::message::properties::{self as props, Properties};
use petrel_protocol::message::sys_flag;
use petrel_protocol::remoting::header::SendMessageRequestHeader;
use petrel_protocol::remoting::response_code as rc;
use petrel_protocol::{mix_all, perm, topic as topics};

use crate::auth;
use crate::hash::queue_index_for_group;
use crate::metadata::Caller;
use crate::pb::{
    Code, Encoding, Message, MessageType, SendMessageRequest, SendMessageResponse, SendResultEntry,
};
use crate::route::{checked_topic, existing_topic, topic_message_type};
use crate::server::Shared;
use crate::status::{code_of, ok, status, Failure};
use crate::transaction::Pending;

/// Total bytes of a message's user properties (names and values), as the proxy's
/// `maxUserPropertySize`.
pub const MAX_USER_PROPERTIES_BYTES: usize = 16 * 1024;
/// User properties per message.
pub const MAX_USER_PROPERTIES: usize = 128;
/// Characters of a message group (the proxy's `maxMessageGroupSize`).
pub const MAX_MESSAGE_GROUP_CHARS: usize = 64;

/// One message ready for the broker's send path.
struct Prepared<'a> {
    body: &'a [u8],
    properties: Properties,
    sys_flag: i32,
    born_timestamp: i64,
    message_id: &'a str,
    transactional: bool,
}

pub async fn send(
    shared: &Shared,
    caller: &Caller,
    request: &SendMessageRequest,
) -> SendMessageResponse {
    match send_all(shared, caller, request).await {
        Ok(entries) => {
            let status = overall_status(&entries);
            SendMessageResponse {
                status: Some(status),
                entries,
            }
        }
        Err(Failure(s)) => SendMessageResponse {
            status: Some(s),
            entries: Vec::new(),
        },
    }
}

/// The response's status: the entries' common one (a single entry's with its message), else
/// MULTIPLE_RESULTS, as the proxy answers.
fn overall_status(entries: &[SendResultEntry]) -> crate::pb::Status {
    let mut codes: Vec<i32> = entries
        .iter()
        .filter_map(|e| e.status.as_ref().map(|s| s.code))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    match (codes.as_slice(), entries) {
        ([], _) => status(Code::InternalServerError, "send status is empty"),
        ([_], [only]) => only.status.clone().unwrap_or_else(ok),
        ([one], _) if *one == Code::Ok as i32 => ok(),
        ([one], _) => {
            let code = Code::try_from(*one).unwrap_or(Code::InternalServerError);
            status(code, code.as_str_name())
        }
        _ => status(Code::MultipleResults, "MULTIPLE_RESULTS"),
    }
}

async fn send_all(
    shared: &Shared,
    caller: &Caller,
    request: &SendMessageRequest,
) -> Result<Vec<SendResultEntry>, Failure> {
    let Some(first) = request.messages.first() else {
        return Err(Failure::new(Code::MessageCorrupted, "no message to send"));
    };
    let topic = checked_topic(first.topic.as_ref())?;
    if request
        .messages
        .iter()
        .any(|m| m.topic.as_ref().map(|t| t.name.as_str()) != Some(topic))
    {
        return Err(Failure::new(
            Code::MessageCorrupted,
            "topic in message is not same",
        ));
    }
    auth::check(
        shared,
        caller,
        &[Need::new(AuthResource::topic(topic), &[Action::Pub])],
    )?;
    let config = existing_topic(shared, topic)?;
    let topic_type = topic_message_type(&config).to_string();
    let now = now_ms();
    let prepared = request
        .messages
        .iter()
        .map(|m| prepare(shared, topic, &topic_type, m, now))
        .collect::<Result<Vec<_>, _>>()?;

    // One queue for the whole request: the group's when it carries one message with a group.
    let writable: Vec<i32> = if perm::is_writeable(config.perm) {
        (0..config.write_queue_nums.max(0)).collect()
    } else {
        Vec::new()
    };
    if writable.is_empty() {
        return Err(Failure::new(Code::Forbidden, "no writable queue"));
    }
    let group = match request.messages.as_slice() {
        [only] => only
            .system_properties
            .as_ref()
            .and_then(|p| p.message_group.as_deref())
            .filter(|g| !g.is_empty()),
        _ => None,
    };
    let index = match group {
        Some(g) => queue_index_for_group(g, writable.len()),
        None => shared.next_queue.fetch_add(1, Ordering::Relaxed) % writable.len(),
    };
    let queue_id = writable[index.min(writable.len() - 1)];

    let born_host = caller
        .remote
        .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    let mut entries = Vec::with_capacity(prepared.len());
    for m in prepared {
        let header = SendMessageRequestHeader {
            // Apache's proxy uses the topic as the producer group (its transaction checks ask
            // the producers of that topic).
            producer_group: topic.to_string(),
            topic: topic.to_string(),
            default_topic: topics::AUTO_CREATE_TOPIC_KEY_TOPIC.to_string(),
            default_topic_queue_nums: mix_all::DEFAULT_TOPIC_QUEUE_NUMS,
            queue_id,
            sys_flag: m.sys_flag,
            born_timestamp: m.born_timestamp,
            flag: 0,
            properties: Some(m.properties.encode()),
            reconsume_times: Some(0),
            ..SendMessageRequestHeader::default()
        };
        shared
            .broker
            .stats
            .send_requests
            .fetch_add(1, Ordering::Relaxed);
        // Each message is stored on its own: a refusal answers that message's entry (the
        // ones before it are stored, as their entries say).
        let outcome = match send_message(&shared.broker, born_host, &header, m.body, false).await {
            Ok(outcome) => outcome,
            Err(refusal) => {
                entries.push(SendResultEntry {
                    status: Some(crate::status::from_refusal(&refusal)),
                    ..SendResultEntry::default()
                });
                continue;
            }
        };
        let entry = if outcome.code == rc::SUCCESS {
            let transaction_id = outcome.header.transaction_id.clone().unwrap_or_default();
            if m.transactional {
                if let Some(&offset) = outcome.physical_offsets.first() {
                    shared.transactions.insert(
                        transaction_id.clone(),
                        Pending {
                            commit_log_offset: offset,
                            producer_group: topic.to_string(),
                            topic: topic.to_string(),
                        },
                    );
                }
            }
            SendResultEntry {
                status: Some(ok()),
                message_id: m.message_id.to_string(),
                transaction_id,
                offset: outcome.header.queue_offset,
                recall_handle: String::new(),
            }
        } else {
            // Stored, but not as durably as asked (disk flush or slave timeouts).
            SendResultEntry {
                status: Some(status(
                    code_of(outcome.code),
                    format!("send message failed, response code {}", outcome.code),
                )),
                ..SendResultEntry::default()
            }
        };
        entries.push(entry);
    }
    Ok(entries)
}

fn control_free(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// Checks one message and builds its properties and system flag.
fn prepare<'a>(
    shared: &Shared,
    topic: &str,
    topic_type: &str,
    m: &'a Message,
    now: i64,
) -> Result<Prepared<'a>, Failure> {
    let max_body = shared.config.max_message_body_bytes;
    if m.body.len() > max_body {
        return Err(Failure::new(
            Code::MessageBodyTooLarge,
            format!(
                "message body cannot exceed the max {max_body} bytes (it has {})",
                m.body.len()
            ),
        ));
    }
    let Some(sys) = m.system_properties.as_ref() else {
        return Err(Failure::new(
            Code::MessageCorrupted,
            "the message has no system properties",
        ));
    };
    let mut properties = Properties::new();

    // User properties: not a system name, bounded in count and bytes.
    if m.user_properties.len() > MAX_USER_PROPERTIES {
        return Err(Failure::new(
            Code::MessagePropertiesTooLarge,
            format!("a message may have at most {MAX_USER_PROPERTIES} user properties"),
        ));
    }
    let mut user_bytes = 0usize;
    let mut user: Vec<(&String, &String)> = m.user_properties.iter().collect();
    user.sort();
    for (k, v) in user {
        if props::SYSTEM_NAMES.contains(&k.as_str()) {
            return Err(Failure::new(
                Code::IllegalMessagePropertyKey,
                format!("property is used by system: {k}"),
            ));
        }
        if k.is_empty()
            || k.contains([props::NAME_VALUE_SEPARATOR, props::PROPERTY_SEPARATOR])
            || v.contains([props::NAME_VALUE_SEPARATOR, props::PROPERTY_SEPARATOR])
        {
            return Err(Failure::new(
                Code::IllegalMessagePropertyKey,
                format!(
                    "property {k:?} is empty or holds a separator character (\\u0001 or \\u0002)"
                ),
            ));
        }
        user_bytes += k.len() + v.len();
        properties.insert(k.as_str(), v.as_str());
    }
    if user_bytes > MAX_USER_PROPERTIES_BYTES {
        return Err(Failure::new(
            Code::MessagePropertiesTooLarge,
            format!("user properties take {user_bytes} bytes; at most {MAX_USER_PROPERTIES_BYTES} are allowed"),
        ));
    }

    if let Some(tag) = sys.tag.as_deref() {
        if tag.trim().is_empty() || tag.contains('|') || !control_free(tag) {
            return Err(Failure::new(
                Code::IllegalMessageTag,
                format!("tag {tag:?} is blank or holds '|' or a control character"),
            ));
        }
        properties.insert(props::TAGS, tag);
    }
    if !sys.keys.is_empty() {
        if sys
            .keys
            .iter()
            .any(|k| k.trim().is_empty() || !control_free(k))
        {
            return Err(Failure::new(
                Code::IllegalMessageKey,
                "a message key is blank or holds a control character",
            ));
        }
        properties.insert(props::KEYS, sys.keys.join(" "));
    }
    if sys.message_id.is_empty() {
        return Err(Failure::new(Code::IllegalMessageId, "message id is empty"));
    }
    if !control_free(&sys.message_id) || sys.message_id.len() > 128 {
        return Err(Failure::new(
            Code::IllegalMessageId,
            "message id holds a control character or is over 128 bytes",
        ));
    }
    properties.insert(
        props::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        sys.message_id.as_str(),
    );

    let mut sys_flag = 0;
    if sys.body_encoding == Encoding::Gzip as i32 {
        sys_flag |= sys_flag::COMPRESSED;
    }
    let transactional = sys.message_type == MessageType::Transaction as i32;
    if transactional {
        sys_flag |= sys_flag::TRANSACTION_PREPARED_TYPE;
        properties.insert(props::TRANSACTION_PREPARED, "true");
        let seconds = sys
            .orphaned_transaction_recovery_duration
            .as_ref()
            .map(|d| d.seconds)
            .unwrap_or(0);
        properties.insert(props::CHECK_IMMUNITY_TIME_IN_SECONDS, seconds.to_string());
    }
    if let Some(at) = sys.delivery_timestamp.as_ref() {
        let at_ms = at
            .seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(at.nanos / 1_000_000));
        let max_delay_ms = shared.broker.timers.max_delay_ms();
        if at_ms - now > max_delay_ms {
            return Err(Failure::new(
                Code::IllegalDeliveryTime,
                format!("delivery time is {} ms away; at most {max_delay_ms} ms (timerMaxDelaySec) is allowed", at_ms - now),
            ));
        }
        properties.insert(props::TIMER_DELIVER_MS, at_ms.to_string());
    }
    properties.insert(
        props::RECONSUME_TIME,
        sys.delivery_attempt.unwrap_or(0).to_string(),
    );
    properties.insert(props::PRODUCER_GROUP, topic);
    if let Some(group) = sys.message_group.as_deref().filter(|g| !g.is_empty()) {
        if group.chars().count() > MAX_MESSAGE_GROUP_CHARS || !control_free(group) {
            return Err(Failure::new(
                Code::IllegalMessageGroup,
                format!("message group is over {MAX_MESSAGE_GROUP_CHARS} characters or holds a control character"),
            ));
        }
        properties.insert(props::SHARDING_KEY, group);
    }
    if let Some(trace) = sys.trace_context.as_deref().filter(|t| !t.is_empty()) {
        properties.insert(props::TRACE_CONTEXT, trace);
    }

    // The topic's message.type, checked as Apache 5.x's proxy does
    // (`enableTopicMessageTypeCheck`, `TopicMessageType.parseFromMessageProperty`).
    if !topics::is_retry_topic(topic) && !topics::is_dlq_topic(topic) {
        let actual = message_type_of(&properties);
        if topic_type != "MIXED" && topic_type != actual {
            return Err(Failure::new(
                Code::MessagePropertyConflictWithType,
                format!("TopicMessageType validate failed, the expected type is {topic_type}, but actual type is {actual}"),
            ));
        }
    }

    let born_timestamp = sys
        .born_timestamp
        .as_ref()
        .map(|t| {
            t.seconds
                .saturating_mul(1000)
                .saturating_add(i64::from(t.nanos / 1_000_000))
        })
        .filter(|t| *t > 0)
        .unwrap_or(now);
    Ok(Prepared {
        body: &m.body,
        properties,
        sys_flag,
        born_timestamp,
        message_id: &sys.message_id,
        transactional,
    })
}

/// `TopicMessageType.parseFromMessageProperty`: what a message's properties make it.
fn message_type_of(p: &Properties) -> &'static str {
    if p.get(props::TRANSACTION_PREPARED) == Some("true") {
        "TRANSACTION"
    } else if [
        props::DELAY_TIME_LEVEL,
        props::TIMER_DELIVER_MS,
        props::TIMER_DELAY_SEC,
        props::TIMER_DELAY_MS,
    ]
    .iter()
    .any(|k| p.get(k).is_some())
    {
        "DELAY"
    } else if p.get(props::SHARDING_KEY).is_some() {
        "FIFO"
    } else {
        "NORMAL"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overall_status_of_a_send() {
        let entry = |code: Code, message: &str| SendResultEntry {
            status: Some(status(code, message)),
            ..SendResultEntry::default()
        };
        assert_eq!(overall_status(&[]).code, Code::InternalServerError as i32);
        let one = overall_status(&[entry(Code::Forbidden, "read-only topic")]);
        assert_eq!(
            (one.code, one.message.as_str()),
            (Code::Forbidden as i32, "read-only topic")
        );
        let ok2 = overall_status(&[entry(Code::Ok, "OK"), entry(Code::Ok, "OK")]);
        assert_eq!(ok2.code, Code::Ok as i32);
        let mixed = [
            entry(Code::Ok, "OK"),
            entry(Code::Forbidden, "x"),
            entry(Code::Ok, "OK"),
        ];
        assert_eq!(overall_status(&mixed).code, Code::MultipleResults as i32);
    }

    #[test]
    fn message_types_from_properties() {
        let mut p = Properties::new();
        assert_eq!(message_type_of(&p), "NORMAL");
        p.insert(props::SHARDING_KEY, "g");
        assert_eq!(message_type_of(&p), "FIFO");
        p.insert(props::TIMER_DELIVER_MS, "1");
        assert_eq!(message_type_of(&p), "DELAY");
        p.insert(props::TRANSACTION_PREPARED, "true");
        assert_eq!(message_type_of(&p), "TRANSACTION");
    }
}
