//! Named broker statistics (`DefaultMQAdminExt.viewBrokerStatsData`), what `statsAll` and the
//! legacy Prometheus exporter read.

use petrel_protocol::remoting::body::BrokerStatsData;

use super::{Admin, Result};
use crate::broker_api;

impl Admin {
    /// The statistic `name` of `key` on the broker at `addr` over the last minute, hour and
    /// day; an error if the broker never counted it.
    pub async fn view_broker_stats_data(
        &self,
        addr: &str,
        name: &str,
        key: &str,
    ) -> Result<BrokerStatsData> {
        Ok(broker_api::stats::view_broker_stats_data(&self.instance, addr, name, key).await?)
    }
}
