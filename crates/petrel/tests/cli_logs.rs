#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Server logs written to a pipe (a file, a log collector) are plain text without ANSI colour
//! codes; `--log-format json` writes one JSON object per line; `RUST_LOG` sets the level.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Runs `petrel serve` with stdout and stderr piped until it is ready, stops it with SIGTERM
/// and returns what it wrote to stderr.
fn serve_stderr(extra: &[&str], rust_log: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_petrel"))
        .args(extra)
        .args([
            "serve",
            "--namesrv-listen",
            "127.0.0.1:0",
            "--broker-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .env("RUST_LOG", rust_log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn petrel");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("petrel did not become ready");
        if line == "petrel ready" {
            break;
        }
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; the pid is our own
    // child's, not yet reaped (we wait for it below).
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    err_reader.join().unwrap()
}

#[test]
fn logs_through_a_pipe_have_no_escape_codes() {
    let text = serve_stderr(&[], "info");
    assert!(text.contains("broker started"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "ANSI escape codes in piped logs:\n{text}"
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let text = serve_stderr(&["--log-format", "json"], "info");
    let mut messages = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(value["level"].is_string(), "{line}");
        assert!(value["timestamp"].is_string(), "{line}");
        messages.push(
            value["fields"]["message"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
    }
    assert!(
        messages.iter().any(|m| m == "broker started"),
        "{messages:?}"
    );
    assert!(!text.contains('\u{1b}'), "{text}");
}

#[test]
fn rust_log_sets_the_level() {
    let text = serve_stderr(&[], "error");
    assert!(
        !text.contains("broker started"),
        "info lines at level error:\n{text}"
    );
}
