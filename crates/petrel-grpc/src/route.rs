//! QueryRoute: the queues of a topic this broker serves, as Apache's proxy lists them
//! (`RouteActivity`): read-write queues first, then the read-only or write-only rest, each with
//! its permission, the broker (name, id 0) reached at this server's gRPC endpoints, and the
//! message types the topic accepts (its `message.type` attribute).

use petrel_auth::{Action, Need, Resource as AuthResource};
use petrel_protocol::remoting::body::TopicConfig;
use petrel_protocol::topic::attributes;
use petrel_protocol::{name, perm, topic as topics};

use crate::auth;
use crate::metadata::Caller;
use crate::pb::{
    Address, AddressScheme, Broker, Code, Endpoints, MessageQueue, MessageType, Permission,
    QueryRouteRequest, QueryRouteResponse, Resource,
};
use crate::server::Shared;
use crate::status::{ok, status, Failure};

/// The topic a request names, checked as the proxy's `validateTopic` does.
pub fn checked_topic(resource: Option<&Resource>) -> Result<&str, Failure> {
    let topic = resource.map(|r| r.name.as_str()).unwrap_or("");
    if topic.trim().is_empty() {
        return Err(Failure::new(
            Code::IllegalTopic,
            "topic name cannot be empty",
        ));
    }
    name::check_topic(topic).map_err(|e| Failure::new(Code::IllegalTopic, e.to_string()))?;
    if topics::is_system_topic(topic) {
        return Err(Failure::new(
            Code::IllegalTopic,
            format!("cannot access system topic: {topic}"),
        ));
    }
    Ok(topic)
}

/// The topic's configuration, or TOPIC_NOT_FOUND. gRPC never auto-creates topics (as with the
/// proxy, whose routes come from the name server): create them with `petrel admin updateTopic`.
pub fn existing_topic(shared: &Shared, topic: &str) -> Result<TopicConfig, Failure> {
    shared.broker.topics.get(topic).ok_or_else(|| {
        Failure::new(
            Code::TopicNotFound,
            format!("topic {topic} does not exist on this broker; create it with updateTopic"),
        )
    })
}

/// The `message.type` the topic was created with (RocketMQ's default: NORMAL).
pub fn topic_message_type(config: &TopicConfig) -> &str {
    config
        .attributes
        .get(attributes::MESSAGE_TYPE)
        .map(String::as_str)
        .unwrap_or("NORMAL")
}

/// The message types a topic of this `message.type` accepts (the proxy's
/// `parseTopicMessageType`).
pub fn accepted_types(topic_type: &str) -> Vec<i32> {
    let t = |m: MessageType| m as i32;
    match topic_type {
        "NORMAL" => vec![t(MessageType::Normal)],
        "FIFO" => vec![t(MessageType::Fifo)],
        "DELAY" => vec![t(MessageType::Delay)],
        "TRANSACTION" => vec![t(MessageType::Transaction)],
        "MIXED" => vec![
            t(MessageType::Normal),
            t(MessageType::Fifo),
            t(MessageType::Delay),
            t(MessageType::Transaction),
        ],
        _ => vec![t(MessageType::Unspecified)],
    }
}

/// The endpoints clients should use for this broker: those the client asked through (it
/// reached us there, as Apache's proxy answers in LOCAL mode), else the address its connection
/// arrived at, else the listener's.
fn endpoints(shared: &Shared, caller: &Caller, requested: Option<&Endpoints>) -> Endpoints {
    if let Some(e) = requested.filter(|e| !e.addresses.is_empty()) {
        return e.clone();
    }
    let addr = caller
        .local
        .filter(|a| !a.ip().is_unspecified())
        .unwrap_or(shared.local_addr);
    Endpoints {
        scheme: if addr.is_ipv4() {
            AddressScheme::IPv4
        } else {
            AddressScheme::IPv6
        } as i32,
        addresses: vec![Address {
            host: addr.ip().to_string(),
            port: i32::from(addr.port()),
        }],
    }
}

pub fn query_route(
    shared: &Shared,
    caller: &Caller,
    request: &QueryRouteRequest,
) -> QueryRouteResponse {
    match route(shared, caller, request) {
        Ok(message_queues) => QueryRouteResponse {
            status: Some(ok()),
            message_queues,
        },
        Err(Failure(s)) => QueryRouteResponse {
            status: Some(s),
            message_queues: Vec::new(),
        },
    }
}

fn route(
    shared: &Shared,
    caller: &Caller,
    request: &QueryRouteRequest,
) -> Result<Vec<MessageQueue>, Failure> {
    let topic = checked_topic(request.topic.as_ref())?;
    auth::check(
        shared,
        caller,
        &[Need::new(
            AuthResource::topic(topic),
            &[Action::Pub, Action::Sub],
        )],
    )?;
    let config = existing_topic(shared, topic)?;
    let broker = Broker {
        name: shared.broker.config.broker_name.clone(),
        id: 0,
        endpoints: Some(endpoints(shared, caller, request.endpoints.as_ref())),
    };
    let accept = accepted_types(topic_message_type(&config));
    let resource = Resource {
        resource_namespace: request
            .topic
            .as_ref()
            .map(|r| r.resource_namespace.clone())
            .unwrap_or_default(),
        name: topic.to_string(),
    };
    let (read, write) = (
        config.read_queue_nums.max(0),
        config.write_queue_nums.max(0),
    );
    let (readable, writable) = (
        perm::is_readable(config.perm),
        perm::is_writeable(config.perm),
    );
    let (rw, r, w) = match (readable, writable) {
        (true, true) => {
            let rw = read.min(write);
            (rw, read - rw, write - rw)
        }
        (true, false) => (0, read, 0),
        (false, true) => (0, 0, write),
        (false, false) => (0, 0, 0),
    };
    let mut queues = Vec::with_capacity((rw + r + w) as usize);
    let mut id = 0;
    for (count, permission) in [
        (rw, Permission::ReadWrite),
        (r, Permission::Read),
        (w, Permission::Write),
    ] {
        for _ in 0..count {
            queues.push(MessageQueue {
                topic: Some(resource.clone()),
                id,
                permission: permission as i32,
                broker: Some(broker.clone()),
                accept_message_types: accept.clone(),
            });
            id += 1;
        }
    }
    if queues.is_empty() {
        return Err(Failure(status(
            Code::Forbidden,
            format!(
                "topic {topic} has no readable or writable queue (perm {})",
                config.perm
            ),
        )));
    }
    Ok(queues)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_are_checked() {
        let r = |n: &str| Resource {
            resource_namespace: String::new(),
            name: n.into(),
        };
        assert!(checked_topic(Some(&r("orders"))).is_ok());
        let code = |n: &str| checked_topic(Some(&r(n))).err().map(|f| f.0.code);
        assert_eq!(code(""), Some(Code::IllegalTopic as i32));
        assert_eq!(code("bad topic"), Some(Code::IllegalTopic as i32));
        assert_eq!(
            code("RMQ_SYS_TRANS_HALF_TOPIC"),
            Some(Code::IllegalTopic as i32)
        );
        assert_eq!(
            checked_topic(None).err().map(|f| f.0.code),
            Some(Code::IllegalTopic as i32)
        );
    }

    #[test]
    fn message_types_of_a_topic() {
        assert_eq!(accepted_types("FIFO"), vec![MessageType::Fifo as i32]);
        assert_eq!(accepted_types("MIXED").len(), 4);
        assert_eq!(
            accepted_types("UNSPECIFIED"),
            vec![MessageType::Unspecified as i32]
        );
    }
}
