//! Petrel's client library for brokers that speak RocketMQ's remoting protocol (Petrel or
//! Apache RocketMQ 4.x/5.x).
//!
//! - [`Producer`] ([`producer`]): sync, async, oneway and batch sends, sends to a chosen queue
//!   (ordered messages, [`Producer::send_orderly`]), retries on another broker with latency
//!   fault avoidance, compression, delayed and timer messages (on [`Message`]), and
//!   request-reply ([`Producer::request`], [`message::create_reply_message`]).
//! - [`TransactionProducer`]: transactional messages with a local transaction and check-back.
//! - [`PushConsumer`] ([`consumer::push`]): clustering or broadcasting, concurrent or orderly
//!   listeners, rebalancing, retries and the DLQ, flow control, tag and SQL92 selectors.
//! - [`consumer::LitePullConsumer`] ([`consumer::lite_pull`]): subscribe or assign queues, poll,
//!   seek, commit, pause and resume.
//! - [`dedup`]: idempotent consumption (a listener wrapper and stores in memory or Redis).
//! - [`admin`]: what `petrel admin` uses (topics, groups, offsets, message lookup, stats).
//! - [`ClientInstance`]: connections, routes and heartbeats shared by producers and consumers
//!   of one client id (RocketMQ's `MQClientInstance`).
//! - [`Message`] / [`MessageExt`]: what is sent and what is received.
//!
//! [`consumer::push`], [`consumer::lite_pull`] and [`producer::request`] start with an example.

pub mod admin;
pub(crate) mod broker_api;
pub mod config;
pub mod consumer;
pub(crate) mod controller_api;
pub mod dedup;
pub mod error;
pub mod instance;
pub mod message;
mod names;
pub(crate) mod namesrv_api;
mod response;
pub mod trace;

pub use config::{ClientConfig, SessionCredentials};
pub use consumer::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeOrderlyContext,
    ConsumeOrderlyStatus, MessageListener, PushConsumer, PushConsumerConfig, Selector,
};
pub use error::{ClientError, Result};
pub use instance::{ClientInstance, TopicRoute};
pub use message::{Message, MessageExt, MessageQueue};
pub mod producer;

pub use producer::transaction::{
    LocalTransactionState, TransactionListener, TransactionProducer, TransactionSendResult,
};
pub use producer::{Producer, ProducerConfig, SendResult, SendStatus};
