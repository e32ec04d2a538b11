//! Consumer and producer groups: `UPDATE_AND_CREATE_SUBSCRIPTIONGROUP` (200),
//! `GET_ALL_SUBSCRIPTIONGROUP_CONFIG` (201), `DELETE_SUBSCRIPTIONGROUP` (207), `GET_SUBSCRIPTIONGROUP_CONFIG` (352), `GET_CONSUME_STATS`
//! (208), `GET_CONSUMER_CONNECTION_LIST` (203) and `GET_PRODUCER_CONNECTION_LIST` (204).
//!
//! Calls about a group without a topic go to every master of the cluster(s) the name server
//! knows, and the answers are merged (Java asks the brokers of the group's retry topic, which
//! misses groups that never sent a heartbeat).

use std::collections::BTreeMap;

use petrel_protocol::remoting::body::{
    ConsumeStats, ConsumerConnection, ProducerConnection, SubscriptionGroupConfig,
};
use petrel_protocol::remoting::response_code as code;

use super::{Admin, AdminError, Result};
use crate::broker_api::admin as api;

impl Admin {
    /// Creates or replaces a subscription group's config on one broker.
    pub async fn create_or_update_sub_group(
        &self,
        broker_addr: &str,
        config: &SubscriptionGroupConfig,
    ) -> Result<()> {
        crate::names::check_group(&config.group_name)?;
        Ok(api::update_and_create_subscription_group(&self.instance, broker_addr, config).await?)
    }

    /// Sets how `group` reads `topic` on one broker: PULL, or POP shared by
    /// `pop_share_queue_num` consumers per queue (0: every consumer reads every queue).
    pub async fn set_message_request_mode(
        &self,
        broker_addr: &str,
        topic: &str,
        group: &str,
        mode: petrel_protocol::remoting::body::MessageRequestMode,
        pop_share_queue_num: i32,
    ) -> Result<()> {
        crate::names::check_group(group)?;
        let body = petrel_protocol::remoting::body::SetMessageRequestModeRequestBody {
            topic: topic.to_string(),
            consumer_group: group.to_string(),
            mode,
            pop_share_queue_num,
        };
        Ok(api::set_message_request_mode(&self.instance, broker_addr, &body).await?)
    }

    /// A subscription group's config on one broker (RocketMQ creates a default one for a valid
    /// name when `autoCreateSubscriptionGroup` is on).
    pub async fn sub_group_config(
        &self,
        broker_addr: &str,
        group: &str,
    ) -> Result<SubscriptionGroupConfig> {
        Ok(api::get_subscription_group_config(&self.instance, broker_addr, group).await?)
    }

    /// Every subscription group on the masters of `cluster` (all clusters when `None`), by
    /// name; a group on several masters appears once, with the first master's config.
    pub async fn sub_groups(
        &self,
        cluster: Option<&str>,
    ) -> Result<BTreeMap<String, SubscriptionGroupConfig>> {
        let mut groups = BTreeMap::new();
        for addr in self.master_addrs(cluster).await? {
            let wrapper = api::get_all_subscription_group_config(&self.instance, &addr).await?;
            for (name, config) in wrapper.subscription_group_table {
                groups.entry(name).or_insert(config);
            }
        }
        Ok(groups)
    }

    /// Deletes a subscription group on one broker; with `clean_offset`, its offsets too.
    pub async fn delete_sub_group(
        &self,
        broker_addr: &str,
        group: &str,
        clean_offset: bool,
    ) -> Result<()> {
        Ok(
            api::delete_subscription_group(&self.instance, broker_addr, group, clean_offset)
                .await?,
        )
    }

    /// The brokers a group call goes to: those serving `topic`, else every master of
    /// `cluster` (or of all clusters).
    async fn group_brokers(
        &self,
        topic: Option<&str>,
        cluster: Option<&str>,
    ) -> Result<Vec<String>> {
        match topic {
            Some(topic) => Ok(self
                .topic_broker_addrs(topic, cluster)
                .await?
                .into_iter()
                .map(|(_, addr)| addr)
                .collect()),
            None => self.master_addrs(cluster).await,
        }
    }

    /// A group's progress on every queue (`examineConsumeStats`): broker offset, committed
    /// offset, pull offset and last consumed time, merged over the brokers. Without `topic`,
    /// every topic the group has offsets on (narrowed to its live subscriptions).
    pub async fn consume_stats(
        &self,
        group: &str,
        topic: Option<&str>,
        cluster: Option<&str>,
    ) -> Result<ConsumeStats> {
        let mut stats = ConsumeStats::default();
        for addr in self.group_brokers(topic, cluster).await? {
            let part = api::get_consume_stats(&self.instance, &addr, group, topic).await?;
            stats.consume_tps += part.consume_tps;
            stats.offset_table.extend(part.offset_table);
        }
        if stats.offset_table.is_empty() && topic.is_none() {
            return Err(AdminError::GroupNotExist(group.to_string()));
        }
        Ok(stats)
    }

    /// A consumer group's live members and subscriptions (`examineConsumerConnectionInfo`),
    /// from one broker or merged over every master.
    pub async fn consumer_connection(
        &self,
        group: &str,
        broker_addr: Option<&str>,
    ) -> Result<ConsumerConnection> {
        let addrs = match broker_addr {
            Some(a) => vec![a.to_string()],
            None => self.master_addrs(None).await?,
        };
        let mut merged: Option<ConsumerConnection> = None;
        for addr in addrs {
            let part = match api::get_consumer_connection_list(&self.instance, &addr, group).await {
                Ok(part) => part,
                Err(e) if e.response_code() == Some(code::CONSUMER_NOT_ONLINE) => continue,
                Err(e) => return Err(e.into()),
            };
            match &mut merged {
                None => merged = Some(part),
                Some(m) => {
                    for c in part.connection_set {
                        if !m.connection_set.iter().any(|x| x.client_id == c.client_id) {
                            m.connection_set.push(c);
                        }
                    }
                    for (topic, sub) in part.subscription_table {
                        m.subscription_table.entry(topic).or_insert(sub);
                    }
                }
            }
        }
        let mut cc = merged.ok_or_else(|| AdminError::ConsumerNotOnline(group.to_string()))?;
        cc.connection_set
            .sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(cc)
    }

    /// A producer group's live members on the brokers serving `topic`
    /// (`examineProducerConnectionInfo`).
    pub async fn producer_connection(
        &self,
        group: &str,
        topic: &str,
    ) -> Result<ProducerConnection> {
        let mut merged = ProducerConnection::default();
        for (_, addr) in self.topic_broker_addrs(topic, None).await? {
            let part = match api::get_producer_connection_list(&self.instance, &addr, group).await {
                Ok(part) => part,
                // RocketMQ answers SYSTEM_ERROR "the producer group[..] not exist" for a group
                // with no member.
                Err(e) if e.response_code().is_some() => continue,
                Err(e) => return Err(e.into()),
            };
            for c in part.connection_set {
                if !merged
                    .connection_set
                    .iter()
                    .any(|x| x.client_id == c.client_id)
                {
                    merged.connection_set.push(c);
                }
            }
        }
        if merged.connection_set.is_empty() {
            return Err(AdminError::ProducerNotOnline(group.to_string()));
        }
        merged
            .connection_set
            .sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(merged)
    }
}
