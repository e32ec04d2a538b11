//! Typed headers: every header round-trips, required fields are enforced by name, and values
//! from lenient clients parse.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

use petrel_protocol::remoting::header::*;
use petrel_protocol::remoting::{request_code, ExtFields};
use proptest::prelude::*;

/// Runs `$check::<H>()` for every typed header.
macro_rules! for_every_header {
    ($check:ident) => {
        $check::<SendMessageRequestHeader>();
        $check::<SendMessageResponseHeader>();
        $check::<PullMessageRequestHeader>();
        $check::<PullMessageResponseHeader>();
        $check::<QueryConsumerOffsetRequestHeader>();
        $check::<QueryConsumerOffsetResponseHeader>();
        $check::<UpdateConsumerOffsetRequestHeader>();
        $check::<GetMaxOffsetRequestHeader>();
        $check::<GetMaxOffsetResponseHeader>();
        $check::<GetMinOffsetRequestHeader>();
        $check::<GetMinOffsetResponseHeader>();
        $check::<SearchOffsetRequestHeader>();
        $check::<SearchOffsetResponseHeader>();
        $check::<GetEarliestMsgStoretimeRequestHeader>();
        $check::<GetEarliestMsgStoretimeResponseHeader>();
        $check::<ViewMessageRequestHeader>();
        $check::<QueryMessageRequestHeader>();
        $check::<QueryMessageResponseHeader>();
        $check::<ConsumerSendMsgBackRequestHeader>();
        $check::<EndTransactionRequestHeader>();
        $check::<CheckTransactionStateRequestHeader>();
        $check::<UnregisterClientRequestHeader>();
        $check::<GetConsumerListByGroupRequestHeader>();
        $check::<NotifyConsumerIdsChangedRequestHeader>();
        $check::<CreateTopicRequestHeader>();
        $check::<DeleteTopicRequestHeader>();
        $check::<GetRouteInfoRequestHeader>();
        $check::<RegisterBrokerRequestHeader>();
        $check::<RegisterBrokerResponseHeader>();
        $check::<UnRegisterBrokerRequestHeader>();
        $check::<PutKVConfigRequestHeader>();
        $check::<GetKVConfigRequestHeader>();
        $check::<GetKVConfigResponseHeader>();
        $check::<DeleteKVConfigRequestHeader>();
        $check::<GetKVListByNamespaceRequestHeader>();
        $check::<GetTopicStatsInfoRequestHeader>();
        $check::<GetConsumeStatsRequestHeader>();
        $check::<GetConsumerConnectionListRequestHeader>();
        $check::<GetProducerConnectionListRequestHeader>();
        $check::<DeleteSubscriptionGroupRequestHeader>();
    };
}

/// Seed values for one field of each kind.
#[derive(Debug, Clone)]
struct Seed {
    text: String,
    int: i32,
    long: i64,
    flag: bool,
    upper: bool,
}

fn seed() -> impl Strategy<Value = Seed> {
    (
        ".{0,16}",
        any::<i32>(),
        any::<i64>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(text, int, long, flag, upper)| Seed {
            text,
            int,
            long,
            flag,
            upper,
        })
}

/// Every field of `H` filled with a canonical value of its kind.
fn filled<H: CommandHeader>(seeds: &[Seed]) -> ExtFields {
    H::FIELDS
        .iter()
        .zip(seeds.iter().cycle())
        .map(|((name, kind), s)| {
            let value = match kind {
                FieldKind::String => s.text.clone(),
                FieldKind::Int => s.int.to_string(),
                FieldKind::Long => s.long.to_string(),
                FieldKind::Bool => s.flag.to_string(),
                FieldKind::Boundary => if s.upper { "UPPER" } else { "LOWER" }.to_string(),
            };
            (*name, value)
        })
        .collect()
}

fn round_trips<H: CommandHeader + PartialEq + std::fmt::Debug>(seeds: &[Seed]) {
    let fields = filled::<H>(seeds);
    let header =
        H::decode(&fields).unwrap_or_else(|e| panic!("{}: {e}", std::any::type_name::<H>()));
    let encoded = header.to_ext_fields();
    assert_eq!(encoded, fields, "{}", std::any::type_name::<H>());
    assert_eq!(H::decode(&encoded).unwrap(), header);
}

