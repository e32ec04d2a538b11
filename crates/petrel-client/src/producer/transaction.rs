//! Transactional messages (RocketMQ's `TransactionMQProducer`).
//!
//! 1. The message is sent as a *half* message (`TRAN_MSG=true`, `PGROUP`): stored, invisible
//!    to consumers.
//! 2. The local transaction runs ([`TransactionListener::execute_local_transaction`]).
//! 3. Its outcome goes to the broker with `END_TRANSACTION`: commit makes the message visible,
//!    rollback discards it, unknown leaves it for a check.
//! 4. For a half message left unresolved, the broker asks a producer of the group
//!    (`CHECK_TRANSACTION_STATE`); [`TransactionListener::check_local_transaction`] answers
//!    and the answer goes back with `END_TRANSACTION` (`fromTransactionCheck=true`).

use std::sync::Arc;

use petrel_protocol::message::{decode_offset_msg_id, properties as prop};
use petrel_protocol::remoting::header::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader,
};
use tokio::sync::Semaphore;

use super::{Producer, ProducerConfig, SendResult, SendStatus};
use crate::broker_api::send;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::message::{Message, MessageExt};

/// `LocalTransactionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTransactionState {
    CommitMessage,
    RollbackMessage,
    /// Not decided yet: the broker will ask again later.
    Unknown,
}

impl LocalTransactionState {
    /// `commitOrRollback` of END_TRANSACTION (the sysFlag transaction types).
    fn wire(self) -> i32 {
        use petrel_protocol::message::sys_flag;
        match self {
            LocalTransactionState::CommitMessage => sys_flag::TRANSACTION_COMMIT_TYPE,
            LocalTransactionState::RollbackMessage => sys_flag::TRANSACTION_ROLLBACK_TYPE,
            LocalTransactionState::Unknown => sys_flag::TRANSACTION_NOT_TYPE,
        }
    }
}

/// The application's side of a transaction. Both methods run on a blocking thread (they may
/// touch a database); a panic counts as `Unknown`.
pub trait TransactionListener: Send + Sync + 'static {
    /// Runs the local transaction after the half message is stored.
    fn execute_local_transaction(&self, msg: &Message) -> LocalTransactionState;
    /// Says how the local transaction of an unresolved half message ended.
    fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState;
}

/// Answers the broker's checks, with at most `max_concurrent_checks` running at once
/// (`checkThreadPoolMaxSize`); further checks wait rather than pile up threads.
pub(crate) struct TransactionChecker {
    listener: Arc<dyn TransactionListener>,
    permits: Arc<Semaphore>,
}

impl TransactionChecker {
    pub(crate) fn check(
        &self,
        instance: Arc<ClientInstance>,
        group: String,
        broker_addr: String,
        header: CheckTransactionStateRequestHeader,
        message: MessageExt,
    ) {
        let listener = Arc::clone(&self.listener);
        let permits = Arc::clone(&self.permits);
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            let msg = message.clone();
            let state = tokio::task::spawn_blocking(move || listener.check_local_transaction(&msg))
                .await
                .unwrap_or(LocalTransactionState::Unknown);
            let unique_key = message
                .property(prop::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
                .map(String::from)
                .unwrap_or_else(|| message.offset_msg_id.clone());
            let end = EndTransactionRequestHeader {
                topic: Some(message.topic.clone()),
                producer_group: group,
                tran_state_table_offset: header.tran_state_table_offset,
                commit_log_offset: header.commit_log_offset,
                commit_or_rollback: state.wire(),
                from_transaction_check: Some(true),
                msg_id: unique_key,
                transaction_id: header
                    .transaction_id
                    .clone()
                    .or_else(|| message.property(prop::TRANSACTION_ID).map(String::from)),
                ..Default::default()
            };
            let remark = Some(format!("checked by {}", instance.client_id()));
            let answered = send::end_transaction(&instance, &broker_addr, &end, remark).await;
            if let Err(e) = answered {
                tracing::warn!(%broker_addr, error = %e, "could not answer a transaction check");
            }
        });
    }
}

