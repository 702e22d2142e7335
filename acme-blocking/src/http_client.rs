//! The HTTP transport: the [`HttpClient`] trait the blocking driver calls, and
//! [`DefaultClient`], its implementation over [`ureq`] (feature `default-client`, on by
//! default).

use std::sync::Arc;

use acme_proto::http::{Request, Response, TransportError};

/// Performs one HTTP exchange for the ACME core, blocking the calling thread.
///
/// Implement it to bring your own HTTP stack (a corporate proxy, a custom TLS setup, a mock
/// in tests). An implementation must:
///
/// * use [`Request::url`] exactly as given (it is not normalised), with the request's method,
///   headers and body;
/// * return 4xx and 5xx answers as responses, not errors: ACME reports problems that way;
/// * follow redirects only when [`Request::follow_redirects`] is true;
/// * read at most [`MAX_BODY_SIZE`](acme_proto::http::MAX_BODY_SIZE) bytes of body and report
///   [`TransportErrorKind::BodyTooLarge`](acme_proto::http::TransportErrorKind::BodyTooLarge)
///   beyond it;
/// * classify failures with [`TransportErrorKind`](acme_proto::http::TransportErrorKind), since
///   the core retries some kinds on idempotent requests.
pub trait HttpClient: Send + Sync + 'static {
    /// Sends `request` and returns the complete response, or why there is none.
    fn execute(&self, request: Request) -> Result<Response, TransportError>;
}

impl<T: HttpClient + ?Sized> HttpClient for Arc<T> {
    fn execute(&self, request: Request) -> Result<Response, TransportError> {
        (**self).execute(request)
    }
}

impl<T: HttpClient + ?Sized> HttpClient for Box<T> {
    fn execute(&self, request: Request) -> Result<Response, TransportError> {
        (**self).execute(request)
    }
}

#[cfg(feature = "default-client")]
pub use self::default_client::{ClientBuilder, DefaultClient, InvalidRootCertificate};

#[cfg(feature = "default-client")]
mod default_client {
    use std::fmt;
    use std::io::{self, Read};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use acme_crypto::tls_client;
    use acme_proto::http::transport::{self, body_too_large, check_content_length};
    use acme_proto::http::{
        MAX_BODY_SIZE, Method, Request, Response, TransportError, TransportErrorKind,
    };
    use rustls::pki_types::CertificateDer;
    use ureq::tls::{Certificate, RootCerts, TlsConfig};

    use super::HttpClient;

    /// Redirects followed for a request whose `follow_redirects` is true.
    const MAX_REDIRECTS: u32 = transport::MAX_REDIRECTS as u32;
    const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// The built-in [`HttpClient`]: [`ureq`] 3 over rustls (ring), blocking, with a keep-alive
    /// connection pool.
    ///
    /// * TLS certificates are always verified, against Mozilla's roots (webpki) plus any added
    ///   with [`ClientBuilder::add_root_pem`]. There is no way to turn verification off.
    /// * `http://` URLs are refused with
    ///   [`TransportErrorKind::InvalidUrl`] unless [`ClientBuilder::allow_http`] was set; that
    ///   also holds for redirect targets.
    /// * Connections are kept alive and reused between requests to the same host; `TCP_NODELAY`
    ///   is set on every connection.
    /// * 4xx and 5xx answers are returned as responses.
    /// * Redirects (at most 5) are followed only for requests with
    ///   [`Request::follow_redirects`] set; otherwise a 3xx is returned as the response.
    ///
    /// Cloning is cheap and clones share the connection pool.
    #[derive(Clone)]
    pub struct DefaultClient {
        agent: ureq::Agent,
        allow_http: bool,
        max_body_size: usize,
    }

