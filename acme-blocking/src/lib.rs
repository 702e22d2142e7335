//! acme-blocking.
