//! Routes: what the name servers say serves a topic ([`TopicRoute`], with the queue lists
//! producers and consumers use), cached per topic, refreshed for the topics in use, and the
//! broker addresses seen in them. A producer sending to a topic no name server knows borrows
//! `TBW102`'s route (the broker creates the topic on the first send if
//! `autoCreateTopicEnable`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use petrel_protocol::mix_all::{DEFAULT_TOPIC_QUEUE_NUMS, MASTER_ID};
use petrel_protocol::perm;
use petrel_protocol::remoting::body::{MessageQueue, TopicRouteData};
use petrel_protocol::topic::AUTO_CREATE_TOPIC_KEY_TOPIC;

use super::ClientInstance;
use crate::error::{ClientError, Result};
use crate::namesrv_api;

/// A topic's route with the queue lists producers and consumers use.
#[derive(Debug, Clone)]
pub struct TopicRoute {
    pub topic: String,
    pub data: TopicRouteData,
    /// Writable queues on masters, by broker name then queue id (what producers choose from).
    pub publish_queues: Vec<MessageQueue>,
    /// Readable queues, by broker name then queue id (what consumers divide among themselves).
    pub subscribe_queues: Vec<MessageQueue>,
    /// Borrowed from `TBW102`: the topic does not exist yet.
    pub auto_create: bool,
}

impl TopicRoute {
    pub fn new(topic: &str, data: TopicRouteData, auto_create: bool) -> Self {
        let mut queue_datas = data.queue_datas.clone();
        queue_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        let mut publish_queues = Vec::new();
        let mut subscribe_queues = Vec::new();
        for qd in &queue_datas {
            let has_master = data
                .broker_datas
                .iter()
                .any(|b| b.broker_name == qd.broker_name && b.master_addr().is_some());
            if perm::is_writeable(qd.perm) && has_master {
                let n = if auto_create {
                    qd.write_queue_nums.min(DEFAULT_TOPIC_QUEUE_NUMS)
                } else {
                    qd.write_queue_nums
                };
                for q in 0..n.max(0) {
                    publish_queues.push(MessageQueue::new(topic, qd.broker_name.clone(), q));
                }
            }
            if perm::is_readable(qd.perm) {
                for q in 0..qd.read_queue_nums.max(0) {
                    subscribe_queues.push(MessageQueue::new(topic, qd.broker_name.clone(), q));
                }
            }
        }
        Self {
            topic: topic.to_string(),
            data,
            publish_queues,
            subscribe_queues,
            auto_create,
        }
    }

    /// The master address of `broker_name`.
    pub fn master_addr(&self, broker_name: &str) -> Option<&str> {
        self.data
            .broker_datas
            .iter()
            .find(|b| b.broker_name == broker_name)
            .and_then(|b| b.master_addr())
    }
}

impl ClientInstance {
    /// The route of `topic` as the name servers know it (no cache, no fallback).
    pub async fn fetch_route(&self, topic: &str) -> Result<TopicRouteData> {
        namesrv_api::get_route_info_by_topic(self, topic).await
    }

    /// The cached route of `topic`, fetched if not cached.
    pub async fn route(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        if let Some(route) = self.routes.read().get(topic) {
            return Ok(Arc::clone(route));
        }
        self.refresh_route(topic, false).await
    }

    /// The route a producer sends by: the topic's own, or `TBW102`'s when the topic does not
    /// exist yet (the broker creates it on the first send if `autoCreateTopicEnable`).
    pub async fn route_for_publish(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        if let Some(route) = self.routes.read().get(topic) {
            if !route.publish_queues.is_empty() {
                return Ok(Arc::clone(route));
            }
        }
        self.refresh_route(topic, true).await
    }

    /// Fetches `topic`'s route and caches it; with `for_publish`, falls back to `TBW102`.
    pub async fn refresh_route(&self, topic: &str, for_publish: bool) -> Result<Arc<TopicRoute>> {
        let route = match self.fetch_route(topic).await {
            Ok(data) => TopicRoute::new(topic, data, false),
            Err(ClientError::NoRoute { reason, .. }) if for_publish => {
                match self.fetch_route(AUTO_CREATE_TOPIC_KEY_TOPIC).await {
                    Ok(data) => TopicRoute::new(topic, data, true),
                    Err(_) => {
                        return Err(ClientError::NoRoute {
                            topic: topic.to_string(),
                            reason: format!(
                                "{reason}; and no broker allows creating topics automatically \
                                 (autoCreateTopicEnable): create it first, e.g. \
                                 `petrel admin updateTopic -t {topic}`"
                            ),
                        })
                    }
                }
            }
            Err(e) => return Err(e),
        };
        let route = Arc::new(route);
        let mut new_broker = false;
        {
            let mut brokers = self.brokers.write();
            for b in &route.data.broker_datas {
                if brokers.get(&b.broker_name) != Some(&b.broker_addrs) {
                    new_broker = true;
                    brokers.insert(b.broker_name.clone(), b.broker_addrs.clone());
                }
            }
        }
        if new_broker {
            // A broker we have not told about our groups yet: a transaction check-back or a
            // rebalance there must not wait for the next periodic heartbeat.
            self.heartbeat_now.notify_one();
        }
        self.routes
            .write()
            .insert(topic.to_string(), Arc::clone(&route));
        Ok(route)
    }

    /// Forgets a cached route (e.g. after a send found the topic gone).
    pub fn invalidate_route(&self, topic: &str) {
        self.routes.write().remove(topic);
    }

