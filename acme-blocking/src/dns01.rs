//! dns-01 solvers (RFC 8555 §8.4).
//!
//! - [`ChalltestsrvDns01Solver`]: `pebble-challtestsrv`'s management API, for tests and demos.
//! - [`Rfc2136Solver`] (feature `rfc2136`, on by default): RFC 2136 dynamic updates, signed
//!   with TSIG, to the zone's primary server (BIND, Knot, PowerDNS, …), over UDP.
//! - [`WaitForPropagation`] (feature `rfc2136`): wraps any dns-01 solver and, after it
//!   presents, queries a DNS server until the TXT value is visible, with a deadline.
//!
//! ```no_run
//! use acme_blocking::dns01::{PropagationCheck, Rfc2136Solver, TsigAlgorithm, TsigKey, WaitForPropagation};
//!
//! let key = TsigKey::from_base64("acme-update.", TsigAlgorithm::HmacSha256, "c2VjcmV0")?;
//! let updates = Rfc2136Solver::new("192.0.2.53:53".parse()?, "example.com").tsig(key);
//! // Present only once the zone's server answers the new value.
//! let solver = WaitForPropagation::new(updates, PropagationCheck::new("192.0.2.53:53".parse()?));
//! # let _ = solver;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::http_client::HttpClient;
use crate::solver::{Solver, SolverError};
use acme_proto::flow::ChallengeToSolve;
use acme_proto::http::{Endpoint, HeaderMap, HeaderValue, Method, Request, RequestId};
use acme_proto::msgs::resources::ChallengeType;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The TXT record name of a challenge, fully qualified (`_acme-challenge.example.com.`).
fn record_fqdn(challenge: &ChallengeToSolve) -> String {
    format!("{}.", challenge.dns01_record_name())
}

/// Publishes dns-01 records through `pebble-challtestsrv`'s management API (`/set-txt`,
/// `/clear-txt`), the DNS server Pebble validates against in tests.
///
/// challtestsrv can only clear all values of a name, while a wildcard and its base domain
/// share one: cleanup clears the name and publishes again the values still in use.
///
/// Test infrastructure only: the API has no authentication, so keep it on loopback.
pub struct ChalltestsrvDns01Solver {
    base_url: String,
    http: Arc<dyn HttpClient>,
    /// Values published, by record name; the lock also serializes the API calls, so a
    /// clear-then-republish never races a concurrent publish.
    records: Mutex<HashMap<String, Vec<String>>>,
}

impl std::fmt::Debug for ChalltestsrvDns01Solver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChalltestsrvDns01Solver")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ChalltestsrvDns01Solver {
    /// A solver for the management API at `base_url` (e.g. `http://127.0.0.1:8055`), using
    /// the default HTTP client with plain HTTP allowed.
    #[cfg(feature = "default-client")]
    pub fn new(base_url: impl Into<String>) -> Self {
        let http = crate::http_client::DefaultClient::builder()
            .allow_http(true)
            .build();
        Self::with_http_client(base_url, Arc::new(http))
    }

    /// A solver using `http` for the API calls.
    pub fn with_http_client(base_url: impl Into<String>, http: Arc<dyn HttpClient>) -> Self {
        ChalltestsrvDns01Solver {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            http,
            records: Mutex::new(HashMap::new()),
        }
    }

    fn post(&self, path: &str, body: serde_json::Value) -> Result<(), SolverError> {
        let url = format!("{}{path}", self.base_url);
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        let request = Request {
            id: RequestId(0),
            endpoint: Endpoint::Other,
            method: Method::POST,
            url: url.clone(),
            headers,
            body: body.to_string().into_bytes(),
            follow_redirects: false,
        };
        let response = self.http.execute(request)?;
        if !response.status().is_success() {
            let body = String::from_utf8_lossy(response.body());
            return Err(format!(
                "POST {url}: HTTP {}: {}",
                response.status(),
                body.chars().take(200).collect::<String>()
            )
            .into());
        }
        tracing::debug!(%url, "challtestsrv updated");
        Ok(())
    }
}

