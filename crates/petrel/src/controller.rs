//! `petrel controller`: one controller of a RocketMQ 5.x controller group (controller mode,
//! "AutoSwitch HA"), configured with Apache's `controller.conf`; and the controller a
//! `petrel namesrv` runs in its process when its config says `enableControllerInNamesrv=true`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use petrel_controller::{parse_properties, Controller, ControllerConfig};

#[derive(Args)]
pub struct ControllerArgs {
    /// A RocketMQ controller.conf (Java properties): controllerDLegerGroup,
    /// controllerDLegerPeers, controllerDLegerSelfId, controllerStorePath, ...
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Any controller.conf key, e.g. --set controllerDLegerSelfId=n1 (repeatable; wins over
    /// --config).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

/// The file's properties, then the `--set` ones (later keys win).
fn read_properties(path: Option<&Path>, sets: &[String]) -> Result<Vec<(String, String)>> {
    let mut properties = match path {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            parse_properties(&String::from_utf8_lossy(&bytes))
        }
        None => Vec::new(),
    };
    for set in sets {
        let (key, value) = set
            .split_once('=')
            .with_context(|| format!("--set {set}: expected KEY=VALUE"))?;
        properties.push((key.trim().to_string(), value.trim().to_string()));
    }
    Ok(properties)
}

/// A controller config from properties; unknown keys (other than `also_known`) are warned
/// about, not fatal.
fn controller_config(
    properties: &[(String, String)],
    also_known: &[&str],
    source: &str,
) -> Result<ControllerConfig> {
    let (config, unknown) = ControllerConfig::from_properties(properties)
        .with_context(|| format!("invalid controller configuration in {source}"))?;
    let unknown: Vec<&str> = unknown
        .iter()
        .map(String::as_str)
        .filter(|k| !also_known.contains(k))
        .collect();
    if !unknown.is_empty() {
        eprintln!(
            "petrel: ignoring controller.conf keys Petrel does not know: {}",
            unknown.join(", ")
        );
    }
    Ok(config)
}

fn print_controller(controller: &Controller, config: &ControllerConfig) {
    say!(
        "petrel controller {} listening on {} (group {}, peers {})",
        controller.id(),
        controller.local_addr(),
        config.group,
        config.peers_text()
    );
    say!("petrel controller store in {}", config.store_path.display());
}

/// `petrel controller`.
pub async fn run(args: ControllerArgs) -> Result<()> {
    let properties = read_properties(args.config.as_deref(), &args.set)?;
    let source = args
        .config
        .as_deref()
        .map_or("--set".to_string(), |p| p.display().to_string());
    let config = controller_config(&properties, &[], &source)?;
    let self_addr = config
        .self_peer()
        .map(|p| p.addr.clone())
        .unwrap_or_default();
    let controller = Controller::start(config.clone(), None)
        .await
        .with_context(|| format!("cannot start the controller on {self_addr}"))?;
    print_controller(&controller, &config);
    let stop = crate::stop_signal()?;
    say!("petrel ready");
    stop.await;
    controller.shutdown().await;
    say!("petrel: stopped");
    Ok(())
}

/// The keys of a name server's config file that are the name server's, not the controller's.
const NAMESRV_KEYS: &[&str] = &[
    "enableControllerInNamesrv",
    "listenPort",
    "bindAddress",
    "kvConfigPath",
    "orderMessageEnable",
    "returnOrderTopicConfigToBroker",
    "enableAllTopicList",
    "enableTopicList",
    "deleteTopicWithBrokerRegistration",
    "supportActingMaster",
    "clusterTest",
    "productEnvName",
    "serverWorkerThreads",
    "serverCallbackExecutorThreads",
    "serverSelectorThreads",
    "defaultThreadPoolNums",
    "defaultThreadPoolQueueCapacity",
];

/// `petrel namesrv --config FILE` with `enableControllerInNamesrv=true`: a controller in the
/// name server's process, on its own address in `controllerDLegerPeers` (as Apache's name
/// server runs one). `None` when the file does not ask for one.
pub async fn start_in_namesrv(
    config_path: Option<&Path>,
    sets: &[String],
) -> Result<Option<Controller>> {
    let properties = read_properties(config_path, sets)?;
    let enabled = properties
        .iter()
        .rev()
        .find(|(k, _)| k == "enableControllerInNamesrv")
        .is_some_and(|(_, v)| v.trim().eq_ignore_ascii_case("true"));
    if !enabled {
        return Ok(None);
    }
    let source = config_path.map_or("--set".to_string(), |p| p.display().to_string());
    let config = controller_config(&properties, NAMESRV_KEYS, &source)?;
    let self_addr = config
        .self_peer()
        .map(|p| p.addr.clone())
        .unwrap_or_default();
    let controller = Controller::start(config.clone(), None)
        .await
        .with_context(|| format!("cannot start the name server's controller on {self_addr}"))?;
    print_controller(&controller, &config);
    Ok(Some(controller))
}
