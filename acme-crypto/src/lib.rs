//! Cryptography for an ACME (RFC 8555) client, on RustCrypto.
//!
//! `acme-proto` is the sans-IO core and never touches key material: it asks an
//! [`acme_proto::signer::Signer`] for `alg`, `jwk` and signatures, and an
//! [`acme_proto::signer::MacKey`] for External Account Binding MACs. This crate supplies both,
//! and everything else cryptographic a client needs:
//!
//! | need | here |
//! |---|---|
//! | account and certificate keys (ES256/384/512, RS256, EdDSA): generate, load, store | [`KeyPair`], [`Algorithm`] |
//! | JWS signing, JWK, RFC 7638 thumbprint | `impl Signer for KeyPair`, [`KeyPair::public_jwk`], [`KeyPair::thumbprint`] |
//! | External Account Binding (HS256/384/512) | [`EabKey`], [`MacAlgorithm`] |
//! | identifiers from user text (IDNA / UTS #46, IP literals, wildcards) | [`identifier`] |
//! | CSR for finalization, or a CSR built elsewhere | [`csr_der`], [`csr_from_pem_or_der`], [`csr_identifiers`] |
//! | the issued chain: parse, inspect, pick the preferred one | [`CertificateChain`], [`CertificateInfo`], [`select_chain`], [`select_chain_pem`] |
//! | ACME Renewal Information certificate ID (RFC 9773) | [`ari_certificate_id`] |
//! | a certificate's facts for the renewal decision, and its randomness | [`renewal_facts`], [`random_u64`] |
//! | an account stored between runs (directory, account URL, PKCS#8 key) as a `0600` JSON file | [`AccountFile`] |
//! | tls-alpn-01 challenge certificate (RFC 8737) | [`tls_alpn01_certificate`] |
//! | tls-alpn-01 responder: a rustls certificate resolver (feature `rustls`) | `TlsAlpn01Resolver` |
//! | the adapters' TLS client configuration: `ring` provider, extra roots, URL checks (feature `rustls`) | `tls_client` |
//! | dns-01 by RFC 2136 dynamic update with TSIG, TXT propagation queries (feature `rfc2136`) | `dns` |
//!
//! ```
//! use acme_crypto::{Algorithm, CsrOptions, KeyPair, csr_der, identifier};
//! use acme_proto::signer::Signer;
//!
//! // The account key: sign ACME requests with it (the core calls `sign` for you).
//! let account = KeyPair::generate(Algorithm::Es256)?;
//! assert_eq!(account.alg(), "ES256");
//! let thumbprint = account.thumbprint(); // goes into every key authorization
//! assert_eq!(thumbprint.len(), 43);
//!
//! // Keep it: PKCS#8 PEM, zeroized when dropped.
//! let stored = account.to_pkcs8_pem();
//! assert_eq!(KeyPair::from_pem(&stored)?.thumbprint(), thumbprint);
//!
//! // Identifiers as users type them.
//! let ids = vec![identifier("Bücher.example")?, identifier("*.example.com")?, identifier("192.0.2.1")?];
//! assert_eq!(ids[0].value, "xn--bcher-kva.example");
//!
//! // A fresh certificate key (never the account key) and the CSR for finalization.
//! let cert_key = KeyPair::generate(Algorithm::Es256)?;
//! let csr = csr_der(&ids, &cert_key, &CsrOptions::default())?;
//! assert_eq!(csr[0], 0x30); // a DER SEQUENCE, ready to base64url into the finalize request
//! # Ok::<(), acme_crypto::Error>(())
//! ```
//!
//! # Features
//!
//! - `rsa` (default): RSA keys (`RS256`) through the `rsa` crate. **The `rsa` crate's
//!   private-key operations are not constant-time** (RUSTSEC-2023-0071, the "Marvin"
//!   timing side channel); signing is blinded, but if a local attacker could time many of your
//!   RSA signatures, prefer ECDSA keys or build without this feature
//!   (`default-features = false`). Without it, RSA keys are refused with
//!   [`Error::UnsupportedAlgorithm`]; RSA *public* keys in [`jwk_from_spki_der`] still work.
//! - `rustls`: `TlsAlpn01Resolver`, a rustls `ResolvesServerCert` serving tls-alpn-01
//!   certificates (enabled by the adapters' `tls-alpn-01` feature), and `tls_client`, the
//!   rustls client configuration of the adapters' default HTTP clients (enabled by their
//!   `default-client` feature).
//! - `rfc2136`: the `dns` module: RFC 2136 dynamic updates with TSIG and TXT queries, sans-IO,
//!   on `hickory-proto` (enabled by the adapters' `rfc2136` feature).
//!
//! # Secrets
//!
//! Private keys are held in RustCrypto types that zeroize on drop; every buffer this crate
//! fills with key material (PKCS#8/SEC1 DER and PEM, decoded PEM bodies, EAB MAC keys) is
//! [`zeroize::Zeroizing`]. `Debug` of [`KeyPair`], [`EabKey`] and [`TlsAlpn01Cert`] shows no
//! key bytes, and no [`Error`] message contains any.
//!
//! # Panics
//!
//! None on any input: every failure is an [`Error`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod account_file;
mod alpn;
#[cfg(feature = "rustls")]
mod alpn_resolver;
mod cert;
mod csr;
#[cfg(feature = "rfc2136")]
pub mod dns;
mod eab;
mod error;
mod ident;
mod key;
mod pem;
mod renewal;
#[cfg(test)]
mod tests;
#[cfg(feature = "rustls")]
pub mod tls_client;

pub use account_file::{ACCOUNT_FILE_VERSION, AccountFile};
pub use alpn::{
    ACME_TLS_ALPN_PROTOCOL, ID_PE_ACME_IDENTIFIER, TlsAlpn01Cert, tls_alpn01_certificate,
};
#[cfg(feature = "rustls")]
pub use alpn_resolver::TlsAlpn01Resolver;
pub use cert::{
    CertificateChain, CertificateInfo, ari_certificate_id, select_chain, select_chain_pem,
};
pub use csr::{CsrOptions, csr_der, csr_from_pem_or_der, csr_identifiers};
pub use eab::{EabKey, MacAlgorithm};
pub use error::Error;
pub use ident::identifier;
pub use key::{Algorithm, KeyPair, RSA_MAX_BITS, RSA_MIN_BITS, jwk_from_spki_der};
pub use renewal::{random_u64, renewal_facts};
pub use zeroize::Zeroizing;

/// Most certificates accepted in one chain by [`CertificateChain::from_pem`].
pub const MAX_CHAIN_LEN: usize = 16;
