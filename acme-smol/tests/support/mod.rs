//! Test support: the shared HTTPS test server, plus running a test on both executors.
#![allow(dead_code, unreachable_pub)]

#[path = "../../../tests-support/https_server.rs"]
mod https_server;
pub use https_server::*;

/// Runs the test body under smol's executor, then under async-std's.
pub fn on_both_executors<F, Fut>(test: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    smol::block_on(test());
    async_std::task::block_on(test());
}
