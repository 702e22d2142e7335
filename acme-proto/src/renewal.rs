//! When to renew a certificate: ACME Renewal Information (RFC 9773) with a lifetime-based
//! fallback, as a pure decision over the certificate's facts, the current time, what the CA
//! said, and randomness the caller supplies.
//!
//! # The decision
//!
//! [`RenewalState::decide`] answers [`Renew::Now`], [`Renew::At`] ("renew at T; nothing to
//! check before") or [`Renew::CheckAgain`] ("nothing to do before T; then fetch renewal
//! information again and decide anew"):
//!
//! - **With a valid suggested window** (RFC 9773 §4.2: its end strictly after its start), a
//!   renewal time is chosen uniformly at random inside `[start, end)` from the caller's
//!   random `u64` (`start + ⌊random × (end − start) / 2⁶⁴⌋`, to the nanosecond). A window
//!   that has already begun when first seen means renew now (the chosen time is its start).
//!   The chosen time is kept, across runs, for as long as the CA suggests the same window; a
//!   different window (e.g. moved earlier after a revocation incident) is chosen from anew.
//! - **Without one** — the CA does not offer `renewalInfo`, the certificate has no
//!   authority key identifier (so no certificate ID), the fetch failed, or the window was
//!   invalid (RFC 9773 §4.2 says to treat that as no answer) — the certificate is renewed
//!   when a fraction of its lifetime remains ([`RenewalPolicy::fallback_numerator`] /
//!   [`RenewalPolicy::fallback_denominator`], one third by default). A window learnt earlier
//!   stays in force when a later fetch fails or is invalid.
//! - An expired certificate is renewed now, whatever the CA suggested.
//! - **When to check again**: the `Retry-After` of the last `renewalInfo` answer, clamped to
//!   [`RenewalPolicy::min_check_interval`]–[`RenewalPolicy::max_check_interval`] (1 minute–1
//!   day, as RFC 9773 §4.3.1 suggests); [`RenewalPolicy::default_check_interval`] (6 hours)
//!   when it sent none, after a failed fetch, and after an invalid window. The decision is
//!   [`Renew::CheckAgain`] when that check comes before the renewal time.
//!
//! [`RenewalCheckFlow`] does the network part (directory, then `renewalInfo` when a check is
//! due) and decides; the adapters' `renew` methods run it and issue the replacement with
//! `replaces` when the answer is [`Renew::Now`].
//!
//! # State between runs
//!
//! [`RenewalState`] is what must survive a restart so that a restart neither re-rolls the
//! chosen time nor polls `renewalInfo` early. It serializes with serde; as JSON (e.g.
//! [`RenewalState::to_json`]) it is one object whose members are all optional (absent means
//! unknown) and whose times are RFC 3339 UTC timestamps with up to nine fractional digits:
//!
//! ```json
//! {
//!   "certificateId": "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
//!   "notBefore": "2025-01-01T00:00:00Z",
//!   "notAfter": "2025-04-01T00:00:00Z",
//!   "nextCheck": "2025-02-10T06:00:00Z",
//!   "window": { "start": "2025-03-01T00:00:00Z", "end": "2025-03-03T00:00:00Z" },
//!   "renewAt": "2025-03-02T07:12:31.416Z",
//!   "explanationUrl": "https://ca.example/incident/42"
//! }
//! ```
//!
//! - `certificateId`, `notBefore`, `notAfter`: the certificate the state belongs to. State
//!   for another certificate (the renewed one, say) is discarded by the next decision.
//! - `nextCheck`: when `renewalInfo` should be fetched next.
//! - `window`: the last valid suggested window; `renewAt`: the time chosen inside it.
//! - `explanationUrl`: the CA's `explanationURL` for that window, to show to a human.
//!
//! Unknown members are ignored; an empty object (or [`RenewalState::default`]) is a fresh
//! start.
//!
//! # Example
//!
//! ```
//! use acme_proto::flow::RenewalInfo;
//! use acme_proto::msgs::time::parse_rfc3339;
//! use acme_proto::renewal::{Ari, Basis, CertificateFacts, Renew, RenewalPolicy, RenewalState};
//!
//! let t = |s: &str| parse_rfc3339(s).unwrap();
//! let cert = CertificateFacts::new(t("2025-01-01T00:00:00Z"), t("2025-04-01T00:00:00Z"))
//!     .with_certificate_id("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
//! let policy = RenewalPolicy::default();
//! let mut state = RenewalState::default();
//! let now = t("2025-02-10T00:00:00Z");
//!
//! // The CA suggests 1–3 March; the random value 2^63 picks the middle of the window.
//! let info = RenewalInfo::new(t("2025-03-01T00:00:00Z"), t("2025-03-03T00:00:00Z"));
//! let decision = state.decide(&cert, now, Ari::Fetched(&info), 1 << 63, &policy);
//! assert_eq!(decision.basis, Basis::Ari);
//! // No Retry-After: check again in 6 hours, before the renewal time.
//! assert_eq!(decision.renew, Renew::CheckAgain(t("2025-02-10T06:00:00Z")));
//! assert_eq!(state.renew_at(), Some(t("2025-03-02T00:00:00Z")));
//!
//! // After a restart, the same window keeps the same time, whatever the new random value.
//! let mut state = RenewalState::from_json(&state.to_json())?;
//! let later = t("2025-03-01T12:00:00Z");
//! let decision = state.decide(&cert, later, Ari::Fetched(&info), 7, &policy);
//! assert_eq!(state.renew_at(), Some(t("2025-03-02T00:00:00Z")));
//! assert_eq!(decision.renew, Renew::CheckAgain(t("2025-03-01T18:00:00Z")));
//! # Ok::<(), acme_proto::Error>(())
//! ```

