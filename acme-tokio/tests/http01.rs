//! The standalone http-01 server, queried with the default client over 127.0.0.1.
#![cfg(feature = "default-client")]

mod support;

use acme_proto::http::{Method, TransportErrorKind};
use acme_tokio::http_client::{DefaultClient, HttpClient};
use acme_tokio::http01::Http01Responder;
use support::{get, request};

const TOKEN: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
const KEY_AUTH: &str =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ";

fn client() -> DefaultClient {
    DefaultClient::builder().allow_http(true).build().unwrap()
}

#[tokio::test]
async fn serves_key_authorizations() {
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

    // Tokens added after start are served; removed ones are not.
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
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let responder = Http01Responder::new();
    responder.insert(TOKEN, KEY_AUTH);
    let client = client();

    let server = responder.serve("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.local_addr();
    let url = format!("http://{addr}/.well-known/acme-challenge/{TOKEN}");
    assert_eq!(
        client.execute(get(url.clone())).await.unwrap().status(),
        200
    );
    server.shutdown().await;
    // A fresh client: the old one may hold a pooled connection the server no longer serves.
    let err = client_fresh().execute(get(url.clone())).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");

    // The same address can be bound again at once.
    let server = responder.serve(addr).unwrap();
    assert_eq!(
        client_fresh()
            .execute(get(url.clone()))
            .await
            .unwrap()
            .status(),
        200
    );
    drop(server);
    tokio::task::yield_now().await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let err = client_fresh().execute(get(url)).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
}

fn client_fresh() -> DefaultClient {
    client()
}

/// One raw HTTP/1.1 exchange over std sockets: whatever arrives before the server closes
/// (nothing when it closes or resets at once).
fn raw_get(addr: std::net::SocketAddr, path: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(request.as_bytes());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_closed_at_once() {
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
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let answer = tokio::task::spawn_blocking(move || raw_get(addr, &path))
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&answer), "");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    // Once they go, the challenge is served again.
    drop(idle);
    let url = format!("http://{addr}/.well-known/acme-challenge/{TOKEN}");
    let mut status = 0;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if let Ok(response) = client_fresh().execute(get(url.clone())).await {
            status = response.status().as_u16();
            break;
        }
    }
    assert_eq!(status, 200);
}
