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
