//! [`MultiSolver`]: several solvers behind one, chosen by challenge type.

use crate::http_client::BoxFuture;
use crate::solver::{Solver, SolverError};
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

    fn present<'a>(
        &'a self,
        challenge: &'a ChallengeToSolve,
    ) -> BoxFuture<'a, Result<(), SolverError>> {
        match self.solver_for(challenge.kind()) {
            Ok(solver) => solver.present(challenge),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }

    fn cleanup<'a>(
        &'a self,
        challenge: &'a ChallengeToSolve,
    ) -> BoxFuture<'a, Result<(), SolverError>> {
        match self.solver_for(challenge.kind()) {
            Ok(solver) => solver.cleanup(challenge),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }

    fn selector(&self) -> ChallengeSelector {
        self.table.selector()
    }
}

/// The solver list and per-identifier preferences behind [`MultiSolver`] and acme-blocking's
/// `MultiSolver` (which holds blocking solvers): which solver takes a challenge type, which
/// types there are, the selection they imply. Not a stable API.
#[doc(hidden)]
pub struct SolverTable<S: ?Sized> {
    solvers: Vec<Box<S>>,
    per_identifier: Vec<(Identifier, Vec<ChallengeType>)>,
    types_of: fn(&S) -> Vec<ChallengeType>,
}

impl<S: ?Sized> SolverTable<S> {
    /// No solvers yet; `types_of` names the challenge types a solver handles.
    pub fn new(types_of: fn(&S) -> Vec<ChallengeType>) -> Self {
        SolverTable {
            solvers: Vec::new(),
            per_identifier: Vec::new(),
            types_of,
        }
    }

    /// Adds a solver after the others.
    pub fn push(&mut self, solver: Box<S>) {
        self.solvers.push(solver);
    }

    /// Sets the preference for `identifier`, replacing an earlier one.
    pub fn prefer(&mut self, identifier: Identifier, preference: Vec<ChallengeType>) {
        self.per_identifier.retain(|(id, _)| id != &identifier);
        self.per_identifier.push((identifier, preference));
    }

    /// The first solver handling `kind`.
    pub fn solver_for(&self, kind: &ChallengeType) -> Result<&S, SolverError> {
        self.solvers
            .iter()
            .find(|s| (self.types_of)(s).contains(kind))
            .map(|s| s.as_ref())
            .ok_or_else(|| format!("no solver handles {kind} challenges").into())
    }

    /// Every type of every solver, in order, once.
    pub fn challenge_types(&self) -> Vec<ChallengeType> {
        let mut types: Vec<ChallengeType> = Vec::new();
        for t in self.solvers.iter().flat_map(|s| (self.types_of)(s)) {
            if !types.contains(&t) {
                types.push(t);
            }
        }
        types
    }

    /// The selection: [`challenge_types`](Self::challenge_types), with the per-identifier
    /// preferences.
    pub fn selector(&self) -> ChallengeSelector {
        let mut selector = ChallengeSelector::new(self.challenge_types());
        for (id, prefs) in &self.per_identifier {
            selector = selector.with_identifier(id.clone(), prefs.clone());
        }
        selector
    }
}

impl<S: ?Sized> std::fmt::Debug for SolverTable<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiSolver")
            .field("types", &self.challenge_types())
            .field("per_identifier", &self.per_identifier)
            .finish()
    }
}
