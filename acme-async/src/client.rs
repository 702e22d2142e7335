//! The async ACME client: the drive loop over [`acme_proto`] flows, and the operations built
//! on it, generic over the [`Runtime`] that sleeps and provides the default HTTP client.

use crate::error::Error;
use crate::http_client::HttpClient;
use crate::runtime::Runtime;
use crate::solver::Solver;
use acme_crypto::{AccountFile, Algorithm, CsrOptions, KeyPair};
use acme_proto::flow::{
    Account, AccountCredentials, AccountFlow, AuthorizationFlow, CertificateBundle,
    ChallengeSelector, ChallengeToSolve, DirectoryFlow, Event, Flow, IssueFlow, KeyRolloverFlow,
    NewAccount, NewOrder, OrderFlow, OrdersListFlow, Output, Policy, RenewalInfo, RenewalInfoFlow,
    RevocationFlow, RevocationReason, Session,
};
use acme_proto::msgs::identifier::Identifier;
use acme_proto::msgs::resources::{AuthorizationResource, Directory, OrderResource};
use acme_proto::signer::Signer;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};
use tracing::{Instrument, debug, info, info_span, warn};

/// What [`Client::step`] stopped on.
#[derive(Debug)]
#[non_exhaustive]
pub enum Step<T> {
    /// The flow reported an event.
    Event(Event),
    /// The flow finished.
    Done(Result<T, acme_proto::Error>),
}

/// A certificate and its private key, as [`Client::issue`] returns them.
#[derive(Debug)]
#[non_exhaustive]
pub struct IssuedCertificate {
    /// The chain, PEM, leaf first (the default chain, or the preferred alternate).
    pub chain_pem: String,
    /// The certificate's private key.
    pub key: KeyPair,
    /// Everything the CA returned (order, URLs, alternate chains).
    pub bundle: CertificateBundle,
}

/// An ACME client bound to one CA (and, once created or restored, one account).
///
/// Cheap to clone; clones share the session (directory, nonce pool, account), so several
/// orders can run concurrently on one account. `R` is the runtime binding (`acme_tokio::Tokio`,
/// `acme_smol::Smol`); the runtime crates export `Client` with `R` filled in.
pub struct Client<R: Runtime> {
    http: Arc<dyn HttpClient>,
    session: Arc<Mutex<Session>>,
    preferred_chain: Option<Arc<str>>,
    runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> Clone for Client<R> {
    fn clone(&self) -> Self {
        Client {
            http: self.http.clone(),
            session: self.session.clone(),
            preferred_chain: self.preferred_chain.clone(),
            runtime: PhantomData,
        }
    }
}

impl<R: Runtime> std::fmt::Debug for Client<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("Client")
            .field("directory", &s.directory_url())
            .field("account", &s.account())
            .finish()
    }
}

