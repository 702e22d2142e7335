//! Every challenge type validated for real by Pebble (issue 5): dns-01 (a name, a wildcard
//! with its base domain), tls-alpn-01 (a name, an IP address), http-01 for an IP address, an
//! internationalized name, a 5-name order mixing types, a rejected challenge, and reuse of
//! valid authorizations (`pebble_authz_reuse`, phase `e2e-authz-reuse`). Every test checks
//! that each presented challenge was cleaned up. Run by `cargo xtask ci`.

#[path = "../../tests-support/e2e.rs"]
mod e2e;

use acme_blocking::crypto::{Algorithm, KeyPair};
use acme_blocking::dns01::{PropagationCheck, WaitForPropagation, query_txt};
use acme_blocking::proto::flow::{ChallengeSelector, ChallengeToSolve, NewAccount};
use acme_blocking::proto::msgs::identifier::Identifier;
use acme_blocking::proto::msgs::problem::ProblemType;
use acme_blocking::proto::msgs::resources::ChallengeType;
use acme_blocking::{
    ChalltestsrvDns01Solver, Client, DefaultClient, Error, Http01Responder, Http01Solver,
    HttpClient, MultiSolver, Solver, SolverError, TlsAlpn01Responder, TlsAlpn01Solver,
};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// challtestsrv's DNS server, which Pebble resolves through (see xtask/README.md).
const CHALLTESTSRV_DNS: &str = "127.0.0.1:8053";

/// Pebble validates http-01 and tls-alpn-01 on fixed ports, so every test of this binary
/// shares one responder per port, alive for the whole binary.
struct Responders {
    http: Http01Responder,
    tls: TlsAlpn01Responder,
    _servers: (
        acme_blocking::ServerHandle,
        acme_blocking::tls_alpn01::ServerHandle,
    ),
}

fn responders(env: &e2e::PebbleEnv) -> &'static Responders {
    static R: OnceLock<Responders> = OnceLock::new();
    R.get_or_init(|| {
        let http = Http01Responder::new();
        let tls = TlsAlpn01Responder::new();
        let servers = (
            http.serve(SocketAddr::from(([127, 0, 0, 1], env.http_port)))
                .expect("http-01 responder binds"),
            tls.serve(SocketAddr::from(([127, 0, 0, 1], env.tls_port)))
                .expect("tls-alpn-01 responder binds"),
        );
        Responders {
            http,
            tls,
            _servers: servers,
        }
    })
}

/// What a solver was asked to do.
#[derive(Default)]
struct Calls {
    presented: Mutex<Vec<ChallengeToSolve>>,
    cleaned: Mutex<Vec<ChallengeToSolve>>,
}

