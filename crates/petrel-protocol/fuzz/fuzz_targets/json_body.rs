//! The fastjson parser and every JSON body decoder (`remoting::body`): no input may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use petrel_protocol::remoting::body::*;
use petrel_protocol::remoting::fastjson;

fuzz_target!(|data: &[u8]| {
    let _ = fastjson::parse(data);
    let _ = ClusterInfo::decode(data);
    let _ = ConsumeStats::decode(data);
    let _ = ConsumeStatsList::decode(data);
    let _ = ConsumerConnection::decode(data);
    let _ = ConsumerListByGroupResponseBody::decode(data);
    let _ = ConsumerOffsetSerializeWrapper::decode(data);
    let _ = DataVersion::decode(data);
    let _ = GetBrokerMemberGroupResponseBody::decode(data);
    let _ = GroupList::decode(data);
    let _ = HeartbeatData::decode(data);
    let _ = KVTable::decode(data);
    let _ = LockBatchRequestBody::decode(data);
    let _ = LockBatchResponseBody::decode(data);
    let _ = ProducerConnection::decode(data);
    let _ = RegisterBrokerBody::decode(data);
    let _ = ResetOffsetBody::decode(data);
    let _ = ResetOffsetBodyForC::decode(data);
    let _ = SubscriptionGroupConfig::decode(data);
    let _ = SubscriptionGroupWrapper::decode(data);
    let _ = TopicConfig::decode(data);
    let _ = TopicConfigSerializeWrapper::decode(data);
    let _ = TopicList::decode(data);
    let _ = TopicRouteData::decode(data);
    let _ = TopicStatsTable::decode(data);
});