impl Solver for ChalltestsrvDns01Solver {
    fn challenge_types(&self) -> Vec<ChallengeType> {
        vec![ChallengeType::Dns01]
    }

    fn present(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
        let host = record_fqdn(c);
        let value = c.dns01_txt_value();
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        self.post(
            "/set-txt",
            serde_json::json!({ "host": host, "value": value }),
        )?;
        records.entry(host).or_default().push(value);
        Ok(())
    }

    fn cleanup(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
        let host = record_fqdn(c);
        let value = c.dns01_txt_value();
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let remaining = match records.get_mut(&host) {
            Some(values) => {
                if let Some(i) = values.iter().position(|v| v == &value) {
                    values.remove(i);
                }
                values.clone()
            }
            None => Vec::new(),
        };
        if remaining.is_empty() {
            records.remove(&host);
        }
        self.post("/clear-txt", serde_json::json!({ "host": host }))?;
        for v in remaining {
            self.post("/set-txt", serde_json::json!({ "host": host, "value": v }))?;
        }
        Ok(())
    }
}

#[cfg(feature = "rfc2136")]
pub use rfc2136::*;

#[cfg(feature = "rfc2136")]
mod rfc2136 {
    use super::record_fqdn;
    use crate::solver::{Solver, SolverError};
    use acme_crypto::dns::{DnsExchange, DnsReply, TxtChange};
    use acme_proto::flow::{ChallengeSelector, ChallengeToSolve};
    use acme_proto::msgs::resources::ChallengeType;
    use std::io;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
    use std::time::{Duration, Instant, SystemTime};

    pub use acme_crypto::dns::{PropagationCheck, TsigAlgorithm, TsigKey};

