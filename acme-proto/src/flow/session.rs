//! State shared by every flow against one ACME server: directory, nonce pool, account,
//! policy. Flows borrow it mutably for each call, so several flows (e.g. concurrent orders)
//! can share one `Session` behind a lock.

use crate::msgs::resources::Directory;
use crate::signer::Signer;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Retry, polling and deadline policy. The defaults are polite to public CAs and quick
/// against test CAs; see the field docs for each value and why.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// How many times one request is re-signed after `badNonce` (default 20). Pebble rejects
    /// 5 % of nonces by default (50 % in stress settings): 20 consecutive rejections at 50 %
    /// happen once in a million requests, while a server that rejects *every* nonce is given
    /// up on after 20 cheap round trips instead of looping.
    pub max_bad_nonce_retries: u32,
    /// How many times a request is retried after a 5xx answer or a transport failure
    /// (connect, timeout, reset), re-signed with a fresh nonce each time (default 3).
    pub max_transient_retries: u32,
    /// First back-off after a transient failure; doubles each time (default 1 s).
    pub transient_backoff: Duration,
    /// Delay before the first poll of a phase — after the challenges are triggered, after
    /// finalize — when the server sends no `Retry-After` (default 50 ms). A CA that
    /// validates or issues at once (a local or test CA, an ACME server that finalizes
    /// synchronously) is seen straight away; one that takes longer costs this single extra
    /// request before the back-off below takes over.
    pub poll_first_interval: Duration,
    /// Delay before the second poll when the server sends no `Retry-After` (default
    /// 250 ms); doubles at every later poll up to [`Policy::poll_max_interval`]. The default
    /// schedule is therefore 50 ms, 250 ms, 500 ms, 1 s, 2 s, 4 s, then every 5 s: seven
    /// requests in the first 8 s, then one every 5 s.
    pub poll_initial_interval: Duration,
    /// Longest default poll interval (default 5 s).
    pub poll_max_interval: Duration,
    /// Shortest wait honoured from a `Retry-After` while polling (default 100 ms): a `0` or
    /// past date does not make us spin.
    pub retry_after_min: Duration,
    /// Longest wait honoured from a `Retry-After` while polling or retrying (default 60 s).
    /// A longer one is clamped while polling; on a failed request it ends the operation
    /// with the server's error (carrying the retry time) rather than sleeping for hours.
    pub retry_after_max: Duration,
    /// Deadline for authorizations to leave `pending` after the challenges are triggered
    /// (default 5 min).
    pub validation_timeout: Duration,
    /// Deadline for an order to leave `processing` after finalize (default 5 min).
    pub issuance_timeout: Duration,
    /// Download the alternate chains (`Link: rel="alternate"`) too (default true; at most 8).
    pub fetch_alternate_chains: bool,
    /// When certificates are renewed: the fallback lifetime fraction and the bounds on
    /// `renewalInfo` checks ([`crate::renewal::RenewalCheckFlow`] reads it).
    pub renewal: crate::renewal::RenewalPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_bad_nonce_retries: 20,
            max_transient_retries: 3,
            transient_backoff: Duration::from_secs(1),
            poll_first_interval: Duration::from_millis(50),
            poll_initial_interval: Duration::from_millis(250),
            poll_max_interval: Duration::from_secs(5),
            retry_after_min: Duration::from_millis(100),
            retry_after_max: Duration::from_secs(60),
            validation_timeout: Duration::from_secs(300),
            issuance_timeout: Duration::from_secs(300),
            fetch_alternate_chains: true,
            renewal: crate::renewal::RenewalPolicy::default(),
        }
    }
}

/// The account a session signs with: its URL (the JWS `kid`) and key.
#[derive(Clone)]
pub struct AccountCredentials {
    /// Account URL, from newAccount's `Location`.
    pub url: String,
    /// The account key.
    pub key: Arc<dyn Signer>,
}

impl fmt::Debug for AccountCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountCredentials")
            .field("url", &self.url)
            .field("alg", &self.key.alg())
            .finish_non_exhaustive()
    }
}

/// Most nonces kept; older ones are dropped first (servers expire them anyway).
const NONCE_POOL_CAP: usize = 32;

/// One ACME server, seen from one client: the shared part of every flow.
#[derive(Debug)]
pub struct Session {
    pub(crate) directory_url: String,
    pub(crate) directory: Option<Directory>,
    pub(crate) nonces: VecDeque<String>,
    pub(crate) account: Option<AccountCredentials>,
    pub(crate) policy: Policy,
    pub(crate) user_agent: String,
    pub(crate) next_request_id: u64,
    /// Set once `HEAD newNonce` was refused with 405: use `GET` from then on.
    pub(crate) nonce_via_get: bool,
}

impl Session {
    /// A session for the ACME server whose directory is at `directory_url`.
    pub fn new(directory_url: impl Into<String>) -> Session {
        Session {
            directory_url: directory_url.into(),
            directory: None,
            nonces: VecDeque::new(),
            account: None,
            policy: Policy::default(),
            user_agent: format!("acme-proto/{}", env!("CARGO_PKG_VERSION")),
            next_request_id: 0,
            nonce_via_get: false,
        }
    }

    /// Replace the policy.
    pub fn with_policy(mut self, policy: Policy) -> Session {
        self.policy = policy;
        self
    }

    /// Append a product token to the `User-Agent` (e.g. `acme-tokio/0.1.0`), which always
    /// names this crate and its version (RFC 8555 §6.1).
    pub fn with_user_agent_product(mut self, product: &str) -> Session {
        let clean: String = product
            .chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .collect();
        self.user_agent = format!("{clean} acme-proto/{}", env!("CARGO_PKG_VERSION"));
        self
    }

    /// Use an already-known account (restored from storage): no newAccount round trip.
    pub fn with_account(mut self, account: AccountCredentials) -> Session {
        self.account = Some(account);
        self
    }

    /// Set or replace the account.
    pub fn set_account(&mut self, account: Option<AccountCredentials>) {
        self.account = account;
    }

    /// The account in use, once created, found or restored.
    pub fn account(&self) -> Option<&AccountCredentials> {
        self.account.as_ref()
    }

    /// The directory, once fetched.
    pub fn directory(&self) -> Option<&Directory> {
        self.directory.as_ref()
    }

    /// Provide a directory fetched or cached elsewhere (saves one round trip).
    pub fn set_directory(&mut self, directory: Directory) {
        self.directory = Some(directory);
    }

    /// The directory URL.
    pub fn directory_url(&self) -> &str {
        &self.directory_url
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The `User-Agent` sent on every request.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// Number of unused nonces held.
    pub fn nonce_count(&self) -> usize {
        self.nonces.len()
    }

    pub(crate) fn push_nonce(&mut self, nonce: String) {
        if self.nonces.len() >= NONCE_POOL_CAP {
            self.nonces.pop_front();
        }
        self.nonces.push_back(nonce);
    }

    pub(crate) fn take_nonce(&mut self) -> Option<String> {
        // Newest first: the most recently issued nonce is the least likely to have expired.
        self.nonces.pop_back()
    }

    pub(crate) fn next_id(&mut self) -> crate::http::RequestId {
        self.next_request_id += 1;
        crate::http::RequestId(self.next_request_id)
    }
}
