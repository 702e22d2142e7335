//! ACME resources as the server sends them: directory, account, order, authorization,
//! challenge (RFC 8555 §7.1), parsed liberally (unknown members ignored, unknown enum values
//! kept, optional members optional).

use super::identifier::Identifier;
use super::problem::Problem;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// Defines a string enum that keeps unknown wire values.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this library does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)*
                    $name::Unknown(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($wire => $name::$variant,)*
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok($name::from(s.as_str()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// Account status (RFC 8555 §7.1.6).
    AccountStatus { /// `valid`
        Valid = "valid", /// `deactivated`
        Deactivated = "deactivated", /// `revoked`
        Revoked = "revoked" }
}

wire_enum! {
    /// Order status (RFC 8555 §7.1.6).
    OrderStatus { /// `pending`: authorizations still to be satisfied.
        Pending = "pending", /// `ready`: all authorizations valid; finalize now.
        Ready = "ready", /// `processing`: the CA is issuing.
        Processing = "processing", /// `valid`: the certificate is available.
        Valid = "valid", /// `invalid`: the order failed.
        Invalid = "invalid" }
}

wire_enum! {
    /// Authorization status (RFC 8555 §7.1.6).
    AuthorizationStatus { /// `pending`
        Pending = "pending", /// `valid`
        Valid = "valid", /// `invalid`
        Invalid = "invalid", /// `deactivated`
        Deactivated = "deactivated", /// `expired`
        Expired = "expired", /// `revoked`
        Revoked = "revoked" }
}

wire_enum! {
    /// Challenge status (RFC 8555 §7.1.6).
    ChallengeStatus { /// `pending`
        Pending = "pending", /// `processing`
        Processing = "processing", /// `valid`
        Valid = "valid", /// `invalid`
        Invalid = "invalid" }
}

wire_enum! {
    /// Challenge type.
    ChallengeType { /// `http-01` (RFC 8555 §8.3)
        Http01 = "http-01", /// `dns-01` (RFC 8555 §8.4)
        Dns01 = "dns-01", /// `tls-alpn-01` (RFC 8737)
        TlsAlpn01 = "tls-alpn-01", /// `dns-account-01` (draft)
        DnsAccount01 = "dns-account-01", /// `dns-persist-01` (draft)
        DnsPersist01 = "dns-persist-01" }
}

/// Deserialize a member that may hold a value of the wrong type as absent, so one odd
/// optional member never fails a whole response.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// What [`lenient`] does for `Option<String>`, without buffering the member in a
/// [`serde_json::Value`] first: a string, or absent when the member holds anything else
/// (which is skipped). Every response carries several of these.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(StringOrSkip)
}

/// A list of strings, dropping the elements that are not strings; absent (empty) when the
/// member is not a list. The `Vec<String>` form of [`lenient_vec`], unbuffered.
fn lenient_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Strings;
    impl<'de> Visitor<'de> for Strings {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
            while let Some(item) = seq.next_element_seed(StringOrSkip)? {
                out.extend(item);
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<String>, A::Error> {
            skip_map(map).map(|()| Vec::new())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(Strings)
}

/// A string, or `None` for any other JSON value (consumed and dropped).
struct StringOrSkip;

impl<'de> DeserializeSeed<'de> for StringOrSkip {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StringOrSkip {
    type Value = Option<String>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<String>, E> {
        Ok(Some(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Option<String>, E> {
        Ok(Some(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<String>, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<String>, A::Error> {
        skip_map(map).map(|()| None)
    }
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map
        .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
        .is_some()
    {}
    Ok(())
}

/// Deserialize a list, dropping elements that do not parse.
fn lenient_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|i| serde_json::from_value(i).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// The directory's `meta` object (RFC 8555 §7.1.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DirectoryMeta {
    /// Terms of service URL: show it to the user; agreeing is their explicit decision.
    #[serde(default, deserialize_with = "lenient_string")]
    pub terms_of_service: Option<String>,
    /// The CA's website.
    #[serde(default, deserialize_with = "lenient_string")]
    pub website: Option<String>,
    /// CAA issuer domain names.
    #[serde(default, deserialize_with = "lenient_strings")]
    pub caa_identities: Vec<String>,
    /// Whether newAccount requires External Account Binding.
    #[serde(default, deserialize_with = "lenient")]
    pub external_account_required: Option<bool>,
    /// Certificate profiles offered: name → description.
    #[serde(default, deserialize_with = "lenient")]
    pub profiles: Option<BTreeMap<String, String>>,
}

/// The directory (RFC 8555 §7.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Directory {
    /// `newNonce` URL.
    pub new_nonce: String,
    /// `newAccount` URL.
    pub new_account: String,
    /// `newOrder` URL.
    pub new_order: String,
    /// `newAuthz` URL (pre-authorization), when offered.
    #[serde(default, deserialize_with = "lenient_string")]
    pub new_authz: Option<String>,
    /// `revokeCert` URL.
    #[serde(default, deserialize_with = "lenient_string")]
    pub revoke_cert: Option<String>,
    /// `keyChange` URL.
    #[serde(default, deserialize_with = "lenient_string")]
    pub key_change: Option<String>,
    /// `renewalInfo` URL (RFC 9773), when offered.
    #[serde(default, deserialize_with = "lenient_string")]
    pub renewal_info: Option<String>,
    /// The `meta` object.
    #[serde(default, deserialize_with = "lenient_meta")]
    pub meta: DirectoryMeta,
}

fn lenient_meta<'de, D: Deserializer<'de>>(d: D) -> Result<DirectoryMeta, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

/// An account object (RFC 8555 §7.1.2).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AccountResource {
    /// Status; Pebble and Boulder always send it, yet it is optional here.
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<AccountStatus>,
    /// Contact URLs.
    #[serde(default, deserialize_with = "lenient_strings")]
    pub contact: Vec<String>,
    /// Whether the terms of service were agreed to.
    #[serde(default, deserialize_with = "lenient")]
    pub terms_of_service_agreed: Option<bool>,
    /// The orders list URL.
    #[serde(default, deserialize_with = "lenient_string")]
    pub orders: Option<String>,
}

impl AccountResource {
    /// What is known of an account whose deactivation the CA confirmed only by refusing
    /// everything after it.
    pub(crate) fn deactivated() -> AccountResource {
        AccountResource {
            status: Some(AccountStatus::Deactivated),
            contact: Vec::new(),
            terms_of_service_agreed: None,
            orders: None,
        }
    }
}

/// An order object (RFC 8555 §7.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OrderResource {
    /// Status.
    pub status: OrderStatus,
    /// When the order expires (RFC 3339), kept as text.
    #[serde(default, deserialize_with = "lenient_string")]
    pub expires: Option<String>,
    /// The identifiers.
    #[serde(default, deserialize_with = "lenient_vec")]
    pub identifiers: Vec<Identifier>,
    /// Requested notBefore, as text.
    #[serde(default, deserialize_with = "lenient_string")]
    pub not_before: Option<String>,
    /// Requested notAfter, as text.
    #[serde(default, deserialize_with = "lenient_string")]
    pub not_after: Option<String>,
    /// The error that made the order invalid.
    #[serde(default, deserialize_with = "lenient_problem")]
    pub error: Option<Problem>,
    /// Authorization URLs.
    #[serde(default, deserialize_with = "lenient_strings")]
    pub authorizations: Vec<String>,
    /// Finalize URL.
    #[serde(default, deserialize_with = "lenient_string")]
    pub finalize: Option<String>,
    /// Certificate URL, once valid.
    #[serde(default, deserialize_with = "lenient_string")]
    pub certificate: Option<String>,
    /// Profile name (profiles extension).
    #[serde(default, deserialize_with = "lenient_string")]
    pub profile: Option<String>,
    /// ARI `replaces` echo.
    #[serde(default, deserialize_with = "lenient_string")]
    pub replaces: Option<String>,
}

fn lenient_problem<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Problem>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    if !v.is_object() {
        return Ok(None);
    }
    Ok(Problem::from_json(v.to_string().as_bytes()))
}

/// A challenge object (RFC 8555 §7.1.5, §8).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ChallengeResource {
    /// The challenge type.
    #[serde(rename = "type")]
    pub kind: ChallengeType,
    /// The URL to trigger it.
    pub url: String,
    /// Status.
    #[serde(default = "pending_challenge", deserialize_with = "lenient_status")]
    pub status: ChallengeStatus,
    /// The token (http-01, dns-01, tls-alpn-01).
    #[serde(default, deserialize_with = "lenient_string")]
    pub token: Option<String>,
    /// When it was validated.
    #[serde(default, deserialize_with = "lenient_string")]
    pub validated: Option<String>,
    /// Why it failed.
    #[serde(default, deserialize_with = "lenient_problem")]
    pub error: Option<Problem>,
}

fn pending_challenge() -> ChallengeStatus {
    ChallengeStatus::Pending
}

fn lenient_status<'de, D: Deserializer<'de>>(d: D) -> Result<ChallengeStatus, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(v.as_str()
        .map(ChallengeStatus::from)
        .unwrap_or(ChallengeStatus::Pending))
}

/// An authorization object (RFC 8555 §7.1.4).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AuthorizationResource {
    /// The identifier (for a wildcard order: the base domain, with `wildcard: true`).
    pub identifier: Identifier,
    /// Status.
    pub status: AuthorizationStatus,
    /// Expiry, as text.
    #[serde(default, deserialize_with = "lenient_string")]
    pub expires: Option<String>,
    /// Challenges; ones that fail to parse (e.g. no `url`) are dropped.
    #[serde(default, deserialize_with = "lenient_vec")]
    pub challenges: Vec<ChallengeResource>,
    /// Whether this authorization is for a wildcard name.
    #[serde(default, deserialize_with = "lenient")]
    pub wildcard: Option<bool>,
}

impl AuthorizationResource {
    /// The identifier as it appears in the order: `*.` re-added for wildcard authorizations.
    pub fn order_identifier(&self) -> Identifier {
        if self.wildcard == Some(true) && !self.identifier.value.starts_with("*.") {
            Identifier::from_parts(
                self.identifier.kind.clone(),
                format!("*.{}", self.identifier.value),
            )
        } else {
            self.identifier.clone()
        }
    }

    /// The first invalid challenge's error, which explains an invalid authorization.
    pub fn failure(&self) -> Option<(&ChallengeResource, Option<&Problem>)> {
        self.challenges
            .iter()
            .find(|c| c.status == ChallengeStatus::Invalid)
            .map(|c| (c, c.error.as_ref()))
    }
}

/// A page of an account's orders list (RFC 8555 §7.1.2.1).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct OrdersList {
    /// Order URLs.
    #[serde(default, deserialize_with = "lenient_strings")]
    pub orders: Vec<String>,
}

/// A renewal information response (RFC 9773 §4.2).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RenewalInfoResource {
    /// The suggested window.
    pub suggested_window: SuggestedWindow,
    /// A page explaining the suggestion (e.g. a revocation incident).
    #[serde(
        default,
        rename = "explanationURL",
        deserialize_with = "lenient_string"
    )]
    pub explanation_url: Option<String>,
}

