//! Brokers keeping their entries alive: `REGISTER_BROKER` (103), `UNREGISTER_BROKER` (104),
//! `BROKER_HEARTBEAT` (904) and `QUERY_DATA_VERSION` (322).

use petrel_protocol::remoting::body::{
    DataVersion, JsonBody, RegisterBrokerBody, TopicConfigSerializeWrapper,
};
use petrel_protocol::remoting::header::{
    RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnRegisterBrokerRequestHeader,
};
use petrel_protocol::remoting::RemotingCommand;

use super::{success, ProcessResult, V3_0_11};
use crate::error::RequestError;
use crate::route_info::{BrokerIdentity, BrokerRegistration};
use crate::state::NamesrvState;
use petrel_protocol::mix_all::NAMESPACE_ORDER_TOPIC_CONFIG;
use petrel_protocol::remoting::header::{
    BrokerHeartbeatRequestHeader, QueryDataVersionRequestHeader, QueryDataVersionResponseHeader,
};

/// The ext field a broker's zone travels in (`MixAll.ZONE_NAME`).
const ZONE_NAME_FIELD: &str = "__ZONE_NAME";

/// `REGISTER_BROKER`. The answer carries the master's addresses (for a slave) and, unless
/// `returnOrderTopicConfigToBroker` is off, the `ORDER_TOPIC_CONFIG` KV namespace.
pub(crate) fn register_broker(
    state: &NamesrvState,
    connection_id: u64,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: RegisterBrokerRequestHeader = request.decode_header()?;
    if header.body_crc32 != 0 && java_crc32(&request.body) != header.body_crc32 {
        return Err(RequestError::BodyCrcMismatch);
    }
    let (wrapper, filter_server_list) = if request.version >= V3_0_11 {
        let body = if request.body.is_empty() {
            RegisterBrokerBody::default()
        } else {
            RegisterBrokerBody::decode_with(&request.body, header.compressed).map_err(|source| {
                RequestError::Body {
                    what: "RegisterBrokerBody",
                    source,
                }
            })?
        };
        (
            body.topic_config_serialize_wrapper,
            Some(body.filter_server_list),
        )
    } else if request.body.is_empty() {
        (TopicConfigSerializeWrapper::default(), None)
    } else {
        let wrapper = TopicConfigSerializeWrapper::decode(&request.body).map_err(|source| {
            RequestError::Body {
                what: "TopicConfigSerializeWrapper",
                source,
            }
        })?;
        (wrapper, None)
    };

    let registration = BrokerRegistration {
        cluster_name: header.cluster_name,
        broker_addr: header.broker_addr,
        broker_name: header.broker_name,
        broker_id: header.broker_id,
        ha_server_addr: header.ha_server_addr,
        zone_name: request.ext_fields.get(ZONE_NAME_FIELD).map(str::to_owned),
        heartbeat_timeout_ms: header
            .heartbeat_timeout_millis
            .and_then(|ms| u64::try_from(ms).ok())
            .filter(|ms| *ms > 0),
        enable_acting_master: header.enable_acting_master,
        topic_config_wrapper: wrapper,
        filter_server_list,
        connection_id,
    };
    let (broker_name, broker_addr) = (
        registration.broker_name.clone(),
        registration.broker_addr.clone(),
    );
    let topics = registration.topic_config_wrapper.topic_config_table.len();
    let now_ms = state.now_ms();
    let result = state.routes.write().register_broker(registration, now_ms)?;
    if result.stale_ignored {
        tracing::warn!(%broker_name, %broker_addr, "registration conflicts with a broker holding the same id with a newer state version; ignored");
    } else if result.new_broker {
        tracing::info!(%broker_name, %broker_addr, topics, "new broker registered");
    }

    let mut response = success(request).with_header(&RegisterBrokerResponseHeader {
        ha_server_addr: result.ha_server_addr,
        master_addr: result.master_addr,
    });
    if state.settings().return_order_topic_config_to_broker {
        if let Some(table) = state.kv.read().namespace(NAMESPACE_ORDER_TOPIC_CONFIG) {
            response = response.with_body(table.encode());
        }
    }
    Ok(response)
}

/// `UNREGISTER_BROKER`, sent by a broker shutting down.
pub(crate) fn unregister_broker(state: &NamesrvState, request: &RemotingCommand) -> ProcessResult {
    let header: UnRegisterBrokerRequestHeader = request.decode_header()?;
    let broker = BrokerIdentity {
        cluster_name: header.cluster_name,
        broker_addr: header.broker_addr,
        broker_name: header.broker_name,
        broker_id: header.broker_id,
    };
    let was_live = state.routes.write().unregister_broker(&broker);
    tracing::info!(broker_name = %broker.broker_name, broker_addr = %broker.broker_addr, was_live, "broker unregistered");
    Ok(success(request))
}

/// `BROKER_HEARTBEAT`: keeps a registered broker alive without re-sending its topics.
pub(crate) fn broker_heartbeat(state: &NamesrvState, request: &RemotingCommand) -> ProcessResult {
    let header: BrokerHeartbeatRequestHeader = request.decode_header()?;
    let now_ms = state.now_ms();
    state.routes.write().update_broker_info_update_timestamp(
        &header.cluster_name,
        &header.broker_addr,
        now_ms,
    );
    Ok(success(request))
}

/// `QUERY_DATA_VERSION`: has the broker's topic table changed since it last registered? A
/// broker asks before deciding to send a full registration; asking also keeps it alive.
pub(crate) fn query_data_version(state: &NamesrvState, request: &RemotingCommand) -> ProcessResult {
    let header: QueryDataVersionRequestHeader = request.decode_header()?;
    if request.body.is_empty() {
        return Err(RequestError::MissingBody("DataVersion"));
    }
    let data_version = DataVersion::decode(&request.body).map_err(|source| RequestError::Body {
        what: "DataVersion",
        source,
    })?;
    let now_ms = state.now_ms();
    let (changed, known) = {
        let mut routes = state.routes.write();
        let changed = routes.is_broker_topic_config_changed(
            &header.cluster_name,
            &header.broker_addr,
            &data_version,
        );
        routes.update_broker_info_update_timestamp(
            &header.cluster_name,
            &header.broker_addr,
            now_ms,
        );
        let known = routes
            .query_broker_data_version(&header.cluster_name, &header.broker_addr)
            .copied();
        (changed, known)
    };
    let mut response = success(request).with_header(&QueryDataVersionResponseHeader { changed });
    if let Some(known) = known {
        response = response.with_body(known.encode());
    }
    Ok(response)
}

/// Java's `UtilAll.crc32`: CRC-32 with the sign bit cleared.
pub(crate) fn java_crc32(bytes: &[u8]) -> i32 {
    (crc32fast::hash(bytes) & 0x7FFF_FFFF) as i32
}
