// The core's scripted fake CA behind a real listener on 127.0.0.1, with transport faults,
// and other small misbehaving servers; shared by every adapter's fault tests (included with
// `#[path]`). Plain std threads: it serves any adapter, whatever its runtime.
#![allow(dead_code, unreachable_pub)]

use acme_proto::http::{Endpoint, HeaderMap, HeaderValue, Method, Request, RequestId};
use acme_proto::testing::{FakeConfig, FakeServer, LoggedRequest};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime};

/// What happens to the next request whose path starts with a prefix (see [`FakeCa::fault`]).
#[derive(Clone, Debug)]
pub enum Fault {
    /// The CA processes the request, then holds its answer this long (a slow server).
    Delay(Duration),
    /// The CA processes the request; the connection breaks after the headers and half the
    /// body.
    CutMidBody,
    /// The connection is closed after the request is read, without processing or answering.
    Close,
    /// Answer `200` with a body of this many bytes, without processing.
    HugeBody(usize),
    /// Write these bytes as the answer, without processing, then close the connection.
    Raw(Vec<u8>),
    /// Write the first bytes at once, then the second one at a time, this far apart, then
    /// close (a slowloris peer).
    Trickle(Vec<u8>, Vec<u8>, Duration),
    /// Write the first bytes, then the second over and over until the client hangs up (an
    /// endless body, or an endless run of `1xx` answers).
    Endless(Vec<u8>, Vec<u8>),
}

/// How header names are written on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderCase {
    /// As the fake CA spells them (`Replay-Nonce`).
    AsIs,
    /// `REPLAY-NONCE`.
    Upper,
    /// `replay-nonce`.
    Lower,
}

struct State {
    server: FakeServer,
    faults: Vec<(String, Fault)>,
    /// Every request's method, path and body, faults included.
    seen: Vec<(String, String, Vec<u8>)>,
    header_case: HeaderCase,
}

/// The fake CA on a plain-HTTP loopback listener (clients need `allow_http(true)`).
pub struct FakeCa {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    connections: Arc<AtomicUsize>,
    directory: String,
}

impl FakeCa {
    pub fn start(mut config: FakeConfig) -> FakeCa {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        config.public_base = Some(format!("http://{addr}"));
        let mut server = FakeServer::new(config);
        let directory = server.public_url(&FakeServer::directory_url());
        let state = Arc::new(Mutex::new(State {
            server,
            faults: Vec::new(),
            seen: Vec::new(),
            header_case: HeaderCase::AsIs,
        }));
        let connections = Arc::new(AtomicUsize::new(0));
        let (st, count) = (state.clone(), connections.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let st = st.clone();
                thread::spawn(move || serve(stream, addr, &st));
            }
        });
        FakeCa {
            addr,
            state,
            connections,
            directory,
        }
    }

    /// The directory URL to give the client.
    pub fn directory(&self) -> String {
        self.directory.clone()
    }

    /// Apply `fault` to the next request whose path starts with `prefix`.
    pub fn fault(&self, prefix: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .faults
            .push((prefix.to_owned(), fault));
    }

    pub fn set_header_case(&self, case: HeaderCase) {
        self.state.lock().unwrap().header_case = case;
    }

    /// Act on the fake CA directly (publish, inspect, configure).
    pub fn with<T>(&self, f: impl FnOnce(&mut FakeServer) -> T) -> T {
        f(&mut self.state.lock().unwrap().server)
    }

    /// What the fake CA itself processed.
    pub fn log(&self) -> Vec<LoggedRequest> {
        self.with(|s| s.log.clone())
    }

    /// The processed requests to paths starting with `prefix`.
    pub fn requests(&self, prefix: &str) -> Vec<LoggedRequest> {
        self.log()
            .into_iter()
            .filter(|l| l.path.starts_with(prefix))
            .collect()
    }

    /// Every request received (method and path), faulted ones included.
    pub fn seen(&self) -> Vec<String> {
        let st = self.state.lock().unwrap();
        st.seen.iter().map(|(m, p, _)| format!("{m} {p}")).collect()
    }

    /// The request received right after the last one whose `METHOD /path` starts with
    /// `prefix` (faulted ones included), if any.
    pub fn seen_after_last(&self, prefix: &str) -> Option<String> {
        let seen = self.seen();
        let last = seen.iter().rposition(|r| r.starts_with(prefix))?;
        seen.get(last + 1).cloned()
    }

    /// Every request body received.
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        let st = self.state.lock().unwrap();
        st.seen.iter().map(|(_, _, b)| b.clone()).collect()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// A parsed request: method, path and query, headers, body.
struct Incoming {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_request(reader: &mut impl BufRead) -> Option<Incoming> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Incoming {
        method,
        target,
        headers,
        body,
    })
}

