//! INVOKE_BROKER_TO_RESET_OFFSET (222): an admin tool (mqadmin `resetOffsetByTime`, the
//! dashboard, rocketmq-client-rust's `reset_offset_by_timestamp`) moves a consumer group's
//! offsets on a topic to a point in time, and the group's live members are told with
//! RESET_CONSUMER_CLIENT_OFFSET (220).
//!
//! RocketMQ has two implementations, picked by `useServerSideResetOffset`: `Broker2Client.
//! resetOffset` (the only one up to 5.1) computes the offsets, sends them to the live members
//! and commits nothing, answering CONSUMER_NOT_ONLINE when no member is live (mqadmin then
//! commits the offsets itself with UPDATE_CONSUMER_OFFSET); `resetOffsetInner` (the default
//! from 5.2) commits them, answers SUCCESS, and makes pulls answer OFFSET_MOVED while it
//! refuses the members' own commits until they have pulled from the new offsets. Petrel takes
//! from both:
//!
//! * **Which offsets.** Every read queue of the topic, or only `queueId` when it is ≥ 0 (5.x).
//!   A queue's target is the first message stored at or after `timestamp` (the queue's end if
//!   none), its max offset when `timestamp` is negative, or `offset` when one is given for
//!   `queueId` (it must lie in `[min, max]` of the queue; Java also accepts `max + 1`).
//! * **isForce.** Without it a queue's offset only moves back (`Broker2Client`: the target if
//!   it is below the committed offset, else the committed offset). A queue the group never
//!   committed on takes the target (Java ≤ 5.1 refuses the whole request then). An explicit
//!   `offset` always applies, as in `resetOffsetInner`, which ignores `isForce` altogether.
//! * **Committed here.** The new offsets go into the [`ConsumerOffsetManager`] at once, so a
//!   member that starts later begins from them, and the answer is SUCCESS with the table even
//!   when no member is live (5.2+ behaviour).
//! * **Members told.** Every live member gets a oneway RESET_CONSUMER_CLIENT_OFFSET with the
//!   same table (`Broker2Client`). Java and Rust clients drop their process queues, wait 10 s
//!   for in-flight consumption, commit the new offsets and resume from them. Until then a
//!   member's periodic commit can overwrite what was committed here; its reset commit comes
//!   last. (Petrel does not refuse commits or answer OFFSET_MOVED as 5.2+ does.)
//! * **C++ members** get `ResetOffsetBodyForC` (a list). Java picks the form from the admin
//!   request's language, so a mixed group gets an unreadable body on one side; Petrel picks it
//!   per member from the language of its heartbeat.
//! * The group's retry topic is not reset (neither Java path resets it).
//!
//! [`ConsumerOffsetManager`]: crate::state::consumer_offset::ConsumerOffsetManager

use std::collections::BTreeMap;

use bytes::Bytes;
use petrel_protocol::remoting::body::{
    JsonBody, MessageQueue, ResetOffsetBody, ResetOffsetBodyForC,
};
use petrel_protocol::remoting::header::ResetOffsetRequestHeader;
use petrel_protocol::remoting::{request_code, response_code, LanguageCode, RemotingCommand};

use crate::broker::BrokerInner;
use crate::response::{self, Refusal};

/// INVOKE_BROKER_TO_RESET_OFFSET: commits the group's new offsets, tells its live members, and
/// answers with the new offset of every queue it covered.
pub fn process(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: ResetOffsetRequestHeader = response::header(request)?;
    let topic_config = broker.topics.get(&h.topic).ok_or_else(|| {
        Refusal::new(
            response_code::TOPIC_NOT_EXIST,
            format!("[reset-offset] topic {} does not exist", h.topic),
        )
    })?;
    if !group_known(broker, &h.group, &h.topic) {
        return Err(Refusal::new(
            response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!(
                "[reset-offset] consumer group {} does not exist (no config, no member, no offsets on {})",
                h.group, h.topic
            ),
        ));
    }
    let targets = targets(broker, &h, topic_config.read_queue_nums)
        .map_err(|e| Refusal::new(response_code::SYSTEM_ERROR, format!("[reset-offset] {e}")))?;

    let mut body = ResetOffsetBody::default();
    for (queue_id, target) in targets {
        let committed = broker.offsets.query(&h.group, &h.topic, queue_id);
        let offset = target.resolve(committed, h.is_force);
        if committed != Some(offset) {
            broker.offsets.commit(&h.group, &h.topic, queue_id, offset);
        }
        // A POP group's book follows (it would otherwise go on from where it was).
        broker.pop.reset(
            &crate::pop::QueueKey::new(&h.group, &h.topic, queue_id),
            offset,
        );
        body.offset_table.insert(
            MessageQueue::new(&h.topic, &broker.config.broker_name, queue_id),
            offset,
        );
    }
    let members = notify_members(broker, &h, &body);
    tracing::info!(
        topic = %h.topic,
        group = %h.group,
        timestamp = h.timestamp,
        is_force = h.is_force,
        queues = body.offset_table.len(),
        members,
        "[reset-offset] consumer offsets reset"
    );
    Ok(response::json(request, body.encode()))
}

/// Where a queue should go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Found from a time (or the queue's end): subject to `isForce`.
    Found(i64),
    /// Named by the operator for one queue: always applied.
    Given(i64),
}

