//! The http-01 responder's server, on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use acme_blocking::Http01Responder;

const TOKEN: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
const KEY_AUTH: &str =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ";

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Sends `raw` and returns everything the server answers before closing.
fn exchange(addr: SocketAddr, raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(raw)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(answer)
}

fn split(answer: &[u8]) -> (String, Vec<u8>) {
    let text = String::from_utf8_lossy(answer);
    let end = text.find("\r\n\r\n").expect("complete head");
    (text[..end].to_owned(), answer[end + 4..].to_vec())
}

#[test]
fn serves_published_token_and_404_otherwise() {
    let responder = Http01Responder::new();
    responder.insert(TOKEN, KEY_AUTH);
    let server = responder.serve(localhost()).unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);

    let request = format!(
        "GET /.well-known/acme-challenge/{TOKEN} HTTP/1.1\r\nHost: example.com\r\nUser-Agent: validator\r\n\r\n"
    );
    let (head, body) = split(&exchange(addr, request.as_bytes()).unwrap());
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nContent-Type: text/plain"), "{head}");
    assert!(
        head.contains(&format!("\r\nContent-Length: {}", KEY_AUTH.len())),
        "{head}"
    );
    assert!(head.contains("\r\nConnection: close"), "{head}");
    assert_eq!(body, KEY_AUTH.as_bytes());

    // HEAD: same head, no body.
    let request = format!("HEAD /.well-known/acme-challenge/{TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n");
    let (head, body) = split(&exchange(addr, request.as_bytes()).unwrap());
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains(&format!("\r\nContent-Length: {}", KEY_AUTH.len())),
        "{head}"
    );
    assert!(body.is_empty());

    // Absolute-form target and a query string still find the token.
    let request = format!(
        "GET http://example.com/.well-known/acme-challenge/{TOKEN}?probe=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"
    );
    let (head, body) = split(&exchange(addr, request.as_bytes()).unwrap());
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, KEY_AUTH.as_bytes());

    for path in [
        "/.well-known/acme-challenge/unknownToken",
        "/.well-known/acme-challenge/",
        "/.well-known/acme-challenge/../secret",
        "/",
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        let (head, _) = split(&exchange(addr, request.as_bytes()).unwrap());
        assert!(
            head.starts_with("HTTP/1.1 404 Not Found\r\n"),
            "{path}: {head}"
        );
    }

    // Withdrawn tokens are no longer served, while the server runs.
    responder.remove(TOKEN);
    let request = format!("GET /.well-known/acme-challenge/{TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n");
    let (head, _) = split(&exchange(addr, request.as_bytes()).unwrap());
    assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{head}");
}

#[test]
fn other_methods_and_malformed_requests() {
    let responder = Http01Responder::new();
    responder.insert(TOKEN, KEY_AUTH);
    let server = responder.serve(localhost()).unwrap();
    let addr = server.local_addr();

    let request = format!("POST /.well-known/acme-challenge/{TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n");
    let (head, _) = split(&exchange(addr, request.as_bytes()).unwrap());
    assert!(head.starts_with("HTTP/1.1 405 "), "{head}");
    assert!(head.contains("\r\nAllow: GET, HEAD"), "{head}");

    for raw in [
        "NONSENSE\r\n\r\n",
        "GET / SMTP/1.0\r\n\r\n",
        "GET  / HTTP/1.1 extra\r\n\r\n",
    ] {
        let (head, _) = split(&exchange(addr, raw.as_bytes()).unwrap());
        assert!(head.starts_with("HTTP/1.1 400 "), "{raw:?}: {head}");
    }
}

#[test]
fn oversized_request_is_refused() {
    let responder = Http01Responder::new();
    responder.insert(TOKEN, KEY_AUTH);
    let server = responder.serve(localhost()).unwrap();
    let request = format!(
        "GET /.well-known/acme-challenge/{TOKEN} HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n",
        "p".repeat(9 * 1024)
    );
    // The server reads (and discards) the rest of the request after answering, so the 400
    // reaches the client instead of being destroyed by a reset.
    let answer = exchange(server.local_addr(), request.as_bytes()).unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    assert!(!text.contains(KEY_AUTH));
}

#[test]
fn a_silent_client_does_not_block_others() {
    let responder = Http01Responder::new();
    responder.insert(TOKEN, KEY_AUTH);
    let server = responder.serve(localhost()).unwrap();
    let addr = server.local_addr();
    let _silent = TcpStream::connect(addr).unwrap();
    let started = Instant::now();
    let request = format!("GET /.well-known/acme-challenge/{TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n");
    let (_, body) = split(&exchange(addr, request.as_bytes()).unwrap());
    assert_eq!(body, KEY_AUTH.as_bytes());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn shutdown_and_drop_stop_the_server() {
    let responder = Http01Responder::new();
    let server = responder.serve(localhost()).unwrap();
    let addr = server.local_addr();
    assert!(TcpStream::connect(addr).is_ok());
    let started = Instant::now();
    server.shutdown();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(TcpStream::connect(addr).is_err(), "listener closed");

    let server = responder.serve(localhost()).unwrap();
    let addr = server.local_addr();
    drop(server);
    assert!(TcpStream::connect(addr).is_err(), "listener closed");
}

#[cfg(feature = "default-client")]
#[test]
fn default_client_fetches_the_challenge() {
    use acme_blocking::{DefaultClient, HttpClient};
    use acme_proto::http::{Endpoint, HeaderMap, Method, Request, RequestId, StatusCode};

    let responder = Http01Responder::new();
    responder.insert(TOKEN, KEY_AUTH);
    let server = responder.serve(localhost()).unwrap();
    let client = DefaultClient::builder().allow_http(true).build();
    let get = |path: &str| Request {
        id: RequestId(7),
        endpoint: Endpoint::Challenge,
        method: Method::GET,
        url: format!("http://{}{path}", server.local_addr()),
        headers: HeaderMap::new(),
        body: Vec::new(),
        follow_redirects: false,
    };
    let response = client
        .execute(get(&format!("/.well-known/acme-challenge/{TOKEN}")))
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.body(), KEY_AUTH.as_bytes());
    let response = client
        .execute(get("/.well-known/acme-challenge/nope"))
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
