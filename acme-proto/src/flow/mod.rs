//! Flow state machines: each user intent (create an account, issue a certificate, revoke…)
//! is a value implementing [`Flow`], driven by the same loop.
//!
//! A flow has at most one request outstanding. Drive it with [`Flow::poll`] until it returns
//! [`Output::Done`]; perform every [`Output::Send`] and feed the result back with
//! [`Flow::handle_response`] or [`Flow::handle_transport_error`]; on [`Output::Wait`] come
//! back at that time; act on [`Output::Event`].

mod account;
mod call;
mod issue;
mod session;
mod simple;

pub use account::{Account, AccountFlow, NewAccount};
pub use issue::{
    CertificateBundle, ChallengeSelector, ChallengeToSolve, IssueFlow, NewOrder, ProfileRequest,
    Progress,
};
pub use session::{AccountCredentials, Policy, Session};
pub use simple::{
    AuthorizationFlow, ChallengeFlow, DirectoryFlow, KeyRolloverFlow, OrderFlow, OrdersListFlow,
    RenewalInfo, RenewalInfoFlow, RevocationFlow, RevocationReason,
};

use crate::error::Error;
use crate::http::{Request, RequestId, Response, TransportError};
use std::time::SystemTime;

/// What a flow wants next.
#[derive(Debug)]
#[must_use = "a flow makes progress only when its outputs are acted on"]
pub enum Output<T> {
    /// Perform this HTTP request, then feed its response (or failure) back.
    Send(Request),
    /// Something happened; [`Event::Challenges`] needs an answer before the flow can go on.
    Event(Event),
    /// Nothing to do until this time: sleep, then poll again.
    Wait(SystemTime),
    /// A request is outstanding: feed its response first.
    Idle,
    /// The flow finished.
    Done(Result<T, Error>),
}

/// Events flows report.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// Publish these challenge responses, then call [`IssueFlow::challenges_ready`].
    Challenges(Vec<ChallengeToSolve>),
    /// A step completed (for progress display and logs).
    Progress(Progress),
}

/// A sans-IO state machine for one ACME operation.
pub trait Flow {
    /// What the flow produces.
    type Output;

    /// Next action. Never blocks; `now` is the current wall-clock time.
    fn poll(&mut self, session: &mut Session, now: SystemTime) -> Output<Self::Output>;

    /// Feed the response to request `id`.
    fn handle_response(
        &mut self,
        session: &mut Session,
        now: SystemTime,
        id: RequestId,
        response: Response,
    );

    /// Report that request `id` failed without a response.
    fn handle_transport_error(
        &mut self,
        session: &mut Session,
        now: SystemTime,
        id: RequestId,
        error: TransportError,
    );
}
