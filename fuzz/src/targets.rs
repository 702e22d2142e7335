//! The target bodies. Each takes the raw fuzzer input and panics on a finding.
//!
//! Besides "does not panic", each asserts what the library documents about the parser it
//! drives: liberal parsing (an object of the right shape always parses), bounds (nonce length,
//! link count, detail length), and round trips (parse → format → parse).

use acme_crypto::{
    CertificateChain, CertificateInfo, KeyPair, ari_certificate_id, csr_from_pem_or_der,
    csr_identifiers, jwk_from_spki_der, select_chain,
};
use acme_proto::msgs::headers::{
    self, MAX_LINKS, MAX_NONCE_LEN, RetryAfter, is_media_type, links_with_rel, location,
    media_type, parse_links, parse_retry_after, replay_nonce,
};
use acme_proto::msgs::identifier::{Identifier, IdentifierType};
use acme_proto::msgs::jws;
use acme_proto::msgs::problem::Problem;
use acme_proto::msgs::resources::{
    AccountResource, AuthorizationResource, ChallengeResource, Directory, OrderResource,
    OrdersList, RenewalInfoResource,
};
use acme_proto::msgs::time::{format_http_date, format_rfc3339, parse_http_date, parse_rfc3339};
use acme_proto::signer::{Jwk, Signer};
use acme_proto::testing::{TestSigner, epoch};
use arbitrary::{Arbitrary, Unstructured};
use base64ct::{Base64UrlUnpadded, Encoding};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest `detail`/`instance` a parsed problem keeps, in bytes (2048 plus the `…` marker).
const MAX_PROBLEM_TEXT: usize = 2048 + '…'.len_utf8();
/// Most subproblems a parsed problem keeps.
const MAX_SUBPROBLEMS: usize = 100;

/// The input as a JSON object, re-serialized canonically (duplicate members collapsed), when
/// it is one.
fn canonical_object(data: &[u8]) -> Option<(serde_json::Map<String, Value>, String)> {
    match serde_json::from_slice::<Value>(data).ok()? {
        Value::Object(m) => {
            let text = Value::Object(m.clone()).to_string();
            Some((m, text))
        }
        _ => None,
    }
}

fn is_str(m: &serde_json::Map<String, Value>, key: &str) -> bool {
    m.get(key).is_some_and(Value::is_string)
}

/// The directory object (RFC 8555 §7.1.1).
pub fn directory(data: &[u8]) {
    let parsed = serde_json::from_slice::<Directory>(data);
    if let Ok(d) = &parsed {
        let _ = format!("{d:?}");
    }
    if let Some((m, text)) = canonical_object(data) {
        let required = ["newNonce", "newAccount", "newOrder"]
            .iter()
            .all(|k| is_str(&m, k));
        let again = serde_json::from_str::<Directory>(&text);
        // Liberal parsing: every other member is optional and dropped when of the wrong type.
        assert_eq!(again.is_ok(), required, "directory liberal parsing: {text}");
        if let (Ok(a), Ok(b)) = (&parsed, &again) {
            assert_eq!(
                a, b,
                "duplicate-free re-serialization changed the directory"
            );
        }
    }
}

/// The account object (RFC 8555 §7.1.2).
pub fn account(data: &[u8]) {
    let parsed = serde_json::from_slice::<AccountResource>(data);
    if let Some((_, text)) = canonical_object(data) {
        // Every member is optional and lenient: any object is an account.
        let again = serde_json::from_str::<AccountResource>(&text);
        assert!(again.is_ok(), "account liberal parsing: {text}");
        if let Ok(a) = &parsed {
            assert_eq!(Some(a), again.as_ref().ok());
        }
    }
}

