//! Blocking adapter for the [`acme_proto`] ACME (RFC 8555) client: plain `std` threads, no
//! async runtime.
//!
//! [`Client`] drives the core's flows over an [`HttpClient`] (by default [`DefaultClient`]:
//! ureq 3 with rustls (ring), verified TLS, keep-alive connection reuse, `TCP_NODELAY`,
//! capped bodies; feature `default-client`, on by default). Clones share one session.
//!
//! - [`solver`]: how challenges are published ([`Http01Solver`] over an [`Http01Responder`]).
//! - [`http01`]: the http-01 responder, mountable in your own server or served by its own
//!   small HTTP/1.1 server on a background thread.
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
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
pub mod http01;
pub mod http_client;
pub mod solver;

pub use client::{Client, ClientBuilder, IssuedCertificate, Step};
// The adapters share one error type; acme-async brings no runtime (its dependencies are
// acme-proto, acme-crypto and tracing).
pub use acme_async::Error;
pub use solver::{Http01Solver, Solver, SolverError};
// The core and crypto crates, re-exported so users need one dependency.
pub use acme_crypto as crypto;
pub use acme_proto as proto;

pub use http_client::HttpClient;
#[cfg(feature = "default-client")]
pub use http_client::{DefaultClient, InvalidRootCertificate};
pub use http01::{Http01Responder, ServerHandle};
