//! smol / async-std adapter for the sans-IO [`acme_proto`] ACME client.
//!
//! Executor-agnostic: nothing here needs a particular runtime. Sockets and timers come from
//! async-io, the default client drives its connections inside the request futures (no
//! spawned tasks), and the http-01 server runs on its own thread. It works under smol,
//! async-std, or any executor that can poll `Send` futures.
//!
//! - [`http_client`]: the [`HttpClient`] seam that performs the
//!   requests the core emits, and the built-in [`DefaultClient`]
//!   (hyper 1 over async-io + futures-rustls with the `ring` provider; feature
//!   `default-client`, on by default).
//! - [`http01`]: an http-01 challenge responder, usable as a path handler in your own server
//!   or as a small standalone hyper server.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod error;
pub mod http01;
pub mod http_client;
pub mod solver;

pub use client::{Client, ClientBuilder, IssuedCertificate, Step};
pub use error::Error;
#[cfg(feature = "default-client")]
pub use http_client::DefaultClient;
pub use http_client::HttpClient;
pub use http01::Http01Responder;
pub use solver::{Http01Solver, Solver, SolverError};
// The core and crypto crates, re-exported so users need one dependency.
pub use acme_crypto as crypto;
pub use acme_proto as proto;
#[cfg(feature = "default-client")]
mod tls;
