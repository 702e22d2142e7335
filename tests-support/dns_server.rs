// A tiny authoritative DNS server on loopback UDP for the RFC 2136 solver tests of every
// adapter (included with `#[path]`): it applies TSIG-verified dynamic updates of TXT records
// (add to the RRset, delete one value) and answers TXT queries, the way BIND or Knot would,
// with hickory-proto doing the wire format and TSIG. It runs on its own thread until dropped.
#![allow(dead_code, unreachable_pub)]

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode, UpdateMessage};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, TSigResponseContext, TSigner};
use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// The TSIG key the tests share with the server: name, and base64 secret.
pub const KEY_NAME: &str = "acme-update.";
pub const KEY_SECRET_B64: &str = "dGhlIHNoYXJlZCBzZWNyZXQgb2YgdGhlIGZha2UgRE5T";
const KEY_SECRET: &[u8] = b"the shared secret of the fake DNS";

/// What the server saw.
#[derive(Debug, Default)]
pub struct Journal {
    /// TXT values by fully qualified, lowercase name.
    pub txt: BTreeMap<String, Vec<String>>,
    /// Updates applied (`+name value` / `-name value`), in order.
    pub updates: Vec<String>,
    /// Requests refused (bad or missing signature, outside the zone).
    pub refused: usize,
}

pub struct FakeDns {
    pub addr: SocketAddr,
    pub journal: Arc<Mutex<Journal>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn signer() -> TSigner {
    TSigner::new(
        KEY_SECRET.to_vec(),
        TsigAlgorithm::HmacSha256,
        Name::from_ascii(KEY_NAME).unwrap(),
        300,
    )
    .unwrap()
}

impl FakeDns {
    /// Serve zone `zone` on 127.0.0.1 (a free port), requiring TSIG on updates.
    pub fn start(zone: &str) -> FakeDns {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let journal = Arc::new(Mutex::new(Journal::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let zone = Name::from_ascii(zone).unwrap();
        let thread = {
            let (journal, stop) = (journal.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while !stop.load(Ordering::SeqCst) {
                    let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                        continue;
                    };
                    if let Some(answer) = handle(&buf[..n], &zone, &journal) {
                        let _ = socket.send_to(&answer, peer);
                    }
                }
            })
        };
        FakeDns {
            addr,
            journal,
            stop,
            thread: Some(thread),
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn handle(datagram: &[u8], zone: &Name, journal: &Mutex<Journal>) -> Option<Vec<u8>> {
    let request = Message::from_vec(datagram).ok()?;
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata.message_type = MessageType::Response;
    for q in &request.queries {
        response.add_query(q.clone());
    }
    let mut journal = journal.lock().unwrap();
    match request.metadata.op_code {
        OpCode::Update => {
            let signer = signer();
            let verified = request
                .signature()
                .and_then(|_| signer.verify_message_byte(datagram, None, true).ok())
                .filter(|(_, _, window)| window.contains(&now()));
            let Some((request_mac, _, _)) = verified else {
                journal.refused += 1;
                response.metadata.response_code = ResponseCode::NotAuth;
                return response.to_vec().ok();
            };
            let in_zone = request.zones().iter().all(|z| z.name() == zone)
                && request.updates().iter().all(|r| zone.zone_of(&r.name));
            if !in_zone {
                journal.refused += 1;
                response.metadata.response_code = ResponseCode::NotZone;
            } else {
                for r in request.updates() {
                    let RData::TXT(txt) = &r.data else { continue };
                    let name = r.name.to_ascii().to_ascii_lowercase();
                    let value: String = txt
                        .txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s))
                        .collect();
                    let values = journal.txt.entry(name.clone()).or_default();
                    match r.dns_class {
                        DNSClass::IN => {
                            if !values.contains(&value) {
                                values.push(value.clone());
                            }
                            journal.updates.push(format!("+{name} {value}"));
                        }
                        DNSClass::NONE => {
                            values.retain(|v| v != &value);
                            journal.updates.push(format!("-{name} {value}"));
                        }
                        _ => {}
                    }
                }
            }
            let unsigned = response.to_vec().ok()?;
            let ctx =
                TSigResponseContext::new(request.metadata.id, now(), signer, request_mac, None);
            response.set_signature(ctx.sign(&unsigned).ok()?);
            response.to_vec().ok()
        }
        OpCode::Query => {
            for q in &request.queries {
                if q.query_type() != RecordType::TXT {
                    continue;
                }
                let name = q.name().to_ascii().to_ascii_lowercase();
                for v in journal.txt.get(&name).into_iter().flatten() {
                    response.add_answer(Record::from_rdata(
                        q.name().clone(),
                        0,
                        RData::TXT(TXT::new(vec![v.clone()])),
                    ));
                }
            }
            response.to_vec().ok()
        }
        _ => None,
    }
}
