//! `petrel bench` run as a user runs it, against a real `petrel serve`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::process::{Command, Output};

use support::{unique, Petrel};

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_petrel"))
        .arg("bench")
        .args(args)
        .env_remove("NAMESRV_ADDR")
        .output()
        .expect("run petrel bench")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

#[test]
fn produce_consume_and_e2e_report_what_they_did() {
    let petrel = Petrel::start(&[]);
    let ns = petrel.namesrv.as_str();
    let topic = unique("Bench");

    let r = json(&bench(&[
        "produce",
        "-n",
        ns,
        "-t",
        &topic,
        "--count",
        "3000",
        "--threads",
        "4",
        "--size",
        "512",
        "--json",
    ]));
    assert_eq!(r["messages"], 3000);
    assert_eq!(r["size_bytes"], 512);
    assert!(r["msgs_per_sec"].as_f64().unwrap() > 0.0);
    assert!(r["mb_per_sec"].as_f64().unwrap() > 0.0);
    for p in ["p50", "p99", "p999", "max"] {
        assert!(r["latency_us"][p].as_u64().unwrap() > 0, "{p}");
    }
    assert_eq!(r["errors"], serde_json::json!({}));

    let r = json(&bench(&[
        "produce",
        "-n",
        ns,
        "-t",
        &topic,
        "--count",
        "3200",
        "--threads",
        "2",
        "--batch",
        "32",
        "--async",
        "--inflight",
        "4",
        "--json",
    ]));
    assert_eq!(r["messages"], 3200);
    assert_eq!(r["batch"], 32);
    assert_eq!(r["async"], true);

    // Everything sent (plus the one warm-up message of each run) is there to consume.
    let r = json(&bench(&[
        "consume",
        "-n",
        ns,
        "-t",
        &topic,
        "-g",
        &unique("g"),
        "--from-first",
        "--count",
        "6202",
        "--duration",
        "60",
        "--json",
    ]));
    assert_eq!(r["messages"], 6202);

    // The table form.
    let out = bench(&[
        "e2e",
        "-n",
        ns,
        "-t",
        &unique("E2e"),
        "--count",
        "500",
        "--threads",
        "2",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("msgs/s"), "{text}");
    assert!(text.contains("send latency (ms): p50"), "{text}");
    assert!(text.contains("end-to-end latency"), "{text}");
    assert!(text.contains("errors: none"), "{text}");
}

#[test]
fn unreachable_name_server_and_bad_flags_fail_clearly() {
    let out = bench(&["produce", "-n", "127.0.0.1:1", "--count", "1", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(out.stdout.is_empty());

    let out = bench(&["produce", "--threads", "many"]);
    assert_eq!(out.status.code(), Some(2));
    let out = bench(&["produce", "--threads", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 1"));
}
