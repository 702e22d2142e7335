//! Persisted account credentials: the [`AccountFile`] format.

use crate::{Error, KeyPair};
use acme_proto::flow::AccountCredentials;
use serde_json::Value;
use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

/// The `version` an [`AccountFile`] is written with, and the only one it reads.
pub const ACCOUNT_FILE_VERSION: u64 = 1;

/// Largest account file [`AccountFile::load`] reads (a 4096-bit RSA key is about 3.3 KiB).
const MAX_ACCOUNT_FILE_LEN: u64 = 64 * 1024;

/// An ACME account as stored between runs: the CA's directory URL, the account URL (the JWS
/// `kid`) and the account's private key. Restoring one makes no request at all: the client
/// signs with the key under the stored URL straight away.
///
/// # Format
///
/// A UTF-8 JSON object (written pretty-printed, members in this order):
///
/// | member | type | value |
/// |---|---|---|
/// | `version` | number | `1` ([`ACCOUNT_FILE_VERSION`]); other versions are refused |
/// | `directory` | string | the CA's directory URL, exactly as the client was given it |
/// | `account` | string | the account URL (`Location` of the `newAccount` answer) |
/// | `key` | string | the account key as an unencrypted PKCS#8 PEM document (`-----BEGIN PRIVATE KEY-----`) |
///
/// ```json
/// {
///   "version": 1,
///   "directory": "https://acme-v02.api.letsencrypt.org/directory",
///   "account": "https://acme-v02.api.letsencrypt.org/acme/acct/123456789",
///   "key": "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg...\n-----END PRIVATE KEY-----\n"
/// }
/// ```
///
/// Readers ignore members they do not know; a layout old readers could misread gets a new
/// `version`. When reading, `key` may also hold a SEC1 (`EC PRIVATE KEY`) or PKCS#1
/// (`RSA PRIVATE KEY`) document; it is always written as PKCS#8.
///
/// # Secrets
///
/// The key is a credential: [`AccountFile::save`] creates the file with mode `0600` on Unix
/// (owner read/write only), the JSON text of [`AccountFile::to_json`] is zeroized when
/// dropped, and `Debug` shows the key's algorithm and public thumbprint only.
///
/// ```
/// use acme_crypto::{AccountFile, Algorithm, KeyPair};
/// use std::sync::Arc;
///
/// let key = Arc::new(KeyPair::generate(Algorithm::Es256)?);
/// let file = AccountFile::new("https://ca.example/dir", "https://ca.example/acct/1", key.clone())?;
/// let json = file.to_json();
/// let again = AccountFile::from_json(&json)?;
/// assert_eq!(again.account_url(), "https://ca.example/acct/1");
/// assert_eq!(again.key().thumbprint(), key.thumbprint());
/// assert!(!format!("{again:?}").contains("PRIVATE KEY"));
/// // What a client restores: no request is needed to use it.
/// assert_eq!(again.credentials().url, "https://ca.example/acct/1");
/// # Ok::<(), acme_crypto::Error>(())
/// ```
#[derive(Clone)]
pub struct AccountFile {
    directory_url: String,
    account_url: String,
    key: Arc<KeyPair>,
}

impl fmt::Debug for AccountFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountFile")
            .field("directory", &self.directory_url)
            .field("account", &self.account_url)
            .field("key", &self.key)
            .finish()
    }
}

fn bad(what: impl Into<String>) -> Error {
    Error::AccountFile(what.into())
}