/// The order object (RFC 8555 §7.1.3) and the orders list (§7.1.2.1).
pub fn order(data: &[u8]) {
    let parsed = serde_json::from_slice::<OrderResource>(data);
    if let Ok(o) = &parsed {
        let _ = (o.status.as_str(), o.status.to_string());
        if let Some(e) = &o.error {
            check_problem(e);
        }
        for id in &o.identifiers {
            let _ = (
                id.to_string(),
                id.is_wildcard(),
                id.authorization_identifier(),
            );
        }
    }
    let list = serde_json::from_slice::<OrdersList>(data);
    if let Some((m, text)) = canonical_object(data) {
        let again = serde_json::from_str::<OrderResource>(&text);
        assert_eq!(
            again.is_ok(),
            is_str(&m, "status"),
            "order liberal parsing: {text}"
        );
        assert!(
            serde_json::from_str::<OrdersList>(&text).is_ok(),
            "orders list liberal parsing: {text}"
        );
    } else {
        // Not an object: a list may still parse (serde accepts a struct as a JSON array, and
        // skips numbers out of `f64` range that `Value` refuses); no claim either way.
        let _ = list;
    }
}

/// Whether `v` is an identifier object the strict `Identifier` deserializer accepts.
fn is_identifier_object(v: Option<&Value>) -> bool {
    v.and_then(Value::as_object)
        .is_some_and(|o| is_str(o, "type") && is_str(o, "value"))
}

/// The authorization object (RFC 8555 §7.1.4).
pub fn authorization(data: &[u8]) {
    let parsed = serde_json::from_slice::<AuthorizationResource>(data);
    if let Ok(a) = &parsed {
        let id = a.order_identifier();
        if a.wildcard == Some(true) && a.identifier.kind == IdentifierType::Dns {
            assert!(id.value.starts_with("*."));
        }
        if let Some((c, p)) = a.failure() {
            let _ = (c.kind.to_string(), p.map(ToString::to_string));
        }
        for c in &a.challenges {
            let _ = c.status.as_str();
        }
    }
    if let Some((m, text)) = canonical_object(data) {
        let expected = is_str(&m, "status") && is_identifier_object(m.get("identifier"));
        let again = serde_json::from_str::<AuthorizationResource>(&text);
        assert_eq!(
            again.is_ok(),
            expected,
            "authorization liberal parsing: {text}"
        );
    }
}

/// The challenge object (RFC 8555 §7.1.5, §8).
pub fn challenge(data: &[u8]) {
    let parsed = serde_json::from_slice::<ChallengeResource>(data);
    if let Ok(c) = &parsed {
        if let Some(e) = &c.error {
            check_problem(e);
        }
        if let Some(token) = &c.token {
            let ka = acme_proto::msgs::challenge::key_authorization(token, "thumbprint");
            assert!(ka.starts_with(token.as_str()));
            let _ = acme_proto::msgs::challenge::dns01_txt_value(&ka);
            let _ = acme_proto::msgs::challenge::http01_path(token);
        }
    }
    if let Some((m, text)) = canonical_object(data) {
        let expected = is_str(&m, "type") && is_str(&m, "url");
        let again = serde_json::from_str::<ChallengeResource>(&text);
        assert_eq!(again.is_ok(), expected, "challenge liberal parsing: {text}");
    }
}

fn check_problem(p: &Problem) {
    for text in [&p.detail, &p.instance].into_iter().flatten() {
        assert!(
            text.len() <= MAX_PROBLEM_TEXT,
            "problem text of {} bytes",
            text.len()
        );
    }
    assert!(p.subproblems.len() <= MAX_SUBPROBLEMS);
    for sp in &p.subproblems {
        if let Some(d) = &sp.detail {
            assert!(d.len() <= MAX_PROBLEM_TEXT);
        }
    }
    let _ = (p.to_string(), p.kind.name());
}

/// Problem documents (RFC 7807, RFC 8555 §6.7).
pub fn problem(data: &[u8]) {
    let parsed = Problem::from_json(data);
    let is_object = serde_json::from_slice::<Value>(data).is_ok_and(|v| v.is_object());
    assert_eq!(
        parsed.is_some(),
        is_object,
        "Problem::from_json must accept exactly the JSON objects"
    );
    if let Some(p) = &parsed {
        check_problem(p);
        assert!(p.retry_after.is_none());
    }
}

/// Renewal information (RFC 9773 §4.2).
pub fn renewal_info(data: &[u8]) {
    if let Ok(info) = serde_json::from_slice::<RenewalInfoResource>(data) {
        let start = parse_rfc3339(&info.suggested_window.start);
        let end = parse_rfc3339(&info.suggested_window.end);
        if let (Some(s), Some(e)) = (start, end) {
            let _ = e.duration_since(s);
        }
    }
}

