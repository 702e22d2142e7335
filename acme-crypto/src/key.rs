//! Private keys for ACME accounts and certificates, and their JWS signatures.

use crate::{Error, pem};
use acme_proto::signer::{Jwk, SignError, Signer as JwsSigner};
use base64ct::{Base64UrlUnpadded, Encoding};
use der::Decode;
use der::asn1::{BitStringRef, OctetStringRef, UintRef};
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::sec1::ToSec1Point;
use pkcs8::{EncodePrivateKey, EncodePublicKey, PrivateKeyInfoRef};
#[cfg(feature = "rsa")]
use signature::SignatureEncoding;
use signature::Signer as _;
use spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use std::fmt;
use std::str::FromStr;
use x509_cert::builder::Builder;
use zeroize::Zeroizing;

#[cfg(feature = "rsa")]
use rsa::traits::PublicKeyParts;

pub(crate) const ID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub(crate) const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
pub(crate) const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
pub(crate) const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
pub(crate) const RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
pub(crate) const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Smallest RSA modulus accepted, in bits (CAs reject smaller keys).
pub const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits.
pub const RSA_MAX_BITS: usize = 8192;

/// The DER of a PKCS#8 v1 Ed25519 private key (RFC 8410 §7) up to the 32 key bytes.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A signature algorithm, and with it a key type.
///
/// ```
/// use acme_crypto::Algorithm;
/// assert_eq!(Algorithm::Es256.jws_name(), "ES256");
/// assert_eq!("RSA3072".parse::<Algorithm>(), Ok(Algorithm::Rs256 { bits: 3072 }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256 (`ES256`). The default, and the usual choice.
    #[default]
    Es256,
    /// ECDSA on P-384 with SHA-384 (`ES384`).
    Es384,
    /// ECDSA on P-521 with SHA-512 (`ES512`).
    Es512,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`RS256`), with a modulus of `bits` bits
    /// ([`RSA_MIN_BITS`]..=[`RSA_MAX_BITS`]). Needs the `rsa` feature.
    Rs256 {
        /// Modulus size in bits, e.g. 2048, 3072 or 4096.
        bits: usize,
    },
    /// Ed25519 (`EdDSA`, RFC 8037). Not every ACME server accepts it.
    EdDsa,
}

impl Algorithm {
    /// The JWS `alg` name: `ES256`, `ES384`, `ES512`, `RS256` or `EdDSA`.
    pub fn jws_name(&self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::Es512 => "ES512",
            Algorithm::Rs256 { .. } => "RS256",
            Algorithm::EdDsa => "EdDSA",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Algorithm::Rs256 { bits } => write!(f, "RS256 ({bits} bits)"),
            other => f.write_str(other.jws_name()),
        }
    }
}

/// Parses `ES256`, `ES384`, `ES512`, `EdDSA` (or `Ed25519`), `RS256` (2048 bits) and
/// `RSA<bits>` such as `RSA4096`; case-insensitive.
impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let upper = s.trim().to_ascii_uppercase();
        let alg = match upper.as_str() {
            "ES256" | "P256" | "P-256" => Algorithm::Es256,
            "ES384" | "P384" | "P-384" => Algorithm::Es384,
            "ES512" | "P521" | "P-521" => Algorithm::Es512,
            "EDDSA" | "ED25519" => Algorithm::EdDsa,
            "RS256" | "RSA" => Algorithm::Rs256 { bits: RSA_MIN_BITS },
            other => match other.strip_prefix("RSA").map(str::parse::<usize>) {
                Some(Ok(bits)) => Algorithm::Rs256 { bits },
                _ => {
                    return Err(Error::UnsupportedAlgorithm(format!(
                        "{s:?} (expected ES256, ES384, ES512, EdDSA, RS256 or RSA<bits>)"
                    )));
                }
            },
        };
        Ok(alg)
    }
}

#[cfg(feature = "rsa")]
struct RsaKey {
    signing: rsa::pkcs1v15::SigningKey<rsa::sha2::Sha256>,
    bits: usize,
}

