//! The rules every HTTP transport applies the same way, whatever its HTTP stack: which URLs
//! may be used, where a redirect leads, and how large a response body may be.
//!
//! Pure functions over [`http`] types; the adapters' default clients call them so that the
//! policy lives in one place. A client of your own may use them too.

use super::{HeaderMap, Method, StatusCode, TransportError, TransportErrorKind};
use http::header::{CONTENT_LENGTH, LOCATION};

pub use http::Uri;

/// Redirect hops followed at most, for requests that allow redirects.
pub const MAX_REDIRECTS: usize = 5;

/// Parses the exact request URL into a [`Uri`] for the connection and checks it: an absolute
/// `https://` URL (`http://` only when `allow_http`) with a host and no user information.
/// Every failure is [`TransportErrorKind::InvalidUrl`].
pub fn parse_url(url: &str, allow_http: bool) -> Result<Uri, TransportError> {
    let invalid = |why: String| TransportError::new(TransportErrorKind::InvalidUrl, why);
    let uri: Uri = url
        .parse()
        .map_err(|e| invalid(format!("cannot parse URL {url:?}: {e}")))?;
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if allow_http => {}
        Some("http") => {
            return Err(invalid(format!(
                "plain http:// refused for {url:?} (see ClientBuilder::allow_http)"
            )));
        }
        Some(other) => return Err(invalid(format!("unsupported scheme {other:?} in {url:?}"))),
        None => return Err(invalid(format!("URL {url:?} is not absolute"))),
    }
    let Some(authority) = uri.authority() else {
        return Err(invalid(format!("URL {url:?} has no host")));
    };
    if authority.as_str().contains('@') {
        return Err(invalid(format!("URL {url:?} carries user information")));
    }
    if authority.host().is_empty() {
        return Err(invalid(format!("URL {url:?} has no host")));
    }
    Ok(uri)
}

/// Whether `status` is a redirect a client follows (301, 302, 303, 307, 308).
pub fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Where a response to a request for `base` redirects, when it is a redirect with a usable
/// `Location` header: `Ok(None)` when the response is the final answer, an error when
/// `hops` redirects were already followed ([`MAX_REDIRECTS`]) or the `Location` is empty.
/// The caller checks the target with [`parse_url`] before following it.
pub fn redirect_target<B>(
    base: &Uri,
    response: &http::Response<B>,
    hops: usize,
) -> Result<Option<String>, TransportError> {
    if !is_redirect(response.status()) {
        return Ok(None);
    }
    let Some(location) = response
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
    else {
        return Ok(None);
    };
    if hops >= MAX_REDIRECTS {
        return Err(TransportError::new(
            TransportErrorKind::Other,
            format!("more than {MAX_REDIRECTS} redirects"),
        ));
    }
    resolve_location(base, location).map(Some)
}

/// Resolves a `Location` header against the URL that produced it (RFC 3986 §5.2).
pub fn resolve_location(base: &Uri, location: &str) -> Result<String, TransportError> {
    let location = location.split('#').next().unwrap_or_default();
    let scheme = base.scheme_str().unwrap_or("https");
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    let has_scheme = location.split_once(':').is_some_and(|(s, _)| is_scheme(s));
    if has_scheme {
        return Ok(location.to_owned());
    }
    if location.starts_with("//") {
        return Ok(format!("{scheme}:{location}"));
    }
    if location.is_empty() {
        return Err(TransportError::new(
            TransportErrorKind::InvalidUrl,
            "empty Location header in redirect",
        ));
    }
    if location.starts_with('?') {
        return Ok(format!("{scheme}://{authority}{}{location}", base.path()));
    }
    let (path, query) = match location.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (location, None),
    };
    let merged = if path.starts_with('/') {
        path.to_owned()
    } else {
        let base_path = base.path();
        let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
        format!("{}{path}", if dir.is_empty() { "/" } else { dir })
    };
    let mut next = format!("{scheme}://{authority}{}", remove_dot_segments(&merged));
    if let Some(query) = query {
        next.push('?');
        next.push_str(query);
    }
    Ok(next)
}

/// RFC 3986 §5.2.4 for an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other),
        }
        if last && matches!(*segment, "." | "..") {
            out.push("");
        }
    }
    format!("/{}", out.join("/"))
}

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The error for a response body over `max` bytes ([`TransportErrorKind::BodyTooLarge`]).
pub fn body_too_large(max: usize) -> TransportError {
    TransportError::new(
        TransportErrorKind::BodyTooLarge,
        format!("response body exceeds {max} bytes"),
    )
}

