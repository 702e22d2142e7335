//! http-01 challenge responder (RFC 8555 §8.3): a token → key-authorization map, a path
//! handler to mount in your own server, and a tiny standalone hyper server.
//!
//! The standalone server runs on a dedicated background thread with its own single-threaded
//! executor (async-executor's `LocalExecutor`, driven by `async_io::block_on`). It therefore
//! does not depend on the caller's executor: it works the same under smol, async-std or
//! plain blocking code, and keeps answering even if the caller's executor is busy.

use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use acme_async::http01::Http01Tokens;
use async_executor::LocalExecutor;
use async_io::{Async, Timer};
use futures_lite::future;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use smol_hyper::rt::{FuturesIo, SmolTimer};
use tracing::debug;

pub use acme_async::http01::CHALLENGE_PATH_PREFIX;

/// A client has this long to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound on the life of one connection to the standalone server.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// Connections served at once; further ones are closed at once until one finishes.
const MAX_CONNECTIONS: usize = 64;

/// Answers http-01 challenges: maps challenge tokens to key authorizations.
///
/// Clones share the same map, so a responder can be handed to a server (see
/// [`serve`](Self::serve) or [`lookup_path`](Self::lookup_path)) and updated afterwards.
#[derive(Clone, Debug, Default)]
pub struct Http01Responder {
    tokens: Http01Tokens,
}

impl Http01Responder {
    /// An empty responder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `key_authorization` for `token` from now on (replacing any previous value).
    pub fn insert(&self, token: impl Into<String>, key_authorization: impl Into<String>) {
        self.tokens.insert(token.into(), key_authorization.into());
    }

    /// Stops serving `token`; returns the key authorization it had.
    pub fn remove(&self, token: &str) -> Option<String> {
        self.tokens.remove(token)
    }

    /// The response body for a request path: the key authorization when `path` is
    /// `/.well-known/acme-challenge/{token}` for a known token made of base64url characters
    /// only, `None` for anything else. Mount this in your own HTTP server and answer `None`
    /// with 404.
    pub fn lookup_path(&self, path: &str) -> Option<String> {
        self.tokens.lookup_path(path)
    }

    /// Starts a standalone HTTP/1 server on `addr` (port 80 for a real validation; port 0
    /// picks a free one) answering `GET`/`HEAD` of challenge paths with `200 text/plain` and
    /// the key authorization, and everything else with 404. At most 64 connections are served
    /// at once (further ones are closed at once); each must send its request headers within
    /// 10 seconds and lives at most 60.
    ///
    /// The server runs on its own background thread (see the [module documentation](self)),
    /// so this needs no executor and may be called from anywhere. It stops when the returned
    /// handle is dropped or shut down. The listening socket has `SO_REUSEADDR` (on Unix), so
    /// the address can be bound again right after shutdown.
    pub fn serve(&self, addr: SocketAddr) -> io::Result<ServerHandle> {
        // std's bind (used by async-io) sets SO_REUSEADDR on Unix.
        let listener = Async::<TcpListener>::bind(addr)?;
        let local_addr = listener.get_ref().local_addr()?;
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
        let (done_tx, done_rx) = async_channel::bounded::<()>(1);
        let responder = self.clone();
        thread::Builder::new()
            .name(format!("acme-http01-{}", local_addr.port()))
            .spawn(move || {
                let executor = LocalExecutor::new();
                async_io::block_on(
                    executor.run(accept_loop(&executor, listener, responder, stop_rx)),
                );
                // Dropping the executor cancels the open connections and closes their sockets
                // before `shutdown()` is told the server is gone.
                drop(executor);
                drop(done_tx);
            })?;
        debug!(%local_addr, "http-01 server listening");
        Ok(ServerHandle {
            local_addr,
            stop: stop_tx,
            done: done_rx,
        })
    }
}

async fn accept_loop(
    executor: &LocalExecutor<'_>,
    listener: Async<TcpListener>,
    responder: Http01Responder,
    stop: async_channel::Receiver<()>,
) {
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        // The stop signal goes first so that a stream of connections cannot starve it.
        let next = future::or(
            async {
                // Resolves when the handle sends, closes, or is dropped.
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
                    debug!(%peer, "http-01 server busy; connection closed");
                    continue;
                }
                let guard = ActiveGuard(Arc::clone(&active));
                debug!(%peer, "http-01 connection accepted");
                executor
                    .spawn(serve_connection(stream, responder.clone(), guard))
                    .detach();
            }
            Some(Err(error)) => {
                // Transient (EMFILE, ECONNABORTED, …): back off briefly and go on.
                debug!(%error, "http-01 accept failed");
                Timer::after(Duration::from_millis(50)).await;
            }
        }
    }
    debug!("http-01 server stopping");
}

/// Decrements the count of active connections when the connection's task ends.
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve_connection(
    stream: Async<TcpStream>,
    responder: Http01Responder,
    _guard: ActiveGuard,
) {
    let _ = stream.get_ref().set_nodelay(true);
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let response = responder
            .tokens
            .respond(request.method(), request.uri().path())
            .map(|body| Full::new(Bytes::from(body)));
        async move { Ok::<_, Infallible>(response) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(SmolTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(FuturesIo::new(stream), service);
    let outcome = future::or(async { Some(connection.await) }, async {
        Timer::after(CONNECTION_LIFETIME).await;
        None
    })
    .await;
    match outcome {
        Some(Ok(())) => {}
        Some(Err(error)) => debug!(%error, "http-01 connection error"),
        None => debug!("http-01 connection closed after its time limit"),
    }
}

/// A running http-01 server; dropping it (or [`shutdown`](Self::shutdown)) stops the server
/// and closes its open connections.
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
        // Fails (closed) once the server thread has finished.
        let _ = self.done.recv().await;
        debug!(local_addr = %self.local_addr, "http-01 server stopped");
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop.close();
    }
}
