//! A dedup store in Redis: records survive consumer restarts and are shared by every consumer
//! of the group. A claim is `SET key consuming NX EX ttl` (atomic: one claimant wins); a
//! consumed record is `SET key consumed EX ttl`; a release deletes the key only if it still
//! holds a claim (a Lua script, so a consumed record is never deleted by a late release).

use std::time::Duration;

use parking_lot::Mutex;

use super::{Claim, DedupError, DedupStore};

const CONSUMING: &str = "consuming";
const CONSUMED: &str = "consumed";

/// Deletes `KEYS[1]` if it holds `ARGV[1]`.
const RELEASE_SCRIPT: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

pub struct RedisDedupStore {
    client: redis::Client,
    /// One connection, reopened after an error; calls come from listener threads.
    conn: Mutex<Option<redis::Connection>>,
    timeout: Duration,
}

impl std::fmt::Debug for RedisDedupStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDedupStore").finish_non_exhaustive()
    }
}

fn err(e: redis::RedisError) -> DedupError {
    DedupError(e.to_string())
}

/// Redis takes whole seconds for EX; never 0 (that is an error), never shorter than asked.
fn secs(ttl: Duration) -> u64 {
    ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)
}

impl RedisDedupStore {
    /// `url` like `redis://127.0.0.1:6379/0`; connects lazily, `timeout` bounds each call.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, DedupError> {
        Ok(Self {
            client: redis::Client::open(url).map_err(err)?,
            conn: Mutex::new(None),
            timeout,
        })
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, DedupError> {
        let mut guard = self.conn.lock();
        let conn = match guard.take() {
            Some(conn) => conn,
            None => {
                let conn = self
                    .client
                    .get_connection_with_timeout(self.timeout)
                    .map_err(err)?;
                conn.set_read_timeout(Some(self.timeout)).map_err(err)?;
                conn.set_write_timeout(Some(self.timeout)).map_err(err)?;
                conn
            }
        };
        let conn = guard.insert(conn);
        let result = f(conn);
        if result.is_err() {
            // The connection may be broken; open a new one next time.
            *guard = None;
        }
        result.map_err(err)
    }
}

/// `SET key consuming NX EX ttl`: whether the key was free and is now claimed.
fn set_consuming(
    c: &mut redis::Connection,
    key: &str,
    consuming_ttl: Duration,
) -> redis::RedisResult<bool> {
    let set: Option<String> = redis::cmd("SET")
        .arg(key)
        .arg(CONSUMING)
        .arg("NX")
        .arg("EX")
        .arg(secs(consuming_ttl))
        .query(c)?;
    Ok(set.is_some())
}

impl DedupStore for RedisDedupStore {
    fn try_claim(&self, key: &str, consuming_ttl: Duration) -> Result<Claim, DedupError> {
        self.with_conn(|c| {
            if set_consuming(c, key, consuming_ttl)? {
                return Ok(Claim::Acquired);
            }
            let current: Option<String> = redis::cmd("GET").arg(key).query(c)?;
            Ok(match current.as_deref() {
                Some(CONSUMED) => Claim::Consumed,
                Some(_) => Claim::InProgress,
                // Expired between the two calls: claim it now.
                None if set_consuming(c, key, consuming_ttl)? => Claim::Acquired,
                None => Claim::InProgress,
            })
        })
    }

    fn mark_consumed(&self, key: &str, consumed_ttl: Duration) -> Result<(), DedupError> {
        self.with_conn(|c| {
            redis::cmd("SET")
                .arg(key)
                .arg(CONSUMED)
                .arg("EX")
                .arg(secs(consumed_ttl))
                .query::<()>(c)
        })
    }

    fn release(&self, key: &str) -> Result<(), DedupError> {
        self.with_conn(|c| {
            redis::Script::new(RELEASE_SCRIPT)
                .key(key)
                .arg(CONSUMING)
                .invoke::<i64>(c)
                .map(|_| ())
        })
    }
}
