//! The scripted fake ACME server.

use crate::flow::ChallengeToSolve;
use crate::http::{Method, Request, Response, StatusCode, TransportError};
use crate::msgs::challenge;
use crate::msgs::identifier::Identifier;
use crate::msgs::jws::{self, ParsedJws};
use crate::signer::Jwk;
use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::SystemTime;

/// Base URL of every fake resource.
pub const BASE: &str = "https://acme.test";

/// How the fake CA validates a triggered challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validation {
    /// Check what the client published with [`FakeServer::publish`] (the default).
    Published,
    /// Every challenge is valid (like `PEBBLE_VA_ALWAYS_VALID`).
    AlwaysValid,
}

/// Knobs of the fake server.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// Validation mode.
    pub validation: Validation,
    /// Order polls an order stays `pending` after its challenges are triggered.
    pub pending_polls: u32,
    /// Order polls an order stays `processing` after finalize (0: valid at once).
    pub processing_polls: u32,
    /// `Retry-After` value sent with pending/processing orders and triggered challenges.
    pub retry_after: Option<String>,
    /// Whether `newNonce` answers `HEAD` (else 405, GET only).
    pub nonce_head: bool,
    /// Whether error responses carry a `Replay-Nonce`.
    pub nonce_on_errors: bool,
    /// Reject the nonce of every n-th signed request with `badNonce` (0: never).
    pub reject_every_nth_nonce: u32,
    /// Require External Account Binding; map of key IDs to raw MAC keys.
    pub eab_keys: Option<BTreeMap<String, Vec<u8>>>,
    /// Reuse valid authorizations across orders of one account.
    pub authz_reuse: bool,
    /// Offer `newAuthz`.
    pub new_authz: bool,
    /// Offer `renewalInfo`.
    pub renewal_info: bool,
    /// Number of alternate chains offered with each certificate.
    pub alternate_chains: usize,
    /// Orders per page of the orders list.
    pub orders_per_page: usize,
    /// `meta` object of the directory.
    pub meta: Value,
    /// Extra challenge types offered with each authorization, after http-01, dns-01 and
    /// tls-alpn-01.
    pub extra_challenges: Vec<String>,
    /// Whether `newNonce` answers `GET` (else it is refused like an unanswered `HEAD`).
    pub nonce_get: bool,
    /// Refuse (400 `malformed`) to trigger a challenge that is no longer pending, as Pebble
    /// and Boulder do; by default such a trigger is answered with the challenge.
    pub refuse_retrigger: bool,
    /// Status of a refused `newNonce` method (default 405; some servers say 400, 404 or 501).
    pub nonce_refusal_status: u16,
    /// Status of a successful `newNonce` answer (default: 200 for `HEAD`, 204 for `GET`).
    pub nonce_success_status: Option<u16>,
    /// The base URL the server is reachable at, when not [`BASE`] (e.g.
    /// `http://127.0.0.1:PORT` behind a loopback listener): every URL the server hands out
    /// starts with it, and requests to it are routed as if made to [`BASE`]. Give clients
    /// [`FakeServer::public_url`] of the directory URL.
    pub public_base: Option<String>,
    /// Rewrite every URL the server hands out (after `public_base`), e.g. to give resources
    /// odd-but-legal URLs. Requests to a rewritten URL reach the original resource, and the
    /// JWS `url` must equal the rewritten URL byte for byte.
    pub url_map: Option<fn(&str) -> String>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            validation: Validation::Published,
            pending_polls: 0,
            processing_polls: 1,
            retry_after: None,
            nonce_head: true,
            nonce_on_errors: true,
            reject_every_nth_nonce: 0,
            eab_keys: None,
            authz_reuse: true,
            new_authz: false,
            renewal_info: false,
            alternate_chains: 0,
            orders_per_page: 10,
            meta: json!({"termsOfService": format!("{BASE}/terms")}),
            extra_challenges: Vec::new(),
            nonce_get: true,
            refuse_retrigger: false,
            nonce_refusal_status: 405,
            nonce_success_status: None,
            public_base: None,
            url_map: None,
        }
    }
}

/// A canned response returned instead of normal processing.
#[derive(Clone, Debug)]
pub enum Injection {
    /// Answer with this status, headers and body.
    Respond {
        /// Status code.
        status: u16,
        /// Headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: Vec<u8>,
    },
    /// Fail at the transport level.
    Transport(TransportError),
    /// Process the request normally, then fail at the transport level as if the answer were
    /// lost (a timeout or a reset after the server acted).
    Lost(TransportError),
}

impl Injection {
    /// A problem document response.
    pub fn problem(status: u16, kind: &str, detail: &str) -> Injection {
        Injection::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/problem+json".into())],
            body: json!({"type": format!("urn:ietf:params:acme:error:{kind}"), "detail": detail})
                .to_string()
                .into_bytes(),
        }
    }
}

/// One request the server saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Method.
    pub method: String,
    /// URL path (after [`BASE`], once a public or rewritten URL is mapped back).
    pub path: String,
    /// Status answered (0 for an injected transport failure).
    pub status: u16,
    /// The exact request URL.
    pub url: String,
    /// The JWS `nonce` of a signed request.
    pub nonce: Option<String>,
    /// The JWS `url` of a signed request.
    pub jws_url: Option<String>,
    /// When it arrived (the `now` given to [`FakeServer::handle`]).
    pub at: SystemTime,
}

/// A persistent edit of the server's own answers on some paths (see
/// [`FakeServer::rewrite`]): status, headers and JSON body (a `String` body is sent raw).
pub type Rewrite = fn(&mut u16, &mut Vec<(String, String)>, &mut Value);

#[derive(Clone, Debug)]
struct AccountState {
    url: String,
    jwk: Jwk,
    status: String,
    contact: Vec<String>,
    orders: Vec<String>,
}

#[derive(Clone, Debug)]
struct OrderState {
    account: String,
    identifiers: Vec<Identifier>,
    authzs: Vec<String>,
    status: String,
    polls_left: u32,
    processing_left: u32,
    certificate: Option<String>,
    error: Option<Value>,
    profile: Option<String>,
    replaces: Option<String>,
}