enum Inner {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    #[cfg(feature = "rsa")]
    Rsa(Box<RsaKey>),
    Ed25519(ed25519_dalek::SigningKey),
}

/// A private key of any supported algorithm: an ACME account key or a certificate key.
///
/// Implements [`acme_proto::signer::Signer`], so it can sign ACME requests directly
/// (wrap it in an `Arc` to share it). ECDSA signatures are deterministic (RFC 6979) and in the
/// fixed-width `r || s` form JWS needs; RSA signatures use PKCS#1 v1.5 with SHA-256.
///
/// The key material is zeroized when the value is dropped, and `Debug` shows only the
/// algorithm and the public JWK thumbprint.
///
/// ```
/// use acme_crypto::{Algorithm, KeyPair};
/// use acme_proto::signer::Signer;
///
/// let key = KeyPair::generate(Algorithm::Es256)?;
/// assert_eq!(key.alg(), "ES256");
/// let sig = key.sign(b"protected.payload").map_err(|e| e.to_string())?;
/// assert_eq!(sig.len(), 64);
///
/// // Store it and load it again.
/// let pem = key.to_pkcs8_pem();
/// let again = KeyPair::from_pem(&pem)?;
/// assert_eq!(again.thumbprint(), key.thumbprint());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct KeyPair {
    inner: Inner,
    jwk: Jwk,
    thumbprint: String,
    /// The PKCS#8 encoding, made once so that exporting cannot fail later.
    pkcs8: Zeroizing<Vec<u8>>,
    /// The SubjectPublicKeyInfo DER.
    spki: Vec<u8>,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("alg", &format_args!("{}", self.algorithm()))
            .field("thumbprint", &self.thumbprint)
            .finish()
    }
}

fn b64u(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Split an uncompressed SEC1 point `04 || x || y` into base64url x and y.
fn ec_jwk(crv: &str, point: &[u8], width: usize) -> Result<Jwk, Error> {
    match point {
        [0x04, xy @ ..] if xy.len() == 2 * width => Ok(Jwk::Ec {
            crv: crv.to_owned(),
            x: b64u(&xy[..width]),
            y: b64u(&xy[width..]),
        }),
        _ => Err(Error::InvalidKey(format!(
            "{crv} public key is not an uncompressed point"
        ))),
    }
}

fn rng_error(e: impl fmt::Display) -> Error {
    Error::Random(e.to_string())
}

fn invalid<E: fmt::Display>(what: &str) -> impl Fn(E) -> Error + '_ {
    move |e| Error::InvalidKey(format!("{what}: {e}"))
}

fn encoding_error(e: impl fmt::Display) -> Error {
    Error::Encoding(e.to_string())
}

impl Inner {
    fn jwk(&self) -> Result<Jwk, Error> {
        match self {
            Inner::P256(k) => ec_jwk(
                "P-256",
                k.verifying_key().to_sec1_point(false).as_bytes(),
                32,
            ),
            Inner::P384(k) => ec_jwk(
                "P-384",
                k.verifying_key().to_sec1_point(false).as_bytes(),
                48,
            ),
            Inner::P521(k) => ec_jwk(
                "P-521",
                k.verifying_key().to_sec1_point(false).as_bytes(),
                66,
            ),
            #[cfg(feature = "rsa")]
            Inner::Rsa(k) => {
                let public = k.signing.as_ref();
                Ok(Jwk::Rsa {
                    n: b64u(&public.n_bytes()),
                    e: b64u(&public.e_bytes()),
                })
            }
            Inner::Ed25519(k) => Ok(Jwk::Okp {
                crv: "Ed25519".to_owned(),
                x: b64u(k.verifying_key().as_bytes()),
            }),
        }
    }

