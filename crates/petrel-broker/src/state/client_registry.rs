//! Live producers and consumers (RocketMQ's `ProducerManager` and `ConsumerManager`), learned
//! from heartbeats and forgotten on UNREGISTER_CLIENT, when their connection closes, or after
//! `clientChannelMaxIdleTimeSeconds` without a heartbeat.
//!
//! A consumer group's subscriptions are the union of what its members report (the latest
//! heartbeat wins per topic), with each expression parsed once into a [`SubscriptionFilter`].
//!
//! Members are keyed by connection, as RocketMQ keys them by channel: two processes that report
//! the same client id (some clients use `ip@DEFAULT` for every broadcasting consumer) are two
//! members, not one that flaps between connections.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::RwLock;
use petrel_protocol::remoting::body::{
    ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData,
};
use petrel_protocol::remoting::LanguageCode;
use petrel_remoting::ConnectionHandle;

use crate::filter::SubscriptionFilter;

/// A client as seen on one connection.
#[derive(Debug, Clone)]
pub struct ClientChannel {
    pub client_id: String,
    pub connection: ConnectionHandle,
    pub language: LanguageCode,
    pub version: i32,
    pub last_update_ms: i64,
}

/// A subscription with its parsed filter.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub data: SubscriptionData,
    pub filter: Arc<SubscriptionFilter>,
}

#[derive(Debug, Clone, Default)]
pub struct ConsumerGroupInfo {
    pub consume_type: Option<ConsumeType>,
    pub message_model: Option<MessageModel>,
    pub consume_from_where: Option<ConsumeFromWhere>,
    pub subscriptions: BTreeMap<String, Subscription>,
    /// Members by connection id.
    pub clients: BTreeMap<u64, ClientChannel>,
    pub last_update_ms: i64,
}

/// One consumer's registration, as decoded from its heartbeat.
pub struct ConsumerRegistration<'a> {
    pub group: &'a str,
    pub channel: ClientChannel,
    pub consume_type: Option<ConsumeType>,
    pub message_model: Option<MessageModel>,
    pub consume_from_where: Option<ConsumeFromWhere>,
    pub subscriptions: Vec<Subscription>,
}

#[derive(Default)]
pub struct ClientRegistry {
    producers: RwLock<HashMap<String, BTreeMap<u64, ClientChannel>>>,
    consumers: RwLock<HashMap<String, ConsumerGroupInfo>>,
}

impl ClientRegistry {
    pub fn register_producer(&self, group: &str, channel: ClientChannel) {
        self.producers
            .write()
            .entry(group.to_string())
            .or_default()
            .insert(channel.connection.id(), channel);
    }

    pub fn unregister_producer(&self, group: &str, client_id: &str, connection: &ConnectionHandle) {
        let mut producers = self.producers.write();
        if let Some(clients) = producers.get_mut(group) {
            clients.retain(|_, c| !(c.client_id == client_id && c.connection == *connection));
            if clients.is_empty() {
                producers.remove(group);
            }
        }
    }

    /// Registers or refreshes a consumer; returns true if the group's membership changed (the
    /// broker then tells the group's members to rebalance).
    pub fn register_consumer(&self, reg: ConsumerRegistration<'_>) -> bool {
        let mut consumers = self.consumers.write();
        let info = consumers.entry(reg.group.to_string()).or_default();
        info.consume_type = reg.consume_type.or(info.consume_type);
        info.message_model = reg.message_model.or(info.message_model);
        info.consume_from_where = reg.consume_from_where.or(info.consume_from_where);
        info.last_update_ms = reg.channel.last_update_ms;
        for sub in reg.subscriptions {
            info.subscriptions.insert(sub.data.topic.clone(), sub);
        }
        let changed = match info.clients.get(&reg.channel.connection.id()) {
            Some(old) => old.client_id != reg.channel.client_id,
            None => true,
        };
        info.clients
            .insert(reg.channel.connection.id(), reg.channel);
        changed
    }

    /// Removes the consumer `client_id` registered over `connection`; returns true if it was a
    /// member.
    pub fn unregister_consumer(
        &self,
        group: &str,
        client_id: &str,
        connection: &ConnectionHandle,
    ) -> bool {
        let mut consumers = self.consumers.write();
        let Some(info) = consumers.get_mut(group) else {
            return false;
        };
        let before = info.clients.len();
        info.clients
            .retain(|_, c| !(c.client_id == client_id && c.connection == *connection));
        let removed = info.clients.len() != before;
        if info.clients.is_empty() {
            consumers.remove(group);
        }
        removed
    }

