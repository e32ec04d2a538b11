//! Authentication and authorization of each request, before its processor runs (Apache's
//! `AuthenticationPipeline` and `AuthorizationPipeline`): a refusal is NO_PERMISSION (16)
//! with Apache's message as the remark.
//!
//! What a request needs is `DefaultAuthorizationContextBuilder`'s table: its explicit cases
//! (send, pull, heartbeat, offsets, queue locks, ...) and, for the rest, the resources and
//! actions that the `@RocketMQAction`/`@RocketMQResource` annotations of the request headers
//! declare. A retry topic stands for its group (`%RETRY%g` → `Group:g`). Where Apache checks
//! nothing for a request that changes the broker (the header is not annotated), Petrel asks for
//! `Cluster:{brokerClusterName}` Update; LITE_PULL_MESSAGE and the reply sends are checked as
//! a pull and a send are.

use petrel_auth::{Action, Credentials, Need, Resource};
use petrel_protocol::remoting::body::{HeartbeatData, JsonBody, LockBatchRequestBody};
use petrel_protocol::remoting::{request_code as rc, RemotingCommand};
use petrel_protocol::topic::is_retry_topic;

use crate::state::auth::AuthManager;

use Action::{Create, Delete, Get, Pub, Sub, Update};

/// Checks `request` from `source_ip`; `Err` carries the remark of the refusal.
pub fn check(auth: &AuthManager, request: &RemotingCommand, source_ip: &str) -> Result<(), String> {
    let s = &auth.settings;
    let (authenticating, authorizing) = (s.authenticating(), s.authorizing());
    if !authenticating && !authorizing {
        return Ok(());
    }
    let f = &request.ext_fields;
    let access_key = f.get(petrel_auth::signature::ACCESS_KEY);
    let code = request.code.to_string();
    auth.read(|a| {
        if a.v1_whitelisted(access_key, source_ip) {
            return Ok(());
        }
        if authenticating && !s.authentication_whitelist.contains(&code) {
            a.authenticate(Credentials {
                access_key,
                signature: f.get(petrel_auth::signature::SIGNATURE),
                fields: f.iter(),
                body: &request.body,
                version: request.version,
            })
            .map_err(|e| e.to_string())?;
        }
        if authorizing && !s.authorization_whitelist.contains(&code) {
            for need in needs(request, &auth.cluster) {
                a.authorize(access_key, &need, source_ip)
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    })
}

/// A group resource; a retry (or DLQ) topic name stands for its group (`Resource.ofGroup`).
fn group(name: &str) -> Resource {
    Resource::group(petrel_protocol::topic::group_of_retry_or_dlq(name).unwrap_or(name))
}

/// A topic field: a retry topic is its group.
fn topic_or_group(name: &str) -> Resource {
    if is_retry_topic(name) {
        group(name)
    } else {
        Resource::topic(name)
    }
}

/// What `request` needs (`DefaultAuthorizationContextBuilder.build`).
pub fn needs(request: &RemotingCommand, cluster: &str) -> Vec<Need> {
    let f = &request.ext_fields;
    let get = |k: &str| f.get(k).filter(|v| !v.trim().is_empty());
    let mut out = Vec::new();
    let mut add = |r: Resource, a: &[Action]| out.push(Need::new(r, a));
    // Annotated headers: each listed field (when present) with the header's actions.
    let fields =
        |spec: &[(&str, bool)], actions: &[Action], add: &mut dyn FnMut(Resource, &[Action])| {
            for (name, is_topic) in spec {
                if let Some(v) = get(name) {
                    let r = if *is_topic {
                        topic_or_group(v)
                    } else {
                        group(v)
                    };
                    add(r, actions);
                }
            }
        };
    const T: bool = true;
    const G: bool = false;
    match request.code {
        rc::SEND_MESSAGE | rc::SEND_REPLY_MESSAGE => send_need(
            get("topic"),
            get("group").or(get("producerGroup")),
            &mut add,
        ),
        rc::SEND_MESSAGE_V2 | rc::SEND_BATCH_MESSAGE | rc::SEND_REPLY_MESSAGE_V2 => {
            send_need(get("b"), get("a"), &mut add)
        }
        rc::END_TRANSACTION => {
            if let Some(t) = get("topic") {
                add(Resource::topic(t), &[Pub]);
            }
        }
        rc::CONSUMER_SEND_MSG_BACK => add(group(get("group").unwrap_or_default()), &[Sub]),
        rc::PULL_MESSAGE | rc::LITE_PULL_MESSAGE => {
            if let Some(t) = get("topic").filter(|t| !is_retry_topic(t)) {
                add(Resource::topic(t), &[Sub]);
            }
            add(group(get("consumerGroup").unwrap_or_default()), &[Sub]);
        }
        rc::QUERY_MESSAGE => add(
            topic_or_group(get("topic").unwrap_or_default()),
            &[Sub, Get],
        ),
        rc::HEART_BEAT => {
            if let Ok(hb) = HeartbeatData::decode(&request.body) {
                for c in &hb.consumer_data_set {
                    add(group(&c.group_name), &[Sub]);
                    for s in c
                        .subscription_data_set
                        .iter()
                        .filter(|s| !is_retry_topic(&s.topic))
                    {
                        add(Resource::topic(&s.topic), &[Sub]);
                    }
                }
            }
        }
        rc::UNREGISTER_CLIENT => {
            if let Some(g) = get("consumerGroup") {
                add(group(g), &[Sub]);
            }
        }
        rc::GET_CONSUMER_LIST_BY_GROUP => {
            add(group(get("consumerGroup").unwrap_or_default()), &[Sub, Get])
        }
        rc::QUERY_CONSUMER_OFFSET | rc::UPDATE_CONSUMER_OFFSET => {
            let actions: &[Action] = if request.code == rc::QUERY_CONSUMER_OFFSET {
                &[Sub, Get]
            } else {
                &[Sub, Update]
            };
            if let Some(t) = get("topic").filter(|t| !is_retry_topic(t)) {
                add(Resource::topic(t), actions);
            }
            add(group(get("consumerGroup").unwrap_or_default()), actions);
        }
        rc::LOCK_BATCH_MQ | rc::UNLOCK_BATCH_MQ => {
            if let Ok(body) = LockBatchRequestBody::decode(&request.body) {
                add(group(&body.consumer_group), &[Sub]);
                for mq in body.mq_set.iter().filter(|q| !is_retry_topic(&q.topic)) {
                    add(Resource::topic(&mq.topic), &[Sub]);
                }
            }
        }
        rc::GET_MAX_OFFSET
        | rc::GET_MIN_OFFSET
        | rc::SEARCH_OFFSET_BY_TIMESTAMP
        | rc::GET_EARLIEST_MSG_STORETIME
        | rc::VIEW_MESSAGE_BY_ID
        | rc::GET_TOPIC_CONFIG
        | rc::GET_TOPIC_STATS_INFO
        | rc::QUERY_TOPIC_CONSUME_BY_WHO => fields(&[("topic", T)], &[Get], &mut add),
        rc::UPDATE_AND_CREATE_TOPIC => fields(&[("topic", T)], &[Create], &mut add),
        rc::DELETE_TOPIC_IN_BROKER => fields(&[("topic", T)], &[Delete], &mut add),
        rc::DELETE_SUBSCRIPTIONGROUP => fields(&[("groupName", G)], &[Delete], &mut add),
        rc::GET_SUBSCRIPTIONGROUP_CONFIG => fields(&[("group", G)], &[Get], &mut add),
        rc::GET_CONSUMER_CONNECTION_LIST | rc::GET_CONSUMER_RUNNING_INFO => {
            fields(&[("consumerGroup", G)], &[Get], &mut add)
        }
        rc::QUERY_TOPICS_BY_CONSUMER => fields(&[("group", G)], &[Get], &mut add),
        rc::GET_CONSUME_STATS => fields(&[("consumerGroup", G), ("topic", T)], &[Get], &mut add),
        rc::QUERY_CONSUME_TIME_SPAN
        | rc::QUERY_SUBSCRIPTION_BY_CONSUMER
        | rc::INVOKE_BROKER_TO_GET_CONSUMER_STATUS => {
            fields(&[("topic", T), ("group", G)], &[Get], &mut add)
        }
        rc::QUERY_CONSUME_QUEUE => fields(&[("topic", T), ("consumerGroup", G)], &[Get], &mut add),
        rc::INVOKE_BROKER_TO_RESET_OFFSET => {
            fields(&[("group", G), ("topic", T)], &[Update], &mut add)
        }
        rc::CLONE_GROUP_OFFSET => fields(&[("destGroup", G), ("topic", T)], &[Update], &mut add),
        rc::CONSUME_MESSAGE_DIRECTLY => {
            fields(&[("consumerGroup", G), ("topic", T)], &[Sub], &mut add)
        }
        rc::GET_BROKER_CONSUME_STATS
        | rc::VIEW_BROKER_STATS_DATA
        | rc::GET_PRODUCER_CONNECTION_LIST
        | rc::GET_ALL_PRODUCER_INFO
        | rc::AUTH_GET_USER
        | rc::AUTH_LIST_USER
        | rc::AUTH_GET_ACL
        | rc::AUTH_LIST_ACL => add(Resource::cluster(cluster), &[Get]),
        rc::AUTH_CREATE_USER
        | rc::AUTH_UPDATE_USER
        | rc::AUTH_DELETE_USER
        | rc::AUTH_CREATE_ACL
        | rc::AUTH_UPDATE_ACL
        | rc::AUTH_DELETE_ACL => add(Resource::cluster(cluster), &[Update]),
        // Petrel's own: requests that change the broker with no annotated header in Apache.
        rc::UPDATE_AND_CREATE_TOPIC_LIST
        | rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
        | rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST
        | rc::UPDATE_BROKER_CONFIG
        | rc::DELETE_EXPIRED_COMMITLOG
        | rc::CLEAN_UNUSED_TOPIC => add(Resource::cluster(cluster), &[Update]),
        _ => {}
    }
    out
}

/// A send: Pub on its topic; to a retry topic, Sub on the group.
fn send_need(
    topic: Option<&str>,
    group_name: Option<&str>,
    add: &mut impl FnMut(Resource, &[Action]),
) {
    let topic = topic.unwrap_or_default();
    if is_retry_topic(topic) {
        let g = group_name.unwrap_or(topic);
        add(group(g), &[Sub]);
    } else {
        add(Resource::topic(topic), &[Pub]);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use petrel_protocol::remoting::ExtFields;
    use petrel_protocol::topic::RETRY_GROUP_TOPIC_PREFIX;

    fn request(code: i32, fields: &[(&str, &str)]) -> RemotingCommand {
        RemotingCommand {
            code,
            ext_fields: fields.iter().copied().collect::<ExtFields>(),
            ..RemotingCommand::default()
        }
    }

    fn keys(r: &RemotingCommand) -> Vec<String> {
        needs(r, "C")
            .iter()
            .map(|n| {
                let a: Vec<&str> = n.actions.iter().map(|a| a.name()).collect();
                format!("{} {}", n.resource, a.join("|"))
            })
            .collect()
    }

    #[test]
    fn the_table_follows_apache() {
        assert_eq!(
            keys(&request(
                rc::SEND_MESSAGE_V2,
                &[("a", "pg"), ("b", "orders")]
            )),
            ["Topic:orders Pub"]
        );
        assert_eq!(
            keys(&request(
                rc::SEND_MESSAGE_V2,
                &[("a", "pg"), ("b", &format!("{RETRY_GROUP_TOPIC_PREFIX}cg"))]
            )),
            ["Group:pg Sub"]
        );
        assert_eq!(
            keys(&request(
                rc::PULL_MESSAGE,
                &[("consumerGroup", "cg"), ("topic", "orders")]
            )),
            ["Topic:orders Sub", "Group:cg Sub"]
        );
        assert_eq!(
            keys(&request(
                rc::PULL_MESSAGE,
                &[("consumerGroup", "cg"), ("topic", "%RETRY%cg")]
            )),
            ["Group:cg Sub"]
        );
        assert_eq!(
            keys(&request(rc::UPDATE_AND_CREATE_TOPIC, &[("topic", "t")])),
            ["Topic:t Create"]
        );
        assert_eq!(
            keys(&request(rc::AUTH_CREATE_USER, &[("username", "u")])),
            ["Cluster:C Update"]
        );
        assert_eq!(
            keys(&request(
                rc::UPDATE_CONSUMER_OFFSET,
                &[("consumerGroup", "g"), ("topic", "t")]
            )),
            ["Topic:t Sub|Update", "Group:g Sub|Update"]
        );
        assert!(keys(&request(rc::GET_BROKER_RUNTIME_INFO, &[])).is_empty());
    }

    #[test]
    fn whitelisted_codes_skip_their_check_and_v1_addresses_skip_both() {
        let dir = tempfile::tempdir().unwrap();
        let yml = dir.path().join("plain_acl.yml");
        std::fs::write(
            &yml,
            "globalWhiteRemoteAddresses:\n  - 10.9.*.*\naccounts:\n  - accessKey: a\n    secretKey: b\n",
        )
        .unwrap();
        let settings = crate::config::AuthSettings {
            authentication_enabled: true,
            authorization_enabled: true,
            authentication_whitelist: vec![rc::HEART_BEAT.to_string()],
            authorization_whitelist: vec![rc::HEART_BEAT.to_string()],
            acl_enable: true,
            acl_plain_file: Some(yml),
            ..Default::default()
        };
        let auth = AuthManager::load(dir.path(), &settings, "C").unwrap();
        let heartbeat = request(rc::HEART_BEAT, &[]);
        let send = request(rc::SEND_MESSAGE_V2, &[("a", "pg"), ("b", "t")]);
        assert!(check(&auth, &heartbeat, "1.2.3.4").is_ok());
        assert_eq!(
            check(&auth, &send, "1.2.3.4").unwrap_err(),
            "username cannot be null."
        );
        assert!(check(&auth, &send, "10.9.1.1").is_ok());
    }

    #[test]
    fn heartbeats_need_their_groups_and_topics() {
        let body = br#"{"clientID":"c","consumerDataSet":[{"groupName":"cg","subscriptionDataSet":[
            {"topic":"orders","subString":"*"},{"topic":"%RETRY%cg","subString":"*"}]}],"producerDataSet":[{"groupName":"pg"}]}"#;
        let r = RemotingCommand {
            code: rc::HEART_BEAT,
            body: bytes::Bytes::from_static(body),
            ..RemotingCommand::default()
        };
        assert_eq!(keys(&r), ["Group:cg Sub", "Topic:orders Sub"]);
    }
}
