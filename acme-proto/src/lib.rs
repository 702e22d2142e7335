//! Sans-IO core of an ACME (RFC 8555) client.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod http;
pub mod msgs;
pub mod signer;
pub mod error;
pub mod flow;
pub use error::Error;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
