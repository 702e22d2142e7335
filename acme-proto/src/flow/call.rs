//! One logical ACME call: fetches the directory and a nonce when needed, signs, retries on
//! `badNonce` (re-signing with a fresh nonce), on 5xx and on transport failures (with capped
//! back-off), and hands the flow either a 2xx [`Reply`] or a typed [`Error`].

use super::session::Session;
use crate::error::{Error, snippet};
use crate::http::{
    Endpoint, HeaderMap, HeaderValue, Method, Request, RequestId, Response, TransportError,
    TransportErrorKind,
};
use crate::msgs::headers;
use crate::msgs::jws::{self, KeyRef};
use crate::msgs::problem::{Problem, ProblemType};
use crate::msgs::resources::Directory;
use crate::signer::Signer;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A directory entry a call targets; resolved once the directory is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DirUrl {
    NewAccount,
    NewOrder,
    NewAuthz,
    RevokeCert,
    KeyChange,
    RenewalInfo,
}

impl DirUrl {
    fn resolve(self, d: &Directory) -> Option<&String> {
        match self {
            DirUrl::NewAccount => Some(&d.new_account),
            DirUrl::NewOrder => Some(&d.new_order),
            DirUrl::NewAuthz => d.new_authz.as_ref(),
            DirUrl::RevokeCert => d.revoke_cert.as_ref(),
            DirUrl::KeyChange => d.key_change.as_ref(),
            DirUrl::RenewalInfo => d.renewal_info.as_ref(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            DirUrl::NewAccount => "newAccount",
            DirUrl::NewOrder => "newOrder",
            DirUrl::NewAuthz => "newAuthz",
            DirUrl::RevokeCert => "revokeCert",
            DirUrl::KeyChange => "keyChange",
            DirUrl::RenewalInfo => "renewalInfo",
        }
    }
}

pub(crate) enum Target {
    Url(String),
    Dir(DirUrl),
    /// A directory URL with a path segment appended (`renewalInfo/{certID}`).
    DirPath(DirUrl, String),
}

impl Target {
    fn resolve(&self, d: Option<&Directory>) -> Result<String, Error> {
        let (which, suffix) = match self {
            Target::Url(u) => return Ok(u.clone()),
            Target::Dir(w) => (*w, None),
            Target::DirPath(w, s) => (*w, Some(s)),
        };
        let Some(base) = d.and_then(|d| which.resolve(d)) else {
            let name = which.name();
            return Err(Error::Usage(format!(
                "the CA's directory has no `{name}` endpoint"
            )));
        };
        Ok(match suffix {
            Some(s) => format!("{}/{}", base.trim_end_matches('/'), s),
            None => base.clone(),
        })
    }
}

/// Builds the payload once the URL (and directory) are known: EAB and keyChange sign the URL.
pub(crate) type PayloadFn = Box<dyn Fn(&Session, &str) -> Result<Vec<u8>, Error> + Send + Sync>;

pub(crate) enum Auth {
    /// `kid` = the session's account URL, signed by the session's account key.
    Account,
    /// `jwk` of this key (newAccount, revocation by certificate key).
    Jwk(Arc<dyn Signer>),
}

pub(crate) enum Kind {
    Get { follow_redirects: bool },
    Post { auth: Auth, payload: PayloadFn },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Ready,
    AwaitDirectory(RequestId),
    AwaitNonce(RequestId),
    AwaitResponse(RequestId),
    Backoff(SystemTime),
    Finished,
}

/// A 2xx response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) url: String,
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::protocol(
                &self.url,
                self.status,
                format!("invalid {what} object: {e}"),
                &self.body,
            )
        })
    }

    pub(crate) fn location(&self) -> Option<String> {
        headers::location(&self.headers, &self.url)
    }
}

pub(crate) enum Step {
    Send(Request),
    Wait(SystemTime),
    Idle,
    Done(Result<Reply, Error>),
}

pub(crate) struct Call {
    endpoint: Endpoint,
    target: Target,
    kind: Kind,
    accept: Option<&'static str>,
    state: State,
    bad_nonce: u32,
    transient: u32,
    /// An earlier attempt of this POST may have been acted on although its answer never
    /// arrived (timeout, reset, 5xx from a proxy): the retry may meet the effect of the first.
    maybe_applied: bool,
    /// A finished result not yet handed to the flow (errors found while polling).
    pending: Option<Result<Reply, Error>>,
}

impl Call {
    pub(crate) fn get_directory(url: String) -> Call {
        Call::new(
            Endpoint::Directory,
            Target::Url(url),
            Kind::Get {
                follow_redirects: true,
            },
        )
    }

