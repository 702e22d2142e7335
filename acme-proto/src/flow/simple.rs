//! Flows made of one call, or of a chain of calls each decided by the previous reply:
//! directory, account operations, key rollover, revocation, orders list, single orders,
//! authorizations and challenges, renewal information.

use super::call::{Auth, Call, DirUrl, Reply, Target};
use super::{Flow, Output, Session};
use crate::error::Error;
use crate::http::{Endpoint, RequestId, Response, TransportError};
use crate::msgs::headers;
use crate::msgs::identifier::Identifier;
use crate::msgs::jws::{self, KeyRef};
use crate::msgs::problem::ProblemType;
use crate::msgs::resources::{
    AuthorizationResource, ChallengeResource, Directory, OrderResource, OrdersList,
    RenewalInfoResource,
};
use crate::msgs::time::parse_rfc3339;
use crate::signer::Signer;
use serde_json::json;
use std::sync::Arc;
use std::time::SystemTime;

/// What to do after a reply: finish, or make another call.
pub(crate) enum Next<T> {
    Done(Result<T, Error>),
    Call(Call),
}

/// The reply handler; its last argument says whether an earlier attempt of the call may have
/// been acted on by the server although its answer was lost ([`Call::maybe_applied`]).
type OnReply<T> =
    Box<dyn FnMut(&mut Session, SystemTime, Result<Reply, Error>, bool) -> Next<T> + Send + Sync>;

/// A chain of calls; the reply handler decides whether another call follows.
pub(crate) struct Chain<T> {
    call: Option<Call>,
    on_reply: OnReply<T>,
    done: Option<Result<T, Error>>,
    finished: bool,
}

impl<T> Chain<T> {
    pub(crate) fn new(
        call: Call,
        on_reply: impl FnMut(&mut Session, SystemTime, Result<Reply, Error>) -> Next<T>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        let mut on_reply = on_reply;
        Self::reconciling(call, move |session, now, r, _| on_reply(session, now, r))
    }

    /// A chain whose handler also learns whether a failed non-idempotent request may have
    /// taken effect before its answer was lost, to tell "already done" from "refused".
    pub(crate) fn reconciling(
        call: Call,
        on_reply: impl FnMut(&mut Session, SystemTime, Result<Reply, Error>, bool) -> Next<T>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Chain {
            call: Some(call),
            on_reply: Box::new(on_reply),
            done: None,
            finished: false,
        }
    }

    fn settle(&mut self, session: &mut Session, now: SystemTime, r: Result<Reply, Error>) {
        let maybe_applied = self.call.as_ref().is_some_and(Call::maybe_applied);
        match (self.on_reply)(session, now, r, maybe_applied) {
            Next::Done(d) => {
                self.call = None;
                self.done = Some(d);
            }
            Next::Call(c) => self.call = Some(c),
        }
    }
}

impl<T> Flow for Chain<T> {
    type Output = T;