fn serve(stream: TcpStream, addr: SocketAddr, state: &Mutex<State>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader) {
        let fault = {
            let mut st = state.lock().unwrap();
            st.seen
                .push((req.method.clone(), req.target.clone(), req.body.clone()));
            let at = st
                .faults
                .iter()
                .position(|(p, _)| req.target.starts_with(p.as_str()));
            at.map(|i| st.faults.remove(i).1)
        };
        match fault {
            Some(Fault::Close) => {
                let _ = out.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::HugeBody(n)) => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n");
                let _ = out.write_all(head.as_bytes());
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = n;
                while left > 0 {
                    let k = left.min(chunk.len());
                    if out.write_all(&chunk[..k]).is_err() {
                        return;
                    }
                    left -= k;
                }
                continue;
            }
            Some(Fault::Raw(bytes)) => {
                let _ = out.write_all(&bytes);
                let _ = out.flush();
                let _ = out.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Trickle(fast, slow, gap)) => {
                if out.write_all(&fast).is_err() {
                    return;
                }
                for b in slow {
                    if out.write_all(&[b]).is_err() {
                        return;
                    }
                    thread::sleep(gap);
                }
                let _ = out.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Endless(head, chunk)) => {
                if out.write_all(&head).is_err() {
                    return;
                }
                while out.write_all(&chunk).is_ok() {}
                return;
            }
            _ => {}
        }
        let (head, body) = answer(state, addr, &req);
        match fault {
            Some(Fault::Delay(d)) => {
                thread::sleep(d);
                if out
                    .write_all(&head)
                    .and_then(|()| out.write_all(&body))
                    .is_err()
                {
                    return;
                }
            }
            Some(Fault::CutMidBody) => {
                let _ = out.write_all(&head);
                let _ = out.write_all(&body[..body.len() / 2]);
                let _ = out.flush();
                let _ = out.shutdown(Shutdown::Both);
                return;
            }
            _ => {
                if out
                    .write_all(&head)
                    .and_then(|()| out.write_all(&body))
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

/// Let the fake CA answer; returns the status line and headers, and the body.
fn answer(state: &Mutex<State>, addr: SocketAddr, req: &Incoming) -> (Vec<u8>, Vec<u8>) {
    let mut headers = HeaderMap::new();
    for (n, v) in &req.headers {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.append(n, v);
        }
    }
    let method = Method::from_bytes(req.method.as_bytes()).unwrap_or(Method::GET);
    let request = Request {
        id: RequestId(0),
        endpoint: Endpoint::Directory,
        method: method.clone(),
        url: format!("http://{addr}{}", req.target),
        headers,
        body: req.body.clone(),
        follow_redirects: false,
    };
    let mut st = state.lock().unwrap();
    let case = st.header_case;
    let response = match st.server.handle(SystemTime::now(), &request) {
        Ok(r) => r,
        Err(e) => {
            let body = format!("scripted transport failure: {e}").into_bytes();
            http::Response::builder()
                .status(502)
                .body(body)
                .unwrap_or_default()
        }
    };
    drop(st);
    let (parts, body) = response.into_parts();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        parts.status.as_u16(),
        parts.status.canonical_reason().unwrap_or("Status")
    );
    for (name, value) in &parts.headers {
        let name = match case {
            HeaderCase::AsIs => title_case(name.as_str()),
            HeaderCase::Upper => name.as_str().to_ascii_uppercase(),
            HeaderCase::Lower => name.as_str().to_owned(),
        };
        head.push_str(&format!(
            "{name}: {}\r\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    let length = if method == Method::HEAD {
        0
    } else {
        body.len()
    };
    let length_name = match case {
        HeaderCase::Upper => "CONTENT-LENGTH",
        HeaderCase::Lower => "content-length",
        HeaderCase::AsIs => "Content-Length",
    };
    head.push_str(&format!("{length_name}: {length}\r\n\r\n"));
    (head.into_bytes(), body)
}

/// `replay-nonce` → `Replay-Nonce`.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// A directory document whose endpoints all live under `base`.
pub fn directory_json(base: &str) -> String {
    format!(
        r#"{{"newNonce":"{base}/nonce","newAccount":"{base}/new-acct","newOrder":"{base}/new-order"}}"#
    )
}

/// A port on 127.0.0.1 nothing listens on.
pub fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A listener that accepts connections and never sends a byte; counts connections.
pub fn silent_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            c.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (addr, count)
}

/// A TLS server whose self-signed certificate no client trusts; counts connections.
pub fn untrusted_tls_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        signing_key.serialize_der(),
    ));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], key)
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            c.fetch_add(1, Ordering::SeqCst);
            let config = config.clone();
            thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut buf = [0u8; 1024];
                // The handshake fails on the client's side; read until it hangs up.
                while matches!(tls.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    (addr, count)
}

/// A plain-TCP peer that answers anything with an HTTP error (what a TLS client meets when
/// `https://` points at a plain HTTP port); counts connections.
pub fn plain_http_peer() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            c.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 512];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            let _ = stream.shutdown(Shutdown::Both);
        }
    });
    (addr, count)
}