#[derive(Clone, Debug)]
struct AuthzState {
    account: String,
    identifier: Identifier,
    wildcard: bool,
    status: String,
    challenges: Vec<String>,
}

#[derive(Clone, Debug)]
struct ChallengeState {
    authz: String,
    kind: String,
    token: String,
    status: String,
    error: Option<Value>,
}

/// A scripted in-memory ACME server (RFC 8555), deterministic.
#[derive(Debug)]
pub struct FakeServer {
    /// Configuration; may be changed between requests.
    pub config: FakeConfig,
    /// Every request seen, in order.
    pub log: Vec<LoggedRequest>,
    next: u64,
    nonces: HashSet<String>,
    signed_requests: u32,
    accounts: BTreeMap<String, AccountState>,
    orders: BTreeMap<String, OrderState>,
    authzs: BTreeMap<String, AuthzState>,
    challenges: BTreeMap<String, ChallengeState>,
    certs: BTreeMap<String, Vec<u8>>,
    revoked: HashSet<Vec<u8>>,
    published: HashMap<String, String>,
    injections: VecDeque<(String, Injection)>,
    renewal_windows: HashMap<String, (String, String)>,
    /// Per certificate ID: `explanationURL` and `Retry-After` (`None`: no header).
    renewal_extras: HashMap<String, (Option<String>, Option<String>)>,
    new_order_payloads: Vec<Value>,
    cert_keys: HashMap<Vec<u8>, String>,
    rewrites: Vec<(String, Rewrite)>,
    /// Public or rewritten URL handed out → canonical URL.
    aliases: HashMap<String, String>,
}

type Reply = Result<(u16, Vec<(String, String)>, Value), (u16, String, String)>;

fn problem(status: u16, kind: &str, detail: impl Into<String>) -> Reply {
    Err((status, kind.to_owned(), detail.into()))
}

impl FakeServer {
    /// A server with this configuration.
    pub fn new(config: FakeConfig) -> FakeServer {
        FakeServer {
            config,
            log: Vec::new(),
            next: 0,
            nonces: HashSet::new(),
            signed_requests: 0,
            accounts: BTreeMap::new(),
            orders: BTreeMap::new(),
            authzs: BTreeMap::new(),
            challenges: BTreeMap::new(),
            certs: BTreeMap::new(),
            revoked: HashSet::new(),
            published: HashMap::new(),
            injections: VecDeque::new(),
            renewal_windows: HashMap::new(),
            renewal_extras: HashMap::new(),
            new_order_payloads: Vec::new(),
            cert_keys: HashMap::new(),
            rewrites: Vec::new(),
            aliases: HashMap::new(),
        }
    }

    /// The directory URL.
    pub fn directory_url() -> String {
        format!("{BASE}/dir")
    }

    /// Answer the next request whose path starts with `path_prefix` (e.g. `/finalize/`)
    /// with `injection`, before any processing (the nonce is not consumed).
    pub fn inject(&mut self, path_prefix: &str, injection: Injection) {
        self.injections
            .push_back((path_prefix.to_owned(), injection));
    }

    /// Edit every answer of the server's own (not injected) to a path starting with
    /// `path_prefix`, from now on: `f` may change the status, headers and JSON body.
    pub fn rewrite(&mut self, path_prefix: &str, f: Rewrite) {
        self.rewrites.push((path_prefix.to_owned(), f));
    }

    /// The URL clients must use for the canonical URL `url` (e.g. [`FakeServer::directory_url`])
    /// under [`FakeConfig::public_base`] and [`FakeConfig::url_map`]; `url` itself without them.
    pub fn public_url(&mut self, url: &str) -> String {
        let mapped = match &self.config.public_base {
            Some(base) => match url.strip_prefix(BASE) {
                Some(rest) => format!("{base}{rest}"),
                None => url.to_owned(),
            },
            None => url.to_owned(),
        };
        let mapped = match self.config.url_map {
            Some(f) => f(&mapped),
            None => mapped,
        };
        if mapped != url {
            self.aliases.insert(mapped.clone(), url.to_owned());
        }
        mapped
    }

    /// The canonical URL a request URL addresses.
    fn canonical_url(&self, url: &str) -> String {
        if let Some(c) = self.aliases.get(url) {
            return c.clone();
        }
        match &self.config.public_base {
            Some(base) => match url.strip_prefix(base.as_str()) {
                Some(rest) => format!("{BASE}{rest}"),
                None => url.to_owned(),
            },
            None => url.to_owned(),
        }
    }

    /// Map every canonical URL inside `text` to its public form.
    fn publish_urls(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(BASE) {
            out.push_str(&rest[..at]);
            let tail = &rest[at..];
            let end = tail
                .char_indices()
                .find(|&(i, c)| {
                    i >= BASE.len()
                        && !(c.is_ascii_alphanumeric()
                            || matches!(c, '/' | '-' | '_' | '?' | '=' | '.'))
                })
                .map_or(tail.len(), |(i, _)| i);
            out.push_str(&self.public_url(&tail[..end]));
            rest = &tail[end..];
        }
        out.push_str(rest);
        out
    }

    fn publish_json(&mut self, v: &mut Value) {
        match v {
            Value::String(s) if s.contains(BASE) => *s = self.publish_urls(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.publish_json(i)),
            Value::Object(m) => m.values_mut().for_each(|i| self.publish_json(i)),
            _ => {}
        }
    }

    /// Set the status of the authorization at `url` (e.g. `expired`, `deactivated`, or one
    /// RFC 8555 does not define), as a CA would on its own.
    pub fn set_authorization_status(&mut self, url: &str, status: &str) {
        let url = self.canonical_url(url);
        if let Some(z) = self.authzs.get_mut(&url) {
            z.status = status.to_owned();
        }
    }

