//! Test support: a real `petrel serve` process on ephemeral ports, and the third-party client's
//! runtime; [`client`] for tests that use petrel-client, [`interop`] for tests that use the
//! third-party client, [`redis`] for a real `redis-server`.
#![allow(dead_code)]

pub mod autoswitch;
pub mod client;
pub mod cluster;
pub mod interop;
pub mod redis;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use rocketmq_client_rust::{ClientRuntime, ClientRuntimeConfig, TelemetryHandle};
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};

/// A `petrel serve` child process; stopped with SIGTERM (then SIGKILL) when dropped.
pub struct Petrel {
    child: Option<Child>,
    pub namesrv: String,
    pub broker: String,
    /// The web console's base URL (`http://127.0.0.1:PORT`).
    pub console: Option<String>,
    /// The gRPC service's address (`127.0.0.1:PORT`).
    pub grpc: Option<String>,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub stdout: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Petrel {
    /// Starts `petrel serve` with a fresh data directory and the given `--set` options.
    pub fn start(sets: &[&str]) -> Petrel {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let mut p = Petrel::start_in(&dir, sets);
        p._tmp = Some(tmp);
        p
    }

    /// Starts `petrel serve` on `data_dir` (kept by the caller, e.g. for restarts).
    pub fn start_in(data_dir: &Path, sets: &[&str]) -> Petrel {
        Petrel::start_configured(data_dir, sets, |_| {})
    }

    /// Starts `petrel serve` on `data_dir` after `configure` adjusts the command (e.g. a
    /// `pre_exec` that lowers the descriptor limit).
    pub fn start_configured(
        data_dir: &Path,
        sets: &[&str],
        configure: impl FnOnce(&mut Command),
    ) -> Petrel {
        let mut cmd = Command::new(petrel_bin());
        cmd.args([
            "serve",
            "--namesrv-listen",
            "127.0.0.1:0",
            "--broker-listen",
            "127.0.0.1:0",
            "--console-listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data_dir);
        for s in sets {
            cmd.args(["--set", s]);
        }
        cmd.env(
            "RUST_LOG",
            std::env::var("PETREL_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        );
        configure(&mut cmd);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn petrel");
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let (mut namesrv, mut broker, mut console, mut grpc) = (None, None, None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("petrel did not become ready");
            if let Some(rest) = line.strip_prefix("petrel name server listening on ") {
                namesrv = Some(rest.trim().to_string());
            }
            if line.starts_with("petrel broker ") && line.contains(" listening on ") {
                let addr = line
                    .split(" listening on ")
                    .nth(1)
                    .unwrap()
                    .split_whitespace()
                    .next()
                    .unwrap();
                broker = Some(addr.to_string());
            }
            if let Some(rest) = line.strip_prefix("petrel console on ") {
                console = Some(rest.trim().trim_end_matches('/').to_string());
            }
            if let Some(rest) = line.strip_prefix("petrel grpc listening on ") {
                grpc = Some(rest.trim().to_string());
            }
            if line == "petrel ready" {
                break;
            }
        }
        Petrel {
            child: Some(child),
            namesrv: namesrv.expect("name server address"),
            broker: broker.expect("broker address"),
            console,
            grpc,
            data_dir: data_dir.to_path_buf(),
            _tmp: None,
            stdout: lines,
        }
    }

    /// The process id of the running server (e.g. to read `/proc/PID/status`).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The exit status if the process has ended (a crash, while the test expects it running).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Kills the process with SIGKILL (a crash) and waits for it.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Stops with SIGTERM and waits; returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        // SAFETY: kill(2) takes plain integers and touches no memory of ours; the pid is our
        // own child's, not yet reaped (we wait for it below), so it names no other process.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The `petrel` binary the tests start: this build's, or `PETREL_BIN` (e.g. a release build
/// driven by a debug test harness, as `scripts/disk-full-fillups.sh` does).
pub fn petrel_bin() -> PathBuf {
    std::env::var_os("PETREL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_petrel")))
}

impl Drop for Petrel {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}

static OWNER: LazyLock<RuntimeOwner> = LazyLock::new(|| {
    let mut config = RuntimeConfig {
        thread_name: "petrel-interop".to_string(),
        ..Default::default()
    };
    // The client runs each consume call as a task admitted to a blocking lane; on 2 cores the
    // default lanes queue 8 to 32 tasks, and a push consumer facing a backlog (4 queues x 32
    // pulled messages, one task each) overflows them. The client then treats a rejected task
    // as a failed consumption and sends the message back for retry, which arrives 10 s later
    // from %RETRY% (seen as "runtime.capacity.exhausted" in its log). That is the client's
    // admission policy, not the protocol under test: give the lanes room for a backlog.
    let lanes = &mut config.blocking_lane_policies;
    for lane in [
        &mut lanes.storage_io,
        &mut lanes.metadata_io,
        &mut lanes.cpu_crypto,
    ] {
        lane.max_queue_depth = lane.max_queue_depth.max(4_096);
    }
    RuntimeOwner::plan(config)
        .expect("runtime config")
        .build()
        .expect("runtime owner")
});

/// A client runtime for one producer or consumer.
pub fn client_runtime(scope: &'static str) -> Arc<ClientRuntime> {
    ClientRuntime::try_new(
        OWNER.root_context().component(scope),
        ClientRuntimeConfig::default(),
        TelemetryHandle::noop(),
    )
    .expect("client runtime")
}

/// A name unique to this test run (consumer groups and topics must not leak between runs:
/// some clients keep offsets on local disk).
pub fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 1_000_000_000;
    format!("{prefix}_{}_{t}_{n}", std::process::id())
}

/// Polls `done` until it holds or `timeout` passes.
pub async fn eventually(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
