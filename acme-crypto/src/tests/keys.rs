use super::{b64u_decode, hex};
use crate::{Algorithm, Error, KeyPair, jwk_from_spki_der};
use acme_proto::signer::{Jwk, Signer};
use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use p256::elliptic_curve::sec1::ToSec1Point;
use ring::signature::{self as ring_sig, UnparsedPublicKey};
use signature::Verifier;

const RSA_PKCS1: &str = include_str!("../../testdata/rsa2048_pkcs1.pem");
const RSA_SPKI: &str = include_str!("../../testdata/rsa2048_spki.pem");
const P256_SEC1: &str = include_str!("../../testdata/p256_sec1_with_params.pem");
const P256_SPKI: &str = include_str!("../../testdata/p256_spki.pem");
const P384_PKCS8: &str = include_str!("../../testdata/p384_pkcs8.pem");
const P384_SPKI: &str = include_str!("../../testdata/p384_spki.pem");
const P521_SEC1: &str = include_str!("../../testdata/p521_sec1.pem");
const P521_SPKI: &str = include_str!("../../testdata/p521_spki.pem");
const ED25519_PKCS8: &str = include_str!("../../testdata/ed25519_pkcs8.pem");
const ED25519_SPKI: &str = include_str!("../../testdata/ed25519_spki.pem");

/// The DER body of the first PEM block, decoded independently of `crate::pem`.
fn pem_body(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN PUBLIC KEY") && !l.ends_with("KEY-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    Base64::decode_vec(&body).unwrap()
}

fn jwk_ec(jwk: &Jwk) -> (&str, Vec<u8>, Vec<u8>) {
    match jwk {
        Jwk::Ec { crv, x, y } => (crv.as_str(), b64u_decode(x), b64u_decode(y)),
        other => panic!("not an EC JWK: {other:?}"),
    }
}

/// The uncompressed SEC1 point rebuilt from the JWK's `x` and `y` (not from the key).
fn point_from_jwk(jwk: &Jwk) -> Vec<u8> {
    let (_, x, y) = jwk_ec(jwk);
    let mut point = vec![0x04];
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    point
}

/// Verify a JWS ECDSA signature through two paths independent of the signing code:
/// a RustCrypto `VerifyingKey` rebuilt from the JWK coordinates, and (P-256/P-384) `ring`.
fn verify_es(key: &KeyPair, msg: &[u8], sig: &[u8]) {
    let jwk = key.public_jwk();
    let point = point_from_jwk(&jwk);
    match key.algorithm() {
        Algorithm::Es256 => {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
            let s = p256::ecdsa::Signature::from_slice(sig).unwrap();
            vk.verify(msg, &s)
                .expect("P-256 signature verifies (RustCrypto, from JWK)");
            UnparsedPublicKey::new(&ring_sig::ECDSA_P256_SHA256_FIXED, &point)
                .verify(msg, sig)
                .expect("P-256 signature verifies (ring)");
        }
        Algorithm::Es384 => {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
            let s = p384::ecdsa::Signature::from_slice(sig).unwrap();
            vk.verify(msg, &s)
                .expect("P-384 signature verifies (RustCrypto, from JWK)");
            UnparsedPublicKey::new(&ring_sig::ECDSA_P384_SHA384_FIXED, &point)
                .verify(msg, sig)
                .expect("P-384 signature verifies (ring)");
        }
        Algorithm::Es512 => {
            // ring has no P-521: verify with RustCrypto from the JWK, hashing with SHA-512
            // explicitly so a wrong default digest would be caught.
            use sha2::{Digest, Sha512};
            use signature::hazmat::PrehashVerifier;
            let vk = p521::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
            let s = p521::ecdsa::Signature::from_slice(sig).unwrap();
            vk.verify_prehash(&Sha512::digest(msg), &s)
                .expect("P-521 signature verifies over SHA-512 (RustCrypto, from JWK)");
        }
        other => panic!("not ECDSA: {other:?}"),
    }
}

