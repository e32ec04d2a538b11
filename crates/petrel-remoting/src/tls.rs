//! TLS on remoting connections, with Apache RocketMQ's modes (`TlsSystemConfig`,
//! `NettyRemotingServer.HandshakeHandler`):
//!
//! - **disabled**: plain TCP only (a TLS ClientHello is read as a bad frame and closes the
//!   connection);
//! - **permissive**: each connection's first byte decides: `0x16` (a TLS handshake record)
//!   starts TLS, anything else is served in plain text;
//! - **enforcing**: TLS only; a connection whose first byte is not a handshake is closed.
//!
//! The server's certificate and key are PEM files (`tls.server.certPath`,
//! `tls.server.keyPath`); without them, and with `tls.test.mode.enable` (true, as in Apache),
//! a self-signed certificate is made at start. Client certificates are asked for with
//! `tls.server.need.client.auth` (`none`, `optional`, `require`) and checked against
//! `tls.server.trustCertPath`.
//!
//! Clients: like Apache's (`tls.client.authServer=false` by default) they accept any server
//! certificate unless given CA certificates to trust; the handshake's signatures are still
//! verified.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The first byte of a TLS record carrying a handshake (a ClientHello).
pub const HANDSHAKE_RECORD: u8 = 0x16;

/// `tls.server.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    #[default]
    Disabled,
    Permissive,
    Enforcing,
}

impl TlsMode {
    pub fn parse(s: &str) -> Option<TlsMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "disabled" => Some(TlsMode::Disabled),
            "permissive" => Some(TlsMode::Permissive),
            "enforcing" => Some(TlsMode::Enforcing),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disabled => "disabled",
            TlsMode::Permissive => "permissive",
            TlsMode::Enforcing => "enforcing",
        }
    }
}

/// `tls.server.need.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    #[default]
    None,
    Optional,
    Require,
}

impl ClientAuth {
    pub fn parse(s: &str) -> Option<ClientAuth> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Some(ClientAuth::None),
            "optional" => Some(ClientAuth::Optional),
            "require" => Some(ClientAuth::Require),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::Optional => "optional",
            ClientAuth::Require => "require",
        }
    }
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {}: {reason}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{0}")]
    Config(String),
}

/// The server side's settings (Apache's `tls.server.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsServerSettings {
    pub mode: TlsMode,
    pub cert_path: Option<PathBuf>,
    pub key_path: Option<PathBuf>,
    pub need_client_auth: ClientAuth,
    pub trust_cert_path: Option<PathBuf>,
    /// `tls.test.mode.enable`: without a certificate, make a self-signed one.
    pub test_mode: bool,
}

/// A server's TLS: its mode and, unless disabled, the acceptor.
#[derive(Clone)]
pub struct TlsServer {
    pub mode: TlsMode,
    pub acceptor: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServer")
            .field("mode", &self.mode)
            .finish()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read_err = |reason: String| TlsError::Read {
        what,
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| read_err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_err(e.to_string()))?;
    if certs.is_empty() {
        return Err(read_err("no PEM certificate in it".to_string()));
    }
    Ok(certs)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Read {
        what: "the private key (PEM: PKCS#8, PKCS#1 or SEC1, unencrypted)",
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    for c in certs(path, "the trusted certificates")? {
        store
            .add(c)
            .map_err(|e| TlsError::Config(format!("{}: {e}", path.display())))?;
    }
    Ok(store)
}

/// A self-signed certificate for `localhost` and the loopback addresses.
fn self_signed() -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let ck = rcgen::generate_simple_self_signed(names)
        .map_err(|e| TlsError::Config(format!("cannot make a self-signed certificate: {e}")))?;
    let key = PrivateKeyDer::try_from(ck.key_pair.serialize_der())
        .map_err(|e| TlsError::Config(format!("self-signed key: {e}")))?;
    Ok((vec![ck.cert.der().clone()], key))
}

impl TlsServerSettings {
    /// The server's TLS, or `None` when disabled.
    pub fn build(&self) -> Result<Option<TlsServer>, TlsError> {
        self.build_with_alpn(&[], true)
    }