    pub(crate) fn get_target(endpoint: Endpoint, target: Target) -> Call {
        Call::new(
            endpoint,
            target,
            Kind::Get {
                follow_redirects: false,
            },
        )
    }

    pub(crate) fn post(endpoint: Endpoint, target: Target, auth: Auth, payload: PayloadFn) -> Call {
        Call::new(endpoint, target, Kind::Post { auth, payload })
    }

    /// POST with a fixed payload signed with the account's `kid`.
    pub(crate) fn post_kid(endpoint: Endpoint, target: Target, payload: Vec<u8>) -> Call {
        Call::post(
            endpoint,
            target,
            Auth::Account,
            Box::new(move |_, _| Ok(payload.clone())),
        )
    }

    /// POST-as-GET (payload exactly empty, RFC 8555 §6.3).
    pub(crate) fn post_as_get(endpoint: Endpoint, url: String) -> Call {
        Call::post_kid(endpoint, Target::Url(url), Vec::new())
    }

    fn new(endpoint: Endpoint, target: Target, kind: Kind) -> Call {
        Call {
            endpoint,
            target,
            kind,
            accept: None,
            state: State::Ready,
            bad_nonce: 0,
            transient: 0,
            maybe_applied: false,
            pending: None,
        }
    }

    pub(crate) fn accept(mut self, media_type: &'static str) -> Call {
        self.accept = Some(media_type);
        self
    }

    fn fail(&mut self, e: Error) -> Step {
        self.state = State::Finished;
        Step::Done(Err(e))
    }

