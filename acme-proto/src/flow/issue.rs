//! The issuance flow: new order → authorizations → challenges → order poll → finalize →
//! order poll → certificate download (RFC 8555 §7.4–7.5).
//!
//! Round trips are what users feel, so this flow never fetches what it already knows: a
//! new order that comes back `ready` goes straight to finalize; valid authorizations are not
//! presented again; once challenges are triggered, one order poll covers them all; an
//! authorization is fetched again only to explain a failure.

use super::call::{Call, DirUrl, Reply, Step, later, next_poll};
use super::{Event, Flow, Output, Session};
use crate::error::Error;
use crate::http::{Endpoint, RequestId, Response, TransportError};
use crate::msgs::challenge;
use crate::msgs::headers;
use crate::msgs::identifier::Identifier;
use crate::msgs::jws;
use crate::msgs::problem::ProblemType;
use crate::msgs::resources::{
    AuthorizationResource, AuthorizationStatus, ChallengeResource, ChallengeStatus, ChallengeType,
    Directory, OrderResource, OrderStatus,
};
use crate::msgs::time::format_rfc3339;
use serde_json::{Map, Value, json};
use std::collections::VecDeque;
use std::time::SystemTime;

/// What to order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewOrder {
    /// The identifiers (normalized: see [`Identifier::dns`] / `acme_crypto::identifier`).
    pub identifiers: Vec<Identifier>,
    /// Requested `notBefore` (sent only when set).
    pub not_before: Option<SystemTime>,
    /// Requested `notAfter` (sent only when set).
    pub not_after: Option<SystemTime>,
    /// The certificate profile to ask for (sent only when set, and for a preferred profile
    /// only when the directory's `meta.profiles` lists it): see [`ProfileRequest`].
    pub profile: Option<ProfileRequest>,
    /// ARI: the certificate ID this order replaces (sent only when set and non-empty;
    /// dropped and the order retried once if the CA answers `alreadyReplaced` or
    /// `conflict`).
    pub replaces: Option<String>,
}

/// A certificate profile an order asks for (the ACME profiles extension: the CA lists its
/// profiles, name → description, in the directory's `meta.profiles`;
/// [`crate::msgs::resources::DirectoryMeta::profiles`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProfileRequest {
    /// The profile name.
    pub name: String,
    /// Required: always sent; a CA without it refuses the order and issuance fails with its
    /// `invalidProfile` problem ([`Error::Server`]). Preferred (`false`): sent only when the
    /// directory lists the profile, and dropped (the order retried once with the CA's
    /// default profile) if the CA still answers `invalidProfile`.
    pub required: bool,
}

impl ProfileRequest {
    /// Insist on profile `name`.
    pub fn required(name: impl Into<String>) -> ProfileRequest {
        ProfileRequest {
            name: name.into(),
            required: true,
        }
    }

    /// Ask for profile `name` when the CA offers it, else take the CA's default.
    pub fn preferred(name: impl Into<String>) -> ProfileRequest {
        ProfileRequest {
            name: name.into(),
            required: false,
        }
    }
}

impl NewOrder {
    /// An order for these identifiers.
    pub fn new(identifiers: Vec<Identifier>) -> NewOrder {
        NewOrder {
            identifiers,
            ..NewOrder::default()
        }
    }

    /// Ask for a certificate profile.
    pub fn with_profile(mut self, profile: ProfileRequest) -> NewOrder {
        self.profile = Some(profile);
        self
    }

    /// Name the certificate (its ARI certificate ID) this order replaces; an empty ID is
    /// never sent.
    pub fn with_replaces(mut self, certificate_id: impl Into<String>) -> NewOrder {
        self.replaces = Some(certificate_id.into());
        self
    }

    /// The profile name to send, given the CA's directory (when known).
    fn profile_to_send(&self, directory: Option<&Directory>) -> Option<&str> {
        let p = self.profile.as_ref()?;
        let listed = || {
            directory
                .and_then(|d| d.meta.profiles.as_ref())
                .is_some_and(|profiles| profiles.contains_key(&p.name))
        };
        (p.required || directory.is_none() || listed()).then_some(p.name.as_str())
    }

    fn payload(&self, directory: Option<&Directory>) -> Vec<u8> {
        let mut m = Map::new();
        m.insert("identifiers".into(), json!(self.identifiers));
        if let Some(t) = self.not_before {
            m.insert("notBefore".into(), Value::String(format_rfc3339(t)));
        }
        if let Some(t) = self.not_after {
            m.insert("notAfter".into(), Value::String(format_rfc3339(t)));
        }
        if let Some(p) = self.profile_to_send(directory) {
            m.insert("profile".into(), Value::String(p.to_owned()));
        }
        if let Some(r) = self.replaces.as_ref().filter(|r| !r.is_empty()) {
            m.insert("replaces".into(), Value::String(r.clone()));
        }
        Value::Object(m).to_string().into_bytes()
    }
}

/// Which challenge to use for each authorization: the first type of the caller's preference
/// list that the CA offers; per-identifier lists override the default.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChallengeSelector {
    /// Default preference, most preferred first.
    pub preference: Vec<ChallengeType>,
    /// Overrides for specific identifiers (as in the order, wildcards with `*.`).
    pub per_identifier: Vec<(Identifier, Vec<ChallengeType>)>,
}

