//! dns-01 solvers (RFC 8555 §8.4).
//!
//! - [`ChalltestsrvDns01Solver`]: `pebble-challtestsrv`'s management API, for tests and demos.
//! - [`Rfc2136Solver`] (feature `rfc2136`): RFC 2136 dynamic updates, signed with TSIG, to
//!   the zone's primary server (BIND, Knot, PowerDNS, …), over UDP.
//! - [`WaitForPropagation`] (feature `rfc2136`): wraps any dns-01 solver and, after it
//!   presents, queries a resolver until the TXT value is visible, with a deadline.
//!
//! The UDP parts need a runtime that implements [`DnsUdp`]; `acme-tokio` and `acme-smol` do.

use crate::http_client::{BoxFuture, HttpClient};
use crate::runtime::Runtime;
use crate::solver::{Solver, SolverError};
use acme_proto::flow::ChallengeToSolve;
use acme_proto::http::{Endpoint, HeaderMap, HeaderValue, Method, Request, RequestId};
use acme_proto::msgs::resources::ChallengeType;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use tracing::debug;

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
pub struct ChalltestsrvDns01Solver<R> {
    base_url: String,
    http: Arc<dyn HttpClient>,
    /// Values published, by record name; the lock also serializes the API calls, so a
    /// clear-then-republish never races a concurrent publish.
    records: async_lock::Mutex<HashMap<String, Vec<String>>>,
    _runtime: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for ChalltestsrvDns01Solver<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChalltestsrvDns01Solver")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> ChalltestsrvDns01Solver<R> {
    /// A solver for the management API at `base_url` (e.g. `http://127.0.0.1:8055`), using
    /// the runtime's default HTTP client with plain HTTP allowed.
    pub fn new(base_url: impl Into<String>) -> Result<Self, SolverError> {
        let http = R::default_http_client(&[], true)?;
        Ok(Self::with_http_client(base_url, http))
    }

    /// A solver using `http` for the API calls.
    pub fn with_http_client(base_url: impl Into<String>, http: Arc<dyn HttpClient>) -> Self {
        ChalltestsrvDns01Solver {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            http,
            records: async_lock::Mutex::new(HashMap::new()),
            _runtime: PhantomData,
        }
    }

    async fn post(&self, path: &str, body: serde_json::Value) -> Result<(), SolverError> {
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
        let response = self.http.execute(request).await?;
        if !response.status().is_success() {
            let body = String::from_utf8_lossy(response.body());
            return Err(format!(
                "POST {url}: HTTP {}: {}",
                response.status(),
                body.chars().take(200).collect::<String>()
            )
            .into());
        }
        debug!(%url, "challtestsrv updated");
        Ok(())
    }
}

impl<R: Runtime> Solver for ChalltestsrvDns01Solver<R> {
    fn challenge_types(&self) -> Vec<ChallengeType> {
        vec![ChallengeType::Dns01]
    }

    fn present<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        Box::pin(async move {
            let host = record_fqdn(c);
            let value = c.dns01_txt_value();
            let mut records = self.records.lock().await;
            self.post(
                "/set-txt",
                serde_json::json!({ "host": host, "value": value }),
            )
            .await?;
            records.entry(host).or_default().push(value);
            Ok(())
        })
    }

    fn cleanup<'a>(&'a self, c: &'a ChallengeToSolve) -> BoxFuture<'a, Result<(), SolverError>> {
        Box::pin(async move {
            let host = record_fqdn(c);
            let value = c.dns01_txt_value();
            let mut records = self.records.lock().await;
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
            self.post("/clear-txt", serde_json::json!({ "host": host }))
                .await?;
            for v in remaining {
                self.post("/set-txt", serde_json::json!({ "host": host, "value": v }))
                    .await?;
            }
            Ok(())
        })
    }
}

#[cfg(feature = "rfc2136")]
pub use rfc2136::{DnsUdp, PropagationCheck, Rfc2136Solver, WaitForPropagation, query_txt};

