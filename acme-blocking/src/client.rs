//! The blocking ACME client: [`acme_async::Client`] on the [`Blocking`] runtime binding, each
//! operation run to completion on the calling thread.

use crate::Error;
use crate::http_client::HttpClient;
use crate::runtime::{AsyncHttp, AsyncSolver, Blocking, block_on};
use crate::solver::Solver;
use acme_async::{IssuedCertificate, Step};
use acme_crypto::{AccountFile, KeyPair};
use acme_proto::flow::{
    Account, AccountCredentials, CertificateBundle, ChallengeSelector, Flow, NewAccount, NewOrder,
    Policy, RenewalInfo, RevocationReason,
};
use acme_proto::msgs::identifier::Identifier;
use acme_proto::msgs::resources::{AuthorizationResource, Directory, OrderResource};
use acme_proto::signer::Signer;
use std::sync::Arc;

/// An ACME client bound to one CA (and, once created or restored, one account).
///
/// Cheap to clone; clones share the session (directory, nonce pool, account), so several
/// orders can run concurrently on one account.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: acme_async::Client<Blocking>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

/// Builds a [`Client`].
#[must_use]
pub struct ClientBuilder {
    inner: acme_async::ClientBuilder<Blocking>,
}

impl ClientBuilder {
    /// Use this HTTP client instead of the default one.
    pub fn http_client(self, client: impl HttpClient) -> Self {
        ClientBuilder {
            inner: self.inner.http_client(AsyncHttp(client)),
        }
    }

    /// Trust these PEM root certificates too, for the CA's TLS (test CAs such as Pebble).
    /// Verification is always on; this only adds anchors.
    #[cfg(feature = "default-client")]
    pub fn add_root_pem(self, pem: &[u8]) -> Self {
        ClientBuilder {
            inner: self.inner.add_root_pem(pem),
        }
    }

    /// Allow a plain `http://` directory (never for a public CA).
    pub fn allow_http(self, allow: bool) -> Self {
        ClientBuilder {
            inner: self.inner.allow_http(allow),
        }
    }

    /// Retry, polling and deadline policy.
    pub fn policy(self, policy: Policy) -> Self {
        ClientBuilder {
            inner: self.inner.policy(policy),
        }
    }

    /// Use an existing account (no round trip to find it).
    pub fn account(self, account: AccountCredentials) -> Self {
        ClientBuilder {
            inner: self.inner.account(account),
        }
    }

    /// Prefer the certificate chain leading to this root (or through this issuer), by
    /// common name, e.g. `ISRG Root X1`: [`Client::issue`] then returns that chain when the
    /// CA offers it as an alternate (`Link: rel="alternate"`), and the default chain
    /// otherwise (see [`acme_crypto::select_chain_pem`]).
    pub fn preferred_chain(self, common_name: impl Into<String>) -> Self {
        ClientBuilder {
            inner: self.inner.preferred_chain(common_name),
        }
    }

    /// Build the client.
    pub fn build(self) -> Result<Client, Error> {
        Ok(Client {
            inner: self.inner.build()?,
        })
    }
}

