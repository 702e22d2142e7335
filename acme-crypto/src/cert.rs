//! Issued certificates: chains from PEM, the facts a client needs about a certificate,
//! preferred-chain selection and ARI certificate identifiers.

use crate::{Error, MAX_CHAIN_LEN, pem};
use acme_proto::msgs::identifier::{Identifier, IdentifierType};
use base64ct::{Base64UrlUnpadded, Encoding};
use der::{Decode, Encode};
use std::fmt;
use std::net::IpAddr;
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectAltName};
use x509_cert::name::Name;

/// A certificate chain as the CA delivers it (`application/pem-certificate-chain`):
/// DER certificates, leaf first.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateChain {
    certs: Vec<Vec<u8>>,
}

impl fmt::Debug for CertificateChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lens: Vec<usize> = self.certs.iter().map(Vec::len).collect();
        f.debug_struct("CertificateChain")
            .field("der_lengths", &lens)
            .finish()
    }
}

fn parse(der: &[u8], position: usize) -> Result<Certificate, Error> {
    Certificate::from_der(der).map_err(|e| {
        Error::Certificate(format!("certificate #{} does not parse: {e}", position + 1))
    })
}

impl CertificateChain {
    /// Parse a PEM chain. LF or CRLF line ends, blank lines, and text before, between or
    /// after the blocks are tolerated; blocks other than `CERTIFICATE` are ignored. Fails if
    /// there is no certificate, more than [`MAX_CHAIN_LEN`], or one that does not parse.
    pub fn from_pem(pem: &[u8]) -> Result<CertificateChain, Error> {
        let mut certs = Vec::new();
        for block in pem::parse_blocks(pem)? {
            if block.label != "CERTIFICATE" {
                continue;
            }
            if block.has_headers {
                return Err(Error::Pem("a CERTIFICATE block carries headers".to_owned()));
            }
            if certs.len() == MAX_CHAIN_LEN {
                return Err(Error::TooManyCertificates {
                    limit: MAX_CHAIN_LEN,
                });
            }
            certs.push(block.der.to_vec());
        }
        CertificateChain::from_der_certificates(certs)
    }

    /// Build from DER certificates, leaf first; each must parse.
    pub fn from_der_certificates(certs: Vec<Vec<u8>>) -> Result<CertificateChain, Error> {
        if certs.is_empty() {
            return Err(Error::NoCertificates);
        }
        if certs.len() > MAX_CHAIN_LEN {
            return Err(Error::TooManyCertificates {
                limit: MAX_CHAIN_LEN,
            });
        }
        for (i, der) in certs.iter().enumerate() {
            parse(der, i)?;
        }
        Ok(CertificateChain { certs })
    }

    /// The DER certificates, leaf first.
    pub fn certificates(&self) -> &[Vec<u8>] {
        &self.certs
    }

    /// The DER of the leaf (end-entity) certificate.
    pub fn leaf_der(&self) -> &[u8] {
        // `from_der_certificates` refuses empty chains, so there is always a first element.
        self.certs.first().map(Vec::as_slice).unwrap_or_default()
    }

    /// Facts about the leaf certificate.
    pub fn leaf(&self) -> Result<CertificateInfo, Error> {
        CertificateInfo::from_der(self.leaf_der())
    }

    /// Facts about every certificate, leaf first.
    pub fn infos(&self) -> Result<Vec<CertificateInfo>, Error> {
        self.certs
            .iter()
            .map(|c| CertificateInfo::from_der(c))
            .collect()
    }

    /// The issuer common name of the last certificate in the chain: the root the chain
    /// leads to (or the root's own name when the root is included).
    pub fn top_issuer_common_name(&self) -> Option<String> {
        let last = self.certs.last()?;
        CertificateInfo::from_der(last).ok()?.issuer_common_name
    }

    /// Same as [`CertificateChain::top_issuer_common_name`]: the common name of the root
    /// this chain leads to.
    pub fn root_common_name(&self) -> Option<String> {
        self.top_issuer_common_name()
    }

    /// The chain as PEM, one `CERTIFICATE` block per certificate, LF line ends.
    pub fn to_pem(&self) -> String {
        let mut out = String::new();
        for der in &self.certs {
            out.push_str(&pem::encode("CERTIFICATE", der));
        }
        out
    }
}

/// Pick the chain whose root matches `preferred` (a common name such as `ISRG Root X1`).
///
/// First choice: a chain whose top issuer common name ([`CertificateChain::top_issuer_common_name`])
/// equals `preferred`; second choice: a chain in which any certificate's issuer common name
/// equals it. `None` when nothing matches: the caller then keeps the default chain.
pub fn select_chain<'a>(
    chains: &'a [CertificateChain],
    preferred: &str,
) -> Option<&'a CertificateChain> {
    let preferred = preferred.trim();
    if preferred.is_empty() {
        return None;
    }
    chains
        .iter()
        .find(|c| c.top_issuer_common_name().as_deref() == Some(preferred))
        .or_else(|| {
            chains.iter().find(|c| {
                c.infos().is_ok_and(|infos| {
                    infos
                        .iter()
                        .any(|i| i.issuer_common_name.as_deref() == Some(preferred))
                })
            })
        })
}

