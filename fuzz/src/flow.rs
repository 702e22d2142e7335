//! Structured fuzzing of the flow state machines.
//!
//! The input (decoded with [`arbitrary`]) picks a flow (account, issuance, revocation, key
//! rollover, orders list, single fetches, renewal information), a session setup (directory
//! known or not, account or not, policy, start time) and a script of actions: responses
//! (status, headers, body — realistic bodies built from structured choices, optionally
//! mutated, or raw bytes), transport errors, clock jumps, stale responses and polls while a
//! request is outstanding. The driver plays the adapter and asserts:
//!
//! - nothing panics;
//! - the flow never emits more than [`MAX_OUTPUTS_WITHOUT_INPUT`] outputs without being fed
//!   something new (it cannot loop), never asks to wait until a time already reached, never
//!   emits a second request while one is outstanding, and is never `Idle` with nothing
//!   outstanding unless it waits for `challenges_ready`;
//! - every request is well formed: a `User-Agent`; unique increasing ids; redirects only for
//!   the directory; `GET`/`HEAD` without body; `POST` with `Content-Type:
//!   application/jose+json` and a flattened JWS whose protected header has `alg`, a `nonce`
//!   the server issued and that was not used before, `url` equal to the request URL, and
//!   exactly one of `jwk` and `kid` (the session's account URL), signed by the key it names
//!   ([`TestSigner::verify`]); the payload is empty (POST-as-GET) or a JSON object; the
//!   keyChange inner JWS is checked too;
//! - challenges handed to the caller have a base64url token and the key authorization
//!   `token.thumbprint`;
//! - results are consistent (a created account is installed in the session, a rolled-over
//!   key is the session's key, a renewal window is valid only when ordered), and polling a
//!   finished flow returns a usage error.
//!
//! Response bodies never exceed [`MAX_BODY_SIZE`], as an adapter guarantees.

use acme_proto::Error;
use acme_proto::flow::{
    AccountCredentials, AccountFlow, AuthorizationFlow, ChallengeFlow, ChallengeSelector,
    ChallengeToSolve, DirectoryFlow, Event, Flow, IssueFlow, KeyRolloverFlow, NewAccount, NewOrder,
    OrderFlow, OrdersListFlow, Output, Policy, ProfileRequest, RenewalInfoFlow, RevocationFlow,
    RevocationReason, Session,
};
use acme_proto::http::{
    Endpoint, MAX_BODY_SIZE, Method, Request, RequestId, Response, TransportError,
    TransportErrorKind,
};
use acme_proto::msgs::headers::replay_nonce;
use acme_proto::msgs::identifier::Identifier;
use acme_proto::msgs::jws;
use acme_proto::msgs::resources::{ChallengeType, Directory};
use acme_proto::msgs::time::{format_http_date, format_rfc3339};
use acme_proto::signer::{Jwk, MacKey, Signer};
use acme_proto::testing::{
    BASE, FakeConfig, FakeServer, TestSigner, Validation, epoch, hmac_sha256,
};
use arbitrary::{Arbitrary, Unstructured};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Most outputs a flow may emit in a row without being fed a response, a transport error
/// or `challenges_ready`. Legitimate runs need a handful (progress events, a wait, the
/// next request).
pub const MAX_OUTPUTS_WITHOUT_INPUT: usize = 64;

/// Most actions of one script (keeps one input's run time bounded).
const MAX_ACTIONS: usize = 256;

/// Longest error text a flow may produce from a body excerpt (`SNIPPET_LEN` plus `…`).
const MAX_SNIPPET: usize = 200 + '…'.len_utf8();

const ACCOUNT_URL: &str = "https://acme.test/acct/1";
const CSR: &[u8] = b"\x30\x03\x02\x01\x00 fuzz CSR";
const CERT_DER: &[u8] = b"\x30\x03\x02\x01\x01 fuzz certificate";

/// A PEM chain of the shape CAs send (the flows only check the marker; the bytes are a
/// real Pebble certificate's prefix, which is enough for them).
const PEM_CERT: &str = "-----BEGIN CERTIFICATE-----\n\
MIICGTCCAZ+gAwIBAgIIB8aUQ7jDAa4wCgYIKoZIzj0EAwMwKDEmMCQGA1UEAxMd\n\
UGViYmxlIEludGVybWVkaWF0ZSBDQSAzMmQyYTQwHhcNMjYxMjAzMTYzOTUzWhcN\n\
-----END CERTIFICATE-----\n";

const EAB_KEY: &[u8] = b"fuzz eab key";

/// An External Account Binding key for the fuzzer.
struct FuzzMac;

impl MacKey for FuzzMac {
    fn alg(&self) -> &str {
        "HS256"
    }
    fn key_id(&self) -> &str {
        "kid-1"
    }
    fn mac(&self, signing_input: &[u8]) -> Vec<u8> {
        hmac_sha256(EAB_KEY, signing_input)
    }
}

#[derive(Debug, Arbitrary)]
enum IdChoice {
    Example,
    Www,
    Wildcard,
    Ipv4,
    Ipv6,
    Text(String),
}

