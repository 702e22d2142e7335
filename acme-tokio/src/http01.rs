//! http-01 challenge responder (RFC 8555 §8.3): a token → key-authorization map, a path
//! handler to mount in your own server, and a tiny standalone hyper server.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use acme_async::http01::Http01Tokens;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
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
    /// Must be called from within a Tokio runtime (with IO and time enabled); the server runs
    /// as a task of that runtime until the returned handle is dropped or shut down. The
    /// listening socket has `SO_REUSEADDR` (on Unix), so the address can be bound again right
    /// after shutdown.
    pub fn serve(&self, addr: SocketAddr) -> io::Result<ServerHandle> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| io::Error::other(format!("http-01 server needs a Tokio runtime: {e}")))?;
        // std's bind sets SO_REUSEADDR on Unix, like tokio's.
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let local_addr = listener.local_addr()?;
        debug!(%local_addr, "http-01 server listening");
        let task = runtime.spawn(accept_loop(listener, self.clone()));
        Ok(ServerHandle { local_addr, task })
    }
}

async fn accept_loop(listener: TcpListener, responder: Http01Responder) {
    // Connections live in this set: when the accept loop is aborted, dropping the set aborts
    // them too.
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Transient (EMFILE, ECONNABORTED, …): back off briefly and go on.
                debug!(%error, "http-01 accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        if connections.len() >= MAX_CONNECTIONS {
            debug!(%peer, "http-01 server busy; connection closed");
            continue;
        }
        debug!(%peer, "http-01 connection accepted");
        connections.spawn(serve_connection(stream, responder.clone()));
    }
}

async fn serve_connection(stream: TcpStream, responder: Http01Responder) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let response = responder
            .tokens
            .respond(request.method(), request.uri().path())
            .map(|body| Full::new(Bytes::from(body)));
        async move { Ok::<_, Infallible>(response) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    match tokio::time::timeout(CONNECTION_LIFETIME, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => debug!(%error, "http-01 connection error"),
        Err(_) => debug!("http-01 connection closed after its time limit"),
    }
}

/// A running http-01 server; dropping it (or [`shutdown`](Self::shutdown)) stops the server
/// and closes its open connections.
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
        debug!(local_addr = %self.local_addr, "http-01 server stopped");
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_outside_a_runtime_is_an_error() {
        let err = Http01Responder::new()
            .serve("127.0.0.1:0".parse().unwrap())
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Other);
    }
}
