//! Header parsers: `Replay-Nonce` (RFC 8555 §6.5.1), `Retry-After` (RFC 9110 §10.2.3),
//! `Link` (RFC 8288), `Location` and `Content-Type`.
//!
//! Pure functions over an [`http::HeaderMap`]. A header value that is not visible ASCII
//! (which [`http::HeaderValue::to_str`] rejects) is skipped as if absent; nothing here panics.
//!
//! Relative URI references (in `Link` and `Location`) are resolved against the request URL
//! following RFC 3986 §5.2, dot segments of the reference's path included. A reference that
//! already has a scheme is returned exactly as written, byte for byte, because ACME
//! clients must echo server URLs verbatim in the JWS `url` header (RFC 8555 §6.4).

use crate::msgs::time::parse_http_date;
use http::HeaderMap;
use http::header::{CONTENT_TYPE, LINK, LOCATION, RETRY_AFTER};
use std::time::{Duration, SystemTime};

/// The longest `Replay-Nonce` accepted, in bytes. Real nonces are a few dozen characters;
/// the cap keeps a hostile server from making the client echo huge values.
pub const MAX_NONCE_LEN: usize = 512;

/// The most links [`parse_links`] returns; further link-values are ignored.
pub const MAX_LINKS: usize = 64;

/// The largest delay [`retry_after`] adds to `now` (100 years of 365 days). It only keeps
/// the arithmetic representable; sensible clamping is the caller's policy.
pub const MAX_RETRY_AFTER_DELAY: Duration = Duration::from_secs(100 * 365 * 86_400);

/// The first valid `Replay-Nonce` header: a non-empty base64url string (`A-Z a-z 0-9 - _`,
/// no padding) of at most [`MAX_NONCE_LEN`] bytes, surrounding spaces removed.
///
/// Invalid values are skipped, so a response whose only nonce is invalid yields `None`
/// (RFC 8555 §6.5.1 tells clients to ignore such nonces).
pub fn replay_nonce(headers: &HeaderMap) -> Option<String> {
    headers.get_all("replay-nonce").iter().find_map(|value| {
        let nonce = value.to_str().ok()?.trim_matches([' ', '\t']);
        let valid = !nonce.is_empty()
            && nonce.len() <= MAX_NONCE_LEN
            && nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| nonce.to_owned())
    })
}

/// A parsed `Retry-After` value (RFC 9110 §10.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RetryAfter {
    /// `delay-seconds`: retry after this long.
    Delay(Duration),
    /// An HTTP date: retry at (or after) this time.
    Date(SystemTime),
}

/// Parse one `Retry-After` value: `delay-seconds` (one or more ASCII digits, saturating at
/// `u64::MAX` seconds rather than failing on overflow) or an HTTP date in any of RFC 9110's
/// three formats (see [`parse_http_date`]). Surrounding spaces are ignored; anything else
/// (signs, fractions, garbage) is `None`.
pub fn parse_retry_after(value: &str) -> Option<RetryAfter> {
    let value = value.trim_matches([' ', '\t']);
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.bytes().try_fold(0u64, |acc, b| {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        });
        return Some(RetryAfter::Delay(Duration::from_secs(
            secs.unwrap_or(u64::MAX),
        )));
    }
    parse_http_date(value).map(RetryAfter::Date)
}

/// When to retry according to the first parseable `Retry-After` header, as an absolute time.
///
/// A date in the past yields `now`. A delay is added to `now`, capped at
/// [`MAX_RETRY_AFTER_DELAY`] so the sum stays representable (should even that overflow,
/// the result is `now`). No other clamping is done here.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<SystemTime> {
    let parsed = headers
        .get_all(RETRY_AFTER)
        .iter()
        .find_map(|value| parse_retry_after(value.to_str().ok()?))?;
    Some(match parsed {
        RetryAfter::Delay(delay) => now
            .checked_add(delay.min(MAX_RETRY_AFTER_DELAY))
            .unwrap_or(now),
        RetryAfter::Date(date) => date.max(now),
    })
}

/// One link-value of a `Link` header (RFC 8288).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Link {
    /// The target URI, resolved against the request URL (absolute references kept verbatim).
    pub uri: String,
    /// The relation types from the first `rel` parameter, ASCII-lowercased, never empty.
    pub rels: Vec<String>,
    /// The first `title` parameter, unescaped (`title*` is ignored).
    pub title: Option<String>,
}

