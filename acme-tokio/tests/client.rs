//! DefaultClient against local test servers (127.0.0.1 only).
#![cfg(feature = "default-client")]

mod support;

use std::time::{Duration, Instant};

use acme_proto::http::{HeaderValue, Method, TransportErrorKind};
use acme_tokio::http_client::{ClientBuilder, DefaultClient, HttpClient};
use support::{BIG, TestPki, TestServer, closed_port, get, request, silent_server};

fn trusting(pki: &TestPki) -> ClientBuilder {
    DefaultClient::builder()
        .add_root_pem(pki.ca_pem.as_bytes())
        .unwrap()
}

#[tokio::test]
async fn extra_root_is_trusted() {
    let pki = TestPki::new();
    let server = TestServer::https(&pki);
    let client = trusting(&pki).build().unwrap();
    let response = client.execute(get(server.url("/ok"))).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body(), b"hello");
    assert_eq!(response.headers()["content-type"], "text/plain");
}

#[tokio::test]
async fn localhost_name_resolves_and_verifies() {
    let pki = TestPki::new();
    let server = TestServer::https(&pki);
    let client = trusting(&pki).build().unwrap();
    let url = format!("https://localhost:{}/ok", server.addr.port());
    let response = client.execute(get(url)).await.unwrap();
    assert_eq!(response.body(), b"hello");
}

#[tokio::test]
async fn unknown_ca_is_a_tls_error() {
    let pki = TestPki::new();
    let server = TestServer::https(&pki);
    let client = DefaultClient::new().unwrap();
    let err = client.execute(get(server.url("/ok"))).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Tls, "{err}");

    // A different test CA does not help either.
    let other = TestPki::new();
    let client = trusting(&other).build().unwrap();
    let err = client.execute(get(server.url("/ok"))).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Tls, "{err}");
}

#[tokio::test]
async fn plain_tcp_peer_on_https_url_is_a_tls_error() {
    let server = TestServer::http();
    let client = DefaultClient::new().unwrap();
    let url = format!("https://{}/ok", server.addr);
    let err = client.execute(get(url)).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Tls, "{err}");
}

#[test]
fn bad_root_pem_is_rejected() {
    assert!(DefaultClient::builder().add_root_pem(b"").is_err());
    assert!(
        DefaultClient::builder()
            .add_root_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .is_err()
    );
}

#[tokio::test]
async fn plain_http_needs_opt_in() {
    let server = TestServer::http();
    let client = DefaultClient::new().unwrap();
    let err = client.execute(get(server.url("/ok"))).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::InvalidUrl);
    assert_eq!(server.connections(), 0);

    let client = DefaultClient::builder().allow_http(true).build().unwrap();
    let response = client.execute(get(server.url("/ok"))).await.unwrap();
    assert_eq!(response.body(), b"hello");
}

#[tokio::test]
async fn unusable_urls_are_invalid() {
    let client = DefaultClient::new().unwrap();
    for url in [
        "ftp://127.0.0.1/",
        "not a url",
        "/relative/only",
        "https://",
    ] {
        let err = client.execute(get(url)).await.unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::InvalidUrl, "{url}: {err}");
    }
}

#[tokio::test]
async fn headers_method_and_body_are_sent_as_is() {
    let pki = TestPki::new();
    let server = TestServer::https(&pki);
    let client = trusting(&pki).build().unwrap();
    let mut req = request(Method::POST, server.url("/echo?q=1"));
    req.headers
        .insert("x-test", HeaderValue::from_static("value-1"));
    req.headers.insert(
        "content-type",
        HeaderValue::from_static("application/jose+json"),
    );
    req.body = br#"{"protected":"e30","payload":"","signature":"c2ln"}"#.to_vec();
    let response = client.execute(req.clone()).await.unwrap();
    assert_eq!(response.body(), &req.body);
    assert_eq!(response.headers()["x-echo-method"], "POST");
    assert_eq!(response.headers()["x-echo-test"], "value-1");
    assert_eq!(response.headers()["x-echo-path"], "/echo?q=1");
    assert_eq!(
        response.headers()["x-echo-host"],
        format!("127.0.0.1:{}", server.addr.port()).as_str()
    );

    let response = client
        .execute(request(Method::HEAD, server.url("/ok")))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.body().is_empty());
}

#[tokio::test]
async fn error_statuses_are_responses() {
    let pki = TestPki::new();
    let server = TestServer::https(&pki);
    let client = trusting(&pki).build().unwrap();
    let response = client.execute(get(server.url("/problem"))).await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.body().starts_with(b"{\"type\""));
}

