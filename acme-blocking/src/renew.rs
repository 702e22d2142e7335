//! Renewal: the ACME Renewal Information check (RFC 9773) and the replacement order.

use crate::Error;
use crate::client::Client;
use crate::runtime::{AsyncSolver, block_on};
use crate::solver::Solver;
use acme_async::Renewal;
use acme_proto::flow::NewOrder;
use acme_proto::renewal::{RenewalCheck, RenewalState};

impl Client {
    /// Check whether `certificate` (PEM chain, leaf first, or DER) is due for renewal:
    /// fetch `renewalInfo` when a check is due, and decide (see [`acme_proto::renewal`]).
    /// `state` is updated in place: store it between runs.
    pub fn check_renewal(
        &self,
        certificate: &[u8],
        state: &mut RenewalState,
    ) -> Result<RenewalCheck, Error> {
        block_on(self.inner.check_renewal(certificate, state))
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
        block_on(
            self.inner
                .renew(certificate, identifiers, &AsyncSolver(solver), state),
        )
    }

    /// [`Client::renew`] with an order built by the caller (e.g. with a certificate profile,
    /// [`NewOrder::with_profile`]); its `replaces` is set from the ARI check.
    pub fn renew_order(
        &self,
        certificate: &[u8],
        order: NewOrder,
        solver: &dyn Solver,
        state: &mut RenewalState,
    ) -> Result<Renewal, Error> {
        block_on(
            self.inner
                .renew_order(certificate, order, &AsyncSolver(solver), state),
        )
    }
}
