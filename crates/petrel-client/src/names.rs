//! What the client refuses to name before anything reaches a broker: the protocol's one rule
//! for topic and group names ([`petrel_protocol::name`], the broker's own limits), and sends to
//! `TBW102`, the auto-create template, which a broker must never store messages in.
//!
//! Refusing here gives the caller the rule at once ("the group name is 121 characters; at most
//! 120 are allowed") instead of a broker's refusal after a round trip.

use petrel_protocol::name;
use petrel_protocol::topic::AUTO_CREATE_TOPIC_KEY_TOPIC;

use crate::error::{ClientError, Result};

/// A topic a producer may send to or a consumer may subscribe: [`name::check_topic`], and not
/// the auto-create template.
pub(crate) fn check_topic(topic: &str) -> Result<()> {
    name::check_topic(topic)?;
    if topic == AUTO_CREATE_TOPIC_KEY_TOPIC {
        return Err(ClientError::InvalidArgument(format!(
            "{topic} is the broker's auto-create template; messages cannot be sent to it"
        )));
    }
    Ok(())
}

/// A producer or consumer group name: [`name::check_group`].
pub(crate) fn check_group(group: &str) -> Result<()> {
    Ok(name::check_group(group)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use petrel_protocol::name::GROUP_MAX_LENGTH;

    #[test]
    fn topic_rules_are_the_protocol_s_plus_the_auto_create_template() {
        assert!(check_topic("Orders_2024-a%b|c").is_ok());
        assert!(check_topic(&"x".repeat(127)).is_ok());
        let err = check_topic(&"x".repeat(128)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid argument: the topic name is 128 characters; at most 127 are allowed"
        );
        // Retry and dead-letter topics follow the broker's longer limit.
        assert!(check_topic(&format!("%RETRY%{}", "g".repeat(200))).is_ok());
        assert!(check_topic("").is_err());
        let err = check_topic("bad topic").unwrap_err();
        assert!(
            matches!(err, ClientError::InvalidArgument(ref s) if s.contains("' '")),
            "{err}"
        );
        let err = check_topic("TBW102").unwrap_err();
        assert!(err.to_string().contains("auto-create template"), "{err}");
    }

    #[test]
    fn groups_longer_than_the_broker_accepts_are_refused() {
        assert!(check_group("g1").is_ok());
        assert!(check_group(&"g".repeat(GROUP_MAX_LENGTH)).is_ok());
        // 121 to 255 characters passed this check before the name rule moved to the protocol.
        for length in [GROUP_MAX_LENGTH + 1, 255] {
            let err = check_group(&"g".repeat(length)).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid argument: the group name is {length} characters; at most 120 are \
                     allowed"
                )
            );
        }
        assert!(check_group("g 1").is_err());
        assert!(check_group("").is_err());
    }
}
