//! Reading queues and messages: `PULL_MESSAGE` (11) / `LITE_PULL_MESSAGE` (361),
//! `GET_MIN_OFFSET` (31), `GET_MAX_OFFSET` (30), `SEARCH_OFFSET_BY_TIMESTAMP` (29),
//! `VIEW_MESSAGE_BY_ID` (33) and `QUERY_MESSAGE` (12).

use std::time::Duration;

use petrel_protocol::pull_sys_flag;
use petrel_protocol::remoting::header::{
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
    GetMinOffsetResponseHeader, PullMessageRequestHeader, PullMessageResponseHeader,
    QueryMessageRequestHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
    ViewMessageRequestHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};

use super::{call, call_ok};
use crate::error::Result;
use crate::instance::ClientInstance;
use crate::message::{decode_messages, MessageExt, MessageQueue};
use crate::response::{header, refused};

/// What a pull found (`PullStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    Found,
    /// Nothing at or after the offset yet.
    NoNewMsg,
    /// Messages were there but none matched the expression; go on from `next_begin_offset`.
    NoMatchedMsg,
    /// The offset is outside the queue.
    OffsetIllegal,
}

/// The answer to one pull.
#[derive(Debug, Clone)]
pub struct PullOutcome {
    pub status: PullStatus,
    /// Where the next pull starts (after `OffsetIllegal`: where the queue goes on).
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    /// Static topics: what a consumer adds to each message's queue offset.
    pub offset_delta: Option<i64>,
    /// The broker id the broker suggests for the next pull (`suggestWhichBrokerId`: 0 the
    /// master, 1.. a slave).
    pub suggest_which_broker_id: i64,
    /// The messages, as stored (`Found` only).
    pub messages: Vec<MessageExt>,
}

/// `PULL_MESSAGE`, or `LITE_PULL_MESSAGE` when `header.sys_flag` has
/// [`pull_sys_flag::FLAG_LITE_PULL`] (as Java's `MQClientAPIImpl.pullMessage` chooses; brokers
/// serve those from their own thread pool). The messages of a `Found` answer are decoded as
/// stored in `broker_name`; other codes than the four pull statuses are errors.
pub(crate) async fn pull_message(
    instance: &ClientInstance,
    addr: &str,
    header_fields: &PullMessageRequestHeader,
    broker_name: &str,
    timeout: Duration,
) -> Result<PullOutcome> {
    let request_code = if header_fields.sys_flag & pull_sys_flag::FLAG_LITE_PULL != 0 {
        rc::LITE_PULL_MESSAGE
    } else {
        rc::PULL_MESSAGE
    };
    let request = RemotingCommand::request(request_code).with_header(header_fields);
    let response = call(instance, addr, request, Some(timeout)).await?;
    let status = match response.code {
        code::SUCCESS => PullStatus::Found,
        code::PULL_NOT_FOUND => PullStatus::NoNewMsg,
        code::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMsg,
        code::PULL_OFFSET_MOVED => PullStatus::OffsetIllegal,
        _ => return Err(refused(addr, response)),
    };
    let h: PullMessageResponseHeader = header(addr, "pull response header", &response)?;
    let messages = if status == PullStatus::Found {
        decode_messages(&response.body, broker_name)?
    } else {
        Vec::new()
    };
    Ok(PullOutcome {
        status,
        next_begin_offset: h.next_begin_offset,
        min_offset: h.min_offset,
        max_offset: h.max_offset,
        offset_delta: h.offset_delta,
        suggest_which_broker_id: h.suggest_which_broker_id,
        messages,
    })
}

/// `GET_MIN_OFFSET`: the offset of the oldest message of `mq` still stored.
pub(crate) async fn get_min_offset(
    instance: &ClientInstance,
    addr: &str,
    mq: &MessageQueue,
) -> Result<i64> {
    let h = GetMinOffsetRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        ..Default::default()
    };
    let request = RemotingCommand::request(rc::GET_MIN_OFFSET).with_header(&h);
    let response = call_ok(instance, addr, request, None).await?;
    Ok(header::<GetMinOffsetResponseHeader>(addr, "min offset", &response)?.offset)
}

/// `GET_MAX_OFFSET`: the offset the next message of `mq` will get (committed messages only,
/// Java's default).
pub(crate) async fn get_max_offset(
    instance: &ClientInstance,
    addr: &str,
    mq: &MessageQueue,
) -> Result<i64> {
    let h = GetMaxOffsetRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        committed: true,
        ..Default::default()
    };
    let request = RemotingCommand::request(rc::GET_MAX_OFFSET).with_header(&h);
    let response = call_ok(instance, addr, request, None).await?;
    Ok(header::<GetMaxOffsetResponseHeader>(addr, "max offset", &response)?.offset)
}

/// `SEARCH_OFFSET_BY_TIMESTAMP`: the offset of the first message of `mq` stored at or after
/// `timestamp_ms`.
pub(crate) async fn search_offset_by_timestamp(
    instance: &ClientInstance,
    addr: &str,
    mq: &MessageQueue,
    timestamp_ms: i64,
) -> Result<i64> {
    let h = SearchOffsetRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        timestamp: timestamp_ms,
        ..Default::default()
    };
    let request = RemotingCommand::request(rc::SEARCH_OFFSET_BY_TIMESTAMP).with_header(&h);
    let response = call_ok(instance, addr, request, None).await?;
    Ok(header::<SearchOffsetResponseHeader>(addr, "offset by time", &response)?.offset)
}

/// `VIEW_MESSAGE_BY_ID`: the message stored at `commit_log_offset` (`None`: the broker sent
/// nothing back).
pub(crate) async fn view_message_by_id(
    instance: &ClientInstance,
    addr: &str,
    broker_name: &str,
    commit_log_offset: i64,
) -> Result<Option<MessageExt>> {
    let h = ViewMessageRequestHeader {
        topic: None,
        offset: commit_log_offset,
    };
    let request = RemotingCommand::request(rc::VIEW_MESSAGE_BY_ID).with_header(&h);
    let response = call_ok(instance, addr, request, None).await?;
    Ok(decode_messages(&response.body, broker_name)?
        .into_iter()
        .next())
}

/// `QUERY_MESSAGE`: the messages the broker's index finds for a key (or unique key); none when
/// it answers QUERY_NOT_FOUND.
pub(crate) async fn query_message(
    instance: &ClientInstance,
    addr: &str,
    broker_name: &str,
    h: &QueryMessageRequestHeader,
) -> Result<Vec<MessageExt>> {
    let request = RemotingCommand::request(rc::QUERY_MESSAGE).with_header(h);
    let response = call(instance, addr, request, None).await?;
    match response.code {
        code::SUCCESS => decode_messages(&response.body, broker_name),
        code::QUERY_NOT_FOUND => Ok(Vec::new()),
        _ => Err(refused(addr, response)),
    }
}
