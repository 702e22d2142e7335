use crate::{Error, identifier};
use acme_proto::msgs::identifier::IdentifierType;

#[test]
fn unicode_names_become_a_labels() {
    let id = identifier("Bücher.Example").unwrap();
    assert_eq!(
        (id.kind, id.value.as_str()),
        (IdentifierType::Dns, "xn--bcher-kva.example")
    );
    assert_eq!(
        identifier("xn--bcher-kva.example").unwrap().value,
        "xn--bcher-kva.example"
    );
    assert_eq!(
        identifier("  WWW.Example.ORG  ").unwrap().value,
        "www.example.org"
    );
}

#[test]
fn wildcards_and_trailing_dots() {
    let id = identifier("*.Example.COM.").unwrap();
    assert_eq!(id.value, "*.example.com");
    assert!(id.is_wildcard());
    assert_eq!(
        identifier("*.Bücher.example").unwrap().value,
        "*.xn--bcher-kva.example"
    );
    assert!(identifier("example.com..").is_err());
    assert!(identifier("a.*.example.com").is_err());
    assert!(identifier("*.").is_err());
}

#[test]
fn ip_literals() {
    let v4 = identifier("127.0.0.1").unwrap();
    assert_eq!(
        (v4.kind, v4.value.as_str()),
        (IdentifierType::Ip, "127.0.0.1")
    );
    let v6 = identifier("::1").unwrap();
    assert_eq!((v6.kind, v6.value.as_str()), (IdentifierType::Ip, "::1"));
    assert_eq!(identifier("[2001:DB8::0:1]").unwrap().value, "2001:db8::1");
}

#[test]
fn rejects_garbage_with_a_reason() {
    for bad in [
        "",
        "   ",
        "exa mple.com",
        "a..b",
        "-bad-.example",
        "x/y.example",
    ] {
        let err = identifier(bad).unwrap_err();
        assert!(
            matches!(err, Error::InvalidIdentifier { .. } | Error::Identifier(_)),
            "{bad:?}: {err:?}"
        );
        assert!(!err.to_string().is_empty());
    }
}
