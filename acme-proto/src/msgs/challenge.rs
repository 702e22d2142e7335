//! Key authorizations and the values each challenge type publishes (RFC 8555 §8, RFC 8737).

use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};

/// The key authorization: `token || '.' || base64url(JWK thumbprint)` (RFC 8555 §8.1).
pub fn key_authorization(token: &str, thumbprint: &str) -> String {
    format!("{token}.{thumbprint}")
}

/// The http-01 resource path for a token (RFC 8555 §8.3).
pub fn http01_path(token: &str) -> String {
    format!("/.well-known/acme-challenge/{token}")
}

/// Longest challenge token accepted (RFC 8555 tokens carry 128 bits: 22 characters).
pub const MAX_TOKEN_LEN: usize = 256;

/// Whether `token` is a usable challenge token: non-empty base64url (`A-Z a-z 0-9 - _`, no
/// padding), at most [`MAX_TOKEN_LEN`] bytes (RFC 8555 §8.1: a token "MUST NOT contain any
/// characters outside the base64url alphabet"). Tokens end up in file paths, URLs and DNS
/// names, so anything else (`../`, `/`, spaces) must never reach a solver.
pub fn is_valid_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The token named by an http-01 request path, if the path is one (only valid tokens, see
/// [`is_valid_token`]).
pub fn http01_token_from_path(path: &str) -> Option<&str> {
    let path = path.split('?').next().unwrap_or(path);
    let token = path.strip_prefix("/.well-known/acme-challenge/")?;
    is_valid_token(token).then_some(token)
}

/// The dns-01 TXT record name for a (non-wildcard, A-label) domain (RFC 8555 §8.4).
pub fn dns01_record_name(domain: &str) -> String {
    let base = domain.strip_prefix("*.").unwrap_or(domain);
    format!("_acme-challenge.{}", base.trim_end_matches('.'))
}

/// The dns-01 TXT record value: base64url(SHA-256(key authorization)).
pub fn dns01_txt_value(key_authorization: &str) -> String {
    Base64UrlUnpadded::encode_string(&Sha256::digest(key_authorization.as_bytes()))
}

/// The tls-alpn-01 `acmeIdentifier` extension value: SHA-256(key authorization) (RFC 8737 §3).
pub fn tls_alpn01_digest(key_authorization: &str) -> [u8; 32] {
    Sha256::digest(key_authorization.as_bytes()).into()
}

/// The ALPN protocol name tls-alpn-01 validation uses.
pub const TLS_ALPN01_PROTOCOL: &[u8] = b"acme-tls/1";

/// The reverse-DNS name used as SNI for an IP identifier in tls-alpn-01 (RFC 8738 §6).
pub fn reverse_dns_name(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        std::net::IpAddr::V6(v6) => {
            let mut s = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                s.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
                s.push('.');
                s.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
                s.push('.');
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(is_valid_token(
            "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
        ));
        assert!(is_valid_token(&"a".repeat(MAX_TOKEN_LEN)));
        for bad in ["", "../x", "a/b", "a b", "a.b", "a=", "é"] {
            assert!(!is_valid_token(bad), "{bad:?}");
        }
        assert!(!is_valid_token(&"a".repeat(MAX_TOKEN_LEN + 1)));
    }

    #[test]
    fn values() {
        // RFC 8555 §8.4's example key authorization shape; value computed by SHA-256.
        let ka = key_authorization(
            "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
            "nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ",
        );
        assert_eq!(
            ka,
            "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"
        );
        assert_eq!(
            dns01_txt_value("a"),
            "ypeBEsobvcr6wjGzmiPcTaeG7_gUfE5yuYB3ha_uSLs"
        );
        assert_eq!(
            dns01_record_name("*.Example.org"),
            "_acme-challenge.Example.org"
        );
        assert_eq!(
            http01_token_from_path("/.well-known/acme-challenge/abc_-1"),
            Some("abc_-1")
        );
        assert_eq!(
            http01_token_from_path("/.well-known/acme-challenge/../x"),
            None
        );
        assert_eq!(
            reverse_dns_name("192.0.2.1".parse().unwrap()),
            "1.2.0.192.in-addr.arpa"
        );
        assert!(
            reverse_dns_name("2001:db8::1".parse().unwrap()).starts_with(
                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
            )
        );
    }
}