proptest! {
    #[test]
    fn every_header_round_trips(seeds in prop::collection::vec(seed(), 1..8)) {
        fn run<H: CommandHeader + PartialEq + std::fmt::Debug>(seeds: &[Seed]) {
            round_trips::<H>(seeds);
        }
        macro_rules! each { ($($h:ty),*) => { $(run::<$h>(&seeds);)* } }
        each!(
            SendMessageRequestHeader, SendMessageResponseHeader, PullMessageRequestHeader,
            PullMessageResponseHeader, QueryConsumerOffsetRequestHeader,
            QueryConsumerOffsetResponseHeader, UpdateConsumerOffsetRequestHeader,
            GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
            GetMinOffsetResponseHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
            GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader,
            ViewMessageRequestHeader, QueryMessageRequestHeader, QueryMessageResponseHeader,
            ConsumerSendMsgBackRequestHeader, EndTransactionRequestHeader,
            CheckTransactionStateRequestHeader, UnregisterClientRequestHeader,
            GetConsumerListByGroupRequestHeader, NotifyConsumerIdsChangedRequestHeader,
            CreateTopicRequestHeader, DeleteTopicRequestHeader, GetRouteInfoRequestHeader,
            RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
            UnRegisterBrokerRequestHeader, PutKVConfigRequestHeader, GetKVConfigRequestHeader,
            GetKVConfigResponseHeader, DeleteKVConfigRequestHeader,
            GetKVListByNamespaceRequestHeader, GetTopicStatsInfoRequestHeader,
            GetConsumeStatsRequestHeader, GetConsumerConnectionListRequestHeader,
            GetProducerConnectionListRequestHeader, DeleteSubscriptionGroupRequestHeader
        );
    }

    #[test]
    fn send_header_round_trips_in_both_forms(seeds in prop::collection::vec(seed(), 1..8),
                                             broker in proptest::option::of("[a-z-]{1,10}")) {
        let mut header = SendMessageRequestHeader::decode(&filled::<SendMessageRequestHeader>(&seeds)).unwrap();
        header.rpc.broker_name = broker;
        let mut v2 = ExtFields::new();
        header.encode_v2(&mut v2);
        prop_assert!(!v2.contains_key("topic"));
        prop_assert_eq!(SendMessageRequestHeader::decode_for_code(request_code::SEND_MESSAGE_V2, &v2).unwrap(), header.clone());
        let mut v1 = ExtFields::new();
        header.encode_v1(&mut v1);
        prop_assert_eq!(SendMessageRequestHeader::decode_for_code(request_code::SEND_MESSAGE, &v1).unwrap(), header);
    }

    #[test]
    fn header_decoding_never_panics(fields in prop::collection::btree_map("[a-zA-Z]{1,12}", ".{0,12}", 0..20)) {
        let fields = ExtFields::from(fields);
        fn run<H: CommandHeader>(fields: &ExtFields) {
            let _ = H::decode(fields);
        }
        macro_rules! each { ($($h:ty),*) => { $(run::<$h>(&fields);)* } }
        each!(SendMessageRequestHeader, PullMessageRequestHeader, CreateTopicRequestHeader,
              RegisterBrokerRequestHeader, SearchOffsetRequestHeader, EndTransactionRequestHeader);
    }
}

/// Removing any one field either still decodes (the field is optional) or fails naming it.
fn missing_fields_are_named<H: CommandHeader + std::fmt::Debug>() {
    let seeds = [Seed {
        text: "x".into(),
        int: 1,
        long: 2,
        flag: true,
        upper: false,
    }];
    let full = filled::<H>(&seeds);
    for (name, _) in H::FIELDS {
        let mut fields = full.clone();
        fields.remove(name);
        match H::decode(&fields) {
            Ok(_) => {}
            Err(HeaderError::MissingField(missing)) => assert_eq!(missing, *name),
            Err(other) => panic!("{}: {other}", std::any::type_name::<H>()),
        }
    }
}

/// Unknown fields and every optional 5.x RPC field are tolerated.
fn tolerates_rpc_and_unknown_fields<H: CommandHeader + std::fmt::Debug>() {
    let seeds = [Seed {
        text: "x".into(),
        int: 1,
        long: 2,
        flag: true,
        upper: true,
    }];
    let mut fields = filled::<H>(&seeds);
    for (name, value) in [
        ("ns", "tenant"),
        ("nsd", "true"),
        ("bname", "broker-a"),
        ("oway", "false"),
        ("lo", "0"),
        ("somethingFromTheFuture", "?"),
    ] {
        fields.insert(name, value);
    }
    H::decode(&fields).unwrap_or_else(|e| panic!("{}: {e}", std::any::type_name::<H>()));
}

