//! Server-side rebalance (5.x): `QUERY_ASSIGNMENT` (400), `SET_MESSAGE_REQUEST_MODE` (401) and
//! `GET_ALL_MESSAGE_REQUEST_MODE` (402): `QueryAssignmentRequestBody.java`,
//! `QueryAssignmentResponseBody.java`, `MessageQueueAssignment.java`,
//! `SetMessageRequestModeRequestBody.java`, `MessageRequestMode.java`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{json_body, lenient_enum, MessageModel, MessageQueue, MessageRequestMode};

/// `QueryAssignmentRequestBody.java`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryAssignmentRequestBody {
    pub topic: String,
    pub consumer_group: String,
    pub client_id: String,
    pub strategy_name: String,
    #[serde(
        deserialize_with = "lenient_enum",
        skip_serializing_if = "Option::is_none"
    )]
    pub message_model: Option<MessageModel>,
}

/// `MessageQueueAssignment.java`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQueueAssignment {
    pub message_queue: MessageQueue,
    pub mode: MessageRequestMode,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attachments: Option<BTreeMap<String, String>>,
}

/// `QueryAssignmentResponseBody.java`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryAssignmentResponseBody {
    pub message_queue_assignments: Vec<MessageQueueAssignment>,
}

/// `SetMessageRequestModeRequestBody.java` (also what `config/messageRequestMode.json` keeps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetMessageRequestModeRequestBody {
    #[serde(default)]
    pub topic: String,
    #[serde(default)]
    pub consumer_group: String,
    #[serde(default = "pull")]
    pub mode: MessageRequestMode,
    #[serde(default)]
    pub pop_share_queue_num: i32,
}

fn pull() -> MessageRequestMode {
    MessageRequestMode::Pull
}

json_body!(
    QueryAssignmentRequestBody,
    QueryAssignmentResponseBody,
    SetMessageRequestModeRequestBody
);

#[cfg(test)]
mod tests {
    use super::super::JsonBody;
    use super::*;

    #[test]
    fn bodies_read_what_java_writes() {
        let req = QueryAssignmentRequestBody::decode(
            br#"{"clientId":"c1","consumerGroup":"G","messageModel":"CLUSTERING","strategyName":"AVG","topic":"T"}"#,
        )
        .unwrap();
        assert_eq!(req.message_model, Some(MessageModel::Clustering));
        let mode = SetMessageRequestModeRequestBody::decode(
            br#"{"consumerGroup":"G","mode":"POP","popShareQueueNum":0,"topic":"T"}"#,
        )
        .unwrap();
        assert_eq!(mode.mode, MessageRequestMode::Pop);
        let body = QueryAssignmentResponseBody {
            message_queue_assignments: vec![MessageQueueAssignment {
                message_queue: MessageQueue::new("T", "b", -1),
                mode: MessageRequestMode::Pop,
                attachments: None,
            }],
        };
        let text = String::from_utf8(body.encode()).unwrap();
        assert!(text.contains(r#""mode":"POP""#), "{text}");
        assert!(text.contains(r#""queueId":-1"#), "{text}");
    }
}
