//! Every JSON body type: what Petrel writes it can read back, and writing is stable. The
//! first byte chooses the type, the rest is the body. A decoded body is encoded (e1) and
//! decoded again, which must succeed; one more round must give e1's normal form back byte for
//! byte (one round may normalise: a `NaN` rate a peer sent is written as `null`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use petrel_protocol::remoting::body::*;

fn roundtrip<T: JsonBody>(data: &[u8]) {
    let Ok(v1) = T::decode(data) else { return };
    let e1 = v1.encode();
    let v2 = T::decode(&e1).unwrap_or_else(|e| {
        panic!(
            "{} cannot read what it wrote: {e}\n{}",
            std::any::type_name::<T>(),
            String::from_utf8_lossy(&e1)
        )
    });
    let e2 = v2.encode();
    let v3 = T::decode(&e2).expect("second round decodes");
    assert_eq!(
        String::from_utf8_lossy(&v3.encode()),
        String::from_utf8_lossy(&e2),
        "{} encoding is not stable",
        std::any::type_name::<T>()
    );
}

/// Route bodies are also written in fastjson's legacy form, which must read back the same.
macro_rules! route_roundtrip {
    ($ty:ty, $data:expr) => {{
        roundtrip::<$ty>($data);
        if let Ok(v) = <$ty>::decode($data) {
            let legacy = <$ty>::decode(&v.encode_legacy()).expect("legacy form decodes");
            assert_eq!(legacy.encode_standard(), v.encode_standard());
        }
    }};
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 24 {
        0 => route_roundtrip!(ClusterInfo, body),
        1 => roundtrip::<ConsumeStats>(body),
        2 => roundtrip::<ConsumeStatsList>(body),
        3 => roundtrip::<ConsumerConnection>(body),
        4 => roundtrip::<ConsumerListByGroupResponseBody>(body),
        5 => roundtrip::<ConsumerOffsetSerializeWrapper>(body),
        6 => roundtrip::<DataVersion>(body),
        7 => route_roundtrip!(GetBrokerMemberGroupResponseBody, body),
        8 => roundtrip::<GroupList>(body),
        9 => roundtrip::<HeartbeatData>(body),
        10 => roundtrip::<KVTable>(body),
        11 => roundtrip::<LockBatchRequestBody>(body),
        12 => roundtrip::<LockBatchResponseBody>(body),
        13 => roundtrip::<ProducerConnection>(body),
        14 => roundtrip::<RegisterBrokerBody>(body),
        15 => roundtrip::<ResetOffsetBody>(body),
        16 => roundtrip::<ResetOffsetBodyForC>(body),
        17 => roundtrip::<SubscriptionGroupConfig>(body),
        18 => roundtrip::<SubscriptionGroupWrapper>(body),
        19 => roundtrip::<TopicConfig>(body),
        20 => roundtrip::<TopicConfigSerializeWrapper>(body),
        21 => roundtrip::<TopicList>(body),
        22 => route_roundtrip!(TopicRouteData, body),
        _ => roundtrip::<TopicStatsTable>(body),
    }
});