impl Target {
    /// The queue's new offset given the group's committed one. Without `is_force` a found
    /// target never moves the group forward.
    pub fn resolve(self, committed: Option<i64>, is_force: bool) -> i64 {
        match (self, committed) {
            (Target::Found(target), Some(committed)) if !is_force && target >= committed => {
                committed
            }
            (Target::Found(target), _) | (Target::Given(target), _) => target,
        }
    }
}

/// Why a reset cannot target what it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("queueId {queue_id} is out of range: topic {topic} has {read_queue_nums} read queues")]
    QueueOutOfRange {
        topic: String,
        queue_id: i32,
        read_queue_nums: i32,
    },
    #[error("offset {offset} is not in queue {topic}:{queue_id} range [{min}, {max}]")]
    OffsetOutOfRange {
        topic: String,
        queue_id: i32,
        offset: i64,
        min: i64,
        max: i64,
    },
}

/// The target of every queue the request covers.
fn targets(
    broker: &BrokerInner,
    h: &ResetOffsetRequestHeader,
    read_queue_nums: i32,
) -> Result<BTreeMap<i32, Target>, TargetError> {
    if h.queue_id < 0 {
        return Ok((0..read_queue_nums)
            .map(|queue_id| (queue_id, Target::Found(offset_at(broker, h, queue_id))))
            .collect());
    }
    if h.queue_id >= read_queue_nums {
        return Err(TargetError::QueueOutOfRange {
            topic: h.topic.clone(),
            queue_id: h.queue_id,
            read_queue_nums,
        });
    }
    let target = match h.offset.filter(|o| *o != -1) {
        Some(offset) => {
            let min = broker.store.get_min_offset_in_queue(&h.topic, h.queue_id);
            let max = broker.store.get_max_offset_in_queue(&h.topic, h.queue_id);
            if offset < min || offset > max {
                return Err(TargetError::OffsetOutOfRange {
                    topic: h.topic.clone(),
                    queue_id: h.queue_id,
                    offset,
                    min,
                    max,
                });
            }
            Target::Given(offset)
        }
        None => Target::Found(offset_at(broker, h, h.queue_id)),
    };
    Ok(BTreeMap::from([(h.queue_id, target)]))
}

/// The first offset at or after the request's time; the queue's end for a negative time.
fn offset_at(broker: &BrokerInner, h: &ResetOffsetRequestHeader, queue_id: i32) -> i64 {
    let offset = if h.timestamp < 0 {
        broker.store.get_max_offset_in_queue(&h.topic, queue_id)
    } else {
        broker.store.get_offset_in_queue_by_time(
            &h.topic,
            queue_id,
            h.timestamp,
            petrel_store::BoundaryType::Lower,
        )
    };
    offset.max(0)
}

/// A group is known if it has a config, a live member, or offsets on the topic (groups that
/// only ever committed offsets have no config when `autoCreateSubscriptionGroup` created none).
fn group_known(broker: &BrokerInner, group: &str, topic: &str) -> bool {
    broker.groups.get(group).is_some()
        || broker.clients.consumer_group(group).is_some()
        || !broker.offsets.offsets_of(group, topic).is_empty()
}

/// Sends RESET_CONSUMER_CLIENT_OFFSET to every live member of the group; returns how many.
fn notify_members(
    broker: &BrokerInner,
    h: &ResetOffsetRequestHeader,
    body: &ResetOffsetBody,
) -> usize {
    let Some(info) = broker.clients.consumer_group(&h.group) else {
        return 0;
    };
    // What Broker2Client sends: topic, group, timestamp, and the primitives' defaults.
    let header = ResetOffsetRequestHeader {
        topic: h.topic.clone(),
        group: h.group.clone(),
        timestamp: h.timestamp,
        is_force: h.is_force,
        ..Default::default()
    };
    let map_body = Bytes::from(body.encode());
    let list_body = Bytes::from(ResetOffsetBodyForC::from(body).encode());
    for member in info.clients.values() {
        let body = match member.language {
            LanguageCode::Cpp => list_body.clone(),
            _ => map_body.clone(),
        };
        let request = RemotingCommand::request(request_code::RESET_CONSUMER_CLIENT_OFFSET)
            .with_header(&header)
            .with_body(body);
        let connection = member.connection.clone();
        let client_id = member.client_id.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.invoke_oneway(request).await {
                tracing::warn!(client = %client_id, error = %e, "[reset-offset] could not tell a consumer");
            }
        });
    }
    info.clients.len()
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn forced_resets_move_either_way() {
        assert_eq!(Target::Found(3).resolve(Some(10), true), 3);
        assert_eq!(Target::Found(30).resolve(Some(10), true), 30);
    }

    #[test]
    fn unforced_resets_only_move_back() {
        assert_eq!(Target::Found(3).resolve(Some(10), false), 3);
        assert_eq!(Target::Found(30).resolve(Some(10), false), 10);
        assert_eq!(Target::Found(10).resolve(Some(10), false), 10);
    }

    #[test]
    fn a_queue_never_committed_takes_the_target() {
        assert_eq!(Target::Found(7).resolve(None, false), 7);
    }

    #[test]
    fn a_given_offset_always_applies() {
        assert_eq!(Target::Given(30).resolve(Some(10), false), 30);
    }
}
