//! No private key, MAC key or JWS in logs (every tracing event and span field, at every
//! level), error text or `Debug` output, over a whole exchange with the fake CA. Alone in
//! its binary: a tracing subscriber set for one thread must not race other tests.
#![cfg(feature = "default-client")]

#[path = "../../tests-support/fake_ca.rs"]
mod fake_ca;

use acme_smol::crypto::{Algorithm, EabKey, KeyPair, MacAlgorithm};
use acme_smol::proto::flow::{NewAccount, Policy};
use acme_smol::proto::testing::{FakeConfig, Validation};
use acme_smol::{Client, DefaultClient, Http01Responder, Http01Solver};
use fake_ca::FakeCa;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The HTTP client's per-request limit in these tests.
const TIMEOUT: Duration = Duration::from_millis(500);

fn fast_policy() -> Policy {
    let mut p = Policy::default();
    p.transient_backoff = Duration::from_millis(50);
    p.poll_initial_interval = Duration::from_millis(20);
    p.retry_after_min = Duration::from_millis(20);
    p
}

fn http() -> DefaultClient {
    DefaultClient::builder()
        .allow_http(true)
        .timeout(TIMEOUT)
        .build()
        .unwrap()
}

fn client(directory: &str) -> Client {
    Client::builder(directory)
        .allow_http(true)
        .http_client(http())
        .policy(fast_policy())
        .build()
        .unwrap()
}

fn config() -> FakeConfig {
    FakeConfig {
        validation: Validation::AlwaysValid,
        ..FakeConfig::default()
    }
}

fn solver() -> Http01Solver {
    // The fake CA validates everything; nothing needs serving.
    Http01Solver::new(Http01Responder::new())
}

/// Collects every tracing event and span field, at every level.
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        span.record(&mut Fields(&mut self.0.lock().unwrap()));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut log = self.0.lock().unwrap();
        log.push('\n');
        event.record(&mut Fields(&mut log));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn no_key_mac_key_or_jws_in_logs_or_errors() {
    smol::block_on(no_key_mac_key_or_jws_in_logs_or_errors_on_smol())
}

async fn no_key_mac_key_or_jws_in_logs_or_errors_on_smol() {
    let mac_key = b"an EAB MAC key that must never be logged".to_vec();
    let ca = FakeCa::start(FakeConfig {
        eab_keys: Some(
            [("kid-1".to_owned(), mac_key.clone())]
                .into_iter()
                .collect(),
        ),
        ..config()
    });
    let log = Arc::new(Mutex::new(String::new()));
    let _guard = tracing::subscriber::set_default(Capture(log.clone()));

    let key = Arc::new(KeyPair::generate(Algorithm::Es256).unwrap());
    let key_pem = key.to_pkcs8_pem().to_string();
    let eab = Arc::new(EabKey::from_bytes("kid-1", &mac_key, MacAlgorithm::Hs256).unwrap());
    let c = client(&ca.directory());
    c.create_account(
        key.clone(),
        NewAccount::default()
            .agree_to_terms_of_service(true)
            .external_account_binding(eab.clone()),
    )
    .await
    .unwrap();
    let cert = c.issue(&["example.org"], &solver(), None).await.unwrap();
    let cert_key_pem = cert.key.to_pkcs8_pem().to_string();
    // A failure too: its error text is checked below.
    ca.with(|s| {
        s.inject(
            "/new-order",
            acme_smol::proto::testing::Injection::problem(400, "malformed", "nope"),
        )
    });
    let err = c
        .issue(&["example.org"], &solver(), None)
        .await
        .unwrap_err();

    let log = log.lock().unwrap().clone();
    assert!(log.contains("/new-order"), "the capture works: {log}");
    let mut secrets: Vec<String> = Vec::new();
    for pem in [&key_pem, &cert_key_pem] {
        secrets.extend(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .map(str::to_owned),
        );
    }
    secrets.push(String::from_utf8_lossy(&mac_key).into_owned());
    secrets.push(base64url(&mac_key));
    for body in ca.bodies().iter().filter(|b| !b.is_empty()) {
        let body = String::from_utf8_lossy(body);
        for part in ["protected", "payload", "signature"] {
            let s = jws_member(&body, part);
            if s.len() >= 16 {
                secrets.push(s.to_owned());
            }
        }
    }
    assert!(secrets.len() > 20, "{}", secrets.len());
    let texts = [
        ("logs", log),
        ("error", format!("{err} {err:?}")),
        ("client", format!("{c:?}")),
        ("certificate", format!("{cert:?}")),
        ("keys", format!("{key:?} {eab:?}")),
    ];
    for (what, text) in &texts {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{what} contains {s:?}");
        }
    }
}

/// A string member of a compact flattened JWS (`{"protected":"…",…}`).
fn jws_member<'a>(jws: &'a str, name: &str) -> &'a str {
    let key = format!("\"{name}\":\"");
    let start = jws.find(&key).map(|i| i + key.len()).unwrap_or(jws.len());
    let rest = &jws[start..];
    &rest[..rest.find('"').unwrap_or(rest.len())]
}

fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}