    fn pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let doc = match self {
            Inner::P256(k) => k.to_pkcs8_der(),
            Inner::P384(k) => k.to_pkcs8_der(),
            Inner::P521(k) => k.to_pkcs8_der(),
            #[cfg(feature = "rsa")]
            Inner::Rsa(k) => k.signing.as_ref().to_pkcs8_der(),
            Inner::Ed25519(k) => {
                let seed = Zeroizing::new(k.to_bytes());
                let mut out = Zeroizing::new(Vec::with_capacity(ED25519_PKCS8_PREFIX.len() + 32));
                out.extend_from_slice(&ED25519_PKCS8_PREFIX);
                out.extend_from_slice(seed.as_slice());
                return Ok(out);
            }
        }
        .map_err(encoding_error)?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    fn spki(&self) -> Result<Vec<u8>, Error> {
        let doc = match self {
            Inner::P256(k) => k.verifying_key().to_public_key_der(),
            Inner::P384(k) => k.verifying_key().to_public_key_der(),
            Inner::P521(k) => k.verifying_key().to_public_key_der(),
            #[cfg(feature = "rsa")]
            Inner::Rsa(k) => k.signing.as_ref().to_public_key().to_public_key_der(),
            Inner::Ed25519(k) => k.verifying_key().to_public_key_der(),
        }
        .map_err(encoding_error)?;
        Ok(doc.to_vec())
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            Inner::P256(_) => Algorithm::Es256,
            Inner::P384(_) => Algorithm::Es384,
            Inner::P521(_) => Algorithm::Es512,
            #[cfg(feature = "rsa")]
            Inner::Rsa(k) => Algorithm::Rs256 { bits: k.bits },
            Inner::Ed25519(_) => Algorithm::EdDsa,
        }
    }
}

#[cfg(feature = "rsa")]
fn rsa_inner(key: rsa::PrivateKey) -> Result<Inner, Error> {
    let bits = key.n().bit_width_vartime() as usize;
    if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        return Err(Error::UnsupportedAlgorithm(format!(
            "RSA key of {bits} bits (supported: {RSA_MIN_BITS} to {RSA_MAX_BITS})"
        )));
    }
    key.validate()
        .map_err(|e| Error::InvalidKey(format!("RSA key: {e}")))?;
    Ok(Inner::Rsa(Box::new(RsaKey {
        signing: rsa::pkcs1v15::SigningKey::new(key),
        bits,
    })))
}

#[cfg(not(feature = "rsa"))]
fn rsa_disabled() -> Error {
    Error::UnsupportedAlgorithm("RSA (the `rsa` feature of acme-crypto is disabled)".to_owned())
}

/// The curve of a SEC1 `ECPrivateKey`: its named-curve parameter, or failing that the length
/// of its private key.
fn sec1_curve(key: &sec1::EcPrivateKey<'_>) -> Result<ObjectIdentifier, Error> {
    match key.parameters {
        Some(sec1::EcParameters::NamedCurve(oid)) => Ok(oid),
        None => match key.private_key.len() {
            32 => Ok(SECP256R1),
            48 => Ok(SECP384R1),
            65 | 66 => Ok(SECP521R1),
            n => Err(Error::InvalidKey(format!(
                "SEC1 EC key names no curve and its {n}-byte private key fits none"
            ))),
        },
    }
}

/// An EC key from a SEC1 `ECPrivateKey` DER, on the curve `curve`.
fn ec_inner(curve: ObjectIdentifier, sec1_der: &[u8]) -> Result<Inner, Error> {
    Ok(match curve {
        SECP256R1 => Inner::P256(
            p256::SecretKey::from_sec1_der(sec1_der)
                .map_err(invalid("P-256 private key"))?
                .into(),
        ),
        SECP384R1 => Inner::P384(
            p384::SecretKey::from_sec1_der(sec1_der)
                .map_err(invalid("P-384 private key"))?
                .into(),
        ),
        SECP521R1 => Inner::P521(
            p521::SecretKey::from_sec1_der(sec1_der)
                .map_err(invalid("P-521 private key"))?
                .into(),
        ),
        other => {
            return Err(Error::UnsupportedAlgorithm(format!(
                "elliptic curve {other} (supported: P-256, P-384, P-521)"
            )));
        }
    })
}

