//! Blocking adapter for the [`acme_proto`] ACME (RFC 8555) client: plain `std` threads, no
//! async runtime.
//!
//! [`Client`] drives the core's flows over an [`HttpClient`] (by default [`DefaultClient`]:
//! ureq 3 with rustls (ring), verified TLS, keep-alive connection reuse, `TCP_NODELAY`,
//! capped bodies; feature `default-client`, on by default). Clones share one session. It is
//! the [`acme_async`] client that `acme-tokio` and `acme-smol` use, each call run to
//! completion on the calling thread (waits block it); no executor is involved.
//!
//! - [`solver`]: how challenges are published ([`Http01Solver`] over an [`Http01Responder`]).
//! - [`http01`]: the http-01 responder, mountable in your own server or served by its own
//!   small HTTP/1.1 server on a background thread.
//! - [`tls_alpn01`] (feature `tls-alpn-01`, default): the tls-alpn-01 responder
//!   ([`TlsAlpn01Responder`]: a rustls certificate resolver to compose into your own TLS
//!   server, or a small standalone server) and [`TlsAlpn01Solver`].
//! - [`dns01`]: dns-01 through `pebble-challtestsrv` ([`ChalltestsrvDns01Solver`], for tests),
//!   RFC 2136 dynamic updates with TSIG and a propagation check (feature `rfc2136`, default).
//! - [`MultiSolver`]: several solvers behind one, so an order can mix challenge types (per
//!   identifier preferences included).
//!
//! # Example
//!
//! Issuing a certificate. To run offline, this example brings its own [`HttpClient`]: the
//! core's scripted fake CA. Against a real CA, drop `.http_client(..)` and serve the
//! responder (`responder.serve(addr)`).
//!
//! ```
//! use acme_blocking::proto::http::{Request, Response, TransportError};
//! use acme_blocking::proto::testing::{FakeConfig, FakeServer, Validation};
//! use acme_blocking::proto::flow::NewAccount;
//! use acme_blocking::crypto::{Algorithm, KeyPair};
//! use acme_blocking::{Client, Http01Responder, Http01Solver, HttpClient};
//! use std::sync::{Arc, Mutex};
//!
//! struct Fake(Mutex<FakeServer>);
//! impl HttpClient for Fake {
//!     fn execute(&self, r: Request) -> Result<Response, TransportError> {
//!         self.0.lock().unwrap().handle(std::time::SystemTime::now(), &r)
//!     }
//! }
//!
//! let ca = Fake(Mutex::new(FakeServer::new(FakeConfig { validation: Validation::AlwaysValid, processing_polls: 0, ..FakeConfig::default() })));
//! let client = Client::builder(FakeServer::directory_url()).http_client(ca).build()?;
//! let account_key = Arc::new(KeyPair::generate(Algorithm::Es256)?);
//! client.create_account(account_key, NewAccount::default().agree_to_terms_of_service(true))?;
//! let solver = Http01Solver::new(Http01Responder::new());
//! let cert = client.issue(&["example.com"], &solver, None)?;
//! assert!(cert.chain_pem.starts_with("-----BEGIN CERTIFICATE-----"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Renewal
//!
//! [`Client::renew`] renews a certificate when it is due: it checks the CA's ACME Renewal
//! Information (RFC 9773) when a check is due, renews at a time chosen at random inside the
//! CA's suggested window (at once when the window has begun), falls back to renewing when a
//! third of the lifetime remains when the CA offers no ARI, and names the old certificate in
//! the new order's `replaces`. The schedule lives in a
//! [`RenewalState`](proto::renewal::RenewalState): store it after every call (its JSON form
//! is documented in [`proto::renewal`]) so that a restart keeps the chosen time. A renewal
//! loop on a thread of its own:
//!
//! ```no_run
//! use acme_blocking::proto::renewal::RenewalState;
//! use acme_blocking::{Client, Http01Responder, Http01Solver, Renewal};
//! use std::time::{Duration, SystemTime};
//!
//! # fn renewal_loop(client: Client) -> Result<(), Box<dyn std::error::Error>> {
//! let solver = Http01Solver::new(Http01Responder::new()); // serve it on port 80, as above
//! let mut state = match std::fs::read_to_string("renewal.json") {
//!     Ok(json) => RenewalState::from_json(&json)?,
//!     Err(_) => RenewalState::new(),
//! };
//! loop {
//!     let current = std::fs::read("cert.pem")?;
//!     let wake = match client.renew(&current, &["example.com"], &solver, &mut state) {
//!         Ok(Renewal::Renewed(cert)) => {
//!             std::fs::write("key.pem", cert.key.to_pkcs8_pem().as_bytes())?;
//!             std::fs::write("cert.pem", &cert.chain_pem)?;
//!             SystemTime::now() // the new certificate's first check
//!         }
//!         Ok(Renewal::NotYet { at, decision }) => {
//!             if let Some(url) = &decision.explanation_url {
//!                 println!("the CA explains its renewal window at {url}");
//!             }
//!             at
//!         }
//!         // A failed attempt: back off, as long as the CA asks when it says.
//!         Err(e) => {
//!             eprintln!("renewal failed: {e}");
//!             let retry = e.acme().and_then(|e| e.retry_after());
//!             retry.unwrap_or_else(|| SystemTime::now() + Duration::from_secs(3600))
//!         }
//!         Ok(_) => SystemTime::now() + Duration::from_secs(3600),
//!     };
//!     std::fs::write("renewal.json", state.to_json())?;
//!     let pause = wake.duration_since(SystemTime::now()).unwrap_or_default();
//!     std::thread::sleep(pause);
//! }
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
pub mod dns01;
pub mod http01;
pub mod http_client;
mod multi;
mod renew;
mod runtime;
pub mod solver;
#[cfg(feature = "tls-alpn-01")]
pub mod tls_alpn01;

pub use client::{Client, ClientBuilder};
// The adapters share one client (acme-async's, run here on the calling thread), and so its
// error and result types; acme-async brings no runtime.
pub use acme_async::{Error, IssuedCertificate, Renewal, Step};
pub use dns01::ChalltestsrvDns01Solver;
pub use multi::MultiSolver;
pub use solver::{Http01Solver, Solver, SolverError};
#[cfg(feature = "tls-alpn-01")]
pub use tls_alpn01::{TlsAlpn01Responder, TlsAlpn01Solver};
// The core and crypto crates, re-exported so users need one dependency.
pub use acme_crypto as crypto;
pub use acme_proto as proto;

pub use http_client::HttpClient;
#[cfg(feature = "default-client")]
pub use http_client::{DefaultClient, InvalidRootCertificate};
pub use http01::{Http01Responder, ServerHandle};