/// Pick the PEM chain to install among the CA's default chain and its alternates (as
/// served: `application/pem-certificate-chain`), by root or issuer common name.
///
/// The chains are tried in order, default first, with [`select_chain`]'s rules. The default
/// chain is returned when `preferred` is empty, when no chain matches it, and when the CA
/// offered no alternates; chains that do not parse are skipped.
///
/// ```
/// let default = "-----BEGIN CERTIFICATE-----\n...";
/// // No alternates offered: the default chain, whatever the preference.
/// assert_eq!(acme_crypto::select_chain_pem(default, [], "ISRG Root X2"), default);
/// ```
pub fn select_chain_pem<'a>(
    default_pem: &'a str,
    alternate_pems: impl IntoIterator<Item = &'a str>,
    preferred: &str,
) -> &'a str {
    let mut pems = Vec::new();
    let mut chains = Vec::new();
    for pem in std::iter::once(default_pem).chain(alternate_pems) {
        if let Ok(chain) = CertificateChain::from_pem(pem.as_bytes()) {
            pems.push(pem);
            chains.push(chain);
        }
    }
    select_chain(&chains, preferred)
        .and_then(|picked| chains.iter().position(|c| std::ptr::eq(c, picked)))
        .and_then(|i| pems.get(i).copied())
        .unwrap_or(default_pem)
}

/// What a client needs to know about a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateInfo {
    /// The `dns` and `ip` identifiers of the subjectAltName extension, in certificate order.
    pub subject_alt_names: Vec<Identifier>,
    /// The serial number: the DER INTEGER content bytes (with a leading `0x00` when the high
    /// bit of the first byte is set).
    pub serial: Vec<u8>,
    /// The subject distinguished name as an RFC 4514 string.
    pub subject: String,
    /// The issuer distinguished name as an RFC 4514 string, e.g. `CN=R10,O=Let's Encrypt,C=US`.
    pub issuer: String,
    /// The issuer's common name, if any.
    pub issuer_common_name: Option<String>,
    /// The subject's common name, if any.
    pub subject_common_name: Option<String>,
    /// The authority key identifier (keyIdentifier of the AKI extension), if present.
    pub authority_key_identifier: Option<Vec<u8>>,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
}

fn common_name(name: &Name) -> Option<String> {
    name.common_name()
        .ok()
        .flatten()
        .map(|cn| cn.value().into_owned())
}

/// The `dns` and `ip` identifiers among general names; other kinds are skipped.
pub(crate) fn identifiers_of(names: &[GeneralName]) -> Vec<Identifier> {
    names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DnsName(dns) => {
                let s = dns.as_str();
                Some(
                    Identifier::dns(s)
                        .unwrap_or_else(|_| Identifier::from_parts(IdentifierType::Dns, s)),
                )
            }
            GeneralName::IpAddress(octets) => {
                let bytes = octets.as_bytes();
                let ip = match bytes.len() {
                    4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
                    16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
                    _ => None,
                };
                ip.map(Identifier::ip)
            }
            _ => None,
        })
        .collect()
}

fn authority_key_identifier(cert: &Certificate) -> Result<Option<Vec<u8>>, Error> {
    let aki = cert
        .tbs_certificate()
        .get_extension::<AuthorityKeyIdentifier>()
        .map_err(|e| Error::Certificate(format!("authorityKeyIdentifier extension: {e}")))?;
    Ok(aki
        .and_then(|(_, aki)| aki.key_identifier)
        .map(|k| k.as_bytes().to_vec()))
}

impl CertificateInfo {
    /// Read the facts from a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<CertificateInfo, Error> {
        let cert = parse(der, 0)?;
        let tbs = cert.tbs_certificate();
        let san = tbs
            .get_extension::<SubjectAltName>()
            .map_err(|e| Error::Certificate(format!("subjectAltName extension: {e}")))?;
        let subject_alt_names = san
            .map(|(_, san)| identifiers_of(&san.0))
            .unwrap_or_default();
        Ok(CertificateInfo {
            subject_alt_names,
            serial: tbs.serial_number().as_bytes().to_vec(),
            subject: tbs.subject().to_string(),
            issuer: tbs.issuer().to_string(),
            issuer_common_name: common_name(tbs.issuer()),
            subject_common_name: common_name(tbs.subject()),
            authority_key_identifier: authority_key_identifier(&cert)?,
            not_before: tbs.validity().not_before.to_system_time(),
            not_after: tbs.validity().not_after.to_system_time(),
        })
    }
}

/// The ARI certificate identifier (RFC 9773 §4.1) of a DER certificate:
/// `base64url(AKI keyIdentifier) "." base64url(serial number DER content bytes)`.
///
/// Fails if the certificate has no authorityKeyIdentifier with a keyIdentifier.
pub fn ari_certificate_id(cert_der: &[u8]) -> Result<String, Error> {
    let cert = parse(cert_der, 0)?;
    let aki = authority_key_identifier(&cert)?.ok_or_else(|| {
        Error::Certificate(
            "no authorityKeyIdentifier keyIdentifier, so no ARI certificate ID".to_owned(),
        )
    })?;
    // The DER encoding of the serial INTEGER, minus its tag and length: the content bytes
    // exactly as the CA wrote them (RFC 9773 keeps a leading zero byte).
    let serial_der = cert
        .tbs_certificate()
        .serial_number()
        .to_der()
        .map_err(|e| Error::Certificate(format!("serial number: {e}")))?;
    let content = der::asn1::AnyRef::from_der(&serial_der)
        .map_err(|e| Error::Certificate(format!("serial number: {e}")))?
        .value()
        .to_vec();
    Ok(format!(
        "{}.{}",
        Base64UrlUnpadded::encode_string(&aki),
        Base64UrlUnpadded::encode_string(&content)
    ))
}
