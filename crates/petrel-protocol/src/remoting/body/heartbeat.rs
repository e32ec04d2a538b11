//! `HEART_BEAT` (34) body: `HeartbeatData.java`, `ProducerData.java`, `ConsumerData.java`,
//! `SubscriptionData.java`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{json_body, lenient_enum, ConsumeFromWhere, ConsumeType, MessageModel};

/// What a client tells each broker every 30 s: who it is and which groups it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    /// Java's spelling: `clientID`.
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub consumer_data_set: Vec<ConsumerData>,
    /// 5.x heartbeat v2: a hash of the rest, so an unchanged heartbeat can skip the data.
    pub heartbeat_fingerprint: i32,
    pub producer_data_set: Vec<ProducerData>,
    /// 5.x heartbeat v2 (`isWithoutSub`): subscriptions omitted because they did not change.
    pub without_sub: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    pub group_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    #[serde(
        deserialize_with = "lenient_enum",
        skip_serializing_if = "Option::is_none"
    )]
    pub consume_from_where: Option<ConsumeFromWhere>,
    #[serde(
        deserialize_with = "lenient_enum",
        skip_serializing_if = "Option::is_none"
    )]
    pub consume_type: Option<ConsumeType>,
    pub group_name: String,
    #[serde(
        deserialize_with = "lenient_enum",
        skip_serializing_if = "Option::is_none"
    )]
    pub message_model: Option<MessageModel>,
    pub subscription_data_set: Vec<SubscriptionData>,
    pub unit_mode: bool,
}

/// One topic subscription of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    pub class_filter_mode: bool,
    /// Java `String.hashCode` of each tag in `tags_set`.
    pub code_set: BTreeSet<i32>,
    /// `TAG` (default) or `SQL92`.
    pub expression_type: String,
    /// The expression as the user wrote it: `*`, `a || b`, or SQL92.
    pub sub_string: String,
    /// Version of the subscription: the client's clock when it was made, ms.
    pub sub_version: i64,
    pub tags_set: BTreeSet<String>,
    pub topic: String,
}

impl Default for SubscriptionData {
    fn default() -> Self {
        SubscriptionData {
            class_filter_mode: false,
            code_set: BTreeSet::new(),
            expression_type: "TAG".into(),
            sub_string: String::new(),
            sub_version: 0,
            tags_set: BTreeSet::new(),
            topic: String::new(),
        }
    }
}

json_body!(HeartbeatData);

#[cfg(test)]
mod tests {
    use super::super::JsonBody;
    use super::*;

    #[test]
    fn decodes_a_java_heartbeat() {
        let body = br#"{"clientID":"10.0.0.5@1234","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"cg","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":1700000000000,"tagsSet":["TagA"],"topic":"TopicTest"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}"#;
        let hb = HeartbeatData::decode(body).unwrap();
        assert_eq!(hb.client_id, "10.0.0.5@1234");
        let consumer = &hb.consumer_data_set[0];
        assert_eq!(consumer.consume_type, Some(ConsumeType::ConsumePassively));
        assert_eq!(consumer.message_model, Some(MessageModel::Clustering));
        assert_eq!(consumer.subscription_data_set[0].topic, "TopicTest");
        assert_eq!(hb.encode(), body.to_vec());
    }

    #[test]
    fn decodes_a_cpp_heartbeat_with_ordinals_and_nulls() {
        let body = br#"{"clientID":"c","consumerDataSet":[{"consumeFromWhere":4,"consumeType":1,"groupName":"g","messageModel":0,"subscriptionDataSet":[{"topic":"t","subString":"*","tagsSet":null,"subVersion":5}],"unitMode":false,"somethingNew":1}],"producerDataSet":null}"#;
        let hb = HeartbeatData::decode(body).unwrap();
        let consumer = &hb.consumer_data_set[0];
        assert_eq!(
            consumer.consume_from_where,
            Some(ConsumeFromWhere::ConsumeFromFirstOffset)
        );
        assert_eq!(consumer.consume_type, Some(ConsumeType::ConsumePassively));
        assert_eq!(consumer.message_model, Some(MessageModel::Broadcasting));
        assert!(consumer.subscription_data_set[0].tags_set.is_empty());
        assert_eq!(consumer.subscription_data_set[0].expression_type, "TAG");
        assert!(hb.producer_data_set.is_empty());
    }

