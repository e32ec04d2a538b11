//! The client's one layer of name-server requests, one function per request code as in
//! [`crate::broker_api`]: `GET_ROUTEINFO_BY_TOPIC` (105), `GET_BROKER_CLUSTER_INFO` (106),
//! `GET_ALL_TOPIC_LIST_FROM_NAMESERVER` (206), `GET_KV_CONFIG` (101), `PUT_KV_CONFIG` (100) and
//! `DELETE_TOPIC_IN_NAMESRV` (216).
//!
//! Reads go to one name server, the next one after a transport failure
//! ([`ClientInstance::invoke_namesrv`]); writes go to every configured name server, since each
//! keeps its own tables, and fail on the first that cannot be reached or refuses. Route caching
//! is the instance's business; this layer always asks.

use std::collections::BTreeSet;

use petrel_protocol::remoting::body::{ClusterInfo, TopicList, TopicRouteData};
use petrel_protocol::remoting::header::{
    DeleteTopicFromNamesrvRequestHeader, GetKVConfigRequestHeader, GetKVConfigResponseHeader,
    GetRouteInfoRequestHeader, PutKVConfigRequestHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};

use crate::error::{transport_failure, ClientError, Result};
use crate::instance::ClientInstance;
use crate::response::{body, header, refused, success};

/// How errors name the peer when any name server may have answered.
const NAME_SERVER: &str = "name server";

/// `GET_ROUTEINFO_BY_TOPIC`: the route of `topic` ([`ClientError::NoRoute`] when no name server
/// knows it). Asks for standard JSON (what clients from 4.9.4 on ask for).
pub(crate) async fn get_route_info_by_topic(
    instance: &ClientInstance,
    topic: &str,
) -> Result<TopicRouteData> {
    let h = GetRouteInfoRequestHeader {
        topic: topic.to_string(),
        accept_standard_json_only: Some(true),
        ..Default::default()
    };
    let request = RemotingCommand::request(rc::GET_ROUTEINFO_BY_TOPIC).with_header(&h);
    let response = instance.invoke_namesrv(request).await?;
    match response.code {
        code::SUCCESS => body(NAME_SERVER, &format!("route of {topic}"), &response.body),
        code::TOPIC_NOT_EXIST => Err(ClientError::NoRoute {
            topic: topic.to_string(),
            reason: response
                .remark
                .unwrap_or_else(|| "no name server knows it".into()),
        }),
        _ => Err(refused(NAME_SERVER, response)),
    }
}

/// `GET_BROKER_CLUSTER_INFO`: every cluster and broker the name server knows.
pub(crate) async fn get_broker_cluster_info(instance: &ClientInstance) -> Result<ClusterInfo> {
    let request = RemotingCommand::request(rc::GET_BROKER_CLUSTER_INFO);
    let response = success(NAME_SERVER, instance.invoke_namesrv(request).await?)?;
    body(NAME_SERVER, "cluster info", &response.body)
}

/// `GET_ALL_TOPIC_LIST_FROM_NAMESERVER`: every topic the name server routes.
pub(crate) async fn get_all_topic_list_from_nameserver(
    instance: &ClientInstance,
) -> Result<BTreeSet<String>> {
    let request = RemotingCommand::request(rc::GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
    let response = success(NAME_SERVER, instance.invoke_namesrv(request).await?)?;
    let list: TopicList = body(NAME_SERVER, "topic list", &response.body)?;
    Ok(list.topic_list)
}

/// `GET_KV_CONFIG`: a value of the name server's KV config (`None` when it has none).
pub(crate) async fn get_kv_config(
    instance: &ClientInstance,
    namespace: &str,
    key: &str,
) -> Result<Option<String>> {
    let h = GetKVConfigRequestHeader {
        namespace: namespace.into(),
        key: key.into(),
    };
    let request = RemotingCommand::request(rc::GET_KV_CONFIG).with_header(&h);
    let response = instance.invoke_namesrv(request).await?;
    match response.code {
        code::SUCCESS => {
            Ok(header::<GetKVConfigResponseHeader>(NAME_SERVER, "kv config", &response)?.value)
        }
        code::QUERY_NOT_FOUND => Ok(None),
        _ => Err(refused(NAME_SERVER, response)),
    }
}

/// `PUT_KV_CONFIG` on every name server.
pub(crate) async fn put_kv_config(
    instance: &ClientInstance,
    namespace: &str,
    key: &str,
    value: &str,
) -> Result<()> {
    let h = PutKVConfigRequestHeader {
        namespace: namespace.into(),
        key: key.into(),
        value: value.into(),
    };
    call_every(
        instance,
        RemotingCommand::request(rc::PUT_KV_CONFIG).with_header(&h),
    )
    .await
}

/// `DELETE_TOPIC_IN_NAMESRV` on every name server: the topic leaves their routes (with
/// `cluster`, only that cluster's queues).
pub(crate) async fn delete_topic_in_namesrv(
    instance: &ClientInstance,
    topic: &str,
    cluster: Option<&str>,
) -> Result<()> {
    let h = DeleteTopicFromNamesrvRequestHeader {
        topic: topic.to_string(),
        cluster_name: cluster.map(str::to_string),
    };
    let request = RemotingCommand::request(rc::DELETE_TOPIC_IN_NAMESRV).with_header(&h);
    call_every(instance, request).await
}

/// A write to every configured name server; fails on the first that cannot be reached or does
/// not answer SUCCESS.
async fn call_every(instance: &ClientInstance, request: RemotingCommand) -> Result<()> {
    for addr in &instance.config().namesrv_addrs {
        let response = match instance.invoke(addr, request.clone()).await {
            Ok(r) => r,
            Err(ClientError::Remoting(e)) => {
                return Err(match transport_failure(&e) {
                    Some(reason) => ClientError::NameServerUnreachable {
                        addrs: addr.clone(),
                        reason,
                    },
                    None => ClientError::Remoting(e),
                })
            }
            Err(e) => return Err(e),
        };
        success(addr, response)?;
    }
    Ok(())
}