fn ed25519_from_pkcs8(info: &PrivateKeyInfoRef<'_>) -> Result<Inner, Error> {
    if info.algorithm.parameters.is_some() {
        return Err(Error::InvalidKey(
            "Ed25519 PKCS#8 key has algorithm parameters".to_owned(),
        ));
    }
    let inner = <&OctetStringRef>::from_der(info.private_key.as_bytes())
        .map_err(invalid("Ed25519 PKCS#8 key"))?;
    let mut seed = Zeroizing::new([0u8; 32]);
    if inner.as_bytes().len() != 32 {
        return Err(Error::InvalidKey(format!(
            "Ed25519 private key is {} bytes, not 32",
            inner.as_bytes().len()
        )));
    }
    seed.copy_from_slice(inner.as_bytes());
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let public = key.verifying_key();
    if info
        .public_key
        .is_some_and(|p| p.as_bytes() != Some(public.as_bytes().as_slice()))
    {
        return Err(Error::InvalidKey(
            "Ed25519 PKCS#8 public key does not match the private key".to_owned(),
        ));
    }
    Ok(Inner::Ed25519(key))
}

impl KeyPair {
    fn from_inner(inner: Inner) -> Result<KeyPair, Error> {
        let jwk = inner.jwk()?;
        let thumbprint = jwk.thumbprint();
        let pkcs8 = inner.pkcs8()?;
        let spki = inner.spki()?;
        Ok(KeyPair {
            inner,
            jwk,
            thumbprint,
            pkcs8,
            spki,
        })
    }

    /// Generate a fresh key with the operating system's random number generator.
    ///
    /// `Algorithm::Es256` is the recommended default for both account and certificate keys.
    /// RSA generation takes from a fraction of a second (2048 bits, release build) to many
    /// seconds for large moduli.
    pub fn generate(alg: Algorithm) -> Result<KeyPair, Error> {
        let mut rng = getrandom::SysRng;
        let inner = match alg {
            Algorithm::Es256 => Inner::P256(
                p256::ecdsa::SigningKey::try_generate_from_rng(&mut rng).map_err(rng_error)?,
            ),
            Algorithm::Es384 => Inner::P384(
                p384::ecdsa::SigningKey::try_generate_from_rng(&mut rng).map_err(rng_error)?,
            ),
            Algorithm::Es512 => Inner::P521(
                p521::ecdsa::SigningKey::try_generate_from_rng(&mut rng).map_err(rng_error)?,
            ),
            Algorithm::EdDsa => {
                let mut seed = Zeroizing::new([0u8; 32]);
                getrandom::fill(seed.as_mut_slice()).map_err(rng_error)?;
                Inner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            #[cfg(feature = "rsa")]
            Algorithm::Rs256 { bits } => {
                if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
                    return Err(Error::UnsupportedAlgorithm(format!(
                        "RSA key of {bits} bits (supported: {RSA_MIN_BITS} to {RSA_MAX_BITS})"
                    )));
                }
                let key = rsa::PrivateKey::new(&mut rng, bits)
                    .map_err(|e| Error::KeyGeneration(format!("RSA {bits} bits: {e}")))?;
                rsa_inner(key)?
            }
            #[cfg(not(feature = "rsa"))]
            Algorithm::Rs256 { .. } => return Err(rsa_disabled()),
        };
        KeyPair::from_inner(inner)
    }

