//! The adapter's error: the core's, plus what only an adapter can meet.

use acme_proto::msgs::identifier::Identifier;
use std::fmt;

/// Errors of [`Client`](crate::Client) operations.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The ACME exchange failed (the CA's problem, a protocol violation, transport, …).
    Acme(acme_proto::Error),
    /// A key, CSR, identifier or certificate could not be made or read.
    Crypto(acme_crypto::Error),
    /// A solver could not publish a challenge.
    Solver {
        /// The identifier whose challenge failed.
        identifier: Identifier,
        /// The solver's message.
        message: String,
    },
    /// The client is misconfigured (e.g. a plain-HTTP directory without `allow_http`).
    Config(String),
}

impl Error {
    /// The core error, if this is one (to match on problem types, rate limits, …).
    pub fn acme(&self) -> Option<&acme_proto::Error> {
        match self {
            Error::Acme(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Acme(e) => e.fmt(f),
            Error::Crypto(e) => e.fmt(f),
            Error::Solver {
                identifier,
                message,
            } => write!(
                f,
                "could not present the challenge for {identifier}: {message}"
            ),
            Error::Config(m) => write!(f, "configuration error: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Acme(e) => Some(e),
            Error::Crypto(e) => Some(e),
            _ => None,
        }
    }
}

impl From<acme_proto::Error> for Error {
    fn from(e: acme_proto::Error) -> Self {
        Error::Acme(e)
    }
}

impl From<acme_crypto::Error> for Error {
    fn from(e: acme_crypto::Error) -> Self {
        Error::Crypto(e)
    }
}
