//! Queue locks for orderly consumers (`LOCK_BATCH_MQ` 41, `UNLOCK_BATCH_MQ` 42) and the
//! consumer list (`GET_CONSUMER_LIST_BY_GROUP` 38).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{json_body, MessageQueue};

/// `LockBatchRequestBody.java`: lock these queues for this client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchRequestBody {
    /// Java's spelling here is `clientId` (unlike `HeartbeatData.clientID`).
    pub client_id: String,
    pub consumer_group: String,
    pub mq_set: BTreeSet<MessageQueue>,
    pub only_this_broker: bool,
}

/// `UnlockBatchRequestBody.java` has exactly the fields of the lock request.
pub type UnlockBatchRequestBody = LockBatchRequestBody;

/// `LockBatchResponseBody.java`: the queues now locked by the requesting client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LockBatchResponseBody {
    #[serde(rename = "lockOKMQSet")]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

/// `GetConsumerListByGroupResponseBody.java`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerListByGroupResponseBody {
    pub consumer_id_list: Vec<String>,
}

json_body!(
    LockBatchRequestBody,
    LockBatchResponseBody,
    ConsumerListByGroupResponseBody
);

#[cfg(test)]
mod tests {
    use super::super::JsonBody;
    use super::*;

    #[test]
    fn lock_bodies_use_java_names() {
        let body = LockBatchResponseBody {
            lock_ok_mq_set: [MessageQueue::new("t", "b", 1)].into_iter().collect(),
        };
        assert_eq!(
            body.encode(),
            br#"{"lockOKMQSet":[{"brokerName":"b","queueId":1,"topic":"t"}]}"#.to_vec()
        );
        let request = LockBatchRequestBody::decode(
            br#"{"consumerGroup":"g","clientId":"c","onlyThisBroker":true,"mqSet":[{"topic":"t","brokerName":"b","queueId":0}]}"#,
        )
        .unwrap();
        assert!(request.only_this_broker);
        assert_eq!(request.mq_set.len(), 1);
        assert_eq!(
            ConsumerListByGroupResponseBody {
                consumer_id_list: vec!["a".into()]
            }
            .encode(),
            br#"{"consumerIdList":["a"]}"#.to_vec()
        );
    }
}
