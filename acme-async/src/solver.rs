//! Challenge solvers: how the client publishes what the CA validates.

use crate::http_client::BoxFuture;
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

/// Where an http-01 responder keeps the key authorizations it serves; the runtime crates'
/// `Http01Responder`s implement it.
pub trait TokenStore: Send + Sync {
    /// Serve `key_authorization` for `token`.
    fn insert_token(&self, token: &str, key_authorization: &str);
    /// Stop serving `token`.
    fn remove_token(&self, token: &str);
}

/// Solves http-01 by publishing into a [`TokenStore`] (an `Http01Responder` you serve
/// yourself, or with its `serve`).
#[derive(Clone, Debug, Default)]
pub struct Http01Solver<S> {
    store: S,
}

impl<S: TokenStore> Http01Solver<S> {
    /// A solver publishing into `store`.
    pub fn new(store: S) -> Self {
        Http01Solver { store }
    }

    /// The store (the responder to serve or mount).
    pub fn responder(&self) -> &S {
        &self.store
    }
}

impl<S: TokenStore> Solver for Http01Solver<S> {
    fn challenge_types(&self) -> Vec<ChallengeType> {
        vec![ChallengeType::Http01]
    }

    fn present<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        self.store.insert_token(c.token(), &c.key_authorization);
        Box::pin(async { Ok(()) })
    }

    fn cleanup<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        self.store.remove_token(c.token());
        Box::pin(async { Ok(()) })
    }
}
