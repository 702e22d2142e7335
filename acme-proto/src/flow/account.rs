//! Account flows (RFC 8555 §7.3): create, find by key, fetch, update contacts, deactivate.

use super::call::{Auth, Call, DirUrl, Reply, Target};
use super::session::AccountCredentials;
use super::simple::{Chain, Next, chain_flow};
use super::{Flow, Output, Session};
use crate::error::Error;
use crate::http::{Endpoint, RequestId, Response, TransportError};
use crate::msgs::jws;
use crate::msgs::problem::ProblemType;
use crate::msgs::resources::AccountResource;
use crate::signer::{MacKey, Signer};
use serde_json::{Map, Value, json};
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// What to send to `newAccount`.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct NewAccount {
    /// Contact URLs, e.g. `mailto:admin@example.com` (sent only when non-empty).
    pub contact: Vec<String>,
    /// The caller's explicit agreement to the CA's terms of service
    /// (`meta.termsOfService`); sent only when true.
    pub terms_of_service_agreed: bool,
    /// External Account Binding key, for CAs that require one.
    pub external_account_binding: Option<Arc<dyn MacKey>>,
}

impl fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAccount")
            .field("contact", &self.contact)
            .field("terms_of_service_agreed", &self.terms_of_service_agreed)
            .field(
                "external_account_binding",
                &self.external_account_binding.as_ref().map(|k| k.key_id()),
            )
            .finish()
    }
}

impl NewAccount {
    /// An account with these contacts, terms not (yet) agreed.
    pub fn new(contact: Vec<String>) -> NewAccount {
        NewAccount {
            contact,
            ..NewAccount::default()
        }
    }

    /// Record the caller's agreement to the terms of service.
    pub fn agree_to_terms_of_service(mut self, agreed: bool) -> NewAccount {
        self.terms_of_service_agreed = agreed;
        self
    }

    /// Bind to an external account (RFC 8555 §7.3.4).
    pub fn external_account_binding(mut self, key: Arc<dyn MacKey>) -> NewAccount {
        self.external_account_binding = Some(key);
        self
    }
}

/// An account, as the CA described it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Account {
    /// The account URL (the `kid` of later requests).
    pub url: String,
    /// The account object.
    pub resource: AccountResource,
    /// True when this call created the account (HTTP 201), false when it already existed.
    pub created: bool,
}

chain_flow! {
    /// Create, find, fetch, update or deactivate an account.
    AccountFlow => Account
}

fn parse_account(
    session: &mut Session,
    key: Option<Arc<dyn Signer>>,
    reply: Reply,
) -> Result<Account, Error> {
    let url = match reply.location() {
        Some(u) => u,
        None => match key {
            // Account-URL requests (update, fetch) may omit Location: the URL is the request's.
            None => reply.url.clone(),
            Some(_) => {
                return Err(Error::protocol(
                    &reply.url,
                    reply.status,
                    "newAccount response has no Location header",
                    &reply.body,
                ));
            }
        },
    };
    // Every member of an account object is optional; a server that answers with no body at
    // all (seen on `200` for an existing account) has sent an empty one.
    let resource: AccountResource = if reply.body.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice(b"{}").map_err(|e| {
            Error::protocol(
                &reply.url,
                reply.status,
                format!("invalid account object: {e}"),
                b"",
            )
        })?
    } else {
        reply.json("account")?
    };
    if let Some(key) = key {
        session.account = Some(AccountCredentials {
            url: url.clone(),
            key,
        });
    }
    Ok(Account {
        url,
        resource,
        created: reply.status == 201,
    })
}

impl AccountFlow {
    /// Create an account for `key` (or find the existing one: the CA answers 200 then).
    pub fn create(key: Arc<dyn Signer>, params: NewAccount) -> AccountFlow {
        let k = key.clone();
        let payload = Box::new(move |_: &Session, url: &str| {
            let mut m = Map::new();
            if !params.contact.is_empty() {
                m.insert("contact".into(), json!(params.contact));
            }
            if params.terms_of_service_agreed {
                m.insert("termsOfServiceAgreed".into(), Value::Bool(true));
            }
            if let Some(mac) = &params.external_account_binding {
                m.insert(
                    "externalAccountBinding".into(),
                    jws::external_account_binding(&**mac, &k.jwk(), url),
                );
            }
            Ok(Value::Object(m).to_string().into_bytes())
        });
        let call = Call::post(
            Endpoint::NewAccount,
            Target::Dir(DirUrl::NewAccount),
            Auth::Jwk(key.clone()),
            payload,
        );
        AccountFlow(Chain::new(call, move |session, _, r| {
            Next::Done(r.and_then(|reply| parse_account(session, Some(key.clone()), reply)))
        }))
    }

    /// Find the account of `key` without creating one (`onlyReturnExisting`). A key with no
    /// account ends with [`Error::Server`] of type `accountDoesNotExist`.
    pub fn find(key: Arc<dyn Signer>) -> AccountFlow {
        let payload = json!({"onlyReturnExisting": true}).to_string().into_bytes();
        let call = Call::post(
            Endpoint::NewAccount,
            Target::Dir(DirUrl::NewAccount),
            Auth::Jwk(key.clone()),
            Box::new(move |_, _| Ok(payload.clone())),
        );
        AccountFlow(Chain::new(call, move |session, _, r| {
            Next::Done(r.and_then(|reply| {
                let mut a = parse_account(session, Some(key.clone()), reply)?;
                a.created = false;
                Ok(a)
            }))
        }))
    }

    fn at_account(session: &Session, payload: Vec<u8>) -> Result<AccountFlow, Error> {
        let url = session
            .account
            .as_ref()
            .map(|a| a.url.clone())
            .ok_or_else(|| Error::Usage("no account in this session".into()))?;
        let call = Call::post_kid(Endpoint::Account, Target::Url(url), payload);
        Ok(AccountFlow(Chain::new(call, |session, _, r| {
            Next::Done(r.and_then(|reply| parse_account(session, None, reply)))
        })))
    }

    /// Fetch the session's account object (POST-as-GET).
    pub fn fetch(session: &Session) -> Result<AccountFlow, Error> {
        Self::at_account(session, Vec::new())
    }

    /// Replace the account's contacts.
    pub fn update_contact(session: &Session, contact: Vec<String>) -> Result<AccountFlow, Error> {
        Self::at_account(
            session,
            json!({ "contact": contact }).to_string().into_bytes(),
        )
    }

    /// Deactivate the account (RFC 8555 §7.3.6). Irreversible: later requests signed by it
    /// fail with `unauthorized`. When that refusal answers a retry whose first attempt's
    /// answer was lost, the deactivation was ours: the result is the deactivated account.
    pub fn deactivate(session: &Session) -> Result<AccountFlow, Error> {
        let url = session
            .account
            .as_ref()
            .map(|a| a.url.clone())
            .ok_or_else(|| Error::Usage("no account in this session".into()))?;
        let payload = json!({ "status": "deactivated" }).to_string().into_bytes();
        let call = Call::post_kid(Endpoint::Account, Target::Url(url.clone()), payload);
        Ok(AccountFlow(Chain::reconciling(
            call,
            move |session, _, r, maybe_applied| {
                Next::Done(match r {
                    Err(e)
                        if maybe_applied
                            && e.problem_type() == Some(&ProblemType::Unauthorized) =>
                    {
                        Ok(Account {
                            url: url.clone(),
                            resource: AccountResource::deactivated(),
                            created: false,
                        })
                    }
                    r => r.and_then(|reply| parse_account(session, None, reply)),
                })
            },
        )))
    }
}
