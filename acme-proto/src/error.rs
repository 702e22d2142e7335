//! Errors, split by who is at fault: the CA (a problem document, or a violation of the
//! protocol), the network (transport), the caller (misuse), or the clock (a deadline).

use crate::http::TransportError;
use crate::msgs::identifier::Identifier;
use crate::msgs::problem::{Problem, ProblemType};
use crate::msgs::resources::{AuthorizationStatus, ChallengeType};
use crate::signer::SignError;
use std::fmt;
use std::time::SystemTime;

/// Longest body excerpt carried in an error.
pub(crate) const SNIPPET_LEN: usize = 200;

/// Everything an ACME operation can fail with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The CA answered with a problem document (RFC 7807). `rateLimited` lands here with
    /// [`Problem::retry_after`] set: the library never sleeps through a rate limit.
    Server {
        /// The URL the request went to.
        url: String,
        /// The HTTP status of the response.
        status: u16,
        /// The problem the CA reported.
        problem: Problem,
    },
    /// An authorization could not be satisfied (validation failed, or it expired or was
    /// deactivated or revoked): the identifier, the challenge tried and the CA's reason.
    Authorization {
        /// The identifier as it appears in the order (wildcards keep their `*.`).
        identifier: Identifier,
        /// The authorization's final status.
        status: AuthorizationStatus,
        /// The challenge type that failed, when one did.
        challenge: Option<ChallengeType>,
        /// The CA's explanation (the challenge's `error`, or the order's).
        problem: Option<Problem>,
    },
    /// The order became `invalid` for a reason other than a failed authorization.
    OrderInvalid {
        /// The order URL.
        url: String,
        /// The order's `error`, if the CA gave one.
        problem: Option<Problem>,
    },
    /// None of an authorization's challenges is one the caller accepts.
    NoAcceptableChallenge {
        /// The identifier.
        identifier: Identifier,
        /// The challenge types the CA offered.
        offered: Vec<ChallengeType>,
    },
    /// The server broke the protocol: unexpected status, missing header, unparsable body,
    /// or an object that contradicts what was asked.
    Protocol {
        /// The URL the request went to.
        url: String,
        /// The HTTP status of the response (0 when no response is concerned).
        status: u16,
        /// What was wrong.
        reason: String,
        /// The start of the response body, for diagnosis.
        body_snippet: String,
    },
    /// HTTP 429 or 503 without a problem document (a proxy, a load balancer, a maintenance
    /// page): the server is overloaded or rate limiting, not broken. Its `Retry-After`, if
    /// any, is kept; 503 is retried within the policy first, 429 is returned at once.
    Unavailable {
        /// The URL the request went to.
        url: String,
        /// 429 or 503.
        status: u16,
        /// When the server allows a new attempt, from its `Retry-After` header.
        retry_after: Option<SystemTime>,
        /// The start of the response body, for diagnosis.
        body_snippet: String,
    },
    /// The request could not be completed (reported by the adapter), after retries.
    Transport {
        /// The URL the request went to.
        url: String,
        /// The adapter's error.
        error: TransportError,
    },
    /// A wait exceeded its deadline (e.g. an authorization stayed `pending`).
    Timeout {
        /// What was being waited for.
        what: String,
        /// The resource URL polled.
        url: String,
    },
    /// The signer failed.
    Signing(SignError),
    /// The caller used the API wrongly (e.g. issuing without an account).
    Usage(String),
}

impl Error {
    /// The CA's problem document, if this error carries one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Server { problem, .. } => Some(problem),
            Error::Authorization { problem, .. } | Error::OrderInvalid { problem, .. } => {
                problem.as_ref()
            }
            _ => None,
        }
    }

    /// The problem type, if any.
    pub fn problem_type(&self) -> Option<&ProblemType> {
        self.problem().map(|p| &p.kind)
    }

    /// For rate limits and other `Retry-After`-bearing refusals: when the server allows a new
    /// attempt.
    pub fn retry_after(&self) -> Option<SystemTime> {
        match self {
            Error::Unavailable { retry_after, .. } => *retry_after,
            _ => self.problem().and_then(|p| p.retry_after),
        }
    }

    /// True for a `rateLimited` problem (whatever the HTTP status), and for a bare HTTP 429.
    pub fn is_rate_limited(&self) -> bool {
        self.problem_type() == Some(&ProblemType::RateLimited)
            || matches!(self, Error::Unavailable { status: 429, .. })
    }

    pub(crate) fn protocol(
        url: &str,
        status: u16,
        reason: impl Into<String>,
        body: &[u8],
    ) -> Error {
        Error::Protocol {
            url: url.to_owned(),
            status,
            reason: reason.into(),
            body_snippet: snippet(body),
        }
    }
}

/// A printable excerpt of a body: lossy UTF-8, control characters replaced, truncated.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_LEN * 4)]);
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::msgs::problem::truncate(cleaned.trim(), SNIPPET_LEN)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Server {
                url,
                status,
                problem,
            } => {
                write!(f, "the CA refused (HTTP {status} from {url}): {problem}")?;
                if let Some(t) = problem.retry_after {
                    let secs = t
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    write!(f, " (retry after unix time {secs})")?;
                }
                Ok(())
            }
            Error::Authorization {
                identifier,
                status,
                challenge,
                problem,
            } => {
                write!(f, "authorization for {identifier} is {status}")?;
                if let Some(c) = challenge {
                    write!(f, " ({c} challenge failed)")?;
                }
                if let Some(p) = problem {
                    write!(f, ": {p}")?;
                }
                Ok(())
            }
            Error::OrderInvalid { url, problem } => {
                write!(f, "order {url} is invalid")?;
                if let Some(p) = problem {
                    write!(f, ": {p}")?;
                }
                Ok(())
            }
            Error::NoAcceptableChallenge {
                identifier,
                offered,
            } => {
                let names: Vec<&str> = offered.iter().map(ChallengeType::as_str).collect();
                write!(
                    f,
                    "no acceptable challenge for {identifier}: the CA offered [{}]",
                    names.join(", ")
                )
            }
            Error::Protocol {
                url,
                status,
                reason,
                body_snippet,
            } => {
                write!(
                    f,
                    "protocol violation by the server (HTTP {status} from {url}): {reason}"
                )?;
                if !body_snippet.is_empty() {
                    write!(f, "; body starts: {body_snippet:?}")?;
                }
                Ok(())
            }
            Error::Unavailable {
                url,
                status,
                retry_after,
                body_snippet,
            } => {
                let what = if *status == 429 {
                    "rate limited"
                } else {
                    "unavailable"
                };
                write!(f, "the server is {what} (HTTP {status} from {url})")?;
                if let Some(t) = retry_after {
                    let secs = t
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    write!(f, ", retry after unix time {secs}")?;
                }
                if !body_snippet.is_empty() {
                    write!(f, "; body starts: {body_snippet:?}")?;
                }
                Ok(())
            }
            Error::Transport { url, error } => write!(f, "request to {url} failed: {error}"),
            Error::Timeout { what, url } => write!(f, "timed out waiting for {what} ({url})"),
            Error::Signing(e) => write!(f, "{e}"),
            Error::Usage(m) => write!(f, "API misuse: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<SignError> for Error {
    fn from(e: SignError) -> Self {
        Error::Signing(e)
    }
}
