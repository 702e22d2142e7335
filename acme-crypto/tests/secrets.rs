//! Secret material never shows in `Debug` or error text: private keys (in any encoding),
//! EAB MAC keys, and the signed requests (JWS) made with them.

use acme_crypto::{Algorithm, EabKey, KeyPair, MacAlgorithm};
use acme_proto::http::{Endpoint, HeaderMap, Method, Request, RequestId};
use acme_proto::msgs::jws::{self, KeyRef};
use acme_proto::signer::{MacKey, Signer};
use base64ct::{Base64, Base64UrlUnpadded, Encoding};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The private key bytes inside a PKCS#8 PEM document: the raw EC scalar (SEC1
/// `ECPrivateKey`, version 1) or Ed25519 seed, found by their DER framing.
fn private_scalar(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = Base64::decode_vec(&b64).unwrap();
    for (prefix, len) in [
        (&[0x02, 0x01, 0x01, 0x04, 0x20][..], 32),
        (&[0x02, 0x01, 0x01, 0x04, 0x30][..], 48),
        (&[0x02, 0x01, 0x01, 0x04, 0x42][..], 66),
        (&[0x04, 0x22, 0x04, 0x20][..], 32),
    ] {
        if let Some(i) = der.windows(prefix.len()).position(|w| w == prefix) {
            let start = i + prefix.len();
            return der[start..start + len].to_vec();
        }
    }
    panic!("no private key found in {pem}");
}

/// Every encoding of `secret` someone might print: hex (both cases), base64, base64url,
/// and (for PEM documents) each base64 line.
fn encodings(secret: &[u8]) -> Vec<String> {
    let mut out = vec![
        hex(secret),
        hex(secret).to_uppercase(),
        Base64::encode_string(secret),
        Base64UrlUnpadded::encode_string(secret),
        format!("{secret:?}"),
    ];
    // Shorter windows too, so that a partial leak is caught.
    let h = hex(secret);
    out.push(h[..h.len() / 2].to_owned());
    out.push(h[h.len() / 2..].to_owned());
    out
}

fn assert_absent(text: &str, secrets: &[String], what: &str) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} shows {s:?}: {text}");
    }
}

#[test]
fn key_pairs_show_algorithm_and_thumbprint_only() {
    for alg in [
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Es512,
        Algorithm::EdDsa,
    ] {
        let key = KeyPair::generate(alg).unwrap();
        let pem = key.to_pkcs8_pem();
        let mut secrets = encodings(&private_scalar(&pem));
        secrets.extend(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .map(str::to_owned),
        );
        let text = format!("{key:?} {key:#?}");
        assert_absent(&text, &secrets, "Debug of a KeyPair");
        assert!(text.contains(&key.thumbprint()), "{text}");
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }
}

#[test]
fn bad_key_files_are_not_echoed_in_errors() {
    let key = KeyPair::generate(Algorithm::Es256).unwrap();
    let pem = key.to_pkcs8_pem().to_string();
    let lines: Vec<String> = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::to_owned)
        .collect();
    // A damaged copy: one character changed in the middle of the key.
    let mut damaged = pem.clone();
    let at = damaged.len() / 2;
    damaged.replace_range(at..at + 1, "!");
    // A truncated copy, and one with the key in the wrong kind of block.
    let truncated = pem[..pem.len() - 40].to_owned();
    let relabelled = pem.replace("PRIVATE KEY", "CERTIFICATE");
    for input in [damaged, truncated, relabelled] {
        let err = KeyPair::from_pem(&input).unwrap_err();
        assert_absent(&format!("{err} {err:?}"), &lines, "a key-parsing error");
    }
}

#[test]
fn eab_keys_never_show_the_mac_key() {
    let raw = b"a 32-byte MAC key from the CA!!!";
    let b64 = Base64UrlUnpadded::encode_string(raw);
    let secrets = encodings(raw);
    for key in [
        EabKey::new("kid-1", &b64, MacAlgorithm::Hs256).unwrap(),
        EabKey::new("kid-1", &format!("{b64}="), MacAlgorithm::Hs384).unwrap(),
        EabKey::from_bytes("kid-1", raw, MacAlgorithm::Hs512).unwrap(),
    ] {
        let text = format!("{key:?} {key:#?}");
        assert_absent(&text, &secrets, "Debug of an EabKey");
        assert!(text.contains("kid-1"), "{text}");
        assert_eq!(key.key_id(), "kid-1");
    }
    // Keys refused for their encoding are not echoed either.
    let standard = Base64::encode_string(b"\xfb\xff\xfe a MAC key with + and / in base64");
    for bad in [standard.as_str(), "not base64url at all!", "====", ""] {
        let err = EabKey::new("kid-1", bad, MacAlgorithm::Hs256).unwrap_err();
        let text = format!("{err} {err:?}");
        if bad.len() > 4 {
            assert!(!text.contains(bad), "{text}");
        }
    }
}

#[test]
fn signed_requests_and_errors_do_not_show_the_jws() {
    let key = KeyPair::generate(Algorithm::Es256).unwrap();
    let mac = EabKey::from_bytes(
        "kid-1",
        b"0123456789abcdef0123456789abcdef",
        MacAlgorithm::Hs256,
    )
    .unwrap();
    let url = "https://ca.example/acme/new-account";
    let eab = jws::external_account_binding(&mac, &key.jwk(), url);
    let payload = format!(r#"{{"termsOfServiceAgreed":true,"externalAccountBinding":{eab}}}"#);
    let body = jws::sign(&key, KeyRef::Jwk, Some("nonce-1"), url, payload.as_bytes()).unwrap();
    let text = String::from_utf8(body.clone()).unwrap();
    // Every long base64url run of the JWS (protected header, payload, signatures).
    let parts: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|p| p.len() >= 32)
        .map(str::to_owned)
        .collect();
    assert_eq!(parts.len(), 3, "{text}");
    let request = Request {
        id: RequestId(7),
        endpoint: Endpoint::NewAccount,
        method: Method::POST,
        url: url.to_owned(),
        headers: HeaderMap::new(),
        body,
        follow_redirects: false,
    };
    let shown = format!("{request:?} {request:#?}");
    assert_absent(&shown, &parts, "Debug of a Request");
    assert!(shown.contains(url) && shown.contains("body_len"), "{shown}");
}