    /// Load a PKCS#8 `PrivateKeyInfo` (unencrypted) of any supported type.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<KeyPair, Error> {
        let info = PrivateKeyInfoRef::try_from(der).map_err(invalid("PKCS#8 private key"))?;
        let inner = match info.algorithm.oid {
            ID_EC_PUBLIC_KEY => {
                let sec1_der = info.private_key.as_bytes();
                let curve = match info.algorithm.parameters {
                    Some(params) => params.decode_as::<ObjectIdentifier>().map_err(invalid(
                        "PKCS#8 EC key parameters (only named curves are supported)",
                    ))?,
                    None => {
                        let key = sec1::EcPrivateKey::from_der(sec1_der)
                            .map_err(invalid("PKCS#8 EC key"))?;
                        sec1_curve(&key)?
                    }
                };
                ec_inner(curve, sec1_der)?
            }
            ID_ED25519 => ed25519_from_pkcs8(&info)?,
            #[cfg(feature = "rsa")]
            RSA_ENCRYPTION => {
                let key = <rsa::PrivateKey as pkcs8::DecodePrivateKey>::from_pkcs8_der(der)
                    .map_err(|e| Error::InvalidKey(format!("PKCS#8 RSA key: {e}")))?;
                rsa_inner(key)?
            }
            #[cfg(not(feature = "rsa"))]
            RSA_ENCRYPTION => return Err(rsa_disabled()),
            other => {
                return Err(Error::UnsupportedAlgorithm(format!(
                    "PKCS#8 key algorithm {other}"
                )));
            }
        };
        KeyPair::from_inner(inner)
    }

    /// Load a PEM `PRIVATE KEY` (PKCS#8) block. Text around the block is ignored.
    pub fn from_pkcs8_pem(pem: &str) -> Result<KeyPair, Error> {
        let block = find_key_block(pem, &["PRIVATE KEY"])?;
        KeyPair::from_pkcs8_der(&block.der)
    }

    /// Load a SEC1 `ECPrivateKey` DER (P-256, P-384 or P-521).
    pub fn from_sec1_der(der: &[u8]) -> Result<KeyPair, Error> {
        let key = sec1::EcPrivateKey::from_der(der).map_err(invalid("SEC1 EC private key"))?;
        let curve = sec1_curve(&key)?;
        KeyPair::from_inner(ec_inner(curve, der)?)
    }

    /// Load a PEM `EC PRIVATE KEY` (SEC1) block, as written by `openssl ecparam -genkey`.
    /// Other blocks (such as `EC PARAMETERS`) and surrounding text are ignored.
    pub fn from_sec1_pem(pem: &str) -> Result<KeyPair, Error> {
        let block = find_key_block(pem, &["EC PRIVATE KEY"])?;
        KeyPair::from_sec1_der(&block.der)
    }

    /// Load a PKCS#1 `RSAPrivateKey` DER. Needs the `rsa` feature.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<KeyPair, Error> {
        #[cfg(feature = "rsa")]
        {
            let key = <rsa::PrivateKey as rsa::pkcs1::DecodeRsaPrivateKey>::from_pkcs1_der(der)
                .map_err(|e| Error::InvalidKey(format!("PKCS#1 RSA key: {e}")))?;
            KeyPair::from_inner(rsa_inner(key)?)
        }
        #[cfg(not(feature = "rsa"))]
        {
            let _ = der;
            Err(rsa_disabled())
        }
    }

    /// Load the first private key in a PEM document, whichever its format: PKCS#8
    /// (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`).
    ///
    /// Encrypted keys are rejected with an error saying so.
    pub fn from_pem(pem: &str) -> Result<KeyPair, Error> {
        let block = find_key_block(pem, &["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"])?;
        match block.label.as_str() {
            "EC PRIVATE KEY" => KeyPair::from_sec1_der(&block.der),
            "RSA PRIVATE KEY" => KeyPair::from_pkcs1_der(&block.der),
            _ => KeyPair::from_pkcs8_der(&block.der),
        }
    }

    /// Load a DER private key, whichever its format: PKCS#8, SEC1 or PKCS#1.
    pub fn from_der(der: &[u8]) -> Result<KeyPair, Error> {
        if PrivateKeyInfoRef::try_from(der).is_ok() {
            return KeyPair::from_pkcs8_der(der);
        }
        if sec1::EcPrivateKey::from_der(der).is_ok() {
            return KeyPair::from_sec1_der(der);
        }
        #[cfg(feature = "rsa")]
        {
            KeyPair::from_pkcs1_der(der).map_err(|e| match e {
                Error::InvalidKey(_) => Error::InvalidKey(
                    "DER private key is neither PKCS#8, SEC1 nor PKCS#1".to_owned(),
                ),
                other => other,
            })
        }
        #[cfg(not(feature = "rsa"))]
        {
            Err(Error::InvalidKey(
                "DER private key is neither PKCS#8 nor SEC1 (PKCS#1 RSA keys need the `rsa` feature)"
                    .to_owned(),
            ))
        }
    }

    /// The key as unencrypted PKCS#8 DER. For Ed25519 this is the RFC 8410 v1 form.
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        self.pkcs8.clone()
    }

    /// The key as an unencrypted PKCS#8 PEM (`PRIVATE KEY`) document.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        pem::encode("PRIVATE KEY", &self.pkcs8)
    }

    /// The key as SEC1 `ECPrivateKey` DER; EC keys only.
    pub fn to_sec1_der(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        match &self.inner {
            Inner::P256(k) => p256::SecretKey::from(k).to_sec1_der(),
            Inner::P384(k) => p384::SecretKey::from(k).to_sec1_der(),
            Inner::P521(k) => p521::SecretKey::from(k).to_sec1_der(),
            _ => {
                return Err(Error::WrongKeyType {
                    operation: "SEC1 export",
                    alg: self.algorithm().jws_name(),
                });
            }
        }
        .map_err(encoding_error)
    }

    /// The key as a SEC1 PEM (`EC PRIVATE KEY`) document; EC keys only.
    pub fn to_sec1_pem(&self) -> Result<Zeroizing<String>, Error> {
        Ok(pem::encode("EC PRIVATE KEY", &self.to_sec1_der()?))
    }

    /// The algorithm (and for RSA the modulus size) of this key.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.algorithm()
    }

    /// The public key as a JWK: fixed-width EC coordinates, minimal-octet RSA integers.
    pub fn public_jwk(&self) -> Jwk {
        self.jwk.clone()
    }

    /// The RFC 7638 JWK thumbprint (base64url SHA-256 of the canonical JWK).
    pub fn thumbprint(&self) -> String {
        self.thumbprint.clone()
    }

    /// The public key as DER `SubjectPublicKeyInfo`.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.spki.clone()
    }

    /// Sign a to-be-signed X.509 structure (certificate, CSR) with this key, choosing the
    /// signature algorithm that goes with the key type.
    pub(crate) fn build_x509<B: Builder>(
        &self,
        builder: B,
    ) -> Result<B::Output, x509_cert::builder::Error> {
        match &self.inner {
            Inner::P256(k) => builder.build::<_, p256::ecdsa::DerSignature>(k),
            Inner::P384(k) => builder.build::<_, p384::ecdsa::DerSignature>(k),
            Inner::P521(k) => builder.build::<_, p521::ecdsa::DerSignature>(k),
            #[cfg(feature = "rsa")]
            Inner::Rsa(k) => builder.build::<_, rsa::pkcs1v15::Signature>(&k.signing),
            Inner::Ed25519(k) => builder.build::<_, ed25519_dalek::Signature>(k),
        }
    }

    fn sign_bytes(&self, input: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(match &self.inner {
            Inner::P256(k) => k
                .try_sign(input)
                .map(|s: p256::ecdsa::Signature| s.to_vec())?,
            Inner::P384(k) => k
                .try_sign(input)
                .map(|s: p384::ecdsa::Signature| s.to_vec())?,
            Inner::P521(k) => k
                .try_sign(input)
                .map(|s: p521::ecdsa::Signature| s.to_vec())?,
            #[cfg(feature = "rsa")]
            Inner::Rsa(k) => k.signing.try_sign(input)?.to_vec(),
            Inner::Ed25519(k) => k.try_sign(input)?.to_vec(),
        })
    }
}

