//! tls-alpn-01 challenge responder (RFC 8737; RFC 8738 for IP addresses): the challenge
//! certificates, a rustls certificate resolver to compose into your own TLS server, and a
//! tiny standalone futures-rustls server.
//!
//! Like the http-01 server, the standalone server runs on a dedicated background thread with
//! its own single-threaded executor, so it needs no executor from the caller.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use acme_crypto::TlsAlpn01Resolver;
use acme_proto::flow::ChallengeToSolve;
use async_executor::LocalExecutor;
use async_io::{Async, Timer};
use futures_lite::{AsyncWriteExt, future};
use futures_rustls::TlsAcceptor;
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
    /// The server runs on its own background thread, so this needs no executor. It stops when
    /// the returned handle is dropped or shut down. Each handshake must finish within 10
    /// seconds; at most 64 run at once.
    pub fn serve(&self, addr: SocketAddr) -> io::Result<ServerHandle> {
        let config = self.resolver.server_config().map_err(io::Error::other)?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = Async::<TcpListener>::bind(addr)?;
        let local_addr = listener.get_ref().local_addr()?;
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
        let (done_tx, done_rx) = async_channel::bounded::<()>(1);
        thread::Builder::new()
            .name(format!("acme-tls-alpn01-{}", local_addr.port()))
            .spawn(move || {
                let executor = LocalExecutor::new();
                async_io::block_on(
                    executor.run(accept_loop(&executor, listener, acceptor, stop_rx)),
                );
                // Dropping the executor cancels the handshakes in progress.
                drop(executor);
                drop(done_tx);
            })?;
        debug!(%local_addr, "tls-alpn-01 server listening");
        Ok(ServerHandle {
            local_addr,
            stop: stop_tx,
            done: done_rx,
        })
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

/// Decrements the count of handshakes in progress when one ends.
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn accept_loop(
    executor: &LocalExecutor<'_>,
    listener: Async<TcpListener>,
    acceptor: TlsAcceptor,
    stop: async_channel::Receiver<()>,
) {
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        // The stop signal goes first so that a stream of connections cannot starve it.
        let next = future::or(
            async {
                let _ = stop.recv().await;
                None
            },
            async { Some(listener.accept().await) },
        )
        .await;
        match next {
            None => break,
            Some(Ok((stream, peer))) => {
                if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                    active.fetch_sub(1, Ordering::SeqCst);
                    debug!(%peer, "tls-alpn-01 server busy; connection closed");
                    continue;
                }
                let guard = ActiveGuard(Arc::clone(&active));
                executor
                    .spawn(handshake(stream, peer, acceptor.clone(), guard))
                    .detach();
            }
            Some(Err(error)) => {
                debug!(%error, "tls-alpn-01 accept failed");
                Timer::after(Duration::from_millis(50)).await;
            }
        }
    }
    debug!("tls-alpn-01 server stopping");
}

async fn handshake(
    stream: Async<TcpStream>,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    _guard: ActiveGuard,
) {
    let _ = stream.get_ref().set_nodelay(true);
    let work = async {
        let mut tls = acceptor.accept(stream).await?;
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        debug!(%peer, alpn = ?alpn.as_deref().map(String::from_utf8_lossy), "tls-alpn-01 handshake done");
        // No application data on an acme-tls/1 connection: say goodbye.
        tls.close().await
    };
    let outcome = future::or(async { Some(work.await) }, async {
        Timer::after(HANDSHAKE_TIMEOUT).await;
        None
    })
    .await;
    match outcome {
        Some(Ok(())) => {}
        Some(Err(error)) => debug!(%peer, %error, "tls-alpn-01 handshake failed"),
        None => debug!(%peer, "tls-alpn-01 handshake timed out"),
    }
}

/// A running tls-alpn-01 server; dropping it (or [`shutdown`](Self::shutdown)) stops the
/// server and its handshakes in progress.
#[derive(Debug)]
#[must_use = "dropping the handle stops the server"]
pub struct ServerHandle {
    local_addr: SocketAddr,
    stop: async_channel::Sender<()>,
    done: async_channel::Receiver<()>,
}

impl ServerHandle {
    /// The address the server listens on (with the actual port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the server and waits until its thread has closed the listening socket and all
    /// connections. Works under any executor.
    pub async fn shutdown(self) {
        self.stop.close();
        let _ = self.done.recv().await;
        debug!(local_addr = %self.local_addr, "tls-alpn-01 server stopped");
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop.close();
    }
}
