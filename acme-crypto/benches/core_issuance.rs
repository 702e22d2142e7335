//! The core alone, in memory: one full issuance (new account, one name, http-01, finalize,
//! certificate download) driven through `acme-proto`'s flows, with no network, clock or
//! sleep (virtual time).
//!
//! Two servers answer it:
//! * `fake_server`: the crate's scripted fake CA (`acme_proto::testing::FakeServer`), which
//!   parses every JWS and keeps state; its own cost is part of these figures;
//! * `replay`: the same answers pre-scripted (recorded once from the fake CA, then handed
//!   back in order), so that only the client is measured. `replay_only` is the cost of
//!   handing those answers back (cloning them), subtracted by `cargo xtask bench`.
//!
//! Three signers:
//! * `es256`: the real thing (`acme_crypto::KeyPair`, ECDSA P-256);
//! * `noop`: the same public key, signatures of 64 zero bytes: what is left is the protocol
//!   overhead (JSON, base64, JWS assembly, response parsing, state machines);
//! * `test_signer`: `acme_proto::testing::TestSigner` (SHA-256), which the fake CA verifies.
//!
//! `es256_signature` is the cost of one signature; `signatures per issuance` (printed first)
//! says how many an issuance makes. Run with `cargo bench -p acme-crypto --bench core_issuance`.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "a benchmark reports on the terminal and fails loudly"
)]

use acme_crypto::{Algorithm, CsrOptions, KeyPair, csr_der, identifier};
use acme_proto::flow::{
    AccountFlow, ChallengeSelector, Event, Flow, IssueFlow, NewAccount, NewOrder, Output, Session,
};
use acme_proto::http::{Request, Response, TransportError};
use acme_proto::signer::{Jwk, SignError, Signer};
use acme_proto::testing::{FakeConfig, FakeServer, TestSigner, epoch};
use divan::{Bencher, black_box};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

/// The name certified.
const NAME: &str = "bench.example.org";

/// Something that answers the flows' requests.
trait Ca {
    fn handle(&mut self, now: SystemTime, request: &Request) -> Result<Response, TransportError>;
    fn publish(&mut self, event: &Event);
}

impl Ca for FakeServer {
    fn handle(&mut self, now: SystemTime, request: &Request) -> Result<Response, TransportError> {
        FakeServer::handle(self, now, request)
    }
    fn publish(&mut self, event: &Event) {
        if let Event::Challenges(list) = event {
            for c in list {
                FakeServer::publish(self, c);
            }
        }
    }
}

/// The fake CA's answers, recorded once, handed back in order (each request's URL is
/// checked against the recording).
struct Replay<'a> {
    script: &'a [(String, Response)],
    next: usize,
}

impl Ca for Replay<'_> {
    fn handle(&mut self, _: SystemTime, request: &Request) -> Result<Response, TransportError> {
        let (url, response) = &self.script[self.next];
        assert_eq!(url, &request.url, "the flow left the recorded script");
        self.next += 1;
        Ok(response.clone())
    }
    fn publish(&mut self, _: &Event) {}
}

/// Records every answer of the fake CA.
struct Recorder {
    server: FakeServer,
    script: Vec<(String, Response)>,
}

impl Ca for Recorder {
    fn handle(&mut self, now: SystemTime, request: &Request) -> Result<Response, TransportError> {
        let response = self.server.handle(now, request)?;
        self.script.push((request.url.clone(), response.clone()));
        Ok(response)
    }
    fn publish(&mut self, event: &Event) {
        Ca::publish(&mut self.server, event);
    }
}

/// The real public key, no signature work.
struct NoopSigner {
    jwk: Jwk,
}

impl Signer for NoopSigner {
    fn alg(&self) -> &str {
        "ES256"
    }
    fn jwk(&self) -> Jwk {
        self.jwk.clone()
    }
    fn sign(&self, _: &[u8]) -> Result<Vec<u8>, SignError> {
        Ok(vec![0; 64])
    }
}

/// Counts signatures.
struct Counting<S> {
    inner: S,
    count: AtomicUsize,
}

impl<S: Signer> Signer for Counting<S> {
    fn alg(&self) -> &str {
        self.inner.alg()
    }
    fn jwk(&self) -> Jwk {
        self.inner.jwk()
    }
    fn sign(&self, input: &[u8]) -> Result<Vec<u8>, SignError> {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.inner.sign(input)
    }
}

/// Drive one flow to completion in virtual time.
fn drive<F: Flow>(
    flow: &mut F,
    session: &mut Session,
    ca: &mut impl Ca,
    now: &mut SystemTime,
    mut on_event: impl FnMut(&mut F, &mut dyn FnMut(&Event), Event),
) -> F::Output {
    loop {
        match flow.poll(session, *now) {
            Output::Send(request) => match ca.handle(*now, &request) {
                Ok(response) => flow.handle_response(session, *now, request.id, response),
                Err(error) => flow.handle_transport_error(session, *now, request.id, error),
            },
            Output::Wait(until) => *now = until,
            Output::Event(event) => on_event(flow, &mut |e| ca.publish(e), event),
            Output::Idle => panic!("idle with every request answered"),
            Output::Done(result) => return result.expect("the issuance succeeds"),
        }
    }
}