#[test]
fn rfc7638_thumbprint_through_spki() {
    // RFC 7638 §3.1: the RSA key's n and e, wrapped into a SubjectPublicKeyInfo and read back
    // through `jwk_from_spki_der`, which must produce minimal-octet members.
    let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    let n_bytes = b64u_decode(n);
    // RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER }, built by hand: n needs a 0x00 sign
    // byte (its top bit is set), which the JWK must not carry.
    assert!(n_bytes[0] & 0x80 != 0);
    let mut n_int = vec![0x02, 0x82, 0x01, 0x01, 0x00];
    n_int.extend_from_slice(&n_bytes);
    let e_int = [0x02, 0x03, 0x01, 0x00, 0x01];
    let body_len = n_int.len() + e_int.len();
    let mut rsa_pub = vec![0x30, 0x82, (body_len >> 8) as u8, body_len as u8];
    rsa_pub.extend_from_slice(&n_int);
    rsa_pub.extend_from_slice(&e_int);
    // SubjectPublicKeyInfo { rsaEncryption, NULL } with the key in a BIT STRING.
    let alg = hex("300d06092a864886f70d0101010500");
    let bits_len = rsa_pub.len() + 1;
    let mut bits = vec![0x03, 0x82, (bits_len >> 8) as u8, bits_len as u8, 0x00];
    bits.extend_from_slice(&rsa_pub);
    let spki_len = alg.len() + bits.len();
    let mut spki = vec![0x30, 0x82, (spki_len >> 8) as u8, spki_len as u8];
    spki.extend_from_slice(&alg);
    spki.extend_from_slice(&bits);

    let jwk = jwk_from_spki_der(&spki).unwrap();
    assert_eq!(
        jwk,
        Jwk::Rsa {
            n: n.to_owned(),
            e: "AQAB".to_owned()
        }
    );
    assert_eq!(
        jwk.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );

    #[cfg(feature = "rsa")]
    {
        // And the `rsa` crate agrees about this SPKI.
        use rsa::pkcs8::DecodePublicKey;
        use rsa::traits::PublicKeyParts;
        let public = rsa::PublicKey::from_public_key_der(&spki).unwrap();
        assert_eq!(Base64UrlUnpadded::encode_string(&public.n_bytes()), n);
    }
}

