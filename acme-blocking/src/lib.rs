//! Blocking adapter for the [`acme_proto`] ACME (RFC 8555) client: plain `std` threads, no
//! async runtime.
//!
//! * [`http_client`]: the [`HttpClient`] trait the blocking driver sends requests through,
//!   and [`DefaultClient`] (feature `default-client`, on by default), built on `ureq` 3 with
//!   rustls (ring), verified TLS and keep-alive connection reuse.
//! * [`http01`]: [`Http01Responder`], which answers http-01 challenges, either mounted in
//!   your own server or served by its own small HTTP/1.1 server.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod error;
pub mod http01;
pub mod http_client;
pub mod solver;

pub use client::{Client, ClientBuilder, IssuedCertificate, Step};
pub use error::Error;
pub use solver::{Http01Solver, Solver, SolverError};
// The core and crypto crates, re-exported so users need one dependency.
pub use acme_crypto as crypto;
pub use acme_proto as proto;

pub use http_client::HttpClient;
#[cfg(feature = "default-client")]
pub use http_client::{DefaultClient, InvalidRootCertificate};
pub use http01::{Http01Responder, ServerHandle};