    pub(super) async fn refresh_routes_in_use(&self) {
        let mut topics: BTreeSet<String> = self.routes.read().keys().cloned().collect();
        for c in self.consumers_alive() {
            for s in c.consumer_data().subscription_data_set {
                topics.insert(s.topic);
            }
        }
        for topic in topics {
            let auto = self
                .routes
                .read()
                .get(&topic)
                .map(|r| r.auto_create)
                .unwrap_or(false);
            if let Err(e) = self.refresh_route(&topic, auto).await {
                tracing::debug!(%topic, error = %e, "route refresh failed");
            }
        }
    }

    /// The address of `broker_name`: its master, or with `allow_slave` any replica when the
    /// master is missing.
    pub fn broker_addr(&self, broker_name: &str, allow_slave: bool) -> Option<String> {
        let brokers = self.brokers.read();
        let addrs = brokers.get(broker_name)?;
        if let Some(a) = addrs.get(&MASTER_ID) {
            return Some(a.clone());
        }
        if allow_slave {
            return addrs.values().next().cloned();
        }
        None
    }

    /// Records the broker id a pull answer for `mq` suggested (`suggestWhichBrokerId`).
    pub(crate) fn suggest_pull_broker(&self, mq: &MessageQueue, broker_id: i64) {
        let mut suggestions = self.pull_suggestions.write();
        if broker_id == MASTER_ID {
            suggestions.remove(mq);
        } else {
            suggestions.insert(mq.clone(), broker_id);
        }
    }

    /// Where to pull `mq` from, as Java's `findBrokerAddressInSubscribe(brokerName,
    /// suggestedId, onlyThisBroker=false)`: the suggested broker id, else the master, else any
    /// replica (a slave keeps serving reads while its master is gone).
    pub(crate) fn pull_addr(&self, mq: &MessageQueue) -> Option<String> {
        let suggested = self
            .pull_suggestions
            .read()
            .get(mq)
            .copied()
            .unwrap_or(MASTER_ID);
        let brokers = self.brokers.read();
        let addrs = brokers.get(&mq.broker_name)?;
        addrs
            .get(&suggested)
            .or_else(|| addrs.get(&MASTER_ID))
            .or_else(|| addrs.values().next())
            .cloned()
    }

    /// The master address of `broker_name`, refreshing `topic`'s route if it is unknown.
    pub async fn master_addr(&self, broker_name: &str, topic: &str) -> Result<String> {
        if let Some(a) = self.broker_addr(broker_name, false) {
            return Ok(a);
        }
        self.refresh_route(topic, false).await?;
        self.broker_addr(broker_name, false)
            .ok_or_else(|| ClientError::NoBrokerAddress {
                broker_name: broker_name.to_string(),
                role: "master",
            })
    }

    /// Every broker name → address map seen in routes.
    pub fn brokers(&self) -> HashMap<String, BTreeMap<i64, String>> {
        self.brokers.read().clone()
    }

    /// Whether `topic`'s route is cached (a request to a new topic first heartbeats, so that
    /// the broker can find this client to push the reply to).
    pub(crate) fn has_route(&self, topic: &str) -> bool {
        self.routes.read().contains_key(topic)
    }

    pub(super) fn all_broker_addrs(&self, include_slaves: bool) -> Vec<String> {
        let brokers = self.brokers.read();
        let mut out: Vec<String> = brokers
            .values()
            .flat_map(|addrs| {
                addrs
                    .iter()
                    .filter(|(id, _)| include_slaves || **id == MASTER_ID)
                    .map(|(_, a)| a.clone())
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use petrel_protocol::remoting::body::{BrokerData, QueueData};

    fn route_data(perm: i32, with_master: bool) -> TopicRouteData {
        let mut addrs = BTreeMap::new();
        addrs.insert(
            if with_master { 0 } else { 1 },
            "127.0.0.1:10911".to_string(),
        );
        TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: addrs,
                broker_name: "b".into(),
                cluster: "c".into(),
                ..Default::default()
            }],
            queue_datas: vec![QueueData {
                broker_name: "b".into(),
                perm,
                read_queue_nums: 3,
                write_queue_nums: 8,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn route_lists_writable_and_readable_queues() {
        let r = TopicRoute::new(
            "T",
            route_data(perm::PERM_READ | perm::PERM_WRITE, true),
            false,
        );
        assert_eq!(r.publish_queues.len(), 8);
        assert_eq!(r.subscribe_queues.len(), 3);
        assert_eq!(r.publish_queues[7], MessageQueue::new("T", "b", 7));
        assert_eq!(r.master_addr("b"), Some("127.0.0.1:10911"));
    }

    #[test]
    fn auto_create_route_uses_the_default_queue_count() {
        let r = TopicRoute::new(
            "New",
            route_data(perm::PERM_READ | perm::PERM_WRITE, true),
            true,
        );
        assert_eq!(r.publish_queues.len(), DEFAULT_TOPIC_QUEUE_NUMS as usize);
        assert!(r.publish_queues.iter().all(|q| q.topic == "New"));
    }

    #[test]
    fn read_only_or_masterless_brokers_get_no_sends() {
        let r = TopicRoute::new("T", route_data(perm::PERM_READ, true), false);
        assert!(r.publish_queues.is_empty());
        assert_eq!(r.subscribe_queues.len(), 3);
        let r = TopicRoute::new(
            "T",
            route_data(perm::PERM_READ | perm::PERM_WRITE, false),
            false,
        );
        assert!(r.publish_queues.is_empty());
    }
}