    /// The C++ client family (rocketmq-client-cpp 2.x, behind the Python, Go-cgo and PHP
    /// clients) builds its heartbeat with jsoncpp's `FastWriter`: keys sorted, no `unitMode`,
    /// `subVersion` written with `UtilAll::to_string` (a JSON string), empty sets left out,
    /// and a trailing newline (`HeartbeatData.h`, `SubscriptionData.cpp`).
    #[test]
    fn decodes_a_cpp_client_heartbeat_with_numbers_in_strings() {
        let body = b"{\"clientID\":\"10.0.0.5@31337#1795500287\",\"consumerDataSet\":[{\"consumeFromWhere\":\"CONSUME_FROM_LAST_OFFSET\",\"consumeType\":\"CONSUME_PASSIVELY\",\"groupName\":\"cpp_cg\",\"messageModel\":\"CLUSTERING\",\"subscriptionDataSet\":[{\"codeSet\":[2598919,2598920],\"subString\":\"TagA||TagB\",\"subVersion\":\"1795500287276\",\"tagsSet\":[\"TagA\",\"TagB\"],\"topic\":\"CppTopic\"},{\"subString\":\"*\",\"subVersion\":\"1795500287277\",\"topic\":\"%RETRY%cpp_cg\"}]}],\"producerDataSet\":[{\"groupName\":\"CLIENT_INNER_PRODUCER\"}]}\n";
        let hb = HeartbeatData::decode(body).unwrap();
        let consumer = &hb.consumer_data_set[0];
        assert_eq!(consumer.group_name, "cpp_cg");
        let tags = &consumer.subscription_data_set[0];
        assert_eq!(tags.sub_version, 1_795_500_287_276);
        assert_eq!(tags.code_set.len(), 2);
        assert_eq!(tags.tags_set.len(), 2);
        let retry = &consumer.subscription_data_set[1];
        assert_eq!(retry.topic, "%RETRY%cpp_cg");
        assert_eq!(retry.sub_version, 1_795_500_287_277);
        assert!(retry.tags_set.is_empty() && retry.code_set.is_empty());
        assert_eq!(hb.producer_data_set[0].group_name, "CLIENT_INNER_PRODUCER");
    }

    /// The Go client (rocketmq-client-go v2) writes a tag subscription's `codeSet` as strings.
    #[test]
    fn decodes_a_go_client_heartbeat_with_codes_in_strings() {
        let body = br#"{"clientID":"10.0.0.6@4242","producerDataSet":[],"consumerDataSet":[{"groupName":"go_cg","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","subscriptionDataSet":[{"classFilterMode":false,"topic":"GoTopic","subString":"TagA","tagsSet":["TagA"],"codeSet":["2598919"],"subVersion":1795500287276,"expressionType":"TAG"}],"unitMode":false}]}"#;
        let hb = HeartbeatData::decode(body).unwrap();
        let sub = &hb.consumer_data_set[0].subscription_data_set[0];
        assert_eq!(
            sub.code_set.iter().copied().collect::<Vec<_>>(),
            [2_598_919]
        );
        assert_eq!(sub.sub_version, 1_795_500_287_276);
    }

    #[test]
    fn unknown_enum_values_read_as_none() {
        let body = br#"{"consumerDataSet":[{"consumeType":"CONSUME_SIDEWAYS","messageModel":7}]}"#;
        let hb = HeartbeatData::decode(body).unwrap();
        assert_eq!(hb.consumer_data_set[0].consume_type, None);
        assert_eq!(hb.consumer_data_set[0].message_model, None);
    }
}

/// `CHECK_CLIENT_CONFIG` (46) body (`CheckClientRequestBody.java`): a consumer asks whether the
/// broker can serve its subscription's filter before it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckClientRequestBody {
    pub client_id: String,
    pub group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<SubscriptionData>,
}

json_body!(CheckClientRequestBody);

#[cfg(test)]
mod check_client_tests {
    use super::*;
    use crate::remoting::body::JsonBody;

    #[test]
    fn check_client_bodies_read_leniently() {
        let java = br#"{"clientId":"c","group":"g","subscriptionData":{"classFilterMode":false,"codeSet":[],"expressionType":"SQL92","subString":"a > 1","subVersion":"17","tagsSet":[],"topic":"t"}}"#;
        let body = CheckClientRequestBody::decode(java).unwrap();
        let sub = body.subscription_data.unwrap();
        assert_eq!(
            (sub.expression_type.as_str(), sub.sub_version),
            ("SQL92", 17)
        );
        assert!(CheckClientRequestBody::decode(b"not json").is_err());
    }
}
