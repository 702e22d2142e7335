//! `DefaultClient` against local servers on 127.0.0.1.
#![cfg(feature = "default-client")]

mod support;

use std::io::{Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use acme_blocking::{DefaultClient, HttpClient};
use acme_proto::http::{HeaderValue, Method, StatusCode, TransportErrorKind};
use support::{Reply, TestServer, closed_port, get, raw_server, request, test_ca};

fn trusting_client(ca_pem: &str) -> DefaultClient {
    DefaultClient::builder()
        .add_root_pem(ca_pem.as_bytes())
        .unwrap()
        .build()
}

#[test]
fn extra_root_is_trusted_and_request_is_sent_as_given() {
    let ca = test_ca();
    let server = TestServer::start(Some(ca.server_config.clone()), |seen| Reply::Respond {
        status: 201,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Replay-Nonce".into(), "abc".into()),
        ],
        body: format!("{{\"got\":{}}}", seen.body.len()).into_bytes(),
        chunked: false,
    });
    let client = trusting_client(&ca.ca_pem);

    let mut req = request(Method::POST, &server.url("/acme/new-order?x=1"));
    req.headers.insert(
        "content-type",
        HeaderValue::from_static("application/jose+json"),
    );
    req.body = b"{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"x\"}".to_vec();
    let sent_body = req.body.clone();
    let response = client.execute(req).unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["replay-nonce"], "abc");
    assert_eq!(
        response.body(),
        format!("{{\"got\":{}}}", sent_body.len()).as_bytes()
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/acme/new-order?x=1");
    assert_eq!(
        seen[0].header("content-type"),
        Some("application/jose+json")
    );
    assert_eq!(seen[0].header("user-agent"), Some("acme-blocking-tests/0"));
    assert_eq!(seen[0].body, sent_body);
}

#[test]
fn head_returns_headers_without_body() {
    let ca = test_ca();
    let server = TestServer::start(Some(ca.server_config.clone()), |_| Reply::Respond {
        status: 200,
        headers: vec![("Replay-Nonce".into(), "n1".into())],
        body: b"ignored for HEAD".to_vec(),
        chunked: false,
    });
    let response = trusting_client(&ca.ca_pem)
        .execute(request(Method::HEAD, &server.url("/acme/new-nonce")))
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["replay-nonce"], "n1");
    assert!(response.body().is_empty());
    let seen = server.requests();
    assert_eq!(seen[0].method, "HEAD");
    assert!(seen[0].header("content-length").is_none());
}

#[test]
fn unknown_ca_is_a_tls_error() {
    let ca = test_ca();
    let server = TestServer::start(Some(ca.server_config.clone()), |_| Reply::ok("hi"));
    let err = DefaultClient::new()
        .execute(get(&server.url("/")))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Tls, "{err}");

    // A different test CA is no better.
    let other = test_ca();
    let err = trusting_client(&other.ca_pem)
        .execute(get(&server.url("/")))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Tls, "{err}");
}

#[test]
fn invalid_root_pem_is_rejected() {
    assert!(DefaultClient::builder().add_root_pem(b"").is_err());
    assert!(DefaultClient::builder().add_root_pem(b"not a pem").is_err());
    let garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(DefaultClient::builder().add_root_pem(garbage).is_err());
}

#[test]
fn plain_http_is_refused_unless_allowed() {
    let server = TestServer::start(None, |_| Reply::ok("plain"));
    let err = DefaultClient::new()
        .execute(get(&server.url("/")))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::InvalidUrl, "{err}");
    assert_eq!(server.connection_count(), 0, "refused before connecting");

    let client = DefaultClient::builder().allow_http(true).build();
    let response = client.execute(get(&server.url("/"))).unwrap();
    assert_eq!(response.body(), b"plain");
}

#[test]
fn bad_urls_are_invalid_url() {
    let client = DefaultClient::builder().allow_http(true).build();
    for url in [
        "",
        "not a url",
        "ftp://127.0.0.1/x",
        "/relative/path",
        "https:///nohost",
    ] {
        let err = client.execute(get(url)).unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::InvalidUrl, "{url:?}: {err}");
    }
}