impl ChallengeSelector {
    /// Prefer these types, in order, for every identifier.
    pub fn new(preference: Vec<ChallengeType>) -> ChallengeSelector {
        ChallengeSelector {
            preference,
            per_identifier: Vec::new(),
        }
    }

    /// Use `preference` for `identifier`.
    pub fn with_identifier(
        mut self,
        identifier: Identifier,
        preference: Vec<ChallengeType>,
    ) -> ChallengeSelector {
        self.per_identifier.push((identifier, preference));
        self
    }

    fn choose<'a>(
        &self,
        identifier: &Identifier,
        offered: &'a [ChallengeResource],
    ) -> Option<&'a ChallengeResource> {
        let prefs = self
            .per_identifier
            .iter()
            .find(|(id, _)| id == identifier)
            .map(|(_, p)| p)
            .unwrap_or(&self.preference);
        prefs.iter().find_map(|t| {
            // A token that is not base64url is never handed to a solver: it would be
            // used in file paths and DNS names (a hostile CA could send `../../x`).
            offered
                .iter()
                .find(|c| &c.kind == t && c.token.as_deref().is_some_and(challenge::is_valid_token))
        })
    }
}

impl Default for ChallengeSelector {
    fn default() -> Self {
        ChallengeSelector::new(vec![
            ChallengeType::Http01,
            ChallengeType::Dns01,
            ChallengeType::TlsAlpn01,
        ])
    }
}

/// One challenge the caller must publish before the CA validates it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChallengeToSolve {
    /// The identifier, as in the order (`*.` kept for wildcards).
    pub identifier: Identifier,
    /// The authorization URL.
    pub authorization_url: String,
    /// The chosen challenge.
    pub challenge: ChallengeResource,
    /// `token.thumbprint` (RFC 8555 §8.1).
    pub key_authorization: String,
}

impl ChallengeToSolve {
    /// The challenge type.
    pub fn kind(&self) -> &ChallengeType {
        &self.challenge.kind
    }

    /// The challenge token (always present and base64url: challenges without a valid token
    /// are never chosen).
    pub fn token(&self) -> &str {
        self.challenge.token.as_deref().unwrap_or_default()
    }

    /// http-01: the path to serve [`ChallengeToSolve::key_authorization`] at.
    pub fn http01_path(&self) -> String {
        challenge::http01_path(self.token())
    }

    /// dns-01: the TXT record name (`_acme-challenge.` + base domain).
    pub fn dns01_record_name(&self) -> String {
        challenge::dns01_record_name(&self.identifier.value)
    }

    /// dns-01: the TXT record value.
    pub fn dns01_txt_value(&self) -> String {
        challenge::dns01_txt_value(&self.key_authorization)
    }

    /// tls-alpn-01: SHA-256 of the key authorization, for the `acmeIdentifier` extension.
    pub fn tls_alpn01_digest(&self) -> [u8; 32] {
        challenge::tls_alpn01_digest(&self.key_authorization)
    }
}

/// Steps of issuance, reported as [`Event::Progress`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// The order exists.
    OrderCreated {
        /// Order URL.
        url: String,
        /// Its status on creation.
        status: OrderStatus,
    },
    /// An authorization was read.
    AuthorizationFetched {
        /// Its identifier.
        identifier: Identifier,
        /// Its status.
        status: AuthorizationStatus,
    },
    /// A challenge was triggered.
    ChallengeTriggered {
        /// The identifier.
        identifier: Identifier,
        /// The challenge type.
        kind: ChallengeType,
    },
    /// The order was polled and found in this state.
    OrderPolled {
        /// Its status.
        status: OrderStatus,
    },
    /// The CSR was submitted.
    Finalized,
    /// The certificate was downloaded.
    CertificateDownloaded {
        /// The certificate URL.
        url: String,
        /// Alternate chains offered.
        alternates: usize,
    },
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Progress::OrderCreated { url, status } => write!(f, "order created ({status}): {url}"),
            Progress::AuthorizationFetched { identifier, status } => {
                write!(f, "authorization for {identifier}: {status}")
            }
            Progress::ChallengeTriggered { identifier, kind } => {
                write!(f, "{kind} challenge triggered for {identifier}")
            }
            Progress::OrderPolled { status } => write!(f, "order is {status}"),
            Progress::Finalized => f.write_str("CSR submitted (finalize)"),
            Progress::CertificateDownloaded { url, alternates } => {
                write!(
                    f,
                    "certificate downloaded ({alternates} alternate chains): {url}"
                )
            }
        }
    }
}

/// The outcome of issuance.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateBundle {
    /// The order URL.
    pub order_url: String,
    /// The final order object.
    pub order: OrderResource,
    /// The certificate URL.
    pub certificate_url: String,
    /// The default chain, PEM (`application/pem-certificate-chain`), leaf first.
    pub pem: String,
    /// Alternate chains (`Link: rel="alternate"`): URL and PEM.
    pub alternates: Vec<(String, String)>,
}

/// Most alternate chains downloaded.
const MAX_ALTERNATES: usize = 8;
/// Most finalize attempts (a CA may answer `orderNotReady` while it catches up).
const MAX_FINALIZE: u32 = 3;
/// The first poll of a still-`pending` order after which its authorizations are read too;
/// then at every power of two, and once at the deadline.
const FIRST_INSPECTION: u32 = 4;

