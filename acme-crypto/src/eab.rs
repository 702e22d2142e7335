//! External Account Binding MAC keys (RFC 8555 §7.3.4).

use crate::Error;
use acme_proto::signer::MacKey;
use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, KeyInit, Mac};
use std::fmt;
use zeroize::Zeroizing;

/// The HMAC algorithm of an EAB key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MacAlgorithm {
    /// HMAC-SHA-256 (`HS256`): what CAs issue unless they say otherwise.
    #[default]
    Hs256,
    /// HMAC-SHA-384 (`HS384`).
    Hs384,
    /// HMAC-SHA-512 (`HS512`).
    Hs512,
}

impl MacAlgorithm {
    /// The JWS `alg` name: `HS256`, `HS384` or `HS512`.
    pub fn jws_name(&self) -> &'static str {
        match self {
            MacAlgorithm::Hs256 => "HS256",
            MacAlgorithm::Hs384 => "HS384",
            MacAlgorithm::Hs512 => "HS512",
        }
    }
}

impl fmt::Display for MacAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jws_name())
    }
}

/// An External Account Binding key: the key identifier and HMAC key a CA hands out
/// (RFC 8555 §7.3.4). Implements [`acme_proto::signer::MacKey`].
///
/// The MAC key is zeroized on drop and never shown by `Debug`.
///
/// ```
/// use acme_crypto::{EabKey, MacAlgorithm};
/// use acme_proto::signer::MacKey;
///
/// let eab = EabKey::new("kid-1", "SmVmZQ", MacAlgorithm::Hs256)?;
/// assert_eq!(eab.key_id(), "kid-1");
/// assert_eq!(eab.alg(), "HS256");
/// assert!(!format!("{eab:?}").contains("SmVmZQ"));
/// # Ok::<(), acme_crypto::Error>(())
/// ```
pub struct EabKey {
    key_id: String,
    key: Zeroizing<Vec<u8>>,
    alg: MacAlgorithm,
}

impl EabKey {
    /// Build from the key identifier and the MAC key as the CA gives it: base64url, with or
    /// without `=` padding (surrounding whitespace is ignored). Standard base64 (`+`, `/`) is
    /// rejected with an error saying so, as are empty keys and empty key identifiers.
    pub fn new(
        key_id: impl Into<String>,
        mac_key_b64url: &str,
        alg: MacAlgorithm,
    ) -> Result<EabKey, Error> {
        let key_id = key_id.into();
        if key_id.trim().is_empty() {
            return Err(Error::InvalidMacKey(
                "the EAB key identifier is empty".to_owned(),
            ));
        }
        let text = mac_key_b64url.trim();
        let unpadded = text.trim_end_matches('=');
        if text.len() - unpadded.len() > 2 {
            return Err(Error::InvalidMacKey("too much `=` padding".to_owned()));
        }
        if unpadded.contains(['+', '/']) {
            return Err(Error::InvalidMacKey(
                "the MAC key must be base64url (with `-` and `_`), not standard base64 (`+`, `/`)"
                    .to_owned(),
            ));
        }
        let key =
            Zeroizing::new(Base64UrlUnpadded::decode_vec(unpadded).map_err(|_| {
                Error::InvalidMacKey("the MAC key is not valid base64url".to_owned())
            })?);
        if key.is_empty() {
            return Err(Error::InvalidMacKey("the MAC key is empty".to_owned()));
        }
        Ok(EabKey { key_id, key, alg })
    }

    /// Build from raw MAC key bytes.
    pub fn from_bytes(
        key_id: impl Into<String>,
        mac_key: &[u8],
        alg: MacAlgorithm,
    ) -> Result<EabKey, Error> {
        let key_id = key_id.into();
        if key_id.trim().is_empty() {
            return Err(Error::InvalidMacKey(
                "the EAB key identifier is empty".to_owned(),
            ));
        }
        if mac_key.is_empty() {
            return Err(Error::InvalidMacKey("the MAC key is empty".to_owned()));
        }
        Ok(EabKey {
            key_id,
            key: Zeroizing::new(mac_key.to_vec()),
            alg,
        })
    }

    /// The HMAC algorithm.
    pub fn algorithm(&self) -> MacAlgorithm {
        self.alg
    }
}

impl fmt::Debug for EabKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EabKey")
            .field("key_id", &self.key_id)
            .field("alg", &self.alg)
            .field(
                "mac_key",
                &format_args!("<{} bytes, redacted>", self.key.len()),
            )
            .finish()
    }
}

fn hmac<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length (long keys are hashed, short ones padded), so keying
    // cannot fail; the fallback exists only to avoid a panic path.
    match <M as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

impl MacKey for EabKey {
    fn alg(&self) -> &str {
        self.alg.jws_name()
    }

    fn key_id(&self) -> &str {
        &self.key_id
    }

    fn mac(&self, signing_input: &[u8]) -> Vec<u8> {
        match self.alg {
            MacAlgorithm::Hs256 => hmac::<Hmac<sha2::Sha256>>(&self.key, signing_input),
            MacAlgorithm::Hs384 => hmac::<Hmac<sha2::Sha384>>(&self.key, signing_input),
            MacAlgorithm::Hs512 => hmac::<Hmac<sha2::Sha512>>(&self.key, signing_input),
        }
    }
}
