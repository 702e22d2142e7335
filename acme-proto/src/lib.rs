//! Sans-IO core of an ACME (RFC 8555) client.
//!
//! This crate turns what a user wants — an account, a certificate, a revocation, a key
//! rollover — into HTTP request descriptions, and turns HTTP responses into progress,
//! results and typed errors. It performs no I/O: adapters (`acme-tokio`, `acme-blocking`,
//! `acme-smol`, or your own) move the bytes.
//!
//! # Layers
//!
//! - [`msgs`]: stateless builders and parsers for every ACME object and header (directory,
//!   account, order, authorization, challenge, problem documents, JWS, `Replay-Nonce`,
//!   `Retry-After`, `Link`, timestamps). Each is a plain function: fuzzable and
//!   golden-testable on its own.
//! - [`flow`]: state machines on top. Each user intent is a value implementing
//!   [`flow::Flow`]; all of them share a [`flow::Session`] (directory, nonce pool, account,
//!   [`flow::Policy`]), so several flows — concurrent orders on one account — can share one
//!   session behind a lock.
//! - [`renewal`]: when to renew a certificate — ACME Renewal Information (RFC 9773) with a
//!   lifetime fallback — as a pure decision over the certificate's dates, `now`, the CA's
//!   suggested window and caller-supplied randomness, with state that serializes between
//!   runs; [`renewal::RenewalCheckFlow`] fetches what the decision needs.
//! - [`signer`]: the seam to cryptography. The core asks a [`signer::Signer`] for `alg`, the
//!   public JWK and signatures; `acme-crypto` implements it, and so can an HSM or KMS.
//!
//! # Determinism contract
//!
//! Nothing in this crate or its dependency tree opens a socket or file, reads a clock,
//! sleeps, spawns a thread or task, or draws randomness. The current wall-clock time is an
//! argument of every input (`now`), waits leave as [`flow::Output::Wait`] ("come back at
//! T"), and randomness, where a decision needs it, is supplied by the caller. Given the same
//! inputs a flow emits the same bytes (with a deterministic signer such as RFC 6979 ECDSA),
//! which is what makes the scenario tests and fuzzing exact. `cargo xtask purity` fails the
//! build if the dependency tree gains tokio, mio, socket2, getrandom, an HTTP client or an
//! async runtime.
//!
//! # The run loop
//!
//! Every flow is driven the same way: poll it until it is done; send what it asks; feed back
//! the response with the time it arrived; sleep until the time it names; answer its events.
//! Here the "network" is the crate's scripted fake server (feature `testing`):
//!
//! ```
//! use acme_proto::flow::{AccountFlow, ChallengeSelector, Event, Flow, IssueFlow, NewAccount, NewOrder, Output, Session};
//! use acme_proto::msgs::identifier::Identifier;
//! use acme_proto::testing::{FakeConfig, FakeServer, TestSigner, epoch};
//! use std::sync::Arc;
//!
//! let mut server = FakeServer::new(FakeConfig::default());
//! let mut session = Session::new(FakeServer::directory_url());
//! let mut now = epoch();
//!
//! /// The whole adapter: drain outputs, perform requests, sleep, answer events.
//! fn drive<F: Flow>(flow: &mut F, session: &mut Session, server: &mut FakeServer, now: &mut std::time::SystemTime,
//!                   mut on_event: impl FnMut(&mut F, &mut FakeServer, Event)) -> Result<F::Output, acme_proto::Error> {
//!     loop {
//!         match flow.poll(session, *now) {
//!             Output::Send(request) => match server.handle(*now, &request) {
//!                 Ok(response) => flow.handle_response(session, *now, request.id, response),
//!                 Err(error) => flow.handle_transport_error(session, *now, request.id, error),
//!             },
//!             Output::Wait(until) => *now = until, // a real adapter sleeps here
//!             Output::Event(event) => on_event(flow, server, event),
//!             Output::Idle => unreachable!("requests are answered synchronously here"),
//!             Output::Done(result) => return result,
//!         }
//!     }
//! }
//!
//! let key = Arc::new(TestSigner::new("account key"));
//! let mut account = AccountFlow::create(key, NewAccount::new(vec![]).agree_to_terms_of_service(true));
//! let created = drive(&mut account, &mut session, &mut server, &mut now, |_, _, _| {})?;
//! assert!(created.created);
//!
//! let order = NewOrder::new(vec![Identifier::dns("example.org")?]);
//! let mut issue = IssueFlow::new(order, ChallengeSelector::default(), b"CSR DER".to_vec());
//! let bundle = drive(&mut issue, &mut session, &mut server, &mut now, |flow, server, event| {
//!     if let Event::Challenges(challenges) = event {
//!         for c in &challenges {
//!             server.publish(c); // serve c.key_authorization at c.http01_path()
//!         }
//!         flow.challenges_ready();
//!     }
//! })?;
//! assert!(bundle.pem.starts_with("-----BEGIN CERTIFICATE-----"));
//! assert_eq!(server.log.len(), 10); // directory, nonce, account, order, authz, challenge, poll, finalize, poll, cert
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Order states
//!
//! ```text
//!                 newOrder
//!                    |
//!                    v            authorizations fetched,
//!               +---------+       challenges presented and triggered,
//!               | pending | ----> one order poll covers them all
//!               +---------+
//!                 |     |  all authorizations valid
//!   an authz      |     v
//!   fails   +-----+  +-------+  finalize (CSR)   +------------+  issued  +-------+
//!   -------->        | ready | ----------------> | processing | -------> | valid | --> download
//!   |               +-------+                    +------------+          +-------+     certificate
//!   v                                                  |
//! +---------+  <---------------------------------------+ issuance failed
//! | invalid |  the failing authorization is fetched to name the identifier and the
//! +---------+  CA's problem ([`Error::Authorization`])
//! ```
//!
//! A new order that comes back `ready` (authorizations reused) goes straight to finalize;
//! `valid` straight to download.
//!
//! # Errors
//!
//! [`Error`] says who is at fault: the CA ([`Error::Server`] with its RFC 7807 problem,
//! [`Error::Authorization`], [`Error::OrderInvalid`]), a server that broke the protocol
//! ([`Error::Protocol`], naming the status, URL and a body snippet), the network
//! ([`Error::Transport`], reported by the adapter), the clock ([`Error::Timeout`]) or the
//! caller ([`Error::Usage`]).
//!
//! # When servers misbehave
//!
//! Real CAs, the proxies in front of them and the networks in between send things no
//! specification mentions. What the library does about each, with the [`flow::Policy`] field
//! that governs it and its default:
//!
//! - **Nonces.** `badNonce` (whatever the HTTP status) is re-signed at once with a fresh nonce,
//!   up to `max_bad_nonce_retries` (20) times per request: at Pebble's 50 % stress setting
//!   21 rejections in a row happen once in two million requests. Error responses without a
//!   `Replay-Nonce` make the next request fetch one from `newNonce`. `newNonce` may answer
//!   any 2xx; when it refuses `HEAD` (405, 400, 404, 501 …) or answers it without a valid
//!   nonce, `GET` is used from then on.
//! - **Transient failures.** 500, 502, 503, 504 and connect, timeout or reset failures are
//!   retried up to `max_transient_retries` (3) times, re-signed with a fresh nonce each time
//!   (the old one may have reached the server), after the server's `Retry-After` (seconds or
//!   HTTP date; in the past or `0` means `retry_after_min`, 100 ms) or else after
//!   `transient_backoff` (1 s), doubling each time and capped at `retry_after_max` (60 s). A
//!   `Retry-After` beyond `retry_after_max` ends the call at once with the server's error,
//!   carrying the retry time ([`Error::retry_after`]) instead of sleeping for hours. TLS
//!   failures, bodies over [`http::MAX_BODY_SIZE`] and unusable URLs are not retried. A retry
//!   whose first attempt took effect although its answer was lost is recognised: finalize
//!   refused with `orderNotReady` re-reads the order, a challenge trigger refused with a 4xx
//!   reads the authorization (a challenge URL only ever gets the `{}` trigger), and each
//!   goes on from the state found; a revocation retried into `alreadyRevoked` or an account
//!   deactivation retried into `unauthorized` is success; a key rollover whose retry is
//!   refused is confirmed (or not) by one read signed by the new key.
//! - **Rate limits.** `rateLimited`, whatever the HTTP status, is never slept through nor
//!   retried: it is returned at once as [`Error::Server`] with its retry time
//!   ([`Error::is_rate_limited`], [`Error::retry_after`]). A 429 or 503 without a problem
//!   document (a proxy, a maintenance page) is [`Error::Unavailable`], keeping its
//!   `Retry-After`: 429 is returned at once, 503 retried like any transient failure first.
//! - **Polling and deadlines.** Pending and processing orders are polled after the server's
//!   `Retry-After`, clamped to `retry_after_min` – `retry_after_max` (100 ms – 60 s; garbage is
//!   ignored), or else on a schedule that looks once quickly, then backs off: the first poll
//!   of a phase (after the challenge triggers, after finalize) after `poll_first_interval`
//!   (50 ms), so that a CA which validates or issues at once is seen straight away; then
//!   `poll_initial_interval` (250 ms) doubling up to `poll_max_interval` (5 s) — 50 ms,
//!   250 ms, 500 ms, 1 s, 2 s, 4 s, then every 5 s: seven polls in the first 8 s of a slow
//!   validation (one more than without the quick look), one every 5 s after that.
//!   Authorizations must become valid within `validation_timeout`
//!   (5 min from the challenge triggers) and the order must leave `processing` within
//!   `issuance_timeout` (5 min from finalize, or from the re-read after a refused or lost
//!   finalize). The last poll happens at the deadline; then the flow ends with
//!   [`Error::Timeout`]. An order still `pending` after its challenges were triggered has its
//!   authorizations read after the 4th, 8th, 16th … poll and at the deadline, so that an
//!   authorization that failed without the order saying so ends the flow at once with
//!   [`Error::Authorization`]. Adapters bound each request in time as well (30 s by default in the
//!   built-in HTTP clients).
//! - **Error bodies.** A problem document is recognised by its media type or, whatever the
//!   media type, by an ACME `type`; anything else (HTML or text from a proxy, an empty body,
//!   JSON of another shape, a problem document with neither `type` nor `detail`) becomes
//!   [`Error::Protocol`] (or [`Error::Unavailable`] for 429 and 503), naming the HTTP status, the URL and the first 200 characters of the
//!   body, cleaned of control characters.
//! - **Legal variations.** Unknown members are ignored and unknown statuses, types and
//!   problem types kept ([`msgs::resources::OrderStatus::Unknown`] …); members of the wrong
//!   type are dropped; absent optional members (even a whole account body) are fine; any 2xx
//!   is success; media-type parameters and case are ignored; RFC 3339 timestamps may have any
//!   number of fractional digits and any offset; `Link` relations are read from any number of
//!   headers, several links per header; relative `Location` and `Link` references are
//!   resolved. URLs are kept and signed exactly as the server wrote them, never normalized.
//! - **Dead ends** end the flow with a typed error and are never looped on: an invalid,
//!   expired, deactivated or revoked authorization ([`Error::Authorization`]), an invalid
//!   order ([`Error::OrderInvalid`]), a state RFC 8555 does not define for the object, an
//!   order whose identifiers differ from those requested, or a valid order without a
//!   certificate ([`Error::Protocol`]). Finalize refused with `orderNotReady` re-reads the
//!   order and acts on its real state (poll, download, explain), at most 3 finalize attempts.
//!
//! Change the defaults with [`flow::Session::with_policy`] (or the adapters'
//! `ClientBuilder::policy`):
//!
//! ```
//! use acme_proto::flow::{Policy, Session};
//! use std::time::Duration;
//!
//! let mut policy = Policy::default();
//! policy.max_transient_retries = 5;
//! policy.validation_timeout = Duration::from_secs(15 * 60);
//! let session = Session::new("https://acme.example/directory").with_policy(policy);
//! assert_eq!(session.policy().validation_timeout, Duration::from_secs(900));
//! ```
//!
//! # Panics
//!
//! Nothing a server sends and nothing a caller passes makes this crate panic; a panic is a
//! bug. The only exception is the test driver `testing::drive` (feature `testing`), which
//! panics on purpose when a flow loops.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod error;
pub mod flow;
pub mod http;
pub mod msgs;
pub mod renewal;
pub mod signer;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::Error;