/// One full issuance: new account, one name, http-01, finalize, certificate.
fn issue(key: Arc<dyn Signer>, order: &NewOrder, csr: &[u8], ca: &mut impl Ca) -> String {
    let mut session = Session::new(FakeServer::directory_url());
    let mut now = epoch();
    let mut account =
        AccountFlow::create(key, NewAccount::default().agree_to_terms_of_service(true));
    drive(&mut account, &mut session, ca, &mut now, |_, _, _| {});
    let mut flow = IssueFlow::new(order.clone(), ChallengeSelector::default(), csr.to_vec());
    let bundle = drive(
        &mut flow,
        &mut session,
        ca,
        &mut now,
        |flow, publish, event| {
            if matches!(event, Event::Challenges(_)) {
                publish(&event);
                flow.challenges_ready();
            }
        },
    );
    bundle.pem
}

/// Keys, CSR and the recorded scripts, made once.
struct Fixture {
    es256: Arc<KeyPair>,
    noop: Arc<NoopSigner>,
    test: Arc<TestSigner>,
    /// The order (identifiers are parsed by `acme_crypto::identifier`, outside the core).
    order: NewOrder,
    csr: Vec<u8>,
    es256_script: Vec<(String, Response)>,
    noop_script: Vec<(String, Response)>,
    /// A typical JWS signing input (the largest one of an issuance: finalize, with the CSR).
    signing_input: Vec<u8>,
}

fn record(key: Arc<dyn Signer>, order: &NewOrder, csr: &[u8]) -> Vec<(String, Response)> {
    let mut recorder = Recorder {
        server: FakeServer::new(FakeConfig::default()),
        script: Vec::new(),
    };
    issue(key, order, csr, &mut recorder);
    recorder.script
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let es256 = Arc::new(KeyPair::generate(Algorithm::Es256).expect("a P-256 key"));
        let cert_key = KeyPair::generate(Algorithm::Es256).expect("a P-256 key");
        let identifiers = vec![identifier(NAME).expect("a valid name")];
        let csr = csr_der(&identifiers, &cert_key, &CsrOptions::default()).expect("a CSR");
        let order = NewOrder::new(identifiers);
        let noop = Arc::new(NoopSigner { jwk: es256.jwk() });
        let es256_script = record(es256.clone(), &order, &csr);
        let noop_script = record(noop.clone(), &order, &csr);
        // base64url(protected) "." base64url({"csr":"base64url(DER)"}), about this long.
        let payload = r#"{"csr":""}"#.len() + csr.len().div_ceil(3) * 4;
        let signing_input = vec![b'a'; 200 + payload.div_ceil(3) * 4];
        Fixture {
            es256,
            noop,
            test: Arc::new(TestSigner::new("bench account")),
            order,
            csr,
            es256_script,
            noop_script,
            signing_input,
        }
    })
}

#[divan::bench]
fn es256_signature(bencher: Bencher) {
    let f = fixture();
    bencher.bench(|| f.es256.sign(black_box(&f.signing_input)).expect("signed"));
}

#[divan::bench]
fn issuance_es256_replay(bencher: Bencher) {
    let f = fixture();
    bencher.bench(|| {
        let mut ca = Replay {
            script: &f.es256_script,
            next: 0,
        };
        issue(f.es256.clone(), &f.order, &f.csr, &mut ca)
    });
}

#[divan::bench]
fn issuance_noop_replay(bencher: Bencher) {
    let f = fixture();
    bencher.bench(|| {
        let mut ca = Replay {
            script: &f.noop_script,
            next: 0,
        };
        issue(f.noop.clone(), &f.order, &f.csr, &mut ca)
    });
}

/// What [`Replay`] itself costs per issuance: handing back (cloning) every answer.
#[divan::bench]
fn replay_only(bencher: Bencher) {
    let f = fixture();
    bencher.bench(|| {
        for (url, response) in black_box(&f.noop_script) {
            black_box((url.len(), response.clone()));
        }
    });
}

#[divan::bench]
fn issuance_es256_fake_server(bencher: Bencher) {
    let f = fixture();
    bencher
        .with_inputs(|| FakeServer::new(FakeConfig::default()))
        .bench_local_values(|mut server| issue(f.es256.clone(), &f.order, &f.csr, &mut server));
}

#[divan::bench]
fn issuance_test_signer_fake_server(bencher: Bencher) {
    let f = fixture();
    bencher
        .with_inputs(|| FakeServer::new(FakeConfig::default()))
        .bench_local_values(|mut server| issue(f.test.clone(), &f.order, &f.csr, &mut server));
}

fn main() {
    let f = fixture();
    let counting = Arc::new(Counting {
        inner: NoopSigner { jwk: f.es256.jwk() },
        count: AtomicUsize::new(0),
    });
    let script = record(counting.clone(), &f.order, &f.csr);
    println!(
        "per issuance: {} requests, {} signatures (signing input of a finalize: {} bytes)",
        script.len(),
        counting.count.load(Ordering::Relaxed),
        f.signing_input.len()
    );
    divan::main();
}
