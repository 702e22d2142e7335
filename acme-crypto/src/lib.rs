//! acme-crypto (work in progress).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod alpn;
mod cert;
mod csr;
mod eab;
mod error;
mod ident;
mod key;
mod pem;

pub use alpn::{ACME_TLS_ALPN_PROTOCOL, ID_PE_ACME_IDENTIFIER, TlsAlpn01Cert, tls_alpn01_certificate};
pub use cert::{CertificateChain, CertificateInfo, ari_certificate_id, select_chain};
pub use csr::{CsrOptions, csr_der, csr_from_pem_or_der, csr_identifiers};
pub use eab::{EabKey, MacAlgorithm};
pub use error::Error;
pub use ident::identifier;
pub use key::{Algorithm, KeyPair, RSA_MAX_BITS, RSA_MIN_BITS, jwk_from_spki_der};

/// Most certificates accepted in one chain by [`CertificateChain::from_pem`].
pub const MAX_CHAIN_LEN: usize = 16;
