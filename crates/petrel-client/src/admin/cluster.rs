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

/// A broker's figures as `clusterList` shows them, read from its runtime info
/// (`GET_BROKER_RUNTIME_INFO`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerFigures {
    /// `brokerVersionDesc`, e.g. `V5_3_3`.
    pub version: String,
    /// Messages stored per second over the last 10 s (`putTps`).
    pub in_tps: f64,
    /// Messages sent to consumers per second over the last 10 s (`getTransferredTps`).
    pub out_tps: f64,
    pub send_thread_pool_queue_size: String,
    pub pull_thread_pool_queue_size: String,
    pub page_cache_lock_time_mills: String,
    /// Hours since the oldest message kept was stored.
    pub hours_of_data: f64,
    /// Share of the CommitLog disk in use, 0 to 1.
    pub commit_log_disk_ratio: f64,
    /// Messages stored / delivered yesterday and today (UTC days).
    pub in_total_yest: i64,
    pub out_total_yest: i64,
    pub in_total_today: i64,
    pub out_total_today: i64,
    /// `brokerActive`.
    pub activated: bool,
}

impl BrokerFigures {
    /// Reads the figures from a runtime info table; what is absent reads as 0 or empty.
    /// `now_ms` dates `hours_of_data`.
    pub fn from_runtime_info(table: &BTreeMap<String, String>, now_ms: i64) -> BrokerFigures {
        fn first_rate(text: Option<&String>) -> f64 {
            text.and_then(|t| t.split_whitespace().next())
                .and_then(|t| t.parse().ok())
                .unwrap_or(0.0)
        }
        let number =
            |key: &str| -> i64 { table.get(key).and_then(|v| v.parse().ok()).unwrap_or(0) };
        let get = |k: &str| table.get(k).cloned().unwrap_or_default();
        let earliest = number("earliestMessageTimeStamp");
        let (put_yest, put_today, put_now) = (
            number("msgPutTotalYesterdayMorning"),
            number("msgPutTotalTodayMorning"),
            number("msgPutTotalTodayNow"),
        );
        let (get_yest, get_today, get_now) = (
            number("msgGetTotalYesterdayMorning"),
            number("msgGetTotalTodayMorning"),
            number("msgGetTotalTodayNow"),
        );
        BrokerFigures {
            version: get("brokerVersionDesc"),
            in_tps: first_rate(table.get("putTps")),
            out_tps: first_rate(table.get("getTransferredTps")),
            send_thread_pool_queue_size: get("sendThreadPoolQueueSize"),
            pull_thread_pool_queue_size: get("pullThreadPoolQueueSize"),
            page_cache_lock_time_mills: get("pageCacheLockTimeMills"),
            hours_of_data: if earliest > 0 {
                now_ms.saturating_sub(earliest) as f64 / 3_600_000.0
            } else {
                0.0
            },
            commit_log_disk_ratio: table
                .get("commitLogDiskRatio")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0),
            in_total_yest: put_today.saturating_sub(put_yest),
            out_total_yest: get_today.saturating_sub(get_yest),
            in_total_today: put_now.saturating_sub(put_today),
            out_total_today: get_now.saturating_sub(get_today),
            activated: get("brokerActive") == "true",
        }
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

    #[test]
    fn figures_come_from_the_runtime_info() {
        let table: BTreeMap<String, String> = [
            ("brokerVersionDesc", "V5_3_3"),
            ("putTps", "1234.5 1000.0 900.0"),
            ("getTransferredTps", "10.0 9.0 8.0"),
            ("earliestMessageTimeStamp", "1000"),
            ("msgPutTotalYesterdayMorning", "10"),
            ("msgPutTotalTodayMorning", "30"),
            ("msgPutTotalTodayNow", "100"),
            ("commitLogDiskRatio", "0.25"),
            ("brokerActive", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let f = BrokerFigures::from_runtime_info(&table, 1000 + 7_200_000);
        assert_eq!(f.version, "V5_3_3");
        assert_eq!(f.in_tps, 1234.5);
        assert_eq!(f.out_tps, 10.0);
        assert_eq!(f.hours_of_data, 2.0);
        assert_eq!((f.in_total_yest, f.in_total_today), (20, 70));
        assert_eq!(f.commit_log_disk_ratio, 0.25);
        assert!(f.activated);
        let empty = BrokerFigures::from_runtime_info(&BTreeMap::new(), 5);
        assert_eq!(empty, BrokerFigures::default());
    }
}
