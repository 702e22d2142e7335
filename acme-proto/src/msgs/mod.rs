//! Stateless message layer: builders and parsers for every ACME object and header.
//!
//! Nothing here keeps state between calls; each function is directly fuzzable.

pub mod challenge;
pub mod headers;
pub mod identifier;
pub mod jws;
pub mod problem;
pub mod resources;
pub mod time;
