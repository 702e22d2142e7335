// Support for the account and certificate lifecycle end-to-end tests (issue 6), shared by
// every adapter's `pebble_lifecycle.rs` (included with `#[path]`, next to `e2e.rs`):
//
// * dns-01 through pebble-challtestsrv's management API (`/set-txt`, `/clear-txt`): Pebble
//   resolves `_acme-challenge.` names through challtestsrv, so these tests bind no port and
//   never contend for the http-01 port 5002 with another test binary;
// * a record of the requests an adapter's HTTP client performed, with the JWS payloads
//   decoded, to assert what was (and was not) sent.
#![allow(dead_code, unreachable_pub)]

use acme_proto::http::{Endpoint, HeaderMap, Method, Request, RequestId, Response, TransportError};
use acme_proto::msgs::jws;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `POST {path}` with a JSON body to challtestsrv's plain-HTTP management interface.
fn challtestsrv_post(base: &str, path: &str, body: &str) -> Result<(), String> {
    let authority = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("challtestsrv URL {base} is not http://"))?
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(authority)
        .map_err(|e| format!("cannot connect to challtestsrv at {authority}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("challtestsrv {path}: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("challtestsrv {path}: {e}"))?;
    let status = response.lines().next().unwrap_or_default();
    if status.starts_with("HTTP/1.1 200") || status.starts_with("HTTP/1.0 200") {
        Ok(())
    } else {
        Err(format!("challtestsrv {path} answered {status:?}"))
    }
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Publish a dns-01 TXT record (`record_name` without the trailing dot).
pub fn set_txt(challtestsrv: &str, record_name: &str, value: &str) -> Result<(), String> {
    let body = format!(
        "{{\"host\":{},\"value\":{}}}",
        json_string(&format!("{record_name}.")),
        json_string(value)
    );
    challtestsrv_post(challtestsrv, "/set-txt", &body)
}

/// Remove the TXT records of `record_name`.
pub fn clear_txt(challtestsrv: &str, record_name: &str) -> Result<(), String> {
    let body = format!("{{\"host\":{}}}", json_string(&format!("{record_name}.")));
    challtestsrv_post(challtestsrv, "/clear-txt", &body)
}

/// A GET of Pebble's management interface (`/roots/N`, `/intermediates/N`), to be performed
/// with the adapter's own HTTP client (it trusts `ACME_TEST_CA_CERT`).
pub fn management_request(management: &str, path: &str) -> Request {
    Request {
        id: RequestId(0),
        endpoint: Endpoint::Directory,
        method: Method::GET,
        url: format!("{management}{path}"),
        headers: HeaderMap::new(),
        body: Vec::new(),
        follow_redirects: false,
    }
}

/// One request an adapter performed, and the status it got.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub endpoint: Endpoint,
    pub method: Method,
    pub url: String,
    pub body: Vec<u8>,
    /// The response status (0 when the transport failed).
    pub status: u16,
    /// Refused as `badNonce`: the server did not act on it, and the client re-sent it.
    pub bad_nonce: bool,
}

impl Exchange {
    /// The record of `request`'s fields and the result the client got.
    pub fn record(
        endpoint: Endpoint,
        method: Method,
        url: String,
        body: Vec<u8>,
        result: &Result<Response, TransportError>,
    ) -> Exchange {
        let status = result.as_ref().map_or(0, |r| r.status().as_u16());
        let bad_nonce = result.as_ref().is_ok_and(|r| {
            let body = String::from_utf8_lossy(r.body());
            body.contains("urn:ietf:params:acme:error:badNonce")
        });
        Exchange {
            endpoint,
            method,
            url,
            body,
            status,
            bad_nonce,
        }
    }

    /// The decoded JWS protected header of a POST.
    pub fn protected(&self) -> Option<serde_json::Value> {
        jws::parse(&self.body).map(|j| j.protected)
    }

    /// The decoded JWS payload of a POST: `Null` for POST-as-GET (empty payload).
    pub fn payload(&self) -> Option<serde_json::Value> {
        let parsed = jws::parse(&self.body)?;
        if parsed.payload.is_empty() {
            return Some(serde_json::Value::Null);
        }
        serde_json::from_slice(&parsed.payload).ok()
    }

    /// Whether the payload carries an External Account Binding.
    pub fn sends_eab(&self) -> bool {
        self.payload()
            .is_some_and(|p| p.get("externalAccountBinding").is_some())
    }
}

/// The shared log a recording HTTP client appends to.
#[derive(Clone, Debug, Default)]
pub struct Log(Arc<Mutex<Vec<Exchange>>>);

impl Log {
    pub fn push(&self, exchange: Exchange) {
        self.0.lock().unwrap().push(exchange);
    }

    /// Every request the server acted on, in order. Pebble refuses 5% of nonces at random;
    /// the refused attempts (re-sent at once with a fresh nonce) are left out, so that what
    /// the tests count does not depend on that lottery.
    pub fn all(&self) -> Vec<Exchange> {
        let all = self.0.lock().unwrap();
        all.iter().filter(|e| !e.bad_nonce).cloned().collect()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    /// How many requests went to `endpoint`.
    pub fn count(&self, endpoint: Endpoint) -> usize {
        self.all().iter().filter(|e| e.endpoint == endpoint).count()
    }

    /// The endpoints, in order.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.all().iter().map(|e| e.endpoint).collect()
    }
}

/// The EAB credentials of the `e2e-eab` phase (`ACME_TEST_EAB_KID`, `ACME_TEST_EAB_KEY`).
pub fn eab_env() -> (String, String) {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: EAB tests run in `cargo xtask ci e2e-eab`")
        })
    };
    (var("ACME_TEST_EAB_KID"), var("ACME_TEST_EAB_KEY"))
}

/// Pebble's terms of service URL (its directory's `meta.termsOfService`).
pub const PEBBLE_TERMS_OF_SERVICE: &str = "data:text/plain,Do%20what%20thou%20wilt";