    fn poll(&mut self, session: &mut Session, now: SystemTime) -> Output<T> {
        loop {
            if let Some(d) = self.done.take() {
                self.finished = true;
                return Output::Done(d);
            }
            let Some(call) = self.call.as_mut() else {
                let msg = if self.finished {
                    "poll after the flow finished"
                } else {
                    "flow has no call"
                };
                return Output::Done(Err(Error::Usage(msg.into())));
            };
            match call.poll(session, now) {
                super::call::Step::Send(r) => return Output::Send(r),
                super::call::Step::Wait(t) => return Output::Wait(t),
                super::call::Step::Idle => return Output::Idle,
                super::call::Step::Done(r) => self.settle(session, now, r),
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
            self.settle(session, now, r);
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
            self.settle(session, now, r);
        }
    }
}

/// Defines a public flow type wrapping a [`Chain`].
macro_rules! chain_flow {
    ($(#[$meta:meta])* $name:ident => $out:ty) => {
        $(#[$meta])*
        #[must_use = "a flow does nothing until driven"]
        pub struct $name(pub(crate) Chain<$out>);

        impl Flow for $name {
            type Output = $out;
            fn poll(&mut self, session: &mut Session, now: SystemTime) -> Output<$out> {
                self.0.poll(session, now)
            }
            fn handle_response(&mut self, session: &mut Session, now: SystemTime, id: RequestId, response: Response) {
                self.0.handle_response(session, now, id, response)
            }
            fn handle_transport_error(&mut self, session: &mut Session, now: SystemTime, id: RequestId, error: TransportError) {
                self.0.handle_transport_error(session, now, id, error)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($name))
            }
        }
    };
}
pub(crate) use chain_flow;

fn json_payload(v: serde_json::Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

chain_flow! {
    /// Fetch the directory (any flow fetches it on first need; this makes it explicit, e.g. to
    /// show the terms of service before creating an account).
    DirectoryFlow => Directory
}

impl DirectoryFlow {
    /// `GET` the session's directory URL (redirects allowed for this request only).
    pub fn new(session: &Session) -> DirectoryFlow {
        let call = Call::get_directory(session.directory_url.clone());
        DirectoryFlow(Chain::new(call, |session, _, r| {
            Next::Done(r.and_then(|reply| {
                let d: Directory = reply.json("directory")?;
                session.directory = Some(d.clone());
                Ok(d)
            }))
        }))
    }
}

chain_flow! {
    /// Fetch an order (POST-as-GET).
    OrderFlow => OrderResource
}

impl OrderFlow {
    /// POST-as-GET the order at `url`.
    pub fn fetch(url: impl Into<String>) -> OrderFlow {
        OrderFlow(Chain::new(
            Call::post_as_get(Endpoint::Order, url.into()),
            |_, _, r| Next::Done(r.and_then(|reply| reply.json("order"))),
        ))
    }
}

chain_flow! {
    /// Fetch, create (pre-authorization) or deactivate an authorization.
    AuthorizationFlow => (String, AuthorizationResource)
}

impl AuthorizationFlow {
    /// POST-as-GET the authorization at `url`.
    pub fn fetch(url: impl Into<String>) -> AuthorizationFlow {
        let url = url.into();
        let u = url.clone();
        AuthorizationFlow(Chain::new(
            Call::post_as_get(Endpoint::Authorization, url),
            move |_, _, r| {
                Next::Done(r.and_then(|reply| Ok((u.clone(), reply.json("authorization")?))))
            },
        ))
    }

    /// Deactivate the authorization at `url` (RFC 8555 §7.5.2).
    pub fn deactivate(url: impl Into<String>) -> AuthorizationFlow {
        let url = url.into();
        let u = url.clone();
        let call = Call::post_kid(
            Endpoint::Authorization,
            Target::Url(url),
            json_payload(json!({"status": "deactivated"})),
        );
        AuthorizationFlow(Chain::new(call, move |_, _, r| {
            Next::Done(r.and_then(|reply| Ok((u.clone(), reply.json("authorization")?))))
        }))
    }

    /// Pre-authorize an identifier through `newAuthz` (RFC 8555 §7.4.1); fails with
    /// [`Error::Usage`] when the directory has no `newAuthz`.
    pub fn new_authz(identifier: &Identifier) -> AuthorizationFlow {
        let payload = json_payload(json!({ "identifier": identifier }));
        let call = Call::post_kid(Endpoint::NewAuthz, Target::Dir(DirUrl::NewAuthz), payload);
        AuthorizationFlow(Chain::new(call, |_, _, r| {
            Next::Done(r.and_then(|reply| {
                let url = reply.location().ok_or_else(|| {
                    Error::protocol(
                        &reply.url,
                        reply.status,
                        "newAuthz response has no Location header",
                        &reply.body,
                    )
                })?;
                Ok((url, reply.json("authorization")?))
            }))
        }))
    }
}

chain_flow! {
    /// Respond to one challenge (RFC 8555 §7.5.1): the step of issuance that tells the CA to
    /// validate, on its own — for pre-authorization (a `newAuthz` authorization), where no
    /// order drives it.
    ChallengeFlow => ChallengeResource
}

impl ChallengeFlow {
    /// `POST {}` to the challenge at `url` (publish its response first); returns the
    /// challenge as the CA answered (usually `processing`). Poll the authorization
    /// ([`AuthorizationFlow::fetch`]) to see the outcome.
    pub fn respond(url: impl Into<String>) -> ChallengeFlow {
        let call = Call::post_kid(Endpoint::Challenge, Target::Url(url.into()), b"{}".to_vec());
        ChallengeFlow(Chain::new(call, |_, _, r| {
            Next::Done(r.and_then(|reply| reply.json("challenge")))
        }))
    }
}

chain_flow! {
    /// List an account's orders, following `Link: rel="next"` pages: at most 100 pages and
    /// 10 000 orders; a list that goes on beyond is [`Error::Protocol`], never a silently
    /// short answer. A `next` link back to a page already read ends the list.
    OrdersListFlow => Vec<String>
}

/// Most pages followed; a server whose `next` links loop is stopped here.
const MAX_ORDER_PAGES: usize = 100;
/// Most order URLs collected.
const MAX_ORDERS: usize = 10_000;

impl OrdersListFlow {
    /// Fetch every page of the orders list at `orders_url` (the account's `orders`).
    pub fn new(orders_url: impl Into<String>) -> OrdersListFlow {
        let mut all = Vec::new();
        let mut pages = 0usize;
        let mut seen = std::collections::HashSet::new();
        let url = orders_url.into();
        seen.insert(url.clone());
        OrdersListFlow(Chain::new(
            Call::post_as_get(Endpoint::OrdersList, url),
            move |_, _, r| {
                let reply = match r {
                    Ok(r) => r,
                    Err(e) => return Next::Done(Err(e)),
                };
                let page: OrdersList = match reply.json("orders list") {
                    Ok(p) => p,
                    Err(e) => return Next::Done(Err(e)),
                };
                pages += 1;
                let room = MAX_ORDERS.saturating_sub(all.len());
                all.extend(page.orders.into_iter().take(room));
                let next = headers::links_with_rel(&reply.headers, &reply.url, "next")
                    .into_iter()
                    .next();
                match next {
                    // A link back to a page already read: every order has been seen.
                    Some(n) if seen.contains(&n) => Next::Done(Ok(std::mem::take(&mut all))),
                    // A list that never ends is an error, not a silently short answer.
                    Some(_) if pages >= MAX_ORDER_PAGES || all.len() >= MAX_ORDERS => {
                        Next::Done(Err(Error::protocol(
                            &reply.url,
                            reply.status,
                            format!(
                                "the orders list still goes on after {pages} pages (order URLs read: {})",
                                all.len()
                            ),
                            b"",
                        )))
                    }
                    Some(n) => {
                        seen.insert(n.clone());
                        Next::Call(Call::post_as_get(Endpoint::OrdersList, n))
                    }
                    None => Next::Done(Ok(std::mem::take(&mut all))),
                }
            },
        ))
    }
}

/// Revocation reason codes (RFC 5280 §5.3.1) accepted by ACME.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationReason {
    /// 0
    Unspecified,
    /// 1
    KeyCompromise,
    /// 3
    AffiliationChanged,
    /// 4
    Superseded,
    /// 5
    CessationOfOperation,
    /// Any other code (the CA decides whether it accepts it).
    Other(u8),
}

impl RevocationReason {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            RevocationReason::Unspecified => 0,
            RevocationReason::KeyCompromise => 1,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
            RevocationReason::Other(c) => c,
        }
    }
}

