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
//! Defaults live in [`flow::Policy`]; change them with [`flow::Session::with_policy`].
//!
//! - `badNonce` (any status): re-signed with a fresh nonce, up to 20 times per request.
//! - 500/502/503/504 and connect/timeout/reset transport failures: retried up to 3 times,
//!   re-signed with a fresh nonce each time, after the server's `Retry-After` or a 1 s, 2 s,
//!   4 s back-off. A `Retry-After` beyond 60 s ends the operation with the server's error
//!   (carrying the retry time) instead of sleeping.
//! - `rateLimited` is never slept through: it is returned at once with its retry time
//!   ([`Error::retry_after`]).
//! - Polling honours `Retry-After` (seconds or HTTP-date; clamped to 100 ms – 60 s) and
//!   otherwise backs off 250 ms, 500 ms, 1 s, 2 s, 4 s, then every 5 s; validation and
//!   issuance each have a 5-minute deadline.
//! - Responses are parsed liberally: unknown members ignored, unknown statuses and types
//!   kept ([`msgs::resources::OrderStatus::Unknown`] …), any 2xx accepted, media-type
//!   parameters and case ignored, URLs kept exactly as the server wrote them.
//! - Dead ends end the flow with a typed error and are never looped on: invalid, expired or
//!   deactivated authorizations, states the RFC does not define, an order whose identifiers
//!   differ from those requested, `orderNotReady` on finalize after 3 attempts.
//!
//! # Panics
//!
//! Nothing a server sends and nothing a caller passes makes this crate panic; a panic is a
//! bug. The only exception is the test driver [`testing::drive`], which panics on purpose
//! when a flow loops.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod error;
pub mod flow;
pub mod http;
pub mod msgs;
pub mod signer;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::Error;
