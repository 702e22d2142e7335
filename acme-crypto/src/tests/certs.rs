use super::{Plain, hex, spki_of};
use crate::{
    Algorithm, CertificateChain, CertificateInfo, Error, KeyPair, MAX_CHAIN_LEN,
    ari_certificate_id, pem, select_chain, select_chain_pem,
};
use acme_proto::msgs::identifier::Identifier;
use der::Encode;
use der::asn1::OctetString;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::builder::CertificateBuilder;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

const NOT_BEFORE: u64 = 1_735_689_600; // 2025-01-01T00:00:00Z
const NOT_AFTER: u64 = 1_743_465_600; // 2025-04-01T00:00:00Z

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// What to put in a test certificate.
struct Spec<'a> {
    subject: &'a str,
    issuer: &'a str,
    serial: &'a [u8],
    sans: Vec<GeneralName>,
    aki: Option<&'a [u8]>,
}

fn name(rfc4514: &str) -> Name {
    if rfc4514.is_empty() {
        Name::default()
    } else {
        Name::from_str(rfc4514).unwrap()
    }
}

/// A certificate for `subject_key`, signed by `issuer_key`.
fn make_cert(spec: Spec<'_>, subject_key: &KeyPair, issuer_key: &KeyPair) -> Vec<u8> {
    let profile = Plain {
        subject: name(spec.subject),
        issuer: name(spec.issuer),
    };
    let validity = Validity::new(
        Time::try_from(at(NOT_BEFORE)).unwrap(),
        Time::try_from(at(NOT_AFTER)).unwrap(),
    );
    let mut builder = CertificateBuilder::new(
        profile,
        SerialNumber::new(spec.serial).unwrap(),
        validity,
        spki_of(subject_key),
    )
    .unwrap();
    if !spec.sans.is_empty() {
        builder.add_extension(&SubjectAltName(spec.sans)).unwrap();
    }
    if let Some(aki) = spec.aki {
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(aki).unwrap()),
            ..Default::default()
        };
        builder.add_extension(&aki).unwrap();
    }
    issuer_key.build_x509(builder).unwrap().to_der().unwrap()
}

/// A leaf (with SANs) and an intermediate, issued under a root named `root_cn`.
fn chain(root_cn: &str, intermediate_cn: &str) -> (Vec<u8>, Vec<u8>) {
    let root = KeyPair::generate(Algorithm::Es256).unwrap();
    let intermediate = KeyPair::generate(Algorithm::Es384).unwrap();
    let leaf = KeyPair::generate(Algorithm::Es256).unwrap();
    let inter_der = make_cert(
        Spec {
            subject: &format!("CN={intermediate_cn},O=Test CA,C=US"),
            issuer: &format!("CN={root_cn},O=Test CA,C=US"),
            serial: &[0x11],
            sans: vec![],
            aki: None,
        },
        &intermediate,
        &root,
    );
    let leaf_der = make_cert(
        Spec {
            subject: "",
            issuer: &format!("CN={intermediate_cn},O=Test CA,C=US"),
            serial: &[0x00, 0x87, 0x65, 0x43, 0x21],
            sans: vec![
                GeneralName::DnsName(der::asn1::Ia5String::new("example.com").unwrap()),
                GeneralName::DnsName(der::asn1::Ia5String::new("*.example.com").unwrap()),
                GeneralName::from("192.0.2.7".parse::<std::net::IpAddr>().unwrap()),
                GeneralName::Rfc822Name(der::asn1::Ia5String::new("admin@example.com").unwrap()),
            ],
            aki: Some(&hex(
                "69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4",
            )),
        },
        &leaf,
        &intermediate,
    );
    (leaf_der, inter_der)
}

fn pem_of(der: &[u8]) -> String {
    pem::encode("CERTIFICATE", der).to_string()
}

#[test]
fn rfc9773_ari_certificate_id() {
    // RFC 9773 §4.1: AKI keyIdentifier 69:88:5B:…:C8:D4 and serial 00:87:65:43:21.
    let (leaf, intermediate) = chain("Test Root X1", "Test Intermediate");
    assert_eq!(
        ari_certificate_id(&leaf).unwrap(),
        "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
    );
    let err = ari_certificate_id(&intermediate).unwrap_err();
    assert!(err.to_string().contains("authorityKeyIdentifier"), "{err}");
    assert!(ari_certificate_id(b"not a certificate").is_err());
}