/// The `headers` target's input: a first line holding the request URL, then `Name: value`
/// lines (LF-separated; lines that are not a valid header are skipped).
fn header_input(data: &[u8]) -> (String, HeaderMap) {
    let mut lines = data.split(|&b| b == b'\n');
    let base = lines
        .next()
        .map(|l| String::from_utf8_lossy(l).trim_end_matches('\r').to_owned())
        .unwrap_or_default();
    let mut map = HeaderMap::new();
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.trim_ascii()),
            HeaderValue::from_bytes(value),
        ) {
            map.append(n, v);
        }
    }
    (base, map)
}

fn is_visible_ascii(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic())
}

/// Header parsers: `Replay-Nonce`, `Retry-After`, `Link`, `Location`, `Content-Type`.
pub fn headers(data: &[u8]) {
    let (base, map) = header_input(data);

    if let Some(n) = replay_nonce(&map) {
        assert!(!n.is_empty() && n.len() <= MAX_NONCE_LEN);
        assert!(
            n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    for value in map.get_all(http::header::RETRY_AFTER) {
        if let Ok(text) = value.to_str() {
            match parse_retry_after(text) {
                Some(RetryAfter::Delay(_)) => {
                    assert!(
                        text.trim_matches([' ', '\t'])
                            .bytes()
                            .all(|b| b.is_ascii_digit())
                    );
                }
                Some(RetryAfter::Date(t)) => {
                    assert_eq!(parse_http_date(text), Some(t));
                }
                None => {}
            }
        }
    }
    for now in [epoch(), UNIX_EPOCH] {
        if let Some(t) = headers::retry_after(&map, now) {
            assert!(t >= now, "retry_after before now");
        }
    }

    let links = parse_links(&map, &base);
    assert!(links.len() <= MAX_LINKS);
    let base_ok = is_visible_ascii(&base) && !base.contains(['<', '>']);
    for link in &links {
        assert!(!link.rels.is_empty());
        for rel in &link.rels {
            assert!(!rel.is_empty());
            assert!(!rel.chars().any(|c| c.is_ascii_whitespace()));
            assert_eq!(*rel, rel.to_ascii_lowercase());
        }
        if base_ok {
            assert!(is_visible_ascii(&link.uri), "link uri {:?}", link.uri);
            // A resolved reference is absolute: resolving it again changes nothing.
            let mut again = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&link.uri) {
                again.insert(http::header::LOCATION, v);
                assert_eq!(
                    location(&again, "https://other.example/x").as_deref(),
                    Some(link.uri.as_str()),
                    "resolved link is not absolute"
                );
            }
        }
    }
    for rel in ["next", "alternate", "index", "up"] {
        let uris = links_with_rel(&map, &base, rel);
        assert!(uris.len() <= links.len());
    }

    if let Some(loc) = location(&map, &base)
        && base_ok
    {
        assert!(is_visible_ascii(&loc), "location {loc:?}");
        let mut again = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&loc) {
            again.insert(http::header::LOCATION, v);
            assert_eq!(
                location(&again, "https://x.example/").as_deref(),
                Some(&*loc)
            );
        }
    }

    if let Some(mt) = media_type(&map) {
        assert_eq!(mt, mt.to_ascii_lowercase());
        assert_eq!(mt.matches('/').count(), 1);
        assert!(is_media_type(&map, &mt));
        assert!(is_media_type(&map, &mt.to_ascii_uppercase()));
    }
    for expected in [
        "application/json",
        "application/problem+json",
        "application/pem-certificate-chain",
    ] {
        let _ = is_media_type(&map, expected);
    }
}

/// The first and last instants RFC 3339 (four-digit years) can express.
fn rfc3339_range() -> (SystemTime, SystemTime) {
    let first = UNIX_EPOCH - Duration::from_secs(62_167_219_200); // 0000-01-01T00:00:00Z
    let last = UNIX_EPOCH + Duration::new(253_402_300_799, 999_999_999); // 9999-12-31T23:59:59.999999999Z
    (first, last)
}

