use crate::{ACCOUNT_FILE_VERSION, AccountFile, Algorithm, Error, KeyPair};
use acme_proto::signer::Signer;
use std::path::PathBuf;
use std::sync::Arc;

const DIR: &str = "https://ca.example/dir";
const ACCT: &str = "https://ca.example/acct/17";

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "acme-crypto-account-file-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("account.json")
}

#[test]
fn json_layout_is_the_documented_one() {
    let key = Arc::new(KeyPair::generate(Algorithm::Es256).unwrap());
    let file = AccountFile::new(DIR, ACCT, key.clone()).unwrap();
    let json = file.to_json();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let members: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut sorted = members.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["account", "directory", "key", "version"]);
    assert_eq!(v["version"], ACCOUNT_FILE_VERSION);
    assert_eq!(ACCOUNT_FILE_VERSION, 1);
    assert_eq!(v["directory"], DIR);
    assert_eq!(v["account"], ACCT);
    assert_eq!(v["key"].as_str().unwrap(), key.to_pkcs8_pem().as_str());
    assert!(json.starts_with("{\n  \"version\": 1,\n  \"directory\": \"https://ca.example/dir\",\n  \"account\": \"https://ca.example/acct/17\",\n  \"key\": \"-----BEGIN PRIVATE KEY-----\\n"));
    assert!(json.ends_with("-----END PRIVATE KEY-----\\n\"\n}\n"));
}

#[test]
fn round_trips_every_key_type() {
    for alg in [
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Es512,
        Algorithm::Rs256 { bits: 2048 },
        Algorithm::EdDsa,
    ] {
        let key = Arc::new(KeyPair::generate(alg).unwrap());
        let file = AccountFile::new(DIR, ACCT, key.clone()).unwrap();
        let again = AccountFile::from_json(&file.to_json()).unwrap();
        assert_eq!(again.directory_url(), DIR);
        assert_eq!(again.account_url(), ACCT);
        assert_eq!(again.key().algorithm(), alg);
        assert_eq!(again.key().thumbprint(), key.thumbprint());
        let creds = again.credentials();
        assert_eq!(creds.url, ACCT);
        assert_eq!(creds.key.jwk(), key.public_jwk());
        assert_eq!(creds.key.alg(), alg.jws_name());
    }
}

