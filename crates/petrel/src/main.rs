//! `petrel`: the one binary. `petrel serve` runs a name server and a broker in one process with
//! a local data directory; `petrel namesrv` and `petrel broker` run the roles separately.
#![allow(clippy::unwrap_used, clippy::expect_used)] // the binary: its few expects guard start-up and bench bookkeeping
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use petrel_broker::{Broker, BrokerConfig};
use petrel_namesrv::{NameServer, NamesrvConfig};

/// `println!` for the servers' progress lines ("petrel ready", addresses, "stopping"): a
/// stdout whose reader went away (a closed pipe, a dead log shipper) must not panic a
/// server, least of all on its way to a clean stop. Write errors are ignored.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, $($arg)*);
        let _ = out.flush();
    }};
}

mod admin;
mod bench;
mod console;
mod controller;
mod grpc;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "petrel",
    version,
    about = "A RocketMQ-compatible message queue in one binary"
)]
struct Cli {
    /// How server logs are written to stderr: `text` (colours only when stderr is a terminal)
    /// or `json` (one object per line). Levels come from `RUST_LOG` (default `info`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The form of log lines on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines; ANSI colours only when stderr is a terminal.
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `target`, spans).
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run a name server and a broker in one process (the embedded default).
    Serve(ServeArgs),
    /// Run a name server only.
    Namesrv(NamesrvArgs),
    /// Run a broker only, registering with the name servers in `namesrvAddr`.
    Broker(BrokerArgs),
    /// Run one controller of a RocketMQ 5.x controller group (controller mode).
    Controller(controller::ControllerArgs),
    /// Load-test any RocketMQ-protocol cluster: produce, consume, or both (e2e).
    Bench(bench::BenchArgs),
    /// mqadmin's everyday commands (updateTopic, consumerProgress, queryMsgById, ...).
    Admin(admin::AdminArgs),
    /// Run the web console alone, against the name servers of any cluster.
    Console(console::ConsoleArgs),
}

#[derive(Args)]
struct BrokerOptions {
    /// A RocketMQ broker.conf (Java properties).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (storePathRootDir), unless the config sets one.
    #[arg(long, value_name = "DIR", default_value = "./petrel-data")]
    data_dir: PathBuf,
    /// Any broker.conf key, e.g. --set flushDiskType=SYNC_FLUSH (repeatable; wins over --config).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    broker: BrokerOptions,
    /// Name server address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9876")]
    namesrv_listen: SocketAddr,
    /// Broker address to listen on (the fast port is this port - 2).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:10911")]
    broker_listen: SocketAddr,
    /// Where the web console listens (`off`: no console). If the default port is taken,
    /// `serve` warns and runs without the console; an address given here must be free.
    #[arg(long, value_name = "ADDR|off")]
    console_listen: Option<String>,
    /// Where the gRPC service for RocketMQ 5.x clients listens (`off`: none) [default:
    /// bindAddress:grpcServerPort, 127.0.0.1:8081]. If the default port is taken, `serve` warns
    /// and runs without it.
    #[arg(long, value_name = "ADDR|off")]
    grpc_listen: Option<String>,
}

#[derive(Args)]
struct NamesrvArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:9876")]
    listen: SocketAddr,
    /// Where to keep the KV config (RocketMQ's kvConfig.json); in memory if absent.
    #[arg(long, value_name = "FILE")]
    kv_config: Option<PathBuf>,
    /// TLS mode (the broker's tls.server.mode): disabled, permissive or enforcing.
    #[arg(long, value_name = "MODE", default_value = "disabled", value_parser = |s: &str| petrel_remoting::TlsMode::parse(s).ok_or("disabled, permissive or enforcing"))]
    tls_mode: petrel_remoting::TlsMode,
    /// TLS certificate chain (PEM); without it and --tls-key, a self-signed certificate.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM, unencrypted).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// A RocketMQ namesrv.conf; read for enableControllerInNamesrv=true and the controller
    /// keys (a controller then runs in this process). The address comes from --listen.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A key of that file, e.g. --set enableControllerInNamesrv=true (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(Args)]