    /// Set the status (and `error`) of the order at `url`, as a CA would on its own.
    pub fn set_order_status(&mut self, url: &str, status: &str, error: Option<Value>) {
        let url = self.canonical_url(url);
        if let Some(o) = self.orders.get_mut(&url) {
            o.status = status.to_owned();
            o.error = error;
        }
    }

    /// Publish a challenge response as a real solver would (http-01 file, dns-01 TXT
    /// record or tls-alpn-01 certificate).
    pub fn publish(&mut self, c: &ChallengeToSolve) {
        self.published
            .insert(c.token().to_owned(), c.key_authorization.clone());
    }

    /// Publish a wrong key authorization for `token` (for failure tests).
    pub fn publish_raw(&mut self, token: &str, key_authorization: &str) {
        self.published
            .insert(token.to_owned(), key_authorization.to_owned());
    }

    /// Set the renewal window answered for an ARI certificate ID.
    pub fn set_renewal_window(&mut self, cert_id: &str, start: &str, end: &str) {
        self.renewal_windows
            .insert(cert_id.to_owned(), (start.to_owned(), end.to_owned()));
    }

    /// Set the `explanationURL` and the `Retry-After` header (`None`: no header; the default
    /// is `21600`) of the renewal information answered for an ARI certificate ID.
    pub fn set_renewal_details(
        &mut self,
        cert_id: &str,
        explanation_url: Option<&str>,
        retry_after: Option<&str>,
    ) {
        self.renewal_extras.insert(
            cert_id.to_owned(),
            (
                explanation_url.map(str::to_owned),
                retry_after.map(str::to_owned),
            ),
        );
    }

    /// The JSON payload of every `newOrder` request received (also refused ones), in order.
    pub fn new_order_payloads(&self) -> &[Value] {
        &self.new_order_payloads
    }

    /// Record that the certificate `der` certifies the key with this JWK thumbprint (the
    /// fake cannot parse CSRs), so revocation signed by that key is authorized.
    pub fn bind_certificate_key(&mut self, der: &[u8], thumbprint: &str) {
        self.cert_keys.insert(der.to_vec(), thumbprint.to_owned());
    }

