//! ACME identifiers (RFC 8555 §9.7.7 `dns`, RFC 8738 `ip`), normalized once for the order, the
//! authorization match and the CSR.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// An identifier type; unknown types from the server are kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum IdentifierType {
    /// `dns`
    Dns,
    /// `ip` (RFC 8738)
    Ip,
    /// Any other type the server used.
    Unknown(String),
}

impl IdentifierType {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            IdentifierType::Dns => "dns",
            IdentifierType::Ip => "ip",
            IdentifierType::Unknown(s) => s,
        }
    }
}

impl From<&str> for IdentifierType {
    fn from(s: &str) -> Self {
        match s {
            "dns" => IdentifierType::Dns,
            "ip" => IdentifierType::Ip,
            other => IdentifierType::Unknown(other.to_owned()),
        }
    }
}

impl Serialize for IdentifierType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for IdentifierType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(IdentifierType::from(s.as_str()))
    }
}

/// An identifier: `{"type": "dns", "value": "example.com"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Identifier {
    /// The identifier type.
    #[serde(rename = "type")]
    pub kind: IdentifierType,
    /// The value: a DNS name in A-label form (possibly `*.`-prefixed in orders) or an IP
    /// address in its canonical text form (RFC 8738 §3: RFC 5952 for IPv6).
    pub value: String,
}

/// Why a string is not a usable identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentifierError {
    /// Empty after removing a trailing dot.
    Empty,
    /// The name holds non-ASCII characters: convert it to A-labels first
    /// (`acme_crypto::identifier` does, with UTS #46).
    NotAscii(String),
    /// The name is not a valid DNS name (names the offending label or character).
    InvalidDnsName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for IdentifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentifierError::Empty => f.write_str("empty identifier"),
            IdentifierError::NotAscii(n) => write!(
                f,
                "identifier {n:?} is not ASCII: convert internationalized names to A-labels first"
            ),
            IdentifierError::InvalidDnsName { name, reason } => {
                write!(f, "invalid DNS name {name:?}: {reason}")
            }
        }
    }
}

impl std::error::Error for IdentifierError {}

impl Identifier {
    /// A DNS identifier, normalized: ASCII lowercased, one trailing dot removed, syntax
    /// checked (LDH labels of 1–63 octets, 253 octets in all; a leading `*.` wildcard label
    /// is allowed).
    pub fn dns(name: &str) -> Result<Identifier, IdentifierError> {
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() {
            return Err(IdentifierError::Empty);
        }
        if !name.is_ascii() {
            return Err(IdentifierError::NotAscii(name.to_owned()));
        }
        let lower = name.to_ascii_lowercase();
        let invalid = |reason| IdentifierError::InvalidDnsName {
            name: name.to_owned(),
            reason,
        };
        if lower.len() > 253 {
            return Err(invalid("longer than 253 octets"));
        }
        let body = lower.strip_prefix("*.").unwrap_or(&lower);
        for label in body.split('.') {
            if label.is_empty() {
                return Err(invalid("empty label"));
            }
            if label.len() > 63 {
                return Err(invalid("label longer than 63 octets"));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(invalid(
                    "label holds a character other than a-z, 0-9, '-' or '_'",
                ));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(invalid("label starts or ends with '-'"));
            }
        }
        // A name whose last label is all digits is an IPv4 address in dotted form (or no
        // host name at all): RFC 1123 §2.1 and RFC 3696 §2 rule out all-numeric top-level
        // labels. Accepting it would make `192.0.2.1.` a `dns` identifier that re-parses as
        // an `ip` one, and an order a CA must refuse.
        if body
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid(
                "the last label is all digits (an IP address is an `ip` identifier)",
            ));
        }
        Ok(Identifier {
            kind: IdentifierType::Dns,
            value: lower,
        })
    }

    /// An IP identifier (RFC 8738), in canonical text form.
    pub fn ip(addr: IpAddr) -> Identifier {
        Identifier {
            kind: IdentifierType::Ip,
            value: addr.to_string(),
        }
    }

    /// An IP address if the text is one (IPv6 may be bracketed), else a DNS name.
    pub fn parse(text: &str) -> Result<Identifier, IdentifierError> {
        let t = text.trim();
        let unbracketed = t
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(t);
        match unbracketed.parse::<IpAddr>() {
            Ok(ip) => Ok(Identifier::ip(ip)),
            Err(_) => Identifier::dns(t),
        }
    }

    /// Build from raw parts without normalization (for values received from a server).
    pub fn from_parts(kind: IdentifierType, value: impl Into<String>) -> Identifier {
        Identifier {
            kind,
            value: value.into(),
        }
    }

    /// The IP address, for `ip` identifiers.
    pub fn ip_addr(&self) -> Option<IpAddr> {
        match self.kind {
            IdentifierType::Ip => self.value.parse().ok(),
            _ => None,
        }
    }

    /// True for a `dns` identifier starting with `*.`.
    pub fn is_wildcard(&self) -> bool {
        self.kind == IdentifierType::Dns && self.value.starts_with("*.")
    }

    /// The identifier an authorization for this one carries: the base domain for a wildcard
    /// (RFC 8555 §7.1.4), otherwise itself.
    pub fn authorization_identifier(&self) -> Identifier {
        match self.value.strip_prefix("*.") {
            Some(base) if self.kind == IdentifierType::Dns => Identifier {
                kind: IdentifierType::Dns,
                value: base.to_owned(),
            },
            _ => self.clone(),
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_normalization() {
        let id = Identifier::dns("WWW.Example.COM.").unwrap();
        assert_eq!(id.value, "www.example.com");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            r#"{"type":"dns","value":"www.example.com"}"#
        );
        assert_eq!(
            Identifier::dns("é.example"),
            Err(IdentifierError::NotAscii("é.example".into()))
        );
        assert!(matches!(
            Identifier::dns("a..b"),
            Err(IdentifierError::InvalidDnsName {
                reason: "empty label",
                ..
            })
        ));
        assert_eq!(Identifier::dns("."), Err(IdentifierError::Empty));
    }

    #[test]
    fn all_numeric_last_label_is_not_a_dns_name() {
        // Found by fuzzing (fuzz/regressions/identifier): `Identifier::dns` accepted dotted
        // IPv4 text, so `192.0.2.1.` became a `dns` identifier re-parsing as `ip`.
        for text in ["192.0.2.1", "192.0.2.1.", "*.192.0.2.1", "example.42", "1"] {
            assert!(
                matches!(
                    Identifier::dns(text),
                    Err(IdentifierError::InvalidDnsName { .. })
                ),
                "{text}"
            );
        }
        let id = Identifier::parse("192.0.2.1").unwrap();
        assert_eq!(id.kind, IdentifierType::Ip);
        assert!(Identifier::parse("192.0.2.1.").is_err());
        assert_eq!(
            Identifier::dns("1.2.3.example").unwrap().value,
            "1.2.3.example"
        );
    }

    #[test]
    fn ip_and_wildcard() {
        let v6 = Identifier::parse("[2001:DB8:0:0:0:0:0:1]").unwrap();
        assert_eq!(
            (v6.kind.clone(), v6.value.as_str()),
            (IdentifierType::Ip, "2001:db8::1")
        );
        let w = Identifier::parse("*.Example.com").unwrap();
        assert!(w.is_wildcard());
        assert_eq!(w.authorization_identifier().value, "example.com");
        let u: Identifier = serde_json::from_str(r#"{"type":"email","value":"a@b"}"#).unwrap();
        assert_eq!(u.kind, IdentifierType::Unknown("email".into()));
    }
}
