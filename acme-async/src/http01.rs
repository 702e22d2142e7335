//! The token → key-authorization map behind every runtime crate's `Http01Responder`, and the
//! answer an http-01 responder gives (RFC 8555 §8.3). No I/O: the responders' servers (and
//! yours) call it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard};

use acme_proto::http::{HeaderValue, Method, Response, StatusCode};
use acme_proto::msgs::challenge::is_valid_token;
use tracing::debug;

/// The path prefix under which the ACME server fetches http-01 challenge responses.
pub const CHALLENGE_PATH_PREFIX: &str = "/.well-known/acme-challenge/";

/// Challenge tokens and their key authorizations. Clones share the same map.
///
/// `Debug` shows how many tokens there are, never the key authorizations.
#[derive(Clone, Default)]
pub struct Http01Tokens {
    tokens: Arc<RwLock<HashMap<String, String>>>,
}

impl fmt::Debug for Http01Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http01Tokens")
            .field("tokens", &self.len())
            .finish()
    }
}

impl Http01Tokens {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many tokens are served.
    pub fn len(&self) -> usize {
        self.tokens
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no token is served.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Serves `key_authorization` for `token` from now on; returns the previous value.
    pub fn insert(&self, token: String, key_authorization: String) -> Option<String> {
        self.write().insert(token, key_authorization)
    }

    /// Stops serving `token`; returns the key authorization it had.
    pub fn remove(&self, token: &str) -> Option<String> {
        self.write().remove(token)
    }

    /// The response body for a request path: the key authorization when `path` is
    /// `/.well-known/acme-challenge/{token}` for a known token made of base64url characters
    /// only, `None` for anything else (a `?query` included: strip it first).
    pub fn lookup_path(&self, path: &str) -> Option<String> {
        let token = path.strip_prefix(CHALLENGE_PATH_PREFIX)?;
        if !is_valid_token(token) {
            return None;
        }
        self.tokens
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned()
    }

    /// The answer to a request: `200 text/plain` with the key authorization for `GET`/`HEAD`
    /// of a known challenge path, `404` with an empty body for anything else.
    pub fn respond(&self, method: &Method, path: &str) -> Response {
        let found = if method == Method::GET || method == Method::HEAD {
            self.lookup_path(path)
        } else {
            None
        };
        debug!(%method, path, found = found.is_some(), "http-01 request");
        match found {
            Some(key_authorization) => {
                let mut response = Response::new(key_authorization.into_bytes());
                response
                    .headers_mut()
                    .insert("content-type", HeaderValue::from_static("text/plain"));
                response
            }
            None => {
                let mut response = Response::new(Vec::new());
                *response.status_mut() = StatusCode::NOT_FOUND;
                response
            }
        }
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, String>> {
        self.tokens.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_path_matches_only_known_base64url_tokens() {
        let tokens = Http01Tokens::new();
        tokens.insert("tok_EN-1".into(), "tok_EN-1.thumbprint".into());
        assert_eq!(
            tokens.lookup_path("/.well-known/acme-challenge/tok_EN-1"),
            Some("tok_EN-1.thumbprint".to_owned())
        );
        for path in [
            "/.well-known/acme-challenge/unknown",
            "/.well-known/acme-challenge/",
            "/.well-known/acme-challenge/tok_EN-1/",
            "/.well-known/acme-challenge/tok_EN-1?x",
            "/.well-known/acme-challenge/../tok_EN-1",
            "/.well-known/acme-challenge/tok.EN",
            "/well-known/acme-challenge/tok_EN-1",
            "/",
        ] {
            assert_eq!(tokens.lookup_path(path), None, "{path}");
        }
        let found = tokens.respond(&Method::HEAD, "/.well-known/acme-challenge/tok_EN-1");
        assert_eq!(found.status(), StatusCode::OK);
        assert_eq!(found.headers()["content-type"], "text/plain");
        let refused = tokens.respond(&Method::POST, "/.well-known/acme-challenge/tok_EN-1");
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            tokens.remove("tok_EN-1"),
            Some("tok_EN-1.thumbprint".into())
        );
        assert_eq!(
            tokens.lookup_path("/.well-known/acme-challenge/tok_EN-1"),
            None
        );
    }
}
