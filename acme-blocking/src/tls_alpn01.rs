//! tls-alpn-01 challenge responder (RFC 8737; RFC 8738 for IP addresses).
//!
//! [`TlsAlpn01Responder`] keeps the challenge certificates by SNI name. Compose its rustls
//! certificate resolver ([`TlsAlpn01Responder::resolver`]) into your own TLS server, or let
//! [`TlsAlpn01Responder::serve`] run a minimal TLS server on a background thread.

use crate::solver::{Solver, SolverError};
use acme_crypto::TlsAlpn01Resolver;
use acme_proto::flow::ChallengeToSolve;
use acme_proto::msgs::resources::ChallengeType;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long the server waits for each read or write on a connection.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client may take to complete its handshake.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);
/// Handshakes served at once; further connections are closed at once until one finishes.
const MAX_CONNECTIONS: usize = 64;

/// Answers tls-alpn-01 challenges: holds the challenge certificates, by SNI name.
///
/// Clones share the certificates, so a responder can be handed to a server
/// ([`serve`](Self::serve), or your own through [`resolver`](Self::resolver)) while the
/// issuance flow publishes and withdraws challenges.
#[derive(Clone, Debug, Default)]
pub struct TlsAlpn01Responder {
    resolver: TlsAlpn01Resolver,
}

impl TlsAlpn01Responder {
    /// An empty responder (rustls with the `ring` provider).
    pub fn new() -> Self {
        Self::default()
    }

    /// The rustls certificate resolver. To answer challenges from your own TLS server on
    /// port 443, use `Arc::new(responder.resolver().with_fallback(your_resolver))` as its
    /// `cert_resolver` and add `acme-tls/1` to its `alpn_protocols`; close connections that
    /// negotiated `acme-tls/1` right after the handshake.
    pub fn resolver(&self) -> &TlsAlpn01Resolver {
        &self.resolver
    }

    /// Builds and publishes the challenge certificate for `challenge`.
    pub fn insert(&self, challenge: &ChallengeToSolve) -> Result<(), acme_crypto::Error> {
        self.resolver.insert_challenge(challenge)
    }

    /// Withdraws the certificate of `challenge`; returns whether it was published.
    pub fn remove(&self, challenge: &ChallengeToSolve) -> bool {
        self.resolver.remove_challenge(challenge)
    }

    /// Serves the challenges over TLS on `addr` (port 443 for a real CA; port 0 picks a free
    /// one), from a background thread, until the returned handle is dropped or shut down.
    ///
    /// Handshakes offering ALPN `acme-tls/1` get the challenge certificate of their SNI name
    /// and are then closed; every other handshake fails. Each connection gets its own thread
    /// (at most 64 at once); each read waits at most 5 seconds and the handshake must finish
    /// within 10.
    pub fn serve(&self, addr: SocketAddr) -> io::Result<ServerHandle> {
        let config = Arc::new(self.resolver.server_config().map_err(io::Error::other)?);
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let accept_thread = {
            let stop = Arc::clone(&stop);
            thread::Builder::new()
                .name("acme-tls-alpn01-accept".into())
                .spawn(move || accept_loop(&listener, &config, &stop))?
        };
        tracing::debug!(addr = %local_addr, "tls-alpn-01 responder listening");
        Ok(ServerHandle {
            local_addr,
            stop,
            accept_thread: Some(accept_thread),
        })
    }
}

impl AsRef<TlsAlpn01Resolver> for TlsAlpn01Responder {
    fn as_ref(&self) -> &TlsAlpn01Resolver {
        &self.resolver
    }
}

/// A running tls-alpn-01 server (from [`TlsAlpn01Responder::serve`]); stops it when dropped.
#[derive(Debug)]
#[must_use = "dropping the handle stops the server"]
pub struct ServerHandle {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The address the server listens on (with the actual port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections and waits for the accepting thread to end. Handshakes
    /// already in progress finish on their own threads (bounded by the 10-second deadline).
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let Some(thread) = self.accept_thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        // `accept` blocks: connect once to wake it so it sees the flag.
        let ip = match self.local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let wake = SocketAddr::new(ip, self.local_addr.port());
        match TcpStream::connect_timeout(&wake, Duration::from_secs(1)) {
            Ok(_) => {
                if thread.join().is_err() {
                    tracing::warn!("tls-alpn-01 accept thread panicked");
                }
            }
            // Not joined: the thread ends at its next accepted connection.
            Err(e) => tracing::warn!(error = %e, "could not wake the tls-alpn-01 accept thread"),
        }
        tracing::debug!(addr = %self.local_addr, "tls-alpn-01 responder stopped");
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Decrements the count of active connections when the connection's thread ends.
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn accept_loop(listener: &TcpListener, config: &Arc<rustls::ServerConfig>, stop: &AtomicBool) {
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let accepted = listener.accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let (stream, peer) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                tracing::debug!(error = %e, "tls-alpn-01 accept failed");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            tracing::debug!(peer = %peer, "tls-alpn-01 responder busy; connection closed");
            continue;
        }
        let guard = ActiveGuard(Arc::clone(&active));
        let config = Arc::clone(config);
        let spawned = thread::Builder::new()
            .name("acme-tls-alpn01-conn".into())
            .spawn(move || {
                let _guard = guard;
                if let Err(e) = handshake(stream, config) {
                    tracing::debug!(peer = %peer, error = %e, "tls-alpn-01 handshake failed");
                }
            });
        if let Err(e) = spawned {
            tracing::debug!(error = %e, "could not spawn a tls-alpn-01 connection thread");
        }
    }
}

fn handshake(mut stream: TcpStream, config: Arc<rustls::ServerConfig>) -> io::Result<()> {
    let deadline = Instant::now() + HANDSHAKE_DEADLINE;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    while conn.is_handshaking() {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "handshake too slow",
            ));
        }
        stream.set_read_timeout(Some(remaining.min(IO_TIMEOUT)))?;
        let (read, written) = conn.complete_io(&mut stream)?;
        if read == 0 && written == 0 && conn.is_handshaking() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "peer closed during the handshake",
            ));
        }
    }
    tracing::debug!(
        alpn = ?conn.alpn_protocol().map(String::from_utf8_lossy),
        "tls-alpn-01 handshake done"
    );
    // No application data on an acme-tls/1 connection: say goodbye.
    conn.send_close_notify();
    while conn.wants_write() {
        conn.write_tls(&mut stream)?;
    }
    let _ = stream.shutdown(std::net::Shutdown::Write);
    Ok(())
}

/// Solves tls-alpn-01 with a [`TlsAlpn01Responder`] (serve it with
/// [`TlsAlpn01Responder::serve`], or compose its resolver into your own TLS server).
#[derive(Clone, Debug, Default)]
pub struct TlsAlpn01Solver {
    responder: TlsAlpn01Responder,
}

impl TlsAlpn01Solver {
    /// A solver publishing into `responder`.
    pub fn new(responder: TlsAlpn01Responder) -> TlsAlpn01Solver {
        TlsAlpn01Solver { responder }
    }

    /// The responder (to serve, or to take the resolver from).
    pub fn responder(&self) -> &TlsAlpn01Responder {
        &self.responder
    }
}

impl Solver for TlsAlpn01Solver {
    fn challenge_types(&self) -> Vec<ChallengeType> {
        vec![ChallengeType::TlsAlpn01]
    }

    fn present(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
        Ok(self.responder.insert(c)?)
    }

    fn cleanup(&self, c: &ChallengeToSolve) -> Result<(), SolverError> {
        self.responder.remove(c);
        Ok(())
    }
}
