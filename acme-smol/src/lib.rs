//! acme-smol.