#[test]
fn connections_are_reused() {
    let ca = test_ca();
    let server = TestServer::start(Some(ca.server_config.clone()), |seen| {
        Reply::ok(&format!("you asked for {}", seen.path))
    });
    let client = trusting_client(&ca.ca_pem);
    // The directory request (which may follow redirects, so is configured per request)
    // opens the connection the other requests then reuse.
    let mut directory = get(&server.url("/directory"));
    directory.follow_redirects = true;
    client.execute(directory).unwrap();
    for i in 0..3 {
        let path = format!("/r{i}");
        let response = client.execute(get(&server.url(&path))).unwrap();
        assert_eq!(response.body(), format!("you asked for {path}").as_bytes());
    }
    // Clones share the pool.
    client.clone().execute(get(&server.url("/clone"))).unwrap();
    assert_eq!(server.connection_count(), 1);
    assert_eq!(server.requests().len(), 5);
}

#[test]
fn redirects_are_followed_only_when_allowed() {
    let ca = test_ca();
    let server = TestServer::start(Some(ca.server_config.clone()), |seen| {
        match seen.path.as_str() {
            "/start" => Reply::Respond {
                status: 302,
                headers: vec![("Location".into(), "/final".into())],
                body: b"moved".to_vec(),
                chunked: false,
            },
            "/loop" => Reply::Respond {
                status: 301,
                headers: vec![("Location".into(), "/loop".into())],
                body: Vec::new(),
                chunked: false,
            },
            _ => Reply::ok("final"),
        }
    });
    let client = trusting_client(&ca.ca_pem);

    let response = client.execute(get(&server.url("/start"))).unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "/final");
    assert_eq!(response.body(), b"moved");
    assert_eq!(server.requests().len(), 1);

    let mut req = get(&server.url("/start"));
    req.follow_redirects = true;
    let response = client.execute(req).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), b"final");
    let paths: Vec<_> = server.requests().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/start", "/start", "/final"]);

    // At most 5 redirects.
    let mut req = get(&server.url("/loop"));
    req.follow_redirects = true;
    let err = client.execute(req).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Other, "{err}");
    assert_eq!(server.requests().len(), 3 + 6);
}

#[test]
fn redirect_to_plain_http_is_refused() {
    let plain = TestServer::start(None, |_| Reply::ok("plain"));
    let ca = test_ca();
    let target = plain.url("/");
    let server = TestServer::start(Some(ca.server_config.clone()), move |_| Reply::Respond {
        status: 302,
        headers: vec![("Location".into(), target.clone())],
        body: Vec::new(),
        chunked: false,
    });
    let mut req = get(&server.url("/"));
    req.follow_redirects = true;
    let err = trusting_client(&ca.ca_pem).execute(req).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::InvalidUrl, "{err}");
    assert_eq!(plain.connection_count(), 0);
}

#[test]
fn body_size_cap() {
    let ca = test_ca();
    let server = TestServer::start(Some(ca.server_config.clone()), |seen| {
        let (size, chunked) = match seen.path.as_str() {
            "/exact" => (1024, false),
            "/exact-chunked" => (1024, true),
            "/over" => (1025, false),
            _ => (4096, true),
        };
        Reply::Respond {
            status: 200,
            headers: Vec::new(),
            body: vec![b'x'; size],
            chunked,
        }
    });
    let client = DefaultClient::builder()
        .add_root_pem(ca.ca_pem.as_bytes())
        .unwrap()
        .max_body_size(1024)
        .build();
    assert_eq!(
        client
            .execute(get(&server.url("/exact")))
            .unwrap()
            .body()
            .len(),
        1024
    );
    assert_eq!(
        client
            .execute(get(&server.url("/exact-chunked")))
            .unwrap()
            .body()
            .len(),
        1024
    );
    for path in ["/over", "/over-chunked"] {
        let err = client.execute(get(&server.url(path))).unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::BodyTooLarge, "{path}: {err}");
    }
    // A HEAD answer declares a length it does not send: not too large.
    let response = client
        .execute(request(Method::HEAD, &server.url("/over")))
        .unwrap();
    assert_eq!(response.headers()["content-length"], "1025");
    assert!(response.body().is_empty());
}

#[test]
fn get_with_a_body_is_refused_before_sending() {
    let server = TestServer::start(None, |_| Reply::ok("never"));
    let client = DefaultClient::builder().allow_http(true).build();
    let mut req = get(&server.url("/"));
    req.body = b"oops".to_vec();
    let err = client.execute(req).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Other, "{err}");
    assert_eq!(server.connection_count(), 0);
}

