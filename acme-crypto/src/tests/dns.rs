//! RFC 2136 + TSIG messages, checked by decoding and verifying them with hickory-proto as a
//! server would, and by answering them the way a server does.

use crate::dns::{DnsError, DnsExchange, TsigAlgorithm, TsigKey, TxtChange};
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode, UpdateMessage};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm as HAlg;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, TSigResponseContext, TSigner};
use std::time::{Duration, SystemTime};

const SECRET_B64: &str = "c2VjcmV0IGtleSBmb3IgdGhlIHVuaXQgdGVzdHMhIQ==";

fn key() -> TsigKey {
    TsigKey::from_base64("acme-update.", TsigAlgorithm::HmacSha256, SECRET_B64).unwrap()
}

fn server_signer() -> TSigner {
    TSigner::new(
        b"secret key for the unit tests!!".to_vec(),
        HAlg::HmacSha256,
        Name::from_ascii("acme-update.").unwrap(),
        300,
    )
    .unwrap()
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// The server's answer to `request`: `rcode`, signed with `signer` when given (as a server
/// answering a TSIG-signed request does).
fn answer(
    request: &[u8],
    rcode: ResponseCode,
    signer: Option<&TSigner>,
    answers: &[&str],
) -> Vec<u8> {
    let req = Message::from_vec(request).unwrap();
    let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
    resp.metadata.response_code = rcode;
    for q in &req.queries {
        resp.add_query(q.clone());
        for a in answers {
            resp.add_answer(Record::from_rdata(
                q.name().clone(),
                60,
                RData::TXT(TXT::new(vec![(*a).to_owned()])),
            ));
        }
    }
    if let Some(signer) = signer {
        // The request was signed with the real key: its MAC chains into the answer's.
        let (request_mac, _, _) = server_signer()
            .verify_message_byte(request, None, true)
            .unwrap();
        let unsigned = resp.to_vec().unwrap();
        let ctx = TSigResponseContext::new(
            req.metadata.id,
            1_800_000_001,
            signer.clone(),
            request_mac,
            None,
        );
        resp.set_signature(ctx.sign(&unsigned).unwrap());
    }
    resp.to_vec().unwrap()
}

#[test]
fn signed_add_is_an_rfc2136_update_the_server_can_verify() {
    let update = DnsExchange::update_txt(
        "Example.COM.",
        "_acme-challenge.www.example.com",
        "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
        TxtChange::Add { ttl: 60 },
        Some(&key()),
        now(),
    )
    .unwrap();
    let msg = Message::from_vec(update.request()).unwrap();
    assert_eq!(msg.metadata.op_code, OpCode::Update);
    assert_eq!(msg.metadata.id, update.id());
    assert_eq!(msg.zones().len(), 1);
    assert_eq!(
        msg.zones()[0].name(),
        &Name::from_ascii("example.com.").unwrap()
    );
    assert_eq!(msg.zones()[0].query_type(), RecordType::SOA);
    assert!(
        msg.prerequisites().is_empty(),
        "adding must not require absence"
    );
    let ups = msg.updates();
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0].name.to_ascii(), "_acme-challenge.www.example.com.");
    assert_eq!(ups[0].dns_class, DNSClass::IN);
    assert_eq!(ups[0].ttl, 60);
    assert_eq!(
        ups[0].data,
        RData::TXT(TXT::new(vec![
            "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0".into()
        ]))
    );
    // The server's verification of the signature, with the key it knows.
    let (_, time, window) = server_signer()
        .verify_message_byte(update.request(), None, true)
        .unwrap();
    assert_eq!(time, 1_800_000_000);
    assert!(window.contains(&1_800_000_100));
}

#[test]
fn remove_deletes_exactly_the_value() {
    let update = DnsExchange::update_txt(
        "example.com",
        "_acme-challenge.example.com",
        "v1",
        TxtChange::Remove,
        None,
        now(),
    )
    .unwrap();
    let msg = Message::from_vec(update.request()).unwrap();
    let ups = msg.updates();
    assert_eq!(ups.len(), 1);
    assert_eq!(
        ups[0].dns_class,
        DNSClass::NONE,
        "class NONE: delete this RR"
    );
    assert_eq!(ups[0].ttl, 0);
    assert_eq!(ups[0].data, RData::TXT(TXT::new(vec!["v1".into()])));
    assert!(msg.signature().is_none());
}

