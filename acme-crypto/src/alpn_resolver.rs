//! A rustls certificate resolver answering tls-alpn-01 challenges (feature `rustls`).

use crate::{ACME_TLS_ALPN_PROTOCOL, Error, tls_alpn01_certificate};
use acme_proto::flow::ChallengeToSolve;
use acme_proto::msgs::challenge::reverse_dns_name;
use acme_proto::msgs::identifier::{Identifier, IdentifierType};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

/// One published challenge certificate.
struct Entry {
    /// The challenge token, so that withdrawing an older challenge for the same name does not
    /// remove a newer one.
    token: String,
    key: Arc<CertifiedKey>,
}

/// Serves tls-alpn-01 validation certificates (RFC 8737) from rustls.
///
/// A [`ResolvesServerCert`] that answers a TLS handshake whose ClientHello offers exactly the
/// ALPN protocol `acme-tls/1` (as a validating CA does) with the challenge certificate
/// published for its SNI name, and every other handshake from an optional fallback resolver.
///
/// - Standalone: [`TlsAlpn01Resolver::server_config`] is a complete rustls server
///   configuration; the adapters' `TlsAlpn01Responder::serve` run it on a port.
/// - In your own TLS server: give `Arc::new(resolver.with_fallback(your_resolver))` to your
///   `ServerConfig` as its `cert_resolver`, and add `acme-tls/1` to its `alpn_protocols`. A
///   connection that negotiated `acme-tls/1` carries no application data: close it once the
///   handshake is done.
///
/// Clones (and [`TlsAlpn01Resolver::with_fallback`] resolvers) share the published
/// certificates. For an IP identifier the SNI name is its reverse-DNS name (RFC 8738 §6).
///
/// ```
/// use acme_crypto::TlsAlpn01Resolver;
/// use acme_proto::msgs::identifier::Identifier;
///
/// let resolver = TlsAlpn01Resolver::new();
/// let id = Identifier::ip("127.0.0.1".parse().unwrap());
/// resolver.insert(&id, "token", "token.thumbprint")?;
/// assert_eq!(TlsAlpn01Resolver::sni_name(&id)?, "1.0.0.127.in-addr.arpa");
/// assert!(resolver.contains("1.0.0.127.in-addr.arpa"));
/// let config = resolver.server_config()?; // ALPN acme-tls/1 only
/// assert_eq!(config.alpn_protocols, vec![b"acme-tls/1".to_vec()]);
/// resolver.remove(&id, "token");
/// assert!(resolver.is_empty());
/// # Ok::<(), acme_crypto::Error>(())
/// ```
#[derive(Clone)]
pub struct TlsAlpn01Resolver {
    certs: Arc<RwLock<HashMap<String, Entry>>>,
    provider: Arc<CryptoProvider>,
    fallback: Option<Arc<dyn ResolvesServerCert>>,
}

impl Default for TlsAlpn01Resolver {
    fn default() -> Self {
        TlsAlpn01Resolver::new()
    }
}

impl AsRef<TlsAlpn01Resolver> for TlsAlpn01Resolver {
    fn as_ref(&self) -> &TlsAlpn01Resolver {
        self
    }
}

impl fmt::Debug for TlsAlpn01Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .certs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        f.debug_struct("TlsAlpn01Resolver")
            .field("names", &names)
            .field("fallback", &self.fallback.is_some())
            .finish_non_exhaustive()
    }
}

/// True when a ClientHello's ALPN list is exactly `acme-tls/1`, as RFC 8737 §3 requires of a
/// validating CA.
fn offers_only_acme_tls<'a>(alpn: Option<impl Iterator<Item = &'a [u8]>>) -> bool {
    let Some(mut protocols) = alpn else {
        return false;
    };
    protocols.next() == Some(ACME_TLS_ALPN_PROTOCOL) && protocols.next().is_none()
}

