//! The account and certificate lifecycle end to end against Pebble for the blocking adapter
//! (issue 6): every account key type gets a certificate, a persisted account restores without
//! a `newAccount` request, and (phase `e2e-alt-roots`) the preferred chain is picked by root
//! name. The full lifecycle is covered for tokio in `acme-tokio/tests/pebble_lifecycle.rs`.
//!
//! Challenges are solved with dns-01 through pebble-challtestsrv: this binary binds no port.

#[path = "../../tests-support/e2e.rs"]
mod e2e;
#[path = "../../tests-support/lifecycle.rs"]
mod lifecycle;

use acme_blocking::crypto::{AccountFile, Algorithm, CertificateChain, KeyPair};
use acme_blocking::proto::flow::{ChallengeToSolve, NewAccount};
use acme_blocking::proto::http::{Endpoint, Request, Response, TransportError};
use acme_blocking::proto::msgs::resources::ChallengeType;
use acme_blocking::{Client, ClientBuilder, DefaultClient, HttpClient, Solver, SolverError};
use lifecycle::{Exchange, Log};
use std::sync::Arc;

/// The default HTTP client, recording every exchange into a [`Log`].
struct Recording {
    inner: DefaultClient,
    log: Log,
}

impl HttpClient for Recording {
    fn execute(&self, request: Request) -> Result<Response, TransportError> {
        let (endpoint, method, url, body) = (
            request.endpoint,
            request.method.clone(),
            request.url.clone(),
            request.body.clone(),
        );
        let result = self.inner.execute(request);
        self.log
            .push(Exchange::record(endpoint, method, url, body, &result));
        result
    }
}

/// dns-01 through pebble-challtestsrv's management API.
struct Dns01 {
    challtestsrv: String,
}

impl Solver for Dns01 {
    fn challenge_types(&self) -> Vec<ChallengeType> {
        vec![ChallengeType::Dns01]
    }

    fn present(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
        lifecycle::set_txt(
            &self.challtestsrv,
            &c.dns01_record_name(),
            &c.dns01_txt_value(),
        )
        .map_err(SolverError::from)
    }

    fn cleanup(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
        lifecycle::clear_txt(&self.challtestsrv, &c.dns01_record_name()).map_err(SolverError::from)
    }
}

fn http(env: &e2e::PebbleEnv) -> DefaultClient {
    DefaultClient::builder()
        .add_root_pem(&env.ca_cert_pem)
        .expect("Pebble's listener CA")
        .build()
}

fn builder(env: &e2e::PebbleEnv, log: &Log) -> ClientBuilder {
    Client::builder(&env.directory).http_client(Recording {
        inner: http(env),
        log: log.clone(),
    })
}

fn solver(env: &e2e::PebbleEnv) -> Dns01 {
    Dns01 {
        challtestsrv: env.challtestsrv.clone(),
    }
}

fn management_pem(env: &e2e::PebbleEnv, path: &str) -> Vec<u8> {
    let resp = http(env)
        .execute(lifecycle::management_request(&env.management, path))
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.into_body()
}

fn agreed() -> NewAccount {
    NewAccount::new(vec!["mailto:blocking-lifecycle@example.com".into()])
        .agree_to_terms_of_service(true)
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn account_key_types_each_create_an_account_and_get_a_certificate() {
    let env = e2e::PebbleEnv::get();
    let root = management_pem(&env, "/roots/0");
    let algs = [
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Es512,
        Algorithm::Rs256 { bits: 2048 },
    ];
    std::thread::scope(|s| {
        for alg in algs {
            let (env, root) = (&env, &root);
            s.spawn(move || {
                let log = Log::default();
                let client = builder(env, &log).build().expect("client");
                let key = Arc::new(KeyPair::generate(alg).expect("key"));
                let account = client.create_account(key, agreed()).expect("account");
                assert!(account.created, "{alg}");
                let name =
                    e2e::unique_name(&format!("blocking-{}", alg.jws_name().to_ascii_lowercase()));
                let cert_key = KeyPair::generate(alg).expect("certificate key");
                let cert = client
                    .issue(&[&name], &solver(env), Some(cert_key))
                    .unwrap_or_else(|e| panic!("{alg}: {e}"));
                e2e::assert_chain(&cert.chain_pem, root, &[&name]);
                let posts: Vec<Exchange> = log
                    .all()
                    .into_iter()
                    .filter(|e| e.method == "POST")
                    .collect();
                assert!(!posts.is_empty());
                for e in posts {
                    assert_eq!(
                        e.protected().expect("JWS")["alg"],
                        alg.jws_name(),
                        "{:?}",
                        e.endpoint
                    );
                }
            });
        }
    });
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn persisted_account_restores_without_a_new_account_request() {
    let env = e2e::PebbleEnv::get();
    let client = builder(&env, &Log::default()).build().expect("client");
    let key = Arc::new(KeyPair::generate(Algorithm::Es256).expect("key"));
    let account = client
        .create_account(key.clone(), agreed())
        .expect("account");
    let dir = std::env::temp_dir().join(format!("acme-blocking-lifecycle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("account.json");
    client
        .account_file(key)
        .expect("account file")
        .save(&path)
        .expect("save");

    let log = Log::default();
    let restored = builder(&env, &log).build().expect("client");
    restored
        .restore_account(&AccountFile::load(&path).expect("load"))
        .expect("restore");
    let name = e2e::unique_name("blocking-restored");
    let cert = restored
        .issue(&[&name], &solver(&env), None)
        .expect("issue");
    e2e::assert_chain(&cert.chain_pem, &management_pem(&env, "/roots/0"), &[&name]);
    assert_eq!(log.count(Endpoint::NewAccount), 0);
    let order = log
        .all()
        .into_iter()
        .find(|e| e.endpoint == Endpoint::NewOrder)
        .expect("newOrder sent");
    assert_eq!(order.protected().expect("JWS")["kid"], account.url.as_str());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

mod pebble_alt_roots {
    use super::*;

    #[test]
    #[ignore = "needs Pebble (cargo xtask ci)"]
    fn pebble_alt_roots_the_preferred_chain_is_picked_by_root_name() {
        let env = e2e::PebbleEnv::get();
        let root_pem = management_pem(&env, "/roots/2");
        let root_cn = CertificateChain::from_pem(&root_pem)
            .expect("root")
            .leaf()
            .expect("parses")
            .subject_common_name
            .expect("common name");
        let client = builder(&env, &Log::default())
            .preferred_chain(root_cn.clone())
            .build()
            .expect("client");
        let key = Arc::new(KeyPair::generate(Algorithm::Es256).expect("key"));
        client.create_account(key, agreed()).expect("account");
        let name = e2e::unique_name("blocking-altroots");
        let cert = client.issue(&[&name], &solver(&env), None).expect("issue");
        assert_eq!(cert.bundle.alternates.len(), 2);
        assert_ne!(cert.chain_pem, cert.bundle.pem, "an alternate was picked");
        let chain = CertificateChain::from_pem(cert.chain_pem.as_bytes()).expect("chain");
        assert_eq!(chain.top_issuer_common_name(), Some(root_cn));
        e2e::assert_chain(&cert.chain_pem, &root_pem, &[&name]);
    }
}
