//! dns-01 through DNS itself (feature `rfc2136`): RFC 2136 dynamic updates signed with TSIG
//! (RFC 8945), and TXT queries for a propagation check.
//!
//! Sans-IO, like the rest of the library: [`DnsExchange`] builds the request datagram and
//! reads the answers; the adapters send it over UDP with a timeout. Message encoding,
//! decoding and TSIG are `hickory-proto`'s.
//!
//! ```
//! use acme_crypto::dns::{DnsExchange, TsigAlgorithm, TsigKey, TxtChange};
//! use std::time::SystemTime;
//!
//! let key = TsigKey::from_base64("acme-update.", TsigAlgorithm::HmacSha256,
//!                                "c2VjcmV0IGtleSBmb3IgdGhlIGRvYyB0ZXN0IQ==")?;
//! let update = DnsExchange::update_txt(
//!     "example.com", "_acme-challenge.www.example.com", "txt-value",
//!     TxtChange::Add { ttl: 60 }, Some(&key), SystemTime::now(),
//! )?;
//! assert!(update.request().len() > 12); // send this datagram to the primary server
//! let query = DnsExchange::query_txt("_acme-challenge.www.example.com")?;
//! assert_ne!(query.request(), update.request());
//! # Ok::<(), acme_crypto::dns::DnsError>(())
//! ```

use base64ct::{Base64, Encoding};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode, update_message};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm as HickoryTsigAlgorithm;
use hickory_proto::rr::{Name, RData, RecordSet, RecordType, TSigVerifier, TSigner};
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};
use zeroize::Zeroizing;

/// Largest TXT character-string (RFC 1035 §3.3).
const MAX_TXT_STRING: usize = 255;
/// TSIG fudge: how far apart the client's and server's clocks may be (RFC 8945 §10
/// recommends 300 s).
const TSIG_FUDGE: u16 = 300;

/// What went wrong building or reading a DNS message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DnsError {
    /// An argument is unusable (names it and why).
    Invalid(String),
    /// The request could not be encoded.
    Encoding(String),
    /// The server's answer could not be decoded or does not answer the request.
    Malformed(String),
    /// The server refused: its response code (`REFUSED`, `NOTAUTH`, `NOTZONE`, …).
    Rcode {
        /// The response code's name.
        rcode: String,
        /// What the request was.
        request: String,
    },
    /// The response's TSIG signature is missing or does not verify.
    Tsig(String),
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::Invalid(m) => write!(f, "invalid DNS request: {m}"),
            DnsError::Encoding(m) => write!(f, "encoding the DNS request failed: {m}"),
            DnsError::Malformed(m) => write!(f, "malformed DNS response: {m}"),
            DnsError::Rcode { rcode, request } => {
                write!(f, "the DNS server answered {rcode} to {request}")
            }
            DnsError::Tsig(m) => write!(f, "TSIG verification of the DNS response failed: {m}"),
        }
    }
}

impl std::error::Error for DnsError {}

/// A TSIG MAC algorithm (RFC 8945 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TsigAlgorithm {
    /// `hmac-sha256` (the usual choice: `tsig-keygen` and `knotc` default to it).
    HmacSha256,
    /// `hmac-sha384`
    HmacSha384,
    /// `hmac-sha512`
    HmacSha512,
}

impl TsigAlgorithm {
    fn hickory(self) -> HickoryTsigAlgorithm {
        match self {
            TsigAlgorithm::HmacSha256 => HickoryTsigAlgorithm::HmacSha256,
            TsigAlgorithm::HmacSha384 => HickoryTsigAlgorithm::HmacSha384,
            TsigAlgorithm::HmacSha512 => HickoryTsigAlgorithm::HmacSha512,
        }
    }

    /// Parse a BIND-style algorithm name (`hmac-sha256`, case-insensitive).
    pub fn from_name(name: &str) -> Result<TsigAlgorithm, DnsError> {
        match name.trim_end_matches('.').to_ascii_lowercase().as_str() {
            "hmac-sha256" => Ok(TsigAlgorithm::HmacSha256),
            "hmac-sha384" => Ok(TsigAlgorithm::HmacSha384),
            "hmac-sha512" => Ok(TsigAlgorithm::HmacSha512),
            other => Err(DnsError::Invalid(format!(
                "TSIG algorithm {other:?}: use hmac-sha256, hmac-sha384 or hmac-sha512"
            ))),
        }
    }
}

/// A TSIG key: its name (as the server knows it), algorithm and shared secret.
///
/// `Debug` never shows the secret.
#[derive(Clone)]
pub struct TsigKey {
    name: Name,
    algorithm: TsigAlgorithm,
    secret: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name.to_ascii())
            .field("algorithm", &self.algorithm)
            .field("secret", &format_args!("<redacted>"))
            .finish()
    }
}

impl TsigKey {
    /// A key from its raw secret.
    pub fn new(name: &str, algorithm: TsigAlgorithm, secret: Vec<u8>) -> Result<TsigKey, DnsError> {
        let secret = Zeroizing::new(secret);
        if secret.is_empty() {
            return Err(DnsError::Invalid("empty TSIG secret".into()));
        }
        Ok(TsigKey {
            name: fqdn(name, "TSIG key name")?,
            algorithm,
            secret,
        })
    }