#[cfg(feature = "rfc2136")]
mod rfc2136 {
    use super::record_fqdn;
    use crate::http_client::BoxFuture;
    use crate::runtime::Runtime;
    use crate::solver::{Solver, SolverError};
    pub use acme_crypto::dns::PropagationCheck;
    use acme_crypto::dns::{DnsError, DnsExchange, DnsReply, TsigKey, TxtChange};
    use acme_proto::flow::ChallengeToSolve;
    use acme_proto::msgs::resources::ChallengeType;
    use std::io;
    use std::marker::PhantomData;
    use std::net::SocketAddr;
    use std::time::{Duration, Instant, SystemTime};
    use tracing::{debug, info};

    /// A runtime that can do one DNS exchange over UDP.
    pub trait DnsUdp: Runtime {
        /// Send `request` to `server` from a fresh UDP socket connected to it, then hand each
        /// datagram received to `accept` until it returns `true` (`Ok(true)`) or `timeout`
        /// has passed (`Ok(false)`).
        fn udp_exchange<'a>(
            server: SocketAddr,
            request: &'a [u8],
            timeout: Duration,
            accept: &'a mut (dyn FnMut(&[u8]) -> bool + Send),
        ) -> BoxFuture<'a, io::Result<bool>>;
    }

    /// Send `exchange` to `server`, up to `attempts` times, each waiting `timeout`.
    async fn exchange<R: DnsUdp>(
        server: SocketAddr,
        exchange: &mut DnsExchange,
        timeout: Duration,
        attempts: u32,
    ) -> Result<DnsReply, SolverError> {
        let request = exchange.request().to_vec();
        for attempt in 1..=attempts.max(1) {
            let mut outcome: Option<Result<DnsReply, DnsError>> = None;
            let mut accept = |datagram: &[u8]| match exchange.read_response(datagram) {
                Ok(None) => false,
                Ok(Some(reply)) => {
                    outcome = Some(Ok(reply));
                    true
                }
                Err(e) => {
                    outcome = Some(Err(e));
                    true
                }
            };
            let answered = R::udp_exchange(server, &request, timeout, &mut accept).await?;
            match outcome {
                Some(result) if answered => return Ok(result?),
                _ => debug!(%server, attempt, "no DNS answer in time"),
            }
        }
        Err(format!("no answer from the DNS server {server} ({attempts} attempts)").into())
    }

    /// Query `resolver` for the TXT values of `name` (one UDP exchange, with a timeout).
    pub async fn query_txt<R: DnsUdp>(
        resolver: SocketAddr,
        name: &str,
        timeout: Duration,
    ) -> Result<Vec<String>, SolverError> {
        let mut query = DnsExchange::query_txt(name)?;
        Ok(exchange::<R>(resolver, &mut query, timeout, 1).await?.txt)
    }

    /// Publishes dns-01 records by RFC 2136 dynamic update, optionally signed with TSIG,
    /// sent over UDP to the zone's primary server.
    ///
    /// Each update waits `timeout` (default 5 s) for the answer and is sent up to 3 times.
    /// Present adds the value to the name's TXT records; cleanup removes exactly that value.
    pub struct Rfc2136Solver<R> {
        server: SocketAddr,
        zone: String,
        key: Option<TsigKey>,
        ttl: u32,
        timeout: Duration,
        _runtime: PhantomData<fn() -> R>,
    }

    impl<R> std::fmt::Debug for Rfc2136Solver<R> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Rfc2136Solver")
                .field("server", &self.server)
                .field("zone", &self.zone)
                .field("key", &self.key)
                .field("ttl", &self.ttl)
                .finish_non_exhaustive()
        }
    }

    impl<R: DnsUdp> Rfc2136Solver<R> {
        /// Updates for `zone` (e.g. `example.com`; every record name must be inside it) sent
        /// to `server` (the primary, e.g. `192.0.2.53:53`). TTL 60 s, no TSIG.
        pub fn new(server: SocketAddr, zone: impl Into<String>) -> Self {
            Rfc2136Solver {
                server,
                zone: zone.into(),
                key: None,
                ttl: 60,
                timeout: Duration::from_secs(5),
                _runtime: PhantomData,
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

        async fn update(&self, c: &ChallengeToSolve, change: TxtChange) -> Result<(), SolverError> {
            let mut update = DnsExchange::update_txt(
                &self.zone,
                &record_fqdn(c),
                &c.dns01_txt_value(),
                change,
                self.key.as_ref(),
                SystemTime::now(),
            )?;
            exchange::<R>(self.server, &mut update, self.timeout, 3).await?;
            Ok(())
        }
    }

    impl<R: DnsUdp> Solver for Rfc2136Solver<R> {
        fn challenge_types(&self) -> Vec<ChallengeType> {
            vec![ChallengeType::Dns01]
        }

        fn present<'a>(
            &'a self,
            c: &'a ChallengeToSolve,
        ) -> BoxFuture<'a, Result<(), SolverError>> {
            Box::pin(self.update(c, TxtChange::Add { ttl: self.ttl }))
        }

        fn cleanup<'a>(
            &'a self,
            c: &'a ChallengeToSolve,
        ) -> BoxFuture<'a, Result<(), SolverError>> {
            Box::pin(self.update(c, TxtChange::Remove))
        }
    }

    /// Wraps a solver: after it presents a dns-01 challenge, waits until
    /// [`PropagationCheck::server`] answers the TXT value, so the CA is not asked to validate
    /// before the record is visible. Other challenge types pass straight through.
    pub struct WaitForPropagation<R, S> {
        inner: S,
        check: PropagationCheck,
        _runtime: PhantomData<fn() -> R>,
    }

    impl<R, S: std::fmt::Debug> std::fmt::Debug for WaitForPropagation<R, S> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("WaitForPropagation")
                .field("inner", &self.inner)
                .field("check", &self.check)
                .finish_non_exhaustive()
        }
    }

    impl<R: DnsUdp, S: Solver> WaitForPropagation<R, S> {
        /// `inner`, checked with `check`.
        pub fn new(inner: S, check: PropagationCheck) -> Self {
            WaitForPropagation {
                inner,
                check,
                _runtime: PhantomData,
            }
        }

        /// The wrapped solver.
        pub fn inner(&self) -> &S {
            &self.inner
        }

        async fn wait(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
            let name = record_fqdn(c);
            let value = c.dns01_txt_value();
            let started = Instant::now();
            let mut last_error = None;
            loop {
                match query_txt::<R>(self.check.server, &name, self.check.query_timeout).await {
                    Ok(values) if values.contains(&value) => {
                        info!(name = %name, elapsed = ?started.elapsed(), "dns-01 record visible");
                        return Ok(());
                    }
                    Ok(values) => debug!(name = %name, ?values, "dns-01 record not visible yet"),
                    Err(e) => {
                        debug!(name = %name, error = %e, "dns-01 propagation query failed");
                        last_error = Some(e.to_string());
                    }
                }
                let elapsed = started.elapsed();
                if elapsed + self.check.interval > self.check.deadline {
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
                R::sleep(self.check.interval).await;
            }
        }
    }

    impl<R: DnsUdp, S: Solver> Solver for WaitForPropagation<R, S> {
        fn challenge_types(&self) -> Vec<ChallengeType> {
            self.inner.challenge_types()
        }

        fn present<'a>(
            &'a self,
            c: &'a ChallengeToSolve,
        ) -> BoxFuture<'a, Result<(), SolverError>> {
            Box::pin(async move {
                self.inner.present(c).await?;
                if c.kind() == &ChallengeType::Dns01 {
                    self.wait(c).await?;
                }
                Ok(())
            })
        }

        fn cleanup<'a>(
            &'a self,
            c: &'a ChallengeToSolve,
        ) -> BoxFuture<'a, Result<(), SolverError>> {
            self.inner.cleanup(c)
        }

        fn selector(&self) -> acme_proto::flow::ChallengeSelector {
            self.inner.selector()
        }
    }
}