/// The result of [`TransactionProducer::send_message_in_transaction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionSendResult {
    pub send_result: SendResult,
    pub local_state: LocalTransactionState,
}

/// A producer of transactional messages.
#[derive(Clone, Debug)]
pub struct TransactionProducer {
    producer: Producer,
    listener: Arc<dyn TransactionListener>,
}

impl std::fmt::Debug for dyn TransactionListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TransactionListener")
    }
}

impl TransactionProducer {
    /// Starts a transactional producer; `max_concurrent_checks` bounds the checks answered
    /// at once.
    pub async fn start(
        client: ClientConfig,
        config: ProducerConfig,
        listener: Arc<dyn TransactionListener>,
        max_concurrent_checks: usize,
    ) -> Result<Self> {
        let instance = ClientInstance::start(client)?;
        let checker = Arc::new(TransactionChecker {
            listener: Arc::clone(&listener),
            permits: Arc::new(Semaphore::new(max_concurrent_checks.max(1))),
        });
        let producer = Producer::start_inner(instance, true, config, Some(checker)).await?;
        Ok(Self { producer, listener })
    }

    /// Sends `msg` as a half message, runs the local transaction and reports its outcome.
    /// A half message the broker did not store as asked is rolled back without running the
    /// local transaction.
    pub async fn send_message_in_transaction(
        &self,
        mut msg: Message,
    ) -> Result<TransactionSendResult> {
        if msg.properties.get(prop::DELAY_TIME_LEVEL).is_some() {
            // The broker would treat it as a delayed message and lose the half-message step.
            msg.properties.remove(prop::DELAY_TIME_LEVEL);
        }
        let group = self.producer.config().group.clone();
        msg.properties.insert(prop::TRANSACTION_PREPARED, "true");
        msg.properties.insert(prop::PRODUCER_GROUP, group.clone());
        let send_result = self.producer.send(msg.clone()).await?;
        let local_state = if send_result.status == SendStatus::SendOk {
            let transaction_id = send_result
                .transaction_id
                .clone()
                .unwrap_or_else(|| send_result.msg_id.clone());
            msg.properties.insert(prop::TRANSACTION_ID, transaction_id);
            let listener = Arc::clone(&self.listener);
            let for_listener = msg.clone();
            tokio::task::spawn_blocking(move || listener.execute_local_transaction(&for_listener))
                .await
                .unwrap_or(LocalTransactionState::Unknown)
        } else {
            LocalTransactionState::RollbackMessage
        };
        self.end_transaction(&send_result, local_state).await?;
        Ok(TransactionSendResult {
            send_result,
            local_state,
        })
    }

    async fn end_transaction(&self, r: &SendResult, state: LocalTransactionState) -> Result<()> {
        let instance = self.producer.instance();
        let addr = instance
            .master_addr(&r.message_queue.broker_name, &r.message_queue.topic)
            .await?;
        let offset_id = r.offset_msg_id.split(',').next().unwrap_or("");
        let (_, commit_log_offset) =
            decode_offset_msg_id(offset_id).map_err(|e| ClientError::BadResponse {
                addr: addr.clone(),
                reason: format!("offset message id {offset_id:?}: {e}"),
            })?;
        let header = EndTransactionRequestHeader {
            topic: Some(r.message_queue.topic.clone()),
            producer_group: self.producer.config().group.clone(),
            tran_state_table_offset: r.queue_offset,
            commit_log_offset,
            commit_or_rollback: state.wire(),
            from_transaction_check: Some(false),
            msg_id: r.msg_id.clone(),
            transaction_id: r.transaction_id.clone(),
            ..Default::default()
        };
        send::end_transaction(instance, &addr, &header, None).await
    }

    /// The underlying producer (for ordinary sends of the same group).
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    pub async fn shutdown(&self) {
        self.producer.shutdown().await;
    }
}
