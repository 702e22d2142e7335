//! Test support: the shared HTTPS test server.
#![allow(dead_code, unreachable_pub)]

#[path = "../../../tests-support/https_server.rs"]
mod https_server;
pub use https_server::*;
