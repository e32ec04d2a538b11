//! Topics: create and delete on brokers, remove from name-server routes, list, route, the
//! order configs (name-server KV), stats and the groups that consume a topic.

use std::collections::BTreeSet;

use petrel_protocol::mix_all::{MASTER_ID, NAMESPACE_ORDER_TOPIC_CONFIG};
use petrel_protocol::remoting::body::{BrokerData, TopicConfig, TopicRouteData, TopicStatsTable};
use petrel_protocol::remoting::header::CreateTopicRequestHeader;
use petrel_protocol::remoting::response_code as code;
use petrel_protocol::topic::AUTO_CREATE_TOPIC_KEY_TOPIC;

use super::{invalid, Admin, AdminError, Result};
use crate::broker_api::admin as api;
use crate::namesrv_api;

/// The address admin calls use for a broker group: its master, else its lowest-id replica
/// (`BrokerData.selectBrokerAddr` prefers the master too).
pub fn select_broker_addr(data: &BrokerData) -> Option<&str> {
    data.broker_addrs
        .get(&MASTER_ID)
        .or_else(|| data.broker_addrs.values().next())
        .map(String::as_str)
}

/// `+key=value,+key2=value2`, what `UPDATE_AND_CREATE_TOPIC` carries as `attributes`.
fn attributes_text(config: &TopicConfig) -> Option<String> {
    if config.attributes.is_empty() {
        return None;
    }
    Some(
        config
            .attributes
            .iter()
            .map(|(k, v)| format!("+{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

impl Admin {
    /// Creates or updates a topic on one broker (`createAndUpdateTopicConfig`).
    pub async fn create_or_update_topic(
        &self,
        broker_addr: &str,
        config: &TopicConfig,
    ) -> Result<()> {
        crate::names::check_topic(&config.topic_name)?;
        let header = CreateTopicRequestHeader {
            topic: config.topic_name.clone(),
            default_topic: AUTO_CREATE_TOPIC_KEY_TOPIC.to_string(),
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_filter_type: match config.topic_filter_type {
                petrel_protocol::remoting::body::TopicFilterType::MultiTag => "MULTI_TAG",
                _ => "SINGLE_TAG",
            }
            .to_string(),
            topic_sys_flag: Some(config.topic_sys_flag),
            order: config.order,
            attributes: attributes_text(config),
            ..Default::default()
        };
        Ok(api::update_and_create_topic(&self.instance, broker_addr, &header).await?)
    }

    /// Records an ordered topic's queue layout (`brokerName:queueNums;...`) on every name
    /// server (`createOrUpdateOrderConf`).
    pub async fn put_order_conf(&self, topic: &str, order_conf: &str) -> Result<()> {
        let put = namesrv_api::put_kv_config(
            &self.instance,
            NAMESPACE_ORDER_TOPIC_CONFIG,
            topic,
            order_conf,
        );
        Ok(put.await?)
    }

    /// An ordered topic's recorded layout (`brokerName:queueNums;...`), if any name server has
    /// one (`getKVConfig` in the order namespace).
    pub async fn order_conf(&self, topic: &str) -> Result<Option<String>> {
        let get = namesrv_api::get_kv_config(&self.instance, NAMESPACE_ORDER_TOPIC_CONFIG, topic);
        Ok(get.await?)
    }

    /// Deletes a topic's config, queues and offsets on one broker.
    pub async fn delete_topic_in_broker(&self, broker_addr: &str, topic: &str) -> Result<()> {
        Ok(api::delete_topic_in_broker(&self.instance, broker_addr, topic).await?)
    }

    /// Removes a topic from the routes of every name server; with `cluster`, only that
    /// cluster's queues.
    pub async fn delete_topic_in_namesrv(&self, topic: &str, cluster: Option<&str>) -> Result<()> {
        Ok(namesrv_api::delete_topic_in_namesrv(&self.instance, topic, cluster).await?)
    }

    /// Deletes a topic from every master of `cluster`, then from the name servers
    /// (mqadmin `deleteTopic`). Returns the brokers it was deleted from.
    pub async fn delete_topic(&self, topic: &str, cluster: &str) -> Result<Vec<String>> {
        let masters = self.master_addrs(Some(cluster)).await?;
        for addr in &masters {
            self.delete_topic_in_broker(addr, topic).await?;
        }
        self.delete_topic_in_namesrv(topic, Some(cluster)).await?;
        Ok(masters)
    }

    /// Every topic the name servers know (`fetchAllTopicList`).
    pub async fn topic_list(&self) -> Result<BTreeSet<String>> {
        Ok(namesrv_api::get_all_topic_list_from_nameserver(&self.instance).await?)
    }

    /// A topic's route (`examineTopicRouteInfo`); [`AdminError::TopicNotExist`] if no name
    /// server knows it.
    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData> {
        Ok(namesrv_api::get_route_info_by_topic(&self.instance, topic).await?)
    }

    /// The address of each broker group serving `topic` (optionally only in `cluster`), by
    /// broker name.
    pub async fn topic_broker_addrs(
        &self,
        topic: &str,
        cluster: Option<&str>,
    ) -> Result<Vec<(String, String)>> {
        let route = self.topic_route(topic).await?;
        let mut out: Vec<(String, String)> = route
            .broker_datas
            .iter()
            .filter(|b| cluster.is_none_or(|c| b.cluster == c))
            .filter_map(|b| select_broker_addr(b).map(|a| (b.broker_name.clone(), a.to_string())))
            .collect();
        out.sort();
        if out.is_empty() {
            return Err(match cluster {
                Some(c) => invalid(format!("topic {topic} has no broker in cluster {c}")),
                None => AdminError::TopicNotExist(topic.to_string()),
            });
        }
        Ok(out)
    }

    /// Min/max offsets and last store time of every queue of `topic` on every broker serving
    /// it (`examineTopicStats`).
    pub async fn topic_stats(&self, topic: &str, cluster: Option<&str>) -> Result<TopicStatsTable> {
        let mut table = TopicStatsTable::default();
        for (_, addr) in self.topic_broker_addrs(topic, cluster).await? {
            let stats = match api::get_topic_stats_info(&self.instance, &addr, topic).await {
                Ok(stats) => stats,
                // The route still names a broker that deleted the topic.
                Err(e) if e.response_code() == Some(code::TOPIC_NOT_EXIST) => continue,
                Err(e) => return Err(e.into()),
            };
            table.offset_table.extend(stats.offset_table);
            table.topic_put_tps += stats.topic_put_tps;
        }
        if table.offset_table.is_empty() {
            return Err(AdminError::TopicNotExist(topic.to_string()));
        }
        Ok(table)
    }

    /// The consumer groups that subscribe to `topic` or have offsets on it, on any broker
    /// serving it (`queryTopicConsumeByWho`).
    pub async fn topic_consumed_by(&self, topic: &str) -> Result<BTreeSet<String>> {
        let mut groups = BTreeSet::new();
        for (_, addr) in self.topic_broker_addrs(topic, None).await? {
            groups.extend(api::query_topic_consume_by_who(&self.instance, &addr, topic).await?);
        }
        Ok(groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_travel_as_plus_pairs() {
        let mut config = TopicConfig::default();
        assert_eq!(attributes_text(&config), None);
        config
            .attributes
            .insert("message.type".into(), "FIFO".into());
        config.attributes.insert("a".into(), "1".into());
        assert_eq!(
            attributes_text(&config).as_deref(),
            Some("+a=1,+message.type=FIFO")
        );
    }

    #[test]
    fn admin_calls_prefer_the_master() {
        let mut data = BrokerData::default();
        data.broker_addrs.insert(2, "s2".into());
        data.broker_addrs.insert(1, "s1".into());
        assert_eq!(select_broker_addr(&data), Some("s1"));
        data.broker_addrs.insert(0, "m".into());
        assert_eq!(select_broker_addr(&data), Some("m"));
    }
}
