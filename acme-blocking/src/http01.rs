//! http-01 challenge responder (RFC 8555 §8.3).
//!
//! [`Http01Responder`] keeps the token → key authorization map. Mount it in your own web
//! server with [`Http01Responder::lookup_path`], or let [`Http01Responder::serve`] run a
//! minimal HTTP/1.1 server on a background thread.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use acme_async::http01::Http01Tokens;
use acme_proto::msgs::challenge::is_valid_token;

/// The largest request head (request line and headers) the server reads.
const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// How long the server waits for each read or write on a connection.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client may take to send the whole request head (against slow-drip clients).
const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// How long the server spends discarding the rest of an oversized request.
const DRAIN_DEADLINE: Duration = Duration::from_secs(2);
/// Connections served at once; further ones are closed at once until one finishes.
const MAX_CONNECTIONS: usize = 64;
/// After refusing an oversized request, how much of the rest is read (and discarded) so that
/// closing does not reset the connection before the client sees the answer.
const MAX_DRAIN: usize = 64 * 1024;

/// Answers http-01 challenges: maps challenge tokens to key authorizations.
///
/// Clones share the same map, so a responder can be handed to a server ([`serve`](Self::serve)
/// or your own) while the ACME flow inserts and removes tokens.
#[derive(Clone, Default)]
pub struct Http01Responder {
    tokens: Http01Tokens,
}

impl fmt::Debug for Http01Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http01Responder")
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

impl Http01Responder {
    /// An empty responder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Publishes `key_authorization` for `token`, replacing (and returning) any previous value.
    ///
    /// The token must be base64url (as the CA sends it); any other token is stored but never
    /// served.
    pub fn insert(
        &self,
        token: impl Into<String>,
        key_authorization: impl Into<String>,
    ) -> Option<String> {
        let token = token.into();
        if !is_valid_token(&token) {
            tracing::warn!(token = %token, "http-01 token is not base64url; it will not be served");
        }
        tracing::debug!(token = %token, "http-01 token published");
        self.tokens.insert(token, key_authorization.into())
    }

    /// Withdraws `token`, returning its key authorization if it was published.
    pub fn remove(&self, token: &str) -> Option<String> {
        let removed = self.tokens.remove(token);
        if removed.is_some() {
            tracing::debug!(token = %token, "http-01 token withdrawn");
        }
        removed
    }

    /// The response body for a request path: the key authorization when `path` is
    /// `/.well-known/acme-challenge/{token}` with a base64url `token` that is published, `None`
    /// (answer 404) otherwise.
    ///
    /// `path` is the path only: strip any `?query` first (as [`serve`](Self::serve) does).
    pub fn lookup_path(&self, path: &str) -> Option<String> {
        self.tokens.lookup_path(path)
    }

    /// Serves the challenges over plain HTTP on `addr` (use port 80 for a real CA; port 0
    /// picks a free one), from a background thread, until the returned handle is dropped or
    /// shut down.
    ///
    /// Each connection gets its own thread (at most 64 at once), answers one request and is
    /// closed: `GET`/`HEAD` of a published token gets `200` with the key authorization as
    /// `text/plain`; anything else `404`, `405` or `400` (also for a request line and headers
    /// over 8 KiB). Each read waits at most 5 seconds, and the whole request head must arrive
    /// within 10.
    pub fn serve(&self, addr: SocketAddr) -> io::Result<ServerHandle> {
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let accept_thread = {
            let stop = Arc::clone(&stop);
            let responder = self.clone();
            thread::Builder::new()
                .name("acme-http01-accept".into())
                .spawn(move || accept_loop(&listener, &responder, &stop))?
        };
        tracing::debug!(addr = %local_addr, "http-01 responder listening");
        Ok(ServerHandle {
            local_addr,
            stop,
            accept_thread: Some(accept_thread),
        })
    }
}

