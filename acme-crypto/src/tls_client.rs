//! rustls client configuration shared by the adapters' default HTTP clients: the `ring`
//! provider (never the process-wide default, so two providers in one build cannot panic),
//! the trust anchors the adapter ships plus any roots the user adds, verification always on.

use std::fmt;
use std::sync::Arc;

use acme_proto::http::TransportError;
use acme_proto::http::TransportErrorKind;
use acme_proto::http::transport::{self, Uri};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor};

/// Why roots or a client configuration could not be built; its message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsClientError(String);

impl fmt::Display for TlsClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsClientError {}

/// Parses every `CERTIFICATE` block of `pem` and checks that each one is usable as a trust
/// anchor (rustls would skip an unusable one silently). Fails when a block is malformed or
/// when there is no certificate at all; other blocks (keys) are ignored.
pub fn parse_root_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsClientError> {
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert =
            cert.map_err(|e| TlsClientError(format!("invalid PEM root certificate: {e}")))?;
        // A scratch store runs the same trust-anchor extraction `client_config` will.
        RootCertStore::empty()
            .add(cert.clone())
            .map_err(|e| TlsClientError(format!("unusable root certificate: {e}")))?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(TlsClientError(
            "no CERTIFICATE block found in the PEM input".to_owned(),
        ));
    }
    Ok(certs)
}

/// A client configuration trusting `anchors` (e.g. `webpki_roots::TLS_SERVER_ROOTS`) and
/// `extra_roots`, using only the `ring` provider.
pub fn client_config(
    anchors: &[TrustAnchor<'static>],
    extra_roots: &[CertificateDer<'static>],
) -> Result<rustls::ClientConfig, TlsClientError> {
    let mut roots = RootCertStore {
        roots: anchors.to_vec(),
    };
    for cert in extra_roots {
        roots
            .add(cert.clone())
            .map_err(|e| TlsClientError(format!("unusable root certificate: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsClientError(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The TLS server name for a URI host (`[::1]` style IPv6 literals included).
pub fn server_name(host: &str) -> Option<ServerName<'static>> {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(host.to_owned()).ok()
}

/// [`transport::parse_url`], and for `https://` a host that is a valid TLS server name.
pub fn parse_url(url: &str, allow_http: bool) -> Result<Uri, TransportError> {
    let uri = transport::parse_url(url, allow_http)?;
    let host = uri.host().unwrap_or_default();
    if uri.scheme_str() == Some("https") && server_name(host).is_none() {
        return Err(TransportError::new(
            TransportErrorKind::InvalidUrl,
            format!("host of {url:?} is not a valid TLS server name"),
        ));
    }
    Ok(uri)
}
