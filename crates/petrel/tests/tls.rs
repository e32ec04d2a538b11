//! TLS against a real `petrel serve` (name server and broker): with `tls.server.mode=enforcing`
//! and a certificate made at test time, petrel-client with TLS sends and reads while a
//! plain-text client is refused; permissive serves both; the self-signed test mode starts
//! without a certificate; a standalone `petrel namesrv --tls-mode enforcing` with a broker
//! registering over TLS.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use petrel_client::{ClientConfig, Message, Producer, ProducerConfig};
use petrel_remoting::TlsClientSettings;
use support::{unique, Petrel};

async fn send_one(p: &Petrel, tls: Option<TlsClientSettings>) -> Result<(), String> {
    send_via(&p.namesrv, tls).await
}

/// One message to a fresh topic (auto-created) through the name server at `namesrv`.
async fn send_via(namesrv: &str, tls: Option<TlsClientSettings>) -> Result<(), String> {
    let mut pc = ProducerConfig::new(unique("pg"));
    pc.retry_times_when_send_failed = 0;
    let client = ClientConfig {
        tls,
        ..ClientConfig::new(namesrv)
    };
    let producer = Producer::start(client, pc)
        .await
        .map_err(|e| e.to_string())?;
    // Auto-created on the first send (autoCreateTopicEnable).
    let r = producer
        .send(Message::new(unique("tls-t"), b"over tls".to_vec()))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    producer.shutdown().await;
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforcing_serves_tls_clients_and_refuses_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let sets = [
        "tls.server.mode=enforcing".to_string(),
        format!("tls.server.certPath={}", cert.display()),
        format!("tls.server.keyPath={}", key.display()),
    ];
    let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
    let p = Petrel::start(&sets);
    // Verified against the server's certificate: the broker registered over TLS too (the
    // route comes from the name server).
    let verified = TlsClientSettings {
        trust_cert_path: Some(cert.clone()),
        ..Default::default()
    };
    send_one(&p, Some(verified)).await.unwrap();
    send_one(&p, Some(TlsClientSettings::default()))
        .await
        .unwrap();
    let err = send_one(&p, None).await.unwrap_err();
    assert!(
        err.contains("cannot reach") || err.contains("closed"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissive_with_a_self_signed_certificate_serves_both() {
    let p = Petrel::start(&["tls.server.mode=permissive"]);
    send_one(&p, Some(TlsClientSettings::default()))
        .await
        .unwrap();
    send_one(&p, None).await.unwrap();
}

/// A standalone `petrel namesrv --tls-mode enforcing` and a `petrel broker` registering with
/// it over TLS (`tls.enable`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standalone_name_server_and_broker_enforce_tls() {
    use support::cluster::Node;
    let dir = tempfile::tempdir().unwrap();
    let ns = Node::spawn(
        [
            "namesrv",
            "--listen",
            "127.0.0.1:0",
            "--tls-mode",
            "enforcing",
        ]
        .map(String::from)
        .to_vec(),
    );
    let _broker = Node::broker(
        &ns.addr,
        dir.path(),
        &["tls.server.mode=enforcing", "tls.enable=true"],
    );
    send_via(&ns.addr, Some(TlsClientSettings::default()))
        .await
        .unwrap();
    assert!(send_via(&ns.addr, None).await.is_err());
}