/// Checks a response's `Content-Length` against the body cap before reading the body, and
/// returns the announced length (a capacity hint). A response that carries no body whatever
/// it announces (to `HEAD`, 1xx, 204, 304) is never refused.
pub fn check_content_length(
    method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
    max: usize,
) -> Result<Option<u64>, TransportError> {
    let announced = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let bodiless = *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    if !bodiless && announced.is_some_and(|len| len > max as u64) {
        return Err(body_too_large(max));
    }
    Ok(announced)
}

/// Appends a chunk of body to `body`, refusing to grow it past `max` bytes.
pub fn append_capped(body: &mut Vec<u8>, chunk: &[u8], max: usize) -> Result<(), TransportError> {
    if body.len() + chunk.len() > max {
        return Err(body_too_large(max));
    }
    body.extend_from_slice(chunk);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Uri {
        "https://example.com:8443/dir/sub/page?x=1".parse().unwrap()
    }

    #[test]
    fn resolves_locations() {
        let cases = [
            ("https://other.test/a", "https://other.test/a"),
            ("//cdn.test/b", "https://cdn.test/b"),
            ("/root?q", "https://example.com:8443/root?q"),
            ("next", "https://example.com:8443/dir/sub/next"),
            ("?y=2", "https://example.com:8443/dir/sub/page?y=2"),
            ("/frag#part", "https://example.com:8443/frag"),
            ("../up?z", "https://example.com:8443/dir/up?z"),
            ("../../../top", "https://example.com:8443/top"),
            ("./here/.", "https://example.com:8443/dir/sub/here/"),
            ("/a/b/..", "https://example.com:8443/a/"),
        ];
        for (location, expected) in cases {
            assert_eq!(resolve_location(&base(), location).unwrap(), expected);
        }
        assert!(resolve_location(&base(), "").is_err());
    }

    #[test]
    fn redirect_targets() {
        let redirect = |status: u16, location: Option<&str>| {
            let mut response = http::Response::new(());
            *response.status_mut() = StatusCode::from_u16(status).unwrap();
            if let Some(l) = location {
                response.headers_mut().insert(LOCATION, l.parse().unwrap());
            }
            response
        };
        assert_eq!(
            redirect_target(&base(), &redirect(302, Some("/x")), 0).unwrap(),
            Some("https://example.com:8443/x".to_owned())
        );
        assert_eq!(
            redirect_target(&base(), &redirect(200, Some("/x")), 0).unwrap(),
            None
        );
        assert_eq!(
            redirect_target(&base(), &redirect(301, None), 0).unwrap(),
            None
        );
        let err = redirect_target(&base(), &redirect(308, Some("/x")), MAX_REDIRECTS).unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Other);
    }

    #[test]
    fn url_checks() {
        assert!(parse_url("https://example.com/dir", false).is_ok());
        assert!(parse_url("https://[::1]:8443/dir", false).is_ok());
        for bad in [
            "http://example.com/",
            "ftp://example.com/",
            "/relative",
            "https://user@example.com/",
            "not a url",
        ] {
            let err = parse_url(bad, false).unwrap_err();
            assert_eq!(err.kind, TransportErrorKind::InvalidUrl, "{bad}");
        }
        assert!(parse_url("http://example.com/", true).is_ok());
    }

    #[test]
    fn body_caps() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, "11".parse().unwrap());
        let check = |method: &Method, status: u16| {
            check_content_length(method, StatusCode::from_u16(status).unwrap(), &headers, 10)
        };
        let err = check(&Method::GET, 200).unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::BodyTooLarge);
        assert_eq!(check(&Method::HEAD, 200).unwrap(), Some(11));
        assert_eq!(check(&Method::GET, 204).unwrap(), Some(11));
        assert_eq!(check(&Method::GET, 304).unwrap(), Some(11));

        let mut body = Vec::new();
        append_capped(&mut body, b"12345", 10).unwrap();
        append_capped(&mut body, b"67890", 10).unwrap();
        let err = append_capped(&mut body, b"x", 10).unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::BodyTooLarge);
        assert_eq!(body, b"1234567890");
    }
}
