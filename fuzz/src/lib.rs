//! Fuzz target bodies for `acme-proto` and `acme-crypto`.
//!
//! Every target is a plain `fn(&[u8])` in [`targets`]. The libFuzzer entry points in
//! `fuzz_targets/*.rs` (feature `libfuzzer`, nightly, `cargo xtask fuzz`) call it, and so does
//! the stable replay test `tests/corpora.rs`, which runs every target over every file of
//! `corpus/<target>/` and `regressions/<target>/`. A target fails by panicking: a panic in the
//! library, or an `assert!` of a property the library promises (round trips, bounds, request
//! well-formedness).
//!
//! Structured targets ([`targets::roundtrip`], [`targets::flow`]) read their input through
//! [`arbitrary::Unstructured`], so their corpus files are raw bytes too.
#![forbid(unsafe_code)]

pub mod flow;
pub mod targets;

/// A fuzz target body.
pub type Target = fn(&[u8]);

/// Every target, by name: the name is the `fuzz_targets/<name>.rs` binary and the
/// `corpus/<name>/` and `regressions/<name>/` directories.
pub const TARGETS: &[(&str, Target)] = &[
    ("directory", targets::directory),
    ("account", targets::account),
    ("order", targets::order),
    ("authorization", targets::authorization),
    ("challenge", targets::challenge),
    ("problem", targets::problem),
    ("renewal_info", targets::renewal_info),
    ("headers", targets::headers),
    ("time", targets::time),
    ("jws", targets::jws),
    ("identifier", targets::identifier),
    ("pem_chain", targets::pem_chain),
    ("certificate", targets::certificate),
    ("csr", targets::csr),
    ("key", targets::key),
    ("roundtrip", targets::roundtrip),
    ("flow", targets::flow),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