#[derive(Debug)]
enum Phase {
    NewOrder,
    FetchAuthz(usize),
    AwaitSolved,
    Trigger(usize),
    /// A trigger was refused: the authorization is read to learn whether an earlier
    /// attempt, whose answer was lost, triggered the challenge after all.
    Recheck(usize, Box<Error>),
    PollWait(SystemTime),
    Poll,
    Finalize,
    Download,
    Alternate(usize),
    Diagnose(usize),
    /// The order is still `pending` after its challenges were triggered: the solved
    /// authorizations are read, in case one failed without the order saying so.
    Inspect(usize),
    Done,
}

/// Issue a certificate: see the module docs of [`crate::flow`] for how to drive it.
#[must_use = "a flow does nothing until driven"]
pub struct IssueFlow {
    order: NewOrder,
    selector: ChallengeSelector,
    csr_der: Vec<u8>,
    phase: Phase,
    call: Option<Call>,
    events: VecDeque<Event>,
    result: Option<Result<CertificateBundle, Error>>,
    order_url: Option<String>,
    current: Option<OrderResource>,
    authzs: Vec<(String, AuthorizationResource)>,
    to_solve: Vec<ChallengeToSolve>,
    polls: u32,
    deadline: Option<SystemTime>,
    finalize_attempts: u32,
    inspected_at_deadline: bool,
    replaces_dropped: bool,
    certificate_url: Option<String>,
    pem: Option<String>,
    alternate_urls: Vec<String>,
    alternates: Vec<(String, String)>,
}

impl std::fmt::Debug for IssueFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssueFlow")
            .field("phase", &self.phase)
            .field("order_url", &self.order_url)
            .finish_non_exhaustive()
    }
}

impl IssueFlow {
    /// Order a certificate for `order.identifiers`, solving challenges as `selector` says and
    /// finalizing with `csr_der` (a DER PKCS#10 request naming exactly those identifiers).
    pub fn new(order: NewOrder, selector: ChallengeSelector, csr_der: Vec<u8>) -> IssueFlow {
        IssueFlow {
            order,
            selector,
            csr_der,
            phase: Phase::NewOrder,
            call: None,
            events: VecDeque::new(),
            result: None,
            order_url: None,
            current: None,
            authzs: Vec::new(),
            to_solve: Vec::new(),
            polls: 0,
            deadline: None,
            finalize_attempts: 0,
            inspected_at_deadline: false,
            replaces_dropped: false,
            certificate_url: None,
            pem: None,
            alternate_urls: Vec::new(),
            alternates: Vec::new(),
        }
    }

    /// The order URL, once created.
    pub fn order_url(&self) -> Option<&str> {
        self.order_url.as_deref()
    }

    /// The challenges handed out with [`Event::Challenges`] (for cleanup).
    pub fn challenges(&self) -> &[ChallengeToSolve] {
        &self.to_solve
    }

    /// Tell the flow every challenge of [`Event::Challenges`] is published: it triggers them.
    pub fn challenges_ready(&mut self) {
        if matches!(self.phase, Phase::AwaitSolved) {
            self.phase = Phase::Trigger(0);
        }
    }

    fn fail(&mut self, e: Error) {
        self.phase = Phase::Done;
        self.call = None;
        self.result = Some(Err(e));
    }

    fn order_url_or_empty(&self) -> String {
        self.order_url.clone().unwrap_or_default()
    }

    fn start_poll(
        &mut self,
        session: &Session,
        now: SystemTime,
        reply_headers: Option<&http::HeaderMap>,
    ) {
        let empty = http::HeaderMap::new();
        let at = next_poll(session, now, reply_headers.unwrap_or(&empty), self.polls);
        self.polls += 1;
        if let Some(d) = self.deadline
            && now >= d
        {
            let what = match self.current.as_ref().map(|o| &o.status) {
                Some(OrderStatus::Processing) => "the order to leave `processing`".to_owned(),
                _ => {
                    let pending: Vec<String> = self
                        .to_solve
                        .iter()
                        .map(|c| c.identifier.to_string())
                        .collect();
                    format!(
                        "authorizations to become valid (pending: {})",
                        pending.join(", ")
                    )
                }
            };
            self.fail(Error::Timeout {
                what,
                url: self.order_url_or_empty(),
            });
            return;
        }
        // The last poll happens at the deadline, so the state seen there decides.
        self.phase = Phase::PollWait(self.deadline.map_or(at, |d| at.min(d)));
    }

    fn check_identifiers(&self, reply: &Reply, order: &OrderResource) -> Result<(), Error> {
        let norm = |ids: &[Identifier]| {
            let mut v: Vec<(String, String)> = ids.iter().map(comparable).collect();
            v.sort();
            v.dedup();
            v
        };
        if !order.identifiers.is_empty()
            && norm(&order.identifiers) != norm(&self.order.identifiers)
        {
            let got: Vec<String> = order.identifiers.iter().map(|i| i.to_string()).collect();
            return Err(Error::protocol(
                &reply.url,
                reply.status,
                format!(
                    "the order's identifiers [{}] differ from those requested",
                    got.join(", ")
                ),
                &reply.body,
            ));
        }
        Ok(())
    }