/// A running http-01 server (from [`Http01Responder::serve`]); stops it when dropped.
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

    /// Stops accepting connections and waits for the accepting thread to end. Requests
    /// already being answered finish on their own threads (bounded by the 5-second timeout).
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let Some(thread) = self.accept_thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        // `accept` blocks: connect once to wake it so it sees the flag.
        let wake_addr = SocketAddr::new(
            match self.local_addr.ip() {
                IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
                ip => ip,
            },
            self.local_addr.port(),
        );
        match TcpStream::connect_timeout(&wake_addr, Duration::from_secs(1)) {
            Ok(_) => {
                if thread.join().is_err() {
                    tracing::warn!("http-01 accept thread panicked");
                }
            }
            // Not joined: the thread ends at its next accepted connection.
            Err(e) => tracing::warn!(error = %e, "could not wake the http-01 accept thread"),
        }
        tracing::debug!(addr = %self.local_addr, "http-01 responder stopped");
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn accept_loop(listener: &TcpListener, responder: &Http01Responder, stop: &AtomicBool) {
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let accepted = listener.accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let (stream, peer) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                // E.g. out of file descriptors: do not spin.
                tracing::debug!(error = %e, "http-01 accept failed");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            tracing::debug!(peer = %peer, "http-01 responder busy; connection closed");
            continue;
        }
        let guard = ActiveGuard(Arc::clone(&active));
        let responder = responder.clone();
        let spawned = thread::Builder::new()
            .name("acme-http01-conn".into())
            .spawn(move || {
                let _guard = guard;
                if let Err(e) = handle_connection(stream, &responder) {
                    tracing::debug!(peer = %peer, error = %e, "http-01 connection failed");
                }
            });
        if let Err(e) = spawned {
            tracing::debug!(error = %e, "could not spawn an http-01 connection thread");
        }
    }
}

/// Decrements the count of active connections when the connection's thread ends.
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the request head turned out to be.
enum Head {
    /// The complete head, without the final empty line.
    Complete(Vec<u8>),
    /// More than [`MAX_REQUEST_HEAD`] bytes without the end of the head.
    TooLarge,
    /// The peer closed before the end of the head.
    Truncated,
}

fn handle_connection(mut stream: TcpStream, responder: &Http01Responder) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let answer = match read_head(&mut stream)? {
        Head::Truncated => return Ok(()),
        Head::TooLarge => {
            write_response(
                &mut stream,
                "400 Bad Request",
                &[],
                b"request too large\n",
                true,
            )?;
            // Read (a bounded amount of) what the client still sends: closing with unread
            // data would reset the connection and could destroy the answer in flight.
            stream.shutdown(Shutdown::Write)?;
            drain(&mut stream);
            return Ok(());
        }
        Head::Complete(head) => answer(&head, responder),
    };
    let Answer {
        status,
        extra_headers,
        body,
        send_body,
    } = answer;
    write_response(
        &mut stream,
        status,
        extra_headers,
        body.as_bytes(),
        send_body,
    )?;
    stream.flush()?;
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}

/// Reads up to the end of the request head (`CRLF CRLF`, or bare `LF LF`).
fn read_head(stream: &mut TcpStream) -> io::Result<Head> {
    let deadline = Instant::now() + HEAD_DEADLINE;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request head too slow",
            ));
        }
        stream.set_read_timeout(Some(remaining.min(IO_TIMEOUT)))?;
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(Head::Truncated),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let searched_from = head.len().saturating_sub(3);
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = find_head_end(&head[searched_from..]) {
            let end = searched_from + end;
            if end > MAX_REQUEST_HEAD {
                return Ok(Head::TooLarge);
            }
            head.truncate(end);
            return Ok(Head::Complete(head));
        }
        if head.len() > MAX_REQUEST_HEAD {
            return Ok(Head::TooLarge);
        }
    }
}