struct BrokerArgs {
    #[command(flatten)]
    broker: BrokerOptions,
    /// Address to listen on; overrides bindAddress and listenPort.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Where the gRPC service for RocketMQ 5.x clients listens (`off`: none) [default:
    /// bindAddress:grpcServerPort].
    #[arg(long, value_name = "ADDR|off")]
    grpc_listen: Option<String>,
    /// Name servers, `;`-separated; overrides namesrvAddr.
    #[arg(long, value_name = "ADDRS")]
    namesrv: Option<String>,
}

/// Logs go to stderr, filtered by `RUST_LOG` (else `default_level`): plain text without
/// colour codes unless stderr is a terminal (so files and pipes stay readable), or JSON lines.
fn init_logging(format: LogFormat, default_level: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

/// Raises the soft descriptor limit to the hard one (what an unprivileged process may do), so
/// connections and store files get all the room the system allows; the transport keeps a
/// reserve below it for the store and the name server (`petrel_remoting::descriptors`).
fn raise_descriptor_limit() {
    fn show(limit: Option<u64>) -> String {
        limit.map_or_else(|| "unlimited".to_string(), |n| n.to_string())
    }
    match petrel_remoting::descriptors::raise_descriptor_limit() {
        Ok((before, after)) => tracing::info!(
            "file descriptor limit (RLIMIT_NOFILE): soft {} (was {}), hard {}",
            show(after.soft),
            show(before.soft),
            show(after.hard)
        ),
        Err(e) => tracing::warn!(
            error = %e,
            "could not raise the file descriptor limit (RLIMIT_NOFILE); keeping {}",
            show(petrel_remoting::descriptors::descriptor_limit().soft)
        ),
    }
}

/// Loads broker.conf and the overrides, and reports keys Petrel does not act on.
fn load_broker_config(opts: &BrokerOptions) -> Result<BrokerConfig> {
    if opts.data_dir.exists() && !opts.data_dir.is_dir() {
        bail!(
            "data directory {} exists and is not a directory",
            opts.data_dir.display()
        );
    }
    let loaded = BrokerConfig::load(opts.config.as_deref(), &opts.set, &opts.data_dir)
        .context("invalid broker configuration")?;
    if !loaded.unknown_keys.is_empty() {
        eprintln!(
            "petrel: ignoring broker.conf keys Petrel does not know: {}",
            loaded.unknown_keys.join(", ")
        );
    }
    for (key, reason) in &loaded.ignored_keys {
        eprintln!("petrel: accepted but not acted on: {key} ({reason})");
    }
    if let Some(line) = loaded.saved_updates_warning() {
        eprintln!("petrel: {line}");
    }
    let config = loaded.config;
    std::fs::create_dir_all(&config.store_path_root_dir).with_context(|| {
        format!(
            "cannot create data directory {}",
            config.store_path_root_dir.display()
        )
    })?;
    let probe = config.store_path_root_dir.join(".petrel-write-test");
    std::fs::write(&probe, b"").with_context(|| {
        format!(
            "data directory {} is not writable",
            config.store_path_root_dir.display()
        )
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(config)
}

fn print_broker(broker: &Broker, config: &BrokerConfig) {
    say!(
        "petrel broker {} listening on {} (advertised as {})",
        config.broker_name,
        broker.local_addr(),
        broker.advertised_addr()
    );
    if let Some(fast) = broker.fast_addr() {
        say!("petrel broker fast port on {fast}");
    }
    say!(
        "petrel broker role {} (brokerId {}), replication address {}",
        config.broker_role.as_str(),
        config.broker_id,
        broker.inner().ha_server_addr
    );
    if let Some(metrics) = broker.metrics_addr() {
        say!("petrel metrics on http://{metrics}/metrics");
    }
    say!("petrel data in {}", config.store_path_root_dir.display());
}

/// Installs the SIGINT and SIGTERM handlers now (before "petrel ready" is printed, so a
/// supervisor that signals right after it still gets a clean stop) and returns the future
/// that waits for either.
fn stop_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        say!("petrel: stopping");
    })
}

