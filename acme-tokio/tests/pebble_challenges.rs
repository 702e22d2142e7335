//! Every challenge type validated for real by Pebble (issue 5): dns-01 (a name, a wildcard
//! with its base domain), tls-alpn-01 (a name, an IP address), http-01 for an IP address, an
//! internationalized name, a 5-name order mixing types, a rejected challenge, and reuse of
//! valid authorizations (`pebble_authz_reuse`, phase `e2e-authz-reuse`). Every test checks
//! that each presented challenge was cleaned up. Run by `cargo xtask ci`.

#[path = "../../tests-support/e2e.rs"]
mod e2e;

use acme_tokio::crypto::{Algorithm, KeyPair};
use acme_tokio::dns01::{PropagationCheck, WaitForPropagation, query_txt};
use acme_tokio::http_client::{BoxFuture, DefaultClient, HttpClient};
use acme_tokio::http01::Http01Responder;
use acme_tokio::proto::flow::{ChallengeSelector, ChallengeToSolve, NewAccount};
use acme_tokio::proto::msgs::identifier::Identifier;
use acme_tokio::proto::msgs::problem::ProblemType;
use acme_tokio::proto::msgs::resources::ChallengeType;
use acme_tokio::{
    ChalltestsrvDns01Solver, Client, Error, Http01Solver, MultiSolver, Solver, SolverError,
    TlsAlpn01Responder, TlsAlpn01Solver,
};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// challtestsrv's DNS server, which Pebble resolves through (see xtask/README.md).
const CHALLTESTSRV_DNS: &str = "127.0.0.1:8053";

/// Pebble validates http-01 and tls-alpn-01 on fixed ports, so every test of this binary
/// shares one responder per port, served from a runtime that outlives the tests' own.
struct Responders {
    http: Http01Responder,
    tls: TlsAlpn01Responder,
}

fn responders(env: &e2e::PebbleEnv) -> &'static Responders {
    static R: OnceLock<Responders> = OnceLock::new();
    let (http_port, tls_port) = (env.http_port, env.tls_port);
    R.get_or_init(|| {
        let responders = Responders {
            http: Http01Responder::new(),
            tls: TlsAlpn01Responder::new(),
        };
        let (http, tls) = (responders.http.clone(), responders.tls.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let servers = (
                    http.serve(SocketAddr::from(([127, 0, 0, 1], http_port))),
                    tls.serve(SocketAddr::from(([127, 0, 0, 1], tls_port))),
                );
                match servers {
                    (Ok(_http), Ok(_tls)) => {
                        tx.send(Ok(())).expect("send");
                        // Keep both servers alive for the whole test binary.
                        std::future::pending::<()>().await
                    }
                    (Err(e), _) | (_, Err(e)) => tx.send(Err(e.to_string())).expect("send"),
                }
            });
        });
        rx.recv()
            .expect("responder thread")
            .expect("http-01 and tls-alpn-01 responders bind");
        responders
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
    fn present<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        self.calls.presented.lock().unwrap().push(c.clone());
        self.inner.present(c)
    }
    fn cleanup<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        self.calls.cleaned.lock().unwrap().push(c.clone());
        self.inner.cleanup(c)
    }
    fn selector(&self) -> ChallengeSelector {
        self.inner.selector()
    }
}

async fn client(env: &e2e::PebbleEnv) -> Client {
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
        .await
        .expect("account");
    client
}

async fn pebble_root(env: &e2e::PebbleEnv) -> Vec<u8> {
    let http = DefaultClient::builder()
        .add_root_pem(&env.ca_cert_pem)
        .expect("root")
        .build()
        .expect("client");
    let resp = http
        .execute(env.root_request())
        .await
        .expect("GET /roots/0");
    assert_eq!(resp.status(), 200);
    resp.into_body()
}

fn dns_solver(env: &e2e::PebbleEnv) -> ChalltestsrvDns01Solver {
    ChalltestsrvDns01Solver::new(&env.challtestsrv).expect("challtestsrv solver")
}

