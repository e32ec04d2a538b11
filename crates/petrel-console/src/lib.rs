//! Petrel's web console: what RocketMQ users get from the separate RocketMQ Dashboard, served
//! by the `petrel` binary itself (`petrel serve` opens it on `127.0.0.1:8080`; `petrel
//! console` runs it alone against any name server).
//!
//! It owns an HTTP server (axum) with two halves:
//! - [`api`]: a JSON API under `/api/`, one file per view (cluster, topics, groups,
//!   producers, messages, trace). Every handler is a thin call into
//!   `petrel_client::admin::Admin`, the same admin API `petrel admin` uses, so the console
//!   shows exactly what the command line shows and works against Apache RocketMQ brokers too.
//! - [`assets`]: the single-page front end (plain HTML, CSS and JavaScript modules, no build
//!   step, no CDN), compiled into the binary with `include_str!`, so the console works
//!   offline and its version always matches the server's.
//!
//! It must not reach into the broker or the store: everything goes over the remoting
//! protocol, through a name server, like any admin tool.

pub mod api;
pub mod assets;

use std::net::SocketAddr;

use petrel_client::admin::Admin;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// What can keep the console from starting.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running console; stopped by [`Console::shutdown`] (or when dropped, with the runtime).
pub struct Console {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// The whole application: API routes and assets, for `admin`.
pub fn app(admin: Admin) -> axum::Router {
    api::routes(admin).merge(assets::routes())
}

impl Console {
    /// Listens on `listen` (port 0 picks a free port) and serves the console for `admin`.
    pub async fn start(listen: SocketAddr, admin: Admin) -> Result<Console, ConsoleError> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| ConsoleError::Bind {
                addr: listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| ConsoleError::Bind {
            addr: listen,
            source,
        })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = app(admin);
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = served.await {
                tracing::warn!(error = %e, "the console stopped serving");
            }
        });
        Ok(Console {
            local_addr,
            stop: Some(stop),
            task,
        })
    }

    /// The address the console listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting requests; waits (at most 5 s) for those in progress.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = &mut self.task;
        if tokio::time::timeout(std::time::Duration::from_secs(5), task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}
