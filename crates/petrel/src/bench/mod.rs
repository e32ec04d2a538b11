//! `petrel bench`: load against any RocketMQ-protocol cluster, in the spirit of RocketMQ's
//! `tools.sh` benchmarks, with a live progress line and a latency summary.
//!
//! - `produce`: `--threads` senders, each doing sync sends (or keeping `--inflight` async
//!   sends in flight with `--async`), single messages or `--batch N`, optionally paced to
//!   `--rate` messages per second overall.
//! - `consume`: a push consumer of group `-g` on the topic; reports the receive rate and the
//!   store-to-consume latency.
//! - `e2e`: both at once on a fresh group; adds born-to-consumed latency.

mod consume;
mod produce;
mod report;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    mode: BenchMode,
}

#[derive(Subcommand, Debug)]
enum BenchMode {
    /// Send messages as fast as possible (or at --rate) and report throughput and latency.
    Produce(ProduceArgs),
    /// Consume a topic with a push consumer and report the receive rate.
    Consume(ConsumeArgs),
    /// Produce and consume at once; adds end-to-end (born-to-consumed) latency.
    E2e(E2eArgs),
}

#[derive(Args, Debug, Clone)]
pub(crate) struct CommonArgs {
    /// Name server address(es), `;`-separated.
    #[arg(
        short = 'n',
        long = "namesrv",
        env = "NAMESRV_ADDR",
        default_value = "127.0.0.1:9876"
    )]
    pub namesrv: String,
    /// Topic (created on the first send if the broker allows autoCreateTopicEnable).
    #[arg(short = 't', long, default_value = "BenchmarkTest")]
    pub topic: String,
    /// Stop after this many seconds (default 10 unless --count is given).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
    /// Stop after this many messages.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Print the summary as one JSON object (and no progress line).
    #[arg(long)]
    pub json: bool,
    /// Sign every request with this ACL user's AccessKey (brokers with authentication on).
    #[arg(
        long = "access-key",
        value_name = "KEY",
        env = "PETREL_ACCESS_KEY",
        requires = "secret_key"
    )]
    pub access_key: Option<String>,
    /// Connect with TLS (the server's certificate is not verified).
    #[arg(long)]
    pub tls: bool,
    /// The SecretKey of --access-key.
    #[arg(
        long = "secret-key",
        value_name = "SECRET",
        env = "PETREL_SECRET_KEY",
        hide_env_values = true,
        requires = "access_key"
    )]
    pub secret_key: Option<String>,
}

impl CommonArgs {
    /// The client settings: the name servers and, with --access-key, the credentials.
    pub fn client_config(&self) -> petrel_client::ClientConfig {
        petrel_client::ClientConfig {
            credentials: self
                .access_key
                .clone()
                .zip(self.secret_key.clone())
                .map(|(ak, sk)| petrel_client::SessionCredentials::new(ak, sk)),
            tls: self.tls.then(petrel_remoting::TlsClientSettings::default),
            ..petrel_client::ClientConfig::new(&self.namesrv)
        }
    }
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ProduceArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Message body size in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    pub size: usize,
    /// Concurrent senders.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub threads: usize,
    /// Messages per send (a batch send when > 1).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub batch: usize,
    /// Asynchronous sends: each sender keeps --inflight sends outstanding.
    #[arg(long = "async")]
    pub async_send: bool,
    /// Outstanding sends per sender with --async.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub inflight: usize,
    /// Overall pace in messages per second (default: as fast as possible).
    #[arg(long, value_name = "MSGS_PER_SEC")]
    pub rate: Option<u64>,
    /// Producer group.
    #[arg(long, default_value = "petrel_bench_producer")]
    pub producer_group: String,
    /// Tag set on every message.
    #[arg(long)]
    pub tag: Option<String>,
    /// Give every message a unique business key (KEYS), which the broker indexes.
    #[arg(long)]
    pub keys: bool,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ConsumeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Consumer group.
    #[arg(short = 'g', long, default_value = "petrel_bench_consumer")]
    pub group: String,
    /// Listener threads.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub threads: usize,
    /// Tag expression to subscribe with.
    #[arg(long, default_value = "*")]
    pub filter: String,
    /// Start a new group at the first message instead of the last.
    #[arg(long)]
    pub from_first: bool,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct E2eArgs {
    #[command(flatten)]
    pub produce: ProduceArgs,
    /// Consumer group (a fresh one is best: it starts at the end of the topic).
    #[arg(short = 'g', long = "group", default_value = "petrel_bench_e2e")]
    pub consumer_group: String,
    /// Listener threads.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub consume_threads: usize,
}

pub fn run(args: BenchArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match args.mode {
            BenchMode::Produce(a) => {
                check_produce(&a)?;
                let report = produce::run(&a).await?;
                report.print(a.common.json);
            }
            BenchMode::Consume(a) => {
                let report = consume::run(&a, None).await?;
                report.print(a.common.json);
            }
            BenchMode::E2e(a) => {
                check_produce(&a.produce)?;
                let report = consume::run_e2e(&a).await?;
                report.print(a.produce.common.json);
            }
        }
        Ok(())
    })
}