/// All link-values of every `Link` header, in order, at most [`MAX_LINKS`].
///
/// Each header holds comma-separated link-values
/// `<uri-reference> *( ";" name [ "=" ( token / quoted-string ) ] )`; commas and semicolons
/// inside `<...>` or quoted strings do not split, and quoted strings may hold `\` escapes.
/// Parameter names are case-insensitive. `rel` is a whitespace-separated list of relation
/// types, matched case-insensitively; only the first `rel` parameter counts (RFC 8288
/// §3.3). An unquoted value may hold any visible character but `,`, `;` and `"`, so that
/// unquoted extension relation URIs are tolerated. Other parameters (`anchor`, `type`, ...)
/// are ignored.
///
/// A malformed link-value (missing `<...>`, unterminated quote, junk between parameters),
/// one without a non-empty `rel`, and one whose reference cannot be resolved against
/// `base_url` are skipped; parsing resumes at the next top-level comma.
pub fn parse_links(headers: &HeaderMap, base_url: &str) -> Vec<Link> {
    let mut links = Vec::new();
    for value in headers.get_all(LINK) {
        if links.len() >= MAX_LINKS {
            break;
        }
        if let Ok(value) = value.to_str() {
            parse_link_header(value, base_url, &mut links);
        }
    }
    links
}

/// The URIs of the links (as in [`parse_links`]) whose relation types include `rel`
/// (compared case-insensitively), in header order.
pub fn links_with_rel(headers: &HeaderMap, base_url: &str, rel: &str) -> Vec<String> {
    parse_links(headers, base_url)
        .into_iter()
        .filter(|link| link.rels.iter().any(|r| r.eq_ignore_ascii_case(rel)))
        .map(|link| link.uri)
        .collect()
}

/// The first `Location` header, resolved against `base_url` like link targets (surrounding
/// spaces removed). `None` when absent, not visible ASCII, or not resolvable.
pub fn location(headers: &HeaderMap, base_url: &str) -> Option<String> {
    let value = headers.get(LOCATION)?.to_str().ok()?;
    resolve(base_url, value.trim_matches([' ', '\t']))
}

/// The `Content-Type` media type, `type/subtype`, ASCII-lowercased, without parameters or
/// surrounding whitespace. `None` when the header is absent or not of that shape.
pub fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next()?.trim_matches([' ', '\t']);
    let (kind, subtype) = essence.split_once('/')?;
    let is_token = |s: &str| !s.is_empty() && s.bytes().all(is_tchar);
    (is_token(kind) && is_token(subtype)).then(|| essence.to_ascii_lowercase())
}

/// Whether the `Content-Type` media type is `expected` (case-insensitive, parameters
/// ignored): `application/problem+json; charset=utf-8` is `application/problem+json`.
pub fn is_media_type(headers: &HeaderMap, expected: &str) -> bool {
    media_type(headers).is_some_and(|m| m.eq_ignore_ascii_case(expected.trim()))
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Characters of an unquoted parameter value: visible ASCII but `,`, `;` and `"`.
fn is_unquoted_value_char(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b',' | b';' | b'"')
}

fn skip_ows(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    i
}

/// Append the link-values of one `Link` header value to `out`, up to [`MAX_LINKS`].
fn parse_link_header(value: &str, base_url: &str, out: &mut Vec<Link>) {
    let b = value.as_bytes();
    let mut i = 0;
    while out.len() < MAX_LINKS {
        // Skip whitespace and empty list elements.
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b',') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        match parse_link_value(value, i) {
            Ok((raw, next)) => {
                i = next;
                if let Some(link) = raw.resolve(base_url) {
                    out.push(link);
                }
            }
            Err(at) => i = next_element(b, at),
        }
    }
}

/// A link-value before resolution.
struct RawLink<'a> {
    uri: &'a str,
    rel: Option<String>,
    title: Option<String>,
}

