//! Renewal: the ACME Renewal Information check (RFC 9773) and the replacement order.

use crate::Error;
use crate::client::{Client, IssuedCertificate};
use crate::solver::Solver;
use acme_proto::flow::NewOrder;
use acme_proto::msgs::identifier::Identifier;
use acme_proto::renewal::{Decision, Renew, RenewalCheck, RenewalCheckFlow, RenewalState};
use std::time::SystemTime;
use tracing::{info, warn};

/// The outcome of [`Client::renew`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Renewal {
    /// The replacement was issued (with `replaces` naming the old certificate when the CA
    /// offers ARI). Install it; the state was reset for it.
    Renewed(Box<IssuedCertificate>),
    /// Not due: call again at `at` (store the state first).
    NotYet {
        /// When to call again: the renewal time, or the next `renewalInfo` check.
        at: SystemTime,
        /// The decision, with its basis and the CA's `explanationURL`.
        decision: Decision,
    },
}

impl Client {
    /// Check whether `certificate` (PEM chain, leaf first, or DER) is due for renewal:
    /// fetch `renewalInfo` when a check is due, and decide (see [`acme_proto::renewal`]).
    /// `state` is updated in place: store it between runs.
    pub fn check_renewal(
        &self,
        certificate: &[u8],
        state: &mut RenewalState,
    ) -> Result<RenewalCheck, Error> {
        let facts = acme_crypto::renewal_facts(certificate)?;
        let random = acme_crypto::random_u64()?;
        let flow = RenewalCheckFlow::new(facts, state.clone(), random);
        let check = self.run(flow)?;
        *state = check.state.clone();
        if let Some(e) = &check.ari_error {
            warn!(error = %e, "renewal information unavailable; using the fallback schedule");
        }
        if let Some(url) = &check.decision.explanation_url {
            info!(explanation = %url, "the CA explains its renewal window");
        }
        Ok(check)
    }

    /// Renew `certificate` (PEM chain or DER) for `identifiers` when it is due, solving
    /// challenges with `solver`: the ARI check of [`Client::check_renewal`], then, when due,
    /// an order naming the old certificate in `replaces` and a fresh ECDSA P-256 key.
    ///
    /// `state` is updated in place, also when issuance fails: store it after every call so
    /// that a restart keeps the chosen renewal time. On an error, retry after a back-off
    /// (or the CA's [`acme_proto::Error::retry_after`]).
    pub fn renew(
        &self,
        certificate: &[u8],
        identifiers: &[&str],
        solver: &dyn Solver,
        state: &mut RenewalState,
    ) -> Result<Renewal, Error> {
        let ids = identifiers
            .iter()
            .map(|t| acme_crypto::identifier(t))
            .collect::<Result<Vec<Identifier>, _>>()?;
        self.renew_order(certificate, NewOrder::new(ids), solver, state)
    }

    /// [`Client::renew`] with an order built by the caller (e.g. with a certificate profile,
    /// [`NewOrder::with_profile`]); its `replaces` is set from the ARI check.
    pub fn renew_order(
        &self,
        certificate: &[u8],
        mut order: NewOrder,
        solver: &dyn Solver,
        state: &mut RenewalState,
    ) -> Result<Renewal, Error> {
        let check = self.check_renewal(certificate, state)?;
        if let Some(at) = check.decision.renew.time() {
            return Ok(Renewal::NotYet {
                at,
                decision: check.decision,
            });
        }
        debug_assert_eq!(check.decision.renew, Renew::Now);
        order.replaces = check.replaces;
        let issued = self.issue_order(order, solver, None)?;
        *state = RenewalState::new();
        Ok(Renewal::Renewed(Box::new(issued)))
    }
}
