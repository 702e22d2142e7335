//! smol / async-std adapter for the sans-IO [`acme_proto`] ACME client.
//!
//! Executor-agnostic: nothing here needs a particular runtime. Sockets and timers come from
//! async-io, the default client drives its connections inside the request futures (no
//! spawned tasks), and the http-01 server runs on its own thread. It works under smol,
//! async-std, or any executor that can poll `Send` futures.
//!
//! [`Client`] drives the core's flows over an [`HttpClient`] (by default [`DefaultClient`]:
//! hyper 1 over async-io + futures-rustls with the `ring` provider, pooled keep-alive
//! connections, `TCP_NODELAY`, verified TLS, capped bodies; feature `default-client`).
//!
//! - [`solver`]: how challenges are published ([`Http01Solver`] over an [`Http01Responder`]).
//! - [`http01`]: the http-01 responder, as a path handler for your own server or as a small
//!   standalone server.
//!
//! # Example
//!
//! Issuing a certificate. To run offline, this example brings its own [`HttpClient`]: the
//! core's scripted fake CA. Against a real CA, drop `.http_client(..)` and serve the
//! responder (`responder.serve(addr)`).
//!
//! ```
//! use acme_smol::http_client::BoxFuture;
//! use acme_smol::proto::http::{Request, Response, TransportError};
//! use acme_smol::proto::testing::{FakeConfig, FakeServer, Validation};
//! use acme_smol::proto::flow::NewAccount;
//! use acme_smol::crypto::{Algorithm, KeyPair};
//! use acme_smol::{Client, Http01Responder, Http01Solver, HttpClient};
//! use std::sync::{Arc, Mutex};
//!
//! struct Fake(Mutex<FakeServer>);
//! impl HttpClient for Fake {
//!     fn execute(&self, r: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
//!         let resp = self.0.lock().unwrap().handle(std::time::SystemTime::now(), &r);
//!         Box::pin(async move { resp })
//!     }
//! }
//!
//! smol::block_on(async {
//!     let ca = Fake(Mutex::new(FakeServer::new(FakeConfig { validation: Validation::AlwaysValid, processing_polls: 0, ..FakeConfig::default() })));
//!     let client = Client::builder(FakeServer::directory_url()).http_client(ca).build()?;
//!     let account_key = Arc::new(KeyPair::generate(Algorithm::Es256)?);
//!     client.create_account(account_key, NewAccount::default().agree_to_terms_of_service(true)).await?;
//!     let solver = Http01Solver::new(Http01Responder::new());
//!     let cert = client.issue(&["example.com"], &solver, None).await?;
//!     assert!(cert.chain_pem.starts_with("-----BEGIN CERTIFICATE-----"));
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod http01;
pub mod http_client;
pub mod solver;

pub mod runtime;

pub use acme_async::{Error, IssuedCertificate, Step};
#[cfg(feature = "default-client")]
pub use http_client::DefaultClient;
pub use http_client::HttpClient;
pub use http01::Http01Responder;
pub use runtime::{Client, ClientBuilder, Smol};
pub use solver::{Http01Solver, Solver, SolverError};
// The core and crypto crates, re-exported so users need one dependency.
pub use acme_async;
pub use acme_crypto as crypto;
pub use acme_proto as proto;
#[cfg(feature = "default-client")]
mod tls;
