//! Client-level transport faults (under smol): the real `Client` and `DefaultClient` against small
//! misbehaving servers on 127.0.0.1 (the core's fake CA behind a plain-HTTP listener, and
//! servers that refuse, cut, stall or fail TLS). Every failure comes back as a typed error
//! within a bounded time; recoverable ones are retried, re-signed with a fresh nonce.
#![cfg(feature = "default-client")]

#[path = "../../tests-support/fake_ca.rs"]
mod fake_ca;

use acme_smol::crypto::{Algorithm, KeyPair};
use acme_smol::proto::flow::{NewAccount, Policy};
use acme_smol::proto::http::{MAX_BODY_SIZE, TransportErrorKind};
use acme_smol::proto::testing::{FakeConfig, Validation};
use acme_smol::{Client, DefaultClient, Error, Http01Responder, Http01Solver};
use fake_ca::{
    FakeCa, Fault, HeaderCase, closed_port, plain_http_peer, silent_server, untrusted_tls_server,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The HTTP client's per-request limit in these tests.
const TIMEOUT: Duration = Duration::from_millis(500);
/// Generous bound on any test's operation (the real waits are well under it).
const BOUND: Duration = Duration::from_secs(10);

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

async fn with_account(ca: &FakeCa) -> Client {
    let c = client(&ca.directory());
    let key = Arc::new(KeyPair::generate(Algorithm::Es256).unwrap());
    c.create_account(key, NewAccount::default().agree_to_terms_of_service(true))
        .await
        .unwrap();
    c
}

fn solver() -> Http01Solver {
    // The fake CA validates everything; nothing needs serving.
    Http01Solver::new(Http01Responder::new())
}

/// The URL and kind of a transport error.
fn transport(err: &Error) -> (String, TransportErrorKind) {
    match err {
        Error::Acme(acme_smol::proto::Error::Transport { url, error }) => (url.clone(), error.kind),
        e => panic!("expected a transport error, got {e:?}"),
    }
}

fn count(seen: &[String], prefix: &str) -> usize {
    seen.iter().filter(|s| s.starts_with(prefix)).count()
}

#[test]
fn plain_http_only_when_explicitly_allowed() {
    smol::block_on(plain_http_only_when_explicitly_allowed_on_smol())
}

async fn plain_http_only_when_explicitly_allowed_on_smol() {
    let ca = FakeCa::start(config());
    // Refused up front, whatever the case of the scheme.
    for directory in [ca.directory(), ca.directory().replacen("http", "HTTP", 1)] {
        match Client::builder(&directory).build() {
            Err(Error::Config(m)) => assert_eq!(
                m,
                format!(
                    "refusing plain-HTTP directory {directory}: use https, or allow_http(true) \
                     for a local test CA"
                )
            ),
            other => panic!("{directory}: expected a configuration error, got {other:?}"),
        }
    }
    // Allowed by the client but not by its HTTP client: refused before connecting.
    let c = Client::builder(ca.directory())
        .allow_http(true)
        .http_client(DefaultClient::builder().build().unwrap())
        .policy(fast_policy())
        .build()
        .unwrap();
    let err = c.directory().await.unwrap_err();
    assert_eq!(
        transport(&err),
        (ca.directory(), TransportErrorKind::InvalidUrl)
    );
    assert_eq!(ca.connections(), 0);
}

#[test]
fn connection_refused_is_retried_then_typed() {
    smol::block_on(connection_refused_is_retried_then_typed_on_smol())
}

async fn connection_refused_is_retried_then_typed_on_smol() {
    let directory = format!("http://{}/dir", closed_port());
    let started = Instant::now();
    let err = client(&directory).directory().await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(transport(&err), (directory, TransportErrorKind::Connect));
    // Three retries after 50, 100 and 200 ms.
    assert!(elapsed >= Duration::from_millis(350), "{elapsed:?}");
    assert!(elapsed < BOUND, "{elapsed:?}");
}

#[test]
fn body_cut_mid_way_is_retried_re_signed() {
    smol::block_on(body_cut_mid_way_is_retried_re_signed_on_smol())
}

async fn body_cut_mid_way_is_retried_re_signed_on_smol() {
    let ca = FakeCa::start(config());
    let c = with_account(&ca).await;
    ca.fault("/new-order", Fault::CutMidBody);
    let started = Instant::now();
    let cert = c.issue(&["example.org"], &solver(), None).await.unwrap();
    assert!(cert.chain_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(started.elapsed() < BOUND);
    let orders = ca.requests("/new-order");
    assert_eq!(orders.len(), 2);
    assert_ne!(orders[0].nonce, orders[1].nonce);
    assert!(
        orders
            .iter()
            .all(|o| o.jws_url.as_deref() == Some(o.url.as_str()))
    );
}

#[test]
fn connection_closed_without_an_answer_is_retried() {
    smol::block_on(connection_closed_without_an_answer_is_retried_on_smol())
}

async fn connection_closed_without_an_answer_is_retried_on_smol() {
    let ca = FakeCa::start(config());
    let c = with_account(&ca).await;
    ca.fault("/finalize/", Fault::Close);
    c.issue(&["example.org"], &solver(), None).await.unwrap();
    assert_eq!(count(&ca.seen(), "POST /finalize/"), 2);
    // The closed request never reached the CA: the retry is its first finalize.
    let finalize = ca.requests("/finalize/");
    assert_eq!(finalize.len(), 1);
    assert_eq!(finalize[0].status, 200);
}

#[test]
fn broken_connections_every_time_end_with_a_typed_error() {
    smol::block_on(broken_connections_every_time_end_with_a_typed_error_on_smol())
}

async fn broken_connections_every_time_end_with_a_typed_error_on_smol() {
    let ca = FakeCa::start(config());
    let c = with_account(&ca).await;
    for _ in 0..4 {
        ca.fault("/finalize/", Fault::CutMidBody);
    }
    let started = Instant::now();
    let err = c
        .issue(&["example.org"], &solver(), None)
        .await
        .unwrap_err();
    assert!(started.elapsed() < BOUND);
    let finalize = ca.requests("/finalize/");
    assert_eq!(
        transport(&err),
        (finalize[0].url.clone(), TransportErrorKind::Io)
    );
    assert_eq!(finalize.len(), 4);
    let mut nonces: Vec<_> = finalize.iter().map(|l| l.nonce.clone().unwrap()).collect();
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 4, "each attempt re-signed with a fresh nonce");
}

#[test]
fn tls_handshake_failure_is_not_retried() {
    smol::block_on(tls_handshake_failure_is_not_retried_on_smol())
}

async fn tls_handshake_failure_is_not_retried_on_smol() {
    let (addr, connections) = untrusted_tls_server();
    let directory = format!("https://{addr}/dir");
    let c = Client::builder(&directory)
        .http_client(DefaultClient::builder().timeout(TIMEOUT).build().unwrap())
        .policy(fast_policy())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = c.directory().await.unwrap_err();
    assert_eq!(transport(&err), (directory, TransportErrorKind::Tls));
    assert!(started.elapsed() < BOUND);
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);

    // `https://` pointed at a plain HTTP port.
    let (addr, connections) = plain_http_peer();
    let directory = format!("https://{addr}/dir");
    let err = Client::builder(&directory)
        .policy(fast_policy())
        .build()
        .unwrap()
        .directory()
        .await
        .unwrap_err();
    assert_eq!(transport(&err), (directory, TransportErrorKind::Tls));
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn server_that_never_answers_times_out_within_bounds() {
    smol::block_on(server_that_never_answers_times_out_within_bounds_on_smol())
}

async fn server_that_never_answers_times_out_within_bounds_on_smol() {
    let (addr, connections) = silent_server();
    let directory = format!("http://{addr}/dir");
    let started = Instant::now();
    let err = client(&directory).directory().await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(transport(&err), (directory, TransportErrorKind::Timeout));
    // Four attempts of 500 ms, with 50 + 100 + 200 ms between them.
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 4);
    assert!(
        elapsed >= 4 * TIMEOUT + Duration::from_millis(350),
        "{elapsed:?}"
    );
    assert!(elapsed < BOUND, "{elapsed:?}");
}

