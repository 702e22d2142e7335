//! What a runtime binding provides: sleeping, and a default HTTP client.

use crate::http_client::{BoxFuture, HttpClient};
use std::sync::Arc;
use std::time::Duration;

/// A runtime binding. `acme-tokio` and `acme-smol` implement it; implement it yourself to
/// run the client on another executor.
pub trait Runtime: Send + Sync + 'static {
    /// Product token added to the `User-Agent`, e.g. `acme-tokio/0.1.0`.
    const USER_AGENT: &'static str;

    /// A future that completes after `duration`.
    fn sleep(duration: Duration) -> BoxFuture<'static, ()>;

    /// The HTTP client used when the caller brings none: TLS verification on, `extra_roots`
    /// (PEM) trusted besides the platform's, plain `http://` only when `allow_http`.
    fn default_http_client(
        extra_roots: &[Vec<u8>],
        allow_http: bool,
    ) -> Result<Arc<dyn HttpClient>, String>;
}