#[tokio::test]
async fn connections_are_reused() {
    let pki = TestPki::new();
    let server = TestServer::https(&pki);
    let client = trusting(&pki).build().unwrap();
    for _ in 0..3 {
        let response = client.execute(get(server.url("/ok"))).await.unwrap();
        assert_eq!(response.body(), b"hello");
    }
    let mut post = request(Method::POST, server.url("/echo"));
    post.body = b"{}".to_vec();
    client.execute(post).await.unwrap();
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn redirects_only_when_allowed() {
    let pki = TestPki::new();
    let server = TestServer::https(&pki);
    let client = trusting(&pki).build().unwrap();

    let response = client.execute(get(server.url("/redirect"))).await.unwrap();
    assert_eq!(response.status(), 302);

    for path in ["/redirect", "/redirect-abs", "/dir/redirect-rel"] {
        let mut req = get(server.url(path));
        req.follow_redirects = true;
        let response = client.execute(req).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.body(), b"hello");
    }

    // Only GET is ever redirected.
    let mut post = request(Method::POST, server.url("/redirect"));
    post.follow_redirects = true;
    let response = client.execute(post).await.unwrap();
    assert_eq!(response.status(), 302);

    let mut looping = get(server.url("/loop"));
    looping.follow_redirects = true;
    let err = client.execute(looping).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Other, "{err}");
}

#[tokio::test]
async fn body_over_the_cap_is_refused() {
    let pki = TestPki::new();
    let server = TestServer::https(&pki);
    let client = trusting(&pki).max_body_size(BIG - 1).build().unwrap();
    for path in ["/big", "/big-chunked"] {
        let err = client.execute(get(server.url(path))).await.unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::BodyTooLarge, "{path}: {err}");
    }
    let client = trusting(&pki).max_body_size(BIG).build().unwrap();
    for path in ["/big", "/big-chunked"] {
        let response = client.execute(get(server.url(path))).await.unwrap();
        assert_eq!(response.body().len(), BIG, "{path}");
    }
}

#[tokio::test]
async fn silent_server_times_out() {
    let pki = TestPki::new();
    let timeout = Duration::from_millis(400);
    let client = trusting(&pki).timeout(timeout).build().unwrap();

    // Accepts TCP, never speaks TLS.
    let addr = silent_server();
    let started = Instant::now();
    let err = client
        .execute(get(format!("https://{addr}/")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < timeout + Duration::from_secs(2));

    // Completes TLS, never answers the request.
    let server = TestServer::https(&pki);
    let started = Instant::now();
    let err = client.execute(get(server.url("/hang"))).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert!(started.elapsed() >= timeout);
    assert!(started.elapsed() < timeout + Duration::from_secs(2));
}

#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    let client = DefaultClient::builder().allow_http(true).build().unwrap();
    let addr = closed_port();
    for scheme in ["https", "http"] {
        let err = client
            .execute(get(format!("{scheme}://{addr}/")))
            .await
            .unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Connect, "{scheme}: {err}");
    }
}

#[tokio::test]
async fn broken_body_is_an_io_error() {
    let pki = TestPki::new();
    let server = TestServer::https(&pki);
    let client = trusting(&pki).build().unwrap();
    let err = client
        .execute(get(server.url("/truncate")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Io, "{err}");

    let plain = TestServer::http();
    let client = DefaultClient::builder().allow_http(true).build().unwrap();
    let err = client
        .execute(get(plain.url("/truncate")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Io, "{err}");
}

#[tokio::test]
async fn client_is_usable_as_a_trait_object() {
    let pki = TestPki::new();
    let server = TestServer::https(&pki);
    let client: std::sync::Arc<dyn HttpClient> =
        std::sync::Arc::new(trusting(&pki).build().unwrap());
    let response = client.execute(get(server.url("/ok"))).await.unwrap();
    assert_eq!(response.status(), 200);
    // The future is Send: it can be spawned.
    let url = server.url("/ok");
    let handle = tokio::spawn(async move { client.execute(get(url)).await });
    assert_eq!(handle.await.unwrap().unwrap().status(), 200);
}

#[tokio::test]
async fn connection_closed_while_idle_is_replaced() {
    let pki = TestPki::new();
    let server = TestServer::https(&pki);
    let client = trusting(&pki).build().unwrap();
    for _ in 0..2 {
        let response = client
            .execute(get(server.url("/ok-then-close")))
            .await
            .unwrap();
        assert_eq!(response.body(), b"hello");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(server.connections(), 2);
}
