//! TLS on real sockets (127.0.0.1, ephemeral ports), with certificates made at test time:
//! enforcing serves TLS and refuses plain text, permissive serves both, disabled refuses a
//! handshake, and a server that requires client certificates refuses a client without one.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_remoting::{
    BoxFuture, ClientAuth, RemotingClient, RemotingConfig, RemotingServer, Reply, RequestContext,
    RequestHandler, TlsClientSettings, TlsMode, TlsServerSettings,
};

const ECHO: i32 = 9001;

struct Echo;

impl RequestHandler for Echo {
    fn handle(&self, _ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>> {
        Box::pin(async move {
            let mut reply = RemotingCommand::response_to(&request, response_code::SUCCESS, None);
            reply.body = request.body.clone();
            Some(reply.into())
        })
    }
}

/// A self-signed certificate for 127.0.0.1 and its key, as PEM files in `dir`.
fn cert(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let (c, k) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&c, ck.cert.pem()).unwrap();
    std::fs::write(&k, ck.key_pair.serialize_pem()).unwrap();
    (c, k)
}

async fn server(settings: TlsServerSettings) -> RemotingServer {
    let config = RemotingConfig {
        tls_server: settings.build().unwrap(),
        frame_read_timeout: Duration::from_secs(5),
        ..RemotingConfig::default()
    };
    RemotingServer::bind("127.0.0.1:0".parse().unwrap(), Arc::new(Echo), config)
        .await
        .unwrap()
}

fn client(tls: Option<TlsClientSettings>) -> RemotingClient {
    RemotingClient::new(
        RemotingConfig {
            tls_client: tls.map(|t| t.build().unwrap()),
            ..RemotingConfig::default()
        },
        None,
    )
}

async fn echo(c: &RemotingClient, addr: &str, body: Bytes) -> Result<Bytes, String> {
    let req = RemotingCommand::request(ECHO).with_body(body);
    c.invoke(addr, req, Duration::from_secs(5))
        .await
        .map(|r| r.body)
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforcing_serves_tls_and_refuses_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let (c, k) = cert(dir.path(), "server");
    let s = server(TlsServerSettings {
        mode: TlsMode::Enforcing,
        cert_path: Some(c.clone()),
        key_path: Some(k),
        ..Default::default()
    })
    .await;
    let addr = s.local_addr().to_string();
    // A client that verifies the server against its certificate.
    let verified = Arc::new(client(Some(TlsClientSettings {
        trust_cert_path: Some(c),
        ..Default::default()
    })));
    let mut tasks = Vec::new();
    for i in 0..50usize {
        let (v, a) = (Arc::clone(&verified), addr.clone());
        tasks.push(tokio::spawn(async move {
            // Bodies from a few bytes to 1 MiB: frames span many TLS records.
            let body = Bytes::from(vec![(i % 251) as u8; 1 + i * 21_000]);
            assert_eq!(echo(&v, &a, body.clone()).await.unwrap(), body);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Apache's default client: any certificate.
    let any = client(Some(TlsClientSettings::default()));
    assert_eq!(
        echo(&any, &addr, Bytes::from_static(b"hi")).await.unwrap(),
        "hi"
    );
    // Plain text is closed.
    let plain = client(None);
    assert!(echo(&plain, &addr, Bytes::from_static(b"hi"))
        .await
        .is_err());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissive_serves_both_and_disabled_refuses_a_handshake() {
    let s = server(TlsServerSettings {
        mode: TlsMode::Permissive,
        test_mode: true,
        ..Default::default()
    })
    .await;
    let addr = s.local_addr().to_string();
    let tls = client(Some(TlsClientSettings::default()));
    let plain = client(None);
    assert_eq!(
        echo(&tls, &addr, Bytes::from_static(b"a")).await.unwrap(),
        "a"
    );
    assert_eq!(
        echo(&plain, &addr, Bytes::from_static(b"b")).await.unwrap(),
        "b"
    );
    s.shutdown().await;

    let s = server(TlsServerSettings::default()).await;
    let addr = s.local_addr().to_string();
    assert!(echo(&tls, &addr, Bytes::from_static(b"a")).await.is_err());
    assert_eq!(
        echo(&plain, &addr, Bytes::from_static(b"b")).await.unwrap(),
        "b"
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_client_certificates_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (sc, sk) = cert(dir.path(), "server");
    let (cc, ck) = cert(dir.path(), "client");
    let s = server(TlsServerSettings {
        mode: TlsMode::Enforcing,
        cert_path: Some(sc),
        key_path: Some(sk),
        need_client_auth: ClientAuth::Require,
        trust_cert_path: Some(cc.clone()),
        ..Default::default()
    })
    .await;
    let addr = s.local_addr().to_string();
    let anonymous = client(Some(TlsClientSettings::default()));
    assert!(echo(&anonymous, &addr, Bytes::from_static(b"a"))
        .await
        .is_err());
    let known = client(Some(TlsClientSettings {
        cert_path: Some(cc),
        key_path: Some(ck),
        ..Default::default()
    }));
    assert_eq!(
        echo(&known, &addr, Bytes::from_static(b"a")).await.unwrap(),
        "a"
    );
    s.shutdown().await;
}