impl Client {
    /// Start building a client for the CA whose directory is at `directory_url`.
    pub fn builder(directory_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            inner: acme_async::Client::builder(directory_url),
        }
    }

    /// Drive `flow` until it reports an event or finishes: perform its requests, sleep until
    /// the times it names. This is the whole adapter: everything else is built on it.
    pub fn step<F: Flow>(&self, flow: &mut F) -> Step<F::Output> {
        block_on(self.inner.step(flow))
    }

    /// Drive a flow that needs no answers to events (all but issuance) to completion.
    pub fn run<F: Flow>(&self, flow: F) -> Result<F::Output, Error> {
        block_on(self.inner.run(flow))
    }

    /// The CA's directory (fetched once, then cached).
    pub fn directory(&self) -> Result<Directory, Error> {
        block_on(self.inner.directory())
    }

    /// The CA's terms of service URL, to show the user before they agree.
    pub fn terms_of_service(&self) -> Result<Option<String>, Error> {
        block_on(self.inner.terms_of_service())
    }

    /// Create an account for `key` (or get the existing one), and use it from now on.
    pub fn create_account(
        &self,
        key: Arc<dyn Signer>,
        params: NewAccount,
    ) -> Result<Account, Error> {
        block_on(self.inner.create_account(key, params))
    }

    /// Find the account of `key` (`onlyReturnExisting`) and use it from now on. A key without
    /// an account fails with the CA's `accountDoesNotExist` problem.
    pub fn find_account(&self, key: Arc<dyn Signer>) -> Result<Account, Error> {
        block_on(self.inner.find_account(key))
    }

    /// Use a stored account: no round trip.
    pub fn set_account(&self, account: AccountCredentials) {
        self.inner.set_account(account);
    }

    /// The account in use.
    pub fn account(&self) -> Option<AccountCredentials> {
        self.inner.account()
    }

    /// The CA's directory URL, as the client was built with.
    pub fn directory_url(&self) -> String {
        self.inner.directory_url()
    }

    /// Use an account stored in an [`AccountFile`]: no request is made (no `newAccount`,
    /// no lookup). Fails with [`Error::Config`] when the file belongs to another CA (its
    /// directory URL differs from this client's).
    pub fn restore_account(&self, file: &AccountFile) -> Result<(), Error> {
        self.inner.restore_account(file)
    }

    /// The account in use as an [`AccountFile`] to save, with `key`, which must be the
    /// account's current key (after [`Client::rollover_key`], the new one). Fails with
    /// [`Error::Config`] when there is no account yet or `key` is not its key.
    pub fn account_file(&self, key: Arc<KeyPair>) -> Result<AccountFile, Error> {
        self.inner.account_file(key)
    }

    /// Fetch the account object.
    pub fn fetch_account(&self) -> Result<Account, Error> {
        block_on(self.inner.fetch_account())
    }

    /// Replace the account's contacts.
    pub fn update_contact(&self, contact: Vec<String>) -> Result<Account, Error> {
        block_on(self.inner.update_contact(contact))
    }

    /// Deactivate the account (irreversible).
    pub fn deactivate_account(&self) -> Result<Account, Error> {
        block_on(self.inner.deactivate_account())
    }

    /// Roll the account over to `new_key`; later requests are signed with it.
    pub fn rollover_key(&self, new_key: Arc<dyn Signer>) -> Result<(), Error> {
        block_on(self.inner.rollover_key(new_key))
    }

    /// Every order URL of the account (all pages).
    pub fn list_orders(&self) -> Result<Vec<String>, Error> {
        block_on(self.inner.list_orders())
    }

    /// Fetch an order.
    pub fn fetch_order(&self, url: &str) -> Result<OrderResource, Error> {
        block_on(self.inner.fetch_order(url))
    }

    /// Pre-authorize an identifier (`newAuthz`, where the CA offers it).
    pub fn new_authorization(
        &self,
        identifier: &Identifier,
    ) -> Result<(String, AuthorizationResource), Error> {
        block_on(self.inner.new_authorization(identifier))
    }

    /// Fetch an authorization.
    pub fn fetch_authorization(&self, url: &str) -> Result<AuthorizationResource, Error> {
        block_on(self.inner.fetch_authorization(url))
    }

    /// Deactivate an authorization.
    pub fn deactivate_authorization(&self, url: &str) -> Result<AuthorizationResource, Error> {
        block_on(self.inner.deactivate_authorization(url))
    }

    /// Revoke a certificate (DER), signed by the account key.
    pub fn revoke(
        &self,
        certificate_der: &[u8],
        reason: Option<RevocationReason>,
    ) -> Result<(), Error> {
        block_on(self.inner.revoke(certificate_der, reason))
    }

    /// Revoke a certificate (DER), signed by its own key (no account needed).
    pub fn revoke_with_key(
        &self,
        certificate_der: &[u8],
        key: Arc<dyn Signer>,
        reason: Option<RevocationReason>,
    ) -> Result<(), Error> {
        block_on(self.inner.revoke_with_key(certificate_der, key, reason))
    }

    /// ACME Renewal Information (RFC 9773) for a certificate (DER).
    pub fn renewal_info(&self, certificate_der: &[u8]) -> Result<RenewalInfo, Error> {
        block_on(self.inner.renewal_info(certificate_der))
    }

    /// Order, validate, finalize and download: the lower-level form of [`Client::issue`].
    /// Every challenge presented is cleaned up, on success and on failure.
    pub fn order(
        &self,
        order: NewOrder,
        selector: ChallengeSelector,
        csr_der: Vec<u8>,
        solver: &dyn Solver,
    ) -> Result<CertificateBundle, Error> {
        block_on(
            self.inner
                .order(order, selector, csr_der, &AsyncSolver(solver)),
        )
    }

    /// Issue a certificate for `identifiers` (DNS names, wildcards, IP addresses; Unicode
    /// names are converted to A-labels), solving challenges with `solver`. Without
    /// `certificate_key` a fresh ECDSA P-256 key is generated. The chain returned is the
    /// CA's default one, or the one [`ClientBuilder::preferred_chain`] names when offered.
    pub fn issue(
        &self,
        identifiers: &[&str],
        solver: &dyn Solver,
        certificate_key: Option<KeyPair>,
    ) -> Result<IssuedCertificate, Error> {
        block_on(
            self.inner
                .issue(identifiers, &AsyncSolver(solver), certificate_key),
        )
    }

    /// [`Client::issue`] for an order built by the caller: its identifiers, and a certificate
    /// profile ([`NewOrder::with_profile`]), the certificate it replaces
    /// ([`NewOrder::with_replaces`]) or a validity period when wanted.
    pub fn issue_order(
        &self,
        order: NewOrder,
        solver: &dyn Solver,
        certificate_key: Option<KeyPair>,
    ) -> Result<IssuedCertificate, Error> {
        block_on(
            self.inner
                .issue_order(order, &AsyncSolver(solver), certificate_key),
        )
    }
}
