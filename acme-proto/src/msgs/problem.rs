//! Problem documents (RFC 7807 / RFC 9457) and the ACME error types of RFC 8555 §6.7.

use super::identifier::Identifier;
use serde::Deserialize;
use std::fmt;
use std::time::SystemTime;

const ACME_ERROR_NS: &str = "urn:ietf:params:acme:error:";

/// An ACME error type (RFC 8555 §6.7, RFC 9773 and later registrations).
///
/// Unknown types in the ACME namespace and types outside it are kept, not rejected.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemType {
    /// `accountDoesNotExist`
    AccountDoesNotExist,
    /// `alreadyReplaced` (RFC 9773): the certificate named in `replaces` was already replaced.
    AlreadyReplaced,
    /// `alreadyRevoked`
    AlreadyRevoked,
    /// `badCSR`
    BadCsr,
    /// `badNonce`
    BadNonce,
    /// `badPublicKey`
    BadPublicKey,
    /// `badRevocationReason`
    BadRevocationReason,
    /// `badSignatureAlgorithm`
    BadSignatureAlgorithm,
    /// `caa`
    Caa,
    /// `compound`: see the subproblems.
    Compound,
    /// `conflict` (used by Boulder for a `replaces` conflict).
    Conflict,
    /// `connection`
    Connection,
    /// `dns`
    Dns,
    /// `externalAccountRequired`
    ExternalAccountRequired,
    /// `incorrectResponse`
    IncorrectResponse,
    /// `invalidContact`
    InvalidContact,
    /// `invalidProfile` (ACME profiles extension).
    InvalidProfile,
    /// `malformed`
    Malformed,
    /// `orderNotReady`
    OrderNotReady,
    /// `rateLimited`
    RateLimited,
    /// `rejectedIdentifier`
    RejectedIdentifier,
    /// `serverInternal`
    ServerInternal,
    /// `tls`
    Tls,
    /// `unauthorized`
    Unauthorized,
    /// `unsupportedContact`
    UnsupportedContact,
    /// `unsupportedIdentifier`
    UnsupportedIdentifier,
    /// `userActionRequired`
    UserActionRequired,
    /// Any other type URI (kept verbatim), including `about:blank` and non-ACME namespaces.
    Other(String),
}

impl ProblemType {
    /// Classify a problem `type` URI.
    pub fn from_uri(uri: &str) -> ProblemType {
        let Some(name) = uri.strip_prefix(ACME_ERROR_NS) else {
            return ProblemType::Other(uri.to_owned());
        };
        match name {
            "accountDoesNotExist" => ProblemType::AccountDoesNotExist,
            "alreadyReplaced" => ProblemType::AlreadyReplaced,
            "alreadyRevoked" => ProblemType::AlreadyRevoked,
            "badCSR" => ProblemType::BadCsr,
            "badNonce" => ProblemType::BadNonce,
            "badPublicKey" => ProblemType::BadPublicKey,
            "badRevocationReason" => ProblemType::BadRevocationReason,
            "badSignatureAlgorithm" => ProblemType::BadSignatureAlgorithm,
            "caa" => ProblemType::Caa,
            "compound" => ProblemType::Compound,
            "conflict" => ProblemType::Conflict,
            "connection" => ProblemType::Connection,
            "dns" => ProblemType::Dns,
            "externalAccountRequired" => ProblemType::ExternalAccountRequired,
            "incorrectResponse" => ProblemType::IncorrectResponse,
            "invalidContact" => ProblemType::InvalidContact,
            "invalidProfile" => ProblemType::InvalidProfile,
            "malformed" => ProblemType::Malformed,
            "orderNotReady" => ProblemType::OrderNotReady,
            "rateLimited" => ProblemType::RateLimited,
            "rejectedIdentifier" => ProblemType::RejectedIdentifier,
            "serverInternal" => ProblemType::ServerInternal,
            "tls" => ProblemType::Tls,
            "unauthorized" => ProblemType::Unauthorized,
            "unsupportedContact" => ProblemType::UnsupportedContact,
            "unsupportedIdentifier" => ProblemType::UnsupportedIdentifier,
            "userActionRequired" => ProblemType::UserActionRequired,
            _ => ProblemType::Other(uri.to_owned()),
        }
    }