use crate::error::Error;
use crate::flow::{DirectoryFlow, Flow, Output, RenewalInfo, RenewalInfoFlow, Session};
use crate::http::{RequestId, Response, TransportError};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

/// What the decision needs to know about the certificate being renewed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateFacts {
    /// The ARI certificate ID (RFC 9773 §4.1; `acme_crypto::ari_certificate_id`), or `None`
    /// when the certificate has none (no authority key identifier): then only the fallback
    /// applies.
    pub certificate_id: Option<String>,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
}

impl CertificateFacts {
    /// A certificate valid from `not_before` to `not_after`, without a certificate ID.
    pub fn new(not_before: SystemTime, not_after: SystemTime) -> CertificateFacts {
        CertificateFacts {
            certificate_id: None,
            not_before,
            not_after,
        }
    }

    /// With this ARI certificate ID (an empty one counts as none).
    pub fn with_certificate_id(mut self, id: impl Into<String>) -> CertificateFacts {
        let id = id.into();
        self.certificate_id = (!id.is_empty()).then_some(id);
        self
    }

    /// `not_after − not_before` (zero when the validity is empty or inverted).
    pub fn lifetime(&self) -> Duration {
        self.not_after
            .duration_since(self.not_before)
            .unwrap_or_default()
    }

    /// When to renew without ARI: when `policy`'s fraction of the lifetime remains.
    pub fn fallback_renewal_time(&self, policy: &RenewalPolicy) -> SystemTime {
        let denominator = u128::from(policy.fallback_denominator.max(1));
        let numerator = u128::from(policy.fallback_numerator).min(denominator);
        let remaining = self.lifetime().as_nanos() * numerator / denominator;
        let remaining = Duration::from_nanos(u64::try_from(remaining).unwrap_or(u64::MAX));
        self.not_after
            .checked_sub(remaining)
            .unwrap_or(self.not_before)
    }
}

/// How renewal is scheduled.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenewalPolicy {
    /// Without ARI, renew when `fallback_numerator / fallback_denominator` of the lifetime
    /// remains (default 1/3: day 60 of a 90-day certificate, day 4 of a 6-day one).
    /// Values above 1 count as 1; a zero denominator as 1.
    pub fallback_numerator: u32,
    /// See [`RenewalPolicy::fallback_numerator`].
    pub fallback_denominator: u32,
    /// Shortest interval between two `renewalInfo` checks: a smaller `Retry-After` counts as
    /// this (default 1 minute).
    pub min_check_interval: Duration,
    /// Longest interval between two checks: a larger `Retry-After` counts as this (default
    /// 1 day).
    pub max_check_interval: Duration,
    /// Interval when the CA sent no `Retry-After`, after a failed fetch and after an invalid
    /// window (default 6 hours), clamped like a `Retry-After`.
    pub default_check_interval: Duration,
}

impl Default for RenewalPolicy {
    fn default() -> Self {
        RenewalPolicy {
            fallback_numerator: 1,
            fallback_denominator: 3,
            min_check_interval: Duration::from_secs(60),
            max_check_interval: Duration::from_secs(86_400),
            default_check_interval: Duration::from_secs(6 * 3600),
        }
    }
}

impl RenewalPolicy {
    /// Without ARI, renew when `numerator / denominator` of the lifetime remains.
    pub fn with_fallback_fraction(mut self, numerator: u32, denominator: u32) -> RenewalPolicy {
        self.fallback_numerator = numerator;
        self.fallback_denominator = denominator;
        self
    }

    /// `delay` clamped to the check interval bounds.
    fn clamp_interval(&self, delay: Duration) -> Duration {
        delay
            .min(self.max_check_interval)
            .max(self.min_check_interval)
    }
}

/// A valid suggested renewal window: `end` strictly after `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RenewalWindow {
    /// Start.
    #[serde(with = "rfc3339")]
    pub start: SystemTime,
    /// End (exclusive).
    #[serde(with = "rfc3339")]
    pub end: SystemTime,
}

impl RenewalWindow {
    /// The window `[start, end)`, or `None` unless `end` is after `start`.
    pub fn new(start: SystemTime, end: SystemTime) -> Option<RenewalWindow> {
        (end > start).then_some(RenewalWindow { start, end })
    }

    /// The time `⌊random × (end − start) / 2⁶⁴⌋` after the start: uniform over the window
    /// (to the nanosecond) for a uniform `random`, always before the end. Windows longer
    /// than 2⁶⁴ ns (584 years) are treated as that long.
    pub fn choose(&self, random: u64) -> SystemTime {
        let span = self.end.duration_since(self.start).unwrap_or_default();
        let span = span.as_nanos().min(u128::from(u64::MAX));
        let offset = (u128::from(random) * span) >> 64;
        // offset < span ≤ u64::MAX.
        let offset = Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX));
        self.start.checked_add(offset).unwrap_or(self.start)
    }

    /// Whether `t` lies in `[start, end)`.
    pub fn contains(&self, t: SystemTime) -> bool {
        self.start <= t && t < self.end
    }
}

/// What the caller learnt about the certificate's renewal information this time.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Ari<'a> {
    /// A fresh answer from `renewalInfo` (its window may be invalid: then it is ignored).
    Fetched(&'a RenewalInfo),
    /// Not fetched this time (no check was due): decide from the state.
    NotChecked,
    /// Fetching failed (network, the CA's error, a malformed answer): keep what the state
    /// knows and check again after [`RenewalPolicy::default_check_interval`].
    Failed,
    /// The CA has no `renewalInfo` endpoint: renew on the fallback schedule, no checks.
    NotOffered,
}

