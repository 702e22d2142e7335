//! [`MultiSolver`]: several solvers behind one, chosen by challenge type.

use crate::solver::{Solver, SolverError};
use acme_async::multi::SolverTable;
use acme_proto::flow::{ChallengeSelector, ChallengeToSolve};
use acme_proto::msgs::identifier::Identifier;
use acme_proto::msgs::resources::ChallengeType;

/// Combines solvers for different challenge types, so one order can mix them: a wildcard by
/// dns-01, a name by tls-alpn-01, the rest by http-01.
///
/// Each challenge goes to the first solver (in the order they were added) that handles its
/// type. The default preference is every type of every solver, in that order;
/// [`MultiSolver::prefer`] sets another for one identifier. [`Solver::selector`] carries both,
/// so [`Client::issue`](crate::Client::issue) follows them.
pub struct MultiSolver {
    table: SolverTable<dyn Solver>,
}

impl Default for MultiSolver {
    fn default() -> Self {
        MultiSolver {
            table: SolverTable::new(|s| s.challenge_types()),
        }
    }
}

impl std::fmt::Debug for MultiSolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.table.fmt(f)
    }
}

impl MultiSolver {
    /// No solvers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a solver; it handles the types it names that no earlier solver does.
    pub fn with(mut self, solver: impl Solver + 'static) -> Self {
        self.table.push(Box::new(solver));
        self
    }

    /// Use `preference` (most preferred first) for `identifier` (as in the order: wildcards
    /// with `*.`, IDNs as A-labels — build it with `acme_crypto::identifier`).
    pub fn prefer(mut self, identifier: Identifier, preference: Vec<ChallengeType>) -> Self {
        self.table.prefer(identifier, preference);
        self
    }

    fn solver_for(&self, kind: &ChallengeType) -> Result<&dyn Solver, SolverError> {
        self.table.solver_for(kind)
    }
}

impl Solver for MultiSolver {
    fn challenge_types(&self) -> Vec<ChallengeType> {
        self.table.challenge_types()
    }

    fn present(&self, challenge: &ChallengeToSolve) -> Result<(), SolverError> {
        self.solver_for(challenge.kind())?.present(challenge)
    }

    fn cleanup(&self, challenge: &ChallengeToSolve) -> Result<(), SolverError> {
        self.solver_for(challenge.kind())?.cleanup(challenge)
    }

    fn selector(&self) -> ChallengeSelector {
        self.table.selector()
    }
}