impl Calls {
    fn presented(&self) -> Vec<(String, ChallengeType)> {
        let mut v: Vec<(String, ChallengeType)> = self
            .presented
            .lock()
            .unwrap()
            .iter()
            .map(|c| (c.identifier.value.clone(), c.kind().clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Every presented challenge was cleaned up, once.
    fn assert_all_cleaned(&self) {
        let key = |c: &ChallengeToSolve| (c.token().to_owned(), c.kind().clone());
        let mut presented: Vec<_> = self.presented.lock().unwrap().iter().map(key).collect();
        let mut cleaned: Vec<_> = self.cleaned.lock().unwrap().iter().map(key).collect();
        presented.sort_by(|a, b| a.0.cmp(&b.0));
        cleaned.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            presented, cleaned,
            "every presented challenge is cleaned up"
        );
    }
}

/// Records the calls to the solver it wraps.
struct Recording<S> {
    inner: S,
    calls: Arc<Calls>,
}

fn recording<S: Solver>(inner: S) -> (Recording<S>, Arc<Calls>) {
    let calls = Arc::new(Calls::default());
    (
        Recording {
            inner,
            calls: calls.clone(),
        },
        calls,
    )
}

impl<S: Solver> Solver for Recording<S> {
    fn challenge_types(&self) -> Vec<ChallengeType> {
        self.inner.challenge_types()
    }
    fn present(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
        self.calls.presented.lock().unwrap().push(c.clone());
        self.inner.present(c)
    }
    fn cleanup(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
        self.calls.cleaned.lock().unwrap().push(c.clone());
        self.inner.cleanup(c)
    }
    fn selector(&self) -> ChallengeSelector {
        self.inner.selector()
    }
}

fn client(env: &e2e::PebbleEnv) -> Client {
    let client = Client::builder(&env.directory)
        .add_root_pem(&env.ca_cert_pem)
        .build()
        .expect("client");
    let key = KeyPair::generate(Algorithm::Es256).expect("key");
    client
        .create_account(
            Arc::new(key),
            NewAccount::new(vec!["mailto:e2e@example.com".into()]).agree_to_terms_of_service(true),
        )
        .expect("account");
    client
}

fn pebble_root(env: &e2e::PebbleEnv) -> Vec<u8> {
    let http = DefaultClient::builder()
        .add_root_pem(&env.ca_cert_pem)
        .expect("root")
        .build();
    let resp = http.execute(env.root_request()).expect("GET /roots/0");
    assert_eq!(resp.status(), 200);
    resp.into_body()
}

fn dns_solver(env: &e2e::PebbleEnv) -> ChalltestsrvDns01Solver {
    ChalltestsrvDns01Solver::new(&env.challtestsrv)
}

/// The TXT values challtestsrv's DNS answers for `name`.
fn txt(name: &str) -> Vec<String> {
    query_txt(
        CHALLTESTSRV_DNS.parse().unwrap(),
        &format!("{name}."),
        Duration::from_secs(5),
    )
    .expect("TXT query")
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn dns01_single_name_with_propagation_check() {
    let env = e2e::PebbleEnv::get();
    let name = e2e::unique_name("dns01-blocking");
    let check = PropagationCheck::new(CHALLTESTSRV_DNS.parse().unwrap())
        .deadline(Duration::from_secs(20))
        .interval(Duration::from_millis(200));
    let (solver, calls) = recording(WaitForPropagation::new(dns_solver(&env), check));
    let cert = client(&env).issue(&[&name], &solver, None).expect("issue");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env), &[&name]);
    assert_eq!(
        calls.presented(),
        vec![(name.clone(), ChallengeType::Dns01)]
    );
    calls.assert_all_cleaned();
    assert!(txt(&format!("_acme-challenge.{name}")).is_empty());
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn dns01_wildcard_and_apex() {
    let env = e2e::PebbleEnv::get();
    let apex = e2e::unique_name("wild-blocking");
    let wildcard = format!("*.{apex}");
    let (solver, calls) = recording(dns_solver(&env));
    let cert = client(&env)
        .issue(&[&wildcard, &apex], &solver, None)
        .expect("issue");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env), &[&wildcard, &apex]);
    // Two authorizations, one TXT name holding both values while they were validated.
    assert_eq!(
        calls.presented(),
        vec![
            (wildcard.clone(), ChallengeType::Dns01),
            (apex.clone(), ChallengeType::Dns01)
        ]
    );
    calls.assert_all_cleaned();
    assert!(txt(&format!("_acme-challenge.{apex}")).is_empty());
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn tls_alpn01_for_a_name() {
    let env = e2e::PebbleEnv::get();
    let responder = responders(&env).tls.clone();
    let name = e2e::unique_name("alpn-blocking");
    let (solver, calls) = recording(TlsAlpn01Solver::new(responder.clone()));
    let cert = client(&env).issue(&[&name], &solver, None).expect("issue");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env), &[&name]);
    assert_eq!(
        calls.presented(),
        vec![(name.clone(), ChallengeType::TlsAlpn01)]
    );
    calls.assert_all_cleaned();
    assert!(!responder.resolver().contains(&name));
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn tls_alpn01_for_an_ip_address() {
    let env = e2e::PebbleEnv::get();
    let responder = responders(&env).tls.clone();
    let (solver, calls) = recording(TlsAlpn01Solver::new(responder.clone()));
    let cert = client(&env)
        .issue(&["127.0.0.1"], &solver, None)
        .expect("issue");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env), &["127.0.0.1"]);
    assert_eq!(
        calls.presented(),
        vec![("127.0.0.1".to_owned(), ChallengeType::TlsAlpn01)]
    );
    calls.assert_all_cleaned();
    assert!(!responder.resolver().contains("1.0.0.127.in-addr.arpa"));
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn http01_for_an_ip_address() {
    let env = e2e::PebbleEnv::get();
    let responder = responders(&env).http.clone();
    let (solver, calls) = recording(Http01Solver::new(responder.clone()));
    let cert = client(&env)
        .issue(&["127.0.0.1"], &solver, None)
        .expect("issue");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env), &["127.0.0.1"]);
    assert_eq!(
        calls.presented(),
        vec![("127.0.0.1".to_owned(), ChallengeType::Http01)]
    );
    calls.assert_all_cleaned();
    for c in calls.presented.lock().unwrap().iter() {
        assert_eq!(responder.lookup_path(&c.http01_path()), None);
    }
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn internationalized_name_given_in_unicode() {
    let env = e2e::PebbleEnv::get();
    let base = e2e::unique_name("idn-blocking");
    let unicode = format!("Bücher.{base}");
    let a_label = format!("xn--bcher-kva.{base}");
    let (solver, calls) = recording(dns_solver(&env));
    let cert = client(&env)
        .issue(&[&unicode], &solver, None)
        .expect("issue");
    // The order, the CSR and the certificate all carry the A-label form.
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env), &[&a_label]);
    assert_eq!(calls.presented(), vec![(a_label, ChallengeType::Dns01)]);
    calls.assert_all_cleaned();
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn five_names_mixing_every_challenge_type() {
    let env = e2e::PebbleEnv::get();
    let r = responders(&env);
    let apex = e2e::unique_name("mixed-blocking");
    let (wildcard, www, tls) = (
        format!("*.{apex}"),
        format!("www.{apex}"),
        format!("tls.{apex}"),
    );
    let id = |s: &str| acme_blocking::crypto::identifier(s).expect("identifier");
    let multi = MultiSolver::new()
        .with(Http01Solver::new(r.http.clone()))
        .with(dns_solver(&env))
        .with(TlsAlpn01Solver::new(r.tls.clone()))
        .prefer(id(&apex), vec![ChallengeType::Dns01])
        .prefer(id(&tls), vec![ChallengeType::TlsAlpn01]);
    let (solver, calls) = recording(multi);
    let names = [wildcard.as_str(), &apex, &www, &tls, "127.0.0.1"];
    let cert = client(&env).issue(&names, &solver, None).expect("issue");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env), &names);
    let mut expected = vec![
        ("127.0.0.1".to_owned(), ChallengeType::Http01),
        (wildcard.clone(), ChallengeType::Dns01),
        (apex.clone(), ChallengeType::Dns01),
        (tls.clone(), ChallengeType::TlsAlpn01),
        (www.clone(), ChallengeType::Http01),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(calls.presented(), expected);
    calls.assert_all_cleaned();
    assert!(!r.tls.resolver().contains(&tls));
    assert!(txt(&format!("_acme-challenge.{apex}")).is_empty());
}

