//! Automatic failover with real processes: three `petrel controller`s (one Raft group), a name
//! server and three `petrel broker`s of one broker name in controller mode with
//! `allAckInSyncStateSet=true`.
//!
//! A producer sends continuously with sync sends. The master is killed with SIGKILL: the
//! controllers elect another member of the SyncStateSet, the producer's sends land on it, and
//! no message acknowledged with SEND_OK is lost. The old master returns, cuts what the new
//! master does not share and follows it (its CommitLog is then a byte-identical prefix of the
//! new master's). Then the controller leader is killed: sends go on.
//!
//! Prints the failover times (SIGKILL → first SEND_OK on the new master);
//! `PETREL_FAILOVER_ROUNDS=20` (`scripts/bench-failover.sh`) repeats the kill for
//! docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use support::autoswitch::*;
use support::cluster::{commit_log_bytes, Node};
use support::unique;

/// Master kills per run: 1 in CI; `PETREL_FAILOVER_ROUNDS=20` for docs/benchmarks.md.
fn rounds() -> usize {
    std::env::var("PETREL_FAILOVER_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_is_replaced_without_losing_an_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let ip = "127.0.0.1";
    let (mut controllers, controller_addrs) = start_controllers(ip, dir.path());
    let namesrv = Node::namesrv();
    let mut brokers: Vec<Node> = (0..3)
        .map(|i| {
            start_broker(
                Vec::new(),
                ip,
                &namesrv.addr,
                &dir.path().join(format!("b{i}")),
                &controller_addrs,
            )
        })
        .collect();
    let client = remoting();
    let mut master_addr = wait_for_set_of(&client, &controller_addrs, 3).await;
    let topic = unique("Failover");
    create_topic(&namesrv.addr, &master_addr, &topic, 4).await;

    let acks: Acks = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let producer = spawn_producer(
        namesrv.addr.clone(),
        topic.clone(),
        "fo",
        Arc::clone(&acks),
        Arc::clone(&stop),
    );
    support::eventually("the first acknowledged sends", WAIT, || {
        acks.lock().unwrap().len() >= 200
    })
    .await;

    // SIGKILL the master, `rounds` times; each time the old master returns as a replica.
    let mut old = 0;
    let mut times = Vec::new();
    for round in 0..rounds() {
        old = brokers
            .iter()
            .position(|b| b.addr == master_addr)
            .expect("the master is one of ours");
        let killed_at = Instant::now();
        brokers[old].kill9();
        support::eventually("a SEND_OK from the new master", WAIT, || {
            acks_after(&acks, killed_at)
                .iter()
                .any(|a| a.1 != master_addr)
        })
        .await;
        let first_new = acks_after(&acks, killed_at)
            .into_iter()
            .find(|a| a.1 != master_addr)
            .unwrap();
        let failover = first_new.2 - killed_at;
        eprintln!(
            "failover {round}: {} ms from SIGKILL of {master_addr} to the first SEND_OK on {}",
            failover.as_millis(),
            first_new.1
        );
        times.push(failover);
        master_addr = first_new.1.clone();
        brokers[old].start();
        let again = wait_for_set_of(&client, &controller_addrs, 3).await;
        assert_eq!(
            again, master_addr,
            "the returning broker must not take over"
        );
    }
    times.sort();
    eprintln!(
        "failover times over {} kills: p50 {} ms, max {} ms",
        times.len(),
        times[times.len() / 2].as_millis(),
        times[times.len() - 1].as_millis()
    );

    // Kill the controller leader: sends go on.
    let leader_addr = leader(&client, &controller_addrs).await.unwrap();
    let li = controller_addrs
        .iter()
        .position(|a| *a == leader_addr)
        .unwrap();
    let leader_killed_at = Instant::now();
    controllers[li].kill9();
    support::eventually("sends after the controller leader died", WAIT, || {
        acks_after(&acks, leader_killed_at).len() >= 200
    })
    .await;

    stop.store(true, Ordering::Relaxed);
    let failures = producer.await.unwrap();
    let acked = acks.lock().unwrap().clone();
    eprintln!(
        "{} sends acknowledged, {failures} failed during the failovers",
        acked.len()
    );

    // Every acknowledged message is on the master.
    let stored = stored_bodies(&namesrv.addr, &master_addr, &topic, 4).await;
    let lost: Vec<&String> = acked
        .iter()
        .map(|a| &a.0)
        .filter(|b| !stored.contains(*b))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged messages lost, e.g. {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );

    // The returned old master holds a byte-identical prefix of the master's log, and the
    // same epochs.
    let new_i = brokers.iter().position(|b| b.addr == master_addr).unwrap();
    let old_cache = epoch_cache(&client, &brokers[old].addr).await;
    let new_cache = epoch_cache(&client, &master_addr).await;
    assert_eq!(old_cache.epoch_list.last(), new_cache.epoch_list.last());
    assert!(
        new_cache.epoch_list.len() > rounds(),
        "each failover adds an epoch: {:?}",
        new_cache.epoch_list
    );
    let (old_dir, new_dir) = (
        brokers[old].data_dir.clone().unwrap(),
        brokers[new_i].data_dir.clone().unwrap(),
    );
    for b in &mut brokers {
        b.stop();
    }
    let common = old_cache.max_offset.min(new_cache.max_offset) as u64;
    assert!(common > 0);
    assert!(
        commit_log_bytes(&old_dir, common) == commit_log_bytes(&new_dir, common),
        "the old master's CommitLog diverges from the new master's"
    );
}