#[test]
fn body_over_the_cap_is_not_retried() {
    smol::block_on(body_over_the_cap_is_not_retried_on_smol())
}

async fn body_over_the_cap_is_not_retried_on_smol() {
    let ca = FakeCa::start(config());
    ca.fault("/dir", Fault::HugeBody(MAX_BODY_SIZE + 1));
    let started = Instant::now();
    let err = client(&ca.directory()).directory().await.unwrap_err();
    assert_eq!(
        transport(&err),
        (ca.directory(), TransportErrorKind::BodyTooLarge)
    );
    assert!(started.elapsed() < BOUND);
    assert_eq!(ca.seen(), ["GET /dir"]);
}

#[test]
fn slow_finalize_is_retried_and_issuance_completes() {
    smol::block_on(slow_finalize_is_retried_and_issuance_completes_on_smol())
}

async fn slow_finalize_is_retried_and_issuance_completes_on_smol() {
    let ca = FakeCa::start(FakeConfig {
        processing_polls: 1,
        ..config()
    });
    let c = with_account(&ca).await;
    // The CA accepts the CSR but answers after the client has given up.
    ca.fault("/finalize/", Fault::Delay(3 * TIMEOUT));
    let started = Instant::now();
    let cert = c.issue(&["example.org"], &solver(), None).await.unwrap();
    assert!(started.elapsed() < BOUND);
    assert!(cert.chain_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let finalize = ca.requests("/finalize/");
    // The retry, re-signed, is refused as not ready; the re-read order shows it processing.
    assert_eq!(
        finalize.iter().map(|l| l.status).collect::<Vec<_>>(),
        [200, 403]
    );
    assert_ne!(finalize[0].nonce, finalize[1].nonce);
    assert_eq!(ca.requests("/cert/").len(), 1);
}

#[test]
fn slow_challenge_trigger_is_retried_and_validation_goes_on() {
    smol::block_on(slow_challenge_trigger_is_retried_and_validation_goes_on_on_smol())
}

async fn slow_challenge_trigger_is_retried_and_validation_goes_on_on_smol() {
    let ca = FakeCa::start(FakeConfig {
        refuse_retrigger: true,
        ..config()
    });
    let c = with_account(&ca).await;
    // The CA takes the trigger but answers too late; it refuses the retry, as Pebble does.
    ca.fault("/chall/", Fault::Delay(3 * TIMEOUT));
    let started = Instant::now();
    c.issue(&["example.org"], &solver(), None).await.unwrap();
    assert!(started.elapsed() < BOUND);
    let chall = ca.requests("/chall/");
    // Trigger (answered late), retry (refused), then a read of the authorization (its
    // challenge is processing): the challenge URL gets nothing but triggers.
    assert_eq!(
        chall.iter().map(|l| l.status).collect::<Vec<_>>(),
        [200, 400]
    );
    let next = ca.seen_after_last("POST /chall/").unwrap_or_default();
    assert!(next.starts_with("POST /authz/"), "{:?}", ca.seen());
    assert_ne!(chall[0].nonce, chall[1].nonce);
}

#[test]
fn slow_finalize_every_time_ends_with_a_timeout() {
    smol::block_on(slow_finalize_every_time_ends_with_a_timeout_on_smol())
}

async fn slow_finalize_every_time_ends_with_a_timeout_on_smol() {
    let ca = FakeCa::start(config());
    let c = with_account(&ca).await;
    for _ in 0..4 {
        ca.fault("/finalize/", Fault::Delay(2 * TIMEOUT));
    }
    let started = Instant::now();
    let err = c
        .issue(&["example.org"], &solver(), None)
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    let finalize = ca.requests("/finalize/");
    assert_eq!(
        transport(&err),
        (finalize[0].url.clone(), TransportErrorKind::Timeout)
    );
    assert_eq!(count(&ca.seen(), "POST /finalize/"), 4);
    assert!(elapsed >= 4 * TIMEOUT, "{elapsed:?}");
    assert!(elapsed < BOUND, "{elapsed:?}");
}

#[test]
fn header_names_in_any_case() {
    smol::block_on(header_names_in_any_case_on_smol())
}

async fn header_names_in_any_case_on_smol() {
    for case in [HeaderCase::Upper, HeaderCase::Lower] {
        let ca = FakeCa::start(FakeConfig {
            alternate_chains: 1,
            ..config()
        });
        ca.set_header_case(case);
        let c = with_account(&ca).await;
        let cert = c.issue(&["example.org"], &solver(), None).await.unwrap();
        assert_eq!(cert.bundle.alternates.len(), 1, "{case:?}");
        // One newNonce round trip: every later nonce came in a `REPLAY-NONCE` header.
        assert_eq!(ca.requests("/nonce").len(), 1, "{case:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Slowloris peers, endless answers, lying framing, redirected POSTs
// ---------------------------------------------------------------------------------------

/// The protocol error's URL, status, reason and body snippet.
fn protocol(err: &Error) -> (String, u16, String, String) {
    match err {
        Error::Acme(acme_smol::proto::Error::Protocol {
            url,
            status,
            reason,
            body_snippet,
        }) => (url.clone(), *status, reason.clone(), body_snippet.clone()),
        e => panic!("expected a protocol error, got {e:?}"),
    }
}

#[test]
fn trickled_answers_time_out_whatever_keeps_arriving() {
    smol::block_on(trickled_answers_time_out_whatever_keeps_arriving_on_smol())
}

async fn trickled_answers_time_out_whatever_keeps_arriving_on_smol() {
    // A byte every 20 ms keeps any idle timeout happy: only the deadline on the whole
    // request ends it, in the headers or in the body.
    let ca = FakeCa::start(config());
    let gap = Duration::from_millis(20);
    let headers = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n".to_vec();
    for _ in 0..2 {
        let slow = [headers.as_slice(), &[b'X'; 4000]].concat();
        ca.fault("/dir", Fault::Trickle(Vec::new(), slow, gap));
        let fast = [headers.as_slice(), b"Content-Length: 4000\r\n\r\n"].concat();
        ca.fault("/dir", Fault::Trickle(fast, vec![b' '; 4000], gap));
    }
    let started = Instant::now();
    let err = client(&ca.directory()).directory().await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(
        transport(&err),
        (ca.directory(), TransportErrorKind::Timeout)
    );
    assert_eq!(count(&ca.seen(), "GET /dir"), 4);
    assert!(elapsed >= 4 * TIMEOUT, "{elapsed:?}");
    assert!(elapsed < BOUND, "{elapsed:?}");
}

#[test]
fn endless_answers_are_cut_off() {
    smol::block_on(endless_answers_are_cut_off_on_smol())
}

async fn endless_answers_are_cut_off_on_smol() {
    // A chunked body that never ends: refused at the cap, not retried.
    let ca = FakeCa::start(config());
    let chunk = [b"4000\r\n".as_slice(), &[b'x'; 0x4000], b"\r\n"].concat();
    let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    ca.fault("/dir", Fault::Endless(head, chunk));
    let started = Instant::now();
    let err = client(&ca.directory()).directory().await.unwrap_err();
    assert_eq!(
        transport(&err),
        (ca.directory(), TransportErrorKind::BodyTooLarge)
    );
    assert!(started.elapsed() < BOUND);
    assert_eq!(ca.seen(), ["GET /dir"]);
}

#[test]
fn close_delimited_and_short_bodies() {
    smol::block_on(close_delimited_and_short_bodies_on_smol())
}

async fn close_delimited_and_short_bodies_on_smol() {
    // HTTP/1.0 without Content-Length: the body ends with the connection.
    let ca = FakeCa::start(config());
    let base = format!("http://{}", ca.addr);
    let json = fake_ca::directory_json(&base);
    let raw = format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{json}");
    ca.fault("/dir", Fault::Raw(raw.into_bytes()));
    let directory = client(&ca.directory()).directory().await.unwrap();
    assert_eq!(directory.new_nonce, format!("{base}/nonce"));
    // A Content-Length shorter than the body: the body is what it announced.
    let ca = FakeCa::start(config());
    let raw = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{json}"
    );
    ca.fault("/dir", Fault::Raw(raw.into_bytes()));
    let err = client(&ca.directory()).directory().await.unwrap_err();
    let (url, status, reason, snippet) = protocol(&err);
    assert_eq!((url, status), (ca.directory(), 200));
    assert!(reason.starts_with("invalid directory"), "{reason}");
    assert_eq!(snippet, r#"{"newNonce":"#);
}

#[test]
fn a_redirected_post_is_not_followed() {
    smol::block_on(a_redirected_post_is_not_followed_on_smol())
}

async fn a_redirected_post_is_not_followed_on_smol() {
    let ca = FakeCa::start(config());
    let c = with_account(&ca).await;
    let (elsewhere, connections) = silent_server();
    let raw = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{elsewhere}/new-order\r\nContent-Length: 0\r\n\r\n"
    );
    ca.fault("/new-order", Fault::Raw(raw.into_bytes()));
    let err = c
        .issue(&["example.org"], &solver(), None)
        .await
        .unwrap_err();
    assert_eq!(
        protocol(&err),
        (
            format!("http://{}/new-order", ca.addr),
            307,
            "HTTP 307 without a problem document (no content type)".to_owned(),
            String::new()
        )
    );
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// Interim `102 Processing` answers without end: the connection's read budget (2 MiB per
/// exchange) ends each attempt as a broken exchange, retried like a reset, as in every adapter.
#[test]
fn endless_interim_answers_end_at_the_read_budget() {
    smol::block_on(endless_interim_answers_end_at_the_read_budget_on_smol())
}

async fn endless_interim_answers_end_at_the_read_budget_on_smol() {
    let ca = FakeCa::start(config());
    for _ in 0..4 {
        let interim = b"HTTP/1.1 102 Processing\r\n\r\n".to_vec();
        ca.fault("/dir", Fault::Endless(Vec::new(), interim));
    }
    let started = Instant::now();
    let err = client(&ca.directory()).directory().await.unwrap_err();
    assert_eq!(transport(&err), (ca.directory(), TransportErrorKind::Io));
    assert_eq!(count(&ca.seen(), "GET /dir"), 4);
    assert!(started.elapsed() < BOUND);
}