fn rfc8037_key() -> KeyPair {
    // RFC 8037 A.1: d, wrapped as an RFC 8410 PKCS#8 document.
    let mut pkcs8 = hex("302e020100300506032b657004220420");
    pkcs8.extend_from_slice(&b64u_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"));
    KeyPair::from_pkcs8_der(&pkcs8).unwrap()
}

#[test]
fn rfc8037_ed25519_vectors() {
    let key = rfc8037_key();
    assert_eq!(key.algorithm(), Algorithm::EdDsa);
    assert_eq!(key.alg(), "EdDSA");
    // A.2: the public key.
    assert_eq!(
        key.public_jwk(),
        Jwk::Okp {
            crv: "Ed25519".to_owned(),
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".to_owned()
        }
    );
    // A.3: the thumbprint.
    assert_eq!(
        key.thumbprint(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    // A.4: signing `{"alg":"EdDSA"}` . "Example of Ed25519 signing".
    let input = format!(
        "{}.{}",
        Base64UrlUnpadded::encode_string(br#"{"alg":"EdDSA"}"#),
        Base64UrlUnpadded::encode_string(b"Example of Ed25519 signing")
    );
    assert_eq!(
        input,
        "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    );
    let sig = key.sign(input.as_bytes()).unwrap();
    assert_eq!(
        Base64UrlUnpadded::encode_string(&sig),
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    );
    // A.5: and it verifies with an independent implementation.
    UnparsedPublicKey::new(
        &ring_sig::ED25519,
        b64u_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
    )
    .verify(input.as_bytes(), &sig)
    .unwrap();
    // The PKCS#8 export is the RFC 8410 v1 document we imported.
    let again = KeyPair::from_pkcs8_der(&key.to_pkcs8_der()).unwrap();
    assert_eq!(again.thumbprint(), key.thumbprint());
}

#[test]
fn ecdsa_signatures_verify_independently() {
    for alg in [Algorithm::Es256, Algorithm::Es384, Algorithm::Es512] {
        let key = KeyPair::generate(alg).unwrap();
        let (width, name, crv) = match alg {
            Algorithm::Es256 => (32, "ES256", "P-256"),
            Algorithm::Es384 => (48, "ES384", "P-384"),
            _ => (66, "ES512", "P-521"),
        };
        assert_eq!(key.alg(), name);
        let jwk = key.public_jwk();
        let (jwk_crv, x, y) = jwk_ec(&jwk);
        assert_eq!((jwk_crv, x.len(), y.len()), (crv, width, width));
        assert_eq!(key.jwk(), jwk);
        assert_eq!(jwk_from_spki_der(&key.public_key_der()).unwrap(), jwk);
        let msg = b"eyJhbGciOiJFUzI1NiJ9.eyJoZWxsbyI6IndvcmxkIn0";
        let sig = key.sign(msg).unwrap();
        assert_eq!(sig.len(), 2 * width, "{name}");
        verify_es(&key, msg, &sig);
        // RFC 6979: deterministic.
        assert_eq!(key.sign(msg).unwrap(), sig);
        // A changed message does not verify.
        let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point_from_jwk(&jwk));
        if let (Ok(vk), Algorithm::Es256) = (vk, alg) {
            let s = p256::ecdsa::Signature::from_slice(&sig).unwrap();
            assert!(vk.verify(b"other", &s).is_err());
        }
    }
}

#[test]
fn ecdsa_signatures_with_leading_zero_keep_their_width() {
    // Fixed keys, so the search below is deterministic (RFC 6979 nonces).
    let keys = [
        KeyPair::from_pem(P256_SEC1).unwrap(),
        KeyPair::from_pem(P384_PKCS8).unwrap(),
        KeyPair::from_pem(P521_SEC1).unwrap(),
    ];
    for key in &keys {
        let width = match key.algorithm() {
            Algorithm::Es256 => 32,
            Algorithm::Es384 => 48,
            _ => 66,
        };
        // For P-521 the top byte is 0 or 1 anyway; look for a value one byte shorter still.
        let short = |half: &[u8]| match width {
            66 => half[0] == 0 && half[1] == 0,
            _ => half[0] == 0,
        };
        let (msg, sig) = (0u32..20_000)
            .map(|i| {
                let msg = format!("message {i}").into_bytes();
                let sig = key.sign(&msg).unwrap();
                (msg, sig)
            })
            .find(|(_, sig)| short(&sig[..width]) || short(&sig[width..]))
            .expect("a signature with a short r or s within 20000 tries");
        assert_eq!(sig.len(), 2 * width);
        verify_es(key, &msg, &sig);
    }
}

#[test]
fn openssl_keys_import_with_the_expected_thumbprints() {
    // Thumbprints computed independently with Python's `cryptography` from the public numbers.
    let cases = [
        (
            P256_SEC1,
            P256_SPKI,
            Algorithm::Es256,
            "yFAyiejDT-ABbtjtE9_h2DaKCYNqdUqPP5hWNFZSwzo",
        ),
        (
            P384_PKCS8,
            P384_SPKI,
            Algorithm::Es384,
            "kmvnVdEV-iDmw4zksngRqwQ8pdSxNfVb0d3F77oGAB0",
        ),
        (
            P521_SEC1,
            P521_SPKI,
            Algorithm::Es512,
            "G4m3O2_E823RwDl0SWXXGEU6BqOGYTS2DU9mF2WlPvM",
        ),
        (
            ED25519_PKCS8,
            ED25519_SPKI,
            Algorithm::EdDsa,
            "YMei7QLJ_wDEztN1FX4BD7IIbcqu06CNn46J6qzQRjA",
        ),
        #[cfg(feature = "rsa")]
        (
            RSA_PKCS1,
            RSA_SPKI,
            Algorithm::Rs256 { bits: 2048 },
            "t8YeWC-xde78DxIwFBoFNHE0XlQhTZ31HboUFb1b2vw",
        ),
    ];
    for (private, public, alg, thumbprint) in cases {
        let key = KeyPair::from_pem(private).unwrap();
        assert_eq!(key.algorithm(), alg);
        assert_eq!(key.thumbprint(), thumbprint, "{alg}");
        assert_eq!(key.public_jwk().thumbprint(), thumbprint);
        // The SPKI OpenSSL derived is the one we derive.
        assert_eq!(key.public_key_der(), pem_body(public), "{alg}");
        assert_eq!(
            jwk_from_spki_der(&pem_body(public)).unwrap(),
            key.public_jwk()
        );
        // The same key as DER, whichever format the PEM held.
        let der = crate::pem::parse_blocks(private.as_bytes())
            .unwrap()
            .into_iter()
            .last()
            .unwrap();
        assert_eq!(
            KeyPair::from_der(&der.der).unwrap().thumbprint(),
            thumbprint
        );
        // CRLF line ends and surrounding text are fine too.
        let crlf = format!(
            "comment line\r\n{}\r\ntrailer",
            private.replace('\n', "\r\n")
        );
        assert_eq!(KeyPair::from_pem(&crlf).unwrap().thumbprint(), thumbprint);
    }
}

#[test]
fn rsa_public_key_jwk_without_the_rsa_crate() {
    // `jwk_from_spki_der` parses RSA public keys itself, with or without the `rsa` feature.
    let jwk = jwk_from_spki_der(&pem_body(RSA_SPKI)).unwrap();
    assert_eq!(
        jwk.thumbprint(),
        "t8YeWC-xde78DxIwFBoFNHE0XlQhTZ31HboUFb1b2vw"
    );
}

#[cfg(not(feature = "rsa"))]
#[test]
fn rsa_keys_are_refused_without_the_feature() {
    for result in [
        KeyPair::from_pem(RSA_PKCS1),
        KeyPair::generate(Algorithm::Rs256 { bits: 2048 }),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::UnsupportedAlgorithm(_)), "{err}");
        assert!(err.to_string().contains("`rsa` feature"), "{err}");
    }
}

#[cfg(feature = "rsa")]
#[test]
fn rsa_pkcs1v15_signature_verifies_with_ring() {
    let key = KeyPair::from_pem(RSA_PKCS1).unwrap();
    assert_eq!(key.alg(), "RS256");
    let msg = b"protected.payload";
    let sig = key.sign(msg).unwrap();
    assert_eq!(sig.len(), 256);
    let Jwk::Rsa { n, e } = key.public_jwk() else {
        panic!("not RSA")
    };
    // Minimal octets: no leading zero byte in n or e.
    assert_ne!(b64u_decode(&n)[0], 0);
    assert_eq!(e, "AQAB");
    ring_sig::RsaPublicKeyComponents {
        n: b64u_decode(&n),
        e: b64u_decode(&e),
    }
    .verify(&ring_sig::RSA_PKCS1_2048_8192_SHA256, msg, &sig)
    .expect("RS256 signature verifies with ring");
    // PKCS#1 → PKCS#8 → back.
    let again = KeyPair::from_pkcs8_pem(&key.to_pkcs8_pem()).unwrap();
    assert_eq!(again.thumbprint(), key.thumbprint());
    assert_eq!(again.algorithm(), Algorithm::Rs256 { bits: 2048 });
}

#[cfg(feature = "rsa")]
#[test]
fn rsa_generation_and_size_limits() {
    assert!(matches!(
        KeyPair::generate(Algorithm::Rs256 { bits: 1024 }),
        Err(Error::UnsupportedAlgorithm(_))
    ));
    let key = KeyPair::generate(Algorithm::Rs256 { bits: 2048 }).unwrap();
    assert_eq!(key.algorithm(), Algorithm::Rs256 { bits: 2048 });
    assert_eq!(
        jwk_from_spki_der(&key.public_key_der()).unwrap(),
        key.public_jwk()
    );
}

#[test]
fn pkcs8_and_sec1_round_trips() {
    for alg in [
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Es512,
        Algorithm::EdDsa,
    ] {
        let key = KeyPair::generate(alg).unwrap();
        let pkcs8_pem = key.to_pkcs8_pem();
        assert!(pkcs8_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        for again in [
            KeyPair::from_pkcs8_pem(&pkcs8_pem).unwrap(),
            KeyPair::from_pem(&pkcs8_pem).unwrap(),
            KeyPair::from_pkcs8_der(&key.to_pkcs8_der()).unwrap(),
        ] {
            assert_eq!(again.thumbprint(), key.thumbprint(), "{alg}");
            assert_eq!(again.algorithm(), alg);
        }
        if alg == Algorithm::EdDsa {
            assert_eq!(
                key.to_sec1_pem().unwrap_err(),
                Error::WrongKeyType {
                    operation: "SEC1 export",
                    alg: "EdDSA"
                }
            );
            continue;
        }
        let sec1_pem = key.to_sec1_pem().unwrap();
        assert!(sec1_pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
        for again in [
            KeyPair::from_sec1_pem(&sec1_pem).unwrap(),
            KeyPair::from_pem(&sec1_pem).unwrap(),
        ] {
            assert_eq!(again.thumbprint(), key.thumbprint(), "{alg}");
        }
        // A SEC1 document is not PKCS#8, and the other way round.
        assert!(KeyPair::from_pkcs8_pem(&sec1_pem).is_err());
        assert!(KeyPair::from_sec1_pem(&pkcs8_pem).is_err());
    }
}

#[test]
fn debug_shows_no_key_material() {
    #[cfg_attr(not(feature = "rsa"), allow(unused_mut))]
    let mut keys = vec![
        KeyPair::generate(Algorithm::Es256).unwrap(),
        KeyPair::generate(Algorithm::Es384).unwrap(),
        KeyPair::generate(Algorithm::Es512).unwrap(),
        rfc8037_key(),
    ];
    #[cfg(feature = "rsa")]
    keys.push(KeyPair::from_pem(RSA_PKCS1).unwrap());
    for key in keys {
        let debug = format!("{key:?}");
        let pretty = format!("{key:#?}");
        assert!(
            debug.starts_with(&format!("KeyPair {{ alg: {}", key.algorithm())),
            "{debug}"
        );
        assert!(debug.contains(&key.thumbprint()));
        let pem = key.to_pkcs8_pem();
        let der = key.to_pkcs8_der();
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            // Every 16-character piece of the PEM body, so a partial dump is caught too.
            for piece in line.as_bytes().chunks(16).filter(|p| p.len() == 16) {
                let piece = std::str::from_utf8(piece).unwrap();
                assert!(!debug.contains(piece) && !pretty.contains(piece));
            }
        }
        // The private scalar in base64url, hex and as a byte list.
        let d: Vec<u8> = match key.algorithm() {
            Algorithm::EdDsa => der[16..48].to_vec(),
            Algorithm::Rs256 { .. } => der[der.len() - 64..].to_vec(),
            _ => sec1::EcPrivateKey::try_from(
                der::Decode::from_der(&der)
                    .map(|i: pkcs8::PrivateKeyInfoRef<'_>| i.private_key.as_bytes())
                    .unwrap(),
            )
            .unwrap()
            .private_key
            .to_vec(),
        };
        let d_b64 = Base64UrlUnpadded::encode_string(&d);
        let d_hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        let d_list = format!("{:?}", &d[..8]);
        for needle in [&d_b64[..16], &d_hex[..16], &d_list[1..d_list.len() - 1]] {
            assert!(
                !debug.contains(needle) && !pretty.contains(needle),
                "{debug}"
            );
        }
    }
}

#[test]
fn import_errors_say_what_is_wrong() {
    let err = KeyPair::from_pem(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("encrypted"), "{err}");
    let err = KeyPair::from_pem(P256_SPKI).unwrap_err();
    assert!(err.to_string().contains("PUBLIC KEY"), "{err}");
    let err = KeyPair::from_pem("").unwrap_err();
    assert!(err.to_string().contains("no PEM block"), "{err}");
    assert!(matches!(
        KeyPair::from_pkcs8_der(b"\x30\x03\x02\x01\x00"),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(
        KeyPair::from_der(b"junk"),
        Err(Error::InvalidKey(_))
    ));
    // A PKCS#8 document for an algorithm we do not support (X25519, 1.3.101.110).
    let mut x25519 = hex("302e020100300506032b656e04220420");
    x25519.extend_from_slice(&[7u8; 32]);
    let err = KeyPair::from_pkcs8_der(&x25519).unwrap_err();
    assert!(matches!(err, Error::UnsupportedAlgorithm(_)), "{err}");
    assert!(err.to_string().contains("1.3.101.110"), "{err}");
}

#[test]
fn algorithm_names() {
    assert_eq!("es384".parse::<Algorithm>().unwrap(), Algorithm::Es384);
    assert_eq!("EdDSA".parse::<Algorithm>().unwrap(), Algorithm::EdDsa);
    assert_eq!(
        "rsa4096".parse::<Algorithm>().unwrap(),
        Algorithm::Rs256 { bits: 4096 }
    );
    assert!("HS256".parse::<Algorithm>().is_err());
    assert_eq!(Algorithm::default(), Algorithm::Es256);
    assert_eq!(
        Algorithm::Rs256 { bits: 3072 }.to_string(),
        "RS256 (3072 bits)"
    );
}

#[test]
fn sec1_point_helper_matches_jwk() {
    // The JWK coordinates are the uncompressed point's halves, fixed width even when the
    // coordinate has leading zeros (P-521 coordinates are 66 bytes, top byte 0 or 1).
    let key = KeyPair::from_pem(P521_SEC1).unwrap();
    let sec1 = sec1::EcPrivateKey::try_from(&key.to_sec1_der().unwrap()[..])
        .unwrap()
        .private_key
        .to_vec();
    let sk = p521::SecretKey::from_slice(&sec1).unwrap();
    let point = sk.public_key().to_sec1_point(false);
    assert_eq!(point_from_jwk(&key.public_jwk()), point.as_bytes());
}
