//! tls-alpn-01 challenge responder (RFC 8737; RFC 8738 for IP addresses): the challenge
//! certificates, a rustls certificate resolver to compose into your own TLS server, and a
//! tiny standalone tokio-rustls server.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use acme_crypto::TlsAlpn01Resolver;
use acme_proto::flow::ChallengeToSolve;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tracing::debug;

/// A client has this long to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes served at once; further connections are closed at once.
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

    /// Starts a TLS server on `addr` (port 443 for a real validation; port 0 picks a free
    /// one) that completes handshakes offering ALPN `acme-tls/1` with the challenge
    /// certificate of the SNI name, then closes the connection; every other handshake fails.
    ///
    /// Must be called from within a Tokio runtime (with IO and time enabled); the server runs
    /// as a task of that runtime until the returned handle is dropped or shut down. Each
    /// handshake must finish within 10 seconds; at most 64 run at once.
    pub fn serve(&self, addr: SocketAddr) -> io::Result<ServerHandle> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| {
            io::Error::other(format!("tls-alpn-01 server needs a Tokio runtime: {e}"))
        })?;
        let config = self.resolver.server_config().map_err(io::Error::other)?;
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let local_addr = listener.local_addr()?;
        debug!(%local_addr, "tls-alpn-01 server listening");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let task = runtime.spawn(accept_loop(listener, acceptor));
        Ok(ServerHandle { local_addr, task })
    }
}

impl AsRef<TlsAlpn01Resolver> for TlsAlpn01Responder {
    fn as_ref(&self) -> &TlsAlpn01Resolver {
        &self.resolver
    }
}

/// Solves tls-alpn-01 with a [`TlsAlpn01Responder`] (serve it with
/// [`TlsAlpn01Responder::serve`], or compose its resolver into your own TLS server).
pub type TlsAlpn01Solver = acme_async::TlsAlpn01Solver<TlsAlpn01Responder>;

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor) {
    // Dropping the set (when the accept loop is aborted) aborts the handshakes too.
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                debug!(%error, "tls-alpn-01 accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        if connections.len() >= MAX_CONNECTIONS {
            debug!(%peer, "tls-alpn-01 server busy; connection closed");
            continue;
        }
        connections.spawn(handshake(stream, peer, acceptor.clone()));
    }
}

async fn handshake(stream: TcpStream, peer: SocketAddr, acceptor: TlsAcceptor) {
    let _ = stream.set_nodelay(true);
    let work = async {
        let mut tls = acceptor.accept(stream).await?;
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        debug!(%peer, alpn = ?alpn.as_deref().map(String::from_utf8_lossy), "tls-alpn-01 handshake done");
        // No application data on an acme-tls/1 connection: say goodbye.
        tls.shutdown().await
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, work).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => debug!(%peer, %error, "tls-alpn-01 handshake failed"),
        Err(_) => debug!(%peer, "tls-alpn-01 handshake timed out"),
    }
}

/// A running tls-alpn-01 server; dropping it (or [`shutdown`](Self::shutdown)) stops the
/// server and its handshakes in progress.
#[derive(Debug)]
#[must_use = "dropping the handle stops the server"]
pub struct ServerHandle {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// The address the server listens on (with the actual port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the server and waits until the listening socket is closed.
    pub async fn shutdown(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
        debug!(local_addr = %self.local_addr, "tls-alpn-01 server stopped");
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}