#[test]
fn signed_answers_are_verified() {
    let mut update = DnsExchange::update_txt(
        "example.com",
        "_acme-challenge.example.com",
        "v",
        TxtChange::Add { ttl: 5 },
        Some(&key()),
        now(),
    )
    .unwrap();
    let signer = server_signer();
    let good = answer(update.request(), ResponseCode::NoError, Some(&signer), &[]);

    // Another transaction's datagram is ignored.
    let mut other = good.clone();
    other[0] ^= 0xff;
    assert_eq!(update.read_response(&other), Ok(None));
    assert_eq!(update.read_response(&[1]), Ok(None));

    // A forged answer (signed with another key) is refused.
    let forger = TSigner::new(
        b"another key".to_vec(),
        HAlg::HmacSha256,
        Name::from_ascii("acme-update.").unwrap(),
        300,
    )
    .unwrap();
    let forged = answer(update.request(), ResponseCode::NoError, Some(&forger), &[]);
    assert!(matches!(
        update.read_response(&forged),
        Err(DnsError::Tsig(_))
    ));

    // An unsigned success is refused; an unsigned error is reported as the error.
    let unsigned = answer(update.request(), ResponseCode::NoError, None, &[]);
    assert!(matches!(
        update.read_response(&unsigned),
        Err(DnsError::Tsig(_))
    ));
    let notauth = answer(update.request(), ResponseCode::NotAuth, None, &[]);
    match update.read_response(&notauth) {
        Err(DnsError::Rcode { rcode, .. }) => assert!(
            rcode.to_ascii_lowercase().contains("not authorized"),
            "{rcode}"
        ),
        other => panic!("{other:?}"),
    }

    // The real answer.
    let reply = update.read_response(&good).unwrap().expect("the answer");
    assert!(reply.txt.is_empty());
}

#[test]
fn refused_update_is_an_error_naming_the_request() {
    let mut update = DnsExchange::update_txt(
        "example.com",
        "_acme-challenge.example.com",
        "v",
        TxtChange::Add { ttl: 5 },
        None,
        now(),
    )
    .unwrap();
    let refused = answer(update.request(), ResponseCode::Refused, None, &[]);
    let err = update.read_response(&refused).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("_acme-challenge.example.com."), "{text}");
    assert!(matches!(err, DnsError::Rcode { .. }));
}

#[test]
fn txt_query_reads_values() {
    let mut query = DnsExchange::query_txt("_acme-challenge.example.com").unwrap();
    let msg = Message::from_vec(query.request()).unwrap();
    assert_eq!(msg.metadata.message_type, MessageType::Query);
    assert!(msg.metadata.recursion_desired);
    assert_eq!(msg.queries[0].query_type(), RecordType::TXT);
    let reply = answer(query.request(), ResponseCode::NoError, None, &["a", "b"]);
    assert_eq!(
        query.read_response(&reply).unwrap().unwrap().txt,
        vec!["a", "b"]
    );
    let nx = answer(query.request(), ResponseCode::NXDomain, None, &[]);
    assert!(query.read_response(&nx).unwrap().unwrap().txt.is_empty());
    let servfail = answer(query.request(), ResponseCode::ServFail, None, &[]);
    assert!(matches!(
        query.read_response(&servfail),
        Err(DnsError::Rcode { .. })
    ));
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let e = |zone: &str, name: &str, value: &str| {
        DnsExchange::update_txt(zone, name, value, TxtChange::Add { ttl: 1 }, None, now())
            .unwrap_err()
    };
    assert!(matches!(
        e("example.org", "_acme-challenge.example.com", "v"),
        DnsError::Invalid(_)
    ));
    assert!(matches!(
        e("example.com", "_acme-challenge.example.com", ""),
        DnsError::Invalid(_)
    ));
    assert!(matches!(
        e(
            "example.com",
            "_acme-challenge.example.com",
            &"x".repeat(256)
        ),
        DnsError::Invalid(_)
    ));
    assert!(matches!(e("", "a.example.com", "v"), DnsError::Invalid(_)));
    assert!(TsigKey::from_base64("k", TsigAlgorithm::HmacSha256, "not base64!").is_err());
    assert!(TsigKey::new("k", TsigAlgorithm::HmacSha256, Vec::new()).is_err());
    assert_eq!(
        TsigAlgorithm::from_name("HMAC-SHA512."),
        Ok(TsigAlgorithm::HmacSha512)
    );
    assert!(TsigAlgorithm::from_name("hmac-md5").is_err());
    assert!(!format!("{:?}", key()).contains(SECRET_B64));
    let mut q = DnsExchange::query_txt("_acme-challenge.example.com").unwrap();
    let mut junk = q.request().to_vec();
    junk[2] |= 0x80; // a "response" that is the question cut short
    junk.truncate(14);
    assert!(matches!(
        q.read_response(&junk),
        Err(DnsError::Malformed(_))
    ));
}