/// Time parsers: RFC 3339 timestamps, HTTP dates, `Retry-After`; parse → format → parse.
pub fn time(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (first, last) = rfc3339_range();
    if let Some(t) = parse_rfc3339(text) {
        let formatted = format_rfc3339(t);
        if t >= first && t <= last {
            assert_eq!(
                parse_rfc3339(&formatted),
                Some(t),
                "{text:?} → {formatted:?} does not parse back"
            );
        }
    }
    if let Some(t) = parse_http_date(text) {
        assert!(t >= first && t <= last);
        let formatted = format_http_date(t);
        assert_eq!(
            parse_http_date(&formatted),
            Some(t),
            "{text:?} → {formatted:?} does not parse back"
        );
        assert_eq!(parse_retry_after(text), Some(RetryAfter::Date(t)));
    }
    if let Some(RetryAfter::Date(t)) = parse_retry_after(text) {
        assert_eq!(parse_http_date(text), Some(t));
    }
}

/// Flattened JWS parsing, and the JWK of its protected header.
pub fn jws(data: &[u8]) {
    if let Some(parsed) = jws::parse(data) {
        let (p, pl) = parsed
            .signing_input
            .split_once('.')
            .expect("the signing input joins two base64url parts with a dot");
        assert_eq!(
            Base64UrlUnpadded::decode_vec(pl).ok().as_deref(),
            Some(parsed.payload.as_slice())
        );
        let protected = Base64UrlUnpadded::decode_vec(p).expect("protected part decodes");
        assert_eq!(
            serde_json::from_slice::<Value>(&protected).ok().as_ref(),
            Some(&parsed.protected)
        );
        if let Some(jwk_value) = parsed.protected.get("jwk") {
            check_jwk_value(jwk_value, &parsed.signing_input, &parsed.signature);
        }
    }
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        check_jwk_value(&v, "", b"");
    }
}

/// A JWK that parses survives serialization; verification never panics.
fn check_jwk_value(v: &Value, signing_input: &str, signature: &[u8]) {
    if let Ok(jwk) = Jwk::from_json(v) {
        let again = Jwk::from_json(&jwk.to_json_value()).expect("canonical JWK parses");
        assert_eq!(again, jwk);
        assert_eq!(again.thumbprint(), jwk.thumbprint());
        let canonical: Value =
            serde_json::from_str(&jwk.to_canonical_json()).expect("canonical JWK is JSON");
        assert_eq!(canonical, jwk.to_json_value());
        let _ = TestSigner::verify(&jwk, signing_input.as_bytes(), signature);
    }
}

fn check_identifier_roundtrip(id: &Identifier) {
    let json = serde_json::to_string(id).expect("identifiers serialize");
    let back: Identifier = serde_json::from_str(&json).expect("serialized identifier parses");
    assert_eq!(&back, id);
    match id.kind {
        IdentifierType::Dns => {
            assert_eq!(id.value, id.value.to_ascii_lowercase());
            assert!(id.value.len() <= 253);
            assert_eq!(
                Identifier::parse(&id.value).as_ref(),
                Ok(id),
                "a normalized DNS identifier must parse to itself"
            );
            assert_eq!(Identifier::dns(&id.value).as_ref(), Ok(id));
            let auth = id.authorization_identifier();
            assert!(!auth.is_wildcard() || auth.value.starts_with("*.*."));
        }
        IdentifierType::Ip => {
            let ip: IpAddr = id.value.parse().expect("ip identifier value parses");
            assert_eq!(Identifier::ip(ip), *id);
            assert_eq!(Identifier::parse(&id.value).as_ref(), Ok(id));
            assert_eq!(id.ip_addr(), Some(ip));
        }
        _ => panic!("parsing made an identifier of type {:?}", id.kind),
    }
}

/// Identifiers from user text: `Identifier::parse` and `acme_crypto::identifier` (IDNA).
pub fn identifier(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = Identifier::parse(text) {
        check_identifier_roundtrip(&id);
    }
    if let Ok(id) = Identifier::dns(text) {
        assert_eq!(id.kind, IdentifierType::Dns);
        check_identifier_roundtrip(&id);
    }
    if let Ok(id) = acme_crypto::identifier(text) {
        check_identifier_roundtrip(&id);
        assert!(id.value.is_ascii());
    }
    if let Ok(id) = serde_json::from_str::<Identifier>(text) {
        let _ = (id.to_string(), id.ip_addr(), id.authorization_identifier());
    }
}

