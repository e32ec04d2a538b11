//! What the processors share: the route tables, the KV config, the settings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

use crate::config::{NamesrvConfig, RuntimeSettings};
use crate::kv_config::{self, KvConfig};
use crate::route_info::RouteInfoManager;

pub(crate) struct NamesrvState {
    /// As started; run-time changes live in `settings`.
    pub(crate) config: NamesrvConfig,
    /// The address actually bound.
    pub(crate) local_addr: SocketAddr,
    pub(crate) settings: RwLock<RuntimeSettings>,
    pub(crate) routes: RwLock<RouteInfoManager>,
    pub(crate) kv: RwLock<KvConfig>,
    /// Held while the KV file is written, so snapshots reach the disk in order.
    kv_persist: Mutex<()>,
    /// Zero of the liveness clock.
    clock_origin: Instant,
}

impl NamesrvState {
    pub(crate) fn new(config: NamesrvConfig, local_addr: SocketAddr, kv: KvConfig) -> Self {
        let settings = config.runtime_settings();
        NamesrvState {
            routes: RwLock::new(RouteInfoManager::new(settings.route)),
            settings: RwLock::new(settings),
            kv: RwLock::new(kv),
            kv_persist: Mutex::new(()),
            clock_origin: Instant::now(),
            config,
            local_addr,
        }
    }

    /// The liveness clock: monotonic milliseconds since start. Java compares wall-clock
    /// times, so a clock step forward expires every broker at once; this cannot.
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.clock_origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(crate) fn settings(&self) -> RuntimeSettings {
        *self.settings.read()
    }

    /// Writes the KV config to its file, if it has one, off the async workers. The snapshot
    /// is taken under the persist lock, so the last write always carries the latest table.
    pub(crate) async fn persist_kv(self: &Arc<Self>) -> Result<(), String> {
        let Some(path) = self.config.kv_config_path.clone() else {
            return Ok(());
        };
        let state = Arc::clone(self);
        let write = move |path: PathBuf| {
            let _order = state.kv_persist.lock();
            let bytes = state.kv.read().to_json();
            kv_config::write_atomically(&path, &bytes)
        };
        match tokio::task::spawn_blocking(move || write(path)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(format!("the persist task failed: {e}")),
        }
    }
}