async fn serve(args: ServeArgs) -> Result<()> {
    let mut config = load_broker_config(&args.broker)?;
    // The name server listens with the broker's tls.server.* settings; under enforcing the
    // broker then registers with it over TLS.
    let namesrv_tls = config.tls.server().context("invalid TLS configuration")?;
    if config.tls.server.mode == petrel_remoting::TlsMode::Enforcing {
        config.tls.client_enable = true;
    }
    let namesrv = NameServer::start(NamesrvConfig {
        listen_addr: args.namesrv_listen,
        remoting: petrel_remoting::RemotingConfig {
            tls_server: namesrv_tls,
            ..Default::default()
        },
        ..NamesrvConfig::default()
    })
    .await
    .with_context(|| format!("cannot start the name server on {}", args.namesrv_listen))?;
    say!("petrel name server listening on {}", namesrv.local_addr());
    config.bind_address = args.broker_listen.ip();
    config.listen_port = args.broker_listen.port();
    // The embedded default serves Prometheus metrics on loopback unless configured otherwise
    // (metricsExporterType, metricsPromExporterHost/Port); another Petrel holding the default
    // port only costs this one its endpoint.
    if config.metrics_exporter_type.is_none() {
        config.metrics_exporter_type = Some(petrel_broker::config::MetricsExporterType::Prom);
        config.metrics_optional = true;
        if config.metrics_prom_exporter_host.is_none() {
            config.metrics_prom_exporter_host = Some("127.0.0.1".to_string());
        }
    }
    if config.namesrv_addr.is_empty() {
        let ns = namesrv.local_addr();
        let reachable = if ns.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], ns.port()))
        } else {
            ns
        };
        config.namesrv_addr = vec![reachable.to_string()];
    }
    if config.controller.enable_controller_mode {
        namesrv.shutdown().await;
        bail!(
            "enableControllerMode=true is for `petrel broker` (with `petrel namesrv` and three \
             `petrel controller`s); `petrel serve` runs one broker that needs no failover"
        );
    }
    let broker = match Broker::start(config.clone()).await {
        Ok(b) => b,
        Err(e) => {
            namesrv.shutdown().await;
            return Err(e)
                .with_context(|| format!("cannot start the broker on {}", args.broker_listen));
        }
    };
    print_broker(&broker, &config);
    let grpc = match grpc::start(
        args.grpc_listen.as_deref(),
        &config,
        Arc::clone(broker.inner()),
    )
    .await
    {
        Ok(g) => g,
        Err(e) => {
            let _ = broker.shutdown().await;
            namesrv.shutdown().await;
            return Err(e);
        }
    };
    let console = match console::start_for_serve(
        args.console_listen.as_deref(),
        &config.namesrv_addr.join(";"),
        &console::ConsoleClient::from_env(config.tls.client_enable),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => {
            if let Some(grpc) = grpc {
                grpc.shutdown().await;
            }
            let _ = broker.shutdown().await;
            namesrv.shutdown().await;
            return Err(e);
        }
    };
    let stop = stop_signal()?;
    say!("petrel ready");
    stop.await;
    if let Some(console) = console {
        console.shutdown().await;
    }
    if let Some(grpc) = grpc {
        grpc.shutdown().await;
    }
    let result = broker.shutdown().await;
    namesrv.shutdown().await;
    result.context("the broker did not stop cleanly")?;
    say!("petrel: stopped");
    Ok(())
}

async fn namesrv(args: NamesrvArgs) -> Result<()> {
    let tls = petrel_remoting::TlsServerSettings {
        mode: args.tls_mode,
        cert_path: args.tls_cert,
        key_path: args.tls_key,
        test_mode: true,
        ..Default::default()
    };
    let namesrv = NameServer::start(NamesrvConfig {
        listen_addr: args.listen,
        kv_config_path: args.kv_config,
        remoting: petrel_remoting::RemotingConfig {
            tls_server: tls.build().context("invalid TLS configuration")?,
            ..Default::default()
        },
        ..NamesrvConfig::default()
    })
    .await
    .with_context(|| format!("cannot start the name server on {}", args.listen))?;
    say!("petrel name server listening on {}", namesrv.local_addr());
    let controller = match controller::start_in_namesrv(args.config.as_deref(), &args.set).await {
        Ok(c) => c,
        Err(e) => {
            namesrv.shutdown().await;
            return Err(e);
        }
    };
    let stop = stop_signal()?;
    say!("petrel ready");
    stop.await;
    if let Some(controller) = controller {
        controller.shutdown().await;
    }
    namesrv.shutdown().await;
    say!("petrel: stopped");
    Ok(())
}

