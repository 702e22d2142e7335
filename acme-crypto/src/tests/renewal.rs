//! Certificate facts for the renewal decision: validity and the ARI certificate ID (RFC 9773
//! §4.1) for serials of every shape, from PEM and DER.

use super::{Plain, hex, spki_of};
use crate::{Algorithm, Error, KeyPair, ari_certificate_id, pem, random_u64, renewal_facts};
use acme_proto::renewal::CertificateFacts;
use der::Encode;
use der::asn1::OctetString;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::builder::CertificateBuilder;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

const NOT_BEFORE: u64 = 1_735_689_600; // 2025-01-01T00:00:00Z
const NOT_AFTER: u64 = 1_743_465_600; // 2025-04-01T00:00:00Z
/// RFC 9773 §4.1's authority key identifier, 69:88:5B:…:C8:D4.
const AKI: &str = "69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A self-issued certificate with this serial (as given to the builder) and AKI.
fn cert(serial: &[u8], aki: Option<&[u8]>) -> Vec<u8> {
    let key = KeyPair::generate(Algorithm::Es256).unwrap();
    let profile = Plain {
        subject: Name::default(),
        issuer: "CN=Test Intermediate".parse().unwrap(),
    };
    let validity = Validity::new(
        Time::try_from(at(NOT_BEFORE)).unwrap(),
        Time::try_from(at(NOT_AFTER)).unwrap(),
    );
    let mut builder = CertificateBuilder::new(
        profile,
        SerialNumber::new(serial).unwrap(),
        validity,
        spki_of(&key),
    )
    .unwrap();
    if let Some(aki) = aki {
        builder
            .add_extension(&AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(aki).unwrap()),
                ..Default::default()
            })
            .unwrap();
    }
    key.build_x509(builder).unwrap().to_der().unwrap()
}

/// The DER of the serial INTEGER (tag, length, content) inside `der`.
fn serial_tlv(der: &[u8]) -> Vec<u8> {
    use der::Decode;
    let c = x509_cert::Certificate::from_der(der).unwrap();
    c.tbs_certificate().serial_number().to_der().unwrap()
}

#[test]
fn certificate_ids_for_serials_of_every_shape() {
    let aki = hex(AKI);
    // (serial given to the builder, serial INTEGER as encoded, certificate ID)
    let cases: [(&[u8], &[u8], &str); 6] = [
        // RFC 9773 §4.1: the serial 00:87:65:43:21 keeps its leading zero.
        (
            &[0x00, 0x87, 0x65, 0x43, 0x21],
            &[0x02, 0x05, 0x00, 0x87, 0x65, 0x43, 0x21],
            "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
        ),
        // High bit of the first byte set: the encoder adds the zero byte, which the ID keeps.
        (
            &[0x87, 0x65, 0x43, 0x21],
            &[0x02, 0x05, 0x00, 0x87, 0x65, 0x43, 0x21],
            "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
        ),
        (
            &[0xFF],
            &[0x02, 0x02, 0x00, 0xFF],
            "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AP8",
        ),
        // Redundant leading zero bytes are not part of the DER INTEGER, nor of the ID.
        (
            &[0x00, 0x00, 0x12, 0x34],
            &[0x02, 0x02, 0x12, 0x34],
            "aYhba4dGQEHhs3uEe6CuLN4ByNQ.EjQ",
        ),
        (
            &[0x00, 0x7F],
            &[0x02, 0x01, 0x7F],
            "aYhba4dGQEHhs3uEe6CuLN4ByNQ.fw",
        ),
        // A 19-byte serial with the high bit set: 20 content bytes, the most RFC 5280 allows.
        (
            &[0x80; 19],
            &[
                0x02, 0x14, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
            ],
            "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AICAgICAgICAgICAgICAgICAgIA",
        ),
    ];
    for (serial, tlv, id) in cases {
        let der = cert(serial, Some(&aki));
        assert_eq!(serial_tlv(&der), tlv, "{serial:02x?}");
        assert_eq!(ari_certificate_id(&der).unwrap(), id, "{serial:02x?}");
        let facts = renewal_facts(&der).unwrap();
        assert_eq!(facts.certificate_id.as_deref(), Some(id));
    }
}

#[test]
fn facts_from_pem_and_der() {
    let der = cert(&[0x00, 0x87, 0x65, 0x43, 0x21], Some(&hex(AKI)));
    let expected = CertificateFacts::new(at(NOT_BEFORE), at(NOT_AFTER))
        .with_certificate_id("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    assert_eq!(renewal_facts(&der).unwrap(), expected);
    // A PEM chain: the first certificate is the leaf.
    let other = cert(&[0x01], Some(&[0xAB; 20]));
    let chain = format!(
        "subject=leaf\n{}{}",
        pem::encode("CERTIFICATE", &der).as_str(),
        pem::encode("CERTIFICATE", &other).as_str()
    );
    assert_eq!(renewal_facts(chain.as_bytes()).unwrap(), expected);
    assert_eq!(
        renewal_facts(pem::encode("CERTIFICATE", &other).as_bytes())
            .unwrap()
            .certificate_id
            .as_deref(),
        Some("q6urq6urq6urq6urq6urq6urq6s.AQ")
    );
}

#[test]
fn no_authority_key_identifier_means_no_certificate_id() {
    let der = cert(&[0x05], None);
    assert!(ari_certificate_id(&der).is_err());
    assert_eq!(
        renewal_facts(&der).unwrap(),
        CertificateFacts::new(at(NOT_BEFORE), at(NOT_AFTER))
    );
}

#[test]
fn what_is_not_a_certificate_fails() {
    assert!(matches!(renewal_facts(b""), Err(Error::Certificate(_))));
    assert!(matches!(
        renewal_facts(b"\x30\x03\x02\x01\x01"),
        Err(Error::Certificate(_))
    ));
    assert_eq!(
        renewal_facts(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        Err(Error::NoCertificates)
    );
}

#[test]
fn random_values_differ() {
    let a = random_u64().unwrap();
    let b = random_u64().unwrap();
    let c = random_u64().unwrap();
    // Three equal draws from 2^64 values would mean a broken source.
    assert!(!(a == b && b == c));
}

#[test]
fn serial_bytes_are_taken_as_encoded() {
    let der = cert(&[0x01, 0x12], Some(&hex(AKI)));
    let pos = der
        .windows(4)
        .position(|w| w == [0x02, 0x02, 0x01, 0x12])
        .unwrap();
    // 02 02 87 12, a negative serial (RFC 5280 forbids them, some CAs issued them): the ID
    // holds the content bytes exactly as encoded.
    let mut negative = der.clone();
    negative[pos + 2] = 0x87;
    assert_eq!(
        ari_certificate_id(&negative).unwrap(),
        "aYhba4dGQEHhs3uEe6CuLN4ByNQ.hxI"
    );
    assert_eq!(
        renewal_facts(&negative).unwrap().certificate_id.as_deref(),
        Some("aYhba4dGQEHhs3uEe6CuLN4ByNQ.hxI")
    );
    // 02 02 00 12, a redundant leading zero byte, is not DER: the certificate is refused.
    let mut padded = der;
    padded[pos + 2] = 0x00;
    let expected = Error::Certificate(
        "certificate #1 does not parse: ASN.1 INTEGER not canonically encoded as DER".into(),
    );
    assert_eq!(renewal_facts(&padded), Err(expected.clone()));
    assert_eq!(ari_certificate_id(&padded), Err(expected));
}
