//! The async ACME client shared by the runtime crates: one drive loop over the sans-IO
//! [`acme_proto`] core, and every operation built on it (accounts, issuance, revocation, key
//! rollover, renewal information).
//!
//! Use it through a runtime crate — `acme-tokio` or `acme-smol` — which fills in the
//! [`Runtime`] (timers and the default HTTP client) and its challenge responders. To run on
//! another executor, implement [`Runtime`] and [`HttpClient`].
//!
//! The drive loop ([`Client::step`]) is the whole adapter: poll the flow, perform the request
//! it emits, feed back the response with the current time, sleep until the time it names.
//!
//! # Example: a runtime of your own
//!
//! A minimal binding (a blocking "executor" and the core's scripted fake CA as the HTTP
//! client), issuing a certificate:
//!
//! ```
//! use acme_async::{BoxFuture, Client, Http01Solver, HttpClient, Runtime, TokenStore};
//! use acme_proto::http::{Request, Response, TransportError};
//! use acme_proto::testing::{FakeConfig, FakeServer, Validation};
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//!
//! struct Threads;
//! impl Runtime for Threads {
//!     const USER_AGENT: &'static str = "my-runtime/1.0";
//!     fn sleep(d: Duration) -> BoxFuture<'static, ()> {
//!         std::thread::sleep(d); // this toy runtime blocks its thread
//!         Box::pin(async {})
//!     }
//!     fn default_http_client(_: &[Vec<u8>], _: bool) -> Result<Arc<dyn HttpClient>, String> {
//!         Err("bring an HTTP client".into())
//!     }
//! }
//!
//! struct Fake(Mutex<FakeServer>);
//! impl HttpClient for Fake {
//!     fn execute(&self, r: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
//!         let resp = self.0.lock().unwrap().handle(std::time::SystemTime::now(), &r);
//!         Box::pin(async move { resp })
//!     }
//! }
//!
//! #[derive(Default)]
//! struct Tokens(Mutex<Vec<(String, String)>>);
//! impl TokenStore for Tokens {
//!     fn insert_token(&self, t: &str, ka: &str) { self.0.lock().unwrap().push((t.into(), ka.into())) }
//!     fn remove_token(&self, t: &str) { self.0.lock().unwrap().retain(|(x, _)| x != t) }
//! }
//!
//! /// Polls a future to completion on this thread.
//! fn block_on<F: std::future::Future>(f: F) -> F::Output {
//!     struct Noop;
//!     impl std::task::Wake for Noop { fn wake(self: Arc<Self>) {} }
//!     let waker = Arc::new(Noop).into();
//!     let mut cx = std::task::Context::from_waker(&waker);
//!     let mut f = std::pin::pin!(f);
//!     loop {
//!         if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; }
//!     }
//! }
//!
//! let ca = FakeServer::new(FakeConfig { validation: Validation::AlwaysValid, ..FakeConfig::default() });
//! let client: Client<Threads> = Client::builder(FakeServer::directory_url()).http_client(Fake(Mutex::new(ca))).build()?;
//! let key = Arc::new(acme_crypto::KeyPair::generate(acme_crypto::Algorithm::Es256)?);
//! block_on(client.create_account(key, acme_proto::flow::NewAccount::default().agree_to_terms_of_service(true)))?;
//! let cert = block_on(client.issue(&["example.com"], &Http01Solver::new(Tokens::default()), None))?;
//! assert!(cert.chain_pem.contains("BEGIN CERTIFICATE"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
pub mod dns01;
mod error;
pub mod http01;
pub mod http_client;
#[doc(hidden)]
pub mod multi;
mod renew;
pub mod runtime;
pub mod solver;
#[cfg(feature = "tls-alpn-01")]
mod tls_alpn01;

pub use client::{Client, ClientBuilder, IssuedCertificate, Step};
pub use dns01::ChalltestsrvDns01Solver;
pub use error::Error;
pub use http_client::{BoxFuture, HttpClient};
pub use http01::Http01Tokens;
pub use multi::MultiSolver;
pub use renew::Renewal;
pub use runtime::Runtime;
pub use solver::{Http01Solver, Solver, SolverError, TokenStore};
#[cfg(feature = "tls-alpn-01")]
pub use tls_alpn01::TlsAlpn01Solver;
