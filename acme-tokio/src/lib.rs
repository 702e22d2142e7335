//! acme-tokio.
