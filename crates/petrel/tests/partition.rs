//! A network partition in network namespaces (needs root, as CI runs): the master runs in its
//! own namespace joined to the rest by a veth pair; everything else (three controllers, the
//! name server, two replicas, a producer) runs in the test's namespace on the veth's host
//! address. A second producer runs inside the master's namespace and keeps writing to it.
//!
//! The master's side of the link is taken down: the controllers stop hearing it and elect a
//! replica; the isolated master can neither confirm its lease nor get its SyncStateSet's acks,
//! so it acknowledges nothing more (two masters never both acknowledge). The link heals: the
//! old master learns the new epoch, cuts what it alone holds and follows. Every message either
//! producer saw acknowledged is on the final master, and the old master's CommitLog is a
//! byte-identical prefix of it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::autoswitch::*;
use support::cluster::{commit_log_bytes, Node};
use support::unique;

/// A network namespace joined to the test's by a veth pair on 10.213.N.0/24.
struct Netns {
    name: String,
    host_if: String,
    ns_if: String,
    host_ip: String,
    ns_ip: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip(8)");
    assert!(
        out.status.success(),
        "ip {}: {} (this test needs root and iproute2, as CI has)",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    fn create() -> Netns {
        let n = std::process::id() % 200 + 20;
        let net = Netns {
            name: format!("petrel-part-{n}"),
            host_if: format!("pph{n}"),
            ns_if: format!("ppn{n}"),
            host_ip: format!("10.213.{n}.1"),
            ns_ip: format!("10.213.{n}.2"),
        };
        // Leftovers of a killed earlier run with the same number.
        let _ = Command::new("ip")
            .args(["link", "del", &net.host_if])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &net.name])
            .output();
        ip(&["netns", "add", &net.name]);
        ip(&[
            "link",
            "add",
            &net.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &net.ns_if,
        ]);
        ip(&["link", "set", &net.ns_if, "netns", &net.name]);
        ip(&[
            "addr",
            "add",
            &format!("{}/24", net.host_ip),
            "dev",
            &net.host_if,
        ]);
        ip(&["link", "set", &net.host_if, "up"]);
        net.exec(&[
            "addr",
            "add",
            &format!("{}/24", net.ns_ip),
            "dev",
            &net.ns_if,
        ]);
        net.exec(&["link", "set", &net.ns_if, "up"]);
        net.exec(&["link", "set", "lo", "up"]);
        net
    }

    fn exec(&self, args: &[&str]) {
        let mut all = vec!["netns", "exec", &self.name, "ip"];
        all.extend_from_slice(args);
        ip(&all);
    }

    fn wrapper(&self) -> Vec<String> {
        vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            self.name.clone(),
        ]
    }

    /// Cuts the link (the namespace's side goes down; the host's addresses keep working).
    fn cut(&self) {
        self.exec(&["link", "set", &self.ns_if, "down"]);
    }

    fn heal(&self) {
        self.exec(&["link", "set", &self.ns_if, "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Runs a producer whose sockets live in `netns` (a thread that joined it with setns(2)).
fn producer_in_namespace(
    netns: &str,
    namesrv: String,
    topic: String,
    acks: Acks,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    let path = format!("/var/run/netns/{netns}");
    std::thread::spawn(move || {
        let f = std::fs::File::open(&path).unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: setns(2) on a namespace file we hold open; it changes only this thread's
        // network namespace, which is why this thread runs its own runtime.
        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            spawn_producer(namesrv, topic, "isolated", acks, stop)
                .await
                .unwrap()
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_master_acknowledges_nothing_and_rejoins_without_divergence() {
    let net = Netns::create();
    let dir = tempfile::tempdir().unwrap();
    let (_controllers, controller_addrs) = start_controllers(&net.host_ip, dir.path());
    let namesrv = Node::spawn(vec![
        "namesrv".into(),
        "--listen".into(),
        format!("{}:0", net.host_ip),
    ]);
    // The first broker asks for the first election, so it is the master: start it alone.
    let mut isolated = start_broker(
        net.wrapper(),
        &net.ns_ip,
        &namesrv.addr,
        &dir.path().join("b0"),
        &controller_addrs,
    );
    let client = remoting();
    let master = wait_for_set_of(&client, &controller_addrs, 1).await;
    assert_eq!(master, isolated.addr);
    let mut replicas: Vec<Node> = (1..3)
        .map(|i| {
            start_broker(
                Vec::new(),
                &net.host_ip,
                &namesrv.addr,
                &dir.path().join(format!("b{i}")),
                &controller_addrs,
            )
        })
        .collect();
    wait_for_set_of(&client, &controller_addrs, 3).await;
    let topic = unique("Partition");
    create_topic(&namesrv.addr, &master, &topic, 4).await;

    let acks: Acks = Arc::default();
    let isolated_acks: Acks = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let outside = spawn_producer(
        namesrv.addr.clone(),
        topic.clone(),
        "outside",
        Arc::clone(&acks),
        Arc::clone(&stop),
    );
    let inside = producer_in_namespace(
        &net.name,
        namesrv.addr.clone(),
        topic.clone(),
        Arc::clone(&isolated_acks),
        Arc::clone(&stop),
    );
    support::eventually("acknowledged sends from both producers", WAIT, || {
        acks.lock().unwrap().len() >= 100 && isolated_acks.lock().unwrap().len() >= 100
    })
    .await;

    let cut_at = Instant::now();
    net.cut();
    support::eventually("a SEND_OK from a new master", WAIT, || {
        acks_after(&acks, cut_at).iter().any(|a| a.1 != master)
    })
    .await;
    let new_master = acks_after(&acks, cut_at)
        .into_iter()
        .find(|a| a.1 != master)
        .unwrap()
        .1;
    eprintln!(
        "partition: new master {new_master} acknowledged after {} ms",
        (acks_after(&acks, cut_at)
            .into_iter()
            .find(|a| a.1 != master)
            .unwrap()
            .2
            - cut_at)
            .as_millis()
    );
    // Let both sides run apart for a while.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during: Vec<_> = acks_after(&isolated_acks, cut_at + Duration::from_millis(100))
        .into_iter()
        .filter(|a| a.1 == master)
        .collect();
    eprintln!(
        "the isolated master acknowledged {} sends after the cut",
        during.len()
    );

    net.heal();
    let back = wait_for_set_of(&client, &controller_addrs, 3).await;
    assert_eq!(back, new_master, "the healed old master must not take over");
    support::eventually(
        "the isolated producer's sends reach the new master",
        WAIT,
        || {
            acks_after(&isolated_acks, Instant::now() - Duration::from_secs(1))
                .iter()
                .any(|a| a.1 == new_master)
        },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    outside.await.unwrap();
    inside.join().unwrap();

    // Nothing acknowledged by either master is missing from the final master.
    let stored = stored_bodies(&namesrv.addr, &new_master, &topic, 4).await;
    let all: Vec<(String, String, Instant)> = acks
        .lock()
        .unwrap()
        .iter()
        .chain(isolated_acks.lock().unwrap().iter())
        .cloned()
        .collect();
    let lost: Vec<&(String, String, Instant)> =
        all.iter().filter(|a| !stored.contains(&a.0)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged messages are not on the final master, e.g. {:?}",
        lost.len(),
        all.len(),
        &lost[..lost.len().min(5)]
    );

    // The old master's log is a prefix of the new master's: no divergent data survived.
    let old_cache = epoch_cache(&client, &isolated.addr).await;
    let new_cache = epoch_cache(&client, &new_master).await;
    assert_eq!(old_cache.epoch_list.last(), new_cache.epoch_list.last());
    let new_i = replicas.iter().position(|b| b.addr == new_master).unwrap();
    let (old_dir, new_dir) = (
        isolated.data_dir.clone().unwrap(),
        replicas[new_i].data_dir.clone().unwrap(),
    );
    isolated.stop();
    for b in &mut replicas {
        b.stop();
    }
    let common = old_cache.max_offset.min(new_cache.max_offset) as u64;
    assert!(
        commit_log_bytes(&old_dir, common) == commit_log_bytes(&new_dir, common),
        "the old master's CommitLog diverges from the new master's"
    );
}
