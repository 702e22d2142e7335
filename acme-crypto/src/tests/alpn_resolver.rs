//! The tls-alpn-01 resolver in real (in-memory) rustls handshakes.

use crate::{ID_PE_ACME_IDENTIFIER, TlsAlpn01Resolver};
use acme_proto::msgs::identifier::Identifier;
use der::Decode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, ServerConnection, SignatureScheme,
};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use x509_cert::Certificate;

/// Accepts any certificate: the test inspects it itself (webpki refuses the critical
/// acmeIdentifier extension, as a CA's validator does not).
#[derive(Debug)]
struct AcceptAnything;

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Handshake in memory; the server certificate the client saw, or the error.
fn handshake(
    server: Arc<rustls::ServerConfig>,
    sni: &str,
    alpn: &[&[u8]],
) -> Result<(Vec<u8>, Option<Vec<u8>>), rustls::Error> {
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything))
            .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let mut client = ClientConnection::new(
        Arc::new(config),
        ServerName::try_from(sni.to_owned()).unwrap(),
    )
    .unwrap();
    let mut server = ServerConnection::new(server).unwrap();
    for _ in 0..10 {
        let mut buf = Vec::new();
        client.write_tls(&mut buf).unwrap();
        if !buf.is_empty() {
            server.read_tls(&mut &buf[..]).unwrap();
            server.process_new_packets()?;
        }
        let mut buf = Vec::new();
        server.write_tls(&mut buf).unwrap();
        if !buf.is_empty() {
            client.read_tls(&mut &buf[..]).unwrap();
            client.process_new_packets()?;
        }
        if !client.is_handshaking() && !server.is_handshaking() {
            let cert = client.peer_certificates().unwrap()[0].to_vec();
            return Ok((cert, server.alpn_protocol().map(<[u8]>::to_vec)));
        }
    }
    panic!("handshake did not finish");
}

fn acme_digest(cert_der: &[u8]) -> Vec<u8> {
    let cert = Certificate::from_der(cert_der).unwrap();
    let ext = cert
        .tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .find(|e| e.extn_id == ID_PE_ACME_IDENTIFIER)
        .unwrap()
        .clone();
    ext.extn_value.as_bytes()[2..].to_vec()
}

#[test]
fn answers_acme_tls_handshakes_for_published_names_only() {
    let resolver = TlsAlpn01Resolver::new();
    let id = Identifier::dns("www.example.com").unwrap();
    resolver.insert(&id, "tok", "tok.thumb").unwrap();
    let config = Arc::new(resolver.server_config().unwrap());

    let (cert, alpn) = handshake(config.clone(), "WWW.example.com", &[b"acme-tls/1"]).unwrap();
    assert_eq!(alpn.as_deref(), Some(&b"acme-tls/1"[..]));
    assert_eq!(acme_digest(&cert), Sha256::digest(b"tok.thumb").to_vec());

    // Another name, no ALPN, or other protocols offered too: no certificate.
    assert!(handshake(config.clone(), "other.example.com", &[b"acme-tls/1"]).is_err());
    assert!(handshake(config.clone(), "www.example.com", &[]).is_err());
    assert!(handshake(config.clone(), "www.example.com", &[b"h2", b"acme-tls/1"]).is_err());

    // Withdrawing with another token keeps it; with its own removes it.
    assert!(!resolver.remove(&id, "other-token"));
    assert!(resolver.contains("www.example.com"));
    assert!(resolver.remove(&id, "tok"));
    assert!(resolver.is_empty());
    assert!(handshake(config, "www.example.com", &[b"acme-tls/1"]).is_err());
}

#[test]
fn ip_identifiers_use_the_reverse_dns_name() {
    let resolver = TlsAlpn01Resolver::new();
    let id = Identifier::ip("127.0.0.1".parse().unwrap());
    resolver.insert(&id, "tok", "tok.thumb").unwrap();
    let config = Arc::new(resolver.server_config().unwrap());
    let (cert, _) = handshake(config, "1.0.0.127.in-addr.arpa", &[b"acme-tls/1"]).unwrap();
    assert_eq!(acme_digest(&cert), Sha256::digest(b"tok.thumb").to_vec());
    assert!(
        resolver
            .insert(&Identifier::dns("*.example.com").unwrap(), "t", "k")
            .is_err()
    );
}

/// A user's own certificate, from the same kind of resolver (any `ResolvesServerCert`).
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// The user's own certificate (here: any certificate and key will do).
fn site_key() -> Arc<CertifiedKey> {
    let site = crate::tls_alpn01_certificate(&Identifier::dns("site.example.com").unwrap(), "site")
        .unwrap();
    let provider = rustls::crypto::ring::default_provider();
    let key = provider
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            site.private_key_pkcs8_der.to_vec(),
        )))
        .unwrap();
    Arc::new(CertifiedKey::new(
        vec![CertificateDer::from(site.certificate_der)],
        key,
    ))
}

#[test]
fn composes_with_the_users_resolver() {
    let site = site_key();
    let challenges = TlsAlpn01Resolver::new();
    challenges
        .insert(
            &Identifier::dns("www.example.com").unwrap(),
            "tok",
            "tok.thumb",
        )
        .unwrap();
    let composed = challenges.with_fallback(Arc::new(Fixed(site.clone())));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_cert_resolver(Arc::new(composed));
    config.alpn_protocols = vec![b"h2".to_vec(), b"acme-tls/1".to_vec()];
    let config = Arc::new(config);

    // Validation handshakes get the challenge certificate, negotiating acme-tls/1.
    let (cert, alpn) = handshake(config.clone(), "www.example.com", &[b"acme-tls/1"]).unwrap();
    assert_eq!(alpn.as_deref(), Some(&b"acme-tls/1"[..]));
    assert_eq!(acme_digest(&cert), Sha256::digest(b"tok.thumb").to_vec());
    // Everything else goes to the user's resolver.
    let (cert, alpn) = handshake(config, "www.example.com", &[b"h2"]).unwrap();
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(cert, site.cert[0].to_vec());
}
