//! The account and certificate lifecycle end to end against Pebble for the smol adapter
//! (issue 6): every account key type gets a certificate (under smol), and a persisted account
//! restores without a `newAccount` request. The full lifecycle is covered for tokio in
//! `acme-tokio/tests/pebble_lifecycle.rs` (same `acme-async` client underneath).
//!
//! Challenges are solved with dns-01 through pebble-challtestsrv: this binary binds no port.

#[path = "../../tests-support/e2e.rs"]
mod e2e;
#[path = "../../tests-support/lifecycle.rs"]
mod lifecycle;

use acme_smol::crypto::{AccountFile, Algorithm, KeyPair};
use acme_smol::http_client::BoxFuture;
use acme_smol::proto::flow::{ChallengeToSolve, NewAccount};
use acme_smol::proto::http::{Endpoint, Request, Response, TransportError};
use acme_smol::proto::msgs::resources::ChallengeType;
use acme_smol::{Client, ClientBuilder, DefaultClient, HttpClient, Solver, SolverError};
use lifecycle::{Exchange, Log};
use std::sync::Arc;

/// The default HTTP client, recording every exchange into a [`Log`].
struct Recording {
    inner: DefaultClient,
    log: Log,
}

impl HttpClient for Recording {
    fn execute(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        let (endpoint, method, url, body) = (
            request.endpoint,
            request.method.clone(),
            request.url.clone(),
            request.body.clone(),
        );
        Box::pin(async move {
            let result = self.inner.execute(request).await;
            self.log
                .push(Exchange::record(endpoint, method, url, body, &result));
            result
        })
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

    fn present<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        let r = lifecycle::set_txt(
            &self.challtestsrv,
            &c.dns01_record_name(),
            &c.dns01_txt_value(),
        );
        Box::pin(async move { r.map_err(SolverError::from) })
    }

    fn cleanup<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        let r = lifecycle::clear_txt(&self.challtestsrv, &c.dns01_record_name());
        Box::pin(async move { r.map_err(SolverError::from) })
    }
}

fn http(env: &e2e::PebbleEnv) -> DefaultClient {
    DefaultClient::builder()
        .add_root_pem(&env.ca_cert_pem)
        .expect("Pebble's listener CA")
        .build()
        .expect("HTTP client")
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

async fn root(env: &e2e::PebbleEnv) -> Vec<u8> {
    let resp = http(env)
        .execute(lifecycle::management_request(&env.management, "/roots/0"))
        .await
        .expect("GET /roots/0");
    assert_eq!(resp.status(), 200);
    resp.into_body()
}

fn agreed() -> NewAccount {
    NewAccount::new(vec!["mailto:smol-lifecycle@example.com".into()])
        .agree_to_terms_of_service(true)
}

async fn key_type_gets_a_certificate(env: &e2e::PebbleEnv, root: &[u8], alg: Algorithm) {
    let log = Log::default();
    let client = builder(env, &log).build().expect("client");
    let key = Arc::new(KeyPair::generate(alg).expect("key"));
    let account = client.create_account(key, agreed()).await.expect("account");
    assert!(account.created, "{alg}");
    let name = e2e::unique_name(&format!("smol-{}", alg.jws_name().to_ascii_lowercase()));
    let cert_key = KeyPair::generate(alg).expect("certificate key");
    let cert = client
        .issue(&[&name], &solver(env), Some(cert_key))
        .await
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
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn account_key_types_each_create_an_account_and_get_a_certificate() {
    smol::block_on(async {
        let env = e2e::PebbleEnv::get();
        let root = root(&env).await;
        let runs = [
            Algorithm::Es256,
            Algorithm::Es384,
            Algorithm::Es512,
            Algorithm::Rs256 { bits: 2048 },
        ]
        .map(|alg| key_type_gets_a_certificate(&env, &root, alg));
        let [a, b, c, d] = runs;
        futures_lite::future::zip(
            futures_lite::future::zip(a, b),
            futures_lite::future::zip(c, d),
        )
        .await;
    });
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn persisted_account_restores_without_a_new_account_request() {
    smol::block_on(async {
        let env = e2e::PebbleEnv::get();
        let client = builder(&env, &Log::default()).build().expect("client");
        let key = Arc::new(KeyPair::generate(Algorithm::Es256).expect("key"));
        let account = client
            .create_account(key.clone(), agreed())
            .await
            .expect("account");
        let dir = std::env::temp_dir().join(format!("acme-smol-lifecycle-{}", std::process::id()));
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
        let name = e2e::unique_name("smol-restored");
        let cert = restored
            .issue(&[&name], &solver(&env), None)
            .await
            .expect("issue");
        e2e::assert_chain(&cert.chain_pem, &root(&env).await, &[&name]);
        assert_eq!(log.count(Endpoint::NewAccount), 0);
        let order = log
            .all()
            .into_iter()
            .find(|e| e.endpoint == Endpoint::NewOrder)
            .expect("newOrder sent");
        assert_eq!(order.protected().expect("JWS")["kid"], account.url.as_str());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    });
}
