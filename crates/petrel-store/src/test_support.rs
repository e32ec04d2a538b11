//! Fixtures shared by the store's unit tests (compiled only for them).

use petrel_protocol::message::{encode_record, patch_record, MessageToStore, Properties};

/// The bytes of a record of `topic`/`queue_id` with properties `props`, as the CommitLog holds
/// it at `physical_offset` after storing it at `store_timestamp` (queue offset 0).
pub(crate) fn stored_record(
    topic: &str,
    queue_id: i32,
    props: &[(&str, &str)],
    physical_offset: i64,
    store_timestamp: i64,
) -> Vec<u8> {
    let props = if props.is_empty() {
        String::new()
    } else {
        props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Properties>()
            .encode()
    };
    let msg = MessageToStore {
        topic,
        queue_id,
        flag: 0,
        body: b"body",
        properties: props.as_bytes(),
        sys_flag: 0,
        born_timestamp: 1,
        born_host: "10.0.0.1:1".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    let mut buf = Vec::new();
    encode_record(&msg, &mut buf).unwrap();
    patch_record(&mut buf, 0, physical_offset, store_timestamp);
    buf
}
