//! The HTTP transport: the [`HttpClient`] seam the ACME flow drives, and (with the default
//! `default-client` feature) [`DefaultClient`], hyper 1 HTTP/1.1 connections over async-io
//! and futures-rustls (`ring` provider) with a small keep-alive pool.
//!
//! Nothing here spawns tasks or needs a particular executor: the client drives each
//! connection inside the request future itself, and timers and sockets come from async-io,
//! whose reactor runs on its own thread when the executor does not drive it. It therefore
//! works under smol, async-std, `futures_lite::future::block_on`, or any other executor.

pub use acme_async::http_client::{BoxFuture, HttpClient};

#[cfg(feature = "default-client")]
pub use default_client::{BuildError, ClientBuilder, DefaultClient};

#[cfg(feature = "default-client")]
mod default_client {
    use std::collections::HashMap;
    use std::error::Error as StdError;
    use std::fmt;
    use std::future::Future;
    use std::io;
    use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
    use std::pin::{Pin, pin};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, PoisonError};
    use std::task::{Context, Poll};
    use std::time::{Duration, Instant};

    use acme_async::http_client::{ReadBudget, follow_redirects, run_with_timeout};
    use acme_crypto::tls_client;
    use acme_proto::http::transport::{append_capped, check_content_length};
    use acme_proto::http::{
        HeaderMap, HeaderValue, MAX_BODY_SIZE, Method, Request, Response, TransportError,
        TransportErrorKind,
    };
    use async_io::{Async, Timer};
    use futures_lite::future;
    use futures_lite::io::{AsyncRead, AsyncWrite};
    use futures_rustls::TlsConnector;
    use futures_rustls::client::TlsStream;
    use http::Uri;
    use http::header::HOST;
    use http::uri::PathAndQuery;
    use http_body_util::{BodyExt, Full};
    use hyper::body::{Bytes, Incoming};
    use hyper::client::conn::http1::{self, Connection, SendRequest};
    use rustls::pki_types::CertificateDer;
    use smol_hyper::rt::FuturesIo;
    use tracing::debug;

    use super::{BoxFuture, HttpClient};

    /// How long an idle pooled connection is kept.
    const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
    /// Idle connections kept per (scheme, host, port).
    const MAX_IDLE_PER_HOST: usize = 4;

    /// Why a [`ClientBuilder`] could not produce a client (an unusable root certificate, a
    /// TLS configuration rustls refuses).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct BuildError {
        message: String,
    }

    impl BuildError {
        pub(crate) fn new(message: impl Into<String>) -> Self {
            BuildError {
                message: message.into(),
            }
        }
    }

    impl fmt::Display for BuildError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.message)
        }
    }

    impl StdError for BuildError {}

    /// Configures a [`DefaultClient`]; obtained from [`DefaultClient::builder`].
    ///
    /// TLS certificate verification is always on; [`add_root_pem`](Self::add_root_pem) adds
    /// trust anchors (a test CA such as Pebble's) next to the built-in webpki roots.
    #[derive(Debug, Clone)]
    #[must_use = "a builder does nothing until `build()` is called"]
    pub struct ClientBuilder {
        extra_roots: Vec<CertificateDer<'static>>,
        allow_http: bool,
        connect_timeout: Duration,
        timeout: Duration,
        max_body_size: usize,
    }

    impl Default for ClientBuilder {
        fn default() -> Self {
            ClientBuilder {
                extra_roots: Vec::new(),
                allow_http: false,
                connect_timeout: Duration::from_secs(10),
                timeout: Duration::from_secs(30),
                max_body_size: MAX_BODY_SIZE,
            }
        }
    }

    impl ClientBuilder {
        /// Trusts the certificates of `pem` (one or more `CERTIFICATE` blocks) in addition to
        /// the webpki roots. Fails if a block is malformed or there is none.
        pub fn add_root_pem(mut self, pem: &[u8]) -> Result<Self, BuildError> {
            let roots =
                tls_client::parse_root_pem(pem).map_err(|e| BuildError::new(e.to_string()))?;
            self.extra_roots.extend(roots);
            Ok(self)
        }

        /// Whether plain `http://` URLs may be used (default `false`: they fail with
        /// [`TransportErrorKind::InvalidUrl`]). Meant for local test servers.
        pub fn allow_http(mut self, allow: bool) -> Self {
            self.allow_http = allow;
            self
        }

        /// Limit for establishing the TCP connection, DNS lookup included (default 10 s).
        /// Exceeding it reports [`TransportErrorKind::Timeout`].
        pub fn connect_timeout(mut self, timeout: Duration) -> Self {
            self.connect_timeout = timeout;
            self
        }

        /// Limit for a whole request: connecting, TLS, sending, and reading the complete body,
        /// redirects included (default 30 s). Exceeding it reports
        /// [`TransportErrorKind::Timeout`].
        pub fn timeout(mut self, timeout: Duration) -> Self {
            self.timeout = timeout;
            self
        }

        /// Largest accepted response body (default [`MAX_BODY_SIZE`]); reading stops past it
        /// with [`TransportErrorKind::BodyTooLarge`].
        pub fn max_body_size(mut self, bytes: usize) -> Self {
            self.max_body_size = bytes;
            self
        }

        /// Builds the client.
        pub fn build(self) -> Result<DefaultClient, BuildError> {
            let tls_config =
                tls_client::client_config(webpki_roots::TLS_SERVER_ROOTS, &self.extra_roots)
                    .map_err(|e| BuildError::new(e.to_string()))?;
            Ok(DefaultClient {
                inner: Arc::new(Inner {
                    tls: TlsConnector::from(Arc::new(tls_config)),
                    allow_http: self.allow_http,
                    connect_timeout: self.connect_timeout,
                    timeout: self.timeout,
                    max_body_size: self.max_body_size,
                    pool: Mutex::new(HashMap::new()),
                    next_connection_id: AtomicU64::new(1),
                }),
            })
        }
    }

    /// The built-in [`HttpClient`]: HTTP/1.1 over hyper 1, TLS by futures-rustls with the
    /// `ring` provider and the webpki roots, `TCP_NODELAY` on every connection, and a pool of
    /// idle keep-alive connections per (scheme, host, port).
    ///
    /// Executor-agnostic (see the [module documentation](super)). Cloning is cheap and clones
    /// share the pool.
    #[derive(Clone)]
    pub struct DefaultClient {
        inner: Arc<Inner>,
    }

    struct Inner {
        tls: TlsConnector,
        allow_http: bool,
        connect_timeout: Duration,
        timeout: Duration,
        max_body_size: usize,
        pool: Mutex<HashMap<PoolKey, Vec<Idle>>>,
        next_connection_id: AtomicU64,
    }

    impl fmt::Debug for DefaultClient {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("DefaultClient")
                .field("allow_http", &self.inner.allow_http)
                .field("connect_timeout", &self.inner.connect_timeout)
                .field("timeout", &self.inner.timeout)
                .field("max_body_size", &self.inner.max_body_size)
                .finish_non_exhaustive()
        }
    }

    /// Where a connection goes: pooled connections are shared only within one key.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    struct PoolKey {
        https: bool,
        host: String,
        port: u16,
    }

    impl fmt::Display for PoolKey {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let scheme = if self.https { "https" } else { "http" };
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }

    /// A TCP stream, plain or wrapped in TLS.
    enum Transport {
        Plain(Async<TcpStream>),
        Tls(Box<TlsStream<Async<TcpStream>>>),
    }

    /// A connection's byte stream, its reads bounded by a [`ReadBudget`].
    struct Stream {
        transport: Transport,
        budget: ReadBudget,
    }

    impl Stream {
        fn new(transport: Transport) -> Stream {
            Stream {
                transport,
                budget: ReadBudget::default(),
            }
        }
    }

    impl AsyncRead for Stream {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            if this.budget.before_read() {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let polled = match &mut this.transport {
                Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
                Transport::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
            };
            match polled {
                Poll::Ready(Ok(n)) => Poll::Ready(this.budget.after_read(Some(n)).map(|()| n)),
                Poll::Pending => {
                    let _ = this.budget.after_read(None);
                    Poll::Pending
                }
                other => other,
            }
        }
    }

    impl AsyncWrite for Stream {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            this.budget.wrote();
            match &mut this.transport {
                Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
                Transport::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
            }
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            this.budget.wrote();
            match &mut this.transport {
                Transport::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
                Transport::Tls(s) => Pin::new(&mut **s).poll_write_vectored(cx, bufs),
            }
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            match &mut self.get_mut().transport {
                Transport::Plain(s) => Pin::new(s).poll_flush(cx),
                Transport::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
            }
        }

        fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            match &mut self.get_mut().transport {
                Transport::Plain(s) => Pin::new(s).poll_close(cx),
                Transport::Tls(s) => Pin::new(&mut **s).poll_close(cx),
            }
        }
    }

    type Driver = Pin<Box<Connection<FuturesIo<Stream>, Full<Bytes>>>>;

    /// One HTTP/1.1 connection: the request handle and the connection future that does the
    /// IO. The driver is polled only while a request on it is in flight (see [`drive`]).
    struct Conn {
        id: u64,
        sender: SendRequest<Full<Bytes>>,
        driver: Driver,
    }

    struct Idle {
        conn: Conn,
        since: Instant,
    }

    /// How one exchange on one connection failed.
    enum ExchangeError {
        /// The request never left: the connection was already closed. Safe to retry.
        NotSent(hyper::Error),
        /// Anything else.
        Failed(TransportError),
    }

    impl DefaultClient {
        /// A builder with the defaults: https only, 10 s connect timeout, 30 s request
        /// timeout, [`MAX_BODY_SIZE`] body cap, webpki roots.
        pub fn builder() -> ClientBuilder {
            ClientBuilder::default()
        }

        /// A client with the defaults of [`builder`](Self::builder).
        pub fn new() -> Result<Self, BuildError> {
            Self::builder().build()
        }

        async fn run(&self, request: Request) -> Result<Response, TransportError> {
            let parse = |url: &str| tls_client::parse_url(url, self.inner.allow_http);
            let body = Bytes::from(request.body.clone());
            let (method, headers, body) = (&request.method, &request.headers, &body);
            follow_redirects(&request, parse, |uri| async move {
                self.send_once(method, &uri, headers, body).await
            })
            .await
        }

        /// One request on a pooled or new connection, retried once on a new connection when
        /// a pooled one turns out to be closed before the request was written.
        async fn send_once(
            &self,
            method: &Method,
            uri: &Uri,
            headers: &HeaderMap,
            body: &Bytes,
        ) -> Result<Response, TransportError> {
            let key = pool_key(uri);
            let target = uri
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| PathAndQuery::from_static("/"));
            let mut headers = headers.clone();
            if !headers.contains_key(HOST) {
                let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
                let host = HeaderValue::from_str(authority).map_err(|e| {
                    TransportError::new(TransportErrorKind::InvalidUrl, e.to_string())
                })?;
                headers.insert(HOST, host);
            }
            loop {
                let (mut conn, reused) = match self.checkout(&key).await {
                    Some(conn) => (conn, true),
                    None => (self.connect(&key).await?, false),
                };
                let mut req = hyper::Request::new(Full::new(body.clone()));
                *req.method_mut() = method.clone();
                *req.uri_mut() = Uri::from(target.clone());
                *req.headers_mut() = headers.clone();
                let max = self.inner.max_body_size;
                let (outcome, alive) =
                    drive(&mut conn.driver, exchange(&mut conn.sender, req, max)).await;
                match outcome {
                    Ok(response) => {
                        if alive && !conn.sender.is_closed() {
                            self.checkin(key, conn);
                        } else {
                            debug!(connection = conn.id, "connection closed after response");
                        }
                        return Ok(response);
                    }
                    Err(ExchangeError::NotSent(error)) if reused => {
                        debug!(connection = conn.id, %error, "pooled connection was closed; retrying on a new one");
                    }
                    Err(ExchangeError::NotSent(error)) => return Err(classify_hyper(&error)),
                    Err(ExchangeError::Failed(error)) => return Err(error),
                }
            }
        }

        /// Takes a live idle connection for `key` from the pool, discarding stale ones.
        async fn checkout(&self, key: &PoolKey) -> Option<Conn> {
            loop {
                let idle = {
                    let mut pool = self
                        .inner
                        .pool
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    let list = pool.get_mut(key)?;
                    let idle = list.pop();
                    if list.is_empty() {
                        pool.remove(key);
                    }
                    idle
                }?;
                let mut conn = idle.conn;
                if idle.since.elapsed() > POOL_IDLE_TIMEOUT || conn.sender.is_closed() {
                    debug!(connection = conn.id, "dropping expired pooled connection");
                    continue;
                }
                // Let the connection notice a close (or garbage) that arrived while it sat
                // idle: the driver completes if so.
                if future::poll_once(conn.driver.as_mut()).await.is_some()
                    || conn.sender.is_closed()
                {
                    debug!(
                        connection = conn.id,
                        "pooled connection was closed by the peer"
                    );
                    continue;
                }
                debug!(connection = conn.id, %key, "reusing pooled connection");
                return Some(conn);
            }
        }

        fn checkin(&self, key: PoolKey, conn: Conn) {
            let mut pool = self
                .inner
                .pool
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            pool.retain(|_, list| {
                list.retain(|idle| idle.since.elapsed() <= POOL_IDLE_TIMEOUT);
                !list.is_empty()
            });
            let list = pool.entry(key).or_default();
            if list.len() < MAX_IDLE_PER_HOST {
                list.push(Idle {
                    conn,
                    since: Instant::now(),
                });
            }
        }

        async fn connect(&self, key: &PoolKey) -> Result<Conn, TransportError> {
            let connect_timeout = self.inner.connect_timeout;
            let tcp = future::or(connect_tcp(key), async {
                Timer::after(connect_timeout).await;
                Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("no TCP connection to {key} within {connect_timeout:?}"),
                ))
            })
            .await?;
            if let Err(error) = tcp.get_ref().set_nodelay(true) {
                debug!(%error, "could not set TCP_NODELAY");
            }
            let stream = if key.https {
                let name = tls_client::server_name(&key.host).ok_or_else(|| {
                    TransportError::new(
                        TransportErrorKind::InvalidUrl,
                        format!("{:?} is not a valid TLS server name", key.host),
                    )
                })?;
                let tls = self.inner.tls.connect(name, tcp).await.map_err(|e| {
                    TransportError::new(
                        TransportErrorKind::Tls,
                        format!("TLS handshake with {key}: {}", describe(&chain(&e))),
                    )
                })?;
                Stream::new(Transport::Tls(Box::new(tls)))
            } else {
                Stream::new(Transport::Plain(tcp))
            };
            let (sender, driver) = http1::Builder::new()
                .handshake(FuturesIo::new(stream))
                .await
                .map_err(|e| classify_hyper(&e))?;
            let id = self
                .inner
                .next_connection_id
                .fetch_add(1, Ordering::Relaxed);
            debug!(connection = id, %key, "opened connection");
            Ok(Conn {
                id,
                sender,
                driver: Box::pin(driver),
            })
        }
    }

    impl HttpClient for DefaultClient {
        fn execute(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
            let timeout = self.inner.timeout;
            let sleep = async move {
                Timer::after(timeout).await;
            };
            Box::pin(run_with_timeout(request, timeout, sleep, |r| self.run(r)))
        }
    }

    /// Runs `work` while also polling the connection `driver`, which performs the actual IO
    /// of the exchange. Returns the output of `work` and whether the connection is still
    /// alive (its driver has not completed).
    async fn drive<F: Future>(driver: &mut Driver, work: F) -> (F::Output, bool) {
        let mut work = pin!(work);
        let mut alive = true;
        future::poll_fn(|cx| {
            if alive && let Poll::Ready(result) = driver.as_mut().poll(cx) {
                alive = false;
                if let Err(error) = result {
                    debug!(%error, "connection ended with an error");
                }
            }
            work.as_mut().poll(cx).map(|output| (output, alive))
        })
        .await
    }

    /// Sends `request` on a ready connection and reads the whole response.
    async fn exchange(
        sender: &mut SendRequest<Full<Bytes>>,
        request: hyper::Request<Full<Bytes>>,
        max_body_size: usize,
    ) -> Result<Response, ExchangeError> {
        if let Err(error) = sender.ready().await {
            return Err(ExchangeError::NotSent(error));
        }
        let method = request.method().clone();
        let response = match sender.try_send_request(request).await {
            Ok(response) => response,
            Err(mut error) => {
                let unsent = error.take_message().is_some();
                let error = error.into_error();
                return Err(if unsent {
                    ExchangeError::NotSent(error)
                } else {
                    ExchangeError::Failed(classify_hyper(&error))
                });
            }
        };
        let (parts, body) = response.into_parts();
        let body = read_body(&method, &parts, body, max_body_size)
            .await
            .map_err(ExchangeError::Failed)?;
        Ok(Response::from_parts(parts, body))
    }

    async fn connect_tcp(key: &PoolKey) -> Result<Async<TcpStream>, TransportError> {
        let addrs = resolve(&key.host, key.port).await?;
        let mut last_error = None;
        for addr in addrs {
            match Async::<TcpStream>::connect(addr).await {
                Ok(stream) => return Ok(stream),
                Err(error) => {
                    debug!(%addr, %error, "TCP connect failed");
                    last_error = Some(error);
                }
            }
        }
        let why = last_error.map_or_else(|| "no address".to_owned(), |e| e.to_string());
        Err(TransportError::new(
            TransportErrorKind::Connect,
            format!("TCP connect to {key}: {why}"),
        ))
    }

    /// IP literals directly; names with the system resolver on the `blocking` thread pool.
    async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, TransportError> {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let name = bare.to_owned();
        let lookup = blocking::unblock(move || {
            (name.as_str(), port)
                .to_socket_addrs()
                .map(|addrs| addrs.collect::<Vec<_>>())
        });
        match lookup.await {
            Ok(addrs) if !addrs.is_empty() => Ok(addrs),
            Ok(_) => Err(TransportError::new(
                TransportErrorKind::Connect,
                format!("DNS lookup of {host}: no addresses"),
            )),
            Err(error) => Err(TransportError::new(
                TransportErrorKind::Connect,
                format!("DNS lookup of {host}: {error}"),
            )),
        }
    }

    fn pool_key(uri: &Uri) -> PoolKey {
        let https = uri.scheme_str() == Some("https");
        PoolKey {
            https,
            host: uri.host().unwrap_or_default().to_ascii_lowercase(),
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
        }
    }

    /// Reads the whole body, refusing more than `max` bytes (up front when `Content-Length`
    /// announces it, otherwise as soon as the running total passes it).
    async fn read_body(
        method: &Method,
        parts: &hyper::http::response::Parts,
        mut body: Incoming,
        max: usize,
    ) -> Result<Vec<u8>, TransportError> {
        let announced = check_content_length(method, parts.status, &parts.headers, max)?;
        let capacity = announced.map_or(0, |len| len.min(max as u64) as usize);
        let mut out = Vec::with_capacity(capacity);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| classify_hyper(&e))?;
            if let Ok(data) = frame.into_data() {
                append_capped(&mut out, &data, max)?;
            }
        }
        Ok(out)
    }

    /// Every error in the chain of `error`, looking inside `io::Error` wrappers too
    /// (`io::Error::source` skips the wrapped error itself).
    fn chain<'a>(error: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
        let mut out = Vec::new();
        let mut next = Some(error);
        while let Some(e) = next {
            out.push(e);
            next = match e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
                Some(inner) => Some(inner as &(dyn StdError + 'static)),
                None => e.source(),
            };
        }
        out
    }

    fn describe(errors: &[&(dyn StdError + 'static)]) -> String {
        let mut message = String::new();
        for e in errors {
            let text = e.to_string();
            if !message.contains(&text) {
                if !message.is_empty() {
                    message.push_str(": ");
                }
                message.push_str(&text);
            }
        }
        message
    }

    /// Classifies an HTTP-level failure (after the connection was established).
    fn classify_hyper(error: &hyper::Error) -> TransportError {
        let errors = chain(error);
        let timed_out = errors.iter().any(|e| {
            e.downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::TimedOut)
                || e.downcast_ref::<hyper::Error>()
                    .is_some_and(|h| h.is_timeout())
        });
        let kind = if timed_out {
            TransportErrorKind::Timeout
        } else {
            TransportErrorKind::Io
        };
        TransportError::new(kind, describe(&errors))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn pool_keys_default_ports() {
            let key = pool_key(&"https://Example.COM/x".parse().unwrap());
            assert_eq!(
                key,
                PoolKey {
                    https: true,
                    host: "example.com".into(),
                    port: 443
                }
            );
            let key = pool_key(&"http://[::1]:8080/".parse().unwrap());
            assert_eq!(
                (key.https, key.host.as_str(), key.port),
                (false, "[::1]", 8080)
            );
        }
    }
}
