//! What the renewal decision ([`acme_proto::renewal`]) needs from a certificate, and the
//! operating system randomness it leaves to the caller.

use crate::Error;
use crate::cert::{CertificateChain, CertificateInfo, ari_certificate_id};
use acme_proto::renewal::CertificateFacts;

/// The facts [`acme_proto::renewal::RenewalState::decide`] needs about a certificate given
/// as PEM (its first `CERTIFICATE` block, the leaf of a chain) or DER: validity and ARI
/// certificate ID ([`ari_certificate_id`]; `None` when the certificate has no authority key
/// identifier, so that renewal falls back to the lifetime schedule).
///
/// Fails when the input holds no certificate or the certificate does not parse.
pub fn renewal_facts(pem_or_der: &[u8]) -> Result<CertificateFacts, Error> {
    let is_pem = pem_or_der
        .windows(b"-----BEGIN".len())
        .any(|w| w == b"-----BEGIN");
    let chain;
    let der = if is_pem {
        chain = CertificateChain::from_pem(pem_or_der)?;
        chain.leaf_der()
    } else {
        pem_or_der
    };
    let info = CertificateInfo::from_der(der)?;
    let facts = CertificateFacts::new(info.not_before, info.not_after);
    Ok(match ari_certificate_id(der) {
        Ok(id) => facts.with_certificate_id(id),
        Err(_) => facts,
    })
}

/// A uniformly random `u64` from the operating system, e.g. for the renewal time chosen
/// inside an ARI window ([`acme_proto::renewal::RenewalState::decide`]).
pub fn random_u64() -> Result<u64, Error> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(u64::from_le_bytes(bytes))
}
