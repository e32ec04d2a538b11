//! The `petrel` binary's command line: failures are clear and non-zero.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

use std::process::Command;

fn petrel(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_petrel"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run petrel")
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = petrel(&[
        "serve",
        "--namesrv-listen",
        &addr,
        "--broker-listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot start the name server") && err.contains(&addr),
        "{err}"
    );
}

#[test]
fn an_unusable_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let out = petrel(&[
        "serve",
        "--namesrv-listen",
        "127.0.0.1:0",
        "--broker-listen",
        "127.0.0.1:0",
        "--data-dir",
        file.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a directory"), "{err}");
}

#[test]
fn a_bad_config_value_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = petrel(&[
        "serve",
        "--namesrv-listen",
        "127.0.0.1:0",
        "--broker-listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--set",
        "flushDiskType=SOMETIMES",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("flushDiskType"), "{err}");
}

#[test]
fn help_lists_the_roles() {
    let out = petrel(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for role in ["serve", "namesrv", "broker"] {
        assert!(text.contains(role), "{text}");
    }
}
