//! A real `redis-server` for the Redis dedup store's tests: on a unix socket in a temporary
//! directory (no port to collide on, nothing persisted), stopped when dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Upper bound of the wait for the server's socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `redis-server`; [`Redis::url`] is what `RedisDedupStore::new` takes.
pub struct Redis {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// Starts a server and waits until its socket exists.
    pub fn start() -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("redis.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no"])
            .arg("--unixsocket")
            .arg(&sock)
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "redis-server must be installed for the Redis dedup tests \
                 (apt-get install redis-server; .ci/run installs it)",
            );
        let deadline = Instant::now() + START_TIMEOUT;
        while !sock.exists() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis {
            child,
            url: format!("redis+unix://{}", sock.display()),
            _dir: dir,
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
