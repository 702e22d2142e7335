//! rustls configuration shared by the default client: the `ring` provider, webpki roots plus
//! any roots the user adds, verification always on.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::http_client::BuildError;

/// Parses every `CERTIFICATE` block of `pem` and checks that each one is usable as a trust
/// anchor. Fails when a block is malformed or when there is no certificate at all.
pub(crate) fn parse_root_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, BuildError> {
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert =
            cert.map_err(|e| BuildError::new(format!("invalid PEM root certificate: {e}")))?;
        // A scratch store runs the same trust-anchor extraction `build()` will.
        RootCertStore::empty()
            .add(cert.clone())
            .map_err(|e| BuildError::new(format!("unusable root certificate: {e}")))?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(BuildError::new(
            "no CERTIFICATE block found in the PEM input",
        ));
    }
    Ok(certs)
}

/// A client configuration trusting the webpki roots and `extra_roots`, using only the `ring`
/// provider (never the process-wide default, so no provider conflict can panic).
pub(crate) fn client_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<rustls::ClientConfig, BuildError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in extra_roots {
        roots
            .add(cert.clone())
            .map_err(|e| BuildError::new(format!("unusable root certificate: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| BuildError::new(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The TLS server name for a URI host (`[::1]` style IPv6 literals included).
pub(crate) fn server_name(host: &str) -> Option<ServerName<'static>> {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(host.to_owned()).ok()
}
