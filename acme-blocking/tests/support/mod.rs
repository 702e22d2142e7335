//! A small local test server (plain or TLS, keep-alive HTTP/1.1) and a throwaway test CA.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use acme_proto::http::{Endpoint, HeaderMap, HeaderValue, Method, Request, RequestId};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA made for one test run, and a server certificate for 127.0.0.1/localhost it issued.
pub struct TestCa {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

pub fn test_ca() -> TestCa {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "acme-blocking test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "test server");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).unwrap();

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone()];
    let server_config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    TestCa {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(server_config),
    }
}

/// A request as the test server parsed it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the test server does with a request.
pub enum Reply {
    /// A complete response (`Content-Length`, or chunked when `chunked`).
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        chunked: bool,
    },
    /// Never answer (for a few seconds).
    Hang,
    /// Headers announcing 1000 bytes, 10 of them, then silence.
    PartialThenHang,
    /// Headers announcing 1000 bytes, 10 of them, then a clean close (FIN).
    PartialThenClose,
}

impl Reply {
    pub fn ok(body: &str) -> Reply {
        Reply::status(200, body)
    }

    pub fn status(status: u16, body: &str) -> Reply {
        Reply::Respond {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
            chunked: false,
        }
    }
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A keep-alive HTTP/1.1 server on 127.0.0.1 that counts TCP connections and records requests.
pub struct TestServer {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    tls: bool,
}

impl TestServer {
    pub fn start(
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let is_tls = tls.is_some();
        {
            let connections = Arc::clone(&connections);
            let seen = Arc::clone(&seen);
            thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let handler = Arc::clone(&handler);
                    let seen = Arc::clone(&seen);
                    let tls = tls.clone();
                    thread::spawn(move || {
                        stream
                            .set_read_timeout(Some(Duration::from_secs(10)))
                            .unwrap();
                        match tls {
                            Some(config) => {
                                let Ok(conn) = rustls::ServerConnection::new(config) else {
                                    return;
                                };
                                serve_connection(
                                    rustls::StreamOwned::new(conn, stream),
                                    &*handler,
                                    &seen,
                                );
                            }
                            None => serve_connection(stream, &*handler, &seen),
                        }
                    });
                }
            });
        }
        TestServer {
            addr,
            connections,
            seen,
            tls: is_tls,
        }
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve_connection<S: Read + Write>(stream: S, handler: &Handler, seen: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream);
    loop {
        let Some(request) = read_request(&mut reader) else {
            return;
        };
        seen.lock().unwrap().push(request.clone());
        let close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let is_head = request.method == "HEAD";
        let stream = reader.get_mut();
        let reply = handler(&request);
        let result = match &reply {
            Reply::Respond {
                status,
                headers,
                body,
                chunked,
            } => {
                let mut out = format!("HTTP/1.1 {status} Test\r\n");
                for (name, value) in headers {
                    out.push_str(&format!("{name}: {value}\r\n"));
                }
                if *chunked {
                    out.push_str("Transfer-Encoding: chunked\r\n\r\n");
                } else {
                    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                }
                let mut out = out.into_bytes();
                if !is_head {
                    if *chunked {
                        for chunk in body.chunks(512) {
                            out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                            out.extend_from_slice(chunk);
                            out.extend_from_slice(b"\r\n");
                        }
                        out.extend_from_slice(b"0\r\n\r\n");
                    } else {
                        out.extend_from_slice(body);
                    }
                }
                stream.write_all(&out).and_then(|()| stream.flush())
            }
            Reply::Hang => {
                thread::sleep(Duration::from_secs(5));
                return;
            }
            Reply::PartialThenHang | Reply::PartialThenClose => {
                let partial = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789";
                let _ = stream.write_all(partial).and_then(|()| stream.flush());
                if matches!(reply, Reply::PartialThenHang) {
                    thread::sleep(Duration::from_secs(5));
                }
                return;
            }
        };
        if result.is_err() || close {
            return;
        }
    }
}

fn read_request<R: BufRead>(reader: &mut R) -> Option<Seen> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut seen = Seen {
        method,
        path,
        headers,
        body: Vec::new(),
    };
    let length: usize = seen
        .header("content-length")
        .map_or(0, |v| v.parse().unwrap());
    seen.body = vec![0; length];
    reader.read_exact(&mut seen.body).ok()?;
    Some(seen)
}

/// A request as the ACME core would emit it.
pub fn request(method: Method, url: &str) -> Request {
    let mut headers = HeaderMap::new();
    headers.insert(
        "user-agent",
        HeaderValue::from_static("acme-blocking-tests/0"),
    );
    Request {
        id: RequestId(1),
        endpoint: Endpoint::Directory,
        method,
        url: url.to_owned(),
        headers,
        body: Vec::new(),
        follow_redirects: false,
    }
}

pub fn get(url: &str) -> Request {
    request(Method::GET, url)
}

/// A port on 127.0.0.1 nothing listens on (bound, then released).
pub fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

/// A raw TCP listener whose connections the given function handles.
pub fn raw_server(handle: impl Fn(TcpStream) + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = Arc::new(handle);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handle = Arc::clone(&handle);
            thread::spawn(move || handle(stream));
        }
    });
    addr
}