    /// Act on an order object's status.
    fn on_order(
        &mut self,
        session: &Session,
        now: SystemTime,
        order: OrderResource,
        reply: &Reply,
    ) {
        self.events
            .push_back(Event::Progress(Progress::OrderPolled {
                status: order.status.clone(),
            }));
        // One authorization per identifier (RFC 8555 §7.1.3): each costs a round trip, a
        // solver presentation and a trigger, so their number is not the CA's to choose.
        let (listed, requested) = (order.authorizations.len(), self.order.identifiers.len());
        if listed > requested {
            return self.fail(Error::protocol(
                &reply.url,
                reply.status,
                format!(
                    "the order lists {listed} authorizations for {requested} requested identifiers"
                ),
                &reply.body,
            ));
        }
        let status = order.status.clone();
        self.current = Some(order);
        match status {
            OrderStatus::Valid => match self.current.as_ref().and_then(|o| o.certificate.clone()) {
                Some(url) => {
                    self.certificate_url = Some(url.clone());
                    self.call = Some(
                        Call::post_as_get(Endpoint::Certificate, url)
                            .accept("application/pem-certificate-chain"),
                    );
                    self.phase = Phase::Download;
                }
                None => self.fail(Error::protocol(
                    &reply.url,
                    reply.status,
                    "order is valid but has no certificate URL",
                    &reply.body,
                )),
            },
            OrderStatus::Ready => {
                if self.finalize_attempts >= MAX_FINALIZE {
                    self.fail(Error::protocol(
                        &reply.url,
                        reply.status,
                        "order stays ready after repeated finalize",
                        &reply.body,
                    ));
                    return;
                }
                match self.current.as_ref().and_then(|o| o.finalize.clone()) {
                    Some(url) => {
                        self.finalize_attempts += 1;
                        // base64url needs no JSON escaping.
                        let payload =
                            format!("{{\"csr\":\"{}\"}}", jws::b64(&self.csr_der)).into_bytes();
                        self.call = Some(Call::post_kid(
                            Endpoint::Finalize,
                            super::call::Target::Url(url),
                            payload,
                        ));
                        self.phase = Phase::Finalize;
                    }
                    None => self.fail(Error::protocol(
                        &reply.url,
                        reply.status,
                        "order has no finalize URL",
                        &reply.body,
                    )),
                }
            }
            OrderStatus::Processing => {
                if self.deadline.is_none()
                    || self.finalize_attempts > 0 && !matches!(self.phase, Phase::Poll)
                {
                    self.deadline = Some(later(now, session.policy.issuance_timeout));
                }
                self.start_poll(session, now, Some(&reply.headers));
            }
            OrderStatus::Pending => {
                if self.authzs.is_empty() && self.to_solve.is_empty() {
                    let urls = self
                        .current
                        .as_ref()
                        .map(|o| o.authorizations.clone())
                        .unwrap_or_default();
                    if urls.is_empty() {
                        self.fail(Error::protocol(
                            &reply.url,
                            reply.status,
                            "pending order lists no authorizations",
                            &reply.body,
                        ));
                        return;
                    }
                    self.call = Some(Call::post_as_get(Endpoint::Authorization, urls[0].clone()));
                    self.phase = Phase::FetchAuthz(0);
                } else {
                    if self.deadline.is_none() {
                        self.deadline = Some(later(now, session.policy.validation_timeout));
                    }
                    // RFC 8555 §7.1.6 makes the order `invalid` once an authorization fails,
                    // but not every CA does so at once (or at all): rather than poll a
                    // pending order to the deadline, look at the authorizations now and then.
                    let at_deadline = self.deadline.is_some_and(|d| now >= d);
                    let checkpoint = self.polls >= FIRST_INSPECTION && self.polls.is_power_of_two();
                    if (checkpoint || at_deadline && !self.inspected_at_deadline)
                        && !self.to_solve.is_empty()
                    {
                        self.inspected_at_deadline |= at_deadline;
                        self.inspect(0);
                    } else {
                        self.start_poll(session, now, Some(&reply.headers));
                    }
                }
            }
            OrderStatus::Invalid => self.diagnose(reply),
            OrderStatus::Unknown(s) => self.fail(Error::protocol(
                &reply.url,
                reply.status,
                format!("order status {s:?} is not one RFC 8555 defines"),
                &reply.body,
            )),
        }
    }

    /// The order is invalid: find the authorization that explains it.
    fn diagnose(&mut self, reply: &Reply) {
        let urls: Vec<String> = self
            .current
            .as_ref()
            .map(|o| o.authorizations.clone())
            .unwrap_or_default();
        if urls.is_empty() {
            let problem = self.current.as_ref().and_then(|o| o.error.clone());
            self.fail(Error::OrderInvalid {
                url: reply.url.clone(),
                problem,
            });
            return;
        }
        self.authzs.clear();
        self.call = Some(Call::post_as_get(Endpoint::Authorization, urls[0].clone()));
        self.phase = Phase::Diagnose(0);
    }

    /// Read the authorization of the `i`-th solved challenge (see [`Phase::Inspect`]).
    fn inspect(&mut self, i: usize) {
        match self.to_solve.get(i) {
            Some(c) => {
                self.call = Some(Call::post_as_get(
                    Endpoint::Authorization,
                    c.authorization_url.clone(),
                ));
                self.phase = Phase::Inspect(i);
            }
            None => self.fail(Error::Usage("no authorization to inspect".into())),
        }
    }