impl IdChoice {
    fn identifier(&self) -> Option<Identifier> {
        match self {
            IdChoice::Example => Identifier::dns("example.org").ok(),
            IdChoice::Www => Identifier::dns("www.example.org").ok(),
            IdChoice::Wildcard => Identifier::dns("*.example.org").ok(),
            IdChoice::Ipv4 => Some(Identifier::ip([192, 0, 2, 1].into())),
            IdChoice::Ipv6 => Identifier::parse("2001:db8::1").ok(),
            IdChoice::Text(t) => Identifier::parse(t).ok(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum FlowChoice {
    Directory,
    AccountCreate {
        contact: Vec<String>,
        terms: bool,
        eab: bool,
    },
    AccountFind,
    AccountFetch,
    AccountUpdate(Vec<String>),
    AccountDeactivate,
    Issue {
        ids: Vec<IdChoice>,
        replaces: Option<String>,
        profile: Option<(String, bool)>,
        not_before: Option<u32>,
        not_after: Option<u32>,
        preference: Vec<u8>,
    },
    RevokeByAccount(Option<u8>),
    RevokeByKey(Option<u8>),
    KeyRollover,
    OrdersList,
    OrderFetch,
    AuthorizationFetch,
    AuthorizationDeactivate,
    NewAuthz(IdChoice),
    Challenge,
    RenewalInfo(String),
}

#[derive(Debug, Arbitrary)]
enum StartTime {
    Epoch,
    After(u32),
    UnixEpoch,
    FarFuture(u32),
    Before(u32),
}

impl StartTime {
    fn time(&self) -> SystemTime {
        match *self {
            StartTime::Epoch => epoch(),
            StartTime::After(s) => epoch() + Duration::from_secs(u64::from(s)),
            StartTime::UnixEpoch => UNIX_EPOCH,
            // Within a few seconds of the latest time the platform can represent: every
            // `now + delay` the core computes must saturate, not panic.
            StartTime::FarFuture(s) => latest_time() - Duration::from_secs(u64::from(s % 4096)),
            StartTime::Before(s) => UNIX_EPOCH - Duration::from_secs(u64::from(s)),
        }
    }
}

/// The latest `SystemTime` this platform represents (found by bisection, as std has no
/// constant for it).
fn latest_time() -> SystemTime {
    let mut t = UNIX_EPOCH;
    let mut step = Duration::from_secs(1 << 62);
    while step > Duration::ZERO {
        if let Some(next) = t.checked_add(step) {
            t = next;
        } else {
            step /= 2;
        }
    }
    t
}

#[derive(Debug, Arbitrary)]
struct PolicyChoice {
    max_bad_nonce_retries: u8,
    max_transient_retries: u8,
    transient_backoff_ms: u32,
    poll_initial_ms: u32,
    poll_max_ms: u32,
    retry_after_min_ms: u32,
    retry_after_max_ms: u32,
    validation_timeout_s: u32,
    issuance_timeout_s: u32,
    fetch_alternate_chains: bool,
}

impl PolicyChoice {
    fn policy(&self) -> Policy {
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        let mut p = Policy::default();
        p.max_bad_nonce_retries = u32::from(self.max_bad_nonce_retries);
        p.max_transient_retries = u32::from(self.max_transient_retries);
        p.transient_backoff = ms(self.transient_backoff_ms);
        p.poll_initial_interval = ms(self.poll_initial_ms);
        p.poll_max_interval = ms(self.poll_max_ms);
        p.retry_after_min = ms(self.retry_after_min_ms);
        p.retry_after_max = ms(self.retry_after_max_ms);
        p.validation_timeout = Duration::from_secs(u64::from(self.validation_timeout_s));
        p.issuance_timeout = Duration::from_secs(u64::from(self.issuance_timeout_s));
        p.fetch_alternate_chains = self.fetch_alternate_chains;
        p
    }
}

#[derive(Debug, Arbitrary)]
struct Setup {
    server: ServerChoice,
    known_directory: Option<DirSpec>,
    account: bool,
    policy: Option<PolicyChoice>,
    start: StartTime,
    ignore_challenges: bool,
}

#[derive(Debug, Arbitrary)]
struct ServerChoice {
    pending_polls: u8,
    processing_polls: u8,
    retry_after: Option<u16>,
    alternate_chains: u8,
    new_authz: bool,
    renewal_info: bool,
    orders_per_page: u8,
    reject_every_nth_nonce: u8,
    eab: bool,
    nonce_head: bool,
}

impl ServerChoice {
    fn server(&self) -> FakeServer {
        let eab_keys = self.eab.then(|| {
            [("kid-1".to_owned(), EAB_KEY.to_vec())]
                .into_iter()
                .collect()
        });
        FakeServer::new(FakeConfig {
            validation: Validation::AlwaysValid,
            pending_polls: u32::from(self.pending_polls % 4),
            processing_polls: u32::from(self.processing_polls % 4),
            retry_after: self.retry_after.map(|s| s.to_string()),
            alternate_chains: usize::from(self.alternate_chains % 4),
            new_authz: self.new_authz,
            renewal_info: self.renewal_info,
            orders_per_page: usize::from(self.orders_per_page % 8) + 1,
            reject_every_nth_nonce: u32::from(self.reject_every_nth_nonce % 8),
            nonce_head: self.nonce_head,
            eab_keys,
            ..FakeConfig::default()
        })
    }
}

#[derive(Debug, Arbitrary)]
enum Action {
    /// Let the scripted fake server (`acme_proto::testing`) answer: realistic responses,
    /// so that scripts reach deep states and inject faults there.
    Server,
    Respond(ResponseSpec),
    Transport(TransportChoice),
    Advance(u32),
    AdvanceMillis(u16),
    ClockBack(u16),
    Stale(u8, ResponseSpec),
    PollWhileOutstanding,
}

#[derive(Debug, Arbitrary)]
enum TransportChoice {
    Connect,
    Tls,
    Timeout,
    BodyTooLarge,
    Io,
    InvalidUrl,
    Other,
}

impl TransportChoice {
    fn error(&self) -> TransportError {
        let kind = match self {
            TransportChoice::Connect => TransportErrorKind::Connect,
            TransportChoice::Tls => TransportErrorKind::Tls,
            TransportChoice::Timeout => TransportErrorKind::Timeout,
            TransportChoice::BodyTooLarge => TransportErrorKind::BodyTooLarge,
            TransportChoice::Io => TransportErrorKind::Io,
            TransportChoice::InvalidUrl => TransportErrorKind::InvalidUrl,
            TransportChoice::Other => TransportErrorKind::Other,
        };
        TransportError::new(kind, "fuzzed transport failure")
    }
}

#[derive(Debug, Arbitrary)]
struct ResponseSpec {
    status: StatusChoice,
    nonce: NonceChoice,
    headers: Vec<HeaderSpec>,
    body: BodySpec,
}

#[derive(Debug, Arbitrary)]
enum StatusChoice {
    Ok,
    Created,
    NoContent,
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    TooManyRequests,
    InternalServerError,
    ServiceUnavailable,
    Other(u16),
}

impl StatusChoice {
    fn code(&self) -> u16 {
        match *self {
            StatusChoice::Ok => 200,
            StatusChoice::Created => 201,
            StatusChoice::NoContent => 204,
            StatusChoice::BadRequest => 400,
            StatusChoice::Unauthorized => 401,
            StatusChoice::Forbidden => 403,
            StatusChoice::NotFound => 404,
            StatusChoice::MethodNotAllowed => 405,
            StatusChoice::Conflict => 409,
            StatusChoice::TooManyRequests => 429,
            StatusChoice::InternalServerError => 500,
            StatusChoice::ServiceUnavailable => 503,
            StatusChoice::Other(c) => 100 + c % 900,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum NonceChoice {
    Fresh,
    None,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum UrlChoice {
    Account,
    Order(u8),
    Authz(u8),
    Challenge(u8),
    Finalize(u8),
    Certificate(u8),
    Orders(u8),
    Relative(String),
    Raw(String),
}

impl UrlChoice {
    fn url(&self) -> String {
        match self {
            UrlChoice::Account => ACCOUNT_URL.to_owned(),
            UrlChoice::Order(n) => format!("{BASE}/order/{n}"),
            UrlChoice::Authz(n) => format!("{BASE}/authz/{n}"),
            UrlChoice::Challenge(n) => format!("{BASE}/chall/{n}"),
            UrlChoice::Finalize(n) => format!("{BASE}/finalize/{n}"),
            UrlChoice::Certificate(n) => format!("{BASE}/cert/{n}"),
            UrlChoice::Orders(n) => format!("{BASE}/orders/1?page={n}"),
            UrlChoice::Relative(s) => format!("/{s}"),
            UrlChoice::Raw(s) => s.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum RelChoice {
    Next,
    Alternate,
    Index,
    Up,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum HeaderSpec {
    Location(UrlChoice),
    RetryAfterSeconds(u32),
    RetryAfterDate(i32),
    RetryAfterRaw(String),
    Link(UrlChoice, RelChoice),
    ContentType(ContentTypeChoice),
    Raw(String, Vec<u8>),
}

#[derive(Debug, Arbitrary)]
enum ContentTypeChoice {
    Json,
    Problem,
    Pem,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum BodySpec {
    Empty,
    Raw(Vec<u8>),
    Directory(DirSpec),
    Account(AccountSpec),
    Order(OrderSpec),
    Authorization(AuthzSpec),
    Challenge(ChallengeSpec),
    Problem(ProblemSpec),
    OrdersList(Vec<UrlChoice>),
    RenewalInfo(i32, i32),
    Pem(u8),
    Mutated(Box<BodySpec>, Vec<Mutation>),
}

#[derive(Debug, Arbitrary)]
enum Mutation {
    Flip(u16, u8),
    Truncate(u16),
    Insert(u16, Vec<u8>),
    Delete(u16, u8),
}

#[derive(Debug, Arbitrary)]
struct DirSpec {
    new_authz: bool,
    revoke_cert: bool,
    key_change: bool,
    renewal_info: bool,
    meta: bool,
    odd_nonce_url: Option<UrlChoice>,
}

impl DirSpec {
    fn json(&self) -> Value {
        let mut d = json!({
            "newNonce": self.odd_nonce_url.as_ref().map_or_else(|| format!("{BASE}/nonce"), UrlChoice::url),
            "newAccount": format!("{BASE}/new-account"),
            "newOrder": format!("{BASE}/new-order"),
        });
        if self.new_authz {
            d["newAuthz"] = json!(format!("{BASE}/new-authz"));
        }
        if self.revoke_cert {
            d["revokeCert"] = json!(format!("{BASE}/revoke"));
        }
        if self.key_change {
            d["keyChange"] = json!(format!("{BASE}/key-change"));
        }
        if self.renewal_info {
            d["renewalInfo"] = json!(format!("{BASE}/renewal-info/"));
        }
        if self.meta {
            d["meta"] = json!({
                "termsOfService": "data:text/plain,Do%20what%20thou%20wilt",
                "externalAccountRequired": false,
                "profiles": {"default": "The profile you know and love"}
            });
        }
        d
    }
}

#[derive(Debug, Arbitrary)]
struct AccountSpec {
    status: Option<String>,
    contact: Vec<String>,
    orders: Option<UrlChoice>,
}

#[derive(Debug, Arbitrary)]
enum OrderStatusChoice {
    Pending,
    Ready,
    Processing,
    Valid,
    Invalid,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum IdsChoice {
    Requested,
    Absent,
    Some(Vec<IdChoice>),
}

#[derive(Debug, Arbitrary)]
struct OrderSpec {
    status: OrderStatusChoice,
    identifiers: IdsChoice,
    authorizations: Vec<UrlChoice>,
    finalize: Option<UrlChoice>,
    certificate: Option<UrlChoice>,
    error: Option<ProblemSpec>,
    expires: bool,
}

#[derive(Debug, Arbitrary)]
enum AuthzStatusChoice {
    Pending,
    Valid,
    Invalid,
    Deactivated,
    Expired,
    Revoked,
    Other(String),
}

#[derive(Debug, Arbitrary)]
struct AuthzSpec {
    status: AuthzStatusChoice,
    identifier: u8,
    other_identifier: Option<IdChoice>,
    wildcard: Option<bool>,
    challenges: Vec<ChallengeSpec>,
}

#[derive(Debug, Arbitrary)]
enum ChallengeKind {
    Http01,
    Dns01,
    TlsAlpn01,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum ChallengeStatusChoice {
    Pending,
    Processing,
    Valid,
    Invalid,
    Absent,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum TokenChoice {
    Good(u8),
    Raw(String),
}

#[derive(Debug, Arbitrary)]
struct ChallengeSpec {
    kind: ChallengeKind,
    url: UrlChoice,
    status: ChallengeStatusChoice,
    token: Option<TokenChoice>,
    error: Option<ProblemSpec>,
}

#[derive(Debug, Arbitrary)]
enum ProblemKind {
    BadNonce,
    RateLimited,
    OrderNotReady,
    AlreadyReplaced,
    Conflict,
    Malformed,
    Unauthorized,
    AccountDoesNotExist,
    ServerInternal,
    Other(String),
}

#[derive(Debug, Arbitrary)]
struct ProblemSpec {
    kind: ProblemKind,
    detail: String,
    subproblems: u8,
}

impl ProblemSpec {
    fn json(&self) -> Value {
        let name = match &self.kind {
            ProblemKind::BadNonce => "badNonce",
            ProblemKind::RateLimited => "rateLimited",
            ProblemKind::OrderNotReady => "orderNotReady",
            ProblemKind::AlreadyReplaced => "alreadyReplaced",
            ProblemKind::Conflict => "conflict",
            ProblemKind::Malformed => "malformed",
            ProblemKind::Unauthorized => "unauthorized",
            ProblemKind::AccountDoesNotExist => "accountDoesNotExist",
            ProblemKind::ServerInternal => "serverInternal",
            ProblemKind::Other(s) => s,
        };
        let subproblems: Vec<Value> = (0..self.subproblems % 4)
            .map(|i| {
                json!({"type": "urn:ietf:params:acme:error:rejectedIdentifier",
                       "detail": format!("subproblem {i}"),
                       "identifier": {"type": "dns", "value": format!("n{i}.example.org")}})
            })
            .collect();
        let mut p = json!({
            "type": format!("urn:ietf:params:acme:error:{name}"),
            "detail": self.detail,
            "status": 400,
        });
        if !subproblems.is_empty() {
            p["subproblems"] = Value::Array(subproblems);
        }
        p
    }
}

/// What the driver knows while it plays the server.
struct Ctx {
    /// What happened, for [`describe`].
    log: Vec<String>,
    server: FakeServer,
    now: SystemTime,
    /// Nonces issued in `Replay-Nonce` headers and not used yet, with multiplicity.
    nonces: HashMap<String, usize>,
    fresh: u64,
    last_id: Option<RequestId>,
    requested: Vec<Identifier>,
    account_key: Arc<TestSigner>,
    new_key: Arc<TestSigner>,
    cert_key: Arc<TestSigner>,
    ignore_challenges: bool,
    ignored_challenges: bool,
}

impl Ctx {
    fn body(&self, spec: &BodySpec) -> (Vec<u8>, Option<&'static str>) {
        let json_body = |v: Value| (v.to_string().into_bytes(), Some("application/json"));
        match spec {
            BodySpec::Empty => (Vec::new(), None),
            BodySpec::Raw(b) => (b.clone(), None),
            BodySpec::Directory(d) => json_body(d.json()),
            BodySpec::Account(a) => {
                let mut v = json!({"contact": a.contact});
                if let Some(s) = &a.status {
                    v["status"] = json!(s);
                }
                if let Some(o) = &a.orders {
                    v["orders"] = json!(o.url());
                }
                json_body(v)
            }
            BodySpec::Order(o) => json_body(self.order_json(o)),
            BodySpec::Authorization(a) => json_body(self.authz_json(a)),
            BodySpec::Challenge(c) => json_body(challenge_json(c)),
            BodySpec::Problem(p) => (
                p.json().to_string().into_bytes(),
                Some("application/problem+json"),
            ),
            BodySpec::OrdersList(urls) => {
                let urls: Vec<String> = urls.iter().map(UrlChoice::url).collect();
                json_body(json!({ "orders": urls }))
            }
            BodySpec::RenewalInfo(start, end) => {
                let at = |d: i32| {
                    let off = Duration::from_secs(u64::from(d.unsigned_abs()));
                    let t = if d >= 0 {
                        self.now.checked_add(off)
                    } else {
                        self.now.checked_sub(off)
                    };
                    format_rfc3339(t.unwrap_or(self.now))
                };
                json_body(json!({
                    "suggestedWindow": {"start": at(*start), "end": at(*end)},
                    "explanationURL": "https://acme.test/docs/ari"
                }))
            }
            BodySpec::Pem(n) => (
                PEM_CERT.repeat(usize::from(n % 4) + 1).into_bytes(),
                Some("application/pem-certificate-chain"),
            ),
            BodySpec::Mutated(inner, mutations) => {
                let (mut b, ct) = self.body(inner);
                for m in mutations {
                    mutate(&mut b, m);
                }
                (b, ct)
            }
        }
    }

    fn order_json(&self, o: &OrderSpec) -> Value {
        let status = match &o.status {
            OrderStatusChoice::Pending => "pending",
            OrderStatusChoice::Ready => "ready",
            OrderStatusChoice::Processing => "processing",
            OrderStatusChoice::Valid => "valid",
            OrderStatusChoice::Invalid => "invalid",
            OrderStatusChoice::Other(s) => s,
        };
        let mut v = json!({
            "status": status,
            "authorizations": o.authorizations.iter().map(UrlChoice::url).collect::<Vec<_>>(),
        });
        match &o.identifiers {
            IdsChoice::Requested => v["identifiers"] = json!(self.requested),
            IdsChoice::Absent => {}
            IdsChoice::Some(ids) => {
                let ids: Vec<Identifier> = ids.iter().filter_map(IdChoice::identifier).collect();
                v["identifiers"] = json!(ids);
            }
        }
        if let Some(f) = &o.finalize {
            v["finalize"] = json!(f.url());
        }
        if let Some(c) = &o.certificate {
            v["certificate"] = json!(c.url());
        }
        if let Some(e) = &o.error {
            v["error"] = e.json();
        }
        if o.expires {
            v["expires"] = json!("2026-12-10T16:39:53Z");
        }
        v
    }

    fn authz_json(&self, a: &AuthzSpec) -> Value {
        let status = match &a.status {
            AuthzStatusChoice::Pending => "pending",
            AuthzStatusChoice::Valid => "valid",
            AuthzStatusChoice::Invalid => "invalid",
            AuthzStatusChoice::Deactivated => "deactivated",
            AuthzStatusChoice::Expired => "expired",
            AuthzStatusChoice::Revoked => "revoked",
            AuthzStatusChoice::Other(s) => s,
        };
        let identifier = a
            .other_identifier
            .as_ref()
            .and_then(IdChoice::identifier)
            .or_else(|| {
                let n = self.requested.len();
                (n > 0).then(|| {
                    self.requested[usize::from(a.identifier) % n].authorization_identifier()
                })
            })
            .unwrap_or_else(|| Identifier::ip([192, 0, 2, 9].into()));
        let mut v = json!({
            "status": status,
            "identifier": identifier,
            "expires": "2026-12-10T16:39:53Z",
            "challenges": a.challenges.iter().map(challenge_json).collect::<Vec<_>>(),
        });
        if let Some(w) = a.wildcard {
            v["wildcard"] = json!(w);
        }
        v
    }

    fn response(&mut self, spec: &ResponseSpec) -> Response {
        let (mut body, content_type) = self.body(&spec.body);
        body.truncate(MAX_BODY_SIZE);
        let mut builder = http::Response::builder().status(spec.status.code());
        if let Some(ct) = content_type {
            builder = builder.header("Content-Type", ct);
        }
        match &spec.nonce {
            NonceChoice::Fresh => {
                self.fresh += 1;
                builder = builder.header("Replay-Nonce", format!("fuzzNonce{}", self.fresh));
            }
            NonceChoice::None => {}
            NonceChoice::Raw(s) => {
                builder = builder.header("Replay-Nonce", s.as_str());
            }
        }
        for h in spec.headers.iter().take(8) {
            builder = match h {
                HeaderSpec::Location(u) => builder.header("Location", u.url()),
                HeaderSpec::RetryAfterSeconds(s) => builder.header("Retry-After", s.to_string()),
                HeaderSpec::RetryAfterDate(d) => {
                    let off = Duration::from_secs(u64::from(d.unsigned_abs()));
                    let t = if *d >= 0 {
                        self.now.checked_add(off)
                    } else {
                        self.now.checked_sub(off)
                    };
                    builder.header("Retry-After", format_http_date(t.unwrap_or(self.now)))
                }
                HeaderSpec::RetryAfterRaw(s) => builder.header("Retry-After", s.as_str()),
                HeaderSpec::Link(u, rel) => {
                    let rel = match rel {
                        RelChoice::Next => "next",
                        RelChoice::Alternate => "alternate",
                        RelChoice::Index => "index",
                        RelChoice::Up => "up",
                        RelChoice::Raw(s) => s,
                    };
                    builder.header("Link", format!("<{}>;rel=\"{rel}\"", u.url()))
                }
                HeaderSpec::ContentType(ct) => builder.header(
                    "Content-Type",
                    match ct {
                        ContentTypeChoice::Json => "application/json",
                        ContentTypeChoice::Problem => "application/problem+json",
                        ContentTypeChoice::Pem => "application/pem-certificate-chain",
                        ContentTypeChoice::Raw(s) => s,
                    },
                ),
                HeaderSpec::Raw(name, value) => builder.header(name.as_str(), value.as_slice()),
            };
        }
        let response = match builder.body(body) {
            Ok(r) => r,
            // A header the `http` crate refuses: send the body alone, as a server would
            // have to.
            Err(_) => http::Response::builder()
                .status(spec.status.code())
                .body(Vec::new())
                .unwrap_or_default(),
        };
        self.issued(response)
    }

    /// Record the nonce a response carries (the one the core will take).
    fn issued(&mut self, response: Response) -> Response {
        if let Some(n) = replay_nonce(response.headers()) {
            *self.nonces.entry(n).or_default() += 1;
        }
        response
    }
}

fn challenge_json(c: &ChallengeSpec) -> Value {
    let kind = match &c.kind {
        ChallengeKind::Http01 => "http-01",
        ChallengeKind::Dns01 => "dns-01",
        ChallengeKind::TlsAlpn01 => "tls-alpn-01",
        ChallengeKind::Other(s) => s,
    };
    let mut v = json!({"type": kind, "url": c.url.url()});
    let status = match &c.status {
        ChallengeStatusChoice::Pending => Some("pending"),
        ChallengeStatusChoice::Processing => Some("processing"),
        ChallengeStatusChoice::Valid => Some("valid"),
        ChallengeStatusChoice::Invalid => Some("invalid"),
        ChallengeStatusChoice::Absent => None,
        ChallengeStatusChoice::Other(s) => Some(s.as_str()),
    };
    if let Some(s) = status {
        v["status"] = json!(s);
    }
    match &c.token {
        Some(TokenChoice::Good(n)) => {
            v["token"] = json!(format!("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX{n}"))
        }
        Some(TokenChoice::Raw(s)) => v["token"] = json!(s),
        None => {}
    }
    if let Some(e) = &c.error {
        v["error"] = e.json();
    }
    v
}

fn mutate(b: &mut Vec<u8>, m: &Mutation) {
    let at = |pos: u16, len: usize| if len == 0 { 0 } else { usize::from(pos) % len };
    match m {
        Mutation::Flip(pos, x) => {
            if !b.is_empty() {
                let i = at(*pos, b.len());
                b[i] ^= *x;
            }
        }
        Mutation::Truncate(len) => b.truncate(usize::from(*len)),
        Mutation::Insert(pos, bytes) => {
            let i = at(*pos, b.len() + 1);
            b.splice(i..i, bytes.iter().copied());
        }
        Mutation::Delete(pos, n) => {
            let i = at(*pos, b.len() + 1);
            let end = (i + usize::from(*n)).min(b.len());
            b.drain(i..end);
        }
    }
}

/// Check one request the flow emitted.
fn check_request(req: &Request, session: &Session, ctx: &mut Ctx) {
    if let Some(last) = ctx.last_id {
        assert!(req.id > last, "request ids must increase");
    }
    ctx.last_id = Some(req.id);
    let ua = req
        .headers
        .get(http::header::USER_AGENT)
        .expect("every request has a User-Agent");
    assert!(ua.to_str().is_ok_and(|s| s.contains("acme-proto/")));
    assert_eq!(
        req.follow_redirects,
        req.endpoint == Endpoint::Directory,
        "redirects are for the directory only"
    );
    assert!(
        req.body.len() <= 8 * MAX_BODY_SIZE,
        "request body of {} bytes",
        req.body.len()
    );
    let _ = format!("{req:?}");
    match req.method {
        Method::GET | Method::HEAD => {
            assert!(req.body.is_empty(), "{} with a body", req.method);
            match req.endpoint {
                Endpoint::Directory => assert_eq!(req.url, session.directory_url()),
                Endpoint::NewNonce => assert_eq!(
                    Some(req.url.as_str()),
                    session.directory().map(|d| d.new_nonce.as_str())
                ),
                Endpoint::RenewalInfo => assert_eq!(req.method, Method::GET),
                other => panic!("{} request to {other:?}", req.method),
            }
        }
        Method::POST => check_post(req, session, ctx),
        ref other => panic!("unexpected method {other}"),
    }
}

fn check_post(req: &Request, session: &Session, ctx: &mut Ctx) {
    assert_eq!(
        req.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/jose+json")
    );
    let parsed = jws::parse(&req.body).expect("a POST body is a flattened JWS");
    let h = &parsed.protected;
    assert_eq!(h.get("alg").and_then(Value::as_str), Some("TEST"));
    assert_eq!(
        h.get("url").and_then(Value::as_str),
        Some(req.url.as_str()),
        "JWS url must be the request URL"
    );
    let nonce = h
        .get("nonce")
        .and_then(Value::as_str)
        .expect("a POST carries a nonce");
    let left = ctx
        .nonces
        .get_mut(nonce)
        .filter(|n| **n > 0)
        .unwrap_or_else(|| panic!("nonce {nonce:?} was not issued, or is reused"));
    *left -= 1;
    let signer_jwk = match (h.get("jwk"), h.get("kid")) {
        (Some(j), None) => {
            let jwk = Jwk::from_json(j).expect("the jwk header parses");
            let known = [&ctx.account_key, &ctx.new_key, &ctx.cert_key];
            assert!(
                known.iter().any(|k| k.jwk() == jwk),
                "jwk of an unknown key"
            );
            jwk
        }
        (None, Some(kid)) => {
            let account = session
                .account()
                .expect("a kid request needs a session account");
            assert_eq!(kid.as_str(), Some(account.url.as_str()));
            account.key.jwk()
        }
        _ => panic!("a JWS needs exactly one of jwk and kid: {h}"),
    };
    assert!(
        TestSigner::verify(
            &signer_jwk,
            parsed.signing_input.as_bytes(),
            &parsed.signature
        ),
        "signature does not verify"
    );
    let payload: Option<Value> = if parsed.payload.is_empty() {
        None
    } else {
        let v: Value = serde_json::from_slice(&parsed.payload).expect("payload is JSON");
        assert!(v.is_object(), "payload is a JSON object");
        Some(v)
    };
    match req.endpoint {
        Endpoint::Order | Endpoint::Certificate | Endpoint::OrdersList => {
            assert!(payload.is_none(), "POST-as-GET has an empty payload");
        }
        Endpoint::Challenge => assert_eq!(parsed.payload, b"{}"),
        Endpoint::Finalize => {
            let csr = payload.as_ref().and_then(|p| p.get("csr"));
            assert_eq!(csr.and_then(Value::as_str), Some(jws::b64(CSR).as_str()));
        }
        Endpoint::NewAccount => assert!(h.get("jwk").is_some()),
        Endpoint::KeyChange => {
            let inner = payload.expect("keyChange has a payload");
            let inner = jws::parse(inner.to_string().as_bytes()).expect("inner JWS parses");
            let ih = &inner.protected;
            assert!(ih.get("nonce").is_none(), "inner JWS has no nonce");
            assert_eq!(
                ih.get("url").and_then(Value::as_str),
                Some(req.url.as_str())
            );
            let jwk = Jwk::from_json(&ih["jwk"]).expect("inner JWS has a jwk");
            assert_eq!(jwk, ctx.new_key.jwk());
            assert!(TestSigner::verify(
                &jwk,
                inner.signing_input.as_bytes(),
                &inner.signature
            ));
            let body: Value = serde_json::from_slice(&inner.payload).expect("inner payload");
            assert_eq!(body["oldKey"], signer_jwk.to_json_value());
            assert_eq!(
                body["account"].as_str(),
                h.get("kid").and_then(Value::as_str)
            );
        }
        _ => {}
    }
}

fn check_challenges(list: &[ChallengeToSolve], session: &Session) {
    assert!(!list.is_empty(), "an empty Challenges event");
    let thumbprint = session
        .account()
        .expect("challenges need an account")
        .key
        .jwk()
        .thumbprint();
    for c in list {
        let token = c.token();
        assert!(
            !token.is_empty()
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "challenge token {token:?} is not base64url (RFC 8555 §8.1): it would be used in paths and DNS names"
        );
        assert_eq!(c.key_authorization, format!("{token}.{thumbprint}"));
        let _ = (
            c.http01_path(),
            c.dns01_record_name(),
            c.dns01_txt_value(),
            c.tls_alpn01_digest(),
        );
    }
}

fn check_error(e: &Error) {
    let _ = (e.to_string(), e.retry_after(), e.is_rate_limited());
    if let Error::Protocol { body_snippet, .. } | Error::Unavailable { body_snippet, .. } = e {
        assert!(body_snippet.len() <= MAX_SNIPPET);
    }
}

/// Drive `flow` through the script. `on_challenges` answers a Challenges event (only
/// [`IssueFlow`] emits one). Returns the flow's result if it finished.
fn drive<F: Flow>(
    flow: &mut F,
    session: &mut Session,
    ctx: &mut Ctx,
    script: &mut std::slice::Iter<'_, Action>,
    on_challenges: impl Fn(&mut F, &mut FakeServer, &[ChallengeToSolve]),
) -> Option<Result<F::Output, Error>> {
    let mut outstanding: Option<Request> = None;
    let mut outputs = 0usize;
    loop {
        if let Some(req) = outstanding.take() {
            let action = script.next()?;
            match action {
                Action::Server => {
                    match ctx.server.handle(ctx.now, &req) {
                        Ok(resp) => {
                            let resp = ctx.issued(resp);
                            flow.handle_response(session, ctx.now, req.id, resp);
                        }
                        Err(e) => flow.handle_transport_error(session, ctx.now, req.id, e),
                    }
                    outputs = 0;
                }
                Action::Respond(spec) => {
                    let resp = ctx.response(spec);
                    flow.handle_response(session, ctx.now, req.id, resp);
                    outputs = 0;
                }
                Action::Transport(t) => {
                    flow.handle_transport_error(session, ctx.now, req.id, t.error());
                    outputs = 0;
                }
                Action::Advance(s) => {
                    ctx.now = ctx
                        .now
                        .checked_add(Duration::from_secs(u64::from(*s)))
                        .unwrap_or(ctx.now);
                    outstanding = Some(req);
                }
                Action::AdvanceMillis(ms) => {
                    ctx.now = ctx
                        .now
                        .checked_add(Duration::from_millis(u64::from(*ms)))
                        .unwrap_or(ctx.now);
                    outstanding = Some(req);
                }
                Action::ClockBack(s) => {
                    ctx.now = ctx
                        .now
                        .checked_sub(Duration::from_secs(u64::from(*s)))
                        .unwrap_or(ctx.now);
                    outstanding = Some(req);
                }
                Action::Stale(delta, spec) => {
                    let resp = ctx.response(spec);
                    let stale = RequestId(req.id.0.wrapping_sub(u64::from(*delta) + 1));
                    if u64::from(*delta) % 2 == 0 {
                        flow.handle_response(session, ctx.now, stale, resp);
                    } else {
                        flow.handle_transport_error(
                            session,
                            ctx.now,
                            stale,
                            TransportChoice::Io.error(),
                        );
                    }
                    outstanding = Some(req);
                }
                Action::PollWhileOutstanding => {
                    match flow.poll(session, ctx.now) {
                        Output::Idle => {}
                        Output::Send(r) => {
                            panic!("a second request ({r:?}) while {req:?} is outstanding")
                        }
                        Output::Done(_) => panic!("the flow finished with {req:?} outstanding"),
                        Output::Wait(_) => panic!("the flow waits with {req:?} outstanding"),
                        Output::Event(e) => panic!("event {e:?} with {req:?} outstanding"),
                    }
                    outstanding = Some(req);
                }
            }
            continue;
        }
        outputs += 1;
        assert!(
            outputs <= MAX_OUTPUTS_WITHOUT_INPUT,
            "the flow emitted {MAX_OUTPUTS_WITHOUT_INPUT} outputs without new input: it loops"
        );
        match flow.poll(session, ctx.now) {
            Output::Send(req) => {
                check_request(&req, session, ctx);
                ctx.log.push(format!(
                    "send {:?} {} {}",
                    req.endpoint, req.method, req.url
                ));
                outstanding = Some(req);
            }
            Output::Wait(t) => {
                assert!(t > ctx.now, "wait until {t:?}, not after now {:?}", ctx.now);
                ctx.now = t;
            }
            Output::Event(Event::Challenges(list)) => {
                check_challenges(&list, session);
                if ctx.ignore_challenges {
                    ctx.ignored_challenges = true;
                } else {
                    on_challenges(flow, &mut ctx.server, &list);
                    outputs = 0;
                }
            }
            Output::Event(Event::Progress(p)) => {
                let _ = p.to_string();
            }
            Output::Event(other) => {
                let _ = format!("{other:?}");
            }
            Output::Idle => {
                assert!(
                    ctx.ignored_challenges,
                    "the flow is idle with no request outstanding"
                );
                return None;
            }
            Output::Done(result) => {
                if let Err(e) = &result {
                    check_error(e);
                    ctx.log.push(format!("done: {e}"));
                } else {
                    ctx.log.push("done: ok".to_owned());
                }
                match flow.poll(session, ctx.now) {
                    Output::Done(Err(Error::Usage(_))) => {}
                    Output::Done(Ok(_)) => panic!("polling a finished flow gave a second result"),
                    Output::Done(Err(e)) => panic!("polling a finished flow gave {e:?}"),
                    Output::Send(r) => panic!("a finished flow sent {r:?}"),
                    Output::Wait(_) | Output::Idle | Output::Event(_) => {
                        panic!("a finished flow did not say it is finished")
                    }
                }
                return Some(result);
            }
        }
    }
}

/// One structured input: a flow, a session setup and a script of actions.
#[derive(Debug, Arbitrary)]
pub struct Input {
    flow: FlowChoice,
    setup: Setup,
    script: Vec<Action>,
}

/// Decode an input as the flow target sees it (for inspecting corpus files).
pub fn describe(data: &[u8]) -> String {
    match Input::arbitrary_take_rest(Unstructured::new(data)) {
        Ok(input) => {
            let actions = &input.script[..input.script.len().min(MAX_ACTIONS)];
            let log = run_input(&input, actions);
            format!("{input:#?}\n{}", log.join("\n"))
        }
        Err(e) => format!("undecodable: {e}"),
    }
}

/// Run one structured input (see the module docs).
pub fn run(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let actions = &input.script[..input.script.len().min(MAX_ACTIONS)];
    let _ = run_input(&input, actions);
}

/// A `drive` callback for flows that never emit challenges.
fn no_challenges<F>(_: &mut F, _: &mut FakeServer, _: &[ChallengeToSolve]) {}

fn run_input(input: &Input, actions: &[Action]) -> Vec<String> {
    let setup = &input.setup;
    let mut session = Session::new(format!("{BASE}/dir"));
    if let Some(p) = &setup.policy {
        session = session.with_policy(p.policy());
    }
    if let Some(d) = &setup.known_directory {
        let dir: Directory =
            serde_json::from_value(d.json()).expect("the directory template parses");
        session.set_directory(dir);
    }
    let account_key = Arc::new(TestSigner::new("account key"));
    let mut ctx = Ctx {
        log: Vec::new(),
        server: setup.server.server(),
        now: setup.start.time(),
        nonces: HashMap::new(),
        fresh: 0,
        last_id: None,
        requested: Vec::new(),
        account_key,
        new_key: Arc::new(TestSigner::new("new key")),
        cert_key: Arc::new(TestSigner::new("certificate key")),
        ignore_challenges: setup.ignore_challenges,
        ignored_challenges: false,
    };
    if setup.account {
        // Register the account with the fake server, then pretend the session restored it.
        let mut create = AccountFlow::create(
            ctx.account_key.clone(),
            NewAccount::new(Vec::new())
                .agree_to_terms_of_service(true)
                .external_account_binding(Arc::new(FuzzMac)),
        );
        let answers: Vec<Action> = (0..8).map(|_| Action::Server).collect();
        let created = drive(
            &mut create,
            &mut session,
            &mut ctx,
            &mut answers.iter(),
            no_challenges,
        );
        let url = match created {
            Some(Ok(a)) => a.url,
            _ => ACCOUNT_URL.to_owned(),
        };
        session.set_account(Some(AccountCredentials {
            url,
            key: ctx.account_key.clone(),
        }));
    }
    let mut script = actions.iter();
    let s = &mut session;
    match &input.flow {
        FlowChoice::Directory => {
            let mut f = DirectoryFlow::new(s);
            if let Some(Ok(d)) = drive(&mut f, s, &mut ctx, &mut script, no_challenges) {
                assert_eq!(s.directory(), Some(&d));
            }
        }
        FlowChoice::AccountCreate {
            contact,
            terms,
            eab,
        } => {
            let mut params = NewAccount::new(contact.clone()).agree_to_terms_of_service(*terms);
            if *eab {
                params = params.external_account_binding(Arc::new(FuzzMac));
            }
            let mut f = AccountFlow::create(ctx.account_key.clone(), params);
            if let Some(Ok(a)) = drive(&mut f, s, &mut ctx, &mut script, no_challenges) {
                let acct = s.account().expect("a created account is installed");
                assert_eq!(acct.url, a.url);
                assert_eq!(acct.key.jwk(), ctx.account_key.jwk());
            }
        }
        FlowChoice::AccountFind => {
            let mut f = AccountFlow::find(ctx.account_key.clone());
            if let Some(Ok(a)) = drive(&mut f, s, &mut ctx, &mut script, no_challenges) {
                assert!(!a.created);
                assert_eq!(s.account().map(|x| x.url.as_str()), Some(a.url.as_str()));
            }
        }
        FlowChoice::AccountFetch | FlowChoice::AccountUpdate(_) | FlowChoice::AccountDeactivate => {
            let flow = match &input.flow {
                FlowChoice::AccountFetch => AccountFlow::fetch(s),
                FlowChoice::AccountUpdate(c) => AccountFlow::update_contact(s, c.clone()),
                _ => AccountFlow::deactivate(s),
            };
            match flow {
                Ok(mut f) => {
                    let _ = drive(&mut f, s, &mut ctx, &mut script, no_challenges);
                }
                Err(e) => {
                    assert!(s.account().is_none() && matches!(e, Error::Usage(_)));
                }
            }
        }
        FlowChoice::Issue {
            ids,
            replaces,
            profile,
            not_before,
            not_after,
            preference,
        } => {
            ctx.requested = ids
                .iter()
                .take(4)
                .filter_map(IdChoice::identifier)
                .collect();
            let mut order = NewOrder::new(ctx.requested.clone());
            order.replaces = replaces.clone();
            order.profile = profile.as_ref().map(|(name, required)| {
                if *required {
                    ProfileRequest::required(name.clone())
                } else {
                    ProfileRequest::preferred(name.clone())
                }
            });
            order.not_before =
                not_before.and_then(|s| ctx.now.checked_add(Duration::from_secs(u64::from(s))));
            order.not_after = not_after.map(|s| epoch() + Duration::from_secs(u64::from(s)));
            let types = [
                ChallengeType::Http01,
                ChallengeType::Dns01,
                ChallengeType::TlsAlpn01,
            ];
            let selector = if preference.is_empty() {
                ChallengeSelector::default()
            } else {
                ChallengeSelector::new(
                    preference
                        .iter()
                        .take(4)
                        .map(|p| types[usize::from(*p) % types.len()].clone())
                        .collect(),
                )
            };
            let mut f = IssueFlow::new(order, selector, CSR.to_vec());
            let solve = |f: &mut IssueFlow, server: &mut FakeServer, list: &[ChallengeToSolve]| {
                for c in list {
                    server.publish(c);
                }
                f.challenges_ready();
            };
            if let Some(Ok(bundle)) = drive(&mut f, s, &mut ctx, &mut script, solve) {
                assert!(bundle.pem.contains("-----BEGIN CERTIFICATE-----"));
                assert!(bundle.alternates.len() <= 8);
                assert_eq!(f.order_url(), Some(bundle.order_url.as_str()));
            }
        }
        FlowChoice::RevokeByAccount(reason) | FlowChoice::RevokeByKey(reason) => {
            let reason = reason.map(|r| match r % 6 {
                0 => RevocationReason::Unspecified,
                1 => RevocationReason::KeyCompromise,
                2 => RevocationReason::AffiliationChanged,
                3 => RevocationReason::Superseded,
                4 => RevocationReason::CessationOfOperation,
                _ => RevocationReason::Other(r),
            });
            let mut f = if matches!(input.flow, FlowChoice::RevokeByKey(_)) {
                RevocationFlow::by_certificate_key(CERT_DER, ctx.cert_key.clone(), reason)
            } else {
                RevocationFlow::by_account(CERT_DER, reason)
            };
            let _ = drive(&mut f, s, &mut ctx, &mut script, no_challenges);
        }
        FlowChoice::KeyRollover => {
            let mut f = KeyRolloverFlow::new(ctx.new_key.clone());
            if let Some(Ok(())) = drive(&mut f, s, &mut ctx, &mut script, no_challenges) {
                let acct = s.account().expect("rollover kept the account");
                assert_eq!(acct.key.jwk(), ctx.new_key.jwk());
            }
        }
        FlowChoice::OrdersList => {
            // The fake server's orders list of the session's account, or a made-up one.
            let url = s
                .account()
                .map(|a| a.url.replace("/acct/", "/orders/"))
                .unwrap_or_else(|| format!("{BASE}/orders/1"));
            let mut f = OrdersListFlow::new(url);
            if let Some(Ok(list)) = drive(&mut f, s, &mut ctx, &mut script, no_challenges) {
                assert!(list.len() <= 10_000);
            }
        }
        FlowChoice::OrderFetch => {
            let mut f = OrderFlow::fetch(format!("{BASE}/order/1"));
            let _ = drive(&mut f, s, &mut ctx, &mut script, no_challenges);
        }
        FlowChoice::AuthorizationFetch | FlowChoice::AuthorizationDeactivate => {
            let url = format!("{BASE}/authz/1");
            let mut f = if matches!(input.flow, FlowChoice::AuthorizationFetch) {
                AuthorizationFlow::fetch(url.clone())
            } else {
                AuthorizationFlow::deactivate(url.clone())
            };
            if let Some(Ok((u, _))) = drive(&mut f, s, &mut ctx, &mut script, no_challenges) {
                assert_eq!(u, url);
            }
        }
        FlowChoice::NewAuthz(id) => {
            let id = id
                .identifier()
                .unwrap_or_else(|| Identifier::ip([192, 0, 2, 1].into()));
            let mut f = AuthorizationFlow::new_authz(&id);
            let _ = drive(&mut f, s, &mut ctx, &mut script, no_challenges);
        }
        FlowChoice::Challenge => {
            let mut f = ChallengeFlow::respond(format!("{BASE}/chall/1"));
            let _ = drive(&mut f, s, &mut ctx, &mut script, no_challenges);
        }
        FlowChoice::RenewalInfo(id) => {
            let mut f = RenewalInfoFlow::new(id);
            if let Some(Ok(info)) = drive(&mut f, s, &mut ctx, &mut script, no_challenges) {
                // Inverted windows come back as sent; `window()` accepts only ordered ones.
                assert_eq!(info.window().is_some(), info.window_end > info.window_start);
            }
        }
    }
    ctx.log
}