impl<'a> From<Option<&'a RenewalInfo>> for Ari<'a> {
    /// `Some` is [`Ari::Fetched`], `None` [`Ari::NotChecked`].
    fn from(info: Option<&'a RenewalInfo>) -> Ari<'a> {
        match info {
            Some(i) => Ari::Fetched(i),
            None => Ari::NotChecked,
        }
    }
}

/// What to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Renew {
    /// Renew now.
    Now,
    /// Renew at this time; no `renewalInfo` check is due before.
    At(SystemTime),
    /// Nothing to do before this time; then check `renewalInfo` and decide again.
    CheckAgain(SystemTime),
}

impl Renew {
    /// The time to act at: `None` for [`Renew::Now`].
    pub fn time(&self) -> Option<SystemTime> {
        match self {
            Renew::Now => None,
            Renew::At(t) | Renew::CheckAgain(t) => Some(*t),
        }
    }
}

/// Why the fallback schedule applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FallbackReason {
    /// The certificate has no ARI certificate ID (no authority key identifier).
    NoCertificateId,
    /// The CA does not offer `renewalInfo`.
    NotOffered,
    /// Fetching `renewalInfo` failed and no earlier window is known.
    FetchFailed,
    /// The CA's window did not end after it started, and no earlier window is known.
    InvalidWindow,
    /// No window is known yet and none was fetched this time.
    NoWindow,
}

/// What a decision was based on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Basis {
    /// The CA's suggested window ([`RenewalState::window`]).
    Ari,
    /// The lifetime fraction of [`RenewalPolicy`].
    Fallback(FallbackReason),
}

/// The answer of [`RenewalState::decide`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// What to do.
    pub renew: Renew,
    /// Why.
    pub basis: Basis,
    /// The CA's `explanationURL` for its window: a page to show to a human (e.g. about a
    /// revocation incident that moved the window).
    pub explanation_url: Option<String>,
}

/// What one certificate's renewal schedule must remember between runs; see the
/// [module docs](self) for the decision and the JSON format.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewalState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    certificate_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_opt")]
    not_before: Option<SystemTime>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_opt")]
    not_after: Option<SystemTime>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_opt")]
    next_check: Option<SystemTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    window: Option<RenewalWindow>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_opt")]
    renew_at: Option<SystemTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    explanation_url: Option<String>,
}

impl RenewalState {
    /// A fresh state (nothing known yet).
    pub fn new() -> RenewalState {
        RenewalState::default()
    }

