//! Identifiers from user text, with internationalized domain names converted to A-labels.

use crate::Error;
use acme_proto::msgs::identifier::Identifier;
use std::net::IpAddr;

/// Turn user text (a command-line argument, a config value) into an ACME identifier.
///
/// - An IP literal (IPv6 optionally in brackets) becomes an `ip` identifier (RFC 8738) in
///   canonical form.
/// - Anything else is a DNS name: converted with UTS #46 (`idna::domain_to_ascii`:
///   Unicode to A-labels, lowercased), one trailing dot removed, a leading `*.` wildcard
///   label kept, then validated by [`Identifier::dns`].
///
/// ```
/// use acme_crypto::identifier;
/// assert_eq!(identifier("Bücher.Example")?.value, "xn--bcher-kva.example");
/// assert_eq!(identifier("*.Example.COM.")?.value, "*.example.com");
/// assert_eq!(identifier("[::1]")?.value, "::1");
/// # Ok::<(), acme_crypto::Error>(())
/// ```
pub fn identifier(text: &str) -> Result<Identifier, Error> {
    let t = text.trim();
    let reject = |reason: &str| Error::InvalidIdentifier {
        input: text.to_owned(),
        reason: reason.to_owned(),
    };
    if t.is_empty() {
        return Err(reject("empty"));
    }
    let unbracketed = t
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(t);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Ok(Identifier::ip(ip));
    }
    let (wildcard, name) = match t.strip_prefix("*.") {
        Some(rest) => ("*.", rest),
        None => ("", t),
    };
    let ascii = idna::domain_to_ascii(name)
        .map_err(|e| reject(&format!("not a valid internationalized domain name ({e})")))?;
    let ascii = ascii.strip_suffix('.').unwrap_or(&ascii);
    if ascii.is_empty() {
        return Err(reject("empty domain name"));
    }
    if ascii.ends_with('.') {
        return Err(reject("empty label at the end"));
    }
    Ok(Identifier::dns(&format!("{wildcard}{ascii}"))?)
}