/// Append `s` to `out` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl AccountFile {
    /// An account of the CA at `directory_url`, at `account_url`, signing with `key`. Both
    /// URLs must be non-empty.
    pub fn new(
        directory_url: impl Into<String>,
        account_url: impl Into<String>,
        key: Arc<KeyPair>,
    ) -> Result<AccountFile, Error> {
        let (directory_url, account_url) = (directory_url.into(), account_url.into());
        if directory_url.trim().is_empty() {
            return Err(bad("the directory URL is empty"));
        }
        if account_url.trim().is_empty() {
            return Err(bad("the account URL is empty"));
        }
        Ok(AccountFile {
            directory_url,
            account_url,
            key,
        })
    }

    /// The CA's directory URL.
    pub fn directory_url(&self) -> &str {
        &self.directory_url
    }

    /// The account URL.
    pub fn account_url(&self) -> &str {
        &self.account_url
    }

    /// The account key.
    pub fn key(&self) -> &Arc<KeyPair> {
        &self.key
    }

    /// The same account with another key: what to save after a key rollover.
    pub fn with_key(mut self, key: Arc<KeyPair>) -> AccountFile {
        self.key = key;
        self
    }

    /// The credentials a session signs with (`acme_proto`'s form of this account).
    pub fn credentials(&self) -> AccountCredentials {
        AccountCredentials {
            url: self.account_url.clone(),
            key: self.key.clone(),
        }
    }

    /// The JSON document (see the [format](AccountFile#format)); zeroized when dropped.
    pub fn to_json(&self) -> Zeroizing<String> {
        let pem = self.key.to_pkcs8_pem();
        let mut out = Zeroizing::new(String::with_capacity(pem.len() + 256));
        out.push_str("{\n  \"version\": ");
        out.push_str(&ACCOUNT_FILE_VERSION.to_string());
        out.push_str(",\n  \"directory\": ");
        push_json_string(&mut out, &self.directory_url);
        out.push_str(",\n  \"account\": ");
        push_json_string(&mut out, &self.account_url);
        out.push_str(",\n  \"key\": ");
        push_json_string(&mut out, &pem);
        out.push_str("\n}\n");
        out
    }

    /// Read the JSON document (see the [format](AccountFile#format)).
    pub fn from_json(text: &str) -> Result<AccountFile, Error> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            // serde_json's messages name a line and column, never the input text.
            bad(format!("not a JSON document: {e}"))
        })?;
        let Value::Object(mut members) = value else {
            return Err(bad("not a JSON object"));
        };
        match members.get("version") {
            Some(Value::Number(n)) if n.as_u64() == Some(ACCOUNT_FILE_VERSION) => {}
            Some(Value::Number(n)) => {
                return Err(bad(format!(
                    "version {n} is not supported (this library reads version {ACCOUNT_FILE_VERSION})"
                )));
            }
            Some(_) => return Err(bad("`version` is not a number")),
            None => return Err(bad("`version` is missing")),
        }
        let mut string = |name: &str| match members.remove(name) {
            Some(Value::String(s)) => Ok(Zeroizing::new(s)),
            Some(_) => Err(bad(format!("`{name}` is not a string"))),
            None => Err(bad(format!("`{name}` is missing"))),
        };
        let directory = string("directory")?;
        let account = string("account")?;
        let pem = string("key")?;
        let key = KeyPair::from_pem(&pem)?;
        AccountFile::new(directory.as_str(), account.as_str(), Arc::new(key))
    }

    /// Write the file at `path`, replacing it atomically (a temporary file in the same
    /// directory, then a rename). On Unix the file is created with mode `0600`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let json = self.to_json();
        let file_name = path
            .file_name()
            .ok_or_else(|| bad(format!("{} names no file", path.display())))?;
        let mut tmp_name = file_name.to_os_string();
        tmp_name.push(format!(".tmp-{}", std::process::id()));
        let tmp: PathBuf = path.with_file_name(tmp_name);
        let cannot = |e: std::io::Error| bad(format!("cannot write {}: {e}", path.display()));
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = (|| {
            // A leftover temporary file of an earlier crash may carry other permissions.
            match fs::remove_file(&tmp) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            let mut file = options.open(&tmp)?;
            file.write_all(json.as_bytes())?;
            file.sync_all()?;
            fs::rename(&tmp, path)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(cannot(e));
        }
        Ok(())
    }

    /// Read the file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<AccountFile, Error> {
        let path = path.as_ref();
        let cannot = |e: std::io::Error| bad(format!("cannot read {}: {e}", path.display()));
        let file = fs::File::open(path).map_err(cannot)?;
        // Room for the whole file up front, so the buffer holding the key never reallocates
        // (a reallocation would leave an unzeroized copy behind).
        let mut text = Zeroizing::new(String::with_capacity(MAX_ACCOUNT_FILE_LEN as usize + 1024));
        file.take(MAX_ACCOUNT_FILE_LEN + 1)
            .read_to_string(&mut text)
            .map_err(cannot)?;
        if text.len() as u64 > MAX_ACCOUNT_FILE_LEN {
            return Err(bad(format!(
                "{} is larger than {MAX_ACCOUNT_FILE_LEN} bytes",
                path.display()
            )));
        }
        AccountFile::from_json(&text).map_err(|e| match e {
            Error::AccountFile(m) => bad(format!("{}: {m}", path.display())),
            other => other,
        })
    }
}