    /// A key from its base64 secret, as `tsig-keygen` prints it (`secret "…";`).
    pub fn from_base64(
        name: &str,
        algorithm: TsigAlgorithm,
        secret_base64: &str,
    ) -> Result<TsigKey, DnsError> {
        let secret = Base64::decode_vec(secret_base64.trim())
            .map_err(|_| DnsError::Invalid("the TSIG secret is not valid base64".into()))?;
        TsigKey::new(name, algorithm, secret)
    }

    /// The key name (fully qualified).
    pub fn name(&self) -> String {
        self.name.to_ascii()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> TsigAlgorithm {
        self.algorithm
    }

    fn signer(&self) -> Result<TSigner, DnsError> {
        TSigner::new(
            self.secret.to_vec(),
            self.algorithm.hickory(),
            self.name.clone(),
            TSIG_FUDGE,
        )
        .map_err(|e| DnsError::Invalid(format!("TSIG key: {e}")))
    }
}

/// A fully qualified, validated DNS name.
fn fqdn(name: &str, what: &str) -> Result<Name, DnsError> {
    let mut n = Name::from_ascii(name.trim())
        .map_err(|e| DnsError::Invalid(format!("{what} {name:?}: {e}")))?;
    if n.num_labels() == 0 {
        return Err(DnsError::Invalid(format!("{what} is empty")));
    }
    n.set_fqdn(true);
    Ok(n)
}

/// What [`DnsExchange::update_txt`] does to the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxtChange {
    /// Add the value to the name's TXT records (other values stay: a wildcard and its base
    /// domain share one name).
    Add {
        /// The record's TTL in seconds.
        ttl: u32,
    },
    /// Remove exactly this value (other values stay).
    Remove,
}

/// One answer to a [`DnsExchange`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DnsReply {
    /// For queries: the TXT values of the answer section for the queried name, each the
    /// concatenation of its character-strings (RFC 8555 §8.4 values are one string).
    pub txt: Vec<String>,
    /// The server set the TC bit (the answer did not fit in a datagram).
    pub truncated: bool,
}

#[derive(Debug)]
enum Kind {
    Update { description: String },
    Query { name: Name },
}

/// One DNS request and the reading of its response.
///
/// Send [`DnsExchange::request`] to the server, then hand every datagram that comes back to
/// [`DnsExchange::read_response`] until it returns `Ok(Some(_))` or an error (datagrams that
/// are not the answer to this request give `Ok(None)`: keep waiting, within your timeout).
pub struct DnsExchange {
    id: u16,
    request: Vec<u8>,
    kind: Kind,
    verifier: Option<TSigVerifier>,
}

impl fmt::Debug for DnsExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnsExchange")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("signed", &self.verifier.is_some())
            .finish()
    }
}

fn random_id() -> Result<u16, DnsError> {
    let mut id = [0u8; 2];
    getrandom::fill(&mut id)
        .map_err(|e| DnsError::Encoding(format!("no randomness for the message ID: {e}")))?;
    Ok(u16::from_be_bytes(id))
}

