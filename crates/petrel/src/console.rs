//! The web console in the binary: started by `serve` (default `127.0.0.1:8080`,
//! `--console-listen ADDR|off`) and by `petrel console` on its own against any name server.

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};
use clap::Args;
use petrel_client::admin::Admin;
use petrel_client::ClientConfig;
use petrel_console::Console;

/// Where `serve` opens the console unless told otherwise (the RocketMQ Dashboard's port).
pub const DEFAULT_CONSOLE_LISTEN: &str = "127.0.0.1:8080";
/// How long one admin request of the console may take (as `petrel admin`'s).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Args)]
pub struct ConsoleArgs {
    /// Name server addresses, `;`-separated [default: $NAMESRV_ADDR, else 127.0.0.1:9876].
    #[arg(
        short = 'n',
        long = "namesrvAddr",
        value_name = "ADDRS",
        env = "NAMESRV_ADDR",
        default_value = "127.0.0.1:9876"
    )]
    namesrv: String,
    /// Address to listen on (0.0.0.0:8080 to reach it from other machines: it has no login,
    /// so only on a trusted network).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_CONSOLE_LISTEN)]
    listen: SocketAddr,
    #[command(flatten)]
    client: ConsoleClient,
}

/// How the console's admin client reaches the cluster: the user it signs as (brokers with
/// authentication on) and TLS. Every page acts as this user: the console has no login.
#[derive(Args, Clone, Default)]
pub struct ConsoleClient {
    /// Sign requests as this ACL user (AccessKey).
    #[arg(
        long = "access-key",
        value_name = "KEY",
        env = "PETREL_ACCESS_KEY",
        requires = "secret_key"
    )]
    pub access_key: Option<String>,
    /// The SecretKey of --access-key.
    #[arg(
        long = "secret-key",
        value_name = "SECRET",
        env = "PETREL_SECRET_KEY",
        hide_env_values = true,
        requires = "access_key"
    )]
    pub secret_key: Option<String>,
    /// Connect with TLS (servers with tls.server.mode permissive or enforcing).
    #[arg(long)]
    pub tls: bool,
}

impl ConsoleClient {
    /// For `serve`: the keys in PETREL_ACCESS_KEY / PETREL_SECRET_KEY, if both are set.
    pub fn from_env(tls: bool) -> ConsoleClient {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        match (get("PETREL_ACCESS_KEY"), get("PETREL_SECRET_KEY")) {
            (Some(access_key), Some(secret_key)) => ConsoleClient {
                access_key: Some(access_key),
                secret_key: Some(secret_key),
                tls,
            },
            _ => ConsoleClient {
                tls,
                ..ConsoleClient::default()
            },
        }
    }
}

fn admin_for(namesrv: &str, client: &ConsoleClient) -> Result<Admin> {
    let config = ClientConfig {
        request_timeout: REQUEST_TIMEOUT,
        credentials: client
            .access_key
            .clone()
            .zip(client.secret_key.clone())
            .map(|(ak, sk)| petrel_client::SessionCredentials::new(ak, sk)),
        tls: client.tls.then(petrel_remoting::TlsClientSettings::default),
        ..ClientConfig::new(namesrv)
    };
    Admin::start(config).context("cannot start the console's admin client")
}

fn announce(console: &Console) {
    say!("petrel console on http://{}/", console.local_addr());
}

/// `serve`'s console: `spec` is `--console-listen` (`None`: the default address, given up
/// with a warning when taken; `off`: none).
pub async fn start_for_serve(
    spec: Option<&str>,
    namesrv: &str,
    client: &ConsoleClient,
) -> Result<Option<Console>> {
    let (addr, optional) = match spec.map(str::trim) {
        Some("off") => return Ok(None),
        Some(text) => (
            text.parse::<SocketAddr>().with_context(|| {
                format!("--console-listen {text:?} is not an address (like 127.0.0.1:8080) or off")
            })?,
            false,
        ),
        None => (DEFAULT_CONSOLE_LISTEN.parse()?, true),
    };
    let admin = admin_for(namesrv, client)?;
    match Console::start(addr, admin.clone()).await {
        Ok(console) => {
            announce(&console);
            Ok(Some(console))
        }
        Err(e) if optional => {
            tracing::warn!(
                error = %e,
                "the web console is off: {addr} is taken (another Petrel or program?); \
                 give --console-listen 127.0.0.1:PORT to open it elsewhere"
            );
            admin.shutdown().await;
            Ok(None)
        }
        Err(e) => {
            admin.shutdown().await;
            Err(e).context(
                "cannot start the web console (give --console-listen another address, or off)",
            )
        }
    }
}

/// `petrel console`: the console alone, until SIGINT or SIGTERM.
pub async fn run(args: ConsoleArgs, stop: impl std::future::Future<Output = ()>) -> Result<()> {
    if args.namesrv.trim().is_empty() {
        bail!("no name server address: give -n host:9876");
    }
    let admin = admin_for(&args.namesrv, &args.client)?;
    let console = Console::start(args.listen, admin.clone())
        .await
        .context("cannot start the web console (give --listen another address)")?;
    announce(&console);
    say!(
        "petrel console reads the cluster through name server {}",
        args.namesrv
    );
    say!("petrel ready");
    stop.await;
    console.shutdown().await;
    admin.shutdown().await;
    say!("petrel: stopped");
    Ok(())
}