/// Builds a [`Client`].
#[must_use]
pub struct ClientBuilder<R: Runtime> {
    directory_url: String,
    http: Option<Arc<dyn HttpClient>>,
    roots: Vec<Vec<u8>>,
    allow_http: bool,
    policy: Policy,
    account: Option<AccountCredentials>,
    preferred_chain: Option<Arc<str>>,
    runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> ClientBuilder<R> {
    /// Use this HTTP client instead of the default one.
    pub fn http_client(mut self, client: impl HttpClient) -> Self {
        self.http = Some(Arc::new(client));
        self
    }

    /// Trust these PEM root certificates too, for the CA's TLS (test CAs such as Pebble), in
    /// the runtime's default HTTP client. Verification is always on; this only adds anchors.
    pub fn add_root_pem(mut self, pem: &[u8]) -> Self {
        self.roots.push(pem.to_vec());
        self
    }

    /// Allow a plain `http://` directory (never for a public CA).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Retry, polling and deadline policy.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Use an existing account (no round trip to find it).
    pub fn account(mut self, account: AccountCredentials) -> Self {
        self.account = Some(account);
        self
    }

    /// Prefer the certificate chain leading to this root (or through this issuer), by
    /// common name, e.g. `ISRG Root X1`: [`Client::issue`] then returns that chain when the
    /// CA offers it as an alternate (`Link: rel="alternate"`), and the default chain
    /// otherwise (see [`acme_crypto::select_chain_pem`]).
    pub fn preferred_chain(mut self, common_name: impl Into<String>) -> Self {
        self.preferred_chain = Some(Arc::from(common_name.into()));
        self
    }

    /// Build the client.
    pub fn build(self) -> Result<Client<R>, Error> {
        // Schemes are case-insensitive (RFC 3986 §3.1): `HTTP://` is plain HTTP too.
        let plain = self
            .directory_url
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://"));
        if plain && !self.allow_http {
            return Err(Error::Config(format!(
                "refusing plain-HTTP directory {}: use https, or allow_http(true) for a local test CA",
                self.directory_url
            )));
        }
        let http: Arc<dyn HttpClient> = match self.http {
            Some(h) => h,
            None => R::default_http_client(&self.roots, self.allow_http).map_err(Error::Config)?,
        };
        let mut session = Session::new(self.directory_url)
            .with_policy(self.policy)
            .with_user_agent_product(R::USER_AGENT);
        session.set_account(self.account);
        Ok(Client {
            http,
            session: Arc::new(Mutex::new(session)),
            preferred_chain: self.preferred_chain,
            runtime: PhantomData,
        })
    }
}

impl<R: Runtime> Client<R> {
    /// Start building a client for the CA whose directory is at `directory_url`.
    pub fn builder(directory_url: impl Into<String>) -> ClientBuilder<R> {
        ClientBuilder {
            directory_url: directory_url.into(),
            http: None,
            roots: Vec::new(),
            allow_http: false,
            policy: Policy::default(),
            account: None,
            preferred_chain: None,
            runtime: PhantomData,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Session> {
        // A panic while holding the lock cannot leave the session inconsistent in a way that
        // matters more than losing the client: keep going with the inner value.
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drive `flow` until it reports an event or finishes: perform its requests, sleep until
    /// the times it names. This is the whole adapter: everything else is built on it.
    pub async fn step<F: Flow>(&self, flow: &mut F) -> Step<F::Output> {
        loop {
            let out = flow.poll(&mut self.lock(), SystemTime::now());
            match out {
                Output::Send(request) => {
                    let (id, endpoint) = (request.id, request.endpoint);
                    debug!(?endpoint, method = %request.method, url = %request.url, "request");
                    let started = Instant::now();
                    let result = self.http.execute(request).await;
                    let now = SystemTime::now();
                    match result {
                        Ok(response) => {
                            debug!(?endpoint, status = response.status().as_u16(), elapsed = ?started.elapsed(), "response");
                            flow.handle_response(&mut self.lock(), now, id, response);
                        }
                        Err(error) => {
                            warn!(?endpoint, %error, "transport error");
                            flow.handle_transport_error(&mut self.lock(), now, id, error);
                        }
                    }
                }
                Output::Wait(until) => {
                    let d = until.duration_since(SystemTime::now()).unwrap_or_default();
                    debug!(wait = ?d, "waiting");
                    R::sleep(d).await;
                }
                Output::Event(e) => return Step::Event(e),
                Output::Idle => {
                    return Step::Done(Err(acme_proto::Error::Usage(
                        "the flow is waiting for the caller (e.g. challenges_ready)".into(),
                    )));
                }
                Output::Done(r) => return Step::Done(r),
            }
        }
    }

    /// Drive a flow that needs no answers to events (all but issuance) to completion.
    pub async fn run<F: Flow>(&self, mut flow: F) -> Result<F::Output, Error> {
        loop {
            match self.step(&mut flow).await {
                Step::Event(e) => info!(event = ?e, "progress"),
                Step::Done(r) => return r.map_err(Error::from),
            }
        }
    }

    /// The CA's directory (fetched once, then cached).
    pub async fn directory(&self) -> Result<Directory, Error> {
        if let Some(d) = self.lock().directory().cloned() {
            return Ok(d);
        }
        let flow = DirectoryFlow::new(&self.lock());
        self.run(flow).await
    }

    /// The CA's terms of service URL, to show the user before they agree.
    pub async fn terms_of_service(&self) -> Result<Option<String>, Error> {
        Ok(self.directory().await?.meta.terms_of_service)
    }

    /// Create an account for `key` (or get the existing one), and use it from now on.
    pub async fn create_account(
        &self,
        key: Arc<dyn Signer>,
        params: NewAccount,
    ) -> Result<Account, Error> {
        let account = self.run(AccountFlow::create(key, params)).await?;
        let verb = if account.created { "created" } else { "found" };
        info!("account {verb}: {}", account.url);
        Ok(account)
    }

    /// Find the account of `key` (`onlyReturnExisting`) and use it from now on. A key without
    /// an account fails with the CA's `accountDoesNotExist` problem.
    pub async fn find_account(&self, key: Arc<dyn Signer>) -> Result<Account, Error> {
        self.run(AccountFlow::find(key)).await
    }

    /// Use a stored account: no round trip.
    pub fn set_account(&self, account: AccountCredentials) {
        self.lock().set_account(Some(account));
    }

    /// The account in use.
    pub fn account(&self) -> Option<AccountCredentials> {
        self.lock().account().cloned()
    }

    /// The CA's directory URL, as the client was built with.
    pub fn directory_url(&self) -> String {
        self.lock().directory_url().to_owned()
    }

    /// Use an account stored in an [`AccountFile`]: no request is made (no `newAccount`,
    /// no lookup). Fails with [`Error::Config`] when the file belongs to another CA (its
    /// directory URL differs from this client's).
    pub fn restore_account(&self, file: &AccountFile) -> Result<(), Error> {
        let mut session = self.lock();
        if file.directory_url() != session.directory_url() {
            return Err(Error::Config(format!(
                "the account file is for the CA at {}, not {}",
                file.directory_url(),
                session.directory_url()
            )));
        }
        session.set_account(Some(file.credentials()));
        Ok(())
    }

    /// The account in use as an [`AccountFile`] to save, with `key`, which must be the
    /// account's current key (after [`Client::rollover_key`], the new one). Fails with
    /// [`Error::Config`] when there is no account yet or `key` is not its key.
    pub fn account_file(&self, key: Arc<KeyPair>) -> Result<AccountFile, Error> {
        let session = self.lock();
        let account = session.account().ok_or_else(|| {
            Error::Config("no account to save: create, find or restore one first".into())
        })?;
        if account.key.jwk() != key.public_jwk() {
            return Err(Error::Config(format!(
                "the key (thumbprint {}) is not the account's key",
                key.thumbprint()
            )));
        }
        Ok(AccountFile::new(
            session.directory_url(),
            account.url.clone(),
            key,
        )?)
    }

    /// Fetch the account object.
    pub async fn fetch_account(&self) -> Result<Account, Error> {
        let flow = AccountFlow::fetch(&self.lock())?;
        self.run(flow).await
    }

    /// Replace the account's contacts.
    pub async fn update_contact(&self, contact: Vec<String>) -> Result<Account, Error> {
        let flow = AccountFlow::update_contact(&self.lock(), contact)?;
        self.run(flow).await
    }

    /// Deactivate the account (irreversible).
    pub async fn deactivate_account(&self) -> Result<Account, Error> {
        let flow = AccountFlow::deactivate(&self.lock())?;
        self.run(flow).await
    }

    /// Roll the account over to `new_key`; later requests are signed with it.
    pub async fn rollover_key(&self, new_key: Arc<dyn Signer>) -> Result<(), Error> {
        self.run(KeyRolloverFlow::new(new_key)).await
    }

    /// Every order URL of the account (all pages).
    pub async fn list_orders(&self) -> Result<Vec<String>, Error> {
        let account = self.fetch_account().await?;
        let url = account
            .resource
            .orders
            .ok_or_else(|| Error::Config("the account object has no orders URL".into()))?;
        self.run(OrdersListFlow::new(url)).await
    }

    /// Fetch an order.
    pub async fn fetch_order(&self, url: &str) -> Result<OrderResource, Error> {
        self.run(OrderFlow::fetch(url)).await
    }

    /// Pre-authorize an identifier (`newAuthz`, where the CA offers it).
    pub async fn new_authorization(
        &self,
        identifier: &Identifier,
    ) -> Result<(String, AuthorizationResource), Error> {
        self.run(AuthorizationFlow::new_authz(identifier)).await
    }

    /// Fetch an authorization.
    pub async fn fetch_authorization(&self, url: &str) -> Result<AuthorizationResource, Error> {
        Ok(self.run(AuthorizationFlow::fetch(url)).await?.1)
    }

    /// Deactivate an authorization.
    pub async fn deactivate_authorization(
        &self,
        url: &str,
    ) -> Result<AuthorizationResource, Error> {
        Ok(self.run(AuthorizationFlow::deactivate(url)).await?.1)
    }

    /// Revoke a certificate (DER), signed by the account key.
    pub async fn revoke(
        &self,
        certificate_der: &[u8],
        reason: Option<RevocationReason>,
    ) -> Result<(), Error> {
        self.run(RevocationFlow::by_account(certificate_der, reason))
            .await
    }

    /// Revoke a certificate (DER), signed by its own key (no account needed).
    pub async fn revoke_with_key(
        &self,
        certificate_der: &[u8],
        key: Arc<dyn Signer>,
        reason: Option<RevocationReason>,
    ) -> Result<(), Error> {
        self.run(RevocationFlow::by_certificate_key(
            certificate_der,
            key,
            reason,
        ))
        .await
    }

    /// ACME Renewal Information (RFC 9773) for a certificate (DER).
    pub async fn renewal_info(&self, certificate_der: &[u8]) -> Result<RenewalInfo, Error> {
        let id = acme_crypto::ari_certificate_id(certificate_der)?;
        self.run(RenewalInfoFlow::new(&id)).await
    }

    /// Order, validate, finalize and download: the lower-level form of [`Client::issue`].
    /// Every challenge presented is cleaned up, on success and on failure.
    pub async fn order(
        &self,
        order: NewOrder,
        selector: ChallengeSelector,
        csr_der: Vec<u8>,
        solver: &dyn Solver,
    ) -> Result<CertificateBundle, Error> {
        let names: Vec<&str> = order.identifiers.iter().map(|i| i.value.as_str()).collect();
        let span = info_span!("order", identifiers = %names.join(","));
        let mut flow = IssueFlow::new(order, selector, csr_der);
        async {
            let mut presented: Vec<ChallengeToSolve> = Vec::new();
            let result = loop {
                match self.step(&mut flow).await {
                    Step::Event(Event::Challenges(list)) => {
                        let mut failed = None;
                        for c in list {
                            info!("presenting {} challenge for {}", c.kind(), c.identifier);
                            let r = solver.present(&c).await;
                            presented.push(c.clone());
                            if let Err(e) = r {
                                failed = Some(Error::Solver {
                                    identifier: c.identifier.clone(),
                                    message: e.to_string(),
                                });
                                break;
                            }
                        }
                        if let Some(e) = failed {
                            break Err(e);
                        }
                        flow.challenges_ready();
                    }
                    Step::Event(Event::Progress(p)) => info!("{p}"),
                    Step::Event(e) => info!(event = ?e, "event"),
                    Step::Done(r) => break r.map_err(Error::from),
                }
            };
            for c in &presented {
                if let Err(e) = solver.cleanup(c).await {
                    warn!(identifier = %c.identifier, error = %e, "challenge cleanup failed");
                }
            }
            result
        }
        .instrument(span)
        .await
    }

    /// Issue a certificate for `identifiers` (DNS names, wildcards, IP addresses; Unicode
    /// names are converted to A-labels), solving challenges with `solver`. Without
    /// `certificate_key` a fresh ECDSA P-256 key is generated. The chain returned is the
    /// CA's default one, or the one [`ClientBuilder::preferred_chain`] names when offered.
    pub async fn issue(
        &self,
        identifiers: &[&str],
        solver: &dyn Solver,
        certificate_key: Option<KeyPair>,
    ) -> Result<IssuedCertificate, Error> {
        let ids = identifiers
            .iter()
            .map(|t| acme_crypto::identifier(t))
            .collect::<Result<Vec<Identifier>, _>>()?;
        self.issue_order(NewOrder::new(ids), solver, certificate_key)
            .await
    }

    /// [`Client::issue`] for an order built by the caller: its identifiers, and a certificate
    /// profile ([`NewOrder::with_profile`]), the certificate it replaces
    /// ([`NewOrder::with_replaces`]) or a validity period when wanted.
    pub async fn issue_order(
        &self,
        order: NewOrder,
        solver: &dyn Solver,
        certificate_key: Option<KeyPair>,
    ) -> Result<IssuedCertificate, Error> {
        let key = match certificate_key {
            Some(k) => k,
            None => KeyPair::generate(Algorithm::Es256)?,
        };
        let csr = acme_crypto::csr_der(&order.identifiers, &key, &CsrOptions::default())?;
        let bundle = self.order(order, solver.selector(), csr, solver).await?;
        let chain_pem = match &self.preferred_chain {
            Some(preferred) => acme_crypto::select_chain_pem(
                &bundle.pem,
                bundle.alternates.iter().map(|(_, pem)| pem.as_str()),
                preferred,
            )
            .to_owned(),
            None => bundle.pem.clone(),
        };
        Ok(IssuedCertificate {
            chain_pem,
            key,
            bundle,
        })
    }
}
