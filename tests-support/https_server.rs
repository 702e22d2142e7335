// A tiny blocking HTTP/1.1 test server (std threads + rustls) with scripted misbehaviour,
// and a test CA made with rcgen. Only ever listens on 127.0.0.1.

#![allow(dead_code, unreachable_pub)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use acme_proto::http::{Endpoint, HeaderMap, Method, Request, RequestId};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Size of the `/big` and `/big-chunked` bodies.
pub const BIG: usize = 4000;

/// A test CA and a server certificate for `127.0.0.1` and `localhost`.
pub struct TestPki {
    pub ca_pem: String,
    pub server_config: Arc<ServerConfig>,
}

impl TestPki {
    pub fn new() -> Self {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "acme-rs test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate().unwrap();
        let leaf_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();

        let chain = vec![leaf.der().clone(), ca_cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        TestPki {
            ca_pem: ca_cert.pem(),
            server_config: Arc::new(server_config),
        }
    }

    pub fn ca_der(&self) -> CertificateDer<'static> {
        use rustls::pki_types::pem::PemObject;
        CertificateDer::from_pem_slice(self.ca_pem.as_bytes()).unwrap()
    }
}

/// A running test server.
pub struct TestServer {
    pub addr: SocketAddr,
    /// Number of TCP connections accepted so far.
    pub accepted: Arc<AtomicUsize>,
    scheme: &'static str,
}

impl TestServer {
    /// HTTPS with the given PKI.
    pub fn https(pki: &TestPki) -> Self {
        Self::start(Some(pki.server_config.clone()))
    }

    /// Plain HTTP.
    pub fn http() -> Self {
        Self::start(None)
    }

    fn start(tls: Option<Arc<ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let counter = accepted.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let tls = tls.clone();
                thread::spawn(move || {
                    let _ = handle(stream, tls, addr);
                });
            }
        });
        TestServer {
            addr,
            accepted,
            scheme,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.addr, path)
    }

    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// A server that accepts TCP connections and never sends a byte.
pub fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    addr
}

/// An address on which nothing listens.
pub fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

pub fn request(method: Method, url: impl Into<String>) -> Request {
    Request {
        id: RequestId(1),
        endpoint: Endpoint::Directory,
        method,
        url: url.into(),
        headers: HeaderMap::new(),
        body: Vec::new(),
        follow_redirects: false,
    }
}

pub fn get(url: impl Into<String>) -> Request {
    request(Method::GET, url)
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

fn handle(stream: TcpStream, tls: Option<Arc<ServerConfig>>, addr: SocketAddr) -> io::Result<()> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    stream.set_nodelay(true)?;
    let io: Box<dyn Stream> = match tls {
        Some(config) => {
            let conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
            Box::new(rustls::StreamOwned::new(conn, stream))
        }
        None => Box::new(stream),
    };
    let mut reader = BufReader::new(io);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            reader.read_line(&mut header)?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let length: usize = header("content-length").parse().unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let head = method == "HEAD";
        let out = reader.get_mut();
        match path.split('?').next().unwrap_or_default() {
            "/ok" => respond(
                out,
                "200 OK",
                &[("Content-Type", "text/plain")],
                b"hello",
                head,
            )?,
            "/echo" => {
                let extra = [
                    ("X-Echo-Method", method.clone()),
                    ("X-Echo-Test", header("x-test")),
                    ("X-Echo-Host", header("host")),
                    ("X-Echo-Path", path.clone()),
                ];
                let extra: Vec<(&str, &str)> =
                    extra.iter().map(|(n, v)| (*n, v.as_str())).collect();
                respond(out, "200 OK", &extra, &body, head)?
            }
            "/redirect" => respond(out, "302 Found", &[("Location", "/ok")], b"", head)?,
            "/redirect-abs" => {
                let location = format!("{scheme}://{addr}/ok");
                respond(
                    out,
                    "301 Moved Permanently",
                    &[("Location", &location)],
                    b"",
                    head,
                )?
            }
            "/dir/redirect-rel" => {
                respond(out, "303 See Other", &[("Location", "../ok")], b"", head)?
            }
            "/loop" => respond(
                out,
                "307 Temporary Redirect",
                &[("Location", "/loop")],
                b"",
                head,
            )?,
            "/big" => respond(out, "200 OK", &[], &vec![b'x'; BIG], head)?,
            "/big-chunked" => {
                write!(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?;
                for _ in 0..(BIG / 100) {
                    write!(out, "64\r\n{}\r\n", "y".repeat(100))?;
                    out.flush()?;
                }
                write!(out, "0\r\n\r\n")?;
                out.flush()?;
            }
            "/problem" => respond(
                out,
                "400 Bad Request",
                &[("Content-Type", "application/problem+json")],
                br#"{"type":"urn:ietf:params:acme:error:badNonce"}"#,
                head,
            )?,
            "/hang" => {
                // Never answer; hold the connection until the client goes away.
                let mut sink = [0u8; 64];
                while reader.read(&mut sink).unwrap_or(0) > 0 {}
                return Ok(());
            }
            "/ok-then-close" => {
                // Keep-alive response, then the server drops the idle connection.
                respond(out, "200 OK", &[], b"hello", head)?;
                thread::sleep(Duration::from_millis(100));
                return Ok(());
            }
            "/truncate" => {
                write!(out, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")?;
                out.write_all(&[b'z'; 10])?;
                out.flush()?;
                // Give the client time to start reading the body, then break the connection
                // without finishing it.
                thread::sleep(Duration::from_millis(50));
                return Ok(());
            }
            _ => respond(out, "404 Not Found", &[], b"", head)?,
        }
    }
}

fn respond(
    out: &mut Box<dyn Stream>,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    head: bool,
) -> io::Result<()> {
    let mut message = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        message.push_str(&format!("{name}: {value}\r\n"));
    }
    message.push_str("\r\n");
    out.write_all(message.as_bytes())?;
    if !head {
        out.write_all(body)?;
    }
    out.flush()
}
