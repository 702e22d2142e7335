//! End-to-end against a Pebble that rejects half of all good nonces
//! (`PEBBLE_WFE_NONCEREJECT=50`, phase `e2e-nonce-reject` of `cargo xtask ci`): 20 issuances
//! out of 20 succeed. Passes against a default Pebble (5 %) too.

#[path = "../../tests-support/e2e.rs"]
mod e2e;

use acme_smol::http_client::{BoxFuture, DefaultClient, HttpClient};
use acme_smol::http01::Http01Responder;
use acme_smol::proto::flow::NewAccount;
use acme_smol::proto::http::{Method, Request, Response, TransportError};
use acme_smol::{Client, Http01Solver};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// The default HTTP client, counting signed requests and `badNonce` refusals.
struct Counting {
    inner: DefaultClient,
    signed: AtomicUsize,
    bad_nonces: AtomicUsize,
}

impl HttpClient for Counting {
    fn execute(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        Box::pin(async move {
            let signed = request.method == Method::POST;
            let result = self.inner.execute(request).await;
            if signed && let Ok(response) = &result {
                self.signed.fetch_add(1, Ordering::Relaxed);
                let body = response.body();
                if response.status() == 400 && body.windows(8).any(|w| w == b"badNonce") {
                    self.bad_nonces.fetch_add(1, Ordering::Relaxed);
                }
            }
            result
        })
    }
}

#[test]
#[ignore = "needs Pebble (cargo xtask ci)"]
fn pebble_nonce_reject_twenty_of_twenty_issuances_succeed() {
    smol::block_on(twenty_of_twenty());
}

async fn twenty_of_twenty() {
    let env = e2e::PebbleEnv::get();
    let solver = Arc::new(Http01Solver::new(responder(env.http_port)));
    let http = Arc::new(Counting {
        inner: DefaultClient::builder()
            .add_root_pem(&env.ca_cert_pem)
            .expect("root")
            .build()
            .expect("http client"),
        signed: AtomicUsize::new(0),
        bad_nonces: AtomicUsize::new(0),
    });
    let client = Client::builder(&env.directory)
        .http_client(http.clone())
        .build()
        .expect("client");
    let key =
        acme_smol::crypto::KeyPair::generate(acme_smol::crypto::Algorithm::Es256).expect("key");
    client
        .create_account(
            Arc::new(key),
            NewAccount::new(vec!["mailto:e2e@example.com".into()]).agree_to_terms_of_service(true),
        )
        .await
        .expect("account");

    let mut tasks = Vec::new();
    for i in 0..20 {
        let (client, solver) = (client.clone(), solver.clone());
        tasks.push(smol::spawn(async move {
            let name = e2e::unique_name(&format!("nonce-reject-smol{i}"));
            let cert = client
                .issue(&[&name], &*solver, None)
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            Ok::<_, String>((name, cert.chain_pem))
        }));
    }
    let root = {
        let resp = http
            .inner
            .execute(env.root_request())
            .await
            .expect("GET /roots/0");
        assert_eq!(resp.status(), 200);
        resp.into_body()
    };
    let mut issued = Vec::new();
    for t in tasks {
        issued.push(t.await);
    }
    let failures: Vec<&String> = issued.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failures.is_empty(), "failed issuances: {failures:?}");
    for (name, pem) in issued.iter().flatten() {
        e2e::assert_chain(pem, &root, &[name]);
    }
    assert_eq!(issued.len(), 20);
    // At least 7 signed requests per issuance: with half (or even 5 %) of the nonces
    // rejected, some must have been.
    let (signed, rejected) = (
        http.signed.load(Ordering::Relaxed),
        http.bad_nonces.load(Ordering::Relaxed),
    );
    assert!(signed >= 20 * 7, "{signed} signed requests");
    assert!(
        rejected > 0,
        "{rejected} of {signed} signed requests refused as badNonce"
    );
}
