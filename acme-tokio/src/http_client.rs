//! The HTTP transport: the [`HttpClient`] seam the ACME flow drives, and (with the default
//! `default-client` feature) [`DefaultClient`], built on hyper 1, hyper-util's pooling client
//! and rustls with the `ring` provider.

pub use acme_async::http_client::{BoxFuture, HttpClient};

#[cfg(feature = "default-client")]
pub use default_client::{BuildError, ClientBuilder, DefaultClient};

#[cfg(feature = "default-client")]
mod default_client {
    use std::error::Error as StdError;
    use std::fmt;
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use acme_async::http_client::{ReadBudget, follow_redirects, run_with_timeout};
    use acme_crypto::tls_client;
    use acme_proto::http::transport::{append_capped, check_content_length};
    use acme_proto::http::{
        HeaderMap, MAX_BODY_SIZE, Method, Request, Response, TransportError, TransportErrorKind,
    };
    use http::Uri;
    use http_body_util::{BodyExt, Full};
    use hyper::body::{Bytes, Incoming};
    use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use rustls::pki_types::CertificateDer;
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio::net::TcpStream;

    use super::{BoxFuture, HttpClient};

    /// How long an idle pooled connection is kept.
    const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

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

        /// Limit for establishing the TCP connection (default 10 s). Exceeding it reports
        /// [`TransportErrorKind::Timeout`].
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