impl RawLink<'_> {
    fn resolve(self, base_url: &str) -> Option<Link> {
        let rels: Vec<String> = self
            .rel?
            .split_ascii_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        if rels.is_empty() {
            return None;
        }
        Some(Link {
            uri: resolve(base_url, self.uri)?,
            rels,
            title: self.title,
        })
    }
}

/// Parse the link-value starting at `start` (not whitespace). On success, returns it and
/// the index of the `,` ending it (or the end). On error, returns an index from which to
/// look for the next element.
fn parse_link_value(value: &str, start: usize) -> Result<(RawLink<'_>, usize), usize> {
    let b = value.as_bytes();
    if b[start] != b'<' {
        return Err(start);
    }
    let close = match b[start + 1..].iter().position(|&c| c == b'>') {
        Some(offset) => start + 1 + offset,
        None => return Err(b.len()),
    };
    let uri = &value[start + 1..close];
    let mut i = close + 1;
    let mut rel = None;
    let mut title = None;
    loop {
        i = skip_ows(b, i);
        if i == b.len() || b[i] == b',' {
            break;
        }
        if b[i] != b';' {
            return Err(i);
        }
        i = skip_ows(b, i + 1);
        if i == b.len() || matches!(b[i], b',' | b';') {
            // An empty parameter (`<a>; ; rel=x` or a trailing `;`): tolerated.
            continue;
        }
        let name_start = i;
        while i < b.len() && is_tchar(b[i]) {
            i += 1;
        }
        if i == name_start {
            return Err(i);
        }
        let name = &value[name_start..i];
        i = skip_ows(b, i);
        let param_value = if i < b.len() && b[i] == b'=' {
            i = skip_ows(b, i + 1);
            if i < b.len() && b[i] == b'"' {
                let (text, next) = quoted_string(b, i).ok_or(b.len())?;
                i = next;
                text
            } else {
                let value_start = i;
                while i < b.len() && is_unquoted_value_char(b[i]) {
                    i += 1;
                }
                if i == value_start {
                    return Err(i);
                }
                value[value_start..i].to_owned()
            }
        } else {
            String::new()
        };
        if name.eq_ignore_ascii_case("rel") {
            rel.get_or_insert(param_value);
        } else if name.eq_ignore_ascii_case("title") {
            title.get_or_insert(param_value);
        }
    }
    Ok((RawLink { uri, rel, title }, i))
}

/// The unescaped content of the quoted string opening at `b[open]` (a `"`), and the index
/// just past its closing quote; `None` if unterminated.
fn quoted_string(b: &[u8], open: usize) -> Option<(String, usize)> {
    let mut text = String::new();
    let mut i = open + 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Some((text, i + 1)),
            b'\\' => {
                text.push(char::from(*b.get(i + 1)?));
                i += 2;
            }
            c => {
                text.push(char::from(c));
                i += 1;
            }
        }
    }
    None
}