    /// An authorization in a dead-end state, as an error.
    fn authz_error(&self, authz: &AuthorizationResource) -> Error {
        let failed = authz.failure();
        Error::Authorization {
            identifier: authz.order_identifier(),
            status: authz.status.clone(),
            challenge: failed.map(|(c, _)| c.kind.clone()),
            problem: failed
                .and_then(|(_, p)| p.cloned())
                .or_else(|| self.current.as_ref().and_then(|o| o.error.clone())),
        }
    }

    /// All authorizations are read: choose challenges, or go on if none is needed.
    fn after_authorizations(&mut self, session: &Session, now: SystemTime, reply: &Reply) {
        let Some(acct) = session.account.as_ref() else {
            self.fail(Error::Usage("issuance needs an account".into()));
            return;
        };
        let thumbprint = acct.key.jwk().thumbprint();
        let mut to_solve = Vec::new();
        for (url, authz) in &self.authzs {
            match &authz.status {
                AuthorizationStatus::Valid => {}
                AuthorizationStatus::Pending => {
                    let identifier = authz.order_identifier();
                    match self.selector.choose(&identifier, &authz.challenges) {
                        Some(ch) => {
                            let token = ch.token.clone().unwrap_or_default();
                            to_solve.push(ChallengeToSolve {
                                identifier,
                                authorization_url: url.clone(),
                                challenge: ch.clone(),
                                key_authorization: challenge::key_authorization(
                                    &token,
                                    &thumbprint,
                                ),
                            });
                        }
                        None => {
                            let offered = authz.challenges.iter().map(|c| c.kind.clone()).collect();
                            self.fail(Error::NoAcceptableChallenge {
                                identifier,
                                offered,
                            });
                            return;
                        }
                    }
                }
                AuthorizationStatus::Unknown(s) => {
                    let s = s.clone();
                    self.fail(Error::protocol(
                        url,
                        reply.status,
                        format!("authorization status {s:?} is not one RFC 8555 defines"),
                        b"",
                    ));
                    return;
                }
                _ => {
                    let e = self.authz_error(authz);
                    self.fail(e);
                    return;
                }
            }
        }
        self.deadline = None;
        if to_solve.is_empty() {
            // Every authorization is valid already: the order is (or is about to be) ready.
            self.polls = 0;
            self.deadline = Some(later(now, session.policy.validation_timeout));
            self.phase = Phase::Poll;
            self.call = Some(Call::post_as_get(
                Endpoint::Order,
                self.order_url_or_empty(),
            ));
        } else {
            self.to_solve = to_solve.clone();
            self.events.push_back(Event::Challenges(to_solve));
            self.phase = Phase::AwaitSolved;
        }
    }