    /// One UDP exchange: send the request, read datagrams until the answer or `timeout`
    /// (`Ok(None)`).
    fn udp_exchange(
        server: SocketAddr,
        exchange: &mut DnsExchange,
        timeout: Duration,
    ) -> Result<Option<DnsReply>, SolverError> {
        let local: SocketAddr = if server.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local)?;
        socket.connect(server)?;
        socket.send(exchange.request())?;
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 4096];
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Ok(None);
            }
            socket.set_read_timeout(Some(remaining))?;
            match socket.recv(&mut buf) {
                Ok(n) => {
                    if let Some(reply) = exchange.read_response(&buf[..n])? {
                        return Ok(Some(reply));
                    }
                }
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut =>
                {
                    return Ok(None);
                }
                // E.g. ICMP port unreachable: nobody listens there.
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Send `exchange` to `server`, up to `attempts` times, each waiting `timeout`.
    fn exchange(
        server: SocketAddr,
        exchange: &mut DnsExchange,
        timeout: Duration,
        attempts: u32,
    ) -> Result<DnsReply, SolverError> {
        for attempt in 1..=attempts.max(1) {
            if let Some(reply) = udp_exchange(server, exchange, timeout)? {
                return Ok(reply);
            }
            tracing::debug!(%server, attempt, "no DNS answer in time");
        }
        Err(format!("no answer from the DNS server {server} ({attempts} attempts)").into())
    }

    /// Query `server` for the TXT values of `name` (one UDP exchange, with a timeout).
    pub fn query_txt(
        server: SocketAddr,
        name: &str,
        timeout: Duration,
    ) -> Result<Vec<String>, SolverError> {
        let mut query = DnsExchange::query_txt(name)?;
        Ok(exchange(server, &mut query, timeout, 1)?.txt)
    }

    /// Publishes dns-01 records by RFC 2136 dynamic update, optionally signed with TSIG,
    /// sent over UDP to the zone's primary server.
    ///
    /// Each update waits `timeout` (default 5 s) for the answer and is sent up to 3 times.
    /// Present adds the value to the name's TXT records; cleanup removes exactly that value.
    #[derive(Debug)]
    pub struct Rfc2136Solver {
        server: SocketAddr,
        zone: String,
        key: Option<TsigKey>,
        ttl: u32,
        timeout: Duration,
    }

    impl Rfc2136Solver {
        /// Updates for `zone` (e.g. `example.com`; every record name must be inside it) sent
        /// to `server` (the primary, e.g. `192.0.2.53:53`). TTL 60 s, no TSIG.
        pub fn new(server: SocketAddr, zone: impl Into<String>) -> Self {
            Rfc2136Solver {
                server,
                zone: zone.into(),
                key: None,
                ttl: 60,
                timeout: Duration::from_secs(5),
            }
        }

        /// Sign updates with `key` (and require signed answers).
        pub fn tsig(mut self, key: TsigKey) -> Self {
            self.key = Some(key);
            self
        }

        /// The TTL of the records created.
        pub fn ttl(mut self, seconds: u32) -> Self {
            self.ttl = seconds;
            self
        }

        /// How long each attempt waits for the server's answer.
        pub fn timeout(mut self, timeout: Duration) -> Self {
            self.timeout = timeout;
            self
        }

        fn update(&self, c: &ChallengeToSolve, change: TxtChange) -> Result<(), SolverError> {
            let mut update = DnsExchange::update_txt(
                &self.zone,
                &record_fqdn(c),
                &c.dns01_txt_value(),
                change,
                self.key.as_ref(),
                SystemTime::now(),
            )?;
            exchange(self.server, &mut update, self.timeout, 3)?;
            Ok(())
        }
    }

    impl Solver for Rfc2136Solver {
        fn challenge_types(&self) -> Vec<ChallengeType> {
            vec![ChallengeType::Dns01]
        }

        fn present(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
            self.update(c, TxtChange::Add { ttl: self.ttl })
        }

        fn cleanup(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
            self.update(c, TxtChange::Remove)
        }
    }

    /// Wraps a solver: after it presents a dns-01 challenge, waits until
    /// [`PropagationCheck::server`] answers the TXT value, so the CA is not asked to validate
    /// before the record is visible. Other challenge types pass straight through.
    #[derive(Debug)]
    pub struct WaitForPropagation<S> {
        inner: S,
        check: PropagationCheck,
    }

    impl<S: Solver> WaitForPropagation<S> {
        /// `inner`, checked with `check`.
        pub fn new(inner: S, check: PropagationCheck) -> Self {
            WaitForPropagation { inner, check }
        }

        /// The wrapped solver.
        pub fn inner(&self) -> &S {
            &self.inner
        }

        fn wait(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
            let name = record_fqdn(c);
            let value = c.dns01_txt_value();
            let started = Instant::now();
            let mut last_error = None;
            loop {
                match query_txt(self.check.server, &name, self.check.query_timeout) {
                    Ok(values) if values.contains(&value) => {
                        tracing::info!(name = %name, elapsed = ?started.elapsed(), "dns-01 record visible");
                        return Ok(());
                    }
                    Ok(values) => {
                        tracing::debug!(name = %name, ?values, "dns-01 record not visible yet");
                    }
                    Err(e) => {
                        tracing::debug!(name = %name, error = %e, "dns-01 propagation query failed");
                        last_error = Some(e.to_string());
                    }
                }
                if started.elapsed() + self.check.interval > self.check.deadline {
                    return Err(format!(
                        "the TXT record {name} was not visible at {} within {:?}{}",
                        self.check.server,
                        self.check.deadline,
                        last_error
                            .map(|e| format!(" (last error: {e})"))
                            .unwrap_or_default()
                    )
                    .into());
                }
                std::thread::sleep(self.check.interval);
            }
        }
    }

    impl<S: Solver> Solver for WaitForPropagation<S> {
        fn challenge_types(&self) -> Vec<ChallengeType> {
            self.inner.challenge_types()
        }

        fn present(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
            self.inner.present(c)?;
            if c.kind() == &ChallengeType::Dns01 {
                self.wait(c)?;
            }
            Ok(())
        }

        fn cleanup(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
            self.inner.cleanup(c)
        }

        fn selector(&self) -> ChallengeSelector {
            self.inner.selector()
        }
    }
}
