//! End-to-end tests against Pebble with real http-01 validation (run by `cargo xtask ci`).

#[path = "../../tests-support/e2e.rs"]
mod e2e;

use acme_blocking::proto::flow::NewAccount;
use acme_blocking::{Client, DefaultClient, Http01Responder, Http01Solver, HttpClient};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

/// Pebble validates http-01 on one fixed port: every test of this binary shares one
/// responder, alive for the whole binary.
fn responder(port: u16) -> Http01Responder {
    static R: OnceLock<(Http01Responder, acme_blocking::http01::ServerHandle)> = OnceLock::new();
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

fn client(env: &e2e::PebbleEnv) -> Client {
    let client = Client::builder(&env.directory)
        .add_root_pem(&env.ca_cert_pem)
        .build()
        .expect("client");
    let key = acme_blocking::crypto::KeyPair::generate(acme_blocking::crypto::Algorithm::Es256)
        .expect("key");
    let account = client
        .create_account(
            Arc::new(key),
            NewAccount::new(vec!["mailto:e2e@example.com".into()]).agree_to_terms_of_service(true),
        )
        .expect("account");
    assert!(account.created);
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

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn issues_a_certificate_with_http01() {
    let env = e2e::PebbleEnv::get();
    let solver = Http01Solver::new(responder(env.http_port));
    let client = client(&env);
    let (a, b) = (
        e2e::unique_name("blocking"),
        e2e::unique_name("www.blocking"),
    );
    let cert = client.issue(&[&a, &b], &solver, None).expect("issue");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env), &[&a, &b]);
}
