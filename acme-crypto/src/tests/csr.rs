use super::ring_verify_x509;
use crate::{
    Algorithm, CsrOptions, Error, KeyPair, csr_der, csr_from_pem_or_der, csr_identifiers, pem,
};
use acme_proto::msgs::identifier::{Identifier, IdentifierType};
use der::oid::AssociatedOid;
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use std::net::IpAddr;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::request::{CertReq, ExtensionReq};

fn ids() -> Vec<Identifier> {
    vec![
        Identifier::dns("example.com").unwrap(),
        Identifier::dns("*.example.com").unwrap(),
        Identifier::ip("192.0.2.1".parse().unwrap()),
        Identifier::ip("2001:db8::1".parse().unwrap()),
    ]
}

/// The SAN extension of a parsed CSR: (critical, names).
fn san_of(req: &CertReq) -> (bool, Vec<GeneralName>) {
    let attr = req
        .info
        .attributes
        .iter()
        .find(|a| a.oid == ExtensionReq::OID)
        .expect("extensionRequest");
    let exts: Vec<Extension> = attr.values.iter().next().unwrap().decode_as().unwrap();
    let ext = exts
        .iter()
        .find(|e| e.extn_id == SubjectAltName::OID)
        .expect("SAN");
    (
        ext.critical,
        SubjectAltName::from_der(ext.extn_value.as_bytes())
            .unwrap()
            .0,
    )
}

/// Check the CSR's self-signature with an implementation independent of the signer.
fn verify_csr(req: &CertReq) {
    let tbs = req.info.to_der().unwrap();
    let sig = req.signature.as_bytes().unwrap();
    let spki: &SubjectPublicKeyInfoOwned = &req.info.public_key;
    let oid = req.algorithm.oid.to_string();
    if oid == "1.2.840.10045.4.3.4" {
        // ecdsa-with-SHA512 (P-521): ring has no P-521.
        use signature::Verifier;
        let vk =
            p521::ecdsa::VerifyingKey::from_sec1_bytes(spki.subject_public_key.as_bytes().unwrap())
                .unwrap();
        let s = p521::ecdsa::DerSignature::from_bytes(sig).unwrap();
        vk.verify(&tbs, &s).unwrap();
    } else {
        ring_verify_x509(spki, &oid, &tbs, sig);
    }
}

#[test]
fn san_holds_every_identifier_and_no_common_name() {
    #[cfg_attr(not(feature = "rsa"), allow(unused_mut))]
    let mut algs = vec![
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Es512,
        Algorithm::EdDsa,
    ];
    #[cfg(feature = "rsa")]
    algs.push(Algorithm::Rs256 { bits: 2048 });
    for alg in algs {
        let key = match alg {
            #[cfg(feature = "rsa")]
            Algorithm::Rs256 { .. } => {
                KeyPair::from_pem(include_str!("../../testdata/rsa2048_pkcs1.pem")).unwrap()
            }
            _ => KeyPair::generate(alg).unwrap(),
        };
        let der = csr_der(&ids(), &key, &CsrOptions::default()).unwrap();
        let req = CertReq::from_der(&der).unwrap();
        assert!(req.info.subject.is_empty(), "{alg}: no subject by default");
        let (critical, names) = san_of(&req);
        // RFC 5280 §4.2.1.6: critical when the subject is empty.
        assert!(critical);
        assert_eq!(
            names,
            vec![
                GeneralName::DnsName(der::asn1::Ia5String::new("example.com").unwrap()),
                GeneralName::DnsName(der::asn1::Ia5String::new("*.example.com").unwrap()),
                GeneralName::from("192.0.2.1".parse::<IpAddr>().unwrap()),
                GeneralName::from("2001:db8::1".parse::<IpAddr>().unwrap()),
            ],
            "{alg}"
        );
        assert_eq!(req.info.public_key.to_der().unwrap(), key.public_key_der());
        verify_csr(&req);
        assert_eq!(csr_identifiers(&der).unwrap(), ids());
    }
}

#[test]
fn common_name_on_request() {
    let key = KeyPair::generate(Algorithm::Es256).unwrap();
    let options = CsrOptions::default().with_common_name("example.com");
    let der = csr_der(&ids(), &key, &options).unwrap();
    let req = CertReq::from_der(&der).unwrap();
    assert_eq!(req.info.subject.to_string(), "CN=example.com");
    let (critical, names) = san_of(&req);
    assert!(!critical);
    assert_eq!(names.len(), 4);
    verify_csr(&req);

    let too_long = format!("{}.example.com", "a".repeat(60));
    let long_ids = [Identifier::dns(&too_long).unwrap()];
    let err = csr_der(
        &long_ids,
        &key,
        &CsrOptions::default().with_common_name(too_long),
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidCommonName(_)), "{err}");
    let err = csr_der(
        &ids(),
        &key,
        &CsrOptions::default().with_common_name("192.0.2.1"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("IP"), "{err}");
    let err = csr_der(
        &ids(),
        &key,
        &CsrOptions::default().with_common_name("other.example"),
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidCommonName(_)), "{err}");
}

#[test]
fn refuses_what_cannot_go_in_a_csr() {
    let key = KeyPair::generate(Algorithm::Es256).unwrap();
    assert!(matches!(
        csr_der(&[], &key, &CsrOptions::default()),
        Err(Error::Csr(_))
    ));
    let email = Identifier::from_parts(IdentifierType::Unknown("email".into()), "a@b.example");
    assert!(matches!(
        csr_der(&[email], &key, &CsrOptions::default()),
        Err(Error::UnsupportedIdentifier(_))
    ));
    let bad_ip = Identifier::from_parts(IdentifierType::Ip, "not-an-ip");
    assert!(csr_der(&[bad_ip], &key, &CsrOptions::default()).is_err());
    let bad_dns = Identifier::from_parts(IdentifierType::Dns, "bad name");
    assert!(csr_der(&[bad_dns], &key, &CsrOptions::default()).is_err());
}

#[test]
fn duplicates_are_dropped() {
    let key = KeyPair::generate(Algorithm::Es256).unwrap();
    let mut list = ids();
    list.push(Identifier::dns("EXAMPLE.com").unwrap());
    let der = csr_der(&list, &key, &CsrOptions::default()).unwrap();
    assert_eq!(san_of(&CertReq::from_der(&der).unwrap()).1.len(), 4);
}

#[test]
fn external_csr_in_pem_or_der() {
    let key = KeyPair::generate(Algorithm::Es256).unwrap();
    let der = csr_der(&ids(), &key, &CsrOptions::default()).unwrap();
    assert_eq!(csr_from_pem_or_der(&der).unwrap(), der);
    let pem = pem::encode("CERTIFICATE REQUEST", &der);
    let messy = format!(
        "Subject: whatever\r\n\r\n{}\r\ntrailing",
        pem.replace('\n', "\r\n")
    );
    assert_eq!(csr_from_pem_or_der(messy.as_bytes()).unwrap(), der);
    let old = pem::encode("NEW CERTIFICATE REQUEST", &der);
    assert_eq!(csr_from_pem_or_der(old.as_bytes()).unwrap(), der);
    assert!(matches!(
        csr_from_pem_or_der(b"\x30\x00"),
        Err(Error::Csr(_))
    ));
    let wrong_label = pem::encode("CERTIFICATE", &der);
    assert!(matches!(
        csr_from_pem_or_der(wrong_label.as_bytes()),
        Err(Error::Csr(_))
    ));
}