#[test]
fn silent_server_times_out() {
    // Accepts, reads, never answers.
    let addr = raw_server(|mut stream| {
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(5);
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        while Instant::now() < deadline {
            match stream.read(&mut buf) {
                Ok(0) => return,
                _ => continue,
            }
        }
    });
    let client = DefaultClient::builder()
        .allow_http(true)
        .timeout(Duration::from_secs(1))
        .build();
    for url in [format!("https://{addr}/"), format!("http://{addr}/")] {
        let started = Instant::now();
        let err = client.execute(get(&url)).unwrap_err();
        let elapsed = started.elapsed();
        assert_eq!(err.kind, TransportErrorKind::Timeout, "{url}: {err}");
        assert!(elapsed >= Duration::from_millis(900), "{url}: {elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{url}: {elapsed:?}");
    }
}

#[test]
fn stalled_body_times_out() {
    let ca = test_ca();
    let server = TestServer::start(Some(ca.server_config.clone()), |_| Reply::PartialThenHang);
    let client = DefaultClient::builder()
        .add_root_pem(ca.ca_pem.as_bytes())
        .unwrap()
        .timeout(Duration::from_secs(1))
        .build();
    let started = Instant::now();
    let err = client.execute(get(&server.url("/"))).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn refused_connection_is_connect() {
    let addr = closed_port();
    let client = DefaultClient::builder().allow_http(true).build();
    for url in [format!("https://{addr}/"), format!("http://{addr}/")] {
        let err = client.execute(get(&url)).unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Connect, "{url}: {err}");
    }
}

#[test]
fn connection_reset_mid_body_is_io() {
    // Reads only the request head, leaving the POST body unread, so that closing the socket
    // sends a TCP reset rather than a FIN.
    let addr = raw_server(|mut stream| {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).unwrap_or(0) == 0 {
                return;
            }
            head.push(byte[0]);
        }
        thread::sleep(Duration::from_millis(100));
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
        thread::sleep(Duration::from_millis(200));
        drop(stream);
    });
    let client = DefaultClient::builder().allow_http(true).build();
    let mut req = request(Method::POST, &format!("http://{addr}/"));
    req.body = vec![b'b'; 64];
    let err = client.execute(req).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Io, "{err}");
}

#[test]
fn connection_closed_mid_body_is_io() {
    let ca = test_ca();
    let server = TestServer::start(Some(ca.server_config.clone()), |_| Reply::PartialThenClose);
    let err = trusting_client(&ca.ca_pem)
        .execute(get(&server.url("/")))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Io, "{err}");
}

#[test]
fn garbage_response_is_io() {
    let addr = raw_server(|mut stream| {
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf);
        let _ = stream.write_all(b"SMTP ready\r\n\r\n");
    });
    let client = DefaultClient::builder().allow_http(true).build();
    let err = client.execute(get(&format!("http://{addr}/"))).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Io, "{err}");
}

#[test]
fn error_statuses_are_responses() {
    let ca = test_ca();
    let server = TestServer::start(Some(ca.server_config.clone()), |seen| {
        match seen.path.as_str() {
            "/missing" => Reply::Respond {
                status: 404,
                headers: vec![("Content-Type".into(), "application/problem+json".into())],
                body: br#"{"type":"urn:ietf:params:acme:error:malformed"}"#.to_vec(),
                chunked: false,
            },
            _ => Reply::status(500, "server exploded"),
        }
    });
    let client = trusting_client(&ca.ca_pem);
    let response = client.execute(get(&server.url("/missing"))).unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(
        response.body(),
        br#"{"type":"urn:ietf:params:acme:error:malformed"}"#
    );
    let response = client.execute(get(&server.url("/boom"))).unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.body(), b"server exploded");
    // Error answers do not cost the connection.
    assert_eq!(server.connection_count(), 1);
}

#[test]
fn usable_as_a_shared_trait_object() {
    let server = TestServer::start(None, |_| Reply::ok("dyn"));
    let client: std::sync::Arc<dyn HttpClient> =
        std::sync::Arc::new(DefaultClient::builder().allow_http(true).build());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            let url = server.url("/");
            thread::spawn(move || client.execute(get(&url)).unwrap().into_body())
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), b"dyn");
    }
}