#[test]
fn every_header_names_its_missing_fields() {
    for_every_header!(missing_fields_are_named);
}

#[test]
fn every_header_tolerates_rpc_and_unknown_fields() {
    for_every_header!(tolerates_rpc_and_unknown_fields);
}

#[test]
fn rpc_fields_are_kept_for_headers_that_inherit_them() {
    let fields: ExtFields = [
        ("consumerGroup", "g"),
        ("topic", "t"),
        ("queueId", "1"),
        ("ns", "tenant"),
        ("bname", "broker-a"),
        ("lo", "true"),
    ]
    .into_iter()
    .collect();
    let header = QueryConsumerOffsetRequestHeader::decode(&fields).unwrap();
    assert_eq!(header.rpc.namespace.as_deref(), Some("tenant"));
    assert_eq!(header.rpc.broker_name.as_deref(), Some("broker-a"));
    assert_eq!(header.rpc.logic, Some(true));
    assert_eq!(header.to_ext_fields(), fields);
}

#[test]
fn lenient_values_from_other_clients_parse() {
    // C++ clients send booleans as 0/1; some add whitespace around numbers.
    let fields: ExtFields = [
        ("consumerGroup", "g"),
        ("topic", "t"),
        ("queueId", " 2 "),
        ("setZeroIfNotFound", "1"),
    ]
    .into_iter()
    .collect();
    let header = QueryConsumerOffsetRequestHeader::decode(&fields).unwrap();
    assert_eq!(header.queue_id, 2);
    assert_eq!(header.set_zero_if_not_found, Some(true));

    let fields: ExtFields = [("topic", "t"), ("queueId", "0"), ("committed", "FALSE")]
        .into_iter()
        .collect();
    assert!(
        !GetMaxOffsetRequestHeader::decode(&fields)
            .unwrap()
            .committed
    );
    let fields: ExtFields = [("topic", "t"), ("queueId", "0")].into_iter().collect();
    assert!(
        GetMaxOffsetRequestHeader::decode(&fields)
            .unwrap()
            .committed
    );
}

#[test]
fn unparsable_values_are_reported_with_name_value_and_expectation() {
    let fields: ExtFields = [
        ("consumerGroup", "g"),
        ("topic", "t"),
        ("queueId", "3.0"),
        ("commitOffset", "1"),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        UpdateConsumerOffsetRequestHeader::decode(&fields),
        Err(HeaderError::InvalidField {
            name: "queueId",
            value: "3.0".into(),
            expected: "an int32"
        })
    );
    let fields: ExtFields = [("topic", "t"), ("queueId", "0"), ("committed", "yes")]
        .into_iter()
        .collect();
    assert!(matches!(
        GetMaxOffsetRequestHeader::decode(&fields),
        Err(HeaderError::InvalidField {
            name: "committed",
            ..
        })
    ));
}

#[test]
fn search_offset_boundary_follows_java() {
    let fields: ExtFields = [
        ("topic", "t"),
        ("queueId", "0"),
        ("timestamp", "1700000000000"),
        ("boundaryType", "upper"),
    ]
    .into_iter()
    .collect();
    let header = SearchOffsetRequestHeader::decode(&fields).unwrap();
    assert_eq!(header.boundary_type, Some(BoundaryType::Upper));
    assert_eq!(header.to_ext_fields().get("boundaryType"), Some("UPPER"));
}

#[test]
fn pull_header_from_a_java_client() {
    let fields: ExtFields = [
        ("consumerGroup", "cg"),
        ("topic", "TopicTest"),
        ("queueId", "1"),
        ("queueOffset", "0"),
        ("maxMsgNums", "32"),
        ("sysFlag", "3"),
        ("commitOffset", "0"),
        ("suspendTimeoutMillis", "15000"),
        ("subscription", "*"),
        ("subVersion", "1700000000000"),
        ("expressionType", "TAG"),
    ]
    .into_iter()
    .collect();
    let header = PullMessageRequestHeader::decode(&fields).unwrap();
    assert_eq!(header.max_msg_nums, 32);
    assert_eq!(header.suspend_timeout_millis, 15_000);
    assert_eq!(header.max_msg_bytes, None);
    assert_eq!(header.to_ext_fields(), fields);
}
