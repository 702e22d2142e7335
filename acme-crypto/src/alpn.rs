//! tls-alpn-01 challenge certificates (RFC 8737).

use crate::{Algorithm, Error, KeyPair};
use acme_proto::msgs::identifier::{Identifier, IdentifierType};
use der::asn1::{Ia5String, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};
use x509_cert::builder::CertificateBuilder;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use zeroize::Zeroizing;

/// `id-pe-acmeIdentifier` (RFC 8737 §6.1).
pub const ID_PE_ACME_IDENTIFIER: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.31");

/// The ALPN protocol name a tls-alpn-01 responder must negotiate.
pub const ACME_TLS_ALPN_PROTOCOL: &[u8] = b"acme-tls/1";

/// Subject and issuer of challenge certificates (RFC 8737 does not constrain them; RFC 5280
/// wants a non-empty issuer).
const SUBJECT: &str = "CN=ACME tls-alpn-01 challenge";

/// How long before and after "now" a challenge certificate is valid.
const BACKDATE: Duration = Duration::from_secs(60 * 60);
const LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// A self-signed tls-alpn-01 challenge certificate and its private key.
///
/// Serve it for TLS connections that offer ALPN `acme-tls/1` with the identifier as SNI
/// (for IP identifiers, the reverse-DNS name of RFC 8738 §6).
pub struct TlsAlpn01Cert {
    /// The DER certificate.
    pub certificate_der: Vec<u8>,
    /// Its fresh P-256 private key as PKCS#8 DER.
    pub private_key_pkcs8_der: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for TlsAlpn01Cert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAlpn01Cert")
            .field(
                "certificate_der",
                &format_args!("<{} bytes>", self.certificate_der.len()),
            )
            .field("private_key_pkcs8_der", &format_args!("<redacted>"))
            .finish()
    }
}

/// A self-signed profile adding no extensions of its own.
struct SelfSigned(Name);

impl BuilderProfile for SelfSigned {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.0.clone()
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

fn cert_error(e: impl fmt::Display) -> Error {
    Error::Certificate(format!("tls-alpn-01 certificate: {e}"))
}

/// Build the tls-alpn-01 certificate for `identifier` and `key_authorization`
/// (RFC 8737 §3): a fresh P-256 key, self-signed, the identifier as the only subjectAltName
/// (dNSName, or iPAddress for `ip` identifiers), and the critical `id-pe-acmeIdentifier`
/// extension holding the DER OCTET STRING of SHA-256(key authorization). Valid from an hour
/// ago for a week.
///
/// Wildcard identifiers are refused: their authorizations are for the base domain, and
/// RFC 8737 §3 forbids tls-alpn-01 for wildcards anyway.
pub fn tls_alpn01_certificate(
    identifier: &Identifier,
    key_authorization: &str,
) -> Result<TlsAlpn01Cert, Error> {
    let san = match identifier.kind {
        IdentifierType::Dns if identifier.is_wildcard() => {
            return Err(Error::UnsupportedIdentifier(format!(
                "{identifier}: tls-alpn-01 cannot validate wildcard names"
            )));
        }
        IdentifierType::Dns => {
            let name = Identifier::dns(&identifier.value)?;
            GeneralName::DnsName(Ia5String::new(&name.value).map_err(cert_error)?)
        }
        IdentifierType::Ip => GeneralName::from(identifier.ip_addr().ok_or_else(|| {
            Error::UnsupportedIdentifier(format!("{identifier}: not an IP address"))
        })?),
        _ => {
            return Err(Error::UnsupportedIdentifier(format!(
                "{identifier}: tls-alpn-01 validates only dns and ip identifiers"
            )));
        }
    };

    let key = KeyPair::generate(Algorithm::Es256)?;
    let spki = SubjectPublicKeyInfoOwned::from_der(&key.public_key_der()).map_err(cert_error)?;

    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| Error::Random(e.to_string()))?;
    // A positive integer with no leading zero byte.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    let serial = SerialNumber::new(&serial).map_err(cert_error)?;

    let now = SystemTime::now();
    let validity = Validity::new(
        Time::try_from(now.checked_sub(BACKDATE).unwrap_or(now)).map_err(cert_error)?,
        Time::try_from(now + LIFETIME).map_err(cert_error)?,
    );

    let digest = Sha256::digest(key_authorization.as_bytes());
    let acme_identifier = Extension {
        extn_id: ID_PE_ACME_IDENTIFIER,
        critical: true,
        extn_value: OctetString::new(
            OctetString::new(digest.as_slice())
                .map_err(cert_error)?
                .to_der()
                .map_err(cert_error)?,
        )
        .map_err(cert_error)?,
    };

    let subject = Name::from_str(SUBJECT).map_err(cert_error)?;
    let mut builder =
        CertificateBuilder::new(SelfSigned(subject), serial, validity, spki).map_err(cert_error)?;
    builder
        .add_extension(&SubjectAltName(vec![san]))
        .map_err(cert_error)?;
    builder.add_extension(acme_identifier).map_err(cert_error)?;
    let certificate = key.build_x509(builder).map_err(cert_error)?;

    Ok(TlsAlpn01Cert {
        certificate_der: certificate.to_der().map_err(cert_error)?,
        private_key_pkcs8_der: key.to_pkcs8_der(),
    })
}
