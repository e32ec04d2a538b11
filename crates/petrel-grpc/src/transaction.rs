//! EndTransaction: a producer commits or rolls back a half message it sent over gRPC. The
//! client names the transaction by the id its SendMessage answer gave (the message id, as
//! RocketMQ's brokers answer); this server remembers which CommitLog offset and producer group
//! that is (Apache's proxy keeps the same table, `TransactionDataManager`), bounded by
//! `max_pending_transactions`, and resolves it with the broker's own `end_transaction`.

use std::collections::{HashMap, VecDeque};

use parking_lot::Mutex;
use petrel_auth::{Action, Need, Resource as AuthResource};
use petrel_broker::response::Refusal;
use petrel_broker::system_topic::transaction::{end_transaction, EndTransactionError, Resolution};

use crate::auth;
use crate::metadata::Caller;
use crate::pb::{Code, EndTransactionRequest, EndTransactionResponse, TransactionResolution};
use crate::route::checked_topic;
use crate::server::Shared;
use crate::status::{ok, Failure};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub commit_log_offset: i64,
    pub producer_group: String,
    pub topic: String,
}

/// Transaction id → its half message; the oldest entries go first when full.
pub struct TransactionTable {
    inner: Mutex<(HashMap<String, Pending>, VecDeque<String>)>,
    max_entries: usize,
}

impl TransactionTable {
    pub fn new(max_entries: usize) -> TransactionTable {
        TransactionTable {
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
            max_entries: max_entries.max(1),
        }
    }

    pub fn insert(&self, transaction_id: String, pending: Pending) {
        let mut guard = self.inner.lock();
        let (map, order) = &mut *guard;
        if map.insert(transaction_id.clone(), pending).is_none() {
            order.push_back(transaction_id);
        }
        while map.len() > self.max_entries {
            match order.pop_front() {
                Some(oldest) => {
                    map.remove(&oldest);
                }
                None => break,
            }
        }
        // Ids resolved earlier leave stale entries in `order`; keep it bounded too.
        if order.len() > self.max_entries.saturating_mul(2) {
            order.retain(|id| map.contains_key(id));
        }
    }

    pub fn get(&self, transaction_id: &str) -> Option<Pending> {
        self.inner.lock().0.get(transaction_id).cloned()
    }

    pub fn remove(&self, transaction_id: &str) {
        self.inner.lock().0.remove(transaction_id);
    }
}

pub async fn end(
    shared: &Shared,
    caller: &Caller,
    request: &EndTransactionRequest,
) -> EndTransactionResponse {
    let status = match resolve(shared, caller, request).await {
        Ok(()) => ok(),
        Err(Failure(s)) => s,
    };
    EndTransactionResponse {
        status: Some(status),
    }
}

async fn resolve(
    shared: &Shared,
    caller: &Caller,
    request: &EndTransactionRequest,
) -> Result<(), Failure> {
    let topic = checked_topic(request.topic.as_ref())?;
    auth::check(
        shared,
        caller,
        &[Need::new(AuthResource::topic(topic), &[Action::Pub])],
    )?;
    if request.transaction_id.trim().is_empty() {
        return Err(Failure::new(
            Code::InvalidTransactionId,
            "transaction id cannot be empty",
        ));
    }
    let resolution = match TransactionResolution::try_from(request.resolution) {
        Ok(TransactionResolution::Commit) => Resolution::Commit,
        Ok(TransactionResolution::Rollback) => Resolution::Rollback,
        // Unknown: the broker's check asks again later, as for remoting's TRANSACTION_NOT_TYPE.
        _ => return Ok(()),
    };
    let Some(pending) = shared.transactions.get(&request.transaction_id) else {
        return Err(Failure::new(
            Code::InvalidTransactionId,
            format!(
                "cannot find transaction data for transaction id {} (unknown, already resolved, or forgotten)",
                request.transaction_id
            ),
        ));
    };
    if pending.topic != topic {
        return Err(Failure::new(
            Code::InvalidTransactionId,
            format!(
                "transaction {} belongs to topic {}, not {topic}",
                request.transaction_id, pending.topic
            ),
        ));
    }
    if shared.broker.is_slave() {
        return Err(Failure::new(
            Code::HaNotAvailable,
            "this broker is a slave; end the transaction on its master",
        ));
    }
    end_transaction(
        &shared.broker.transaction_context(),
        pending.commit_log_offset,
        &pending.producer_group,
        resolution,
    )
    .await
    .map_err(|e| match e {
        EndTransactionError::Store(e) => Failure::from(Refusal::from(e)),
        e @ (EndTransactionError::NotFound(_) | EndTransactionError::NotHalf(_)) => {
            Failure::new(Code::InvalidTransactionId, e.to_string())
        }
        e => Failure::new(Code::BadRequest, e.to_string()),
    })?;
    shared.transactions.remove(&request.transaction_id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(offset: i64) -> Pending {
        Pending {
            commit_log_offset: offset,
            producer_group: "t".into(),
            topic: "t".into(),
        }
    }

    #[test]
    fn the_table_is_bounded_and_forgets_the_oldest() {
        let table = TransactionTable::new(2);
        table.insert("a".into(), p(1));
        table.insert("b".into(), p(2));
        table.insert("c".into(), p(3));
        assert_eq!(table.get("a"), None);
        assert_eq!(table.get("c"), Some(p(3)));
        table.remove("b");
        for i in 0..100 {
            table.insert(format!("x{i}"), p(i));
            table.remove(&format!("x{i}"));
        }
        assert!(table.inner.lock().1.len() <= 4);
    }
}
