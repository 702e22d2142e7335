//! The Tokio runtime binding of the async client.

use crate::http_client::{BoxFuture, HttpClient};
use acme_async::Runtime;
use std::sync::Arc;
use std::time::Duration;

/// Binds [`acme_async::Client`] to Tokio: its timer and the default HTTP client.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

impl Runtime for Tokio {
    const USER_AGENT: &'static str = concat!("acme-tokio/", env!("CARGO_PKG_VERSION"));

    fn sleep(duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn default_http_client(
        extra_roots: &[Vec<u8>],
        allow_http: bool,
    ) -> Result<Arc<dyn HttpClient>, String> {
        #[cfg(feature = "default-client")]
        {
            let mut b = crate::http_client::DefaultClient::builder().allow_http(allow_http);
            for pem in extra_roots {
                b = b.add_root_pem(pem).map_err(|e| e.to_string())?;
            }
            Ok(Arc::new(b.build().map_err(|e| e.to_string())?))
        }
        #[cfg(not(feature = "default-client"))]
        {
            let _ = (extra_roots, allow_http);
            Err(
                "no HTTP client: enable the `default-client` feature or call `http_client()`"
                    .into(),
            )
        }
    }
}

/// The ACME client on Tokio.
pub type Client = acme_async::Client<Tokio>;
/// Builds a [`Client`].
pub type ClientBuilder = acme_async::ClientBuilder<Tokio>;
