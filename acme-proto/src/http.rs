//! HTTP request descriptions the core emits and the responses an adapter feeds back.
//!
//! The core speaks the [`http`] crate's types (hyper, ureq and reqwest all do), with one
//! deliberate exception: a [`Request`]'s URL stays the exact string the server wrote, because
//! the JWS `url` header must match it byte for byte (RFC 8555 §6.4). Adapters parse it
//! only to open a connection; [`transport`] holds the URL, redirect and body-size rules they
//! all apply.

use std::fmt;

pub use http::{HeaderMap, HeaderValue, Method, StatusCode};

pub mod transport;

/// The largest response body the core accepts; adapters should stop reading at this size and
/// report [`TransportErrorKind::BodyTooLarge`]. Certificate chains are a few kilobytes; the
/// largest legitimate ACME bodies (orders with hundreds of identifiers) stay well under it.
pub const MAX_BODY_SIZE: usize = 1 << 20;

/// Identifies one request the core emitted; hand it back with the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// What kind of ACME call a request is; for logs, metrics and round-trip accounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `GET` of the directory.
    Directory,
    /// `HEAD` (or `GET`) of `newNonce`.
    NewNonce,
    /// `POST` to `newAccount`.
    NewAccount,
    /// `POST` to an account URL (update, deactivate, POST-as-GET).
    Account,
    /// `POST` to `keyChange`.
    KeyChange,
    /// POST-as-GET of an account's orders list.
    OrdersList,
    /// `POST` to `newOrder`.
    NewOrder,
    /// POST-as-GET of an order.
    Order,
    /// `POST` to `newAuthz`.
    NewAuthz,
    /// POST-as-GET or update of an authorization.
    Authorization,
    /// `POST {}` to a challenge URL.
    Challenge,
    /// `POST` to an order's `finalize` URL.
    Finalize,
    /// POST-as-GET of a certificate URL.
    Certificate,
    /// `POST` to `revokeCert`.
    RevokeCert,
    /// `GET` of `renewalInfo` (RFC 9773).
    RenewalInfo,
    /// Not an ACME resource: a request an adapter makes with the same HTTP client for
    /// something else (e.g. a DNS provider's API to publish a dns-01 record).
    Other,
}

/// An HTTP request the adapter must perform.
#[derive(Clone, PartialEq, Eq)]
#[must_use = "a request that is not sent stalls the flow"]
pub struct Request {
    /// Hand this back with the response.
    pub id: RequestId,
    /// Which ACME resource this request addresses.
    pub endpoint: Endpoint,
    /// `GET`, `HEAD` or `POST`.
    pub method: Method,
    /// The exact URL, as the server (or the user, for the directory) wrote it.
    pub url: String,
    /// Request headers: `User-Agent` always; `Content-Type: application/jose+json` on POST;
    /// `Accept` where the response type matters.
    pub headers: HeaderMap,
    /// Request body (a flattened JWS for POST; empty otherwise).
    pub body: Vec<u8>,
    /// Adapters may follow redirects for this request only when this is true (the directory
    /// `GET`); every other ACME request must not be redirected.
    pub follow_redirects: bool,
}

impl fmt::Debug for Request {
    // The body is a signed JWS: short-lived, but a credential-bearing artefact all the same,
    // and noisy in logs. Show its size only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("id", &self.id)
            .field("endpoint", &self.endpoint)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// An HTTP response, as the adapter received it (body already read, at most
/// [`MAX_BODY_SIZE`] bytes).
pub type Response = http::Response<Vec<u8>>;

/// Why a request produced no response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The TCP connection could not be established (refused, unreachable, DNS failure).
    Connect,
    /// The TLS handshake failed (including certificate verification).
    Tls,
    /// No response (or no complete body) within the adapter's timeout.
    Timeout,
    /// The response body exceeded the size cap.
    BodyTooLarge,
    /// The connection broke mid-exchange, or the peer spoke invalid HTTP.
    Io,
    /// The URL could not be used (bad syntax, `http://` when not allowed).
    InvalidUrl,
    /// Anything else the adapter could not classify.
    Other,
}

/// A transport failure reported by the adapter for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    /// Classification; the core retries `Connect`, `Timeout` and `Io` on idempotent calls.
    pub kind: TransportErrorKind,
    /// Human-readable description from the HTTP client.
    pub message: String,
}

impl TransportError {
    /// Build a transport error.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        TransportError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for TransportError {}
