//! Challenge solvers: how the client publishes what the CA validates.

use crate::http01::Http01Responder;
pub use acme_async::solver::{Solver, SolverError, TokenStore};

/// Solves http-01 with an [`Http01Responder`] (serve it yourself, or with
/// [`Http01Responder::serve`]).
pub type Http01Solver = acme_async::Http01Solver<Http01Responder>;

impl TokenStore for Http01Responder {
    fn insert_token(&self, token: &str, key_authorization: &str) {
        self.insert(token, key_authorization);
    }

    fn remove_token(&self, token: &str) {
        self.remove(token);
    }
}
