//! Separate `petrel namesrv` and `petrel broker` processes, for tests of several brokers
//! (a master and its slaves): each node is started with its arguments, waits for
//! `petrel ready`, can be killed with SIGKILL and started again with the same arguments (and
//! data directory).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `petrel namesrv` or `petrel broker` process.
pub struct Node {
    child: Option<Child>,
    /// A command the process runs under (`ip netns exec NAME`), if any.
    wrapper: Vec<String>,
    args: Vec<String>,
    /// The name server's or broker's remoting address.
    pub addr: String,
    /// A broker's replication (HA) address.
    pub ha_addr: Option<String>,
    pub data_dir: Option<PathBuf>,
}

impl Node {
    /// `petrel namesrv` on an ephemeral loopback port.
    pub fn namesrv() -> Node {
        Node::spawn(vec![
            "namesrv".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ])
    }

    /// `petrel broker` on an ephemeral loopback port, registered with `namesrv`, storing in
    /// `data_dir`, with `sets` as `--set` options (small CommitLog segments unless overridden).
    pub fn broker(namesrv: &str, data_dir: &Path, sets: &[&str]) -> Node {
        let mut args: Vec<String> = vec![
            "broker".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--namesrv".into(),
            namesrv.into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
        ];
        for s in [
            "mappedFileSizeCommitLog=8388608",
            "maxHashSlotNum=50000",
            "maxIndexNum=200000",
        ]
        .iter()
        .chain(sets)
        {
            args.push("--set".into());
            args.push(s.to_string());
        }
        let mut node = Node::spawn(args);
        node.data_dir = Some(data_dir.to_path_buf());
        node
    }

    /// `petrel` with `args` (a sub-command and its options), waiting for `petrel ready`.
    pub fn spawn(args: Vec<String>) -> Node {
        Node::spawn_wrapped(Vec::new(), args)
    }

    /// [`Node::spawn`] under `wrapper` (e.g. `ip netns exec NAME`, which execs petrel in a
    /// network namespace, so the pid stays petrel's).
    pub fn spawn_wrapped(wrapper: Vec<String>, args: Vec<String>) -> Node {
        let mut node = Node {
            child: None,
            wrapper,
            args,
            addr: String::new(),
            ha_addr: None,
            data_dir: None,
        };
        node.start();
        node
    }

    /// Starts the process (again, after [`Node::kill9`]) with the same arguments.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let petrel = env!("CARGO_BIN_EXE_petrel");
        let mut command = match self.wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(petrel);
                c
            }
            None => Command::new(petrel),
        };
        let mut child = command
            .args(&self.args)
            .env(
                "RUST_LOG",
                std::env::var("PETREL_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn petrel");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("petrel did not become ready");
            if let Some(rest) = line.strip_prefix("petrel name server listening on ") {
                self.addr = rest.trim().to_string();
            }
            if line.starts_with("petrel broker ") && line.contains(" listening on ") {
                self.addr = line
                    .split(" listening on ")
                    .nth(1)
                    .and_then(|s| s.split_whitespace().next())
                    .unwrap()
                    .to_string();
            }
            if let Some((_, ha)) = line.split_once("replication address ") {
                self.ha_addr = Some(ha.trim().to_string());
            }
            if line == "petrel ready" {
                break;
            }
        }
        self.child = Some(child);
    }

    /// Kills the process with SIGKILL (a crash) and waits for it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops with SIGTERM and waits (SIGKILL after 30 s).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: kill(2) takes plain integers and touches no memory of ours; the pid is our
        // own child's, not yet reaped (we wait for it below), so it names no other process.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if child.try_wait().unwrap().is_some() {
                return;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Fixes the listen port to the one it got, so that a restart keeps its address (clients
    /// and slaves find it again).
    pub fn keep_port(&mut self) {
        let addr = self.addr.clone();
        if let Some(i) = self.args.iter().position(|a| a == "--listen") {
            self.args[i + 1] = addr;
        }
    }

    /// Adds `--set key=value` for the next [`Node::start`].
    pub fn set_on_restart(&mut self, set: &str) {
        self.args.push("--set".into());
        self.args.push(set.into());
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The CommitLog segments of a store, name → bytes, up to `end` (a logical offset).
pub fn commit_log_bytes(data_dir: &Path, end: u64) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(data_dir.join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let start: u64 = name.parse().ok()?;
            (start < end).then(|| (name, std::fs::read(e.path()).unwrap()))
        })
        .collect();
    files.sort();
    files
}