    /// The JSON form (see the [module docs](self)).
    pub fn to_json(&self) -> String {
        // Strings, RFC 3339 text and nested objects of strings: serialization cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Read the JSON form; fails with [`Error::Usage`] on malformed JSON or timestamps, or
    /// anything but an object.
    pub fn from_json(json: &str) -> Result<RenewalState, Error> {
        let invalid = |e: serde_json::Error| Error::Usage(format!("invalid renewal state: {e}"));
        let value: serde_json::Value = serde_json::from_str(json).map_err(invalid)?;
        if !value.is_object() {
            return Err(Error::Usage(
                "invalid renewal state: not a JSON object".to_owned(),
            ));
        }
        serde_json::from_value(value).map_err(invalid)
    }

    /// The ARI certificate ID of the certificate this state belongs to.
    pub fn certificate_id(&self) -> Option<&str> {
        self.certificate_id.as_deref()
    }

    /// When `renewalInfo` should be fetched next (`None`: at once, or never without ARI).
    pub fn next_check(&self) -> Option<SystemTime> {
        self.next_check
    }

    /// The last valid window the CA suggested.
    pub fn window(&self) -> Option<RenewalWindow> {
        self.window
    }

    /// The renewal time chosen inside [`RenewalState::window`].
    pub fn renew_at(&self) -> Option<SystemTime> {
        self.renew_at
    }

    /// The CA's `explanationURL` for the window.
    pub fn explanation_url(&self) -> Option<&str> {
        self.explanation_url.as_deref()
    }

    /// Whether this state describes `cert` (else the next decision starts afresh).
    pub fn is_for(&self, cert: &CertificateFacts) -> bool {
        self.certificate_id == cert.certificate_id
            && self.not_before == Some(cert.not_before)
            && self.not_after == Some(cert.not_after)
    }

    /// Whether `renewalInfo` should be fetched now for `cert`: it has a certificate ID, has
    /// not expired, and no check was made yet or the next one is due.
    pub fn check_due(&self, cert: &CertificateFacts, now: SystemTime) -> bool {
        cert.certificate_id.is_some()
            && now < cert.not_after
            && (!self.is_for(cert) || self.next_check.is_none_or(|c| now >= c))
    }

    fn clear_ari(&mut self) {
        self.next_check = None;
        self.window = None;
        self.renew_at = None;
        self.explanation_url = None;
    }

    /// Decide, updating the state: see the [module docs](self). `random` must be uniformly
    /// random (e.g. from the operating system); it is used only when a renewal time is
    /// chosen from a new window.
    pub fn decide(
        &mut self,
        cert: &CertificateFacts,
        now: SystemTime,
        ari: Ari<'_>,
        random: u64,
        policy: &RenewalPolicy,
    ) -> Decision {
        if !self.is_for(cert) {
            *self = RenewalState {
                certificate_id: cert.certificate_id.clone(),
                not_before: Some(cert.not_before),
                not_after: Some(cert.not_after),
                ..RenewalState::default()
            };
        }
        // A state read from storage may hold anything: drop what breaks the invariants.
        if self.window.is_some_and(|w| w.end <= w.start) {
            self.window = None;
        }
        if self
            .renew_at
            .is_some_and(|t| !self.window.is_some_and(|w| w.contains(t)))
        {
            self.renew_at = None;
        }

        let after = |delay: Duration| now.checked_add(policy.clamp_interval(delay)).unwrap_or(now);
        let unusable = if cert.certificate_id.is_none() {
            self.clear_ari();
            Some(FallbackReason::NoCertificateId)
        } else {
            match ari {
                Ari::NotOffered => {
                    self.clear_ari();
                    Some(FallbackReason::NotOffered)
                }
                Ari::NotChecked => Some(FallbackReason::NoWindow),
                Ari::Failed => {
                    self.next_check = Some(after(policy.default_check_interval));
                    Some(FallbackReason::FetchFailed)
                }
                Ari::Fetched(info) => match info.window() {
                    None => {
                        self.next_check = Some(after(policy.default_check_interval));
                        Some(FallbackReason::InvalidWindow)
                    }
                    Some(window) => {
                        let delay = info.retry_after.map_or(policy.default_check_interval, |t| {
                            t.duration_since(now).unwrap_or_default()
                        });
                        self.next_check = Some(after(delay));
                        self.explanation_url = info.explanation_url.clone();
                        if self.window != Some(window) {
                            self.window = Some(window);
                            self.renew_at = None;
                        }
                        None
                    }
                },
            }
        };
        if let (Some(window), None) = (self.window, self.renew_at) {
            // A window already begun means renew now; else a uniform time inside it.
            self.renew_at = Some(if now >= window.start {
                window.start
            } else {
                window.choose(random)
            });
        }

        let (target, basis) = match self.renew_at {
            Some(t) if self.window.is_some() => (t, Basis::Ari),
            _ => (
                cert.fallback_renewal_time(policy),
                Basis::Fallback(unusable.unwrap_or(FallbackReason::NoWindow)),
            ),
        };
        let renew = if now >= target || now >= cert.not_after {
            Renew::Now
        } else {
            match self.next_check {
                Some(c) if c < target => Renew::CheckAgain(c),
                _ => Renew::At(target),
            }
        };
        Decision {
            renew,
            basis,
            explanation_url: self.explanation_url.clone(),
        }
    }
}

/// The outcome of [`RenewalCheckFlow`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenewalCheck {
    /// What to do.
    pub decision: Decision,
    /// The updated state: store it (e.g. [`RenewalState::to_json`]) before acting.
    pub state: RenewalState,
    /// The certificate ID to send as the new order's `replaces` ([`crate::flow::NewOrder`]),
    /// when the CA offers ARI and the certificate has an ID.
    pub replaces: Option<String>,
    /// Why renewal information could not be had (the directory or `renewalInfo` failed):
    /// the decision fell back or used the window known before. For logs.
    pub ari_error: Option<Error>,
}

#[derive(Debug)]
enum Stage {
    Start,
    Directory(DirectoryFlow),
    Fetch(RenewalInfoFlow),
    Finished,
}

/// Check whether a certificate is due for renewal: fetch the directory if the session has
/// none, fetch `renewalInfo` when a check is due ([`RenewalState::check_due`]), and decide
/// ([`RenewalState::decide`], with the session's [`crate::flow::Policy::renewal`]).
///
/// It never fails because of the CA: errors end up in [`RenewalCheck::ari_error`] and the
/// decision falls back.
#[must_use = "a flow does nothing until driven"]
#[derive(Debug)]
pub struct RenewalCheckFlow {
    cert: CertificateFacts,
    state: RenewalState,
    random: u64,
    stage: Stage,
    offered: bool,
    ari_error: Option<Error>,
}

impl RenewalCheckFlow {
    /// Check `cert`, whose state so far is `state`, with caller-supplied `random` (uniform;
    /// used only if a renewal time has to be chosen).
    pub fn new(cert: CertificateFacts, state: RenewalState, random: u64) -> RenewalCheckFlow {
        RenewalCheckFlow {
            cert,
            state,
            random,
            stage: Stage::Start,
            offered: false,
            ari_error: None,
        }
    }

    fn finish(&mut self, session: &Session, now: SystemTime, ari: Ari<'_>) -> Output<RenewalCheck> {
        self.stage = Stage::Finished;
        let decision =
            self.state
                .decide(&self.cert, now, ari, self.random, &session.policy.renewal);
        Output::Done(Ok(RenewalCheck {
            decision,
            state: self.state.clone(),
            replaces: self.cert.certificate_id.clone().filter(|_| self.offered),
            ari_error: self.ari_error.take(),
        }))
    }

    /// The directory is known: decide whether to fetch `renewalInfo`.
    fn after_directory(
        &mut self,
        session: &Session,
        now: SystemTime,
    ) -> Option<Output<RenewalCheck>> {
        self.offered = session
            .directory
            .as_ref()
            .is_some_and(|d| d.renewal_info.is_some());
        let id = match &self.cert.certificate_id {
            Some(id) if self.offered => id.clone(),
            Some(_) => return Some(self.finish(session, now, Ari::NotOffered)),
            None => return Some(self.finish(session, now, Ari::NotChecked)),
        };
        if !self.state.check_due(&self.cert, now) {
            return Some(self.finish(session, now, Ari::NotChecked));
        }
        self.stage = Stage::Fetch(RenewalInfoFlow::new(&id));
        None
    }
}

