//! Tests with exact expected values, checked where possible by an independent implementation
//! (`ring`, OpenSSL-made fixtures, values computed with Python's `cryptography`).

mod account_file;
mod alpn;
#[cfg(feature = "rustls")]
mod alpn_resolver;
mod certs;
mod csr;
#[cfg(feature = "rfc2136")]
mod dns;
mod eab;
mod identifiers;
mod keys;
mod renewal;

use crate::KeyPair;
use base64ct::{Base64UrlUnpadded, Encoding};
use der::Decode;
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::name::Name;

pub(crate) fn b64u_decode(s: &str) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(s).expect("test vector is base64url")
}

pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(char::is_ascii_hexdigit).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

pub(crate) fn spki_of(key: &KeyPair) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::from_der(&key.public_key_der()).unwrap()
}

/// A test profile: given subject and issuer names, no extensions of its own.
pub(crate) struct Plain {
    pub(crate) subject: Name,
    pub(crate) issuer: Name,
}

impl BuilderProfile for Plain {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }
    fn get_subject(&self) -> Name {
        self.subject.clone()
    }
    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(Vec::new())
    }
}

/// Verify an X.509 signature (`tbs` DER, signature bits) with `ring`, from the signer's SPKI.
pub(crate) fn ring_verify_x509(
    spki: &SubjectPublicKeyInfoOwned,
    alg_oid: &str,
    tbs: &[u8],
    sig: &[u8],
) {
    use ring::signature::{self, UnparsedPublicKey};
    let key = spki.subject_public_key.as_bytes().unwrap();
    let alg: &dyn signature::VerificationAlgorithm = match alg_oid {
        "1.2.840.10045.4.3.2" => &signature::ECDSA_P256_SHA256_ASN1,
        "1.2.840.10045.4.3.3" => &signature::ECDSA_P384_SHA384_ASN1,
        "1.2.840.113549.1.1.11" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "1.3.101.112" => &signature::ED25519,
        other => panic!("no ring verifier for {other}"),
    };
    UnparsedPublicKey::new(alg, key)
        .verify(tbs, sig)
        .expect("signature verifies with ring");
}