chain_flow! {
    /// Revoke a certificate (RFC 8555 §7.6). `alreadyRevoked` comes back as
    /// [`Error::Server`] with that problem type; callers may treat it as done. When it answers
    /// a retry whose first attempt's answer was lost, the revocation was ours: success.
    RevocationFlow => ()
}

impl RevocationFlow {
    fn build(cert_der: &[u8], reason: Option<RevocationReason>, auth: Auth) -> RevocationFlow {
        let mut payload = json!({ "certificate": jws::b64(cert_der) });
        if let Some(r) = reason {
            payload["reason"] = json!(r.code());
        }
        let payload = json_payload(payload);
        let call = Call::post(
            Endpoint::RevokeCert,
            Target::Dir(DirUrl::RevokeCert),
            auth,
            Box::new(move |_, _| Ok(payload.clone())),
        );
        RevocationFlow(Chain::reconciling(call, |_, _, r, maybe_applied| {
            Next::Done(match r {
                // Our own first attempt revoked it; only its answer was lost.
                Err(e)
                    if maybe_applied && e.problem_type() == Some(&ProblemType::AlreadyRevoked) =>
                {
                    Ok(())
                }
                r => r.map(|_| ()),
            })
        }))
    }

    /// Revoke, signed by the account key (`kid`).
    pub fn by_account(cert_der: &[u8], reason: Option<RevocationReason>) -> RevocationFlow {
        Self::build(cert_der, reason, Auth::Account)
    }

    /// Revoke, signed by the certificate's own key (`jwk`); no account needed.
    pub fn by_certificate_key(
        cert_der: &[u8],
        key: Arc<dyn Signer>,
        reason: Option<RevocationReason>,
    ) -> RevocationFlow {
        Self::build(cert_der, reason, Auth::Jwk(key))
    }
}

chain_flow! {
    /// Roll the account over to a new key (RFC 8555 §7.3.5). On success the session signs
    /// with the new key. If a retry fails after an attempt whose answer was lost, one
    /// POST-as-GET signed by the new key tells whether that attempt took effect.
    KeyRolloverFlow => ()
}