    /// Forgets everything registered over `connection`; returns the consumer groups that lost
    /// members.
    pub fn on_connection_closed(&self, connection: &ConnectionHandle) -> Vec<String> {
        self.remove_clients(|c| c.connection == *connection)
    }

    /// Forgets clients silent since before `deadline_ms`; returns the groups that lost members.
    pub fn remove_idle(&self, deadline_ms: i64) -> Vec<String> {
        self.remove_clients(|c| c.last_update_ms < deadline_ms)
    }

    fn remove_clients(&self, gone: impl Fn(&ClientChannel) -> bool) -> Vec<String> {
        {
            let mut producers = self.producers.write();
            for clients in producers.values_mut() {
                clients.retain(|_, c| !gone(c));
            }
            producers.retain(|_, c| !c.is_empty());
        }
        let mut changed = Vec::new();
        let mut consumers = self.consumers.write();
        for (group, info) in consumers.iter_mut() {
            let before = info.clients.len();
            info.clients.retain(|_, c| !gone(c));
            if info.clients.len() != before {
                changed.push(group.clone());
            }
        }
        consumers.retain(|_, info| !info.clients.is_empty());
        changed
    }

    /// Client ids of a group's live members, sorted (one reported over two connections
    /// appears once).
    pub fn consumer_ids(&self, group: &str) -> Option<Vec<String>> {
        self.consumers.read().get(group).map(|info| {
            let mut ids: Vec<String> = info.clients.values().map(|c| c.client_id.clone()).collect();
            ids.sort();
            ids.dedup();
            ids
        })
    }

    /// Connections of a group's members (to notify them).
    pub fn consumer_connections(&self, group: &str) -> Vec<ConnectionHandle> {
        self.consumers
            .read()
            .get(group)
            .map(|info| {
                info.clients
                    .values()
                    .map(|c| c.connection.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn consumer_group(&self, group: &str) -> Option<ConsumerGroupInfo> {
        self.consumers.read().get(group).cloned()
    }

    /// How the group's members consume (the latest heartbeat's message model).
    pub fn message_model(&self, group: &str) -> Option<MessageModel> {
        self.consumers.read().get(group)?.message_model
    }

    pub fn subscription(&self, group: &str, topic: &str) -> Option<Subscription> {
        self.consumers
            .read()
            .get(group)?
            .subscriptions
            .get(topic)
            .cloned()
    }

    pub fn consumer_groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.consumers.read().keys().cloned().collect();
        groups.sort();
        groups
    }

    /// Groups with a live member subscribed to `topic`.
    pub fn groups_subscribing(&self, topic: &str) -> Vec<String> {
        let mut groups: Vec<String> = self
            .consumers
            .read()
            .iter()
            .filter(|(_, i)| i.subscriptions.contains_key(topic))
            .map(|(g, _)| g.clone())
            .collect();
        groups.sort();
        groups
    }

    pub fn producer_group(&self, group: &str) -> Vec<ClientChannel> {
        self.producers
            .read()
            .get(group)
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default()
    }

    /// A live connection of some member of producer group `group` (transaction check-back).
    pub fn any_producer_connection(&self, group: &str) -> Option<ConnectionHandle> {
        self.producers
            .read()
            .get(group)?
            .values()
            .map(|c| c.connection.clone())
            .find(|c| !c.is_closed())
    }

    /// A live connection of the producer with client id `client_id`, in any group (where a
    /// request-reply reply is pushed; RocketMQ's `ProducerManager.findChannel`). The most
    /// recently heard-from wins if the id is on several connections.
    pub fn producer_connection_by_client_id(&self, client_id: &str) -> Option<ConnectionHandle> {
        self.producers
            .read()
            .values()
            .flat_map(|clients| clients.values())
            .filter(|c| c.client_id == client_id && !c.connection.is_closed())
            .max_by_key(|c| c.last_update_ms)
            .map(|c| c.connection.clone())
    }

    pub fn producer_groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.producers.read().keys().cloned().collect();
        groups.sort();
        groups
    }
}