impl JwsSigner for KeyPair {
    fn alg(&self) -> &str {
        self.algorithm().jws_name()
    }

    fn jwk(&self) -> Jwk {
        self.jwk.clone()
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        self.sign_bytes(signing_input)
            .map_err(|e| SignError(format!("{}: {e}", self.algorithm().jws_name())))
    }
}

/// The first PEM block whose label is one of `labels`, with a precise error otherwise.
fn find_key_block(pem: &str, labels: &[&str]) -> Result<pem::PemBlock, Error> {
    let blocks = pem::parse_blocks(pem.as_bytes())?;
    let mut seen = Vec::new();
    for block in blocks {
        if block.label == "ENCRYPTED PRIVATE KEY" || block.has_headers {
            return Err(Error::InvalidKey(format!(
                "the `{}` block is encrypted; decrypt it first (e.g. `openssl pkey`)",
                block.label
            )));
        }
        if labels.contains(&block.label.as_str()) {
            return Ok(block);
        }
        seen.push(block.label.clone());
    }
    Err(Error::InvalidKey(if seen.is_empty() {
        "no PEM block found".to_owned()
    } else {
        format!(
            "no {} PEM block (found: {})",
            labels.join(" / "),
            seen.join(", ")
        )
    }))
}

/// The JWK of a DER `SubjectPublicKeyInfo` (EC P-256/P-384/P-521, RSA or Ed25519).
///
/// Useful for keys held elsewhere (HSM, KMS) that export their public key as SPKI, and for
/// checking a JWK independently of [`KeyPair`]. RSA is parsed here without the `rsa` crate,
/// so this works with the `rsa` feature disabled.
pub fn jwk_from_spki_der(spki_der: &[u8]) -> Result<Jwk, Error> {
    let spki = SubjectPublicKeyInfoRef::try_from(spki_der)
        .map_err(|e| Error::InvalidKey(format!("SubjectPublicKeyInfo: {e}")))?;
    let key: BitStringRef<'_> = spki.subject_public_key;
    let bytes = key
        .as_bytes()
        .ok_or_else(|| Error::InvalidKey("public key BIT STRING has unused bits".to_owned()))?;
    match spki.algorithm.oid {
        ID_EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters_oid()
                .map_err(|e| Error::InvalidKey(format!("EC public key curve: {e}")))?;
            // Decode through the curve's own type so compressed points are expanded too.
            let err = |e: p256::elliptic_curve::Error| Error::InvalidKey(format!("EC point: {e}"));
            match curve {
                SECP256R1 => ec_jwk(
                    "P-256",
                    p256::PublicKey::from_sec1_bytes(bytes)
                        .map_err(err)?
                        .to_sec1_point(false)
                        .as_bytes(),
                    32,
                ),
                SECP384R1 => ec_jwk(
                    "P-384",
                    p384::PublicKey::from_sec1_bytes(bytes)
                        .map_err(err)?
                        .to_sec1_point(false)
                        .as_bytes(),
                    48,
                ),
                SECP521R1 => ec_jwk(
                    "P-521",
                    p521::PublicKey::from_sec1_bytes(bytes)
                        .map_err(err)?
                        .to_sec1_point(false)
                        .as_bytes(),
                    66,
                ),
                other => Err(Error::UnsupportedAlgorithm(format!(
                    "elliptic curve {other}"
                ))),
            }
        }
        RSA_ENCRYPTION => {
            // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
            let (n, e) = der::SliceReader::new(bytes)
                .and_then(|mut r| {
                    use der::Reader;
                    let out = r.sequence(|seq| {
                        let n = UintRef::decode(seq)?;
                        let e = UintRef::decode(seq)?;
                        Ok::<_, der::Error>((n.as_bytes().to_vec(), e.as_bytes().to_vec()))
                    })?;
                    r.finish()?;
                    Ok(out)
                })
                .map_err(|e| Error::InvalidKey(format!("RSA public key: {e}")))?;
            Ok(Jwk::Rsa {
                n: b64u(&n),
                e: b64u(&e),
            })
        }
        ID_ED25519 => {
            if bytes.len() != 32 {
                return Err(Error::InvalidKey(format!(
                    "Ed25519 public key is {} bytes, not 32",
                    bytes.len()
                )));
            }
            Ok(Jwk::Okp {
                crv: "Ed25519".to_owned(),
                x: b64u(bytes),
            })
        }
        other => Err(Error::UnsupportedAlgorithm(format!(
            "public key algorithm {other}"
        ))),
    }
}

// Compile-time check: keys can be shared across threads, as `Signer` requires.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<KeyPair>();
};
