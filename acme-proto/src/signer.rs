//! The signing seam: the core asks a [`Signer`] for its algorithm, public JWK and signatures.
//!
//! `acme-crypto` implements [`Signer`] on RustCrypto keys; an HSM or KMS-held key can implement
//! it too. The core never sees private key material.

use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};
use std::fmt;

/// A public key as a JSON Web Key (RFC 7517), restricted to the members ACME needs.
///
/// Member values are base64url without padding, minimal-octet for RSA integers
/// (RFC 7518 §6.3.1) and fixed-width for EC coordinates (RFC 7518 §6.2.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Jwk {
    /// `kty: "EC"`.
    Ec {
        /// Curve name: `P-256`, `P-384` or `P-521`.
        crv: String,
        /// base64url X coordinate.
        x: String,
        /// base64url Y coordinate.
        y: String,
    },
    /// `kty: "RSA"`.
    Rsa {
        /// base64url modulus.
        n: String,
        /// base64url public exponent.
        e: String,
    },
    /// `kty: "OKP"` (RFC 8037).
    Okp {
        /// Curve name, e.g. `Ed25519`.
        crv: String,
        /// base64url public key.
        x: String,
    },
}

impl Jwk {
    /// The JWK as a JSON object holding exactly the required members, in lexicographic order
    /// and without whitespace: the form RFC 7638 §3 hashes, and the form embedded in JWS headers.
    pub fn to_canonical_json(&self) -> String {
        // Members are base64url strings (no characters that need escaping) or fixed names,
        // yet serialize through serde_json so a hostile HSM-provided value cannot break JSON.
        let s = |v: &str| serde_json::Value::String(v.to_owned()).to_string();
        match self {
            Jwk::Ec { crv, x, y } => {
                format!(
                    r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
                    s(crv),
                    s(x),
                    s(y)
                )
            }
            Jwk::Rsa { n, e } => format!(r#"{{"e":{},"kty":"RSA","n":{}}}"#, s(e), s(n)),
            Jwk::Okp { crv, x } => format!(r#"{{"crv":{},"kty":"OKP","x":{}}}"#, s(crv), s(x)),
        }
    }

    /// The JWK as a `serde_json` value (same members as [`Jwk::to_canonical_json`]).
    pub fn to_json_value(&self) -> serde_json::Value {
        // The canonical form is always valid JSON (built from serialized strings above).
        serde_json::from_str(&self.to_canonical_json()).unwrap_or(serde_json::Value::Null)
    }

    /// The RFC 7638 thumbprint: base64url(SHA-256(canonical JWK)), no padding.
    pub fn thumbprint(&self) -> String {
        let digest = Sha256::digest(self.to_canonical_json().as_bytes());
        Base64UrlUnpadded::encode_string(&digest)
    }

    /// Parse a JWK JSON object (extra members such as `alg`, `use` or `kid` are ignored).
    pub fn from_json(value: &serde_json::Value) -> Result<Jwk, JwkError> {
        let obj = value.as_object().ok_or(JwkError("not a JSON object"))?;
        let get = |k: &'static str| -> Result<String, JwkError> {
            obj.get(k)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .ok_or(JwkError(k))
        };
        match obj.get("kty").and_then(|v| v.as_str()) {
            Some("EC") => Ok(Jwk::Ec {
                crv: get("crv")?,
                x: get("x")?,
                y: get("y")?,
            }),
            Some("RSA") => Ok(Jwk::Rsa {
                n: get("n")?,
                e: get("e")?,
            }),
            Some("OKP") => Ok(Jwk::Okp {
                crv: get("crv")?,
                x: get("x")?,
            }),
            _ => Err(JwkError("kty")),
        }
    }
}

/// A JWK could not be parsed; names the missing or invalid member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwkError(pub &'static str);

impl fmt::Display for JwkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JWK: missing or invalid member `{}`", self.0)
    }
}

impl std::error::Error for JwkError {}

/// A signing failure reported by a [`Signer`] (for example an HSM that is unreachable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignError(pub String);

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "signing failed: {}", self.0)
    }
}

impl std::error::Error for SignError {}

/// A key that signs JWS messages (RFC 7515) for ACME.
///
/// Implementations must be deterministic in what they *claim* (`alg`, `jwk`) for the
/// lifetime of the value; signatures may be randomized or deterministic (RFC 6979).
///
/// ```
/// use acme_proto::signer::{Jwk, SignError, Signer};
///
/// /// A key held elsewhere, e.g. in a KMS.
/// struct Remote;
///
/// impl Signer for Remote {
///     fn alg(&self) -> &str { "ES256" }
///     fn jwk(&self) -> Jwk {
///         Jwk::Ec { crv: "P-256".into(), x: "AAAA".into(), y: "AAAA".into() }
///     }
///     fn sign(&self, _signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
///         Err(SignError("KMS unreachable".into()))
///     }
/// }
/// # let _ = Remote.jwk().thumbprint();
/// ```
pub trait Signer: Send + Sync {
    /// The JWS `alg` value, e.g. `ES256`, `ES384`, `ES512`, `RS256`, `EdDSA`.
    fn alg(&self) -> &str;

    /// The public key.
    fn jwk(&self) -> Jwk;

    /// Sign the JWS signing input (`base64url(protected) || '.' || base64url(payload)`).
    ///
    /// ECDSA signatures must be the fixed-width `r || s` form of RFC 7518 §3.4, not DER.
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError>;
}

impl<T: Signer + ?Sized> Signer for std::sync::Arc<T> {
    fn alg(&self) -> &str {
        (**self).alg()
    }
    fn jwk(&self) -> Jwk {
        (**self).jwk()
    }
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        (**self).sign(signing_input)
    }
}

impl<T: Signer + ?Sized> Signer for Box<T> {
    fn alg(&self) -> &str {
        (**self).alg()
    }
    fn jwk(&self) -> Jwk {
        (**self).jwk()
    }
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        (**self).sign(signing_input)
    }
}

/// A MAC key for External Account Binding (RFC 8555 §7.3.4): an `HS256`/`HS384`/`HS512` key
/// the CA issued together with its key identifier.
///
/// `acme-crypto` provides `EabKey`; the core only asks for the algorithm, the key ID and a MAC.
pub trait MacKey: Send + Sync {
    /// The JWS `alg`: `HS256`, `HS384` or `HS512`.
    fn alg(&self) -> &str;
    /// The key identifier the CA issued (the JWS `kid`).
    fn key_id(&self) -> &str;
    /// The MAC of the JWS signing input.
    fn mac(&self, signing_input: &[u8]) -> Vec<u8>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let jwk = Jwk::Rsa {
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
            e: "AQAB".into(),
        };
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
