//! Header parsers.
