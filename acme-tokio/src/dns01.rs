//! dns-01 solvers on Tokio: `pebble-challtestsrv`'s API ([`ChalltestsrvDns01Solver`]), and
//! with feature `rfc2136` (on by default) RFC 2136 dynamic updates with TSIG
//! ([`Rfc2136Solver`]) and the propagation check ([`WaitForPropagation`]), over Tokio's UDP.
//!
//! ```no_run
//! use acme_tokio::dns01::{PropagationCheck, Rfc2136Solver, TsigAlgorithm, TsigKey, WaitForPropagation};
//!
//! let key = TsigKey::from_base64("acme-update.", TsigAlgorithm::HmacSha256, "c2VjcmV0")?;
//! let updates = Rfc2136Solver::new("192.0.2.53:53".parse()?, "example.com").tsig(key);
//! // Present only once the zone's server answers the new value.
//! let solver = WaitForPropagation::new(updates, PropagationCheck::new("192.0.2.53:53".parse()?));
//! # let _ = solver;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::runtime::Tokio;

/// Publishes dns-01 records through `pebble-challtestsrv`'s management API (tests, demos).
pub type ChalltestsrvDns01Solver = acme_async::ChalltestsrvDns01Solver<Tokio>;

#[cfg(feature = "rfc2136")]
pub use rfc2136::*;

#[cfg(feature = "rfc2136")]
mod rfc2136 {
    use crate::http_client::BoxFuture;
    use crate::runtime::Tokio;
    use acme_async::dns01::DnsUdp;
    use std::io;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
    use std::time::Duration;
    use tokio::net::UdpSocket;

    pub use acme_async::dns01::PropagationCheck;
    pub use acme_crypto::dns::{TsigAlgorithm, TsigKey};

    /// Publishes dns-01 records by RFC 2136 dynamic update (optionally TSIG-signed).
    pub type Rfc2136Solver = acme_async::dns01::Rfc2136Solver<Tokio>;

    /// Wraps a dns-01 solver with a propagation check.
    pub type WaitForPropagation<S> = acme_async::dns01::WaitForPropagation<Tokio, S>;

    /// Query `server` for the TXT values of `name` (one UDP exchange, with a timeout).
    pub async fn query_txt(
        server: SocketAddr,
        name: &str,
        timeout: Duration,
    ) -> Result<Vec<String>, acme_async::SolverError> {
        acme_async::dns01::query_txt::<Tokio>(server, name, timeout).await
    }

    impl DnsUdp for Tokio {
        fn udp_exchange<'a>(
            server: SocketAddr,
            request: &'a [u8],
            timeout: Duration,
            accept: &'a mut (dyn FnMut(&[u8]) -> bool + Send),
        ) -> BoxFuture<'a, io::Result<bool>> {
            Box::pin(async move {
                let local: SocketAddr = if server.is_ipv4() {
                    (Ipv4Addr::UNSPECIFIED, 0).into()
                } else {
                    (Ipv6Addr::UNSPECIFIED, 0).into()
                };
                let socket = UdpSocket::bind(local).await?;
                socket.connect(server).await?;
                socket.send(request).await?;
                let deadline = tokio::time::Instant::now() + timeout;
                let mut buf = vec![0u8; 4096];
                loop {
                    match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                        Err(_) => return Ok(false),
                        Ok(Ok(n)) => {
                            if accept(&buf[..n]) {
                                return Ok(true);
                            }
                        }
                        // E.g. ICMP port unreachable: nobody listens there.
                        Ok(Err(e)) => return Err(e),
                    }
                }
            })
        }
    }
}
