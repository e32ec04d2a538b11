//! The checks every message the broker accepts goes through, shared by SEND_MESSAGE(_V2),
//! SEND_BATCH_MESSAGE (`send.rs`), SEND_REPLY_MESSAGE(_V2) (`reply.rs`) and
//! CONSUMER_SEND_MSG_BACK (`send_back.rs`). They mirror RocketMQ's
//! `AbstractSendMessageProcessor.msgCheck` (same codes, clearer remarks): the broker takes
//! writes, the topic name is legal, the topic is writable, the queue exists, the body fits.
//!
//! Each returns the [`Refusal`] to answer with, so a processor chains them with `?`. Nothing
//! here builds or stores a message.

use std::net::SocketAddr;

use petrel_protocol::name::check_topic;
use petrel_protocol::perm::is_writeable;
use petrel_protocol::remoting::body::TopicConfig;
use petrel_protocol::remoting::response_code;
use petrel_protocol::topic::is_not_allowed_send_topic;

use crate::broker::BrokerInner;
use crate::processor::destination::DLQ_QUEUE_NUMS;
use crate::response::Refusal;

/// The broker takes writes: it is a master (a slave answers SERVICE_NOT_AVAILABLE, as
/// RocketMQ's does) and `brokerPermission` has the write bit (name servers may wipe it).
pub(crate) fn broker_writable(broker: &BrokerInner) -> Result<(), Refusal> {
    crate::replica::refuse_on_slave(broker)?;
    if broker.is_writable() {
        Ok(())
    } else {
        Err(Refusal::new(
            response_code::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                broker.config.broker_name
            ),
        ))
    }
}

/// The first checks of any send (`msgCheck`): the broker takes writes and the topic name is
/// legal.
pub(crate) fn refuse_send(broker: &BrokerInner, topic: &str) -> Result<(), Refusal> {
    broker_writable(broker)?;
    check_topic(topic).map_err(|problem| {
        Refusal::new(
            response_code::SYSTEM_ERROR,
            format!("The specified topic is invalid: {problem}"),
        )
    })
}

/// Producers may not send to the broker's internal topics (delay, timer, transaction, ...).
pub(crate) fn allowed_send_topic(topic: &str) -> Result<(), Refusal> {
    if is_not_allowed_send_topic(topic) {
        Err(Refusal::new(
            response_code::NO_PERMISSION,
            format!("Sending message to topic[{topic}] is forbidden."),
        ))
    } else {
        Ok(())
    }
}

/// The topic takes writes (its `perm` has the write bit).
pub(crate) fn writable_topic(topic_config: &TopicConfig) -> Result<(), Refusal> {
    if is_writeable(topic_config.perm) {
        Ok(())
    } else {
        Err(Refusal::new(
            response_code::NO_PERMISSION,
            format!(
                "the topic[{}] sending message is forbidden",
                topic_config.topic_name
            ),
        ))
    }
}

/// The queue a send goes to (`msgCheck`'s second half): the topic must be writable, a negative
/// queue id lets the broker pick a writable queue, and the id must exist.
pub(crate) fn writable_queue(
    topic_config: &TopicConfig,
    wanted: i32,
    producer: SocketAddr,
) -> Result<i32, Refusal> {
    writable_topic(topic_config)?;
    let topic = &topic_config.topic_name;
    let queue_count = topic_config
        .write_queue_nums
        .max(topic_config.read_queue_nums);
    let queue_id = if wanted < 0 {
        random_queue_id(topic_config.write_queue_nums)
    } else {
        wanted
    };
    if queue_id >= queue_count {
        return Err(Refusal::new(
            response_code::SYSTEM_ERROR,
            format!(
                "request queueId[{queue_id}] is illegal, topic {topic} has {queue_count} queues, \
                 producer {producer}"
            ),
        ));
    }
    Ok(queue_id)
}

/// A single message's body fits `maxMessageSize`.
pub(crate) fn body_fits(body_len: usize, max_body: usize) -> Result<(), Refusal> {
    if body_len > max_body {
        Err(Refusal::new(
            response_code::MESSAGE_ILLEGAL,
            format!("the message body size over max value, MAX: {max_body}"),
        ))
    } else {
        Ok(())
    }
}

/// The dead-letter topic of a message the DLQ rule (`destination::dead_letter`) sent there:
/// created if missing ([`DLQ_QUEUE_NUMS`] read-write queues) and writable. An operator makes a
/// DLQ read-only to stop dead letters from piling up; the message is then refused with
/// NO_PERMISSION rather than stored.
pub(crate) fn dead_letter_topic(broker: &BrokerInner, dlq: &str) -> Result<(), Refusal> {
    let config = broker.create_retry_or_dlq_topic(dlq, DLQ_QUEUE_NUMS);
    writable_topic(&config)
}

/// A queue of a topic with `write_queue_nums` queues, picked at random (producers that leave
/// the queue to the broker; retries spread over the retry topic's queues).
pub(crate) fn random_queue_id(write_queue_nums: i32) -> i32 {
    let bound = u32::try_from(write_queue_nums.max(1)).unwrap_or(1);
    i32::try_from(random_u32() % bound).unwrap_or(0)
}

/// A cheap random number (std's per-process random hasher keys, fed the current time).
fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use petrel_protocol::perm::{PERM_READ, PERM_WRITE};

    fn topic(perm: i32, write: i32, read: i32) -> TopicConfig {
        TopicConfig {
            topic_name: "Orders".into(),
            read_queue_nums: read,
            write_queue_nums: write,
            perm,
            ..TopicConfig::default()
        }
    }

    fn producer() -> SocketAddr {
        "127.0.0.1:5555".parse().unwrap()
    }

    #[test]
    fn a_queue_must_exist_and_the_topic_take_writes() {
        let rw = topic(PERM_READ | PERM_WRITE, 4, 8);
        assert_eq!(writable_queue(&rw, 7, producer()), Ok(7));
        assert_eq!(
            writable_queue(&rw, 8, producer()),
            Err(Refusal::new(
                response_code::SYSTEM_ERROR,
                "request queueId[8] is illegal, topic Orders has 8 queues, producer \
                 127.0.0.1:5555"
            ))
        );
        assert_eq!(
            writable_queue(&topic(PERM_READ, 4, 4), 0, producer()),
            Err(Refusal::new(
                response_code::NO_PERMISSION,
                "the topic[Orders] sending message is forbidden"
            ))
        );
    }

    #[test]
    fn a_queue_left_to_the_broker_is_a_write_queue() {
        let rw = topic(PERM_READ | PERM_WRITE, 2, 8);
        for _ in 0..64 {
            let q = writable_queue(&rw, -1, producer()).unwrap();
            assert!((0..2).contains(&q), "{q}");
        }
        assert_eq!(random_queue_id(0), 0);
        assert_eq!(random_queue_id(-3), 0);
    }

    #[test]
    fn internal_topics_and_big_bodies_are_refused() {
        assert_eq!(
            allowed_send_topic("SCHEDULE_TOPIC_XXXX").unwrap_err().code,
            response_code::NO_PERMISSION
        );
        assert!(allowed_send_topic("Orders").is_ok());
        assert!(body_fits(10, 10).is_ok());
        assert_eq!(
            body_fits(11, 10),
            Err(Refusal::new(
                response_code::MESSAGE_ILLEGAL,
                "the message body size over max value, MAX: 10"
            ))
        );
    }
}