#[test]
fn chain_from_messy_pem() {
    let (leaf, intermediate) = chain("Test Root X1", "Test Intermediate");
    let text = format!(
        "Bag Attributes\r\n  friendlyName: x\r\n{}\r\n\r\n\r\nsubject=...\r\n{}\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n\ntrailing garbage\n",
        pem_of(&leaf).replace('\n', "\r\n"),
        pem_of(&intermediate).replace("-----\n", "-----\n\n"),
    );
    let chain = CertificateChain::from_pem(text.as_bytes()).unwrap();
    assert_eq!(chain.certificates(), &[leaf.clone(), intermediate.clone()]);
    assert_eq!(chain.leaf_der(), leaf.as_slice());
    assert_eq!(
        chain.top_issuer_common_name().as_deref(),
        Some("Test Root X1")
    );
    assert_eq!(chain.root_common_name().as_deref(), Some("Test Root X1"));

    let info = chain.leaf().unwrap();
    assert_eq!(
        info.subject_alt_names,
        vec![
            Identifier::dns("example.com").unwrap(),
            Identifier::dns("*.example.com").unwrap(),
            Identifier::ip("192.0.2.7".parse().unwrap()),
        ]
    );
    assert_eq!(info.serial, vec![0x00, 0x87, 0x65, 0x43, 0x21]);
    assert_eq!(info.issuer, "CN=Test Intermediate,O=Test CA,C=US");
    assert_eq!(
        info.issuer_common_name.as_deref(),
        Some("Test Intermediate")
    );
    assert_eq!(info.subject_common_name, None);
    assert_eq!(info.subject, "");
    assert_eq!(info.not_before, at(NOT_BEFORE));
    assert_eq!(info.not_after, at(NOT_AFTER));
    assert_eq!(
        info.authority_key_identifier.as_deref().map(<[u8]>::len),
        Some(20)
    );
    assert_eq!(CertificateInfo::from_der(&leaf).unwrap(), info);

    // to_pem writes what from_pem reads.
    let again = CertificateChain::from_pem(chain.to_pem().as_bytes()).unwrap();
    assert_eq!(again, chain);
    assert!(!format!("{chain:?}").is_empty());
}

#[test]
fn chain_errors() {
    assert_eq!(
        CertificateChain::from_pem(b"nothing here"),
        Err(Error::NoCertificates)
    );
    let only_key = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    assert_eq!(
        CertificateChain::from_pem(only_key),
        Err(Error::NoCertificates)
    );
    let (leaf, _) = chain("Test Root X1", "Test Intermediate");
    let many = pem_of(&leaf).repeat(MAX_CHAIN_LEN + 1);
    assert_eq!(
        CertificateChain::from_pem(many.as_bytes()),
        Err(Error::TooManyCertificates {
            limit: MAX_CHAIN_LEN
        })
    );
    assert_eq!(
        CertificateChain::from_pem(pem_of(&leaf).repeat(MAX_CHAIN_LEN).as_bytes())
            .unwrap()
            .certificates()
            .len(),
        MAX_CHAIN_LEN
    );
    let bad = pem_of(&[0x30, 0x03, 0x02, 0x01, 0x01]);
    assert!(matches!(
        CertificateChain::from_pem(bad.as_bytes()),
        Err(Error::Certificate(_))
    ));
    let truncated = pem_of(&leaf);
    let truncated = truncated
        .trim_end()
        .trim_end_matches("-----END CERTIFICATE-----");
    assert!(matches!(
        CertificateChain::from_pem(truncated.as_bytes()),
        Err(Error::Pem(_))
    ));
}

#[test]
fn preferred_chain_selection() {
    let (leaf_a, inter_a) = chain("Root A", "Intermediate A");
    let (leaf_b, inter_b) = chain("Root B", "Intermediate B");
    let chains = [
        CertificateChain::from_der_certificates(vec![leaf_a, inter_a]).unwrap(),
        CertificateChain::from_der_certificates(vec![leaf_b, inter_b]).unwrap(),
    ];
    // By the root the chain leads to.
    assert!(std::ptr::eq(
        select_chain(&chains, "Root B").unwrap(),
        &chains[1]
    ));
    assert!(std::ptr::eq(
        select_chain(&chains, "Root A").unwrap(),
        &chains[0]
    ));
    // By any certificate's issuer.
    assert!(std::ptr::eq(
        select_chain(&chains, "Intermediate B").unwrap(),
        &chains[1]
    ));
    // Nothing matches: the caller keeps its default.
    assert!(select_chain(&chains, "ISRG Root X2").is_none());
    assert!(select_chain(&chains, "").is_none());
    assert!(select_chain(&[], "Root A").is_none());
}

#[test]
fn preferred_chain_pem_selection() {
    let (leaf_a, inter_a) = chain("Root A", "Intermediate A");
    let (leaf_b, inter_b) = chain("Root B", "Intermediate B");
    let (leaf_c, inter_c) = chain("Root C", "Intermediate C");
    let default = pem_of(&leaf_a) + &pem_of(&inter_a);
    let alt_b = pem_of(&leaf_b) + &pem_of(&inter_b);
    let alt_c = pem_of(&leaf_c) + &pem_of(&inter_c);
    let alts = [alt_b.as_str(), "not a chain", alt_c.as_str()];
    // By root name, among the alternates or the default itself.
    assert_eq!(select_chain_pem(&default, alts, "Root C"), alt_c);
    assert_eq!(select_chain_pem(&default, alts, "Root B"), alt_b);
    assert_eq!(select_chain_pem(&default, alts, "Root A"), default);
    // By an issuer further down.
    assert_eq!(select_chain_pem(&default, alts, "Intermediate B"), alt_b);
    // No match, no preference, no alternates: the default chain.
    assert_eq!(select_chain_pem(&default, alts, "ISRG Root X2"), default);
    assert_eq!(select_chain_pem(&default, alts, " "), default);
    assert_eq!(select_chain_pem(&default, [], "Root C"), default);
    // A default that does not parse is still the fallback.
    assert_eq!(
        select_chain_pem("garbage", [alt_b.as_str()], "Root X"),
        "garbage"
    );
    assert_eq!(
        select_chain_pem("garbage", [alt_b.as_str()], "Root B"),
        alt_b
    );
}