        /// Builds the client. Needs no runtime; the client itself must be used inside a Tokio
        /// runtime with IO and time enabled.
        pub fn build(self) -> Result<DefaultClient, BuildError> {
            let tls_config =
                tls_client::client_config(webpki_roots::TLS_SERVER_ROOTS, &self.extra_roots)
                    .map_err(|e| BuildError::new(e.to_string()))?;
            let mut http = HttpConnector::new();
            http.enforce_http(false);
            http.set_nodelay(true);
            http.set_connect_timeout(Some(self.connect_timeout));
            let https = HttpsConnectorBuilder::new()
                .with_tls_config(tls_config)
                .https_or_http()
                .enable_http1()
                .wrap_connector(TcpConnector(http));
            let client = Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .pool_idle_timeout(POOL_IDLE_TIMEOUT)
                .build(https);
            Ok(DefaultClient {
                client,
                allow_http: self.allow_http,
                timeout: self.timeout,
                max_body_size: self.max_body_size,
            })
        }
    }

    /// The built-in [`HttpClient`]: hyper-util's pooling client (keep-alive, `TCP_NODELAY`)
    /// over rustls with the `ring` provider and the webpki roots.
    ///
    /// Cloning is cheap and clones share the connection pool. Use it inside a Tokio runtime
    /// with IO and time enabled.
    #[derive(Clone)]
    pub struct DefaultClient {
        client: Client<HttpsConnector<TcpConnector>, Full<Bytes>>,
        allow_http: bool,
        timeout: Duration,
        max_body_size: usize,
    }

    impl fmt::Debug for DefaultClient {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("DefaultClient")
                .field("allow_http", &self.allow_http)
                .field("timeout", &self.timeout)
                .field("max_body_size", &self.max_body_size)
                .finish_non_exhaustive()
        }
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
            let parse = |url: &str| tls_client::parse_url(url, self.allow_http);
            let body = Bytes::from(request.body.clone());
            follow_redirects(&request, parse, |uri| {
                self.send_once(&request.method, uri, &request.headers, body.clone())
            })
            .await
        }

        async fn send_once(
            &self,
            method: &Method,
            uri: Uri,
            headers: &HeaderMap,
            body: Bytes,
        ) -> Result<Response, TransportError> {
            let mut req = hyper::Request::new(Full::new(body));
            *req.method_mut() = method.clone();
            *req.uri_mut() = uri;
            *req.headers_mut() = headers.clone();
            let response = self.client.request(req).await.map_err(classify)?;
            let (parts, body) = response.into_parts();
            let body = read_body(method, &parts, body, self.max_body_size).await?;
            Ok(Response::from_parts(parts, body))
        }
    }

    impl HttpClient for DefaultClient {
        fn execute(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
            let sleep = tokio::time::sleep(self.timeout);
            Box::pin(run_with_timeout(request, self.timeout, sleep, |r| {
                self.run(r)
            }))
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
            let frame = frame.map_err(classify_hyper)?;
            if let Ok(data) = frame.into_data() {
                append_capped(&mut out, &data, max)?;
            }
        }
        Ok(out)
    }

    /// Marks errors of the TCP stage, so that they can be told apart from TLS handshake
    /// failures (both surface as "connect" errors of the pooling client).
    #[derive(Debug)]
    struct TcpConnectError(Box<dyn StdError + Send + Sync>);

    impl fmt::Display for TcpConnectError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "TCP connect: {}", self.0)
        }
    }

    impl StdError for TcpConnectError {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&*self.0)
        }
    }

    /// hyper-util's [`HttpConnector`] with its errors tagged as [`TcpConnectError`] and its
    /// connections' reads bounded by a [`ReadBudget`].
    #[derive(Clone)]
    struct TcpConnector(HttpConnector);

    /// A TCP connection whose reads a [`ReadBudget`] bounds.
    struct Budgeted {
        tcp: TcpStream,
        budget: ReadBudget,
    }

    impl AsyncRead for Budgeted {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = self.get_mut();
            if this.budget.before_read() {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let before = buf.filled().len();
            match Pin::new(&mut this.tcp).poll_read(cx, buf) {
                Poll::Ready(Ok(())) => {
                    Poll::Ready(this.budget.after_read(Some(buf.filled().len() - before)))
                }
                Poll::Pending => {
                    let _ = this.budget.after_read(None);
                    Poll::Pending
                }
                other => other,
            }
        }
    }

    impl AsyncWrite for Budgeted {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            this.budget.wrote();
            Pin::new(&mut this.tcp).poll_write(cx, buf)
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            this.budget.wrote();
            Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs)
        }

        fn is_write_vectored(&self) -> bool {
            self.tcp.is_write_vectored()
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
        }
    }

    impl Connection for Budgeted {
        fn connected(&self) -> Connected {
            self.tcp.connected()
        }
    }

    impl tower_service::Service<Uri> for TcpConnector {
        type Response = TokioIo<Budgeted>;
        type Error = TcpConnectError;
        type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            self.0
                .poll_ready(cx)
                .map_err(|e| TcpConnectError(Box::new(e)))
        }

        fn call(&mut self, uri: Uri) -> Self::Future {
            let connecting = self.0.call(uri);
            Box::pin(async move {
                let tcp = connecting
                    .await
                    .map_err(|e| TcpConnectError(Box::new(e)))?
                    .into_inner();
                Ok(TokioIo::new(Budgeted {
                    tcp,
                    budget: ReadBudget::default(),
                }))
            })
        }
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
        // hyper-util's wrappers ("client error (Connect)", "tcp connect error", ours) only
        // name the stage, which the error's kind already does: keep what explains it.
        let wrapper = |t: &str| {
            t.starts_with("client error (")
                || t == "tcp connect error"
                || t.starts_with("TCP connect: ")
        };
        let explaining: Vec<String> = errors
            .iter()
            .map(|e| e.to_string())
            .filter(|t| !wrapper(t))
            .collect();
        let texts = if explaining.is_empty() {
            errors.iter().map(|e| e.to_string()).collect()
        } else {
            explaining
        };
        let mut message = String::new();
        for text in texts {
            if !message.contains(&text) {
                if !message.is_empty() {
                    message.push_str(": ");
                }
                message.push_str(&text);
            }
        }
        message
    }

    fn is_timed_out(errors: &[&(dyn StdError + 'static)]) -> bool {
        errors.iter().any(|e| {
            e.downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::TimedOut)
                || e.downcast_ref::<hyper::Error>()
                    .is_some_and(|h| h.is_timeout())
        })
    }

    /// Classifies an error of the pooling client.
    fn classify(error: hyper_util::client::legacy::Error) -> TransportError {
        let errors = chain(&error);
        let message = describe(&errors);
        let tcp_stage = errors.iter().any(|e| e.is::<TcpConnectError>());
        let kind = if errors.iter().any(|e| e.is::<rustls::Error>()) {
            TransportErrorKind::Tls
        } else if is_timed_out(&errors) {
            TransportErrorKind::Timeout
        } else if tcp_stage {
            TransportErrorKind::Connect
        } else if error.is_connect() {
            // A connect-stage failure after TCP succeeded: the TLS handshake (for instance
            // the peer closing the connection mid-handshake).
            TransportErrorKind::Tls
        } else {
            TransportErrorKind::Io
        };
        TransportError::new(kind, message)
    }

    /// Classifies an error while reading a response body.
    fn classify_hyper(error: hyper::Error) -> TransportError {
        let errors = chain(&error);
        let kind = if is_timed_out(&errors) {
            TransportErrorKind::Timeout
        } else {
            TransportErrorKind::Io
        };
        TransportError::new(kind, describe(&errors))
    }
}
