//! Criterion micro-benchmarks of the per-message codec work on the send path: decoding a
//! SEND_MESSAGE_V2 request frame and its header (JSON and ROCKETMQ binary headers), encoding
//! the response, parsing the message properties, and encoding / parsing a CommitLog record.
//!
//!     cargo bench -p petrel-protocol --bench codec                           # run
//!     cargo bench -p petrel-protocol --bench codec -- --save-baseline main   # keep as a baseline
//!     cargo bench -p petrel-protocol --bench codec -- --baseline main        # compare a change
//!
//! docs/benchmarks.md ("Micro-benchmarks") records figures and how to track them across commits.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failed run

use std::hint::black_box;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use petrel_protocol::message::{encode_record, MessageToStore, Properties, RecordView};
use petrel_protocol::remoting::header::{SendMessageRequestHeader, SendMessageResponseHeader};
use petrel_protocol::remoting::{request_code, response_code, RemotingCommand, SerializeType};

const BODY_BYTES: usize = 1024;
/// What the Java producer sends: UNIQ_KEY, WAIT, TAGS (with its separators).
const PROPERTIES: &str =
    "UNIQ_KEY\u{1}7F0000010F2A18B4AAC2774E4D9A0000\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}";

fn send_header() -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "compare_bench_producer".into(),
        topic: "BenchmarkTest".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 3,
        sys_flag: 0,
        born_timestamp: 1_764_900_000_000,
        flag: 0,
        properties: Some(PROPERTIES.into()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        batch: Some(false),
        max_reconsume_times: None,
        ..SendMessageRequestHeader::default()
    }
}

fn send_frame(serialize_type: SerializeType) -> Bytes {
    RemotingCommand::request(request_code::SEND_MESSAGE_V2)
        .with_header(&send_header())
        .with_body(vec![b'x'; BODY_BYTES])
        .with_opaque(42)
        .with_serialize_type(serialize_type)
        .to_bytes()
        .unwrap()
}

fn remoting(c: &mut Criterion) {
    let mut g = c.benchmark_group("remoting");
    g.throughput(Throughput::Elements(1));
    for (name, st) in [
        ("json", SerializeType::Json),
        ("rocketmq", SerializeType::RocketMq),
    ] {
        let frame = send_frame(st);
        g.bench_function(format!("decode_send_v2_request/{name}"), |b| {
            b.iter(|| {
                let cmd = RemotingCommand::decode(black_box(frame.clone())).unwrap();
                let header: SendMessageRequestHeader = cmd.decode_header().unwrap();
                black_box((cmd.body.len(), header.queue_id))
            })
        });
        let request = RemotingCommand::decode(frame.clone()).unwrap();
        let response_header = SendMessageResponseHeader {
            msg_id: "7F00000100002A9F0000000000A1B2C3".into(),
            queue_id: 3,
            queue_offset: 123_456,
            transaction_id: None,
            batch_uniq_id: None,
            recall_handle: None,
        };
        g.bench_function(format!("encode_send_response/{name}"), |b| {
            let mut dst = BytesMut::with_capacity(512);
            b.iter(|| {
                dst.clear();
                RemotingCommand::response_to(&request, response_code::SUCCESS, None)
                    .with_header(black_box(&response_header))
                    .encode(&mut dst)
                    .unwrap();
                black_box(dst.len())
            })
        });
    }
    g.finish();
}

fn message(c: &mut Criterion) {
    let mut g = c.benchmark_group("message");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_properties", |b| {
        b.iter(|| {
            let p = Properties::decode(black_box(PROPERTIES.as_bytes())).unwrap();
            black_box(p.get("TAGS").map(str::len))
        })
    });
    let body = vec![b'x'; BODY_BYTES];
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    let born: SocketAddr = "127.0.0.1:54321".parse().unwrap();
    let msg = MessageToStore {
        topic: "BenchmarkTest",
        queue_id: 3,
        flag: 0,
        body: &body,
        properties: PROPERTIES.as_bytes(),
        sys_flag: 0,
        born_timestamp: 1_764_900_000_000,
        born_host: born,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    g.bench_function("encode_commitlog_record_1k", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(2048),
            |buf| black_box(encode_record(black_box(&msg), buf).unwrap()),
            BatchSize::SmallInput,
        )
    });
    let mut record = Vec::new();
    encode_record(&msg, &mut record).unwrap();
    g.bench_function("parse_commitlog_record_1k", |b| {
        b.iter(|| {
            let view = RecordView::parse(black_box(&record)).unwrap();
            black_box((view.queue_id(), view.total_size()))
        })
    });
    g.finish();
}

criterion_group!(benches, remoting, message);
criterion_main!(benches);
