//! [`TlsAlpn01Solver`]: tls-alpn-01 (RFC 8737) through a rustls certificate resolver.

use crate::http_client::BoxFuture;
use crate::solver::{Solver, SolverError};
use acme_crypto::TlsAlpn01Resolver;
use acme_proto::flow::ChallengeToSolve;
use acme_proto::msgs::resources::ChallengeType;

/// Solves tls-alpn-01 by publishing challenge certificates into a [`TlsAlpn01Resolver`]:
/// the runtime crates' `TlsAlpn01Responder` (served with its `serve`), or a resolver you
/// compose into your own rustls server.
#[derive(Clone, Debug, Default)]
pub struct TlsAlpn01Solver<R = TlsAlpn01Resolver> {
    responder: R,
}

impl<R: AsRef<TlsAlpn01Resolver> + Send + Sync> TlsAlpn01Solver<R> {
    /// A solver publishing into `responder`.
    pub fn new(responder: R) -> Self {
        TlsAlpn01Solver { responder }
    }

    /// The responder (to serve, or to take the resolver from).
    pub fn responder(&self) -> &R {
        &self.responder
    }
}

impl<R: AsRef<TlsAlpn01Resolver> + Send + Sync> Solver for TlsAlpn01Solver<R> {
    fn challenge_types(&self) -> Vec<ChallengeType> {
        vec![ChallengeType::TlsAlpn01]
    }

    fn present<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        let result = self
            .responder
            .as_ref()
            .insert_challenge(c)
            .map_err(SolverError::from);
        Box::pin(async move { result })
    }

    fn cleanup<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        self.responder.as_ref().remove_challenge(c);
        Box::pin(async { Ok(()) })
    }
}