/// Reads and discards what the client still sends, up to [`MAX_DRAIN`] bytes or
/// [`DRAIN_DEADLINE`].
fn drain(stream: &mut TcpStream) {
    let deadline = Instant::now() + DRAIN_DEADLINE;
    let mut buf = [0u8; 4096];
    let mut total = 0;
    while total < MAX_DRAIN {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() || stream.set_read_timeout(Some(remaining)).is_err() {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// The offset just before the blank line ending the head, if present.
fn find_head_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = bytes.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

struct Answer {
    status: &'static str,
    extra_headers: &'static [(&'static str, &'static str)],
    body: String,
    send_body: bool,
}

impl Answer {
    fn plain(status: &'static str, body: &str) -> Self {
        Answer {
            status,
            extra_headers: &[],
            body: body.to_owned(),
            send_body: true,
        }
    }
}

fn answer(head: &[u8], responder: &Http01Responder) -> Answer {
    let Ok(head) = std::str::from_utf8(head) else {
        return Answer::plain("400 Bad Request", "bad request\n");
    };
    let request_line = head.lines().next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Answer::plain("400 Bad Request", "bad request\n");
    };
    if !version.starts_with("HTTP/1.") {
        return Answer::plain("400 Bad Request", "bad request\n");
    }
    let send_body = match method {
        "GET" => true,
        "HEAD" => false,
        _ => {
            return Answer {
                status: "405 Method Not Allowed",
                extra_headers: &[("Allow", "GET, HEAD")],
                body: "method not allowed\n".to_owned(),
                send_body: true,
            };
        }
    };
    let path = request_path(target);
    let found = path.and_then(|p| responder.lookup_path(p));
    tracing::debug!(method, target, found = found.is_some(), "http-01 request");
    match found {
        Some(key_authorization) => Answer {
            status: "200 OK",
            extra_headers: &[],
            body: key_authorization,
            send_body,
        },
        None => Answer {
            send_body,
            ..Answer::plain("404 Not Found", "not found\n")
        },
    }
}

/// The path of an origin-form (`/p?q`) or absolute-form (`http://host/p?q`) request target.
fn request_path(target: &str) -> Option<&str> {
    let target = match target.strip_prefix("http://") {
        Some(rest) => &rest[rest.find('/')?..],
        None => target,
    };
    if !target.starts_with('/') {
        return None;
    }
    Some(target.split(['?', '#']).next().unwrap_or(target))
}

fn write_response(
    stream: &mut TcpStream,
    status: &str,
    extra_headers: &[(&str, &str)],
    body: &[u8],
    send_body: bool,
) -> io::Result<()> {
    let mut out = Vec::with_capacity(160 + body.len());
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    )?;
    for (name, value) in extra_headers {
        write!(out, "{name}: {value}\r\n")?;
    }
    out.extend_from_slice(b"\r\n");
    if send_body {
        out.extend_from_slice(body);
    }
    stream.write_all(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_path_serves_only_published_base64url_tokens() {
        let r = Http01Responder::new();
        assert_eq!(r.insert("tok_EN-1", "tok_EN-1.thumb"), None);
        assert_eq!(
            r.lookup_path("/.well-known/acme-challenge/tok_EN-1")
                .as_deref(),
            Some("tok_EN-1.thumb")
        );
        assert_eq!(r.lookup_path("/.well-known/acme-challenge/other"), None);
        assert_eq!(r.lookup_path("/.well-known/acme-challenge/"), None);
        assert_eq!(
            r.lookup_path("/.well-known/acme-challenge/tok_EN-1/x"),
            None
        );
        assert_eq!(
            r.lookup_path("/.well-known/acme-challenge/tok_EN-1?x"),
            None
        );
        assert_eq!(r.lookup_path("/tok_EN-1"), None);
        // Stored, but not base64url: never served.
        r.insert("a.b", "a.b.thumb");
        assert_eq!(r.lookup_path("/.well-known/acme-challenge/a.b"), None);
        assert_eq!(r.remove("tok_EN-1").as_deref(), Some("tok_EN-1.thumb"));
        assert_eq!(r.lookup_path("/.well-known/acme-challenge/tok_EN-1"), None);
        assert_eq!(r.remove("tok_EN-1"), None);
    }

    #[test]
    fn clones_share_the_map() {
        let r = Http01Responder::new();
        let clone = r.clone();
        r.insert("abc", "abc.t");
        assert_eq!(
            clone
                .lookup_path("/.well-known/acme-challenge/abc")
                .as_deref(),
            Some("abc.t")
        );
        assert_eq!(format!("{clone:?}"), "Http01Responder { tokens: 1 }");
    }

    #[test]
    fn request_targets() {
        assert_eq!(request_path("/a/b?c=d"), Some("/a/b"));
        assert_eq!(request_path("http://example.com/a/b?x"), Some("/a/b"));
        assert_eq!(request_path("http://example.com"), None);
        assert_eq!(request_path("*"), None);
    }

    #[test]
    fn head_end_detection() {
        assert_eq!(
            find_head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest"),
            Some(23)
        );
        assert_eq!(find_head_end(b"GET / HTTP/1.1\nHost: x\n\n"), Some(22));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }
}