    impl fmt::Debug for DefaultClient {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let config = self.agent.config();
            let timeouts = config.timeouts();
            f.debug_struct("DefaultClient")
                .field("allow_http", &self.allow_http)
                .field("connect_timeout", &timeouts.connect)
                .field("timeout", &timeouts.global)
                .field("max_body_size", &self.max_body_size)
                .finish_non_exhaustive()
        }
    }

    impl Default for DefaultClient {
        fn default() -> Self {
            Self::new()
        }
    }

    impl DefaultClient {
        /// A client with the default settings (see [`ClientBuilder`]).
        pub fn new() -> Self {
            Self::builder().build()
        }

        /// Starts configuring a client.
        pub fn builder() -> ClientBuilder {
            ClientBuilder::default()
        }
    }

    /// Configures a [`DefaultClient`]; made by [`DefaultClient::builder`].
    #[derive(Clone)]
    #[must_use = "a builder does nothing until `build` is called"]
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
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
                timeout: DEFAULT_TIMEOUT,
                max_body_size: MAX_BODY_SIZE,
            }
        }
    }

    impl fmt::Debug for ClientBuilder {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("ClientBuilder")
                .field("extra_roots", &self.extra_roots.len())
                .field("allow_http", &self.allow_http)
                .field("connect_timeout", &self.connect_timeout)
                .field("timeout", &self.timeout)
                .field("max_body_size", &self.max_body_size)
                .finish()
        }
    }

    impl ClientBuilder {
        /// Trusts the certificates in `pem` (one or more `CERTIFICATE` blocks) as roots, in
        /// addition to Mozilla's. Use it for a test CA such as Pebble's.
        ///
        /// Fails if `pem` holds no certificate, a block cannot be decoded, or a certificate
        /// cannot serve as a trust anchor. Other PEM blocks (keys) are ignored.
        pub fn add_root_pem(mut self, pem: &[u8]) -> Result<Self, InvalidRootCertificate> {
            let found = tls_client::parse_root_pem(pem)
                .map_err(|e| InvalidRootCertificate(e.to_string()))?;
            tracing::debug!(count = found.len(), "added extra trusted root certificates");
            self.extra_roots.extend(found);
            Ok(self)
        }

        /// Whether plain `http://` URLs may be used (default `false`: they fail with
        /// [`TransportErrorKind::InvalidUrl`]). Only for local test servers.
        pub fn allow_http(mut self, allow: bool) -> Self {
            self.allow_http = allow;
            self
        }

        /// How long establishing a TCP connection may take (default 10 s).
        pub fn connect_timeout(mut self, timeout: Duration) -> Self {
            self.connect_timeout = timeout;
            self
        }

        /// How long a whole request may take, from name resolution to the last byte of the
        /// body, redirects included (default 30 s).
        pub fn timeout(mut self, timeout: Duration) -> Self {
            self.timeout = timeout;
            self
        }

        /// The largest response body accepted (default
        /// [`MAX_BODY_SIZE`](acme_proto::http::MAX_BODY_SIZE)); reading stops there and the
        /// request fails with [`TransportErrorKind::BodyTooLarge`].
        pub fn max_body_size(mut self, bytes: usize) -> Self {
            self.max_body_size = bytes;
            self
        }

        /// Builds the client. The TLS configuration is prepared on the first connection.
        pub fn build(self) -> DefaultClient {
            let root_certs = if self.extra_roots.is_empty() {
                RootCerts::WebPki
            } else {
                let all = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                    .iter()
                    .chain(self.extra_roots.iter())
                    .map(|der| Certificate::from_der(der.as_ref()).to_owned());
                RootCerts::Specific(Arc::new(all.collect()))
            };
            let tls = TlsConfig::builder()
                .root_certs(root_certs)
                .disable_verification(false)
                .build();
            let config = ureq::Agent::config_builder()
                .tls_config(tls)
                // ACME problem documents come with 4xx/5xx statuses.
                .http_status_as_error(false)
                .https_only(!self.allow_http)
                // Per request, `follow_redirects` raises this (see `execute`).
                .max_redirects(0)
                .max_redirects_will_error(true)
                .no_delay(true)
                .timeout_connect(Some(self.connect_timeout))
                .timeout_global(Some(self.timeout))
                .build();
            DefaultClient {
                agent: ureq::Agent::with_parts(
                    config,
                    ureq::unversioned::transport::DefaultConnector::default(),
                    LiteralFirstResolver::default(),
                ),
                allow_http: self.allow_http,
                max_body_size: self.max_body_size,
            }
        }
    }

    /// ureq's resolver, minus its thread per request for IP-literal hosts. ureq resolves the
    /// host of every request (even one that reuses a pooled connection) and, with a timeout
    /// set — always, here — does so on a freshly spawned thread: ten threads per issuance
    /// against `https://127.0.0.1:14000/dir`. An IP literal is its own address; names still go
    /// to ureq's resolver.
    #[derive(Default)]
    struct LiteralFirstResolver(ureq::unversioned::resolver::DefaultResolver);

    impl fmt::Debug for LiteralFirstResolver {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("LiteralFirstResolver")
        }
    }

    impl ureq::unversioned::resolver::Resolver for LiteralFirstResolver {
        fn resolve(
            &self,
            uri: &ureq::http::Uri,
            config: &ureq::config::Config,
            timeout: ureq::unversioned::transport::NextTimeout,
        ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
            if let Some(addr) = ip_literal(uri) {
                let mut addrs = self.empty();
                addrs.push(addr);
                return Ok(addrs);
            }
            self.0.resolve(uri, config, timeout)
        }
    }

    /// The socket address of a URL whose host is an IP address (`[…]` for IPv6).
    fn ip_literal(uri: &ureq::http::Uri) -> Option<std::net::SocketAddr> {
        let host = uri.host()?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let ip: std::net::IpAddr = host.parse().ok()?;
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        })?;
        Some(std::net::SocketAddr::new(ip, port))
    }

    /// A certificate given to [`ClientBuilder::add_root_pem`] could not be used.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct InvalidRootCertificate(String);

    impl fmt::Display for InvalidRootCertificate {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "invalid root certificate: {}", self.0)
        }
    }

    impl std::error::Error for InvalidRootCertificate {}

    impl HttpClient for DefaultClient {
        fn execute(&self, request: Request) -> Result<Response, TransportError> {
            let started = Instant::now();
            tracing::debug!(
                id = request.id.0,
                endpoint = ?request.endpoint,
                method = %request.method,
                url = %request.url,
                body_len = request.body.len(),
                "sending request"
            );
            let result = self.perform(request);
            match &result {
                Ok(response) => tracing::debug!(
                    status = response.status().as_u16(),
                    body_len = response.body().len(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "received response"
                ),
                Err(error) => tracing::debug!(
                    kind = ?error.kind,
                    error = %error.message,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "request failed"
                ),
            }
            result
        }
    }

    impl DefaultClient {
        fn perform(&self, request: Request) -> Result<Response, TransportError> {
            let Request {
                method,
                url,
                headers,
                body,
                follow_redirects,
                ..
            } = request;
            let fail = |kind: TransportErrorKind, detail: &dyn fmt::Display| {
                TransportError::new(kind, format!("{method} {url}: {detail}"))
            };
            let uri = transport::parse_url(&url, self.allow_http)
                .map_err(|e| fail(e.kind, &e.message))?;

            // ureq refuses a body (even an empty one) on GET, HEAD and the like; say so plainly
            // rather than report a protocol error.
            let takes_body = matches!(method, Method::POST | Method::PUT | Method::PATCH);
            if !body.is_empty() && !takes_body {
                return Err(fail(
                    TransportErrorKind::Other,
                    &"this method cannot carry a request body",
                ));
            }
            let response = if takes_body {
                self.send(
                    follow_redirects,
                    to_http(method.clone(), uri, headers, body),
                )
            } else {
                self.send(follow_redirects, to_http(method.clone(), uri, headers, ()))
            }
            .map_err(|e| fail(classify(&e), &e))?;

            let (parts, body) = response.into_parts();
            // Refuse early when the declared length is already too much.
            check_content_length(&method, parts.status, &parts.headers, self.max_body_size)
                .map_err(|e| fail(e.kind, &e.message))?;
            let body =
                read_capped(body.into_reader(), self.max_body_size).map_err(|e| fail(e.0, &e.1))?;

            let mut out = Response::new(body);
            *out.status_mut() = parts.status;
            *out.version_mut() = parts.version;
            *out.headers_mut() = parts.headers;
            Ok(out)
        }

        fn send<B: ureq::AsSendBody>(
            &self,
            follow_redirects: bool,
            request: http::Request<B>,
        ) -> Result<http::Response<ureq::Body>, ureq::Error> {
            if follow_redirects {
                // A request-level configuration shares the agent's pool (only transport
                // settings separate pools, and those are unchanged).
                let request = self
                    .agent
                    .configure_request(request)
                    .max_redirects(MAX_REDIRECTS)
                    .build();
                self.agent.run(request)
            } else {
                self.agent.run(request)
            }
        }

        #[cfg(test)]
        pub(super) fn agent_config(&self) -> &ureq::config::Config {
            self.agent.config()
        }
    }

    fn to_http<B>(
        method: Method,
        uri: http::Uri,
        headers: http::HeaderMap,
        body: B,
    ) -> http::Request<B> {
        let mut request = http::Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        request
    }

    /// Reads at most `cap` bytes; one more means the body is too large.
    fn read_capped(reader: impl Read, cap: usize) -> Result<Vec<u8>, (TransportErrorKind, String)> {
        let mut body = Vec::new();
        let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
        reader.take(limit).read_to_end(&mut body).map_err(|e| {
            // ureq reports its own errors (timeouts, protocol) wrapped in io::Error.
            let e = ureq::Error::from(e);
            (classify(&e), format!("reading the body: {e}"))
        })?;
        if body.len() > cap {
            let error = body_too_large(cap);
            return Err((error.kind, error.message));
        }
        Ok(body)
    }

    /// Maps a ureq error onto the core's classification.
    fn classify(error: &ureq::Error) -> TransportErrorKind {
        use ureq::Error as E;
        match error {
            E::Timeout(_) => TransportErrorKind::Timeout,
            E::Io(e) => classify_io(e),
            E::HostNotFound | E::ConnectionFailed | E::ConnectProxyFailed(_) => {
                TransportErrorKind::Connect
            }
            E::Tls(_) | E::Rustls(_) | E::Pem(_) | E::TlsRequired => TransportErrorKind::Tls,
            E::BadUri(_) | E::RequireHttpsOnly(_) | E::InvalidProxyUrl => {
                TransportErrorKind::InvalidUrl
            }
            E::Protocol(_) | E::LargeResponseHeader(..) => TransportErrorKind::Io,
            _ => TransportErrorKind::Other,
        }
    }

    fn classify_io(error: &io::Error) -> TransportErrorKind {
        // rustls reports handshake and certificate failures as io::Error(InvalidData) wrapping
        // its own error.
        if error
            .get_ref()
            .is_some_and(|inner| inner.is::<rustls::Error>())
        {
            return TransportErrorKind::Tls;
        }
        if is_name_resolution_error(error) {
            return TransportErrorKind::Connect;
        }
        match error.kind() {
            // These only come from `connect`.
            io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown
            | io::ErrorKind::AddrNotAvailable
            | io::ErrorKind::AddrInUse
            | io::ErrorKind::PermissionDenied => TransportErrorKind::Connect,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportErrorKind::Timeout,
            _ => TransportErrorKind::Io,
        }
    }

    /// ureq passes on the error of the standard library's name lookup, which has no
    /// `ErrorKind` of its own: recognise it by its message (Unix `getaddrinfo`) or its
    /// Windows Sockets error code.
    fn is_name_resolution_error(error: &io::Error) -> bool {
        const WSAHOST_NOT_FOUND: i32 = 11001;
        const WSANO_DATA: i32 = 11004;
        if cfg!(windows)
            && error
                .raw_os_error()
                .is_some_and(|c| (WSAHOST_NOT_FOUND..=WSANO_DATA).contains(&c))
        {
            return true;
        }
        error.raw_os_error().is_none()
            && error
                .to_string()
                .starts_with("failed to lookup address information")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn ip_literals_need_no_lookup() {
            let addr = |u: &str| ip_literal(&u.parse().expect("a URI"));
            assert_eq!(
                addr("https://127.0.0.1:14000/dir"),
                Some("127.0.0.1:14000".parse().expect("addr"))
            );
            assert_eq!(
                addr("https://[::1]/dir"),
                Some("[::1]:443".parse().expect("addr"))
            );
            assert_eq!(
                addr("http://10.0.0.1/x"),
                Some("10.0.0.1:80".parse().expect("addr"))
            );
            assert_eq!(addr("https://acme.example/dir"), None);
        }

        #[test]
        fn agent_settings() {
            let client = DefaultClient::new();
            let config = client.agent_config();
            assert!(config.no_delay(), "TCP_NODELAY");
            assert!(!config.http_status_as_error());
            assert!(config.https_only());
            assert_eq!(config.max_redirects(), 0);
            assert!(!config.tls_config().disable_verification());
            let timeouts = config.timeouts();
            assert_eq!(timeouts.connect, Some(Duration::from_secs(10)));
            assert_eq!(timeouts.global, Some(Duration::from_secs(30)));
            assert_eq!(client.max_body_size, MAX_BODY_SIZE);

            let client = DefaultClient::builder()
                .allow_http(true)
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(3))
                .max_body_size(7)
                .build();
            let config = client.agent_config();
            assert!(!config.https_only());
            assert_eq!(config.timeouts().connect, Some(Duration::from_secs(2)));
            assert_eq!(config.timeouts().global, Some(Duration::from_secs(3)));
            assert_eq!(client.max_body_size, 7);
        }

        #[test]
        fn io_error_classification() {
            use io::ErrorKind as K;
            let cases = [
                (K::ConnectionRefused, TransportErrorKind::Connect),
                (K::HostUnreachable, TransportErrorKind::Connect),
                (K::NetworkUnreachable, TransportErrorKind::Connect),
                (K::TimedOut, TransportErrorKind::Timeout),
                (K::ConnectionReset, TransportErrorKind::Io),
                (K::ConnectionAborted, TransportErrorKind::Io),
                (K::BrokenPipe, TransportErrorKind::Io),
                (K::UnexpectedEof, TransportErrorKind::Io),
                (K::InvalidData, TransportErrorKind::Io),
            ];
            for (kind, expected) in cases {
                assert_eq!(
                    classify(&ureq::Error::Io(kind.into())),
                    expected,
                    "{kind:?}"
                );
            }
            let tls = io::Error::new(
                K::InvalidData,
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
            );
            assert_eq!(classify(&ureq::Error::Io(tls)), TransportErrorKind::Tls);
            assert_eq!(
                classify(&ureq::Error::Timeout(ureq::Timeout::Global)),
                TransportErrorKind::Timeout
            );
            assert_eq!(
                classify(&ureq::Error::HostNotFound),
                TransportErrorKind::Connect
            );
            // A name lookup failure, as the standard library reports it on Unix (built by
            // hand: tests must not query a DNS server).
            let lookup =
                io::Error::other("failed to lookup address information: Name or service not known");
            assert_eq!(
                classify(&ureq::Error::Io(lookup)),
                TransportErrorKind::Connect
            );
            assert_eq!(
                classify(&ureq::Error::RequireHttpsOnly("http://x/".into())),
                TransportErrorKind::InvalidUrl
            );
            assert_eq!(
                classify(&ureq::Error::TooManyRedirects),
                TransportErrorKind::Other
            );
        }

        #[test]
        fn debug_output_hides_nothing_sensitive_and_is_stable() {
            let text = format!("{:?}", DefaultClient::new());
            assert!(
                text.starts_with("DefaultClient { allow_http: false"),
                "{text}"
            );
            let text = format!("{:?}", DefaultClient::builder());
            assert!(text.contains("extra_roots: 0"), "{text}");
        }
    }
}
