//! A tolerant PEM (RFC 7468) reader and a zeroizing writer.
//!
//! The reader accepts LF or CRLF line ends, blank lines, surrounding whitespace and any text
//! before, between or after the encapsulation boundaries, as found in files written by hand,
//! by OpenSSL (`EC PARAMETERS` before `EC PRIVATE KEY`) or by CAs (chains with comments).

use crate::Error;
use base64ct::{Base64, Encoding};
use zeroize::Zeroizing;

/// One `-----BEGIN label-----` … `-----END label-----` block.
pub(crate) struct PemBlock {
    /// The label, e.g. `CERTIFICATE` or `PRIVATE KEY`.
    pub(crate) label: String,
    /// The decoded body. Zeroized on drop: it may be a private key.
    pub(crate) der: Zeroizing<Vec<u8>>,
    /// The block carried RFC 1421 headers such as `Proc-Type: 4,ENCRYPTED`.
    pub(crate) has_headers: bool,
}

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

fn trim(mut line: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = line {
        if first.is_ascii_whitespace() {
            line = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = line {
        if last.is_ascii_whitespace() {
            line = rest;
        } else {
            break;
        }
    }
    line
}

/// The label of a boundary line (`-----BEGIN X-----` → `X`), if `line` is one.
fn boundary<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    line.strip_prefix(prefix)?.strip_suffix(DASHES)
}

fn label_text(label: &[u8]) -> String {
    String::from_utf8_lossy(label).into_owned()
}

/// Every PEM block in `input`, in order. Text outside blocks is ignored.
pub(crate) fn parse_blocks(input: &[u8]) -> Result<Vec<PemBlock>, Error> {
    let mut blocks = Vec::new();
    // (label, base64 body so far, saw headers)
    let mut current: Option<(Vec<u8>, Zeroizing<Vec<u8>>, bool)> = None;
    for raw in input.split(|&b| b == b'\n') {
        let line = trim(raw);
        match current.as_mut() {
            None => {
                if let Some(label) = boundary(line, BEGIN) {
                    // Sized for the whole input so it never reallocates (which would leave
                    // copies of a private key's text in freed memory).
                    let body = Zeroizing::new(Vec::with_capacity(input.len()));
                    current = Some((label.to_vec(), body, false));
                }
            }
            Some((label, body, headers)) => {
                if let Some(end_label) = boundary(line, END) {
                    if end_label != label.as_slice() {
                        return Err(Error::Pem(format!(
                            "block `BEGIN {}` is closed by `END {}`",
                            label_text(label),
                            label_text(end_label)
                        )));
                    }
                    let text = std::str::from_utf8(body).map_err(|_| {
                        Error::Pem(format!(
                            "block `{}` holds non-ASCII text",
                            label_text(label)
                        ))
                    })?;
                    let der = Base64::decode_vec(text).map_err(|e| {
                        Error::Pem(format!(
                            "block `{}` is not valid base64: {e}",
                            label_text(label)
                        ))
                    })?;
                    blocks.push(PemBlock {
                        label: label_text(label),
                        der: Zeroizing::new(der),
                        has_headers: *headers,
                    });
                    current = None;
                } else if line.starts_with(BEGIN) {
                    return Err(Error::Pem(format!(
                        "block `{}` has no END line before the next BEGIN",
                        label_text(label)
                    )));
                } else if line.contains(&b':') {
                    *headers = true;
                } else {
                    body.extend_from_slice(line);
                }
            }
        }
    }
    if let Some((label, _, _)) = current {
        return Err(Error::Pem(format!(
            "block `{}` has no END line",
            label_text(&label)
        )));
    }
    Ok(blocks)
}

/// Encode `der` as a PEM block with 64-character lines and LF line ends.
///
/// The result is built in buffers allocated once at their final size and zeroized on drop,
/// so that no copy of a private key is left behind in freed memory.
pub(crate) fn encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let b64_len = Base64::encoded_len(der);
    let mut b64 = Zeroizing::new(vec![0u8; b64_len]);
    // The buffer has exactly the encoded length, the only way encoding can fail; the
    // fallback only keeps this function free of a panic path.
    let text = Base64::encode(der, &mut b64).unwrap_or_default();
    let lines = b64_len.div_ceil(64);
    let capacity = 2 * (16 + label.len()) + b64_len + lines;
    let mut out = Zeroizing::new(String::with_capacity(capacity));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut rest = text;
    while !rest.is_empty() {
        // Base64 output is ASCII, so any byte index is a char boundary.
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    debug_assert!(out.len() <= capacity);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerant_reader() {
        let text = b"garbage before\r\n-----BEGIN A-----\r\n\r\nAAEC\r\n  AwQ=  \r\n-----END A-----\r\ntext between\n\n-----BEGIN B-----\nProc-Type: 4,ENCRYPTED\n\nBQ==\n-----END B-----\ntrailing";
        let blocks = parse_blocks(text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "A");
        assert_eq!(blocks[0].der.as_slice(), &[0, 1, 2, 3, 4]);
        assert!(!blocks[0].has_headers);
        assert_eq!(blocks[1].label, "B");
        assert_eq!(blocks[1].der.as_slice(), &[5]);
        assert!(blocks[1].has_headers);
    }

    #[test]
    fn reader_errors() {
        assert!(parse_blocks(b"-----BEGIN A-----\nAA==\n").is_err());
        assert!(parse_blocks(b"-----BEGIN A-----\nAA==\n-----END B-----\n").is_err());
        assert!(parse_blocks(b"-----BEGIN A-----\n!!!!\n-----END A-----\n").is_err());
        assert!(parse_blocks(b"no blocks at all").unwrap().is_empty());
    }

    #[test]
    fn writer_round_trip() {
        let data: Vec<u8> = (0..=255u8).collect();
        let pem = encode("TEST", &data);
        assert!(pem.starts_with("-----BEGIN TEST-----\n"));
        assert!(pem.ends_with("-----END TEST-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        let blocks = parse_blocks(pem.as_bytes()).unwrap();
        assert_eq!(blocks[0].der.as_slice(), data.as_slice());
    }
}