    fn on_reply(&mut self, session: &mut Session, now: SystemTime, result: Result<Reply, Error>) {
        self.call = None;
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        let reply = match result {
            Ok(r) => r,
            Err(e) => {
                return self.on_error(session, now, phase, e);
            }
        };
        match phase {
            Phase::NewOrder => {
                let Some(url) = reply.location() else {
                    return self.fail(Error::protocol(
                        &reply.url,
                        reply.status,
                        "newOrder response has no Location header",
                        &reply.body,
                    ));
                };
                let order: OrderResource = match reply.json("order") {
                    Ok(o) => o,
                    Err(e) => return self.fail(e),
                };
                if let Err(e) = self.check_identifiers(&reply, &order) {
                    return self.fail(e);
                }
                self.order_url = Some(url.clone());
                self.events
                    .push_back(Event::Progress(Progress::OrderCreated {
                        url,
                        status: order.status.clone(),
                    }));
                self.on_order(session, now, order, &reply);
            }
            Phase::FetchAuthz(i) | Phase::Diagnose(i) => {
                let diagnosing = matches!(phase, Phase::Diagnose(_));
                let authz: AuthorizationResource = match reply.json("authorization") {
                    Ok(a) => a,
                    Err(e) => return self.fail(e),
                };
                if diagnosing {
                    if !matches!(
                        authz.status,
                        AuthorizationStatus::Valid | AuthorizationStatus::Pending
                    ) {
                        let e = self.authz_error(&authz);
                        return self.fail(e);
                    }
                } else {
                    // Its challenge would be presented: never for a name the order did not
                    // request (a DNS solver would write records the user never asked for).
                    let identifier = authz.order_identifier();
                    let wanted = comparable(&identifier);
                    if !self
                        .order
                        .identifiers
                        .iter()
                        .any(|i| comparable(i) == wanted)
                    {
                        return self.fail(Error::protocol(
                            &reply.url,
                            reply.status,
                            format!(
                                "authorization for {identifier}, which the order did not request"
                            ),
                            &reply.body,
                        ));
                    }
                    self.events
                        .push_back(Event::Progress(Progress::AuthorizationFetched {
                            identifier,
                            status: authz.status.clone(),
                        }));
                }
                self.authzs.push((reply.url.clone(), authz));
                let urls: Vec<String> = self
                    .current
                    .as_ref()
                    .map(|o| o.authorizations.clone())
                    .unwrap_or_default();
                if let Some(next) = urls.get(i + 1) {
                    self.call = Some(Call::post_as_get(Endpoint::Authorization, next.clone()));
                    self.phase = if diagnosing {
                        Phase::Diagnose(i + 1)
                    } else {
                        Phase::FetchAuthz(i + 1)
                    };
                } else if diagnosing {
                    let problem = self.current.as_ref().and_then(|o| o.error.clone());
                    self.fail(Error::OrderInvalid {
                        url: self.order_url_or_empty(),
                        problem,
                    });
                } else {
                    self.after_authorizations(session, now, &reply);
                }
            }
            Phase::Inspect(i) => {
                let authz: AuthorizationResource = match reply.json("authorization") {
                    Ok(a) => a,
                    Err(e) => return self.fail(e),
                };
                if !matches!(
                    authz.status,
                    AuthorizationStatus::Valid
                        | AuthorizationStatus::Pending
                        | AuthorizationStatus::Unknown(_)
                ) {
                    let e = self.authz_error(&authz);
                    return self.fail(e);
                }
                if i + 1 < self.to_solve.len() {
                    self.inspect(i + 1);
                } else {
                    self.start_poll(session, now, None);
                }
            }
            Phase::Recheck(i, refusal) => {
                let authz: AuthorizationResource = match reply.json("authorization") {
                    Ok(a) => a,
                    Err(e) => return self.fail(e),
                };
                let url = self.to_solve.get(i).map(|c| c.challenge.url.as_str());
                let triggered = authz.status == AuthorizationStatus::Valid
                    || authz.challenges.iter().any(|c| {
                        Some(c.url.as_str()) == url && c.status != ChallengeStatus::Pending
                    });
                if !triggered {
                    // Never triggered: the refusal stands.
                    return self.fail(*refusal);
                }
                self.triggered(session, now, i, &reply);
            }
            Phase::Trigger(i) => {
                let ch: ChallengeResource = match reply.json("challenge") {
                    Ok(c) => c,
                    Err(e) => return self.fail(e),
                };
                if let ChallengeStatus::Unknown(s) = &ch.status {
                    return self.fail(Error::protocol(
                        &reply.url,
                        reply.status,
                        format!("challenge status {s:?} is not one RFC 8555 defines"),
                        &reply.body,
                    ));
                }
                self.triggered(session, now, i, &reply);
            }
            Phase::Poll | Phase::Finalize => {
                let order: OrderResource = match reply.json("order") {
                    Ok(o) => o,
                    Err(e) => return self.fail(e),
                };
                if matches!(phase, Phase::Finalize) {
                    self.events.push_back(Event::Progress(Progress::Finalized));
                    self.polls = 0;
                    self.deadline = Some(later(now, session.policy.issuance_timeout));
                    if order.status == OrderStatus::Ready {
                        // Finalize was accepted but the CA has not moved on yet: poll.
                        self.current = Some(order);
                        return self.start_poll(session, now, Some(&reply.headers));
                    }
                }
                self.phase = Phase::Poll;
                self.on_order(session, now, order, &reply);
            }
            Phase::Download => {
                let Some(pem) = String::from_utf8(reply.body.clone())
                    .ok()
                    .filter(|p| p.contains("-----BEGIN CERTIFICATE-----"))
                else {
                    return self.fail(Error::protocol(
                        &reply.url,
                        reply.status,
                        "certificate response is not a PEM certificate chain",
                        &reply.body,
                    ));
                };
                self.pem = Some(pem);
                if session.policy.fetch_alternate_chains {
                    // Each distinct chain once: not the default one again, nor a repeated link.
                    let mut alts: Vec<String> = Vec::new();
                    for url in headers::links_with_rel(&reply.headers, &reply.url, "alternate") {
                        if url != reply.url && !alts.contains(&url) {
                            alts.push(url);
                        }
                    }
                    alts.truncate(MAX_ALTERNATES);
                    self.alternate_urls = alts;
                }
                self.next_alternate(0);
            }
            Phase::Alternate(i) => {
                match String::from_utf8(reply.body.clone())
                    .ok()
                    .filter(|p| p.contains("-----BEGIN CERTIFICATE-----"))
                {
                    Some(pem) => self.alternates.push((reply.url.clone(), pem)),
                    None => {
                        return self.fail(Error::protocol(
                            &reply.url,
                            reply.status,
                            "alternate chain is not a PEM certificate chain",
                            &reply.body,
                        ));
                    }
                }
                self.next_alternate(i + 1);
            }
            Phase::AwaitSolved | Phase::PollWait(_) | Phase::Done => {}
        }
    }

    fn next_alternate(&mut self, i: usize) {
        if let Some(url) = self.alternate_urls.get(i) {
            self.call = Some(
                Call::post_as_get(Endpoint::Certificate, url.clone())
                    .accept("application/pem-certificate-chain"),
            );
            self.phase = Phase::Alternate(i);
            return;
        }
        let cert_url = self.certificate_url.clone().unwrap_or_default();
        self.events
            .push_back(Event::Progress(Progress::CertificateDownloaded {
                url: cert_url.clone(),
                alternates: self.alternates.len(),
            }));
        let Some(order) = self.current.clone() else {
            return self.fail(Error::Usage("no order".into()));
        };
        self.phase = Phase::Done;
        self.result = Some(Ok(CertificateBundle {
            order_url: self.order_url_or_empty(),
            order,
            certificate_url: cert_url,
            pem: self.pem.take().unwrap_or_default(),
            alternates: std::mem::take(&mut self.alternates),
        }));
    }