fn check_produce(a: &ProduceArgs) -> Result<()> {
    if a.threads == 0 || a.batch == 0 || a.size == 0 || a.inflight == 0 {
        bail!("--threads, --batch, --size and --inflight must be at least 1");
    }
    if a.rate == Some(0) {
        bail!("--rate must be at least 1 message per second");
    }
    Ok(())
}

/// When a run ends: after `count` messages or at `deadline`, whichever comes first.
pub(crate) struct Budget {
    count: Option<u64>,
    claimed: AtomicU64,
    deadline: Option<Instant>,
}

impl Budget {
    pub fn new(common: &CommonArgs) -> Self {
        let duration = match (common.duration, common.count) {
            (Some(d), _) => Some(Duration::from_secs(d)),
            (None, None) => Some(Duration::from_secs(10)),
            (None, Some(_)) => None,
        };
        Self {
            count: common.count,
            claimed: AtomicU64::new(0),
            deadline: duration.map(|d| Instant::now() + d),
        }
    }

    /// Claims up to `n` messages; returns how many may be sent (0 = stop).
    pub fn claim(&self, n: u64) -> u64 {
        if self.expired() {
            return 0;
        }
        match self.count {
            None => n,
            Some(total) => {
                let before = self.claimed.fetch_add(n, Ordering::Relaxed);
                total.saturating_sub(before).min(n)
            }
        }
    }

    pub fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    pub fn count(&self) -> Option<u64> {
        self.count
    }
}

/// Paces sends to `rate` per second overall: each message reserves the next slot.
pub(crate) struct Pacer {
    start: Instant,
    interval_ns: u64,
    next_slot: AtomicU64,
}

impl Pacer {
    pub fn new(rate: u64) -> Self {
        Self {
            start: Instant::now(),
            interval_ns: 1_000_000_000 / rate.max(1),
            next_slot: AtomicU64::new(0),
        }
    }

    pub async fn wait(&self, n: u64) {
        let slot = self
            .next_slot
            .fetch_add(self.interval_ns * n, Ordering::Relaxed);
        let at = self.start + Duration::from_nanos(slot);
        if at > Instant::now() {
            tokio::time::sleep_until(at.into()).await;
        }
    }
}

/// Counts failures by a short name.
pub(crate) fn error_name(e: &petrel_client::ClientError) -> String {
    use petrel_client::ClientError as E;
    use petrel_remoting::RemotingError as R;
    if let Some(code) = e.response_code() {
        return petrel_protocol::remoting::response_code::name(code)
            .map(String::from)
            .unwrap_or_else(|| format!("CODE_{code}"));
    }
    match e {
        E::SendFailed { last, .. } => error_name(last),
        E::Remoting(R::Timeout { .. }) | E::Timeout { .. } => "TIMEOUT".into(),
        E::Remoting(_) => "CONNECTION".into(),
        E::NoRoute { .. } => "NO_ROUTE".into(),
        _ => "CLIENT".into(),
    }
}

pub(crate) fn merge_errors(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k).or_default() += v;
    }
}

/// A progress line on stderr (hidden with --json or when stderr is not a terminal).
pub(crate) fn progress(json: bool) -> indicatif::ProgressBar {
    if json {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
            .expect("a valid template"),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_by_count_hands_out_exactly_the_count() {
        let common = CommonArgs {
            namesrv: String::new(),
            topic: String::new(),
            duration: None,
            count: Some(10),
            json: true,
            access_key: None,
            secret_key: None,
            tls: false,
        };
        let b = Budget::new(&common);
        assert_eq!(b.claim(4), 4);
        assert_eq!(b.claim(4), 4);
        assert_eq!(b.claim(4), 2);
        assert_eq!(b.claim(4), 0);
        assert!(!b.expired());
    }

    #[tokio::test]
    async fn pacer_spaces_sends() {
        let p = Pacer::new(1_000);
        let t = Instant::now();
        for _ in 0..50 {
            p.wait(1).await;
        }
        // 50 slots at 1 ms: the last one is 49 ms after the start.
        assert!(
            t.elapsed() >= Duration::from_millis(45),
            "{:?}",
            t.elapsed()
        );
    }
}