    fn base_headers(session: &Session) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&session.user_agent) {
            h.insert(http::header::USER_AGENT, v);
        }
        h
    }

    fn url_for_log(&self, session: &Session) -> String {
        self.target
            .resolve(session.directory.as_ref())
            .unwrap_or_default()
    }

    pub(crate) fn poll(&mut self, session: &mut Session, now: SystemTime) -> Step {
        if let Some(done) = self.pending.take() {
            self.state = State::Finished;
            return Step::Done(done);
        }
        match self.state {
            State::Finished => {
                return Step::Done(Err(Error::Usage("poll after the call finished".into())));
            }
            State::AwaitDirectory(_) | State::AwaitNonce(_) | State::AwaitResponse(_) => {
                return Step::Idle;
            }
            State::Backoff(until) if now < until => return Step::Wait(until),
            State::Backoff(_) | State::Ready => {}
        }
        let needs_directory =
            !matches!(self.target, Target::Url(_)) || matches!(self.kind, Kind::Post { .. });
        if needs_directory && session.directory.is_none() {
            let id = session.next_id();
            self.state = State::AwaitDirectory(id);
            return Step::Send(Request {
                id,
                endpoint: Endpoint::Directory,
                method: Method::GET,
                url: session.directory_url.clone(),
                headers: Self::base_headers(session),
                body: Vec::new(),
                follow_redirects: true,
            });
        }
        let url = match self.target.resolve(session.directory.as_ref()) {
            Ok(u) => u,
            Err(e) => return self.fail(e),
        };
        match &self.kind {
            Kind::Get { follow_redirects } => {
                let id = session.next_id();
                self.state = State::AwaitResponse(id);
                let mut headers = Self::base_headers(session);
                if let Some(a) = self.accept {
                    headers.insert(http::header::ACCEPT, HeaderValue::from_static(a));
                }
                Step::Send(Request {
                    id,
                    endpoint: self.endpoint,
                    method: Method::GET,
                    url,
                    headers,
                    body: Vec::new(),
                    follow_redirects: *follow_redirects,
                })
            }
            Kind::Post { auth, payload } => {
                let Some(nonce) = session.take_nonce() else {
                    let id = session.next_id();
                    self.state = State::AwaitNonce(id);
                    let Some(dir) = session.directory.as_ref() else {
                        return self.fail(Error::Usage("directory missing".into()));
                    };
                    let method = if session.nonce_via_get {
                        Method::GET
                    } else {
                        Method::HEAD
                    };
                    return Step::Send(Request {
                        id,
                        endpoint: Endpoint::NewNonce,
                        method,
                        url: dir.new_nonce.clone(),
                        headers: Self::base_headers(session),
                        body: Vec::new(),
                        follow_redirects: false,
                    });
                };
                let body = match payload(session, &url) {
                    Ok(b) => b,
                    Err(e) => return self.fail(e),
                };
                let signed = match auth {
                    Auth::Account => match session.account.as_ref() {
                        Some(acct) => jws::sign(
                            &*acct.key,
                            KeyRef::Kid(&acct.url),
                            Some(&nonce),
                            &url,
                            &body,
                        ),
                        None => {
                            return self.fail(Error::Usage(
                                "this request needs an account: create, find or restore one first"
                                    .into(),
                            ));
                        }
                    },
                    Auth::Jwk(key) => jws::sign(&**key, KeyRef::Jwk, Some(&nonce), &url, &body),
                };
                let signed = match signed {
                    Ok(s) => s,
                    Err(e) => return self.fail(Error::Signing(e)),
                };
                let id = session.next_id();
                self.state = State::AwaitResponse(id);
                let mut headers = Self::base_headers(session);
                headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/jose+json"),
                );
                if let Some(a) = self.accept {
                    headers.insert(http::header::ACCEPT, HeaderValue::from_static(a));
                }
                Step::Send(Request {
                    id,
                    endpoint: self.endpoint,
                    method: Method::POST,
                    url,
                    headers,
                    body: signed,
                    follow_redirects: false,
                })
            }
        }
    }

    /// True when an earlier attempt of this (POST) call may have reached the server and been
    /// acted on before its answer was lost: a retry of a non-idempotent request (revocation,
    /// deactivation, key rollover) can then fail *because* the first attempt succeeded.
    pub(crate) fn maybe_applied(&self) -> bool {
        self.maybe_applied
    }

    /// True if `id` belongs to this call's outstanding request.
    pub(crate) fn owns(&self, id: RequestId) -> bool {
        matches!(self.state, State::AwaitDirectory(x) | State::AwaitNonce(x) | State::AwaitResponse(x) if x == id)
    }

    /// Back off before retrying, or give up with `err` when the budget is spent or the wait
    /// would exceed the policy's cap.
    fn retry_later(
        &mut self,
        session: &Session,
        now: SystemTime,
        server_wait: Option<SystemTime>,
        err: Error,
    ) -> Option<Result<Reply, Error>> {
        let p = &session.policy;
        if self.transient >= p.max_transient_retries {
            self.state = State::Finished;
            return Some(Err(err));
        }
        let backoff = p
            .transient_backoff
            .checked_mul(1u32 << self.transient.min(16))
            .unwrap_or(p.retry_after_max)
            .min(p.retry_after_max);
        let until = match server_wait {
            Some(t) => {
                if t.duration_since(now).unwrap_or_default() > p.retry_after_max {
                    self.state = State::Finished;
                    return Some(Err(err));
                }
                t.max(later(now, p.retry_after_min))
            }
            None => later(now, backoff),
        };
        self.transient += 1;
        self.state = State::Backoff(until);
        None
    }

    /// Feed a response. Returns the call's result once it is final.
    pub(crate) fn handle_response(
        &mut self,
        session: &mut Session,
        now: SystemTime,
        id: RequestId,
        response: Response,
    ) -> Option<Result<Reply, Error>> {
        if !self.owns(id) {
            return None;
        }
        let (parts, body) = response.into_parts();
        let status = parts.status.as_u16();
        if let Some(n) = headers::replay_nonce(&parts.headers) {
            session.push_nonce(n);
        }
        let url = self.url_for_log(session);
        match self.state {
            State::AwaitDirectory(_) => {
                let dir_url = session.directory_url.clone();
                if parts.status.is_success() {
                    match serde_json::from_slice::<Directory>(&body) {
                        Ok(d) => {
                            session.directory = Some(d);
                            self.state = State::Ready;
                            None
                        }
                        Err(e) => {
                            self.state = State::Finished;
                            Some(Err(Error::protocol(
                                &dir_url,
                                status,
                                format!("invalid directory: {e}"),
                                &body,
                            )))
                        }
                    }
                } else {
                    let err = error_from_response(&dir_url, status, &parts.headers, &body, now);
                    if is_retryable(status, &err) {
                        let wait = headers::retry_after(&parts.headers, now);
                        self.retry_later(session, now, wait, err)
                    } else {
                        self.state = State::Finished;
                        Some(Err(err))
                    }
                }
            }
            State::AwaitNonce(_) => {
                let nonce_url = session
                    .directory
                    .as_ref()
                    .map(|d| d.new_nonce.clone())
                    .unwrap_or_default();
                if parts.status.is_success() && session.nonce_count() > 0 {
                    self.state = State::Ready;
                    return None;
                }
                let err = if parts.status.is_success() {
                    Error::protocol(
                        &nonce_url,
                        status,
                        "newNonce response carries no valid Replay-Nonce",
                        &body,
                    )
                } else {
                    error_from_response(&nonce_url, status, &parts.headers, &body, now)
                };
                // RFC 8555 §7.2 allows HEAD and GET. Some servers answer only GET, refusing
                // HEAD with 405 (or 400, 404, 501 …), and some proxies strip a HEAD answer's
                // headers: use GET from then on (a nonce the refusal carried is used first).
                let head_refused = parts.status.is_success()
                    || status == 501
                    || (parts.status.is_client_error() && status != 429 && !err.is_rate_limited());
                if head_refused && !session.nonce_via_get {
                    session.nonce_via_get = true;
                    self.state = State::Ready;
                    return None;
                }
                if parts.status.is_success() || is_retryable(status, &err) {
                    let wait = headers::retry_after(&parts.headers, now);
                    self.retry_later(session, now, wait, err)
                } else {
                    self.state = State::Finished;
                    Some(Err(err))
                }
            }
            State::AwaitResponse(_) => {
                if parts.status.is_success() {
                    self.state = State::Finished;
                    return Some(Ok(Reply {
                        url,
                        status,
                        headers: parts.headers,
                        body,
                    }));
                }
                let err = error_from_response(&url, status, &parts.headers, &body, now);
                if err.problem_type() == Some(&ProblemType::BadNonce)
                    && matches!(self.kind, Kind::Post { .. })
                {
                    if self.bad_nonce < session.policy.max_bad_nonce_retries {
                        self.bad_nonce += 1;
                        self.state = State::Ready;
                        return None;
                    }
                    self.state = State::Finished;
                    return Some(Err(err));
                }
                if is_retryable(status, &err) {
                    // A gateway's 5xx says nothing about whether the CA acted.
                    self.maybe_applied |= matches!(self.kind, Kind::Post { .. });
                    let wait = headers::retry_after(&parts.headers, now);
                    return self.retry_later(session, now, wait, err);
                }
                self.state = State::Finished;
                Some(Err(err))
            }
            State::Ready | State::Backoff(_) | State::Finished => None,
        }
    }

    /// Feed a transport failure.
    pub(crate) fn handle_transport_error(
        &mut self,
        session: &mut Session,
        now: SystemTime,
        id: RequestId,
        error: TransportError,
    ) -> Option<Result<Reply, Error>> {
        if !self.owns(id) {
            return None;
        }
        let url = match self.state {
            State::AwaitDirectory(_) => session.directory_url.clone(),
            State::AwaitNonce(_) => session
                .directory
                .as_ref()
                .map(|d| d.new_nonce.clone())
                .unwrap_or_default(),
            _ => self.url_for_log(session),
        };
        let retryable = matches!(
            error.kind,
            TransportErrorKind::Connect | TransportErrorKind::Timeout | TransportErrorKind::Io
        );
        // A refused connection carried nothing; a timeout or a reset may have come after
        // the server acted.
        if matches!(self.state, State::AwaitResponse(_))
            && matches!(self.kind, Kind::Post { .. })
            && error.kind != TransportErrorKind::Connect
        {
            self.maybe_applied = true;
        }
        let err = Error::Transport { url, error };
        if retryable {
            // The nonce of a request that may have reached the server is spent either way;
            // the retry takes a fresh one and re-signs.
            self.retry_later(session, now, None, err)
        } else {
            self.state = State::Finished;
            Some(Err(err))
        }
    }
}