    /// Challenge `i` is triggered: trigger the next one, or start polling the order.
    fn triggered(&mut self, session: &Session, now: SystemTime, i: usize, reply: &Reply) {
        if let Some(c) = self.to_solve.get(i) {
            self.events
                .push_back(Event::Progress(Progress::ChallengeTriggered {
                    identifier: c.identifier.clone(),
                    kind: c.challenge.kind.clone(),
                }));
        }
        if i + 1 < self.to_solve.len() {
            self.phase = Phase::Trigger(i + 1);
        } else {
            self.polls = 0;
            self.deadline = Some(later(now, session.policy.validation_timeout));
            self.start_poll(session, now, Some(&reply.headers));
        }
    }

    fn on_error(&mut self, session: &mut Session, now: SystemTime, phase: Phase, e: Error) {
        let kind = e.problem_type().cloned();
        match (phase, kind) {
            (Phase::NewOrder, Some(ProblemType::AlreadyReplaced | ProblemType::Conflict))
                if self.order.replaces.is_some() && !self.replaces_dropped =>
            {
                // RFC 9773 §5: the certificate was already replaced; order without `replaces`.
                self.replaces_dropped = true;
                self.order.replaces = None;
                self.phase = Phase::NewOrder;
            }
            (Phase::NewOrder, Some(ProblemType::InvalidProfile))
                if self.order.profile.as_ref().is_some_and(|p| !p.required) =>
            {
                // A preferred profile the CA refuses: take its default profile instead.
                self.order.profile = None;
                self.phase = Phase::NewOrder;
            }
            (Phase::Finalize, Some(ProblemType::OrderNotReady))
                if self.finalize_attempts < MAX_FINALIZE =>
            {
                // Re-read the order and act on its real state. A finalize whose answer was
                // lost may have been accepted: issuance has its own deadline from here.
                self.deadline = Some(later(now, session.policy.issuance_timeout));
                self.phase = Phase::Poll;
                self.call = Some(Call::post_as_get(
                    Endpoint::Order,
                    self.order_url_or_empty(),
                ));
            }
            (Phase::Trigger(i), _)
                if matches!(&e, Error::Server { status, .. } if (400..500).contains(status))
                    && !e.is_rate_limited() =>
            {
                // CAs accept a trigger once (Pebble and Boulder refuse another with "Cannot
                // update challenge with status processing"), so a trigger retried after its
                // answer was lost is refused although it took effect. The authorization says
                // whether it did: challenge URLs only ever get the `{}` trigger (RFC 8555
                // §7.5.1 reads outcomes from the authorization).
                match self.to_solve.get(i).map(|c| c.authorization_url.clone()) {
                    Some(url) => {
                        self.call = Some(Call::post_as_get(Endpoint::Authorization, url));
                        self.phase = Phase::Recheck(i, Box::new(e));
                    }
                    None => self.fail(e),
                }
            }
            (Phase::Recheck(_, refusal), _) => self.fail(*refusal),
            (Phase::Alternate(i), _) => {
                // An alternate chain that cannot be fetched does not spoil the default one.
                let _ = (session, now);
                self.next_alternate(i + 1);
            }
            _ => self.fail(e),
        }
    }

    fn make_call(&mut self, session: &Session) -> Option<Call> {
        match self.phase {
            Phase::NewOrder => {
                // Built once the directory is known: a preferred profile depends on it.
                let order = self.order.clone();
                Some(Call::post(
                    Endpoint::NewOrder,
                    super::call::Target::Dir(DirUrl::NewOrder),
                    super::call::Auth::Account,
                    Box::new(move |session, _| Ok(order.payload(session.directory()))),
                ))
            }
            Phase::Trigger(i) => self.to_solve.get(i).map(|c| {
                Call::post_kid(
                    Endpoint::Challenge,
                    super::call::Target::Url(c.challenge.url.clone()),
                    b"{}".to_vec(),
                )
            }),
            Phase::Poll => {
                let _ = session;
                Some(Call::post_as_get(
                    Endpoint::Order,
                    self.order_url_or_empty(),
                ))
            }
            _ => None,
        }
    }
}

/// An identifier as compared with the order's: type, and value ASCII-lowercased (IP
/// addresses in their canonical text form).
fn comparable(i: &Identifier) -> (String, String) {
    let value = match i.value.parse::<std::net::IpAddr>() {
        Ok(ip) if i.kind == crate::msgs::identifier::IdentifierType::Ip => ip.to_string(),
        _ => i.value.to_ascii_lowercase(),
    };
    (i.kind.as_str().to_owned(), value)
}

impl Flow for IssueFlow {
    type Output = CertificateBundle;

