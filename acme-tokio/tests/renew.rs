//! `Client::renew` against the core's fake CA (in memory, behind the `HttpClient` seam):
//! the ARI check, the replacement order with `replaces`, "not yet" answers, and the
//! lifetime fallback when the CA offers no ARI.

use acme_tokio::crypto::{Algorithm, KeyPair};
use acme_tokio::http_client::BoxFuture;
use acme_tokio::proto::flow::NewAccount;
use acme_tokio::proto::http::{Request, Response, TransportError};
use acme_tokio::proto::msgs::time::format_rfc3339;
use acme_tokio::proto::renewal::{Basis, FallbackReason, Renew, RenewalPolicy, RenewalState};
use acme_tokio::proto::testing::{FakeConfig, FakeServer, Validation};
use acme_tokio::{Client, Http01Responder, Http01Solver, HttpClient, Renewal};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// RFC 9773 §4.1's example: the certificate below has this ID.
const ID: &str = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";
const AKI: [u8; 20] = [
    0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C,
    0xDE, 0x01, 0xC8, 0xD4,
];

#[derive(Clone)]
struct Fake(Arc<Mutex<FakeServer>>);

impl HttpClient for Fake {
    fn execute(&self, r: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        let resp = self.0.lock().unwrap().handle(SystemTime::now(), &r);
        Box::pin(async move { resp })
    }
}

/// A leaf for example.com (valid 1975–4096, rcgen's default) with RFC 9773's AKI and serial.
fn certificate() -> String {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(AKI.to_vec());
    let issuer = rcgen::Issuer::new(ca, rcgen::KeyPair::generate().unwrap());
    let mut leaf = rcgen::CertificateParams::new(vec!["example.com".to_owned()]).unwrap();
    leaf.serial_number = Some(rcgen::SerialNumber::from_slice(&[
        0x00, 0x87, 0x65, 0x43, 0x21,
    ]));
    leaf.use_authority_key_identifier_extension = true;
    let key = rcgen::KeyPair::generate().unwrap();
    leaf.signed_by(&key, &issuer).unwrap().pem()
}

fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

async fn setup(renewal_info: bool) -> (Client, Arc<Mutex<FakeServer>>) {
    let server = Arc::new(Mutex::new(FakeServer::new(FakeConfig {
        validation: Validation::AlwaysValid,
        processing_polls: 0,
        renewal_info,
        ..FakeConfig::default()
    })));
    let client = Client::builder(FakeServer::directory_url())
        .http_client(Fake(server.clone()))
        .build()
        .unwrap();
    let key = Arc::new(KeyPair::generate(Algorithm::Es256).unwrap());
    client
        .create_account(key, NewAccount::default().agree_to_terms_of_service(true))
        .await
        .unwrap();
    (client, server)
}

#[tokio::test]
async fn window_in_the_past_renews_with_replaces() {
    let (client, server) = setup(true).await;
    let now = SystemTime::now();
    server.lock().unwrap().set_renewal_window(
        ID,
        &format_rfc3339(now - days(2)),
        &format_rfc3339(now - days(1)),
    );
    let solver = Http01Solver::new(Http01Responder::new());
    let mut state = RenewalState::new();
    let pem = certificate();
    let outcome = client
        .renew(pem.as_bytes(), &["example.com"], &solver, &mut state)
        .await
        .unwrap();
    let Renewal::Renewed(issued) = outcome else {
        panic!("{outcome:?}");
    };
    assert!(issued.chain_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(issued.bundle.order.replaces.as_deref(), Some(ID));
    let server = server.lock().unwrap();
    assert_eq!(server.new_order_payloads().len(), 1);
    assert_eq!(
        server.new_order_payloads()[0]["replaces"].as_str(),
        Some(ID)
    );
    assert_eq!(server.count("/renewal-info/"), 1);
    // The state belonged to the replaced certificate: it starts afresh.
    assert_eq!(state, RenewalState::new());
}

#[tokio::test]
async fn window_in_the_future_is_not_yet_and_checks_wait() {
    let (client, server) = setup(true).await;
    let now = SystemTime::now();
    server.lock().unwrap().set_renewal_window(
        ID,
        &format_rfc3339(now + days(10)),
        &format_rfc3339(now + days(12)),
    );
    let solver = Http01Solver::new(Http01Responder::new());
    let mut state = RenewalState::new();
    let pem = certificate();
    let before = SystemTime::now();
    let outcome = client
        .renew(pem.as_bytes(), &["example.com"], &solver, &mut state)
        .await
        .unwrap();
    let after = SystemTime::now();
    let Renewal::NotYet { at, decision } = outcome else {
        panic!("{outcome:?}");
    };
    // The fake CA's Retry-After is 21600 s: check again then, well before the window.
    assert_eq!(decision.renew, Renew::CheckAgain(at));
    assert_eq!(decision.basis, Basis::Ari);
    assert_eq!(state.next_check(), Some(at));
    assert!(
        at >= before + Duration::from_secs(21_600) && at <= after + Duration::from_secs(21_600)
    );
    let renew_at = state.renew_at().unwrap();
    assert!(renew_at >= now + days(10) && renew_at < now + days(12));

    // Called again at once: no new check, same answer, same chosen time.
    let again = client
        .renew(pem.as_bytes(), &["example.com"], &solver, &mut state)
        .await
        .unwrap();
    assert!(matches!(again, Renewal::NotYet { at: a, .. } if a == at));
    assert_eq!(state.renew_at(), Some(renew_at));
    let server = server.lock().unwrap();
    assert_eq!(server.count("/renewal-info/"), 1);
    assert!(server.new_order_payloads().is_empty());
}

#[tokio::test]
async fn without_ari_the_lifetime_fallback_applies() {
    let (client, server) = setup(false).await;
    let pem = certificate();
    let mut state = RenewalState::new();
    let check = client
        .check_renewal(pem.as_bytes(), &mut state)
        .await
        .unwrap();
    let facts = acme_tokio::crypto::renewal_facts(pem.as_bytes()).unwrap();
    assert_eq!(facts.certificate_id.as_deref(), Some(ID));
    assert_eq!(
        check.decision.renew,
        Renew::At(facts.fallback_renewal_time(&RenewalPolicy::default()))
    );
    assert_eq!(
        check.decision.basis,
        Basis::Fallback(FallbackReason::NotOffered)
    );
    assert_eq!(check.replaces, None);
    assert_eq!(server.lock().unwrap().count("/renewal-info/"), 0);
}
