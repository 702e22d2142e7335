//! Challenge solvers: how the client publishes what the CA validates.

use crate::http_client::BoxFuture;
use crate::http01::Http01Responder;
use acme_proto::flow::{ChallengeSelector, ChallengeToSolve};
use acme_proto::msgs::resources::ChallengeType;

/// The error a solver reports.
pub type SolverError = Box<dyn std::error::Error + Send + Sync>;

/// Publishes challenge responses and removes them afterwards.
pub trait Solver: Send + Sync {
    /// The challenge types this solver handles, most preferred first.
    fn challenge_types(&self) -> Vec<ChallengeType>;

    /// Publish the response to `challenge` (serve the file, create the TXT record, …).
    fn present<'a>(
        &'a self,
        challenge: &'a ChallengeToSolve,
    ) -> BoxFuture<'a, Result<(), SolverError>>;

    /// Remove what [`Solver::present`] published. Called for every presented challenge,
    /// whatever the outcome.
    fn cleanup<'a>(
        &'a self,
        challenge: &'a ChallengeToSolve,
    ) -> BoxFuture<'a, Result<(), SolverError>>;

    /// The challenge selection this solver implies.
    fn selector(&self) -> ChallengeSelector {
        ChallengeSelector::new(self.challenge_types())
    }
}

/// Solves http-01 with an [`Http01Responder`] (serve it yourself, or with
/// [`Http01Responder::serve`]).
#[derive(Clone, Debug, Default)]
pub struct Http01Solver {
    responder: Http01Responder,
}

impl Http01Solver {
    /// A solver publishing into `responder`.
    pub fn new(responder: Http01Responder) -> Http01Solver {
        Http01Solver { responder }
    }

    /// The responder (to serve or mount).
    pub fn responder(&self) -> &Http01Responder {
        &self.responder
    }
}

impl Solver for Http01Solver {
    fn challenge_types(&self) -> Vec<ChallengeType> {
        vec![ChallengeType::Http01]
    }

    fn present<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        self.responder
            .insert(c.token(), c.key_authorization.clone());
        Box::pin(async { Ok(()) })
    }

    fn cleanup<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        self.responder.remove(c.token());
        Box::pin(async { Ok(()) })
    }
}
