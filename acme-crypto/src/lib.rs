//! acme-crypto (work in progress).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod key;
mod pem;

pub use error::Error;
pub use key::{Algorithm, KeyPair, RSA_MAX_BITS, RSA_MIN_BITS, jwk_from_spki_der};

/// Most certificates accepted in one chain by [`CertificateChain::from_pem`].
pub const MAX_CHAIN_LEN: usize = 16;