/// The index of the next top-level `,` at or after `from` (outside `<...>` and quoted
/// strings), or the end.
fn next_element(b: &[u8], from: usize) -> usize {
    let mut i = from;
    let (mut in_angle, mut in_quote) = (false, false);
    while i < b.len() {
        match b[i] {
            b'\\' if in_quote => i += 1,
            b'"' if !in_angle => in_quote = !in_quote,
            b'<' if !in_quote => in_angle = true,
            b'>' if !in_quote => in_angle = false,
            b',' if !in_angle && !in_quote => return i,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// `scheme` and the rest after its `:`, if `s` starts with an RFC 3986 scheme.
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once(':')?;
    let mut bytes = scheme.bytes();
    let valid = bytes.next().is_some_and(|c| c.is_ascii_alphabetic())
        && bytes.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    valid.then_some((scheme, rest))
}

/// Split `s` at the first of `delims`: (before, from the delimiter on).
fn split_at_any<'a>(s: &'a str, delims: &[char]) -> (&'a str, &'a str) {
    s.split_at(s.find(delims).unwrap_or(s.len()))
}

/// Resolve a URI reference against an absolute base URL (RFC 3986 §5.2.2). A reference with
/// a scheme is returned verbatim. `None` when the reference holds characters other than
/// visible ASCII (spaces included) or `<`/`>`, or when it is relative and the base has no
/// scheme.
fn resolve(base: &str, reference: &str) -> Option<String> {
    if !reference
        .bytes()
        .all(|c| c.is_ascii_graphic() && c != b'<' && c != b'>')
    {
        return None;
    }
    if split_scheme(reference).is_some() {
        return Some(reference.to_owned());
    }

    let (base_scheme, base_rest) = split_scheme(base)?;
    let (base_rest, _base_fragment) = split_at_any(base_rest, &['#']);
    let (base_authority, base_rest) = match base_rest.strip_prefix("//") {
        Some(rest) => {
            let (authority, rest) = split_at_any(rest, &['/', '?']);
            (Some(authority), rest)
        }
        None => (None, base_rest),
    };
    let (base_path, base_query) = split_at_any(base_rest, &['?']);

    let (authority, path, query_and_fragment) = if let Some(rest) = reference.strip_prefix("//") {
        let (authority, rest) = split_at_any(rest, &['/', '?', '#']);
        let (path, tail) = split_at_any(rest, &['?', '#']);
        (Some(authority), remove_dot_segments(path), tail.to_owned())
    } else {
        let (path, tail) = split_at_any(reference, &['?', '#']);
        let empty_path = path.is_empty();
        let path = if empty_path {
            base_path.to_owned()
        } else if path.starts_with('/') {
            remove_dot_segments(path)
        } else if base_authority.is_some() && base_path.is_empty() {
            remove_dot_segments(&format!("/{path}"))
        } else {
            let directory = base_path.rfind('/').map_or("", |i| &base_path[..=i]);
            remove_dot_segments(&format!("{directory}{path}"))
        };
        // An empty path keeps the base query unless the reference brings its own.
        let tail = if empty_path && !tail.starts_with('?') {
            format!("{base_query}{tail}")
        } else {
            tail.to_owned()
        };
        (base_authority, path, tail)
    };

    let mut out = String::with_capacity(base.len() + reference.len());
    out.push_str(base_scheme);
    out.push(':');
    if let Some(authority) = authority {
        out.push_str("//");
        out.push_str(authority);
    }
    out.push_str(&path);
    out.push_str(&query_and_fragment);
    Some(out)
}

/// RFC 3986 §5.2.4: remove `.` and `..` segments from a path.
fn remove_dot_segments(path: &str) -> String {
    fn pop_segment(out: &mut String) {
        let cut = out.rfind('/').unwrap_or(0);
        out.truncate(cut);
    }
    let mut input = path;
    let mut out = String::with_capacity(path.len());
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../") {
            input = rest;
        } else if let Some(rest) = input.strip_prefix("./") {
            input = rest;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") {
            input = &input[3..];
            pop_segment(&mut out);
        } else if input == "/.." {
            input = "/";
            pop_segment(&mut out);
        } else if input == "." || input == ".." {
            input = "";
        } else {
            let skip = usize::from(input.starts_with('/'));
            let end = input[skip..].find('/').map_or(input.len(), |i| i + skip);
            out.push_str(&input[..end]);
            input = &input[end..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use std::time::UNIX_EPOCH;

    const BASE: &str = "https://ca.example/acme/order/17?x=1#frag";

    fn map(entries: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in entries {
            headers.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn link(uri: &str, rels: &[&str], title: Option<&str>) -> Link {
        Link {
            uri: uri.to_owned(),
            rels: rels.iter().map(|r| (*r).to_owned()).collect(),
            title: title.map(str::to_owned),
        }
    }

    #[test]
    fn nonce() {
        let ok = "oFvnlFP1wIhRlYS2jTaXbA-_09";
        assert_eq!(
            replay_nonce(&map(&[("replay-nonce", ok.as_bytes())])),
            Some(ok.into())
        );
        assert_eq!(
            replay_nonce(&map(&[("Replay-Nonce", format!(" {ok} ").as_bytes())])),
            Some(ok.into())
        );
        assert_eq!(replay_nonce(&HeaderMap::new()), None);
        for bad in [
            &b""[..],
            b"abc=",
            b"ab+c",
            b"ab/c",
            b"ab c",
            b"ab.c",
            b"caf\xc3\xa9",
        ] {
            assert_eq!(
                replay_nonce(&map(&[("replay-nonce", bad)])),
                None,
                "{bad:?}"
            );
        }
        let max = "a".repeat(MAX_NONCE_LEN);
        assert_eq!(
            replay_nonce(&map(&[("replay-nonce", max.as_bytes())])),
            Some(max.clone())
        );
        let long = "a".repeat(MAX_NONCE_LEN + 1);
        assert_eq!(
            replay_nonce(&map(&[("replay-nonce", long.as_bytes())])),
            None
        );
        // The first valid of several.
        let several = map(&[
            ("replay-nonce", b"bad="),
            ("replay-nonce", b"\xff\xfe"),
            ("replay-nonce", b"good1"),
            ("replay-nonce", b"good2"),
        ]);
        assert_eq!(replay_nonce(&several), Some("good1".into()));
    }

    #[test]
    fn retry_after_values() {
        let s = |secs| Some(RetryAfter::Delay(Duration::from_secs(secs)));
        assert_eq!(parse_retry_after("120"), s(120));
        assert_eq!(parse_retry_after("0"), s(0));
        assert_eq!(parse_retry_after(" 007 "), s(7));
        assert_eq!(parse_retry_after("18446744073709551615"), s(u64::MAX));
        assert_eq!(parse_retry_after("99999999999999999999"), s(u64::MAX));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(RetryAfter::Date(at(784_111_777)))
        );
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(RetryAfter::Date(at(784_111_777)))
        );
        for bad in [
            "", " ", "-1", "+5", "1.5", "1e3", "12 s", "soon", "0x10", "１２",
        ] {
            assert_eq!(parse_retry_after(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_absolute() {
        let now = at(1_000_000_000);
        let one = |v: &'static [u8]| map(&[("retry-after", v)]);
        assert_eq!(retry_after(&one(b"120"), now), Some(at(1_000_000_120)));
        assert_eq!(retry_after(&one(b"0"), now), Some(now));
        assert_eq!(
            retry_after(&one(b"99999999999999999999"), now),
            Some(now + MAX_RETRY_AFTER_DELAY)
        );
        // Past date: now. Future date: that date.
        assert_eq!(
            retry_after(&one(b"Sun, 06 Nov 1994 08:49:37 GMT"), now),
            Some(now)
        );
        assert_eq!(
            retry_after(&one(b"Sat, 17 Jan 2032 10:00:00 GMT"), now),
            Some(at(1_957_946_400))
        );
        assert_eq!(retry_after(&one(b"garbage"), now), None);
        assert_eq!(retry_after(&one(b"\xff"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
        // The first parseable of several.
        let several = map(&[("retry-after", b"soon"), ("retry-after", b"30")]);
        assert_eq!(retry_after(&several, now), Some(at(1_000_000_030)));
    }

    #[test]
    fn links_basic() {
        let headers = map(&[
            (
                "link",
                b"<https://ca.example/acme/directory>;rel=\"index\", \
                  <https://ca.example/acme/cert/1/alt>; rel=\"alternate\"",
            ),
            ("Link", b"<https://ca.example/acme/orders/2>; rel=next"),
        ]);
        assert_eq!(
            parse_links(&headers, BASE),
            vec![
                link("https://ca.example/acme/directory", &["index"], None),
                link("https://ca.example/acme/cert/1/alt", &["alternate"], None),
                link("https://ca.example/acme/orders/2", &["next"], None),
            ]
        );
        assert_eq!(
            links_with_rel(&headers, BASE, "NEXT"),
            vec!["https://ca.example/acme/orders/2"]
        );
        assert_eq!(links_with_rel(&headers, BASE, "up"), Vec::<String>::new());
        assert_eq!(parse_links(&HeaderMap::new(), BASE), vec![]);
    }

    #[test]
    fn links_rel_lists_quotes_and_params() {
        let headers = map(&[(
            "link",
            b"<https://x.example/a,b;c>; REL=\"Next  ALTERNATE\"; rel=up; \
              title=\"a, \\\"quoted\\\"; title\"; type=text/html,\
              <https://x.example/2>;title=t;rel=\"\tnext\t\";anchor=\"#x\"",
        )]);
        assert_eq!(
            parse_links(&headers, BASE),
            vec![
                link(
                    "https://x.example/a,b;c",
                    &["next", "alternate"],
                    Some("a, \"quoted\"; title")
                ),
                link("https://x.example/2", &["next"], Some("t")),
            ]
        );
        assert_eq!(
            links_with_rel(&headers, BASE, "alternate"),
            vec!["https://x.example/a,b;c"]
        );
        // Only the first rel counts.
        assert_eq!(links_with_rel(&headers, BASE, "up"), Vec::<String>::new());
        // An unquoted extension relation type, and spacing around '='.
        let ext = map(&[(
            "link",
            b"<https://x.example/3> ; rel = https://rel.example/r",
        )]);
        assert_eq!(
            links_with_rel(&ext, BASE, "https://rel.example/r"),
            vec!["https://x.example/3"]
        );
    }

    #[test]
    fn links_relative_references() {
        let headers = map(&[(
            "link",
            b"</acme/orders/2?cursor=3>; rel=next, <//cdn.example/x>; rel=a, \
              <cert/1>; rel=b, <../../dir/./x/../y>; rel=c, <?page=2>; rel=d, <#top>; rel=e, \
              <>; rel=f, <urn:ietf:params:acme:error:badNonce>; rel=g, \
              <HTTPS://CA.example/./a/../b>; rel=h",
        )]);
        let uris: Vec<String> = parse_links(&headers, BASE)
            .into_iter()
            .map(|l| l.uri)
            .collect();
        assert_eq!(
            uris,
            vec![
                "https://ca.example/acme/orders/2?cursor=3",
                "https://cdn.example/x",
                "https://ca.example/acme/order/cert/1",
                "https://ca.example/dir/y",
                "https://ca.example/acme/order/17?page=2",
                "https://ca.example/acme/order/17?x=1#top",
                "https://ca.example/acme/order/17?x=1",
                "urn:ietf:params:acme:error:badNonce",
                // Absolute references are kept exactly as written.
                "HTTPS://CA.example/./a/../b",
            ]
        );
        // Relative references cannot be resolved against a relative base.
        let rel_only = map(&[("link", b"</a>; rel=x, <https://x.example/b>; rel=x")]);
        assert_eq!(
            links_with_rel(&rel_only, "/not/absolute", "x"),
            vec!["https://x.example/b"]
        );
    }

    #[test]
    fn links_malformed_skipped() {
        let headers = map(&[
            ("link", b"\xffbad header"),
            (
                "link",
                b"https://no-brackets.example; rel=next, <https://ok.example/1>; rel=next, \
                  <https://junk.example> junk; rel=next, <https://norel.example>, \
                  <https://emptyrel.example>; rel=\"\", <https://a b.example>; rel=next, \
                  <https://bad-param.example>; =x; rel=next, <https://empty-value.example>; rel=, \
                  ,, <https://ok.example/2>;; rel=next;, \
                  garbage \"with, <quoted> comma\" <and, angle>, <https://ok.example/3>; rel=next",
            ),
            (
                "link",
                b"<https://unterminated.example>; rel=\"next, <https://lost.example>; rel=next",
            ),
            ("link", b"<https://no-close.example; rel=next"),
            ("link", b"<https://ok.example/4>; rel=next"),
        ]);
        assert_eq!(
            links_with_rel(&headers, BASE, "next"),
            vec![
                "https://ok.example/1",
                "https://ok.example/2",
                "https://ok.example/3",
                "https://ok.example/4",
            ]
        );
    }

    #[test]
    fn links_capped() {
        let value: Vec<String> = (0..100)
            .map(|i| format!("<https://x.example/{i}>; rel=item"))
            .collect();
        let value = value.join(", ");
        let headers = map(&[
            ("link", value.as_bytes()),
            ("link", b"<https://x.example/z>; rel=item"),
        ]);
        let links = parse_links(&headers, BASE);
        assert_eq!(links.len(), MAX_LINKS);
        assert_eq!(links[MAX_LINKS - 1].uri, "https://x.example/63");
    }

    #[test]
    fn location_resolution() {
        let loc = |v: &'static [u8]| location(&map(&[("location", v)]), BASE);
        assert_eq!(
            loc(b"https://ca.example/acme/order/18"),
            Some("https://ca.example/acme/order/18".into())
        );
        assert_eq!(
            loc(b"/acme/authz/1"),
            Some("https://ca.example/acme/authz/1".into())
        );
        assert_eq!(
            loc(b"//other.example/p"),
            Some("https://other.example/p".into())
        );
        assert_eq!(loc(b"18"), Some("https://ca.example/acme/order/18".into()));
        assert_eq!(
            loc(b"../acct/5"),
            Some("https://ca.example/acme/acct/5".into())
        );
        assert_eq!(loc(b"../../../../x"), Some("https://ca.example/x".into()));
        assert_eq!(
            loc(b"  /trimmed "),
            Some("https://ca.example/trimmed".into())
        );
        assert_eq!(loc(b"/a b"), None);
        assert_eq!(loc(b"\xff"), None);
        assert_eq!(location(&HeaderMap::new(), BASE), None);
        assert_eq!(
            location(&map(&[("location", b"x")]), "https://ca.example"),
            Some("https://ca.example/x".into())
        );
        assert_eq!(location(&map(&[("location", b"x")]), "not a url"), None);
    }

    #[test]
    fn dot_segments() {
        assert_eq!(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
        assert_eq!(remove_dot_segments("mid/content=5/../6"), "mid/6");
        assert_eq!(remove_dot_segments("/.."), "/");
        assert_eq!(remove_dot_segments("/a/.."), "/");
        assert_eq!(remove_dot_segments("/a/b/."), "/a/b/");
        assert_eq!(remove_dot_segments("/a/.b/..c"), "/a/.b/..c");
        // RFC 3986 §5.4 examples, for the forms this module resolves.
        let base = "http://a/b/c/d;p?q";
        for (reference, expected) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q#s"),
            ("g#s", "http://a/b/c/g#s"),
            (";x", "http://a/b/c/;x"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            ("..g", "http://a/b/c/..g"),
            ("./g/.", "http://a/b/c/g/"),
            ("g;x=1/../y", "http://a/b/c/y"),
            ("g?y/./x", "http://a/b/c/g?y/./x"),
            ("g#s/../x", "http://a/b/c/g#s/../x"),
            ("g:h", "g:h"),
        ] {
            assert_eq!(
                resolve(base, reference).as_deref(),
                Some(expected),
                "{reference:?}"
            );
        }
    }

    #[test]
    fn content_type() {
        let ct = |v: &'static [u8]| map(&[("content-type", v)]);
        assert_eq!(
            media_type(&ct(b" Application/Problem+JSON ; charset=utf-8")),
            Some("application/problem+json".into())
        );
        assert!(is_media_type(
            &ct(b"application/problem+json; charset=utf-8"),
            "application/problem+json"
        ));
        assert!(is_media_type(&ct(b"application/json"), "Application/JSON"));
        assert!(!is_media_type(
            &ct(b"application/json"),
            "application/problem+json"
        ));
        assert!(is_media_type(
            &ct(b"application/pem-certificate-chain"),
            "application/pem-certificate-chain"
        ));
        assert_eq!(media_type(&ct(b"text")), None);
        assert_eq!(media_type(&ct(b"text/")), None);
        assert_eq!(media_type(&ct(b"te xt/plain")), None);
        assert_eq!(media_type(&ct(b"\xfftext/plain")), None);
        assert_eq!(media_type(&HeaderMap::new()), None);
        assert!(!is_media_type(&HeaderMap::new(), "application/json"));
    }

    #[test]
    fn no_panic_on_mangled_links() {
        let seed = "<https://a.example/x,y>; rel=\"next up\"; title=\"t\\\"x\", </b>; rel=c";
        let inserts = ["", "<", ">", "\"", "\\", ",", ";", "=", " ", "é"];
        for i in 0..=seed.len() {
            for ins in inserts {
                let mut s = seed.to_owned();
                s.insert_str(i, ins);
                for text in [s.as_str(), &seed[..i], &seed[i..]] {
                    if let Ok(value) = HeaderValue::from_str(text) {
                        let mut headers = HeaderMap::new();
                        headers.insert(LINK, value.clone());
                        headers.insert(LOCATION, value);
                        let _ = (parse_links(&headers, BASE), location(&headers, BASE));
                        let _ = (parse_links(&headers, text), location(&headers, text));
                    }
                }
            }
        }
    }
}