fn is_transient(status: u16) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
}

/// Whether an error response is worth retrying: a transient 5xx, unless it is a rate limit
/// (returned at once with its retry time, whatever the status).
fn is_retryable(status: u16, err: &Error) -> bool {
    is_transient(status) && !err.is_rate_limited()
}

/// Turn a non-2xx response into the error the caller sees: the problem document when there
/// is one (whatever the media type says, if the body is a JSON object with a `type`), else a
/// protocol error naming the status, URL and a body snippet.
pub(crate) fn error_from_response(
    url: &str,
    status: u16,
    hdrs: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Error {
    let declared = headers::is_media_type(hdrs, "application/problem+json");
    let blank = |p: &Problem| matches!(&p.kind, ProblemType::Other(t) if t == "about:blank");
    // A document with neither `type` nor `detail` explains nothing: report it with its
    // snippet, like a body that is no problem document at all.
    let parsed = Problem::from_json(body);
    let empty = parsed
        .as_ref()
        .is_some_and(|p| blank(p) && p.detail.is_none());
    let problem = parsed.filter(|p| (declared || !blank(p)) && !empty);
    match problem {
        Some(mut problem) => {
            problem.retry_after = headers::retry_after(hdrs, now);
            Error::Server {
                url: url.to_owned(),
                status,
                problem,
            }
        }
        None if matches!(status, 429 | 503) && !(declared && empty) => Error::Unavailable {
            url: url.to_owned(),
            status,
            retry_after: headers::retry_after(hdrs, now),
            body_snippet: snippet(body),
        },
        None => {
            let ct = headers::media_type(hdrs).unwrap_or_else(|| "no content type".into());
            let reason = if declared && empty {
                format!("HTTP {status} with a problem document that has neither type nor detail")
            } else {
                format!("HTTP {status} without a problem document ({ct})")
            };
            Error::Protocol {
                url: url.to_owned(),
                status,
                reason,
                body_snippet: snippet(body),
            }
        }
    }
}

/// `now + delay`, saturating at the latest time the platform can represent instead of
/// panicking. `now` comes from the caller and may be anywhere in `SystemTime`'s range (found
/// by fuzzing: a `now` a few seconds before the end of that range made every back-off, poll
/// and deadline computation overflow).
pub(crate) fn later(now: SystemTime, delay: Duration) -> SystemTime {
    if let Some(t) = now.checked_add(delay) {
        return t;
    }
    // Add as much of `delay` as fits: halve the step on each overflow.
    let (mut t, mut step) = (now, delay);
    while !step.is_zero() {
        match t.checked_add(step) {
            Some(next) => t = next,
            None => step /= 2,
        }
    }
    t
}

/// Default delay for the `n`th poll (0-based) of a phase without `Retry-After`: one quick
/// first look ([`super::Policy::poll_first_interval`]), then exponential back-off from
/// [`super::Policy::poll_initial_interval`] up to [`super::Policy::poll_max_interval`].
pub(crate) fn poll_delay(session: &Session, n: u32) -> Duration {
    let p = &session.policy;
    let Some(step) = n.checked_sub(1) else {
        return p.poll_first_interval.min(p.poll_max_interval);
    };
    p.poll_initial_interval
        .checked_mul(1u32 << step.min(16))
        .unwrap_or(p.poll_max_interval)
        .min(p.poll_max_interval)
}

/// When to poll next: the server's `Retry-After` clamped to the policy, or the default
/// schedule.
pub(crate) fn next_poll(
    session: &Session,
    now: SystemTime,
    hdrs: &HeaderMap,
    n: u32,
) -> SystemTime {
    let p = &session.policy;
    match headers::retry_after(hdrs, now) {
        Some(t) => {
            let wait = t.duration_since(now).unwrap_or_default();
            // Not `clamp`: a policy whose minimum exceeds its maximum must not panic; the
            // maximum wins.
            later(now, wait.max(p.retry_after_min).min(p.retry_after_max))
        }
        None => later(now, poll_delay(session, n)),
    }
}

#[cfg(test)]
mod time_arithmetic_tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    /// The latest `SystemTime` the platform represents.
    fn end_of_time() -> SystemTime {
        later(UNIX_EPOCH, Duration::MAX)
    }

    #[test]
    fn later_saturates_instead_of_panicking() {
        // Found by fuzzing (fuzz/regressions/flow): a `now` near the end of `SystemTime`.
        let end = end_of_time();
        assert!(end.checked_add(Duration::from_nanos(1)).is_none());
        let near_end = end - Duration::from_secs(3);
        assert_eq!(later(near_end, Duration::from_secs(300)), end);
        assert_eq!(later(end, Duration::MAX), end);
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(
            later(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
    }

    #[test]
    fn polling_and_retries_near_the_end_of_time() {
        let end = end_of_time();
        let session = Session::new("https://ca.example/dir");
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("30"));
        assert_eq!(next_poll(&session, end, &headers, 0), end);
        assert_eq!(next_poll(&session, end, &HeaderMap::new(), 3), end);
    }

    #[test]
    fn next_poll_tolerates_a_minimum_above_the_maximum() {
        // `Duration::clamp` panics when min > max; a caller's policy may say so.
        let policy = super::super::Policy {
            retry_after_min: Duration::from_secs(100),
            retry_after_max: Duration::from_secs(10),
            ..super::super::Policy::default()
        };
        let session = Session::new("https://ca.example/dir").with_policy(policy);
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("30"));
        assert_eq!(
            next_poll(&session, now, &headers, 0),
            now + Duration::from_secs(10)
        );
    }
}
