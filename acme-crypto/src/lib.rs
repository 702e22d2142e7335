//! acme-crypto.
