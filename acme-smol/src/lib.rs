//! smol / async-std adapter for the sans-IO [`acme_proto`] ACME client.
//!
//! Executor-agnostic: nothing here needs a particular runtime. Sockets and timers come from
//! async-io, the default client drives its connections inside the request futures (no
//! spawned tasks), and the http-01 server runs on its own thread. It works under smol,
//! async-std, or any executor that can poll `Send` futures.
//!
//! - [`http_client`]: the [`HttpClient`](http_client::HttpClient) seam that performs the
//!   requests the core emits, and the built-in [`DefaultClient`](http_client::DefaultClient)
//!   (hyper 1 over async-io + futures-rustls with the `ring` provider; feature
//!   `default-client`, on by default).
//! - [`http01`]: an http-01 challenge responder, usable as a path handler in your own server
//!   or as a small standalone hyper server.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod http01;
pub mod http_client;
#[cfg(feature = "default-client")]
mod tls;
