//! The HTTP seam: what the async client needs from an HTTP stack.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use acme_proto::http::{Request, Response, TransportError};

/// A boxed, `Send` future; what [`HttpClient::execute`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Performs the HTTP requests the sans-IO core emits.
///
/// Implement it to bring your own HTTP stack (a proxy-aware client, a test double, …).
/// An implementation must:
///
/// - send `request.method` to `request.url` with `request.headers` and `request.body` as-is;
/// - follow redirects only when `request.follow_redirects` is true;
/// - return the response with its whole body, refusing bodies over
///   [`acme_proto::http::MAX_BODY_SIZE`] with
///   [`TransportErrorKind::BodyTooLarge`](acme_proto::http::TransportErrorKind::BodyTooLarge);
/// - report HTTP error statuses (4xx, 5xx) as responses, not as errors: ACME problem
///   documents travel in them.
pub trait HttpClient: Send + Sync + 'static {
    /// Performs `request` and returns the response with its whole body.
    fn execute(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>>;
}

impl<T: HttpClient + ?Sized> HttpClient for Arc<T> {
    fn execute(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        (**self).execute(request)
    }
}

impl<T: HttpClient + ?Sized> HttpClient for Box<T> {
    fn execute(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        (**self).execute(request)
    }
}