/// Serves a wrong key authorization for every http-01 challenge.
struct WrongKeyAuthorization(Http01Responder);

impl Solver for WrongKeyAuthorization {
    fn challenge_types(&self) -> Vec<ChallengeType> {
        vec![ChallengeType::Http01]
    }
    fn present(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
        self.0
            .insert(c.token(), format!("{}.not-the-thumbprint", c.token()));
        Ok(())
    }
    fn cleanup(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
        self.0.remove(c.token());
        Ok(())
    }
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn rejected_challenge_names_the_identifier_and_problem_and_is_cleaned_up() {
    let env = e2e::PebbleEnv::get();
    let responder = responders(&env).http.clone();
    let name = e2e::unique_name("rejected-blocking");
    let (solver, calls) = recording(WrongKeyAuthorization(responder.clone()));
    let err = client(&env)
        .issue(&[&name], &solver, None)
        .expect_err("the CA must reject a wrong key authorization");
    match &err {
        Error::Acme(acme_blocking::proto::Error::Authorization {
            identifier,
            challenge,
            problem,
            ..
        }) => {
            assert_eq!(identifier, &Identifier::dns(&name).unwrap());
            assert_eq!(challenge, &Some(ChallengeType::Http01));
            let problem = problem.as_ref().expect("the CA's problem");
            // Pebble reports a key authorization mismatch as `unauthorized`.
            assert_eq!(problem.kind, ProblemType::Unauthorized, "{problem:?}");
        }
        other => panic!("expected an authorization error, got {other:?}"),
    }
    assert!(err.to_string().contains(&name), "{err}");
    assert_eq!(
        calls.presented(),
        vec![(name.clone(), ChallengeType::Http01)]
    );
    calls.assert_all_cleaned();
    for c in calls.presented.lock().unwrap().iter() {
        assert_eq!(responder.lookup_path(&c.http01_path()), None);
    }
}

/// Phase `e2e-authz-reuse`: Pebble with `PEBBLE_AUTHZREUSE=100`.
#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn pebble_authz_reuse_second_order_presents_nothing() {
    let env = e2e::PebbleEnv::get();
    let client = client(&env);
    let name = e2e::unique_name("reuse-blocking");
    let (first, calls) = recording(dns_solver(&env));
    client.issue(&[&name], &first, None).expect("first");
    assert_eq!(
        calls.presented(),
        vec![(name.clone(), ChallengeType::Dns01)]
    );
    calls.assert_all_cleaned();
    let (second, calls) = recording(dns_solver(&env));
    let cert = client.issue(&[&name], &second, None).expect("second");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env), &[&name]);
    assert!(
        calls.presented().is_empty(),
        "a valid authorization is not presented again"
    );
}