async fn broker(args: BrokerArgs) -> Result<()> {
    let mut config = load_broker_config(&args.broker)?;
    if let Some(listen) = args.listen {
        config.bind_address = listen.ip();
        config.listen_port = listen.port();
    }
    if let Some(ns) = args.namesrv {
        config.namesrv_addr = ns
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
    }
    if config.namesrv_addr.is_empty() {
        eprintln!("petrel: warning: no name server configured (namesrvAddr / --namesrv); clients will not find this broker");
    }
    let listen = SocketAddr::new(config.bind_address, config.listen_port);
    if config.controller.enable_controller_mode {
        return controller_mode_broker(config, args.grpc_listen.clone()).await;
    }
    let broker = Broker::start(config.clone())
        .await
        .with_context(|| format!("cannot start the broker on {listen}"))?;
    print_broker(&broker, &config);
    let grpc = match grpc::start(
        args.grpc_listen.as_deref(),
        &config,
        Arc::clone(broker.inner()),
    )
    .await
    {
        Ok(g) => g,
        Err(e) => {
            let _ = broker.shutdown().await;
            return Err(e);
        }
    };
    let stop = stop_signal()?;
    say!("petrel ready");
    stop.await;
    if let Some(grpc) = grpc {
        grpc.shutdown().await;
    }
    broker
        .shutdown()
        .await
        .context("the broker did not stop cleanly")?;
    say!("petrel: stopped");
    Ok(())
}

/// `petrel broker` with `enableControllerMode=true`: the controllers assign the role; the
/// broker restarts in place when it changes (see `petrel-autoswitch`), and the gRPC service
/// with it.
async fn controller_mode_broker(config: BrokerConfig, grpc_listen: Option<String>) -> Result<()> {
    let stop = stop_signal()?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    say!(
        "petrel broker {} in controller mode; controllers {}",
        config.broker_name,
        config.controller.controller_addr.join(";")
    );
    let observer = Arc::new(RoleServices {
        grpc_listen,
        grpc: tokio::sync::Mutex::new(None),
    });
    let runner = tokio::spawn(petrel_autoswitch::run(config, rx, observer));
    tokio::pin!(runner);
    tokio::select! {
        _ = stop => {
            let _ = tx.send(true);
            runner.await.context("the broker task failed")?.context("controller mode")?;
        }
        r = &mut runner => {
            r.context("the broker task failed")?.context("controller mode")?;
        }
    }
    say!("petrel: stopped");
    Ok(())
}

/// What runs beside a controller-mode broker in each role: the gRPC service.
struct RoleServices {
    grpc_listen: Option<String>,
    grpc: tokio::sync::Mutex<Option<petrel_grpc::GrpcServer>>,
}

impl petrel_autoswitch::RoleObserver for RoleServices {
    fn started<'a>(&'a self, broker: &'a Broker) -> petrel_autoswitch::BoxFuture<'a> {
        Box::pin(async move {
            let config = broker.inner().config.clone();
            print_broker(broker, &config);
            match grpc::start(
                self.grpc_listen.as_deref(),
                &config,
                Arc::clone(broker.inner()),
            )
            .await
            {
                Ok(server) => *self.grpc.lock().await = server,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "the gRPC service did not start in this role")
                }
            }
            say!("petrel ready");
        })
    }

    fn stopping(&self) -> petrel_autoswitch::BoxFuture<'_> {
        Box::pin(async move {
            if let Some(server) = self.grpc.lock().await.take() {
                server.shutdown().await;
            }
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Admin(args) = cli.command {
        return admin::run(args);
    }
    if let Command::Bench(args) = cli.command {
        // Tools print their own output; only warnings from the libraries reach stderr.
        init_logging(cli.log_format, "warn");
        return match bench::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("petrel bench: error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    // openraft (the controller's raft) logs every retry to an unreachable peer; the
    // controller logs what matters itself (RUST_LOG=openraft=info shows openraft's view).
    init_logging(cli.log_format, "info,openraft=off");
    raise_descriptor_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("petrel: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Namesrv(args) => namesrv(args).await,
            Command::Broker(args) => broker(args).await,
            Command::Controller(args) => controller::run(args).await,
            Command::Console(args) => match stop_signal() {
                Ok(stop) => console::run(args, stop).await,
                Err(e) => Err(e),
            },
            Command::Bench(_) => unreachable!("handled above"),
            Command::Admin(_) => unreachable!("handled above"),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("petrel: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
