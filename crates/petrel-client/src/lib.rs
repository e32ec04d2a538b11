//! Petrel's client library for brokers that speak RocketMQ's remoting protocol (Petrel or
//! Apache RocketMQ 4.x/5.x).
//!
//! - [`ClientInstance`]: connections, routes and heartbeats shared by producers and consumers
//!   of one client id (RocketMQ's `MQClientInstance`).
//! - [`Message`] / [`MessageExt`]: what is sent and what is received.

pub mod admin;
pub mod config;
pub mod consumer;
pub mod dedup;
pub mod error;
pub mod instance;
pub mod message;

pub use config::ClientConfig;
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