fn check_certificate(der: &[u8]) {
    if let Ok(info) = CertificateInfo::from_der(der) {
        for id in &info.subject_alt_names {
            assert!(matches!(id.kind, IdentifierType::Dns | IdentifierType::Ip));
        }
        let _ = (info.subject.len(), info.issuer.len());
    }
    if let Ok(id) = ari_certificate_id(der) {
        let (aki, serial) = id.split_once('.').expect("ARI ID has a dot");
        assert!(!aki.contains('.') && !serial.contains('.'));
        assert!(Base64UrlUnpadded::decode_vec(aki).is_ok());
        assert!(Base64UrlUnpadded::decode_vec(serial).is_ok());
    }
}

/// PEM certificate chains (`application/pem-certificate-chain`).
pub fn pem_chain(data: &[u8]) {
    let Ok(chain) = CertificateChain::from_pem(data) else {
        return;
    };
    let pem = chain.to_pem();
    let again = CertificateChain::from_pem(pem.as_bytes()).expect("to_pem output parses");
    assert_eq!(again, chain);
    check_certificate(chain.leaf_der());
    let _ = (chain.infos(), chain.leaf(), chain.top_issuer_common_name());
    let chains = [chain];
    let _ = select_chain(&chains, "ISRG Root X1");
    let _ = select_chain(&chains, "Pebble Root CA");
}

/// DER certificates: the facts a client reads, and the ARI certificate ID.
pub fn certificate(data: &[u8]) {
    check_certificate(data);
}

/// Certificate signing requests handed in by users (PEM or DER).
pub fn csr(data: &[u8]) {
    let Ok(der) = csr_from_pem_or_der(data) else {
        let _ = csr_identifiers(data);
        return;
    };
    if !der.windows(11).any(|w| w == b"-----BEGIN ") {
        assert_eq!(csr_from_pem_or_der(&der).as_ref(), Ok(&der));
    }
    if let Ok(ids) = csr_identifiers(&der) {
        assert!(!ids.is_empty());
        for (i, id) in ids.iter().enumerate() {
            assert!(matches!(id.kind, IdentifierType::Dns | IdentifierType::Ip));
            assert!(!ids[..i].contains(id), "duplicate identifier {id}");
        }
    }
}

fn check_key(key: &KeyPair) {
    let again = KeyPair::from_pkcs8_der(&key.to_pkcs8_der()).expect("exported PKCS#8 reloads");
    assert_eq!(again.thumbprint(), key.thumbprint());
    assert_eq!(
        jwk_from_spki_der(&key.public_key_der()).as_ref(),
        Ok(&key.public_jwk())
    );
    assert_eq!(key.public_jwk().thumbprint(), key.thumbprint());
    let signature = key.sign(b"protected.payload").expect("a loaded key signs");
    assert!(!signature.is_empty());
    let _ = format!("{key:?}");
}

/// Private keys handed in by users: PEM (any label), PKCS#8, SEC1, PKCS#1 DER; and JWKs.
pub fn key(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(k) = KeyPair::from_pem(text) {
            check_key(&k);
        }
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            check_jwk_value(&v, "", b"");
        }
    }
    for k in [
        KeyPair::from_pkcs8_der(data),
        KeyPair::from_sec1_der(data),
        KeyPair::from_der(data),
    ]
    .into_iter()
    .flatten()
    {
        check_key(&k);
    }
    let _ = jwk_from_spki_der(data);
}

/// One round-trip case.
#[derive(Debug, Arbitrary)]
enum RoundTrip {
    /// A DNS name built from labels of DNS-ish characters.
    Dns(Vec<Vec<u8>>, bool),
    /// An IP address, plain or bracketed.
    Ip(IpAddr, bool),
    /// `format_rfc3339` → `parse_rfc3339`.
    Rfc3339(i64, u32),
    /// `format_http_date` → `parse_http_date`.
    HttpDate(i64),
    /// `jws::sign` → `jws::parse`, verified.
    Jws {
        signer: String,
        kid: Option<String>,
        nonce: Option<String>,
        url: String,
        payload: Vec<u8>,
    },
    /// `Jwk` → JSON → `Jwk`.
    Jwk(u8, String, String, String),
}

fn label_char(b: u8) -> char {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_*.";
    char::from(ALPHABET[usize::from(b) % ALPHABET.len()])
}