/// The TXT values challtestsrv's DNS answers for `name`.
async fn txt(name: &str) -> Vec<String> {
    query_txt(
        CHALLTESTSRV_DNS.parse().unwrap(),
        &format!("{name}."),
        Duration::from_secs(5),
    )
    .await
    .expect("TXT query")
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn dns01_single_name_with_propagation_check() {
    let env = e2e::PebbleEnv::get();
    let name = e2e::unique_name("dns01-tokio");
    let check = PropagationCheck::new(CHALLTESTSRV_DNS.parse().unwrap())
        .deadline(Duration::from_secs(20))
        .interval(Duration::from_millis(200));
    let (solver, calls) = recording(WaitForPropagation::new(dns_solver(&env), check));
    let cert = client(&env)
        .await
        .issue(&[&name], &solver, None)
        .await
        .expect("issue");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env).await, &[&name]);
    assert_eq!(
        calls.presented(),
        vec![(name.clone(), ChallengeType::Dns01)]
    );
    calls.assert_all_cleaned();
    assert!(txt(&format!("_acme-challenge.{name}")).await.is_empty());
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn dns01_wildcard_and_apex() {
    let env = e2e::PebbleEnv::get();
    let apex = e2e::unique_name("wild-tokio");
    let wildcard = format!("*.{apex}");
    let (solver, calls) = recording(dns_solver(&env));
    let cert = client(&env)
        .await
        .issue(&[&wildcard, &apex], &solver, None)
        .await
        .expect("issue");
    e2e::assert_chain(
        &cert.chain_pem,
        &pebble_root(&env).await,
        &[&wildcard, &apex],
    );
    // Two authorizations, one TXT name holding both values while they were validated.
    assert_eq!(
        calls.presented(),
        vec![
            (wildcard.clone(), ChallengeType::Dns01),
            (apex.clone(), ChallengeType::Dns01)
        ]
    );
    calls.assert_all_cleaned();
    assert!(txt(&format!("_acme-challenge.{apex}")).await.is_empty());
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn tls_alpn01_for_a_name() {
    let env = e2e::PebbleEnv::get();
    let responder = responders(&env).tls.clone();
    let name = e2e::unique_name("alpn-tokio");
    let (solver, calls) = recording(TlsAlpn01Solver::new(responder.clone()));
    let cert = client(&env)
        .await
        .issue(&[&name], &solver, None)
        .await
        .expect("issue");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env).await, &[&name]);
    assert_eq!(
        calls.presented(),
        vec![(name.clone(), ChallengeType::TlsAlpn01)]
    );
    calls.assert_all_cleaned();
    assert!(!responder.resolver().contains(&name));
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn tls_alpn01_for_an_ip_address() {
    let env = e2e::PebbleEnv::get();
    let responder = responders(&env).tls.clone();
    let (solver, calls) = recording(TlsAlpn01Solver::new(responder.clone()));
    let cert = client(&env)
        .await
        .issue(&["127.0.0.1"], &solver, None)
        .await
        .expect("issue");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env).await, &["127.0.0.1"]);
    assert_eq!(
        calls.presented(),
        vec![("127.0.0.1".to_owned(), ChallengeType::TlsAlpn01)]
    );
    calls.assert_all_cleaned();
    assert!(!responder.resolver().contains("1.0.0.127.in-addr.arpa"));
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn http01_for_an_ip_address() {
    let env = e2e::PebbleEnv::get();
    let responder = responders(&env).http.clone();
    let (solver, calls) = recording(Http01Solver::new(responder.clone()));
    let cert = client(&env)
        .await
        .issue(&["127.0.0.1"], &solver, None)
        .await
        .expect("issue");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env).await, &["127.0.0.1"]);
    assert_eq!(
        calls.presented(),
        vec![("127.0.0.1".to_owned(), ChallengeType::Http01)]
    );
    calls.assert_all_cleaned();
    for c in calls.presented.lock().unwrap().iter() {
        assert_eq!(responder.lookup_path(&c.http01_path()), None);
    }
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn internationalized_name_given_in_unicode() {
    let env = e2e::PebbleEnv::get();
    let base = e2e::unique_name("idn-tokio");
    let unicode = format!("Bücher.{base}");
    let a_label = format!("xn--bcher-kva.{base}");
    let (solver, calls) = recording(dns_solver(&env));
    let cert = client(&env)
        .await
        .issue(&[&unicode], &solver, None)
        .await
        .expect("issue");
    // The order, the CSR and the certificate all carry the A-label form.
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env).await, &[&a_label]);
    assert_eq!(calls.presented(), vec![(a_label, ChallengeType::Dns01)]);
    calls.assert_all_cleaned();
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn five_names_mixing_every_challenge_type() {
    let env = e2e::PebbleEnv::get();
    let r = responders(&env);
    let apex = e2e::unique_name("mixed-tokio");
    let (wildcard, www, tls) = (
        format!("*.{apex}"),
        format!("www.{apex}"),
        format!("tls.{apex}"),
    );
    let id = |s: &str| acme_tokio::crypto::identifier(s).expect("identifier");
    let multi = MultiSolver::new()
        .with(Http01Solver::new(r.http.clone()))
        .with(dns_solver(&env))
        .with(TlsAlpn01Solver::new(r.tls.clone()))
        .prefer(id(&apex), vec![ChallengeType::Dns01])
        .prefer(id(&tls), vec![ChallengeType::TlsAlpn01]);
    let (solver, calls) = recording(multi);
    let names = [wildcard.as_str(), &apex, &www, &tls, "127.0.0.1"];
    let cert = client(&env)
        .await
        .issue(&names, &solver, None)
        .await
        .expect("issue");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env).await, &names);
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
    assert!(txt(&format!("_acme-challenge.{apex}")).await.is_empty());
}

/// Serves a wrong key authorization for every http-01 challenge.
struct WrongKeyAuthorization(Http01Responder);

impl Solver for WrongKeyAuthorization {
    fn challenge_types(&self) -> Vec<ChallengeType> {
        vec![ChallengeType::Http01]
    }
    fn present<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        self.0
            .insert(c.token(), format!("{}.not-the-thumbprint", c.token()));
        Box::pin(async { Ok(()) })
    }
    fn cleanup<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        self.0.remove(c.token());
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn rejected_challenge_names_the_identifier_and_problem_and_is_cleaned_up() {
    let env = e2e::PebbleEnv::get();
    let responder = responders(&env).http.clone();
    let name = e2e::unique_name("rejected-tokio");
    let (solver, calls) = recording(WrongKeyAuthorization(responder.clone()));
    let err = client(&env)
        .await
        .issue(&[&name], &solver, None)
        .await
        .expect_err("the CA must reject a wrong key authorization");
    match &err {
        Error::Acme(acme_tokio::proto::Error::Authorization {
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
#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn pebble_authz_reuse_second_order_presents_nothing() {
    let env = e2e::PebbleEnv::get();
    let client = client(&env).await;
    let name = e2e::unique_name("reuse-tokio");
    let (first, calls) = recording(dns_solver(&env));
    client.issue(&[&name], &first, None).await.expect("first");
    assert_eq!(
        calls.presented(),
        vec![(name.clone(), ChallengeType::Dns01)]
    );
    calls.assert_all_cleaned();
    let (second, calls) = recording(dns_solver(&env));
    let cert = client.issue(&[&name], &second, None).await.expect("second");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env).await, &[&name]);
    assert!(
        calls.presented().is_empty(),
        "a valid authorization is not presented again"
    );
}
