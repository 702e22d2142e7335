//! dns-01 by RFC 2136 dynamic update with TSIG, end to end but offline: the core's scripted
//! fake CA issues, and a fake authoritative DNS server on loopback UDP
//! (`tests-support/dns_server.rs`) verifies the signatures, applies the updates and answers
//! the propagation check's queries.

#[path = "../../tests-support/dns_server.rs"]
mod dns_server;

use acme_smol::crypto::{Algorithm, KeyPair};
use acme_smol::dns01::{
    PropagationCheck, Rfc2136Solver, TsigAlgorithm, TsigKey, WaitForPropagation,
};
use acme_smol::http_client::BoxFuture;
use acme_smol::proto::flow::NewAccount;
use acme_smol::proto::http::{Request, Response, TransportError};
use acme_smol::proto::testing::{FakeConfig, FakeServer, Validation};
use acme_smol::{Client, Error, HttpClient};
use dns_server::{FakeDns, KEY_NAME, KEY_SECRET_B64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct FakeCa(Mutex<FakeServer>);

impl HttpClient for FakeCa {
    fn execute(&self, r: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        let resp = self
            .0
            .lock()
            .unwrap()
            .handle(std::time::SystemTime::now(), &r);
        Box::pin(async move { resp })
    }
}

async fn client() -> Client {
    let ca = FakeServer::new(FakeConfig {
        validation: Validation::AlwaysValid,
        processing_polls: 0,
        ..FakeConfig::default()
    });
    let client = Client::builder(FakeServer::directory_url())
        .http_client(FakeCa(Mutex::new(ca)))
        .build()
        .unwrap();
    let key = Arc::new(KeyPair::generate(Algorithm::Es256).unwrap());
    client
        .create_account(key, NewAccount::default().agree_to_terms_of_service(true))
        .await
        .unwrap();
    client
}

fn solver(dns: &FakeDns, secret_b64: &str) -> WaitForPropagation<Rfc2136Solver> {
    let key = TsigKey::from_base64(KEY_NAME, TsigAlgorithm::HmacSha256, secret_b64).unwrap();
    let updates = Rfc2136Solver::new(dns.addr, "example.com")
        .tsig(key)
        .ttl(30)
        .timeout(Duration::from_secs(2));
    let check = PropagationCheck::new(dns.addr)
        .deadline(Duration::from_secs(5))
        .interval(Duration::from_millis(50));
    WaitForPropagation::new(updates, check)
}

#[test]
fn signed_updates_are_applied_seen_and_removed_for_a_wildcard_and_its_apex() {
    smol::block_on(async {
        let dns = FakeDns::start("example.com.");
        let solver = solver(&dns, KEY_SECRET_B64);
        let cert = client()
            .await
            .issue(&["*.example.com", "example.com"], &solver, None)
            .await
            .expect("issue");
        assert!(cert.chain_pem.contains("BEGIN CERTIFICATE"));
        let journal = dns.journal.lock().unwrap();
        assert_eq!(journal.refused, 0);
        assert_eq!(journal.updates.len(), 4, "{:?}", journal.updates);
        // Both values lived under one name at once, then each was removed.
        assert!(
            journal.updates[..2]
                .iter()
                .all(|u| u.starts_with("+_acme-challenge.example.com. ")),
            "{:?}",
            journal.updates
        );
        assert!(journal.updates[2..].iter().all(|u| u.starts_with('-')));
        assert!(journal.txt.values().all(Vec::is_empty), "{:?}", journal.txt);
    })
}

#[test]
fn a_wrong_tsig_key_fails_with_the_servers_answer() {
    smol::block_on(async {
        let dns = FakeDns::start("example.com.");
        let solver = solver(&dns, "YW5vdGhlciBzZWNyZXQ=");
        let err = client()
            .await
            .issue(&["www.example.com"], &solver, None)
            .await
            .expect_err("the server refuses a forged update");
        match &err {
            Error::Solver {
                identifier,
                message,
            } => {
                assert_eq!(identifier.value, "www.example.com");
                assert!(
                    message.to_ascii_lowercase().contains("not authorized"),
                    "{message}"
                );
            }
            other => panic!("expected a solver error, got {other:?}"),
        }
        let journal = dns.journal.lock().unwrap();
        // The update, and the cleanup's removal: both refused, nothing applied.
        assert_eq!(journal.refused, 2);
        assert!(journal.updates.is_empty());
    })
}

#[test]
fn no_answer_is_a_bounded_error() {
    smol::block_on(async {
        // A bound socket that never answers.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let updates = Rfc2136Solver::new(silent.local_addr().unwrap(), "example.com")
            .timeout(Duration::from_millis(100));
        let started = std::time::Instant::now();
        let err = client()
            .await
            .issue(&["www.example.com"], &updates, None)
            .await
            .expect_err("no answer");
        assert!(err.to_string().contains("no answer"), "{err}");
        // 3 attempts for the update, 3 for the cleanup.
        assert!(started.elapsed() < Duration::from_secs(5));
    })
}
