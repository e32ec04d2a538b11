//! The groups registered on this instance and what brokers are told of them: `HEART_BEAT`
//! with every producer and consumer group to every known broker (periodically, and at once
//! when a group registers or a broker appears), `UNREGISTER_CLIENT` when a group leaves, so
//! that the others in the group rebalance at once instead of after the broker's channel expiry.

use std::sync::{Arc, Weak};

use bytes::Bytes;
use petrel_protocol::remoting::body::{ConsumerData, HeartbeatData, JsonBody, ProducerData};

use super::{ClientInstance, ConsumerMember, ProducerMember};
use crate::broker_api;
use crate::error::{ClientError, Result};

impl ClientInstance {
    pub(crate) fn register_producer(
        &self,
        group: &str,
        member: Weak<dyn ProducerMember>,
    ) -> Result<()> {
        let mut producers = self.producers.write();
        if producers
            .get(group)
            .is_some_and(|existing| existing.strong_count() > 0)
        {
            return Err(ClientError::State(format!(
                "producer group {group} is already started in client {}; use another \
                 instance_name for a second producer of the same group",
                self.client_id
            )));
        }
        producers.insert(group.to_string(), member);
        Ok(())
    }

    pub(crate) fn register_consumer(
        &self,
        group: &str,
        member: Weak<dyn ConsumerMember>,
    ) -> Result<()> {
        let mut consumers = self.consumers.write();
        if consumers
            .get(group)
            .is_some_and(|existing| existing.strong_count() > 0)
        {
            return Err(ClientError::State(format!(
                "consumer group {group} is already started in client {}; use another \
                 instance_name for a second consumer of the same group",
                self.client_id
            )));
        }
        consumers.insert(group.to_string(), member);
        Ok(())
    }

    /// Removes a group and tells every broker (`UNREGISTER_CLIENT`), so that the others in the
    /// group rebalance at once instead of after the broker's channel expiry.
    pub(crate) async fn unregister(
        &self,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) {
        if let Some(g) = producer_group {
            self.producers.write().remove(g);
        }
        if let Some(g) = consumer_group {
            self.consumers.write().remove(g);
        }
        for addr in self.all_broker_addrs(consumer_group.is_some()) {
            let left =
                broker_api::group::unregister_client(self, &addr, producer_group, consumer_group)
                    .await;
            if let Err(e) = left {
                tracing::debug!(%addr, error = %e, "unregister failed");
            }
        }
    }

    pub(super) fn consumers_alive(&self) -> Vec<Arc<dyn ConsumerMember>> {
        self.consumers
            .read()
            .values()
            .filter_map(Weak::upgrade)
            .collect()
    }

    pub(super) fn consumer(&self, group: &str) -> Option<Arc<dyn ConsumerMember>> {
        self.consumers.read().get(group).and_then(Weak::upgrade)
    }

    /// Sends a heartbeat with every group to every known broker now.
    pub async fn heartbeat_all_brokers(&self) {
        let _serial = self.heartbeat_lock.lock().await;
        let producer_data_set: Vec<ProducerData> = self
            .producers
            .read()
            .iter()
            .filter(|(_, m)| m.strong_count() > 0)
            .map(|(g, _)| ProducerData {
                group_name: g.clone(),
            })
            .collect();
        let consumer_data_set: Vec<ConsumerData> = self
            .consumers_alive()
            .iter()
            .map(|c| c.consumer_data())
            .collect();
        if producer_data_set.is_empty() && consumer_data_set.is_empty() {
            return;
        }
        let has_consumers = !consumer_data_set.is_empty();
        let data = HeartbeatData {
            client_id: self.client_id.clone(),
            producer_data_set,
            consumer_data_set,
            ..Default::default()
        };
        let body = Bytes::from(data.encode());
        for addr in self.all_broker_addrs(has_consumers) {
            match broker_api::group::heart_beat(self, &addr, body.clone()).await {
                Ok(()) => {}
                Err(e @ ClientError::Response { .. }) => {
                    tracing::warn!(%addr, error = %e, "heartbeat refused")
                }
                Err(e) => tracing::debug!(%addr, error = %e, "heartbeat failed"),
            }
        }
    }
}