#[test]
fn strings_are_escaped() {
    let key = Arc::new(KeyPair::generate(Algorithm::Es256).unwrap());
    let odd = "https://ca.example/dir?a=\"b\"&c=\\d\u{1}é";
    let file = AccountFile::new(odd, ACCT, key).unwrap();
    let json = file.to_json();
    assert!(json.contains(r#""directory": "https://ca.example/dir?a=\"b\"&c=\\d\u0001é","#));
    assert_eq!(AccountFile::from_json(&json).unwrap().directory_url(), odd);
}

#[test]
fn debug_never_shows_the_key() {
    let key = Arc::new(KeyPair::generate(Algorithm::Es256).unwrap());
    let file = AccountFile::new(DIR, ACCT, key.clone()).unwrap();
    let debug = format!("{file:?}");
    let pem = key.to_pkcs8_pem();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!debug.contains("PRIVATE KEY"), "{debug}");
    assert!(!debug.contains(&body[..20]), "{debug}");
    assert_eq!(
        debug,
        format!(
            "AccountFile {{ directory: \"{DIR}\", account: \"{ACCT}\", key: KeyPair {{ alg: ES256, thumbprint: \"{}\" }} }}",
            key.thumbprint()
        )
    );
}

#[test]
fn save_writes_mode_0600_and_load_reads_it_back() {
    let path = temp_path("save");
    let key = Arc::new(KeyPair::generate(Algorithm::Es384).unwrap());
    let file = AccountFile::new(DIR, ACCT, key.clone()).unwrap();
    // An existing world-readable file is replaced, not reused with its permissions.
    std::fs::write(&path, "old").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    file.save(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().as_str(),
        file.to_json().as_str()
    );
    let loaded = AccountFile::load(&path).unwrap();
    assert_eq!(loaded.account_url(), ACCT);
    assert_eq!(loaded.key().thumbprint(), key.thumbprint());
    // Nothing but the file is left in the directory.
    let entries: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, [std::ffi::OsString::from("account.json")]);
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn with_key_replaces_the_key_after_a_rollover() {
    let old = Arc::new(KeyPair::generate(Algorithm::Es256).unwrap());
    let new = Arc::new(KeyPair::generate(Algorithm::Rs256 { bits: 2048 }).unwrap());
    let file = AccountFile::new(DIR, ACCT, old)
        .unwrap()
        .with_key(new.clone());
    assert_eq!(file.key().thumbprint(), new.thumbprint());
    assert_eq!(file.account_url(), ACCT);
}

#[test]
fn malformed_files_are_refused_with_the_reason() {
    let key = KeyPair::generate(Algorithm::Es256).unwrap();
    let pem = key.to_pkcs8_pem();
    let doc = |version: &str, extra: &str| {
        format!(
            "{{\"version\": {version}, \"directory\": \"{DIR}\", \"account\": \"{ACCT}\", \"key\": {}{extra}}}",
            serde_json::to_string(pem.as_str()).unwrap()
        )
    };
    let err = |text: &str| AccountFile::from_json(text).unwrap_err();
    assert_eq!(
        err(&doc("2", "")),
        Error::AccountFile("version 2 is not supported (this library reads version 1)".into())
    );
    assert_eq!(
        err(&doc("\"1\"", "")),
        Error::AccountFile("`version` is not a number".into())
    );
    assert_eq!(
        err(r#"{"directory": "x"}"#),
        Error::AccountFile("`version` is missing".into())
    );
    assert_eq!(
        err(r#"{"version": 1, "directory": "x", "account": 7}"#),
        Error::AccountFile("`account` is not a string".into())
    );
    assert_eq!(
        err(r#"{"version": 1, "directory": "x", "account": "y"}"#),
        Error::AccountFile("`key` is missing".into())
    );
    assert_eq!(
        err(r#"{"version": 1, "directory": "", "account": "y", "key": ""}"#),
        Error::InvalidKey("no PEM block found".into())
    );
    assert_eq!(err("[1]"), Error::AccountFile("not a JSON object".into()));
    assert_eq!(
        err("{"),
        Error::AccountFile(
            "not a JSON document: EOF while parsing an object at line 1 column 1".into()
        )
    );
    // Unknown members are ignored.
    let extended = doc("1", ", \"created\": \"2026-01-01T00:00:00Z\"");
    assert_eq!(
        AccountFile::from_json(&extended).unwrap().account_url(),
        ACCT
    );
    // Empty URLs are refused.
    let empty_dir = format!(
        "{{\"version\": 1, \"directory\": \" \", \"account\": \"{ACCT}\", \"key\": {}}}",
        serde_json::to_string(pem.as_str()).unwrap()
    );
    assert_eq!(
        err(&empty_dir),
        Error::AccountFile("the directory URL is empty".into())
    );
}

#[test]
fn load_names_the_file() {
    let path = temp_path("load");
    std::fs::write(&path, "{}").unwrap();
    let err = AccountFile::load(&path).unwrap_err();
    assert_eq!(
        err,
        Error::AccountFile(format!("{}: `version` is missing", path.display()))
    );
    std::fs::remove_file(&path).unwrap();
    let err = AccountFile::load(&path).unwrap_err();
    assert_eq!(
        err,
        Error::AccountFile(format!(
            "cannot read {}: No such file or directory (os error 2)",
            path.display()
        ))
    );
    std::fs::write(&path, vec![b' '; 64 * 1024 + 1]).unwrap();
    let err = AccountFile::load(&path).unwrap_err();
    assert_eq!(
        err,
        Error::AccountFile(format!("{} is larger than 65536 bytes", path.display()))
    );
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}
