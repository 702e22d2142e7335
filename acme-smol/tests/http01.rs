//! The standalone http-01 server, queried with the default client over 127.0.0.1, under both
//! smol and async-std.
#![cfg(feature = "default-client")]

mod support;

use std::time::Duration;

use acme_proto::http::{Method, TransportErrorKind};
use acme_smol::http_client::{DefaultClient, HttpClient};
use acme_smol::http01::Http01Responder;
use support::{get, on_both_executors, request};

const TOKEN: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
const KEY_AUTH: &str =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ";

fn client() -> DefaultClient {
    DefaultClient::builder().allow_http(true).build().unwrap()
}

#[test]
fn serves_key_authorizations() {
    on_both_executors(|| async {
        let responder = Http01Responder::new();
        responder.insert(TOKEN, KEY_AUTH);
        let server = responder.serve("127.0.0.1:0".parse().unwrap()).unwrap();
        let base = format!("http://{}", server.local_addr());
        let client = client();

        let url = format!("{base}/.well-known/acme-challenge/{TOKEN}");
        let response = client.execute(get(url.clone())).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.body(), KEY_AUTH.as_bytes());
        assert_eq!(response.headers()["content-type"], "text/plain");

        let response = client
            .execute(request(Method::HEAD, url.clone()))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.body().is_empty());
        assert_eq!(
            response.headers()["content-length"],
            KEY_AUTH.len().to_string().as_str()
        );

        for path in [
            "/.well-known/acme-challenge/unknown-token",
            "/.well-known/acme-challenge/",
            "/",
            "/.well-known/acme-challenge/a.b",
        ] {
            let response = client.execute(get(format!("{base}{path}"))).await.unwrap();
            assert_eq!(response.status(), 404, "{path}");
        }
        let response = client
            .execute(request(Method::POST, url.clone()))
            .await
            .unwrap();
        assert_eq!(response.status(), 404);

        responder.insert("second", "second.thumb");
        let response = client
            .execute(get(format!("{base}/.well-known/acme-challenge/second")))
            .await
            .unwrap();
        assert_eq!(response.body(), b"second.thumb");
        responder.remove(TOKEN);
        let response = client.execute(get(url)).await.unwrap();
        assert_eq!(response.status(), 404);

        server.shutdown().await;
    });
}

#[test]
fn shutdown_and_drop_stop_the_server() {
    on_both_executors(|| async {
        let responder = Http01Responder::new();
        responder.insert(TOKEN, KEY_AUTH);

        let server = responder.serve("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = server.local_addr();
        let url = format!("http://{addr}/.well-known/acme-challenge/{TOKEN}");
        assert_eq!(
            client().execute(get(url.clone())).await.unwrap().status(),
            200
        );
        server.shutdown().await;
        let err = client().execute(get(url.clone())).await.unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");

        // The same address can be bound again at once.
        let server = responder.serve(addr).unwrap();
        assert_eq!(
            client().execute(get(url.clone())).await.unwrap().status(),
            200
        );
        drop(server);
        async_io::Timer::after(Duration::from_millis(100)).await;
        let err = client().execute(get(url)).await.unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    });
}

#[test]
fn serve_works_without_any_executor() {
    let responder = Http01Responder::new();
    responder.insert(TOKEN, KEY_AUTH);
    let server = responder.serve("127.0.0.1:0".parse().unwrap()).unwrap();
    // A raw blocking request: the server thread answers on its own.
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(server.local_addr()).unwrap();
    write!(
        stream,
        "GET /.well-known/acme-challenge/{TOKEN} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with(KEY_AUTH), "{answer}");
}

/// One raw HTTP/1.1 exchange over std sockets: whatever arrives before the server closes
/// (nothing when it closes or resets at once).
fn raw_get(addr: std::net::SocketAddr, path: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(request.as_bytes());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

#[test]
fn connections_beyond_the_cap_are_closed_at_once() {
    // Anyone can reach port 80: 64 idle connections at most are held (each for at most 10 s
    // without a request), further ones are closed at once instead of piling up.
    let responder = Http01Responder::new();
    responder.insert(TOKEN, KEY_AUTH);
    let server = responder.serve("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.local_addr();
    let path = format!("/.well-known/acme-challenge/{TOKEN}");
    let idle: Vec<std::net::TcpStream> = (0..64)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = std::time::Instant::now();
    assert_eq!(String::from_utf8_lossy(&raw_get(addr, &path)), "");
    assert!(started.elapsed() < Duration::from_secs(3));
    // Once they go, the challenge is served again.
    drop(idle);
    let mut answer = Vec::new();
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        answer = raw_get(addr, &path);
        if !answer.is_empty() {
            break;
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with(KEY_AUTH), "{answer}");
}
