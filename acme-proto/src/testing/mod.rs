//! Deterministic test support (feature `testing`): a scripted in-memory ACME server, a fast
//! test signer and a virtual-time driver. No sockets, no sleeps, no randomness: nonces and
//! URLs are counters, so every run is byte-for-byte identical.
//!
//! The adapters' test suites reuse this server behind a loopback HTTP listener.

mod server;

pub use server::{BASE, hmac_sha256};

pub use server::{FakeConfig, FakeServer, Injection, LoggedRequest, Rewrite, Validation};

use crate::error::Error;
use crate::flow::{Event, Flow, Output, Session};
use crate::signer::{Jwk, SignError, Signer};
use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};

/// A fast, deterministic signer for tests and fuzzing: alg `TEST`, signature =
/// SHA-256(id ‖ signing input). [`FakeServer`] verifies it. Not a cryptographic signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestSigner {
    id: String,
}

impl TestSigner {
    /// A signer identified by `id` (different ids are different keys).
    pub fn new(id: &str) -> TestSigner {
        TestSigner { id: id.to_owned() }
    }

    /// Check a signature made by the signer whose JWK is `jwk`.
    pub fn verify(jwk: &Jwk, signing_input: &[u8], signature: &[u8]) -> bool {
        match jwk {
            Jwk::Okp { crv, x } if crv == "TEST" => {
                let Ok(id) = Base64UrlUnpadded::decode_vec(x) else {
                    return false;
                };
                let mut h = Sha256::new();
                h.update(&id);
                h.update(signing_input);
                h.finalize().as_slice() == signature
            }
            _ => false,
        }
    }
}

impl Signer for TestSigner {
    fn alg(&self) -> &str {
        "TEST"
    }
    fn jwk(&self) -> Jwk {
        Jwk::Okp {
            crv: "TEST".into(),
            x: Base64UrlUnpadded::encode_string(self.id.as_bytes()),
        }
    }
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        let mut h = Sha256::new();
        h.update(self.id.as_bytes());
        h.update(signing_input);
        Ok(h.finalize().to_vec())
    }
}

/// A fixed starting time for virtual-clock tests: 2026-01-01T00:00:00Z.
pub fn epoch() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

/// Most steps [`drive`] takes before declaring the flow stuck.
pub const MAX_STEPS: usize = 10_000;

/// Drive `flow` against `server` in virtual time starting at `*clock`, advancing the clock
/// on every `Wait`. `on_event` sees every event (and may act on the flow, e.g. call
/// `challenges_ready`). Panics if the flow neither finishes nor stops within
/// [`MAX_STEPS`] steps, or returns `Idle` without an outstanding request: both are bugs.
pub fn drive<F: Flow>(
    flow: &mut F,
    session: &mut Session,
    server: &mut FakeServer,
    clock: &mut SystemTime,
    mut on_event: impl FnMut(&mut F, &mut FakeServer, Event),
) -> Result<F::Output, Error> {
    for _ in 0..MAX_STEPS {
        match flow.poll(session, *clock) {
            Output::Send(req) => match server.handle(*clock, &req) {
                Ok(resp) => flow.handle_response(session, *clock, req.id, resp),
                Err(e) => flow.handle_transport_error(session, *clock, req.id, e),
            },
            Output::Event(ev) => on_event(flow, server, ev),
            Output::Wait(t) => {
                assert!(t >= *clock, "flow asked to wait until a past time");
                *clock = t;
            }
            Output::Idle => {
                // Either waiting for the caller (challenges) — which on_event handles — or a bug.
                panic!("flow is idle with no outstanding request");
            }
            Output::Done(r) => return r,
        }
    }
    panic!("flow did not finish within {MAX_STEPS} steps");
}

/// A solver for [`drive`]: publishes every challenge to the fake server's validation
/// records and tells the flow they are ready.
pub fn solve_all(flow: &mut crate::flow::IssueFlow, server: &mut FakeServer, ev: Event) {
    if let Event::Challenges(list) = ev {
        for c in &list {
            server.publish(c);
        }
        flow.challenges_ready();
    }
}