fn unix(secs: i64, nanos: u32) -> SystemTime {
    let whole = if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    };
    whole + Duration::from_nanos(u64::from(nanos))
}

fn roundtrip_case(case: RoundTrip) {
    match case {
        RoundTrip::Dns(labels, trailing_dot) => {
            let mut name: String = labels
                .iter()
                .map(|l| l.iter().map(|&b| label_char(b)).collect::<String>())
                .collect::<Vec<_>>()
                .join(".");
            if trailing_dot {
                name.push('.');
            }
            if let Ok(id) = Identifier::dns(&name) {
                check_identifier_roundtrip(&id);
                assert_eq!(
                    id.value,
                    name.strip_suffix('.').unwrap_or(&name).to_ascii_lowercase()
                );
            }
        }
        RoundTrip::Ip(ip, bracketed) => {
            let id = Identifier::ip(ip);
            check_identifier_roundtrip(&id);
            let text = match (ip, bracketed) {
                (IpAddr::V6(v6), true) => format!("[{v6}]"),
                _ => ip.to_string(),
            };
            assert_eq!(Identifier::parse(&text), Ok(id));
        }
        RoundTrip::Rfc3339(secs, nanos) => {
            let secs = secs.rem_euclid(253_402_300_800 + 62_167_219_200) - 62_167_219_200;
            let t = unix(secs, nanos % 1_000_000_000);
            let text = format_rfc3339(t);
            assert_eq!(parse_rfc3339(&text), Some(t), "{text}");
        }
        RoundTrip::HttpDate(secs) => {
            let secs = secs.rem_euclid(253_402_300_800 + 62_167_219_200) - 62_167_219_200;
            let t = unix(secs, 0);
            let text = format_http_date(t);
            assert_eq!(parse_http_date(&text), Some(t), "{text}");
        }
        RoundTrip::Jws {
            signer,
            kid,
            nonce,
            url,
            payload,
        } => {
            let key = TestSigner::new(&signer);
            let key_ref = match &kid {
                Some(k) => jws::KeyRef::Kid(k),
                None => jws::KeyRef::Jwk,
            };
            let body = jws::sign(&key, key_ref, nonce.as_deref(), &url, &payload)
                .expect("the test signer never fails");
            let parsed = jws::parse(&body).expect("a signed JWS parses");
            let h = &parsed.protected;
            assert_eq!(h["alg"], "TEST");
            assert_eq!(h["url"].as_str(), Some(url.as_str()));
            assert_eq!(h.get("nonce").and_then(Value::as_str), nonce.as_deref());
            assert_eq!(h.get("kid").and_then(Value::as_str), kid.as_deref());
            assert_eq!(h.get("jwk").is_some(), kid.is_none());
            assert_eq!(parsed.payload, payload);
            assert!(TestSigner::verify(
                &key.jwk(),
                parsed.signing_input.as_bytes(),
                &parsed.signature
            ));
            if let Some(j) = h.get("jwk") {
                assert_eq!(Jwk::from_json(j), Ok(key.jwk()));
            }
        }
        RoundTrip::Jwk(kind, a, b, c) => {
            let jwk = match kind % 3 {
                0 => Jwk::Ec { crv: a, x: b, y: c },
                1 => Jwk::Rsa { n: a, e: b },
                _ => Jwk::Okp { crv: a, x: b },
            };
            assert_eq!(Jwk::from_json(&jwk.to_json_value()).as_ref(), Ok(&jwk));
            let canonical: Value =
                serde_json::from_str(&jwk.to_canonical_json()).expect("canonical JWK is JSON");
            assert_eq!(Jwk::from_json(&canonical).as_ref(), Ok(&jwk));
        }
    }
}

/// Round trips: identifiers (build → serialize → parse), timestamps (format → parse), JWS
/// (sign → parse → verify), JWKs (→ JSON → parse).
pub fn roundtrip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    while let Ok(case) = RoundTrip::arbitrary(&mut u) {
        roundtrip_case(case);
        if u.is_empty() {
            break;
        }
    }
}

/// The flow state machines against arbitrary responses: see [`crate::flow`].
pub fn flow(data: &[u8]) {
    crate::flow::run(data);
}
