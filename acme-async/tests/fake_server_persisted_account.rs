//! Persisted accounts against the core's fake server (offline, issue 6): an account saved
//! as an `AccountFile` and restored makes no `newAccount` request, a file of another CA is
//! refused, and only the account's own key can be saved with it. The same is tested end to
//! end against Pebble in the runtime crates' `pebble_lifecycle.rs`.

use acme_async::{BoxFuture, Client, Error, HttpClient, Runtime};
use acme_crypto::{AccountFile, Algorithm, KeyPair};
use acme_proto::flow::NewAccount;
use acme_proto::http::{Request, Response, TransportError};
use acme_proto::testing::{FakeConfig, FakeServer};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A runtime for tests whose HTTP client answers at once: nothing ever sleeps for long.
struct Inline;

impl Runtime for Inline {
    const USER_AGENT: &'static str = "fake-server-test/0";

    fn sleep(duration: Duration) -> BoxFuture<'static, ()> {
        std::thread::sleep(duration);
        Box::pin(async {})
    }

    fn default_http_client(_: &[Vec<u8>], _: bool) -> Result<Arc<dyn HttpClient>, String> {
        Err("tests bring their own HTTP client".into())
    }
}

/// The fake CA, shared so the test can read its request log.
#[derive(Clone)]
struct Fake(Arc<Mutex<FakeServer>>);

impl HttpClient for Fake {
    fn execute(&self, r: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        let resp = self
            .0
            .lock()
            .unwrap()
            .handle(std::time::SystemTime::now(), &r);
        Box::pin(async move { resp })
    }
}

impl Fake {
    fn paths(&self) -> Vec<String> {
        let server = self.0.lock().unwrap();
        server
            .log
            .iter()
            .map(|l| {
                let path = l.path.split(|c: char| c.is_ascii_digit()).next().unwrap();
                format!("{} {path}", l.method)
            })
            .collect()
    }
}

/// Polls a future to completion on this thread (the fake answers synchronously).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Arc::new(Noop).into();
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn client(fake: &Fake) -> Client<Inline> {
    Client::builder(FakeServer::directory_url())
        .http_client(fake.clone())
        .build()
        .unwrap()
}

fn config_message(err: Error) -> String {
    match err {
        Error::Config(m) => m,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn fake_server_restored_account_makes_no_new_account_request() {
    let fake = Fake(Arc::new(Mutex::new(FakeServer::new(FakeConfig::default()))));
    let first = client(&fake);
    let key = Arc::new(KeyPair::generate(Algorithm::Es256).unwrap());
    let account = block_on(first.create_account(
        key.clone(),
        NewAccount::default().agree_to_terms_of_service(true),
    ))
    .unwrap();
    let file = first.account_file(key.clone()).unwrap();
    assert_eq!(file.directory_url(), FakeServer::directory_url());
    assert_eq!(file.account_url(), account.url);
    let text = file.to_json();

    // A new process: a fresh client and the stored JSON.
    fake.0.lock().unwrap().log.clear();
    let restored = client(&fake);
    restored
        .restore_account(&AccountFile::from_json(&text).unwrap())
        .unwrap();
    assert_eq!(fake.paths(), Vec::<String>::new(), "restoring is offline");
    let fetched = block_on(restored.fetch_account()).unwrap();
    assert_eq!(fetched.url, account.url);
    assert_eq!(fake.paths(), ["GET /dir", "HEAD /nonce", "POST /acct/"]);
    assert_eq!(fake.0.lock().unwrap().count("/new-account"), 0);
}

#[test]
fn fake_server_account_file_of_another_ca_is_refused() {
    let fake = Fake(Arc::new(Mutex::new(FakeServer::new(FakeConfig::default()))));
    let c = client(&fake);
    let key = Arc::new(KeyPair::generate(Algorithm::Es256).unwrap());
    let file = AccountFile::new(
        "https://other.example/dir",
        "https://other.example/acct/1",
        key,
    )
    .unwrap();
    assert_eq!(
        config_message(c.restore_account(&file).unwrap_err()),
        "the account file is for the CA at https://other.example/dir, not https://acme.test/dir"
    );
    assert!(c.account().is_none());
    assert_eq!(fake.paths(), Vec::<String>::new());
}

#[test]
fn fake_server_account_file_needs_an_account_and_its_own_key() {
    let fake = Fake(Arc::new(Mutex::new(FakeServer::new(FakeConfig::default()))));
    let c = client(&fake);
    let key = Arc::new(KeyPair::generate(Algorithm::Es256).unwrap());
    assert_eq!(
        config_message(c.account_file(key.clone()).unwrap_err()),
        "no account to save: create, find or restore one first"
    );
    block_on(c.create_account(
        key.clone(),
        NewAccount::default().agree_to_terms_of_service(true),
    ))
    .unwrap();
    let other = Arc::new(KeyPair::generate(Algorithm::Es256).unwrap());
    assert_eq!(
        config_message(c.account_file(other.clone()).unwrap_err()),
        format!(
            "the key (thumbprint {}) is not the account's key",
            other.thumbprint()
        )
    );
    // After a rollover, the new key is the one to save.
    block_on(c.rollover_key(other.clone())).unwrap();
    assert_eq!(
        c.account_file(other.clone()).unwrap().key().thumbprint(),
        other.thumbprint()
    );
    assert!(c.account_file(key).is_err());
}
