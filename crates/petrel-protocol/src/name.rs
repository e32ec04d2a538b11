//! The rules for topic and group names, in one place for client, broker and store
//! (RocketMQ `TopicValidator` and the client's `Validators`).
//!
//! Names are 1 or more of `[%|a-zA-Z0-9_-]`. A topic is at most [`TOPIC_MAX_LENGTH`] characters
//! (a V1 record stores its length in a signed byte); a retry or dead-letter topic
//! (`%RETRY%{group}`, `%DLQ%{group}`) may reach [`RETRY_OR_DLQ_TOPIC_MAX_LENGTH`]. A group is
//! at most [`GROUP_MAX_LENGTH`] characters, so that its retry topic (7 more characters) is still
//! an ordinary-length topic (`shared/protocol/remoting-protocol.md`, name validation). Apache's
//! Java client alone checks 255 for groups; Petrel's client applies the broker's 120, so it
//! refuses at once what a broker would refuse later.

use crate::topic::{is_dlq_topic, is_retry_topic};

/// Longest topic a client may name.
pub const TOPIC_MAX_LENGTH: usize = 127;
/// Longest retry or dead-letter topic; also the longest topic the store accepts.
pub const RETRY_OR_DLQ_TOPIC_MAX_LENGTH: usize = 255;
/// Longest consumer or producer group name.
pub const GROUP_MAX_LENGTH: usize = 120;

/// Why a topic or group name is refused. The message names the rule, so it can go into a
/// response remark or a client error as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the {kind} name is empty")]
    Empty { kind: NameKind },
    #[error(
        "the {kind} name {name:?} contains {bad:?}; only letters, digits, '%', '|', '_' and '-' \
         are allowed"
    )]
    IllegalCharacter {
        kind: NameKind,
        name: String,
        bad: char,
    },
    #[error("the {kind} name is {length} characters; at most {max} are allowed")]
    TooLong {
        kind: NameKind,
        length: usize,
        max: usize,
    },
}

/// What a [`NameError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Topic,
    Group,
}

impl std::fmt::Display for NameKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NameKind::Topic => "topic",
            NameKind::Group => "group",
        })
    }
}

/// Is `c` allowed in a topic or group name (`^[%|a-zA-Z0-9_-]+$`)?
pub fn is_legal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')
}

/// Checks a topic name: legal characters, at most [`TOPIC_MAX_LENGTH`] (or
/// [`RETRY_OR_DLQ_TOPIC_MAX_LENGTH`] for retry and dead-letter topics).
pub fn check_topic(topic: &str) -> Result<(), NameError> {
    let max = if is_retry_topic(topic) || is_dlq_topic(topic) {
        RETRY_OR_DLQ_TOPIC_MAX_LENGTH
    } else {
        TOPIC_MAX_LENGTH
    };
    check(NameKind::Topic, topic, max)
}

/// Checks a consumer or producer group name: legal characters, at most [`GROUP_MAX_LENGTH`].
pub fn check_group(group: &str) -> Result<(), NameError> {
    check(NameKind::Group, group, GROUP_MAX_LENGTH)
}

/// Can the store hold a record of this topic? The widest form of [`check_topic`]: legal
/// characters and at most [`RETRY_OR_DLQ_TOPIC_MAX_LENGTH`], whatever the prefix. Recovery uses
/// it to tell a record from garbage, so it must accept every topic a broker ever wrote; topics
/// also name ConsumeQueue directories, which is why the character rule holds here too.
pub fn is_storable_topic(topic: &str) -> bool {
    check(NameKind::Topic, topic, RETRY_OR_DLQ_TOPIC_MAX_LENGTH).is_ok()
}

fn check(kind: NameKind, name: &str, max: usize) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty { kind });
    }
    if let Some(bad) = name.chars().find(|&c| !is_legal_char(c)) {
        return Err(NameError::IllegalCharacter {
            kind,
            name: name.to_owned(),
            bad,
        });
    }
    // Legal names are ASCII, so bytes are characters.
    if name.len() > max {
        return Err(NameError::TooLong {
            kind,
            length: name.len(),
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_follow_topic_validator() {
        assert!(check_topic("TopicTest_1-%|").is_ok());
        assert!(check_topic(&"t".repeat(TOPIC_MAX_LENGTH)).is_ok());
        assert_eq!(
            check_topic(&"t".repeat(128)),
            Err(NameError::TooLong {
                kind: NameKind::Topic,
                length: 128,
                max: 127
            })
        );
        assert!(check_topic(&format!("%RETRY%{}", "g".repeat(200))).is_ok());
        assert!(check_topic(&format!("%DLQ%{}", "g".repeat(251))).is_err());
        assert_eq!(
            check_topic("").unwrap_err().to_string(),
            "the topic name is empty"
        );
        let err = check_topic("bad topic").unwrap_err();
        assert!(err.to_string().contains("contains ' '"), "{err}");
        assert!(check_topic("é").is_err());
    }

    #[test]
    fn groups_stop_at_120_characters() {
        assert!(check_group("cg").is_ok());
        assert!(check_group(&"g".repeat(GROUP_MAX_LENGTH)).is_ok());
        let err = check_group(&"g".repeat(121)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the group name is 121 characters; at most 120 are allowed"
        );
        assert!(check_group("g/../x").is_err());
        // A group's retry topic is always a legal topic.
        assert!(check_topic(&crate::topic::retry_topic(&"g".repeat(120))).is_ok());
    }

    #[test]
    fn the_store_accepts_every_topic_a_broker_writes() {
        assert!(is_storable_topic(&"t".repeat(255)));
        assert!(!is_storable_topic(&"t".repeat(256)));
        assert!(!is_storable_topic("../etc"));
        assert!(!is_storable_topic(""));
    }
}