    /// Number of requests to paths starting with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.log
            .iter()
            .filter(|l| l.path.starts_with(prefix))
            .count()
    }

    /// Whether a certificate (DER) was revoked.
    pub fn is_revoked(&self, der: &[u8]) -> bool {
        self.revoked.contains(der)
    }

    /// The status of the account at `url`.
    pub fn account_status(&self, url: &str) -> Option<&str> {
        self.accounts.get(url).map(|a| a.status.as_str())
    }

    /// The certificate DER (a fake, not X.509) of a certificate URL.
    pub fn certificate_der(&self, url: &str) -> Option<&[u8]> {
        self.certs.get(url).map(|v| v.as_slice())
    }

    /// Mark an authorization (by identifier value) valid for every account, like a CA that
    /// has reused validation.
    pub fn count_authzs(&self) -> usize {
        self.authzs.len()
    }

    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn fresh_nonce(&mut self) -> String {
        let n = format!("nonce{:04}", self.id());
        self.nonces.insert(n.clone());
        n
    }

    fn directory(&self) -> Value {
        let mut d = json!({
            "newNonce": format!("{BASE}/nonce"),
            "newAccount": format!("{BASE}/new-account"),
            "newOrder": format!("{BASE}/new-order"),
            "revokeCert": format!("{BASE}/revoke"),
            "keyChange": format!("{BASE}/key-change"),
            "meta": self.config.meta,
        });
        if self.config.new_authz {
            d["newAuthz"] = json!(format!("{BASE}/new-authz"));
        }
        if self.config.renewal_info {
            d["renewalInfo"] = json!(format!("{BASE}/renewal-info"));
        }
        d
    }

    /// Handle one request at virtual time `now`.
    pub fn handle(&mut self, now: SystemTime, req: &Request) -> Result<Response, TransportError> {
        let canonical = self.canonical_url(&req.url);
        let path = canonical
            .strip_prefix(BASE)
            .unwrap_or(&canonical)
            .to_owned();
        let signed = jws::parse(&req.body);
        let signed_member = |name: &str| {
            signed
                .as_ref()
                .and_then(|j| j.protected.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let (nonce, jws_url) = (signed_member("nonce"), signed_member("url"));
        if let Some(pos) = self
            .injections
            .iter()
            .position(|(p, _)| path.starts_with(p.as_str()))
        {
            let (_, inj) = self
                .injections
                .remove(pos)
                .unwrap_or_else(|| unreachable!());
            return match inj {
                Injection::Lost(e) => {
                    self.respond(now, req, canonical, path, nonce, jws_url, Some(e))
                }
                Injection::Transport(e) => {
                    self.log.push(LoggedRequest {
                        method: req.method.to_string(),
                        path,
                        status: 0,
                        url: req.url.clone(),
                        nonce,
                        jws_url,
                        at: now,
                    });
                    Err(e)
                }
                Injection::Respond {
                    status,
                    headers,
                    body,
                } => {
                    self.log.push(LoggedRequest {
                        method: req.method.to_string(),
                        path,
                        status,
                        url: req.url.clone(),
                        nonce,
                        jws_url,
                        at: now,
                    });
                    let mut b = http::Response::builder().status(status);
                    for (k, v) in headers {
                        b = b.header(k, v);
                    }
                    if self.config.nonce_on_errors {
                        let n = self.fresh_nonce();
                        b = b.header("Replay-Nonce", n);
                    }
                    Ok(b.body(body).unwrap_or_default())
                }
            };
        }
        self.respond(now, req, canonical, path, nonce, jws_url, None)
    }

    /// Route a request and answer it (or, with `lost`, fail after answering).
    #[allow(clippy::too_many_arguments)]
    fn respond(
        &mut self,
        now: SystemTime,
        req: &Request,
        canonical: String,
        path: String,
        nonce: Option<String>,
        jws_url: Option<String>,
        lost: Option<TransportError>,
    ) -> Result<Response, TransportError> {
        let result = self.route(now, req, &canonical, &path);
        let (mut status, mut headers, mut value) = match result {
            Ok(reply) => reply,
            Err((s, kind, detail)) => (
                s,
                vec![(
                    "Content-Type".to_owned(),
                    "application/problem+json".to_owned(),
                )],
                json!({"type": format!("urn:ietf:params:acme:error:{kind}"), "detail": detail, "status": s}),
            ),
        };
        for (prefix, f) in &self.rewrites {
            if path.starts_with(prefix.as_str()) {
                f(&mut status, &mut headers, &mut value);
            }
        }
        if self.config.public_base.is_some() || self.config.url_map.is_some() {
            self.publish_json(&mut value);
            for (name, v) in headers.iter_mut() {
                if name.eq_ignore_ascii_case("Location") || name.eq_ignore_ascii_case("Link") {
                    *v = self.publish_urls(v);
                }
            }
        }
        let is_ct = |k: &String| k.eq_ignore_ascii_case("Content-Type");
        let body = match value {
            Value::String(s) if headers.iter().any(|(k, _)| is_ct(k)) => s.into_bytes(),
            Value::Null => Vec::new(),
            v => v.to_string().into_bytes(),
        };
        let ok = (200..300).contains(&status);
        let refused_nonce = path == "/nonce" && !ok;
        if (req.method != Method::GET || path == "/nonce")
            && !refused_nonce
            && (ok || self.config.nonce_on_errors)
        {
            let n = self.fresh_nonce();
            headers.push(("Replay-Nonce".into(), n));
        }
        self.log.push(LoggedRequest {
            method: req.method.to_string(),
            path,
            status,
            url: req.url.clone(),
            nonce,
            jws_url,
            at: now,
        });
        let mut b = http::Response::builder()
            .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        let has_ct = headers.iter().any(|(k, _)| is_ct(k));
        for (k, v) in headers {
            b = b.header(k, v);
        }
        if !has_ct && !body.is_empty() {
            b = b.header("Content-Type", "application/json");
        }
        if let Some(e) = lost {
            return Err(e);
        }
        Ok(b.body(if req.method == Method::HEAD {
            Vec::new()
        } else {
            body
        })
        .unwrap_or_default())
    }

    fn route(&mut self, now: SystemTime, req: &Request, canonical: &str, path: &str) -> Reply {
        if path == "/dir" && req.method == Method::GET {
            return Ok((200, vec![], self.directory()));
        }
        if path == "/nonce" {
            let (answered, usual) = match req.method {
                Method::HEAD => (self.config.nonce_head, 200),
                Method::GET => (self.config.nonce_get, 204),
                _ => (false, 0),
            };
            if !answered {
                let refusal = self.config.nonce_refusal_status;
                return problem(refusal, "malformed", "method not allowed");
            }
            let status = self.config.nonce_success_status.unwrap_or(usual);
            return Ok((
                status,
                vec![("Cache-Control".into(), "no-store".into())],
                Value::Null,
            ));
        }
        if let Some(id) = path.strip_prefix("/renewal-info/") {
            let (explanation, retry_after) = self
                .renewal_extras
                .get(id)
                .cloned()
                .unwrap_or_else(|| (None, Some("21600".to_owned())));
            return match self.renewal_windows.get(id) {
                Some((s, e)) => {
                    let mut body = json!({"suggestedWindow": {"start": s, "end": e}});
                    if let Some(url) = explanation {
                        body["explanationURL"] = json!(url);
                    }
                    let headers = retry_after
                        .map(|r| ("Retry-After".to_owned(), r))
                        .into_iter()
                        .collect();
                    Ok((200, headers, body))
                }
                None => problem(404, "malformed", "unknown certificate"),
            };
        }
        if req.method != Method::POST {
            return problem(405, "malformed", "only POST is allowed here");
        }
        let ct = req
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if ct != "application/jose+json" {
            return problem(
                415,
                "malformed",
                "Content-Type must be application/jose+json",
            );
        }
        let Some(jws) = jws::parse(&req.body) else {
            return problem(400, "malformed", "body is not a flattened JWS");
        };
        let h = &jws.protected;
        if h.get("url").and_then(|v| v.as_str()) != Some(req.url.as_str()) {
            return problem(
                401,
                "unauthorized",
                "JWS url does not match the request URL",
            );
        }
        let nonce = h
            .get("nonce")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned();
        if !self.nonces.remove(&nonce) {
            return problem(
                400,
                "badNonce",
                format!("JWS has an invalid anti-replay nonce: {nonce:?}"),
            );
        }
        self.signed_requests += 1;
        let nth = self.config.reject_every_nth_nonce;
        if nth > 0 && self.signed_requests.is_multiple_of(nth) {
            return problem(400, "badNonce", "nonce rejected (scripted)");
        }
        // Identify the signer.
        let (account_url, jwk) = match (h.get("jwk"), h.get("kid").and_then(|v| v.as_str())) {
            (Some(j), None) => match Jwk::from_json(j) {
                Ok(k) => (None, k),
                Err(e) => return problem(400, "malformed", e.to_string()),
            },
            (None, Some(kid)) => match self.accounts.get(&self.canonical_url(kid)) {
                Some(a) if a.status == "valid" => (Some(a.url.clone()), a.jwk.clone()),
                Some(_) => return problem(401, "unauthorized", "account is not valid"),
                None => return problem(400, "accountDoesNotExist", "no account for this kid"),
            },
            _ => return problem(400, "malformed", "JWS needs exactly one of jwk and kid"),
        };
        if !verify(&jwk, &jws) {
            return problem(400, "malformed", "JWS signature is invalid");
        }
        let payload: Option<Value> = if jws.payload.is_empty() {
            None
        } else {
            match serde_json::from_slice(&jws.payload) {
                Ok(v) => Some(v),
                Err(_) => return problem(400, "malformed", "payload is not JSON"),
            }
        };
        // Resources are looked up by their canonical URL; what was signed is `req.url`.
        let url = canonical.to_owned();
        match (path, account_url) {
            ("/new-account", None) => self.new_account(&req.url, &jwk, payload),
            ("/revoke", acct) => self.revoke(acct, &jwk, payload),
            (_, None) => problem(400, "malformed", "this resource needs a kid"),
            ("/new-order", Some(a)) => self.new_order(now, &a, payload),
            ("/key-change", Some(a)) => self.key_change(&req.url, &a, payload),
            ("/new-authz", Some(a)) => self.new_authz(&a, payload),
            (p, Some(a)) => {
                let acct = a.clone();
                if p.starts_with("/acct/") {
                    return self.account(&url, &acct, payload);
                }
                if p.starts_with("/order/") {
                    return self.order(&url, &acct, payload);
                }
                if p.starts_with("/authz/") {
                    return self.authz(&url, &acct, payload);
                }
                if p.starts_with("/chall/") {
                    return self.challenge(&url, &acct, payload);
                }
                if p.starts_with("/finalize/") {
                    return self.finalize(&url, &acct, payload);
                }
                if p.starts_with("/cert/") {
                    return self.cert(&url, req);
                }
                if p.starts_with("/orders/") {
                    return self.orders_list(&url, &acct, payload);
                }
                problem(404, "malformed", "no such resource")
            }
        }
    }

    fn account_json(a: &AccountState) -> Value {
        json!({"status": a.status, "contact": a.contact, "orders": format!("{}/orders", a.url.replace("/acct/", "/orders/"))})
    }

    fn new_account(&mut self, url: &str, jwk: &Jwk, payload: Option<Value>) -> Reply {
        let p = payload.unwrap_or(json!({}));
        let existing = self.accounts.values().find(|a| &a.jwk == jwk).cloned();
        if let Some(a) = existing {
            return Ok((
                200,
                vec![("Location".into(), a.url.clone())],
                Self::account_json(&a),
            ));
        }
        if p.get("onlyReturnExisting") == Some(&json!(true)) {
            return problem(
                400,
                "accountDoesNotExist",
                "no account exists with the provided key",
            );
        }
        if let Some(keys) = &self.config.eab_keys {
            let Some(eab) = p.get("externalAccountBinding") else {
                return problem(
                    401,
                    "externalAccountRequired",
                    "an external account binding is required",
                );
            };
            let Some(parsed) = jws::parse(eab.to_string().as_bytes()) else {
                return problem(400, "malformed", "externalAccountBinding is not a JWS");
            };
            let kid = parsed
                .protected
                .get("kid")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let alg = parsed
                .protected
                .get("alg")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            if parsed.protected.get("url").and_then(|v| v.as_str()) != Some(url)
                || parsed.protected.get("nonce").is_some()
            {
                return problem(
                    400,
                    "malformed",
                    "EAB url must be the newAccount URL, without nonce",
                );
            }
            if parsed.payload != jwk.to_canonical_json().as_bytes() {
                return problem(400, "malformed", "EAB payload must be the account JWK");
            }
            let Some(key) = keys.get(kid) else {
                return problem(400, "unauthorized", format!("unknown EAB key ID {kid:?}"));
            };
            if alg != "HS256"
                || hmac_sha256(key, parsed.signing_input.as_bytes()) != parsed.signature
            {
                return problem(400, "unauthorized", "EAB MAC is invalid");
            }
        }
        let id = self.id();
        let a = AccountState {
            url: format!("{BASE}/acct/{id}"),
            jwk: jwk.clone(),
            status: "valid".into(),
            contact: p
                .get("contact")
                .and_then(|c| serde_json::from_value(c.clone()).ok())
                .unwrap_or_default(),
            orders: Vec::new(),
        };
        self.accounts.insert(a.url.clone(), a.clone());
        Ok((
            201,
            vec![("Location".into(), a.url.clone())],
            Self::account_json(&a),
        ))
    }

    fn account(&mut self, url: &str, acct: &str, payload: Option<Value>) -> Reply {
        if url != acct {
            return problem(401, "unauthorized", "not your account");
        }
        let Some(a) = self.accounts.get_mut(url) else {
            return problem(404, "malformed", "no account");
        };
        if let Some(p) = payload {
            if let Some(c) = p.get("contact") {
                a.contact = serde_json::from_value(c.clone()).unwrap_or_default();
            }
            if p.get("status") == Some(&json!("deactivated")) {
                a.status = "deactivated".into();
            }
        }
        let a = a.clone();
        Ok((200, vec![], Self::account_json(&a)))
    }

    fn key_change(&mut self, url: &str, acct: &str, payload: Option<Value>) -> Reply {
        let Some(inner) = payload.and_then(|p| jws::parse(p.to_string().as_bytes())) else {
            return problem(400, "malformed", "keyChange payload must be a JWS");
        };
        if inner.protected.get("url").and_then(|v| v.as_str()) != Some(url)
            || inner.protected.get("nonce").is_some()
        {
            return problem(
                400,
                "malformed",
                "inner JWS url must equal the outer one and carry no nonce",
            );
        }
        let Some(new_jwk) = inner
            .protected
            .get("jwk")
            .and_then(|j| Jwk::from_json(j).ok())
        else {
            return problem(400, "malformed", "inner JWS needs a jwk");
        };
        if !verify(&new_jwk, &inner) {
            return problem(400, "malformed", "inner JWS signature is invalid");
        }
        let Ok(body) = serde_json::from_slice::<Value>(&inner.payload) else {
            return problem(400, "malformed", "inner payload is not JSON");
        };
        let old = self.accounts.get(acct).map(|a| a.jwk.to_json_value());
        let named = body.get("account").and_then(|v| v.as_str());
        if named.map(|u| self.canonical_url(u)).as_deref() != Some(acct)
            || body.get("oldKey") != old.as_ref()
        {
            return problem(
                400,
                "malformed",
                "inner payload must name the account and its old key",
            );
        }
        if self.accounts.values().any(|a| a.jwk == new_jwk) {
            return problem(409, "malformed", "new key already in use");
        }
        if let Some(a) = self.accounts.get_mut(acct) {
            a.jwk = new_jwk;
        }
        let a = self.accounts.get(acct).cloned();
        Ok((
            200,
            vec![],
            a.map(|a| Self::account_json(&a)).unwrap_or(Value::Null),
        ))
    }

    fn make_authz(&mut self, acct: &str, id: &Identifier) -> String {
        let base = id.authorization_identifier();
        let wildcard = id.is_wildcard();
        if self.config.authz_reuse
            && let Some((u, _)) = self.authzs.iter().find(|(_, a)| {
                a.account == acct
                    && a.identifier == base
                    && a.wildcard == wildcard
                    && a.status == "valid"
            })
        {
            return u.clone();
        }
        let n = self.id();
        let url = format!("{BASE}/authz/{n}");
        let mut kinds: Vec<String> = if wildcard {
            vec!["dns-01".into()]
        } else {
            vec!["http-01".into(), "dns-01".into(), "tls-alpn-01".into()]
        };
        kinds.extend(self.config.extra_challenges.iter().cloned());
        let mut challenges = Vec::new();
        for (i, k) in kinds.iter().enumerate() {
            let curl = format!("{BASE}/chall/{n}-{i}");
            self.challenges.insert(
                curl.clone(),
                ChallengeState {
                    authz: url.clone(),
                    kind: k.clone(),
                    token: format!("token-{n}-{i}"),
                    status: "pending".into(),
                    error: None,
                },
            );
            challenges.push(curl);
        }
        self.authzs.insert(
            url.clone(),
            AuthzState {
                account: acct.to_owned(),
                identifier: base,
                wildcard,
                status: "pending".into(),
                challenges,
            },
        );
        url
    }

    fn new_order(&mut self, now: SystemTime, acct: &str, payload: Option<Value>) -> Reply {
        let p = payload.unwrap_or(json!({}));
        self.new_order_payloads.push(p.clone());
        let ids: Vec<Identifier> = match p
            .get("identifiers")
            .map(|v| serde_json::from_value(v.clone()))
        {
            Some(Ok(ids)) => ids,
            _ => return problem(400, "malformed", "identifiers missing"),
        };
        if ids.is_empty() {
            return problem(400, "malformed", "no identifiers");
        }
        let replaces = p
            .get("replaces")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        if let Some(r) = &replaces
            && r.starts_with("replaced")
        {
            return problem(
                409,
                "alreadyReplaced",
                "the certificate was already replaced",
            );
        }
        let profile = p.get("profile").and_then(|v| v.as_str()).map(str::to_owned);
        if let Some(pr) = &profile {
            let known = self
                .config
                .meta
                .get("profiles")
                .and_then(|m| m.get(pr))
                .is_some();
            if !known {
                return problem(
                    400,
                    "invalidProfile",
                    format!("profile {pr:?} is not offered"),
                );
            }
        }
        let authzs: Vec<String> = ids.iter().map(|i| self.make_authz(acct, i)).collect();
        let n = self.id();
        let url = format!("{BASE}/order/{n}");
        let _ = now;
        let o = OrderState {
            account: acct.to_owned(),
            identifiers: ids,
            authzs,
            status: "pending".into(),
            polls_left: self.config.pending_polls,
            processing_left: self.config.processing_polls,
            certificate: None,
            error: None,
            profile,
            replaces,
        };
        self.orders.insert(url.clone(), o);
        if let Some(a) = self.accounts.get_mut(acct) {
            a.orders.push(url.clone());
        }
        self.refresh_order(&url, false);
        let body = self.order_json(&url);
        Ok((201, vec![("Location".into(), url)], body))
    }

    /// Recompute an order's status from its authorizations.
    fn refresh_order(&mut self, url: &str, is_poll: bool) {
        let Some(o) = self.orders.get(url).cloned() else {
            return;
        };
        let statuses: Vec<String> = o
            .authzs
            .iter()
            .filter_map(|a| self.authzs.get(a).map(|z| z.status.clone()))
            .collect();
        let Some(o) = self.orders.get_mut(url) else {
            return;
        };
        match o.status.as_str() {
            "pending" => {
                if let Some(bad) = statuses.iter().find(|s| *s != "valid" && *s != "pending") {
                    o.status = "invalid".into();
                    o.error = Some(
                        json!({"type": "urn:ietf:params:acme:error:unauthorized", "detail": format!("an authorization is {bad}")}),
                    );
                } else if statuses.iter().all(|s| s == "valid") {
                    o.status = "ready".into();
                }
            }
            "processing" if is_poll => {
                if o.processing_left > 0 {
                    o.processing_left -= 1;
                }
                if o.processing_left == 0 {
                    o.status = "valid".into();
                }
            }
            _ => {}
        }
        if o.status == "valid" && o.certificate.is_none() {
            let c = url.replace("/order/", "/cert/");
            o.certificate = Some(c.clone());
            let der = format!(
                "cert for {}",
                o.identifiers
                    .iter()
                    .map(|i| i.value.clone())
                    .collect::<Vec<_>>()
                    .join(",")
            )
            .into_bytes();
            self.certs.insert(c, der);
        }
    }

    fn order_json(&self, url: &str) -> Value {
        let Some(o) = self.orders.get(url) else {
            return Value::Null;
        };
        let mut v = json!({
            "status": o.status,
            "expires": "2026-01-08T00:00:00Z",
            "identifiers": o.identifiers,
            "authorizations": o.authzs,
            "finalize": url.replace("/order/", "/finalize/"),
        });
        if let Some(c) = &o.certificate {
            v["certificate"] = json!(c);
        }
        if let Some(e) = &o.error {
            v["error"] = e.clone();
        }
        if let Some(p) = &o.profile {
            v["profile"] = json!(p);
        }
        if let Some(r) = &o.replaces {
            v["replaces"] = json!(r);
        }
        v
    }

    fn retry_after_header(&self) -> Vec<(String, String)> {
        self.config
            .retry_after
            .iter()
            .map(|r| ("Retry-After".to_owned(), r.clone()))
            .collect()
    }

    fn order(&mut self, url: &str, acct: &str, payload: Option<Value>) -> Reply {
        if payload.is_some() {
            return problem(400, "malformed", "POST-as-GET needs an empty payload");
        }
        let Some(o) = self.orders.get_mut(url) else {
            return problem(404, "malformed", "no such order");
        };
        if o.account != acct {
            return problem(401, "unauthorized", "not your order");
        }
        // Validation completes after `pending_polls` polls.
        let mut settle = false;
        if o.status == "pending" {
            if o.polls_left > 0 {
                o.polls_left -= 1;
            } else {
                settle = true;
            }
        }
        if settle {
            let authzs = o.authzs.clone();
            for a in authzs {
                self.settle_authz(&a);
            }
        }
        self.refresh_order(url, true);
        let status = self
            .orders
            .get(url)
            .map(|o| o.status.clone())
            .unwrap_or_default();
        let headers = if status == "pending" || status == "processing" {
            self.retry_after_header()
        } else {
            vec![]
        };
        Ok((200, headers, self.order_json(url)))
    }

    /// Decide triggered challenges of an authorization.
    fn settle_authz(&mut self, authz_url: &str) {
        let Some(z) = self.authzs.get(authz_url).cloned() else {
            return;
        };
        if z.status != "pending" {
            return;
        }
        let account_jwk = self
            .accounts
            .get(&z.account)
            .map(|a| a.jwk.thumbprint())
            .unwrap_or_default();
        for c in &z.challenges {
            let Some(ch) = self.challenges.get(c).cloned() else {
                continue;
            };
            if ch.status != "processing" {
                continue;
            }
            let expected = challenge::key_authorization(&ch.token, &account_jwk);
            let ok = match self.config.validation {
                Validation::AlwaysValid => true,
                Validation::Published => self.published.get(&ch.token) == Some(&expected),
            };
            let (cs, zs, err) = if ok {
                ("valid", "valid", None)
            } else {
                let got = self.published.get(&ch.token).cloned().unwrap_or_default();
                (
                    "invalid",
                    "invalid",
                    Some(json!({
                        "type": "urn:ietf:params:acme:error:incorrectResponse",
                        "detail": format!("key authorization mismatch: got {got:?}"),
                        "status": 403,
                    })),
                )
            };
            if let Some(chm) = self.challenges.get_mut(c) {
                chm.status = cs.into();
                chm.error = err;
            }
            if let Some(zm) = self.authzs.get_mut(authz_url) {
                zm.status = zs.into();
            }
            return;
        }
    }

    fn authz_json(&self, url: &str) -> Value {
        let Some(z) = self.authzs.get(url) else {
            return Value::Null;
        };
        let challenges: Vec<Value> = z
            .challenges
            .iter()
            .filter_map(|c| self.challenges.get(c).map(|ch| (c, ch)))
            .map(|(c, ch)| {
                let mut v =
                    json!({"type": ch.kind, "url": c, "status": ch.status, "token": ch.token});
                if let Some(e) = &ch.error {
                    v["error"] = e.clone();
                }
                v
            })
            .collect();
        let mut v = json!({"identifier": z.identifier, "status": z.status, "expires": "2026-01-08T00:00:00Z", "challenges": challenges});
        if z.wildcard {
            v["wildcard"] = json!(true);
        }
        v
    }

    fn authz(&mut self, url: &str, acct: &str, payload: Option<Value>) -> Reply {
        let Some(z) = self.authzs.get_mut(url) else {
            return problem(404, "malformed", "no such authorization");
        };
        if z.account != acct {
            return problem(401, "unauthorized", "not your authorization");
        }
        if let Some(p) = payload {
            if p.get("status") == Some(&json!("deactivated"))
                && (z.status == "valid" || z.status == "pending")
            {
                z.status = "deactivated".into();
            } else {
                return problem(400, "malformed", "only deactivation is allowed");
            }
        } else if !self
            .orders
            .values()
            .any(|o| o.authzs.iter().any(|a| a == url))
        {
            // A pre-authorization (`newAuthz`) belongs to no order, so no order poll decides
            // its triggered challenges: polling the authorization itself does.
            self.settle_authz(url);
        }
        Ok((200, vec![], self.authz_json(url)))
    }

    fn new_authz(&mut self, acct: &str, payload: Option<Value>) -> Reply {
        if !self.config.new_authz {
            return problem(404, "malformed", "no newAuthz");
        }
        let Some(id) = payload
            .and_then(|p| p.get("identifier").cloned())
            .and_then(|i| serde_json::from_value::<Identifier>(i).ok())
        else {
            return problem(400, "malformed", "identifier missing");
        };
        let url = self.make_authz(acct, &id);
        Ok((
            201,
            vec![("Location".into(), url.clone())],
            self.authz_json(&url),
        ))
    }

    fn challenge(&mut self, url: &str, acct: &str, payload: Option<Value>) -> Reply {
        let Some(ch) = self.challenges.get(url).cloned() else {
            return problem(404, "malformed", "no such challenge");
        };
        if self.authzs.get(&ch.authz).map(|z| z.account.as_str()) != Some(acct) {
            return problem(401, "unauthorized", "not your challenge");
        }
        match payload {
            Some(p) if p == json!({}) && ch.status != "pending" && self.config.refuse_retrigger => {
                return problem(
                    400,
                    "malformed",
                    format!(
                        "Cannot update challenge with status {}, only status pending",
                        ch.status
                    ),
                );
            }
            Some(p) if p == json!({}) => {
                if ch.status == "pending"
                    && let Some(c) = self.challenges.get_mut(url)
                {
                    c.status = "processing".into();
                }
            }
            Some(_) => return problem(400, "malformed", "challenge payload must be {}"),
            None => {}
        }
        let ch = self.challenges.get(url).cloned().unwrap_or(ch);
        let mut v = json!({"type": ch.kind, "url": url, "status": ch.status, "token": ch.token});
        if let Some(e) = &ch.error {
            v["error"] = e.clone();
        }
        let up = format!("<{}>;rel=\"up\"", ch.authz);
        let mut h = self.retry_after_header();
        h.push(("Link".into(), up));
        Ok((200, h, v))
    }

    fn finalize(&mut self, url: &str, acct: &str, payload: Option<Value>) -> Reply {
        let order_url = url.replace("/finalize/", "/order/");
        self.refresh_order(&order_url, false);
        let Some(o) = self.orders.get_mut(&order_url) else {
            return problem(404, "malformed", "no such order");
        };
        if o.account != acct {
            return problem(401, "unauthorized", "not your order");
        }
        if o.status != "ready" {
            return problem(403, "orderNotReady", format!("order is {}", o.status));
        }
        let csr = payload
            .as_ref()
            .and_then(|p| p.get("csr"))
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if csr.is_empty() || Base64UrlUnpadded::decode_vec(csr).is_err() {
            return problem(400, "badCSR", "csr is not base64url DER");
        }
        o.status = "processing".into();
        if o.processing_left == 0 {
            o.status = "valid".into();
        }
        self.refresh_order(&order_url, false);
        let headers = self.retry_after_header();
        Ok((200, headers, self.order_json(&order_url)))
    }

    fn pem(der: &[u8], n: usize) -> String {
        let mut s = String::new();
        for i in 0..=n.min(1) {
            let body = Base64UrlUnpadded::encode_string(&[der, &[i as u8]].concat())
                .replace(['-', '_'], "A");
            s.push_str(&format!(
                "-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
            ));
        }
        s
    }

    fn cert(&mut self, url: &str, req: &Request) -> Reply {
        let accept = req
            .headers
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if accept != "application/pem-certificate-chain" {
            return problem(
                406,
                "malformed",
                "Accept must be application/pem-certificate-chain",
            );
        }
        let (base, alt) = match url.split_once("/alt/") {
            Some((b, n)) => (b.to_owned(), n.parse::<usize>().unwrap_or(0)),
            None => (url.to_owned(), 0),
        };
        let Some(der) = self.certs.get(&base).cloned() else {
            return problem(404, "malformed", "no such certificate");
        };
        let mut headers = vec![(
            "Content-Type".to_owned(),
            "application/pem-certificate-chain".to_owned(),
        )];
        if alt == 0 {
            for i in 1..=self.config.alternate_chains {
                headers.push(("Link".into(), format!("<{base}/alt/{i}>;rel=\"alternate\"")));
            }
        }
        Ok((200, headers, Value::String(Self::pem(&der, 1 + alt))))
    }

    fn orders_list(&mut self, url: &str, acct: &str, payload: Option<Value>) -> Reply {
        if payload.is_some() {
            return problem(400, "malformed", "POST-as-GET needs an empty payload");
        }
        let (base, page) = match url.split_once("?page=") {
            Some((b, p)) => (b.to_owned(), p.parse::<usize>().unwrap_or(0)),
            None => (url.to_owned(), 0),
        };
        let acct_url = base
            .trim_end_matches("/orders")
            .replace("/orders/", "/acct/");
        if acct_url != acct {
            return problem(401, "unauthorized", "not your orders");
        }
        let all = self
            .accounts
            .get(acct)
            .map(|a| a.orders.clone())
            .unwrap_or_default();
        let per = self.config.orders_per_page.max(1);
        let chunk: Vec<String> = all.iter().skip(page * per).take(per).cloned().collect();
        let mut h = vec![];
        if (page + 1) * per < all.len() {
            h.push((
                "Link".into(),
                format!("<{base}?page={}>;rel=\"next\"", page + 1),
            ));
        }
        Ok((200, h, json!({"orders": chunk})))
    }

    fn revoke(&mut self, acct: Option<String>, jwk: &Jwk, payload: Option<Value>) -> Reply {
        let Some(b64) = payload
            .as_ref()
            .and_then(|p| p.get("certificate"))
            .and_then(|v| v.as_str())
        else {
            return problem(400, "malformed", "certificate missing");
        };
        let Ok(der) = Base64UrlUnpadded::decode_vec(b64) else {
            return problem(400, "malformed", "certificate is not base64url");
        };
        let reason = payload
            .as_ref()
            .and_then(|p| p.get("reason"))
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        if reason == 2 || reason > 10 {
            return problem(
                400,
                "badRevocationReason",
                format!("reason {reason} is not allowed"),
            );
        }
        let Some((cert_url, _)) = self
            .certs
            .iter()
            .find(|(_, d)| **d == der)
            .map(|(u, d)| (u.clone(), d.clone()))
        else {
            return problem(404, "malformed", "unknown certificate");
        };
        let order_url = cert_url.replace("/cert/", "/order/");
        let owner = self.orders.get(&order_url).map(|o| o.account.clone());
        let authorized = match &acct {
            Some(a) => owner.as_deref() == Some(a.as_str()),
            // Signed by the certificate key, bound with `bind_certificate_key`.
            None => self.cert_keys.get(&der) == Some(&jwk.thumbprint()),
        };
        if !authorized {
            return problem(
                403,
                "unauthorized",
                "not authorized to revoke this certificate",
            );
        }
        if !self.revoked.insert(der) {
            return problem(400, "alreadyRevoked", "certificate already revoked");
        }
        Ok((200, vec![], Value::Null))
    }
}

fn verify(jwk: &Jwk, jws: &ParsedJws) -> bool {
    match jws.protected.get("alg").and_then(|v| v.as_str()) {
        Some("TEST") => {
            super::TestSigner::verify(jwk, jws.signing_input.as_bytes(), &jws.signature)
        }
        // Real algorithms: the fake server checks structure only; signature verification of
        // real keys is tested in acme-crypto and end to end against Pebble.
        Some(_) => !jws.signature.is_empty(),
        None => false,
    }
}

/// HMAC-SHA-256 (RFC 2104), for checking EAB in the fake server.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.iter().map(|b| b ^ 0x36).collect::<Vec<u8>>());
    inner.update(data);
    let ih = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(k.iter().map(|b| b ^ 0x5c).collect::<Vec<u8>>());
    outer.update(ih);
    outer.finalize().to_vec()
}