    fn poll(&mut self, session: &mut Session, now: SystemTime) -> Output<CertificateBundle> {
        loop {
            if let Some(ev) = self.events.pop_front() {
                return Output::Event(ev);
            }
            if let Some(r) = self.result.take() {
                return Output::Done(r);
            }
            if let Phase::PollWait(at) = self.phase {
                if now < at {
                    return Output::Wait(at);
                }
                self.phase = Phase::Poll;
                self.call = None;
            }
            if matches!(self.phase, Phase::AwaitSolved) {
                // Waiting for `challenges_ready`; nothing to send.
                return Output::Idle;
            }
            if matches!(self.phase, Phase::Done) {
                return Output::Done(Err(Error::Usage("poll after the flow finished".into())));
            }
            if self.call.is_none() {
                match self.make_call(session) {
                    Some(c) => self.call = Some(c),
                    None => {
                        return Output::Done(Err(Error::Usage(format!(
                            "issuance stuck in {:?}",
                            self.phase
                        ))));
                    }
                }
            }
            let Some(call) = self.call.as_mut() else {
                continue;
            };
            match call.poll(session, now) {
                Step::Send(r) => return Output::Send(r),
                Step::Wait(t) => return Output::Wait(t),
                Step::Idle => return Output::Idle,
                Step::Done(r) => self.on_reply(session, now, r),
            }
        }
    }

    fn handle_response(
        &mut self,
        session: &mut Session,
        now: SystemTime,
        id: RequestId,
        response: Response,
    ) {
        if let Some(call) = self.call.as_mut()
            && let Some(r) = call.handle_response(session, now, id, response)
        {
            self.on_reply(session, now, r);
        }
    }

    fn handle_transport_error(
        &mut self,
        session: &mut Session,
        now: SystemTime,
        id: RequestId,
        error: TransportError,
    ) {
        if let Some(call) = self.call.as_mut()
            && let Some(r) = call.handle_transport_error(session, now, id, error)
        {
            self.on_reply(session, now, r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(meta: Value) -> Directory {
        serde_json::from_value(json!({
            "newNonce": "n", "newAccount": "a", "newOrder": "o", "meta": meta
        }))
        .unwrap()
    }

    fn payload(order: &NewOrder, directory: Option<&Directory>) -> String {
        String::from_utf8(order.payload(directory)).unwrap()
    }

    #[test]
    fn challenges_with_unsafe_tokens_are_never_chosen() {
        // A hostile CA's token ends up in file paths (http-01 webroots) and DNS names:
        // only base64url tokens are handed to solvers (RFC 8555 §8.1).
        let challenge = |kind: &str, token: Option<&str>| -> ChallengeResource {
            let mut v = json!({"type": kind, "url": format!("https://ca.example/c/{kind}")});
            if let Some(t) = token {
                v["token"] = json!(t);
            }
            serde_json::from_value(v).unwrap()
        };
        let id = Identifier::dns("example.org").unwrap();
        let selector = ChallengeSelector::default();
        for bad in [
            "../../etc/cron.d/x",
            "",
            "a/b",
            "tok en",
            "t\u{e9}",
            "a.b",
            "x==",
        ] {
            let offered = [challenge("http-01", Some(bad)), challenge("dns-01", None)];
            assert!(selector.choose(&id, &offered).is_none(), "{bad:?}");
        }
        let long = "a".repeat(challenge::MAX_TOKEN_LEN + 1);
        assert!(
            selector
                .choose(&id, &[challenge("http-01", Some(&long))])
                .is_none()
        );
        let offered = [
            challenge("http-01", Some("../x")),
            challenge(
                "dns-01",
                Some("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"),
            ),
        ];
        let chosen = selector.choose(&id, &offered).unwrap();
        assert_eq!(chosen.kind, ChallengeType::Dns01);
    }

    #[test]
    fn replaces_is_sent_only_when_set_and_non_empty() {
        let ids = vec![Identifier::dns("example.org").unwrap()];
        let plain = r#"{"identifiers":[{"type":"dns","value":"example.org"}]}"#;
        assert_eq!(payload(&NewOrder::new(ids.clone()), None), plain);
        assert_eq!(
            payload(&NewOrder::new(ids.clone()).with_replaces(""), None),
            plain
        );
        assert_eq!(
            payload(
                &NewOrder::new(ids).with_replaces("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"),
                None
            ),
            r#"{"identifiers":[{"type":"dns","value":"example.org"}],"replaces":"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"}"#
        );
    }

    #[test]
    fn profile_is_sent_as_the_request_and_directory_say() {
        let ids = vec![Identifier::dns("example.org").unwrap()];
        let plain = r#"{"identifiers":[{"type":"dns","value":"example.org"}]}"#;
        let with =
            r#"{"identifiers":[{"type":"dns","value":"example.org"}],"profile":"shortlived"}"#;
        let listed = directory(json!({"profiles": {"classic": "90 days", "shortlived": "6 days"}}));
        let unlisted = directory(json!({"profiles": {"classic": "90 days"}}));
        let no_profiles = directory(json!({}));
        let required =
            NewOrder::new(ids.clone()).with_profile(ProfileRequest::required("shortlived"));
        let preferred = NewOrder::new(ids).with_profile(ProfileRequest::preferred("shortlived"));
        for d in [&listed, &unlisted, &no_profiles] {
            assert_eq!(payload(&required, Some(d)), with);
        }
        assert_eq!(payload(&preferred, Some(&listed)), with);
        assert_eq!(payload(&preferred, Some(&unlisted)), plain);
        assert_eq!(payload(&preferred, Some(&no_profiles)), plain);
        assert_eq!(payload(&preferred, None), with);
        assert_eq!(
            ProfileRequest::preferred("x"),
            ProfileRequest {
                name: "x".into(),
                required: false
            }
        );
    }
}