    /// The short ACME name (`badNonce`), or the full URI for other types.
    pub fn name(&self) -> &str {
        match self {
            ProblemType::AccountDoesNotExist => "accountDoesNotExist",
            ProblemType::AlreadyReplaced => "alreadyReplaced",
            ProblemType::AlreadyRevoked => "alreadyRevoked",
            ProblemType::BadCsr => "badCSR",
            ProblemType::BadNonce => "badNonce",
            ProblemType::BadPublicKey => "badPublicKey",
            ProblemType::BadRevocationReason => "badRevocationReason",
            ProblemType::BadSignatureAlgorithm => "badSignatureAlgorithm",
            ProblemType::Caa => "caa",
            ProblemType::Compound => "compound",
            ProblemType::Conflict => "conflict",
            ProblemType::Connection => "connection",
            ProblemType::Dns => "dns",
            ProblemType::ExternalAccountRequired => "externalAccountRequired",
            ProblemType::IncorrectResponse => "incorrectResponse",
            ProblemType::InvalidContact => "invalidContact",
            ProblemType::InvalidProfile => "invalidProfile",
            ProblemType::Malformed => "malformed",
            ProblemType::OrderNotReady => "orderNotReady",
            ProblemType::RateLimited => "rateLimited",
            ProblemType::RejectedIdentifier => "rejectedIdentifier",
            ProblemType::ServerInternal => "serverInternal",
            ProblemType::Tls => "tls",
            ProblemType::Unauthorized => "unauthorized",
            ProblemType::UnsupportedContact => "unsupportedContact",
            ProblemType::UnsupportedIdentifier => "unsupportedIdentifier",
            ProblemType::UserActionRequired => "userActionRequired",
            ProblemType::Other(uri) => uri,
        }
    }
}

/// A subproblem of a `compound` (or any) problem (RFC 8555 §6.7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Subproblem {
    /// The subproblem's type.
    pub kind: ProblemType,
    /// Its `detail`.
    pub detail: Option<String>,
    /// The identifier it concerns.
    pub identifier: Option<Identifier>,
}

/// An RFC 7807 problem document sent by the server.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// Classified `type` (absent means `about:blank`).
    pub kind: ProblemType,
    /// Human-readable explanation.
    pub detail: Option<String>,
    /// The HTTP status the document claims (may differ from the response's).
    pub status: Option<u16>,
    /// A URI identifying this occurrence.
    pub instance: Option<String>,
    /// Per-identifier subproblems.
    pub subproblems: Vec<Subproblem>,
    /// For `rateLimited` and other responses with a `Retry-After` header: when to retry.
    pub retry_after: Option<SystemTime>,
}

/// Longest `detail` kept; a hostile server cannot make error messages unbounded.
const MAX_DETAIL: usize = 2048;
/// Most subproblems kept.
const MAX_SUBPROBLEMS: usize = 100;

#[derive(Deserialize)]
struct RawProblem {
    #[serde(rename = "type", default)]
    kind: Option<serde_json::Value>,
    #[serde(default)]
    detail: Option<serde_json::Value>,
    #[serde(default)]
    status: Option<serde_json::Value>,
    #[serde(default)]
    instance: Option<serde_json::Value>,
    #[serde(default)]
    subproblems: Option<serde_json::Value>,
}

