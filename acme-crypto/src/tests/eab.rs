use super::hex;
use crate::{EabKey, Error, MacAlgorithm};
use acme_proto::signer::MacKey;

const DATA: &[u8] = b"what do ya want for nothing?";

#[test]
fn rfc4231_test_case_2() {
    // Key "Jefe" is "SmVmZQ" in base64url ("SmVmZQ==" padded).
    let unpadded = EabKey::new("kid", "SmVmZQ", MacAlgorithm::Hs256).unwrap();
    let padded = EabKey::new("kid", "SmVmZQ==", MacAlgorithm::Hs256).unwrap();
    let expected = hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    assert_eq!(unpadded.mac(DATA), expected);
    assert_eq!(padded.mac(DATA), expected);
    assert_eq!((unpadded.alg(), unpadded.key_id()), ("HS256", "kid"));

    let hs384 = EabKey::new("kid", "SmVmZQ", MacAlgorithm::Hs384).unwrap();
    assert_eq!(hs384.alg(), "HS384");
    assert_eq!(
        hs384.mac(DATA),
        hex(
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"
        )
    );
    let hs512 = EabKey::from_bytes("kid", b"Jefe", MacAlgorithm::Hs512).unwrap();
    assert_eq!(hs512.alg(), "HS512");
    assert_eq!(
        hs512.mac(DATA),
        hex(
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        )
    );
}

#[test]
fn base64url_only() {
    // 0xfb 0xff encodes as "-_8" in base64url and "+/8" in standard base64.
    let url = EabKey::new("kid", "-_8", MacAlgorithm::Hs256).unwrap();
    assert_eq!(
        url.mac(b"x"),
        EabKey::from_bytes("kid", &[0xfb, 0xff], MacAlgorithm::Hs256)
            .unwrap()
            .mac(b"x")
    );
    let err = EabKey::new("kid", "+/8", MacAlgorithm::Hs256).unwrap_err();
    assert!(matches!(err, Error::InvalidMacKey(_)));
    assert!(err.to_string().contains("base64url"), "{err}");
    assert!(EabKey::new("kid", "", MacAlgorithm::Hs256).is_err());
    assert!(EabKey::new("kid", "===", MacAlgorithm::Hs256).is_err());
    assert!(EabKey::new("kid", "a", MacAlgorithm::Hs256).is_err());
    assert!(EabKey::new("kid", "SmV$", MacAlgorithm::Hs256).is_err());
    assert!(EabKey::new(" ", "SmVmZQ", MacAlgorithm::Hs256).is_err());
    // Whitespace from copy and paste is ignored.
    assert_eq!(
        EabKey::new("kid", " SmVmZQ\n", MacAlgorithm::Hs256)
            .unwrap()
            .mac(DATA),
        hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    );
}

#[test]
fn debug_hides_the_mac_key() {
    let key_b64 = "c2VjcmV0LW1hYy1rZXktbWF0ZXJpYWw";
    let eab = EabKey::new("my-kid", key_b64, MacAlgorithm::Hs256).unwrap();
    let debug = format!("{eab:?} {eab:#?}");
    assert!(debug.contains("my-kid"));
    assert!(!debug.contains(key_b64));
    assert!(!debug.contains("secret"));
    assert!(!debug.contains("115, 101, 99")); // "sec" as a byte list
}
