//! The crate's one error type.

use acme_proto::msgs::identifier::IdentifierError;
use std::fmt;

/// Everything that can go wrong in `acme-crypto`.
///
/// The `Display` text names what was wrong (which key, which input, which member); it never
/// contains private key material.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The operating system's random number generator failed.
    Random(String),
    /// The algorithm or key type is not supported (or its Cargo feature is disabled).
    UnsupportedAlgorithm(String),
    /// Generating a key failed.
    KeyGeneration(String),
    /// A private or public key could not be parsed (names the format and the reason).
    InvalidKey(String),
    /// The operation needs a different kind of key (for example SEC1 export of an RSA key).
    WrongKeyType {
        /// The operation that was asked for.
        operation: &'static str,
        /// The JWS algorithm of the key it was asked of.
        alg: &'static str,
    },
    /// Encoding a key, CSR or certificate as DER or PEM failed.
    Encoding(String),
    /// A PEM document is malformed (names the block and the problem).
    Pem(String),
    /// An External Account Binding MAC key is unusable.
    InvalidMacKey(String),
    /// User text is not a usable identifier.
    InvalidIdentifier {
        /// The text as given.
        input: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An identifier was rejected by `acme-proto`'s validation.
    Identifier(IdentifierError),
    /// The identifier cannot be used for this operation (names the identifier and why).
    UnsupportedIdentifier(String),
    /// A requested CSR common name is unusable.
    InvalidCommonName(String),
    /// Building or parsing a certificate signing request failed.
    Csr(String),
    /// A certificate could not be parsed or lacks something that was needed.
    Certificate(String),
    /// A PEM document held no `CERTIFICATE` block.
    NoCertificates,
    /// A PEM document held more certificates than the limit.
    TooManyCertificates {
        /// The limit ([`crate::MAX_CHAIN_LEN`]).
        limit: usize,
    },
    /// Signing failed.
    Signing(String),
    /// An [`AccountFile`](crate::AccountFile) could not be read, parsed or written (names the
    /// file or member and the reason, never the key).
    AccountFile(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Random(e) => write!(f, "the system random number generator failed: {e}"),
            Error::UnsupportedAlgorithm(e) => write!(f, "unsupported algorithm or key type: {e}"),
            Error::KeyGeneration(e) => write!(f, "key generation failed: {e}"),
            Error::InvalidKey(e) => write!(f, "invalid key: {e}"),
            Error::WrongKeyType { operation, alg } => {
                write!(f, "{operation} is not possible with an {alg} key")
            }
            Error::Encoding(e) => write!(f, "encoding failed: {e}"),
            Error::Pem(e) => write!(f, "malformed PEM: {e}"),
            Error::InvalidMacKey(e) => write!(f, "invalid EAB MAC key: {e}"),
            Error::InvalidIdentifier { input, reason } => {
                write!(f, "invalid identifier {input:?}: {reason}")
            }
            Error::Identifier(e) => write!(f, "invalid identifier: {e}"),
            Error::UnsupportedIdentifier(e) => write!(f, "unsupported identifier: {e}"),
            Error::InvalidCommonName(e) => write!(f, "invalid CSR common name: {e}"),
            Error::Csr(e) => write!(f, "certificate signing request: {e}"),
            Error::Certificate(e) => write!(f, "certificate: {e}"),
            Error::NoCertificates => f.write_str("no CERTIFICATE block found in PEM input"),
            Error::TooManyCertificates { limit } => {
                write!(f, "more than {limit} certificates in one chain")
            }
            Error::Signing(e) => write!(f, "signing failed: {e}"),
            Error::AccountFile(e) => write!(f, "account file: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Identifier(e) => Some(e),
            _ => None,
        }
    }
}

impl From<IdentifierError> for Error {
    fn from(e: IdentifierError) -> Self {
        Error::Identifier(e)
    }
}