impl KeyRolloverFlow {
    /// Replace the session's account key by `new_key`.
    pub fn new(new_key: Arc<dyn Signer>) -> KeyRolloverFlow {
        let nk = new_key.clone();
        let payload = Box::new(move |session: &Session, url: &str| {
            let acct = session.account.as_ref().ok_or_else(|| {
                Error::Usage(
                    "key rollover needs an account: create, find or restore one first".into(),
                )
            })?;
            let inner_payload =
                json!({ "account": acct.url, "oldKey": acct.key.jwk().to_json_value() });
            // The inner JWS: signed by the new key, `jwk` header, same `url`, no nonce.
            Ok(jws::sign(
                &*nk,
                KeyRef::Jwk,
                None,
                url,
                inner_payload.to_string().as_bytes(),
            )?)
        });
        let call = Call::post(
            Endpoint::KeyChange,
            Target::Dir(DirUrl::KeyChange),
            Auth::Account,
            payload,
        );
        // Set while checking, with the new key, whether a lost first attempt went through:
        // the old key and the error the retry met.
        let mut checking: Option<(Arc<dyn Signer>, Error)> = None;
        KeyRolloverFlow(Chain::reconciling(
            call,
            move |session, _, r, maybe_applied| {
                let Some(acct) = session.account.as_mut() else {
                    return Next::Done(Err(Error::Usage("the session lost its account".into())));
                };
                if let Some((old_key, refusal)) = checking.take() {
                    return Next::Done(match r {
                        Ok(_) => Ok(()),
                        Err(_) => {
                            acct.key = old_key;
                            Err(refusal)
                        }
                    });
                }
                match r {
                    Ok(_) => {
                        acct.key = new_key.clone();
                        Next::Done(Ok(()))
                    }
                    // The retry was signed with the old key, which the CA no longer knows if
                    // the first attempt went through: ask with the new key.
                    Err(e) if maybe_applied => {
                        let old_key = std::mem::replace(&mut acct.key, new_key.clone());
                        checking = Some((old_key, e));
                        Next::Call(Call::post_as_get(Endpoint::Account, acct.url.clone()))
                    }
                    Err(e) => Next::Done(Err(e)),
                }
            },
        ))
    }
}

/// Renewal information for one certificate (RFC 9773), as the CA sent it.
///
/// The window is not validated here: a window whose end is not after its start is invalid
/// (RFC 9773 §4.2) and [`RenewalInfo::window`] is then `None`, so that the renewal decision
/// ([`crate::renewal`]) falls back instead of failing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenewalInfo {
    /// Start of the suggested window.
    pub window_start: SystemTime,
    /// End of the suggested window (valid only when after the start).
    pub window_end: SystemTime,
    /// A page explaining the suggestion (`explanationURL`), to show to a human.
    pub explanation_url: Option<String>,
    /// When to check again (from `Retry-After`, as an absolute time), if the server said.
    pub retry_after: Option<SystemTime>,
}

impl RenewalInfo {
    /// Renewal information suggesting `[window_start, window_end)`, with no explanation and
    /// no `Retry-After` (e.g. renewal information obtained elsewhere, or for tests).
    pub fn new(window_start: SystemTime, window_end: SystemTime) -> RenewalInfo {
        RenewalInfo {
            window_start,
            window_end,
            explanation_url: None,
            retry_after: None,
        }
    }

    /// With this `explanationURL`.
    pub fn with_explanation_url(mut self, url: impl Into<String>) -> RenewalInfo {
        self.explanation_url = Some(url.into());
        self
    }

    /// With this `Retry-After` time.
    pub fn with_retry_after(mut self, at: SystemTime) -> RenewalInfo {
        self.retry_after = Some(at);
        self
    }

    /// The suggested window, if valid (its end after its start).
    pub fn window(&self) -> Option<crate::renewal::RenewalWindow> {
        crate::renewal::RenewalWindow::new(self.window_start, self.window_end)
    }
}

chain_flow! {
    /// Fetch renewal information (RFC 9773 §4.2; unauthenticated GET).
    RenewalInfoFlow => RenewalInfo
}

impl RenewalInfoFlow {
    /// GET `{renewalInfo}/{cert_id}`; fails with [`Error::Usage`] when the directory has no
    /// `renewalInfo`, and with [`Error::Protocol`] when the answer is not a renewalInfo
    /// object or a window bound is not an RFC 3339 timestamp. An inverted window is returned
    /// as is (see [`RenewalInfo::window`]).
    pub fn new(cert_id: &str) -> RenewalInfoFlow {
        let call = Call::get_target(
            Endpoint::RenewalInfo,
            Target::DirPath(DirUrl::RenewalInfo, cert_id.to_owned()),
        );
        RenewalInfoFlow(Chain::new(call, |_, now, r| {
            Next::Done(r.and_then(|reply| {
                let info: RenewalInfoResource = reply.json("renewalInfo")?;
                let bad = |what: &str| {
                    Error::protocol(&reply.url, reply.status, what.to_owned(), &reply.body)
                };
                let start = parse_rfc3339(&info.suggested_window.start)
                    .ok_or_else(|| bad("suggestedWindow.start is not an RFC 3339 timestamp"))?;
                let end = parse_rfc3339(&info.suggested_window.end)
                    .ok_or_else(|| bad("suggestedWindow.end is not an RFC 3339 timestamp"))?;
                Ok(RenewalInfo {
                    window_start: start,
                    window_end: end,
                    explanation_url: info.explanation_url,
                    retry_after: headers::retry_after(&reply.headers, now),
                })
            }))
        }))
    }
}
