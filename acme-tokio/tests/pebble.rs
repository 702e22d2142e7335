//! End-to-end tests against Pebble with real http-01 validation (run by `cargo xtask ci`).

#[path = "../../tests-support/e2e.rs"]
mod e2e;

use acme_tokio::http_client::{DefaultClient, HttpClient};
use acme_tokio::http01::Http01Responder;
use acme_tokio::proto::flow::NewAccount;
use acme_tokio::{Client, Http01Solver};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

/// Pebble validates http-01 on one fixed port, so every test of this binary shares one
/// responder, served from a runtime that outlives the individual tests' runtimes.
fn responder(port: u16) -> Http01Responder {
    static R: OnceLock<Http01Responder> = OnceLock::new();
    R.get_or_init(|| {
        let responder = Http01Responder::new();
        let r = responder.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                match r.serve(SocketAddr::from(([127, 0, 0, 1], port))) {
                    Ok(_server) => {
                        tx.send(Ok(())).expect("send");
                        // Keep `_server` alive for the whole test binary.
                        std::future::pending::<()>().await
                    }
                    Err(e) => tx.send(Err(e.to_string())).expect("send"),
                }
            });
        });
        rx.recv()
            .expect("responder thread")
            .expect("http-01 responder binds");
        responder
    })
    .clone()
}

async fn client(env: &e2e::PebbleEnv) -> Client {
    let client = Client::builder(&env.directory)
        .add_root_pem(&env.ca_cert_pem)
        .build()
        .expect("client");
    let key =
        acme_tokio::crypto::KeyPair::generate(acme_tokio::crypto::Algorithm::Es256).expect("key");
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

#[tokio::test]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn issues_a_certificate_with_http01() {
    let env = e2e::PebbleEnv::get();
    let solver = Http01Solver::new(responder(env.http_port));
    let client = client(&env).await;
    let (a, b) = (e2e::unique_name("tokio"), e2e::unique_name("www.tokio"));
    let cert = client.issue(&[&a, &b], &solver, None).await.expect("issue");
    e2e::assert_chain(&cert.chain_pem, &pebble_root(&env).await, &[&a, &b]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Pebble (cargo xtask ci)"]
async fn twenty_concurrent_orders_on_one_account() {
    let env = e2e::PebbleEnv::get();
    let solver = Arc::new(Http01Solver::new(responder(env.http_port)));
    let client = client(&env).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (client, solver) = (client.clone(), solver.clone());
        tasks.push(tokio::spawn(async move {
            let name = e2e::unique_name(&format!("concurrent{i}"));
            let cert = client
                .issue(&[&name], &*solver, None)
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            Ok::<_, String>((name, cert.chain_pem))
        }));
    }
    let root = pebble_root(&env).await;
    let mut ok = 0;
    for t in tasks {
        let (name, pem) = t.await.expect("task").expect("issuance");
        e2e::assert_chain(&pem, &root, &[&name]);
        ok += 1;
    }
    assert_eq!(ok, 20);
}
