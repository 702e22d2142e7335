// End-to-end test support shared by every adapter's Pebble tests (included with `#[path]`):
// the environment `cargo xtask ci` sets, and the checks each adapter must pass on what it
// issued. Keeping the checks in one file is what makes the adapters' suites one
// conformance suite.
#![allow(dead_code, unreachable_pub)]

use acme_crypto::CertificateChain;
use acme_proto::http::{Endpoint, HeaderMap, Method, Request, RequestId};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::Arc;

/// What `cargo xtask ci` exports for the Pebble phase.
pub struct PebbleEnv {
    pub directory: String,
    pub ca_cert_pem: Vec<u8>,
    pub management: String,
    pub challtestsrv: String,
    pub http_port: u16,
    pub tls_port: u16,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the Pebble tests through `cargo xtask ci` (or `cargo xtask pebble start` and export `cargo xtask pebble env`)")
    })
}

impl PebbleEnv {
    pub fn get() -> PebbleEnv {
        let ca = var("ACME_TEST_CA_CERT");
        PebbleEnv {
            directory: var("ACME_TEST_DIRECTORY"),
            ca_cert_pem: std::fs::read(&ca)
                .unwrap_or_else(|e| panic!("ACME_TEST_CA_CERT {ca}: {e}")),
            management: var("ACME_TEST_PEBBLE_MGMT"),
            challtestsrv: var("ACME_TEST_CHALLTESTSRV"),
            http_port: var("ACME_TEST_HTTP_PORT")
                .parse()
                .expect("ACME_TEST_HTTP_PORT"),
            tls_port: var("ACME_TEST_TLS_PORT")
                .parse()
                .expect("ACME_TEST_TLS_PORT"),
        }
    }

    /// A GET request for Pebble's current root (management interface `/roots/0`), to be
    /// performed with the adapter's own HTTP client.
    pub fn root_request(&self) -> Request {
        Request {
            id: RequestId(0),
            endpoint: Endpoint::Directory,
            method: Method::GET,
            url: format!("{}/roots/0", self.management),
            headers: HeaderMap::new(),
            body: Vec::new(),
            follow_redirects: false,
        }
    }
}

/// A name unique to this process and call, so concurrent tests and reruns never share
/// authorizations unless they mean to.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    format!("{prefix}-{}-{t:x}-{n}.example.com", std::process::id())
}

/// Assert the chain's leaf names exactly `expected` (in any order) and that the chain
/// verifies up to `root_pem` for each name (for `*.base`, for a name under `base`).
pub fn assert_chain(chain_pem: &str, root_pem: &[u8], expected: &[&str]) {
    let chain = CertificateChain::from_pem(chain_pem.as_bytes()).expect("chain parses");
    let leaf = chain.leaf().expect("leaf parses");
    let mut got: Vec<String> = leaf
        .subject_alt_names
        .iter()
        .map(|i| i.value.clone())
        .collect();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "leaf SANs");
    let root = CertificateChain::from_pem(root_pem).expect("root parses");
    let mut store = rustls::RootCertStore::empty();
    store
        .add(CertificateDer::from(root.certificates()[0].clone()))
        .expect("root is a usable trust anchor");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
        .build()
        .expect("verifier");
    let certs: Vec<CertificateDer<'static>> = chain
        .certificates()
        .iter()
        .map(|d| CertificateDer::from(d.clone()))
        .collect();
    for name in expected {
        // A wildcard is checked with a name it covers.
        let checked = match name.strip_prefix("*.") {
            Some(base) => format!("wildcard-check.{base}"),
            None => name.to_string(),
        };
        let server_name = ServerName::try_from(checked).expect("server name");
        verifier
            .verify_server_cert(&certs[0], &certs[1..], &server_name, &[], UnixTime::now())
            .unwrap_or_else(|e| panic!("chain does not verify to Pebble's root for {name}: {e}"));
    }
}