/// An SNI name as the map keys it: ASCII lowercase, without a trailing dot.
fn normalize_sni(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

impl TlsAlpn01Resolver {
    /// An empty resolver using rustls' `ring` provider.
    pub fn new() -> TlsAlpn01Resolver {
        TlsAlpn01Resolver::with_provider(Arc::new(rustls::crypto::ring::default_provider()))
    }

    /// An empty resolver loading keys and building [`server_config`](Self::server_config)
    /// with `provider`.
    pub fn with_provider(provider: Arc<CryptoProvider>) -> TlsAlpn01Resolver {
        TlsAlpn01Resolver {
            certs: Arc::default(),
            provider,
            fallback: None,
        }
    }

    /// A resolver sharing this one's challenge certificates that hands every handshake which
    /// is not a tls-alpn-01 validation to `fallback` (your server's own certificates).
    pub fn with_fallback(&self, fallback: Arc<dyn ResolvesServerCert>) -> TlsAlpn01Resolver {
        TlsAlpn01Resolver {
            certs: Arc::clone(&self.certs),
            provider: Arc::clone(&self.provider),
            fallback: Some(fallback),
        }
    }

    /// The SNI name a CA sends when validating `identifier`: the DNS name itself, or the
    /// reverse-DNS name of an IP address (RFC 8738 §6). Wildcards cannot use tls-alpn-01.
    pub fn sni_name(identifier: &Identifier) -> Result<String, Error> {
        match identifier.kind {
            IdentifierType::Dns if identifier.is_wildcard() => Err(Error::UnsupportedIdentifier(
                format!("{identifier}: tls-alpn-01 cannot validate wildcard names"),
            )),
            IdentifierType::Dns => Ok(Identifier::dns(&identifier.value)?.value),
            IdentifierType::Ip => identifier.ip_addr().map(reverse_dns_name).ok_or_else(|| {
                Error::UnsupportedIdentifier(format!("{identifier}: not an IP address"))
            }),
            _ => Err(Error::UnsupportedIdentifier(format!(
                "{identifier}: tls-alpn-01 validates only dns and ip identifiers"
            ))),
        }
    }

    /// Build and publish the challenge certificate for `identifier` (replacing any other for
    /// the same SNI name).
    pub fn insert(
        &self,
        identifier: &Identifier,
        token: &str,
        key_authorization: &str,
    ) -> Result<(), Error> {
        let sni = TlsAlpn01Resolver::sni_name(identifier)?;
        let cert = tls_alpn01_certificate(identifier, key_authorization)?;
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            cert.private_key_pkcs8_der.to_vec(),
        ));
        // `CertifiedKey::from_der` would refuse the critical acmeIdentifier extension: load
        // the key with the provider and pair it with the chain directly.
        let signing_key = self
            .provider
            .key_provider
            .load_private_key(key_der)
            .map_err(|e| Error::Certificate(format!("tls-alpn-01 key: {e}")))?;
        let key = Arc::new(CertifiedKey::new(
            vec![CertificateDer::from(cert.certificate_der)],
            signing_key,
        ));
        tracing::debug!(sni = %sni, "tls-alpn-01 certificate published");
        self.certs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                sni,
                Entry {
                    token: token.to_owned(),
                    key,
                },
            );
        Ok(())
    }

    /// [`insert`](Self::insert) for a challenge the issuance flow handed out.
    pub fn insert_challenge(&self, challenge: &ChallengeToSolve) -> Result<(), Error> {
        self.insert(
            &challenge.identifier,
            challenge.token(),
            &challenge.key_authorization,
        )
    }

    /// Withdraw the certificate published for `identifier` with `token`; returns whether
    /// there was one (a newer certificate for the same name, with another token, stays).
    pub fn remove(&self, identifier: &Identifier, token: &str) -> bool {
        let Ok(sni) = TlsAlpn01Resolver::sni_name(identifier) else {
            return false;
        };
        let mut certs = self.certs.write().unwrap_or_else(PoisonError::into_inner);
        if certs.get(&sni).is_some_and(|e| e.token == token) {
            certs.remove(&sni);
            tracing::debug!(sni = %sni, "tls-alpn-01 certificate withdrawn");
            true
        } else {
            false
        }
    }

    /// [`remove`](Self::remove) for a challenge the issuance flow handed out.
    pub fn remove_challenge(&self, challenge: &ChallengeToSolve) -> bool {
        self.remove(&challenge.identifier, challenge.token())
    }

    /// True if a certificate is published for this SNI name.
    pub fn contains(&self, sni: &str) -> bool {
        self.certs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&normalize_sni(sni))
    }

    /// How many certificates are published.
    pub fn len(&self) -> usize {
        self.certs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True when nothing is published.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A rustls server configuration that only answers tls-alpn-01 validations: this
    /// resolver, ALPN `acme-tls/1` alone, TLS 1.2 and 1.3 (RFC 8737 requires at least 1.2).
    pub fn server_config(&self) -> Result<rustls::ServerConfig, Error> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Certificate(format!("tls-alpn-01 TLS configuration: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(self.clone()));
        config.alpn_protocols = vec![ACME_TLS_ALPN_PROTOCOL.to_vec()];
        Ok(config)
    }
}

impl ResolvesServerCert for TlsAlpn01Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if !offers_only_acme_tls(hello.alpn()) {
            return self.fallback.as_ref()?.resolve(hello);
        }
        let Some(sni) = hello.server_name() else {
            tracing::debug!("tls-alpn-01 handshake without SNI refused");
            return None;
        };
        let sni = normalize_sni(sni);
        let found = self
            .certs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&sni)
            .map(|e| Arc::clone(&e.key));
        tracing::debug!(sni = %sni, found = found.is_some(), "tls-alpn-01 handshake");
        found
    }
}