/// An inner flow's output other than `Done`, passed through.
fn relay<T>(out: Output<T>) -> Result<Output<RenewalCheck>, Result<T, Error>> {
    match out {
        Output::Send(r) => Ok(Output::Send(r)),
        Output::Event(e) => Ok(Output::Event(e)),
        Output::Wait(t) => Ok(Output::Wait(t)),
        Output::Idle => Ok(Output::Idle),
        Output::Done(r) => Err(r),
    }
}

impl Flow for RenewalCheckFlow {
    type Output = RenewalCheck;

    fn poll(&mut self, session: &mut Session, now: SystemTime) -> Output<RenewalCheck> {
        loop {
            match &mut self.stage {
                Stage::Start => {
                    if session.directory.is_none() {
                        self.stage = Stage::Directory(DirectoryFlow::new(session));
                    } else if let Some(out) = self.after_directory(session, now) {
                        return out;
                    }
                }
                Stage::Directory(flow) => match relay(flow.poll(session, now)) {
                    Ok(out) => return out,
                    Err(Ok(_)) => {
                        if let Some(out) = self.after_directory(session, now) {
                            return out;
                        }
                    }
                    Err(Err(e)) => {
                        self.ari_error = Some(e);
                        let ari = if self.state.check_due(&self.cert, now) {
                            Ari::Failed
                        } else {
                            Ari::NotChecked
                        };
                        return self.finish(session, now, ari);
                    }
                },
                Stage::Fetch(flow) => match relay(flow.poll(session, now)) {
                    Ok(out) => return out,
                    Err(Ok(info)) => return self.finish(session, now, Ari::Fetched(&info)),
                    Err(Err(e)) => {
                        self.ari_error = Some(e);
                        return self.finish(session, now, Ari::Failed);
                    }
                },
                Stage::Finished => {
                    return Output::Done(Err(Error::Usage("poll after the flow finished".into())));
                }
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
        match &mut self.stage {
            Stage::Directory(flow) => flow.handle_response(session, now, id, response),
            Stage::Fetch(flow) => flow.handle_response(session, now, id, response),
            Stage::Start | Stage::Finished => {}
        }
    }

    fn handle_transport_error(
        &mut self,
        session: &mut Session,
        now: SystemTime,
        id: RequestId,
        error: TransportError,
    ) {
        match &mut self.stage {
            Stage::Directory(flow) => flow.handle_transport_error(session, now, id, error),
            Stage::Fetch(flow) => flow.handle_transport_error(session, now, id, error),
            Stage::Start | Stage::Finished => {}
        }
    }
}

/// serde for a [`SystemTime`] as an RFC 3339 string.
mod rfc3339 {
    use crate::msgs::time::{format_rfc3339, parse_rfc3339};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::SystemTime;

    pub(super) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_rfc3339(*t))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 timestamp: {text:?}")))
    }
}