/// ARI suggested window, as RFC 3339 text.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SuggestedWindow {
    /// Window start.
    pub start: String,
    /// Window end.
    pub end: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8555_directory_example() {
        let d: Directory = serde_json::from_str(
            r#"{
            "newNonce": "https://example.com/acme/new-nonce",
            "newAccount": "https://example.com/acme/new-account",
            "newOrder": "https://example.com/acme/new-order",
            "newAuthz": "https://example.com/acme/new-authz",
            "revokeCert": "https://example.com/acme/revoke-cert",
            "keyChange": "https://example.com/acme/key-change",
            "meta": {
              "termsOfService": "https://example.com/acme/terms/2017-5-30",
              "website": "https://www.example.com/",
              "caaIdentities": ["example.com"],
              "externalAccountRequired": false,
              "profiles": {"classic": "the default", "shortlived": "6 days"},
              "somethingNew": {"x": 1}
            },
            "aRandomKey": "https://community.letsencrypt.org/"
        }"#,
        )
        .unwrap();
        assert_eq!(
            d.new_authz.as_deref(),
            Some("https://example.com/acme/new-authz")
        );
        assert_eq!(d.meta.caa_identities, vec!["example.com".to_string()]);
        assert_eq!(
            d.meta.profiles.unwrap().get("shortlived").unwrap(),
            "6 days"
        );
        let minimal: Directory = serde_json::from_str(
            r#"{"newNonce":"n","newAccount":"a","newOrder":"o","meta":"odd"}"#,
        )
        .unwrap();
        assert_eq!(minimal.meta, DirectoryMeta::default());
        assert_eq!(minimal.revoke_cert, None);
    }

    #[test]
    fn unknown_values_kept() {
        let a: AuthorizationResource = serde_json::from_str(
            r#"{"identifier":{"type":"dns","value":"example.org"},"status":"on-hold",
                "wildcard":true,
                "challenges":[{"type":"new-02","url":"u1","status":"weird","token":"t"},
                              {"type":"http-01"},
                              {"type":"dns-01","url":"u2","token":"t2"}]}"#,
        )
        .unwrap();
        assert_eq!(a.status, AuthorizationStatus::Unknown("on-hold".into()));
        assert_eq!(a.challenges.len(), 2);
        assert_eq!(
            a.challenges[0].kind,
            ChallengeType::Unknown("new-02".into())
        );
        assert_eq!(
            a.challenges[0].status,
            ChallengeStatus::Unknown("weird".into())
        );
        assert_eq!(a.challenges[1].status, ChallengeStatus::Pending);
        assert_eq!(a.order_identifier().value, "*.example.org");
    }
}
