//! End-to-end tests against Pebble with real http-01 validation (run by `cargo xtask ci`).

#[path = "../../tests-support/e2e.rs"]
mod e2e;

use acme_smol::http_client::{DefaultClient, HttpClient};
use acme_smol::http01::Http01Responder;
use acme_smol::proto::flow::NewAccount;
use acme_smol::{Client, Http01Solver};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

/// Pebble validates http-01 on one fixed port: every test of this binary shares one
/// responder (its server runs on its own thread, alive for the whole binary).
fn responder(port: u16) -> Http01Responder {
    static R: OnceLock<(Http01Responder, acme_smol::http01::ServerHandle)> = OnceLock::new();
    R.get_or_init(|| {
        let responder = Http01Responder::new();
        let handle = responder
            .serve(SocketAddr::from(([127, 0, 0, 1], port)))
            .expect("http-01 responder binds");
        (responder, handle)
    })
    .0
    .clone()
}

async fn client(env: &e2e::PebbleEnv) -> Client {
    let client = Client::builder(&env.directory)
        .add_root_pem(&env.ca_cert_pem)
        .build()
        .expect("client");
    let key =
        acme_smol::crypto::KeyPair::generate(acme_smol::crypto::Algorithm::Es256).expect("key");
    let account = client
        .create_account(
            Arc::new(key),
            NewAccount::new(vec!["mailto:e2e@example.com".into()]).agree_to_terms_of_service(true),
        )
        .await
        .expect("account");
    assert!(account.created);
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

async fn issue_one(prefix: &str) {
    let env = e2e::PebbleEnv::get();
    let solver = Http01Solver::new(responder(env.http_port));
    let client = client(&env).await;
    let (a, b) = (
        e2e::unique_name(prefix),
        e2e::unique_name(&format!("www.{prefix}")),
    );
    let cert = client.issue(&[&a, &b], &solver, None).await.expect("issue");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env).await, &[&a, &b]);
}

/// One issuance's outcome: (name, chain PEM).
type Issued =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(String, String), String>> + Send>>;

/// Issue 20 certificates concurrently on one account, each task spawned with `spawn` (the
/// executor under test).
async fn twenty_concurrent(spawn: impl Fn(Issued) -> Issued) {
    let env = e2e::PebbleEnv::get();
    let solver = Arc::new(Http01Solver::new(responder(env.http_port)));
    let client = client(&env).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (client, solver) = (client.clone(), solver.clone());
        tasks.push(spawn(Box::pin(async move {
            let name = e2e::unique_name(&format!("concurrent{i}"));
            let cert = client
                .issue(&[&name], &*solver, None)
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            Ok::<_, String>((name, cert.chain_pem))
        })));
    }
    let root = pebble_root(&env).await;
    let mut ok = 0;
    for t in tasks {
        let (name, pem) = t.await.expect("issuance");
        e2e::assert_chain(&pem, &root, &[&name]);
        ok += 1;
    }
    assert_eq!(ok, 20);
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn issues_a_certificate_under_smol() {
    smol::block_on(issue_one("smol"));
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn issues_a_certificate_under_async_std() {
    async_std::task::block_on(issue_one("async-std"));
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn twenty_concurrent_orders_under_smol() {
    smol::block_on(twenty_concurrent(|f| Box::pin(smol::spawn(f))));
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn twenty_concurrent_orders_under_async_std() {
    async_std::task::block_on(twenty_concurrent(|f| Box::pin(async_std::task::spawn(f))));
}