/// serde for an `Option<SystemTime>` as an optional RFC 3339 string.
mod rfc3339_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::SystemTime;

    pub(super) fn serialize<S: Serializer>(
        t: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::rfc3339::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super::rfc3339")] SystemTime);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::time::parse_rfc3339;

    fn t(s: &str) -> SystemTime {
        parse_rfc3339(s).unwrap()
    }

    /// SplitMix64 (Steele, Lea, Flood 2014): a seeded source for exact expectations.
    struct SplitMix64(u64);

    impl SplitMix64 {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    /// A 90-day certificate (2025-01-01 – 2025-04-01) with an ID.
    fn cert() -> CertificateFacts {
        CertificateFacts::new(t("2025-01-01T00:00:00Z"), t("2025-04-01T00:00:00Z"))
            .with_certificate_id("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE")
    }

    /// 1–3 March 2025.
    fn march() -> RenewalInfo {
        RenewalInfo::new(t("2025-03-01T00:00:00Z"), t("2025-03-03T00:00:00Z"))
    }

    #[test]
    fn splitmix64_reference_value() {
        assert_eq!(SplitMix64(0).next(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn chosen_times_for_a_seeded_source() {
        let window = march().window().unwrap();
        let mut rng = SplitMix64(42);
        let expected = [
            (0xBDD7_3226_2FEB_6E95, "2025-03-02T11:35:42.411051771Z"),
            (0x28EF_E333_B266_F103, "2025-03-01T07:40:32.515889131Z"),
            (0x4752_6757_130F_9F52, "2025-03-01T13:22:22.275308087Z"),
            (0x581C_E1FF_0E4A_E394, "2025-03-01T16:31:16.155815284Z"),
            (0x09BC_585A_2448_23F2, "2025-03-01T01:49:31.613123754Z"),
        ];
        for (random, at) in expected {
            let r = rng.next();
            assert_eq!(r, random);
            let chosen = window.choose(r);
            assert_eq!(chosen, t(at));
            assert!(window.contains(chosen));
        }
        // The extremes stay inside [start, end).
        assert_eq!(window.choose(0), t("2025-03-01T00:00:00Z"));
        assert_eq!(window.choose(1 << 63), t("2025-03-02T00:00:00Z"));
        assert_eq!(window.choose(u64::MAX), t("2025-03-02T23:59:59.999999999Z"));
        // A one-nanosecond window has one time in it.
        let tiny = RenewalWindow::new(
            t("2025-03-01T00:00:00Z"),
            t("2025-03-01T00:00:00.000000001Z"),
        )
        .unwrap();
        assert_eq!(tiny.choose(u64::MAX), tiny.start);
    }

    #[test]
    fn state_decides_with_a_seeded_source_across_runs() {
        let policy = RenewalPolicy::default();
        let mut rng = SplitMix64(42);
        let mut state = RenewalState::new();
        let now = t("2025-02-10T00:00:00Z");
        let d = state.decide(&cert(), now, Ari::Fetched(&march()), rng.next(), &policy);
        assert_eq!(state.renew_at(), Some(t("2025-03-02T11:35:42.411051771Z")));
        assert_eq!(d.renew, Renew::CheckAgain(t("2025-02-10T06:00:00Z")));
        // Each later check returns the same window: the time stays, whatever the randomness.
        for hours in [6, 12, 24 * 19] {
            let now = now + Duration::from_secs(hours * 3600);
            state.decide(&cert(), now, Ari::Fetched(&march()), rng.next(), &policy);
            assert_eq!(state.renew_at(), Some(t("2025-03-02T11:35:42.411051771Z")));
        }
    }

    #[test]
    fn window_in_the_future() {
        let policy = RenewalPolicy::default();
        let mut state = RenewalState::new();
        // Retry-After far away (clamped to a day) but the chosen time comes first: renew at it.
        let now = t("2025-03-01T00:00:00Z") - Duration::from_secs(3600);
        let info = march().with_retry_after(now + Duration::from_secs(7 * 86_400));
        let d = state.decide(&cert(), now, Ari::Fetched(&info), 1 << 62, &policy);
        assert_eq!(
            d,
            Decision {
                renew: Renew::At(t("2025-03-01T12:00:00Z")),
                basis: Basis::Ari,
                explanation_url: None,
            }
        );
        assert_eq!(state.next_check(), Some(now + Duration::from_secs(86_400)));
        assert_eq!(state.window(), march().window());
        // At the chosen time, without checking: renew.
        let d = state.decide(
            &cert(),
            t("2025-03-01T12:00:00Z"),
            Ari::NotChecked,
            0,
            &policy,
        );
        assert_eq!(d.renew, Renew::Now);
        assert_eq!(d.basis, Basis::Ari);
    }

    #[test]
    fn window_in_the_past_means_now() {
        let policy = RenewalPolicy::default();
        let mut state = RenewalState::new();
        let info = RenewalInfo::new(t("2025-01-20T00:00:00Z"), t("2025-01-21T00:00:00Z"))
            .with_explanation_url("https://ca.example/incident/42");
        let d = state.decide(
            &cert(),
            t("2025-02-01T00:00:00Z"),
            Ari::Fetched(&info),
            u64::MAX,
            &policy,
        );
        assert_eq!(
            d,
            Decision {
                renew: Renew::Now,
                basis: Basis::Ari,
                explanation_url: Some("https://ca.example/incident/42".into()),
            }
        );
        assert_eq!(
            state.explanation_url(),
            Some("https://ca.example/incident/42")
        );
    }

    #[test]
    fn window_already_begun_means_now() {
        let policy = RenewalPolicy::default();
        let mut state = RenewalState::new();
        let now = t("2025-03-01T00:00:01Z");
        let d = state.decide(&cert(), now, Ari::Fetched(&march()), u64::MAX, &policy);
        assert_eq!(d.renew, Renew::Now);
        assert_eq!(state.renew_at(), Some(t("2025-03-01T00:00:00Z")));
        // A renewal that failed is tried again on the next run: the time stays in the past.
        let d = state.decide(
            &cert(),
            now + Duration::from_secs(600),
            Ari::NotChecked,
            0,
            &policy,
        );
        assert_eq!(d.renew, Renew::Now);
    }

    #[test]
    fn a_new_window_is_chosen_from_anew() {
        let policy = RenewalPolicy::default();
        let mut state = RenewalState::new();
        let now = t("2025-02-10T00:00:00Z");
        state.decide(&cert(), now, Ari::Fetched(&march()), 1 << 63, &policy);
        assert_eq!(state.renew_at(), Some(t("2025-03-02T00:00:00Z")));
        // The CA moved the window earlier (e.g. an incident): a new time inside the new one.
        let moved = RenewalInfo::new(t("2025-02-11T00:00:00Z"), t("2025-02-12T00:00:00Z"));
        let d = state.decide(&cert(), now, Ari::Fetched(&moved), 1 << 63, &policy);
        assert_eq!(state.renew_at(), Some(t("2025-02-11T12:00:00Z")));
        assert_eq!(d.renew, Renew::CheckAgain(t("2025-02-10T06:00:00Z")));
    }

    #[test]
    fn inverted_or_empty_window_falls_back() {
        let policy = RenewalPolicy::default();
        for (start, end) in [
            ("2025-03-03T00:00:00Z", "2025-03-01T00:00:00Z"),
            ("2025-03-01T00:00:00Z", "2025-03-01T00:00:00Z"),
        ] {
            let info =
                RenewalInfo::new(t(start), t(end)).with_explanation_url("https://x.example/");
            assert_eq!(info.window(), None);
            let mut state = RenewalState::new();
            let now = t("2025-02-10T00:00:00Z");
            let d = state.decide(&cert(), now, Ari::Fetched(&info), 7, &policy);
            assert_eq!(
                d,
                Decision {
                    renew: Renew::CheckAgain(t("2025-02-10T06:00:00Z")),
                    basis: Basis::Fallback(FallbackReason::InvalidWindow),
                    explanation_url: None,
                }
            );
            assert_eq!(state.window(), None);
            // Near the fallback time (one third of 90 days left: 2025-03-02), renew at it.
            let d = state.decide(
                &cert(),
                t("2025-03-01T20:00:00Z"),
                Ari::Fetched(&info),
                7,
                &policy,
            );
            assert_eq!(d.renew, Renew::At(t("2025-03-02T00:00:00Z")));
        }
    }

    #[test]
    fn an_invalid_answer_keeps_the_window_known_before() {
        let policy = RenewalPolicy::default();
        let mut state = RenewalState::new();
        let now = t("2025-02-10T00:00:00Z");
        state.decide(&cert(), now, Ari::Fetched(&march()), 1 << 63, &policy);
        let inverted = RenewalInfo::new(t("2025-03-03T00:00:00Z"), t("2025-03-01T00:00:00Z"));
        let later = now + Duration::from_secs(6 * 3600);
        let d = state.decide(&cert(), later, Ari::Fetched(&inverted), 0, &policy);
        assert_eq!(d.basis, Basis::Ari);
        assert_eq!(state.renew_at(), Some(t("2025-03-02T00:00:00Z")));
        assert_eq!(d.renew, Renew::CheckAgain(t("2025-02-10T12:00:00Z")));
        // A failed fetch does the same.
        let d = state.decide(&cert(), later, Ari::Failed, 0, &policy);
        assert_eq!(d.basis, Basis::Ari);
        assert_eq!(state.window(), march().window());
    }

    #[test]
    fn missing_renewal_info_uses_a_third_of_the_lifetime() {
        let policy = RenewalPolicy::default();
        let mut state = RenewalState::new();
        let d = state.decide(
            &cert(),
            t("2025-02-01T00:00:00Z"),
            Ari::NotOffered,
            0,
            &policy,
        );
        // 90 days: renew with 30 days left, on 2025-03-02; no checks scheduled.
        assert_eq!(
            d,
            Decision {
                renew: Renew::At(t("2025-03-02T00:00:00Z")),
                basis: Basis::Fallback(FallbackReason::NotOffered),
                explanation_url: None,
            }
        );
        assert_eq!(state.next_check(), None);
        let d = state.decide(
            &cert(),
            t("2025-03-02T00:00:00Z"),
            Ari::NotOffered,
            0,
            &policy,
        );
        assert_eq!(d.renew, Renew::Now);

        // Without a certificate ID, whatever the caller says about ARI.
        let no_id =
            CertificateFacts::new(cert().not_before, cert().not_after).with_certificate_id("");
        assert_eq!(no_id.certificate_id, None);
        let mut state = RenewalState::new();
        let d = state.decide(
            &no_id,
            t("2025-02-01T00:00:00Z"),
            Ari::Fetched(&march()),
            0,
            &policy,
        );
        assert_eq!(d.basis, Basis::Fallback(FallbackReason::NoCertificateId));
        assert_eq!(d.renew, Renew::At(t("2025-03-02T00:00:00Z")));
        assert!(!state.check_due(&no_id, t("2025-02-01T00:00:00Z")));

        // A 6-day certificate renews with 2 days left; a configured half with 3.
        let six = CertificateFacts::new(t("2026-01-01T00:00:00Z"), t("2026-01-07T00:00:00Z"));
        assert_eq!(
            six.fallback_renewal_time(&policy),
            t("2026-01-05T00:00:00Z")
        );
        let half = RenewalPolicy::default().with_fallback_fraction(1, 2);
        assert_eq!(six.fallback_renewal_time(&half), t("2026-01-04T00:00:00Z"));
        // Odd fractions are bounded: more than the lifetime means at once, 0 at expiry.
        let all = RenewalPolicy::default().with_fallback_fraction(5, 0);
        assert_eq!(six.fallback_renewal_time(&all), six.not_before);
        let none = RenewalPolicy::default().with_fallback_fraction(0, 7);
        assert_eq!(six.fallback_renewal_time(&none), six.not_after);
    }

    #[test]
    fn failure_without_a_window_falls_back_and_checks_again() {
        let policy = RenewalPolicy::default();
        let mut state = RenewalState::new();
        let now = t("2025-02-01T00:00:00Z");
        assert!(state.check_due(&cert(), now));
        let d = state.decide(&cert(), now, Ari::Failed, 0, &policy);
        assert_eq!(d.basis, Basis::Fallback(FallbackReason::FetchFailed));
        assert_eq!(d.renew, Renew::CheckAgain(t("2025-02-01T06:00:00Z")));
        assert!(!state.check_due(&cert(), now + Duration::from_secs(3600)));
        assert!(state.check_due(&cert(), t("2025-02-01T06:00:00Z")));
        let d = state.decide(&cert(), now, Ari::NotChecked, 0, &policy);
        assert_eq!(d.basis, Basis::Fallback(FallbackReason::NoWindow));
    }

    #[test]
    fn retry_after_is_clamped() {
        let policy = RenewalPolicy::default();
        let now = t("2025-02-01T00:00:00Z");
        for (retry_after, next) in [
            (Some(Duration::from_secs(7200)), "2025-02-01T02:00:00Z"),
            (Some(Duration::from_secs(5)), "2025-02-01T00:01:00Z"),
            (Some(Duration::ZERO), "2025-02-01T00:01:00Z"),
            (
                Some(Duration::from_secs(30 * 86_400)),
                "2025-02-02T00:00:00Z",
            ),
            (None, "2025-02-01T06:00:00Z"),
        ] {
            let mut info = march();
            info.retry_after = retry_after.map(|d| now + d);
            let mut state = RenewalState::new();
            state.decide(&cert(), now, Ari::Fetched(&info), 0, &policy);
            assert_eq!(state.next_check(), Some(t(next)), "{retry_after:?}");
        }
        // A Retry-After date in the past counts as the minimum too.
        let info = march().with_retry_after(now - Duration::from_secs(3600));
        let mut state = RenewalState::new();
        state.decide(&cert(), now, Ari::Fetched(&info), 0, &policy);
        assert_eq!(state.next_check(), Some(t("2025-02-01T00:01:00Z")));
    }

    #[test]
    fn expired_certificates_renew_now_and_stop_checking() {
        let policy = RenewalPolicy::default();
        let mut state = RenewalState::new();
        let after = t("2025-04-01T00:00:00Z");
        assert!(!state.check_due(&cert(), after));
        let late = RenewalInfo::new(t("2025-05-01T00:00:00Z"), t("2025-05-02T00:00:00Z"));
        let d = state.decide(&cert(), after, Ari::Fetched(&late), 0, &policy);
        assert_eq!(d.renew, Renew::Now);
    }

    #[test]
    fn json_round_trip_and_format() {
        let policy = RenewalPolicy::default();
        let mut state = RenewalState::new();
        assert_eq!(state.to_json(), "{}");
        let info = march()
            .with_explanation_url("https://ca.example/incident/42")
            .with_retry_after(t("2025-02-10T01:00:00Z"));
        state.decide(
            &cert(),
            t("2025-02-10T00:00:00Z"),
            Ari::Fetched(&info),
            0x0123_4567_89AB_CDEF,
            &policy,
        );
        let json = state.to_json();
        assert_eq!(
            json,
            concat!(
                r#"{"certificateId":"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE","#,
                r#""notBefore":"2025-01-01T00:00:00Z","notAfter":"2025-04-01T00:00:00Z","#,
                r#""nextCheck":"2025-02-10T01:00:00Z","#,
                r#""window":{"start":"2025-03-01T00:00:00Z","end":"2025-03-03T00:00:00Z"},"#,
                r#""renewAt":"2025-03-01T00:12:47.999999999Z","#,
                r#""explanationUrl":"https://ca.example/incident/42"}"#
            )
        );
        let back = RenewalState::from_json(&json).unwrap();
        assert_eq!(back, state);
        assert_eq!(RenewalState::from_json("{}").unwrap(), RenewalState::new());
        let extra =
            RenewalState::from_json(r#"{"renewAt":"2025-03-01T00:00:00.5Z","future":1}"#).unwrap();
        assert_eq!(extra.renew_at(), Some(t("2025-03-01T00:00:00.5Z")));
        for bad in [
            "",
            "[]",
            r#"{"nextCheck":"tomorrow"}"#,
            r#"{"window":{"start":"2025-03-01T00:00:00Z"}}"#,
        ] {
            assert!(
                matches!(RenewalState::from_json(bad), Err(Error::Usage(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn stored_state_is_checked_before_use() {
        let policy = RenewalPolicy::default();
        let now = t("2025-02-10T00:00:00Z");
        // A chosen time outside its window is chosen again.
        let mut state = RenewalState::from_json(concat!(
            r#"{"certificateId":"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE","#,
            r#""notBefore":"2025-01-01T00:00:00Z","notAfter":"2025-04-01T00:00:00Z","#,
            r#""nextCheck":"2025-02-10T06:00:00Z","#,
            r#""window":{"start":"2025-03-01T00:00:00Z","end":"2025-03-03T00:00:00Z"},"#,
            r#""renewAt":"2025-01-01T00:00:00Z"}"#
        ))
        .unwrap();
        assert!(!state.check_due(&cert(), now));
        let d = state.decide(&cert(), now, Ari::NotChecked, 1 << 63, &policy);
        assert_eq!(state.renew_at(), Some(t("2025-03-02T00:00:00Z")));
        assert_eq!(d.renew, Renew::CheckAgain(t("2025-02-10T06:00:00Z")));
        // An inverted stored window is dropped.
        let mut state = RenewalState::from_json(concat!(
            r#"{"certificateId":"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE","#,
            r#""notBefore":"2025-01-01T00:00:00Z","notAfter":"2025-04-01T00:00:00Z","#,
            r#""window":{"start":"2025-03-03T00:00:00Z","end":"2025-03-01T00:00:00Z"},"#,
            r#""renewAt":"2025-03-02T00:00:00Z"}"#
        ))
        .unwrap();
        let d = state.decide(&cert(), now, Ari::NotChecked, 0, &policy);
        assert_eq!(d.basis, Basis::Fallback(FallbackReason::NoWindow));
        assert_eq!((state.window(), state.renew_at()), (None, None));
        // State of another certificate (the one renewed before) starts afresh.
        let mut other = state.clone();
        other.certificate_id = Some("other.AQ".into());
        assert!(!other.is_for(&cert()));
        assert!(other.check_due(&cert(), now));
        other.decide(&cert(), now, Ari::Fetched(&march()), 1 << 63, &policy);
        assert!(other.is_for(&cert()));
        assert_eq!(other.certificate_id(), cert().certificate_id.as_deref());
    }

    #[test]
    fn renew_time_accessor() {
        assert_eq!(Renew::Now.time(), None);
        assert_eq!(
            Renew::At(t("2025-03-01T00:00:00Z")).time(),
            Some(t("2025-03-01T00:00:00Z"))
        );
        assert_eq!(
            Renew::CheckAgain(t("2025-03-01T00:00:00Z")).time(),
            Some(t("2025-03-01T00:00:00Z"))
        );
        assert!(matches!(Ari::from(Some(&march())), Ari::Fetched(_)));
        assert!(matches!(Ari::from(None), Ari::NotChecked));
    }
}
