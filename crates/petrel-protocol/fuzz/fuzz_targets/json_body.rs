//! The fastjson parser and the body decoders that use it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use petrel_protocol::remoting::body::{
    ClusterInfo, ConsumeStats, HeartbeatData, JsonBody, RegisterBrokerBody, TopicRouteData,
};
use petrel_protocol::remoting::fastjson;

fuzz_target!(|data: &[u8]| {
    let _ = fastjson::parse(data);
    let _ = HeartbeatData::decode(data);
    let _ = TopicRouteData::decode(data);
    let _ = ClusterInfo::decode(data);
    let _ = ConsumeStats::decode(data);
    let _ = RegisterBrokerBody::decode(data);
});
