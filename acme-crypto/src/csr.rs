//! Certificate signing requests (PKCS#10) for ACME finalization (RFC 8555 §7.4).

use crate::cert::identifiers_of;
use crate::{Error, KeyPair, pem};
use acme_proto::msgs::identifier::{Identifier, IdentifierType};
use der::asn1::Ia5String;
use der::oid::AssociatedOid;
use der::{Decode, Encode};
use std::net::IpAddr;
use std::str::FromStr;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, ExtensionReq, RequestBuilder};

/// Longest common name X.509 allows (`ub-common-name`, RFC 5280 Appendix A.1).
const MAX_COMMON_NAME: usize = 64;

/// Options for [`csr_der`].
///
/// ```
/// use acme_crypto::CsrOptions;
/// let options = CsrOptions::default().with_common_name("www.example.com");
/// assert_eq!(options.common_name.as_deref(), Some("www.example.com"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CsrOptions {
    /// Put this subject common name in the CSR. `None` (the default) leaves the subject
    /// empty, which is what ACME needs: identifiers go in the subjectAltName extension.
    /// Must be one of the CSR's `dns` identifiers and at most 64 bytes; IP addresses are
    /// refused.
    pub common_name: Option<String>,
}

impl CsrOptions {
    /// Set [`CsrOptions::common_name`].
    pub fn with_common_name(mut self, common_name: impl Into<String>) -> CsrOptions {
        self.common_name = Some(common_name.into());
        self
    }
}

fn csr_error(e: impl std::fmt::Display) -> Error {
    Error::Csr(e.to_string())
}

/// The subjectAltName entry of one identifier.
fn general_name(id: &Identifier) -> Result<GeneralName, Error> {
    match id.kind {
        IdentifierType::Dns => {
            let normalized = Identifier::dns(&id.value)?;
            let ia5 = Ia5String::new(&normalized.value).map_err(csr_error)?;
            Ok(GeneralName::DnsName(ia5))
        }
        IdentifierType::Ip => {
            let ip = id
                .ip_addr()
                .ok_or_else(|| Error::UnsupportedIdentifier(format!("{id}: not an IP address")))?;
            Ok(GeneralName::from(ip))
        }
        _ => Err(Error::UnsupportedIdentifier(format!(
            "{id}: a CSR holds only dns and ip identifiers"
        ))),
    }
}

fn subject(common_name: Option<&str>, identifiers: &[Identifier]) -> Result<Name, Error> {
    let Some(cn) = common_name else {
        return Ok(Name::default());
    };
    let bad = |why: &str| Error::InvalidCommonName(format!("{cn:?}: {why}"));
    if cn.is_empty() {
        return Err(bad("empty"));
    }
    if cn.len() > MAX_COMMON_NAME {
        return Err(bad("longer than 64 bytes"));
    }
    if cn
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok()
    {
        return Err(bad(
            "an IP address cannot be the common name; it goes in the subjectAltName",
        ));
    }
    let normalized = Identifier::dns(cn).map_err(|e| bad(&e.to_string()))?;
    if !identifiers.contains(&normalized) {
        return Err(bad("not one of the CSR's dns identifiers (RFC 8555 §7.4)"));
    }
    // The value is an LDH name (checked above), so it needs no RFC 4514 escaping.
    Name::from_str(&format!("CN={}", normalized.value)).map_err(csr_error)
}

/// Build a DER CSR for `identifiers`, signed by `key`.
///
/// Every identifier goes into the subjectAltName extension (dNSName for `dns`, iPAddress for
/// `ip`), in the given order, duplicates removed. The subject is empty unless
/// `options.common_name` asks for one. Works with every [`KeyPair`] algorithm (ECDSA keys sign
/// with the hash matching their curve, RSA with SHA-256, Ed25519 as itself).
///
/// The certificate key is usually a fresh `KeyPair::generate(Algorithm::Es256)`, distinct
/// from the account key.
pub fn csr_der(
    identifiers: &[Identifier],
    key: &KeyPair,
    options: &CsrOptions,
) -> Result<Vec<u8>, Error> {
    if identifiers.is_empty() {
        return Err(Error::Csr("no identifiers to request".to_owned()));
    }
    let mut names: Vec<GeneralName> = Vec::with_capacity(identifiers.len());
    let mut normalized = Vec::with_capacity(identifiers.len());
    for id in identifiers {
        let name = general_name(id)?;
        if !names.contains(&name) {
            names.push(name);
        }
        if id.kind == IdentifierType::Dns {
            normalized.push(Identifier::dns(&id.value)?);
        }
    }
    let mut builder = RequestBuilder::new(subject(options.common_name.as_deref(), &normalized)?)
        .map_err(csr_error)?;
    builder
        .add_extension(&SubjectAltName(names))
        .map_err(csr_error)?;
    let request = key.build_x509(builder).map_err(csr_error)?;
    request.to_der().map_err(csr_error)
}

/// Accept an externally built CSR, DER or PEM (`CERTIFICATE REQUEST`, or the older
/// `NEW CERTIFICATE REQUEST`), check that it parses, and return its DER.
pub fn csr_from_pem_or_der(input: &[u8]) -> Result<Vec<u8>, Error> {
    let der = if input.windows(11).any(|w| w == b"-----BEGIN ") {
        let blocks = pem::parse_blocks(input)?;
        let block = blocks
            .into_iter()
            .find(|b| b.label == "CERTIFICATE REQUEST" || b.label == "NEW CERTIFICATE REQUEST")
            .ok_or_else(|| Error::Csr("no CERTIFICATE REQUEST PEM block".to_owned()))?;
        block.der.to_vec()
    } else {
        input.to_vec()
    };
    CertReq::from_der(&der).map_err(|e| Error::Csr(format!("does not parse: {e}")))?;
    Ok(der)
}

/// The identifiers a DER CSR asks for: its subjectAltName `dns` and `ip` entries, plus the
/// subject common name when that is not already among them. Use it to build the order for an
/// externally built CSR.
pub fn csr_identifiers(csr_der: &[u8]) -> Result<Vec<Identifier>, Error> {
    let req = CertReq::from_der(csr_der).map_err(|e| Error::Csr(format!("does not parse: {e}")))?;
    let mut out: Vec<Identifier> = Vec::new();
    for attr in req
        .info
        .attributes
        .iter()
        .filter(|a| a.oid == ExtensionReq::OID)
    {
        for value in attr.values.iter() {
            let extensions: Vec<Extension> = value.decode_as().map_err(csr_error)?;
            for ext in extensions
                .iter()
                .filter(|e| e.extn_id == SubjectAltName::OID)
            {
                let san = SubjectAltName::from_der(ext.extn_value.as_bytes()).map_err(csr_error)?;
                for id in identifiers_of(&san.0) {
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
            }
        }
    }
    if let Some(cn) = req.info.subject.common_name().ok().flatten() {
        let cn = cn.value();
        match Identifier::parse(&cn) {
            Ok(id) if !out.contains(&id) => out.push(id),
            _ => {}
        }
    }
    if out.is_empty() {
        return Err(Error::Csr(
            "the CSR names no dns or ip identifier".to_owned(),
        ));
    }
    Ok(out)
}
