//! Topics: `UPDATE_AND_CREATE_TOPIC` (17) and `DELETE_TOPIC_IN_BROKER` (215) on brokers,
//! `DELETE_TOPIC_IN_NAMESRV` (216), `GET_ALL_TOPIC_LIST_FROM_NAMESERVER` (206),
//! `GET_ROUTEINFO_BY_TOPIC` (105) and `PUT_KV_CONFIG` (100, order configs) on name servers,
//! `GET_TOPIC_STATS_INFO` (202) and `QUERY_TOPIC_CONSUME_BY_WHO` (300) on brokers.

use std::collections::BTreeSet;

use petrel_protocol::mix_all::{MASTER_ID, NAMESPACE_ORDER_TOPIC_CONFIG};
use petrel_protocol::remoting::body::{
    BrokerData, GroupList, TopicConfig, TopicList, TopicRouteData, TopicStatsTable,
};
use petrel_protocol::remoting::header::{
    CreateTopicRequestHeader, DeleteTopicFromNamesrvRequestHeader, DeleteTopicRequestHeader,
    GetKVConfigRequestHeader, GetKVConfigResponseHeader, GetRouteInfoRequestHeader,
    GetTopicStatsInfoRequestHeader, PutKVConfigRequestHeader, QueryTopicConsumeByWhoRequestHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use petrel_protocol::topic::AUTO_CREATE_TOPIC_KEY_TOPIC;

use super::{decode_body, Admin, AdminError, Result};

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
        self.broker_call_ok(
            broker_addr,
            RemotingCommand::request(rc::UPDATE_AND_CREATE_TOPIC).with_header(&header),
        )
        .await?;
        Ok(())
    }

    /// Records an ordered topic's queue layout (`brokerName:queueNums;...`) on every name
    /// server (`createOrUpdateOrderConf`).
    pub async fn put_order_conf(&self, topic: &str, order_conf: &str) -> Result<()> {
        let header = PutKVConfigRequestHeader {
            namespace: NAMESPACE_ORDER_TOPIC_CONFIG.into(),
            key: topic.into(),
            value: order_conf.into(),
        };
        self.namesrv_call_all(RemotingCommand::request(rc::PUT_KV_CONFIG).with_header(&header))
            .await
    }

    /// An ordered topic's recorded layout (`brokerName:queueNums;...`), if any name server has
    /// one (`getKVConfig` in the order namespace).
    pub async fn order_conf(&self, topic: &str) -> Result<Option<String>> {
        let header = GetKVConfigRequestHeader {
            namespace: NAMESPACE_ORDER_TOPIC_CONFIG.into(),
            key: topic.into(),
        };
        let response = self
            .namesrv_call(RemotingCommand::request(rc::GET_KV_CONFIG).with_header(&header))
            .await?;
        match response.code {
            code::SUCCESS => Ok(response
                .decode_header::<GetKVConfigResponseHeader>()
                .map_err(|e| AdminError::BadResponse {
                    addr: "name server".into(),
                    reason: e.to_string(),
                })?
                .value),
            code::QUERY_NOT_FOUND => Ok(None),
            _ => Err(AdminError::refused("name server", response)),
        }
    }

    /// Deletes a topic's config, queues and offsets on one broker.
    pub async fn delete_topic_in_broker(&self, broker_addr: &str, topic: &str) -> Result<()> {
        let header = DeleteTopicRequestHeader {
            topic: topic.to_string(),
            ..Default::default()
        };
        self.broker_call_ok(
            broker_addr,
            RemotingCommand::request(rc::DELETE_TOPIC_IN_BROKER).with_header(&header),
        )
        .await?;
        Ok(())
    }

    /// Removes a topic from the routes of every name server; with `cluster`, only that
    /// cluster's queues.
    pub async fn delete_topic_in_namesrv(&self, topic: &str, cluster: Option<&str>) -> Result<()> {
        let header = DeleteTopicFromNamesrvRequestHeader {
            topic: topic.to_string(),
            cluster_name: cluster.map(str::to_string),
        };
        self.namesrv_call_all(
            RemotingCommand::request(rc::DELETE_TOPIC_IN_NAMESRV).with_header(&header),
        )
        .await
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
        let response = self
            .namesrv_call(RemotingCommand::request(
                rc::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
            ))
            .await?;
        if response.code != code::SUCCESS {
            return Err(AdminError::refused("name server", response));
        }
        let list: TopicList = decode_body("name server", "topic list", &response.body)?;
        Ok(list.topic_list)
    }

    /// A topic's route (`examineTopicRouteInfo`); [`AdminError::TopicNotExist`] if no name
    /// server knows it.
    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_string(),
            accept_standard_json_only: Some(true),
            ..Default::default()
        };
        let response = self
            .namesrv_call(RemotingCommand::request(rc::GET_ROUTEINFO_BY_TOPIC).with_header(&header))
            .await?;
        match response.code {
            code::SUCCESS => decode_body("name server", "topic route", &response.body),
            code::TOPIC_NOT_EXIST => Err(AdminError::TopicNotExist(topic.to_string())),
            _ => Err(AdminError::refused("name server", response)),
        }
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
                Some(c) => AdminError::InvalidArgument(format!(
                    "topic {topic} has no broker in cluster {c}"
                )),
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
            let header = GetTopicStatsInfoRequestHeader {
                topic: topic.to_string(),
                ..Default::default()
            };
            let response = self
                .broker_call(
                    &addr,
                    RemotingCommand::request(rc::GET_TOPIC_STATS_INFO).with_header(&header),
                )
                .await?;
            match response.code {
                code::SUCCESS => {}
                // The route still names a broker that deleted the topic.
                code::TOPIC_NOT_EXIST => continue,
                _ => return Err(AdminError::refused(&addr, response)),
            }
            let stats: TopicStatsTable = decode_body(&addr, "topic stats", &response.body)?;
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
            let header = QueryTopicConsumeByWhoRequestHeader {
                topic: topic.to_string(),
                ..Default::default()
            };
            let response = self
                .broker_call_ok(
                    &addr,
                    RemotingCommand::request(rc::QUERY_TOPIC_CONSUME_BY_WHO).with_header(&header),
                )
                .await?;
            let list: GroupList = decode_body(&addr, "group list", &response.body)?;
            groups.extend(list.group_list);
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
