//! Clusters and brokers: `GET_BROKER_CLUSTER_INFO` (106) from a name server,
//! `GET_BROKER_RUNTIME_INFO` (28) from a broker.

use std::collections::BTreeMap;

use petrel_protocol::mix_all::MASTER_ID;
use petrel_protocol::remoting::body::ClusterInfo;

use super::{Admin, AdminError, Result};
use crate::{broker_api, namesrv_api};

/// One broker process as the name server lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BrokerRef {
    pub cluster: String,
    pub broker_name: String,
    /// 0 for a master.
    pub broker_id: i64,
    pub addr: String,
}

impl BrokerRef {
    pub fn is_master(&self) -> bool {
        self.broker_id == MASTER_ID
    }
}

impl Admin {
    /// Every cluster and broker the name server knows (`examineBrokerClusterInfo`).
    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        Ok(namesrv_api::get_broker_cluster_info(&self.instance).await?)
    }

    /// The brokers of `cluster` (every cluster when `None`), sorted by cluster, broker name and
    /// id. An unknown cluster is an error naming the known ones.
    pub async fn brokers(&self, cluster: Option<&str>) -> Result<Vec<BrokerRef>> {
        let info = self.cluster_info().await?;
        brokers_of(&info, cluster)
    }

    /// The master addresses of `cluster` (`CommandUtil.fetchMasterAddrByClusterName`).
    pub async fn master_addrs(&self, cluster: Option<&str>) -> Result<Vec<String>> {
        Ok(self
            .brokers(cluster)
            .await?
            .into_iter()
            .filter(BrokerRef::is_master)
            .map(|b| b.addr)
            .collect())
    }

    /// The broker name of the broker listening at `addr`, if the name server lists it.
    pub async fn broker_name_of(&self, addr: &str) -> Result<Option<String>> {
        Ok(self
            .brokers(None)
            .await?
            .into_iter()
            .find(|b| b.addr == addr)
            .map(|b| b.broker_name))
    }

    /// A broker's runtime figures (`fetchBrokerRuntimeStats`), RocketMQ's key names.
    pub async fn broker_runtime_info(&self, addr: &str) -> Result<BTreeMap<String, String>> {
        Ok(broker_api::admin::get_broker_runtime_info(&self.instance, addr).await?)
    }

    /// A broker's replication state (`mqadmin haStatus`).
    pub async fn broker_ha_status(
        &self,
        addr: &str,
    ) -> Result<petrel_protocol::remoting::body::HaRuntimeInfo> {
        Ok(broker_api::admin::get_broker_ha_status(&self.instance, addr).await?)
    }
}

/// The brokers of `cluster` in `info`, sorted.
pub fn brokers_of(info: &ClusterInfo, cluster: Option<&str>) -> Result<Vec<BrokerRef>> {
    let clusters: Vec<(&String, _)> = match cluster {
        Some(name) => match info.cluster_addr_table.get_key_value(name) {
            Some(entry) => vec![entry],
            None => {
                let known: Vec<&str> = info.cluster_addr_table.keys().map(String::as_str).collect();
                return Err(AdminError::ClusterNotExist {
                    cluster: name.to_string(),
                    known: if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    },
                });
            }
        },
        None => info.cluster_addr_table.iter().collect(),
    };
    let mut out = Vec::new();
    for (cluster, broker_names) in clusters {
        for name in broker_names {
            let Some(data) = info.broker_addr_table.get(name) else {
                continue;
            };
            for (id, addr) in &data.broker_addrs {
                out.push(BrokerRef {
                    cluster: cluster.clone(),
                    broker_name: name.clone(),
                    broker_id: *id,
                    addr: addr.clone(),
                });
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use petrel_protocol::remoting::body::BrokerData;

    fn info() -> ClusterInfo {
        let broker = |name: &str, addrs: &[(i64, &str)]| BrokerData {
            broker_addrs: addrs.iter().map(|(i, a)| (*i, a.to_string())).collect(),
            broker_name: name.into(),
            cluster: "C".into(),
            ..Default::default()
        };
        ClusterInfo {
            broker_addr_table: [
                ("b".to_string(), broker("b", &[(0, "h:2"), (1, "h:3")])),
                ("a".to_string(), broker("a", &[(0, "h:1")])),
            ]
            .into_iter()
            .collect(),
            cluster_addr_table: [(
                "C".to_string(),
                ["a".to_string(), "b".to_string()].into_iter().collect(),
            )]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn lists_brokers_of_a_cluster_in_order() {
        let all = brokers_of(&info(), Some("C")).unwrap();
        let addrs: Vec<&str> = all.iter().map(|b| b.addr.as_str()).collect();
        assert_eq!(addrs, ["h:1", "h:2", "h:3"]);
        assert!(all[1].is_master() && !all[2].is_master());
        assert_eq!(brokers_of(&info(), None).unwrap(), all);
    }

    #[test]
    fn an_unknown_cluster_names_the_known_ones() {
        let e = brokers_of(&info(), Some("X")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cluster X does not exist (known clusters: C)"
        );
    }
}
