//! Flattened JWS JSON serialization (RFC 7515 §7.2.2) as ACME uses it (RFC 8555 §6.2).

use crate::signer::{Jwk, MacKey, SignError, Signer};
use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{Map, Value};

/// How the JWS names the account key.
#[derive(Clone, Copy, Debug)]
pub enum KeyRef<'a> {
    /// `jwk`: the public key itself (newAccount, revocation by certificate key, keyChange's
    /// inner JWS).
    Jwk,
    /// `kid`: the account URL (every other request).
    Kid(&'a str),
}

/// base64url without padding, the encoding of every JWS part.
pub fn b64(data: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(data)
}

/// Append `s` to `out` as a JSON string literal, escaped exactly as `serde_json` escapes it.
fn push_json_string(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        // URLs, nonces, algorithm names and base64url text: nothing to escape.
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&Value::String(s.to_owned()).to_string());
    }
}

/// The protected header as compact JSON with members in lexicographic order.
///
/// Written directly rather than through a [`serde_json::Value`]: this runs for every signed
/// request, and the output is byte for byte what `serde_json` would print.
pub fn protected_header(
    alg: &str,
    jwk: Option<&Jwk>,
    kid: Option<&str>,
    nonce: Option<&str>,
    url: &str,
) -> String {
    let mut out = String::with_capacity(
        48 + alg.len()
            + url.len()
            + kid.map_or(0, str::len)
            + nonce.map_or(0, str::len)
            + if jwk.is_some() { 256 } else { 0 },
    );
    out.push_str("{\"alg\":");
    push_json_string(&mut out, alg);
    if let Some(jwk) = jwk {
        out.push_str(",\"jwk\":");
        out.push_str(&jwk.to_json_value().to_string());
    }
    if let Some(kid) = kid {
        out.push_str(",\"kid\":");
        push_json_string(&mut out, kid);
    }
    if let Some(nonce) = nonce {
        out.push_str(",\"nonce\":");
        push_json_string(&mut out, nonce);
    }
    out.push_str(",\"url\":");
    push_json_string(&mut out, url);
    out.push('}');
    out
}

/// The flattened JWS JSON (members in lexicographic order, as `serde_json` prints them):
/// every value is base64url, which JSON needs no escaping for.
fn assemble(protected_b64: &str, payload_b64: &str, signature: &[u8]) -> Vec<u8> {
    let signature_b64 = b64(signature);
    let mut out =
        String::with_capacity(48 + protected_b64.len() + payload_b64.len() + signature_b64.len());
    for (name, value) in [
        ("{\"payload\":\"", payload_b64),
        ("\",\"protected\":\"", protected_b64),
        ("\",\"signature\":\"", &signature_b64),
    ] {
        out.push_str(name);
        out.push_str(value);
    }
    out.push_str("\"}");
    out.into_bytes()
}

/// Sign `payload` for `url` and return the flattened JWS JSON body.
///
/// `payload` is the exact payload bytes: empty for POST-as-GET (RFC 8555 §6.3), `{}` to
/// trigger a challenge. `nonce` is `None` only for keyChange's inner JWS.
pub fn sign(
    signer: &dyn Signer,
    key: KeyRef<'_>,
    nonce: Option<&str>,
    url: &str,
    payload: &[u8],
) -> Result<Vec<u8>, SignError> {
    let jwk;
    let (jwk_ref, kid) = match key {
        KeyRef::Jwk => {
            jwk = signer.jwk();
            (Some(&jwk), None)
        }
        KeyRef::Kid(kid) => (None, Some(kid)),
    };
    let protected = b64(protected_header(signer.alg(), jwk_ref, kid, nonce, url).as_bytes());
    let payload_b64 = b64(payload);
    let mut signing_input = String::with_capacity(protected.len() + 1 + payload_b64.len());
    signing_input.push_str(&protected);
    signing_input.push('.');
    signing_input.push_str(&payload_b64);
    let signature = signer.sign(signing_input.as_bytes())?;
    Ok(assemble(&protected, &payload_b64, &signature))
}

/// The `externalAccountBinding` JWS (RFC 8555 §7.3.4): the account's public JWK, MACed
/// with the CA-issued key, for the newAccount `url`.
pub fn external_account_binding(mac: &dyn MacKey, account_jwk: &Jwk, url: &str) -> Value {
    let mut h = Map::new();
    h.insert("alg".into(), Value::String(mac.alg().to_owned()));
    h.insert("kid".into(), Value::String(mac.key_id().to_owned()));
    h.insert("url".into(), Value::String(url.to_owned()));
    let protected = b64(Value::Object(h).to_string().as_bytes());
    let payload = b64(account_jwk.to_canonical_json().as_bytes());
    let signature = mac.mac(format!("{protected}.{payload}").as_bytes());
    let mut m = Map::new();
    m.insert("protected".into(), Value::String(protected));
    m.insert("payload".into(), Value::String(payload));
    m.insert("signature".into(), Value::String(b64(&signature)));
    Value::Object(m)
}

/// A parsed flattened JWS (for tests, fake servers and fuzzing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedJws {
    /// Decoded protected header.
    pub protected: Value,
    /// Decoded payload bytes.
    pub payload: Vec<u8>,
    /// Decoded signature.
    pub signature: Vec<u8>,
    /// The signing input (`protected.payload`, still encoded) the signature covers.
    pub signing_input: String,
}

/// Parse a flattened JWS JSON body. Returns `None` on any malformation.
pub fn parse(body: &[u8]) -> Option<ParsedJws> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let p = v.get("protected")?.as_str()?;
    let pl = v.get("payload")?.as_str()?;
    let s = v.get("signature")?.as_str()?;
    let protected_bytes = Base64UrlUnpadded::decode_vec(p).ok()?;
    Some(ParsedJws {
        protected: serde_json::from_slice(&protected_bytes).ok()?,
        payload: Base64UrlUnpadded::decode_vec(pl).ok()?,
        signature: Base64UrlUnpadded::decode_vec(s).ok()?,
        signing_input: format!("{p}.{pl}"),
    })
}