fn opt_string(v: Option<&serde_json::Value>) -> Option<String> {
    v.and_then(|v| v.as_str()).map(|s| truncate(s, MAX_DETAIL))
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl Problem {
    /// Parse a problem document liberally: members of the wrong JSON type are dropped, not
    /// fatal. Returns `None` when the body is not a JSON object.
    pub fn from_json(body: &[u8]) -> Option<Problem> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        if !value.is_object() {
            return None;
        }
        let raw: RawProblem = serde_json::from_value(value).ok()?;
        let kind = match raw.kind.as_ref().and_then(|v| v.as_str()) {
            Some(uri) => ProblemType::from_uri(uri),
            None => ProblemType::Other("about:blank".to_owned()),
        };
        let status = raw
            .status
            .as_ref()
            .and_then(|v| v.as_u64())
            .and_then(|s| u16::try_from(s).ok());
        let subproblems = raw
            .subproblems
            .as_ref()
            .and_then(|v| v.as_array())
            .map(|arr| {
                arr.iter()
                    .take(MAX_SUBPROBLEMS)
                    .filter_map(|sp| {
                        let obj = sp.as_object()?;
                        Some(Subproblem {
                            kind: obj
                                .get("type")
                                .and_then(|v| v.as_str())
                                .map(ProblemType::from_uri)
                                .unwrap_or_else(|| ProblemType::Other("about:blank".into())),
                            detail: opt_string(obj.get("detail")),
                            identifier: obj
                                .get("identifier")
                                .and_then(|v| serde_json::from_value(v.clone()).ok()),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Problem {
            kind,
            detail: opt_string(raw.detail.as_ref()),
            status,
            instance: opt_string(raw.instance.as_ref()),
            subproblems,
            retry_after: None,
        })
    }

    /// A problem with just a type and detail (for fake servers and tests).
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Problem {
        Problem {
            kind,
            detail: Some(detail.into()),
            status: None,
            instance: None,
            subproblems: Vec::new(),
            retry_after: None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        for sp in &self.subproblems {
            f.write_str(" [")?;
            if let Some(id) = &sp.identifier {
                write!(f, "{id}: ")?;
            }
            f.write_str(sp.kind.name())?;
            if let Some(d) = &sp.detail {
                write!(f, ": {d}")?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::identifier::IdentifierType;

    #[test]
    fn rfc8555_compound_example() {
        // RFC 8555 §6.7.1.
        let body = br#"{
            "type": "urn:ietf:params:acme:error:malformed",
            "detail": "Some of the identifiers requested were rejected",
            "subproblems": [
                {"type": "urn:ietf:params:acme:error:malformed",
                 "detail": "Invalid underscore in DNS name \"_example.org\"",
                 "identifier": {"type": "dns", "value": "_example.org"}},
                {"type": "urn:ietf:params:acme:error:rejectedIdentifier",
                 "detail": "This CA will not issue for \"example.net\"",
                 "identifier": {"type": "dns", "value": "example.net"}}
            ]
        }"#;
        let p = Problem::from_json(body).unwrap();
        assert_eq!(p.kind, ProblemType::Malformed);
        assert_eq!(p.subproblems.len(), 2);
        assert_eq!(p.subproblems[1].kind, ProblemType::RejectedIdentifier);
        let id = p.subproblems[1].identifier.as_ref().unwrap();
        assert_eq!(
            (&id.kind, id.value.as_str()),
            (&IdentifierType::Dns, "example.net")
        );
    }

    #[test]
    fn liberal_parsing() {
        let p = Problem::from_json(br#"{"type": 5, "status": "400", "detail": ["x"]}"#).unwrap();
        assert_eq!(p.kind, ProblemType::Other("about:blank".into()));
        assert_eq!((p.status, p.detail), (None, None));
        let p = Problem::from_json(br#"{"type":"urn:ietf:params:acme:error:fooBar"}"#).unwrap();
        assert_eq!(
            p.kind,
            ProblemType::Other("urn:ietf:params:acme:error:fooBar".into())
        );
        assert!(Problem::from_json(b"<html>").is_none());
        assert!(Problem::from_json(b"[]").is_none());
    }
}