fn unix_seconds(now: SystemTime) -> u64 {
    now.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl DnsExchange {
    /// An RFC 2136 UPDATE of zone `zone` that adds or removes the TXT value `value` at
    /// `record_name` (which must be inside `zone`), signed with `key` when one is given
    /// (`now` is the TSIG time).
    pub fn update_txt(
        zone: &str,
        record_name: &str,
        value: &str,
        change: TxtChange,
        key: Option<&TsigKey>,
        now: SystemTime,
    ) -> Result<DnsExchange, DnsError> {
        let zone = fqdn(zone, "zone")?;
        let name = fqdn(record_name, "record name")?;
        if !zone.zone_of(&name) {
            return Err(DnsError::Invalid(format!(
                "{} is not inside the zone {}",
                name.to_ascii(),
                zone.to_ascii()
            )));
        }
        if value.is_empty() || value.len() > MAX_TXT_STRING {
            return Err(DnsError::Invalid(format!(
                "a TXT value must be 1 to {MAX_TXT_STRING} bytes"
            )));
        }
        let ttl = match change {
            TxtChange::Add { ttl } => ttl,
            TxtChange::Remove => 0,
        };
        let mut rrset = RecordSet::new(name.clone(), RecordType::TXT, 0);
        rrset.set_ttl(ttl);
        rrset.add_rdata(RData::TXT(TXT::new(vec![value.to_owned()])));
        // `zone_of` was checked above: these builders assert it.
        let (mut message, verb) = match change {
            TxtChange::Add { .. } => (
                update_message::append(rrset, zone.clone(), false, false),
                "add",
            ),
            TxtChange::Remove => (
                update_message::delete_by_rdata(rrset, zone.clone(), false),
                "remove",
            ),
        };
        let id = random_id()?;
        message.metadata.id = id;
        let verifier = match key {
            Some(key) => message
                .finalize(&key.signer()?, unix_seconds(now))
                .map_err(|e| DnsError::Encoding(format!("TSIG signing: {e}")))?,
            None => None,
        };
        let request = message
            .to_vec()
            .map_err(|e| DnsError::Encoding(e.to_string()))?;
        Ok(DnsExchange {
            id,
            request,
            kind: Kind::Update {
                description: format!(
                    "the update ({verb} TXT {value:?} at {} in zone {})",
                    name.to_ascii(),
                    zone.to_ascii()
                ),
            },
            verifier,
        })
    }

    /// A recursive query for the TXT records of `record_name`.
    pub fn query_txt(record_name: &str) -> Result<DnsExchange, DnsError> {
        let name = fqdn(record_name, "record name")?;
        let id = random_id()?;
        let mut message = Message::new(id, MessageType::Query, OpCode::Query);
        message.metadata.recursion_desired = true;
        message.add_query(Query::query(name.clone(), RecordType::TXT));
        let request = message
            .to_vec()
            .map_err(|e| DnsError::Encoding(e.to_string()))?;
        Ok(DnsExchange {
            id,
            request,
            kind: Kind::Query { name },
            verifier: None,
        })
    }

    /// The datagram to send.
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// The message ID.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// Read one datagram received after sending the request.
    ///
    /// `Ok(None)`: not the answer to this request (another ID, not a response, or too short
    /// to tell): ignore it. `Ok(Some(reply))`: the answer, successful (`NOERROR`, and for a
    /// signed update a verified TSIG; for a query `NXDOMAIN` too, with no values).
    /// `Err`: the answer, but an error code, a bad signature or a malformed message.
    pub fn read_response(&mut self, datagram: &[u8]) -> Result<Option<DnsReply>, DnsError> {
        let Some(id) = datagram.get(..2) else {
            return Ok(None);
        };
        if u16::from_be_bytes([id[0], id[1]]) != self.id {
            return Ok(None);
        }
        let message =
            Message::from_vec(datagram).map_err(|e| DnsError::Malformed(e.to_string()))?;
        if message.metadata.message_type != MessageType::Response {
            return Ok(None);
        }
        let rcode = message.metadata.response_code;
        let truncated = message.metadata.truncation;
        match &self.kind {
            Kind::Update { description } => {
                if let Some(verifier) = self.verifier.as_mut() {
                    if message.signature().is_none() {
                        // BADKEY / BADSIG answers are unsigned by design (RFC 8945 §5.2).
                        return Err(if rcode == ResponseCode::NoError {
                            DnsError::Tsig("the server's answer is not signed".into())
                        } else {
                            DnsError::Rcode {
                                rcode: format!("{rcode} (unsigned: check the TSIG key)"),
                                request: description.clone(),
                            }
                        });
                    }
                    verifier
                        .verify(datagram)
                        .map_err(|e| DnsError::Tsig(e.to_string()))?;
                }
                if rcode != ResponseCode::NoError {
                    return Err(DnsError::Rcode {
                        rcode: rcode.to_string(),
                        request: description.clone(),
                    });
                }
                Ok(Some(DnsReply {
                    txt: Vec::new(),
                    truncated,
                }))
            }
            Kind::Query { name } => {
                if !message
                    .queries
                    .iter()
                    .any(|q| q.name() == name && q.query_type() == RecordType::TXT)
                {
                    return Err(DnsError::Malformed(
                        "the response does not answer the question asked".into(),
                    ));
                }
                if rcode != ResponseCode::NoError && rcode != ResponseCode::NXDomain {
                    return Err(DnsError::Rcode {
                        rcode: rcode.to_string(),
                        request: format!("the TXT query for {}", name.to_ascii()),
                    });
                }
                let txt = message
                    .answers
                    .iter()
                    .filter(|r| &r.name == name)
                    .filter_map(|r| match &r.data {
                        RData::TXT(t) => Some(
                            t.txt_data
                                .iter()
                                .map(|s| String::from_utf8_lossy(s))
                                .collect::<String>(),
                        ),
                        _ => None,
                    })
                    .collect();
                Ok(Some(DnsReply { txt, truncated }))
            }
        }
    }
}

/// Where and how long to look for a published TXT value before asking the CA to validate
/// (the adapters' `WaitForPropagation` solvers).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PropagationCheck {
    /// The DNS server to ask: an authoritative server of the zone, or a resolver.
    pub server: SocketAddr,
    /// Give up (failing the presentation) after this long.
    pub deadline: Duration,
    /// Pause between queries.
    pub interval: Duration,
    /// How long one query waits for its answer.
    pub query_timeout: Duration,
}

impl PropagationCheck {
    /// Ask `server`, every 2 s, for at most 120 s (queries time out after 2 s).
    pub fn new(server: SocketAddr) -> Self {
        PropagationCheck {
            server,
            deadline: Duration::from_secs(120),
            interval: Duration::from_secs(2),
            query_timeout: Duration::from_secs(2),
        }
    }

    /// Give up after `deadline`.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Pause `interval` between queries.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }
}
