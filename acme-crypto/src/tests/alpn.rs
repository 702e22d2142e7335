use super::ring_verify_x509;
use crate::{ID_PE_ACME_IDENTIFIER, KeyPair, tls_alpn01_certificate};
use acme_proto::msgs::identifier::{Identifier, IdentifierType};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

fn check(identifier: &Identifier, expected_san: GeneralName) {
    let key_authorization =
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
    let challenge = tls_alpn01_certificate(identifier, key_authorization).unwrap();
    let cert = Certificate::from_der(&challenge.certificate_der).unwrap();
    let tbs = cert.tbs_certificate();

    // The identifier is the only subjectAltName.
    let (_, san) = tbs.get_extension::<SubjectAltName>().unwrap().expect("SAN");
    assert_eq!(san.0, vec![expected_san]);

    // id-pe-acmeIdentifier: critical, value = DER OCTET STRING of SHA-256(key authorization).
    let exts = tbs.extensions().unwrap();
    let acme: Vec<_> = exts
        .iter()
        .filter(|e| e.extn_id == ID_PE_ACME_IDENTIFIER)
        .collect();
    assert_eq!(acme.len(), 1);
    assert!(acme[0].critical);
    let mut expected = vec![0x04, 0x20];
    expected.extend_from_slice(&Sha256::digest(key_authorization.as_bytes()));
    assert_eq!(acme[0].extn_value.as_bytes(), expected.as_slice());
    assert_eq!(ID_PE_ACME_IDENTIFIER.to_string(), "1.3.6.1.5.5.7.1.31");

    // Valid now, for a short while.
    let now = SystemTime::now();
    let not_before = tbs.validity().not_before.to_system_time();
    let not_after = tbs.validity().not_after.to_system_time();
    assert!(not_before <= now && now < not_after);
    assert!(not_after.duration_since(not_before).unwrap().as_secs() <= 8 * 24 * 3600);

    // Self-signed with the returned key, and the key matches the certificate.
    assert_eq!(tbs.issuer(), tbs.subject());
    let key = KeyPair::from_pkcs8_der(&challenge.private_key_pkcs8_der).unwrap();
    assert_eq!(
        key.public_key_der(),
        tbs.subject_public_key_info().to_der().unwrap()
    );
    ring_verify_x509(
        tbs.subject_public_key_info(),
        &cert.signature_algorithm().oid.to_string(),
        &tbs.to_der().unwrap(),
        cert.signature().as_bytes().unwrap(),
    );
    let debug = format!("{challenge:?}");
    assert!(debug.contains("redacted"));
}

#[test]
fn dns_identifier() {
    check(
        &Identifier::dns("www.example.org").unwrap(),
        GeneralName::DnsName(der::asn1::Ia5String::new("www.example.org").unwrap()),
    );
}

#[test]
fn ip_identifiers() {
    for ip in ["192.0.2.1", "2001:db8::1"] {
        let ip: IpAddr = ip.parse().unwrap();
        check(&Identifier::ip(ip), GeneralName::from(ip));
    }
}

#[test]
fn refused_identifiers() {
    let key_authorization = "token.thumbprint";
    assert!(
        tls_alpn01_certificate(
            &Identifier::dns("*.example.org").unwrap(),
            key_authorization
        )
        .is_err()
    );
    let email = Identifier::from_parts(IdentifierType::Unknown("email".into()), "a@b.example");
    assert!(tls_alpn01_certificate(&email, key_authorization).is_err());
    let bad_ip = Identifier::from_parts(IdentifierType::Ip, "999.1.1.1");
    assert!(tls_alpn01_certificate(&bad_ip, key_authorization).is_err());
}