    /// As [`TlsServerSettings::build`], offering the `alpn` protocols (HTTP/2 servers such as
    /// gRPC need `h2`); `warn_self_signed`: warn when a self-signed certificate is made (a
    /// caller that chose one on purpose says so in its own words).
    pub fn build_with_alpn(
        &self,
        alpn: &[&[u8]],
        warn_self_signed: bool,
    ) -> Result<Option<TlsServer>, TlsError> {
        if self.mode == TlsMode::Disabled {
            return Ok(None);
        }
        let (chain, key) = match (&self.cert_path, &self.key_path) {
            (Some(c), Some(k)) => (certs(c, "the certificate")?, key(k)?),
            (None, None) if self.test_mode => {
                if warn_self_signed {
                    tracing::warn!(
                        "TLS is on without tls.server.certPath/keyPath: using a self-signed certificate \
                         made at start (tls.test.mode.enable=true); clients cannot verify this server"
                    );
                }
                self_signed()?
            }
            (None, None) => {
                return Err(TlsError::Config(format!(
                    "tls.server.mode={} needs tls.server.certPath and tls.server.keyPath (or tls.test.mode.enable=true for a self-signed certificate)",
                    self.mode.as_str()
                )))
            }
            _ => {
                return Err(TlsError::Config(
                    "tls.server.certPath and tls.server.keyPath go together".to_string(),
                ))
            }
        };
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let builder = match self.need_client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            auth => {
                let path = self.trust_cert_path.as_deref().ok_or_else(|| {
                    TlsError::Config(format!(
                        "tls.server.need.client.auth={} needs tls.server.trustCertPath (the CA certificates client certificates are checked against)",
                        auth.as_str()
                    ))
                })?;
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots(path)?), provider());
                let verifier = if auth == ClientAuth::Optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(
                    verifier
                        .build()
                        .map_err(|e| TlsError::Config(e.to_string()))?,
                )
            }
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Config(format!("certificate and key: {e}")))?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Some(TlsServer {
            mode: self.mode,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        }))
    }
}

/// A client's TLS settings (Apache's `tls.client.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsClientSettings {
    /// CA certificates to verify servers with; `None`: any server certificate is accepted
    /// (Apache's default, `tls.client.authServer=false`).
    pub trust_cert_path: Option<PathBuf>,
    /// A client certificate and key, for servers that ask for one.
    pub cert_path: Option<PathBuf>,
    pub key_path: Option<PathBuf>,
}

/// A client's TLS: the connector.
#[derive(Clone)]
pub struct TlsClient {
    pub connector: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsClient")
    }
}

impl TlsClientSettings {
    pub fn build(&self) -> Result<TlsClient, TlsError> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let builder = match &self.trust_cert_path {
            Some(path) => builder.with_root_certificates(roots(path)?),
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServerCert(provider()))),
        };
        let config = match (&self.cert_path, &self.key_path) {
            (Some(c), Some(k)) => builder
                .with_client_auth_cert(certs(c, "the client certificate")?, key(k)?)
                .map_err(|e| TlsError::Config(format!("client certificate and key: {e}")))?,
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(TlsError::Config(
                    "the client certificate and key go together".to_string(),
                ))
            }
        };
        Ok(TlsClient {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }
}

/// The server name a client presents for `addr` (`host:port`).
pub(crate) fn server_name(addr: &str) -> ServerName<'static> {
    let host = addr
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(addr)
        .trim_start_matches('[')
        .trim_end_matches(']');
    ServerName::try_from(host.to_string()).unwrap_or(ServerName::IpAddress(
        std::net::IpAddr::from(std::net::Ipv4Addr::LOCALHOST).into(),
    ))
}

/// Accepts any server certificate (Apache's `InsecureTrustManagerFactory` when
/// `tls.client.authServer=false`), but checks the handshake signatures with it.
#[derive(Debug)]
struct AnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_apache_writes_them() {
        assert_eq!(TlsMode::parse("Enforcing"), Some(TlsMode::Enforcing));
        assert_eq!(TlsMode::parse("permissive"), Some(TlsMode::Permissive));
        assert_eq!(TlsMode::parse("off"), None);
        assert_eq!(ClientAuth::parse("require"), Some(ClientAuth::Require));
    }

    #[test]
    fn a_self_signed_server_and_an_accepting_client_build() {
        let s = TlsServerSettings {
            mode: TlsMode::Enforcing,
            test_mode: true,
            ..Default::default()
        };
        assert!(s.build().unwrap().is_some());
        let no_cert = TlsServerSettings {
            mode: TlsMode::Enforcing,
            ..Default::default()
        };
        assert!(no_cert
            .build()
            .unwrap_err()
            .to_string()
            .contains("tls.server.certPath"));
        TlsClientSettings::default().build().unwrap();
        assert_eq!(
            server_name("127.0.0.1:10911"),
            ServerName::try_from("127.0.0.1").unwrap()
        );
    }
}
