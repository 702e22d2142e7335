//! The README's acme-blocking snippet, compiled by `cargo build --examples` (and so by
//! `cargo test --workspace`); xtask's tests check that the README shows exactly the part
//! between the markers, byte for byte. Edit both together.
// README:start
use acme_blocking::crypto::{Algorithm, KeyPair};
use acme_blocking::proto::flow::NewAccount;
use acme_blocking::{Client, Http01Responder, Http01Solver};
use std::sync::Arc;

// Cargo.toml: acme-blocking; no async runtime at all.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Let's Encrypt staging (test certificates, generous rate limits); for real ones use
    // production: https://acme-v02.api.letsencrypt.org/directory
    let directory = "https://acme-staging-v02.api.letsencrypt.org/directory";
    let client = Client::builder(directory).build()?;
    let account_key = Arc::new(KeyPair::generate(Algorithm::Es256)?);
    let terms = NewAccount::default().agree_to_terms_of_service(true);
    client.create_account(account_key, terms)?;

    let responder = Http01Responder::new();
    let _server = responder.serve(([0, 0, 0, 0], 80).into())?; // serves until dropped
    let solver = Http01Solver::new(responder);
    let cert = client.issue(&["example.com"], &solver, None)?;
    std::fs::write("fullchain.pem", &cert.chain_pem)?;
    std::fs::write("privkey.pem", cert.key.to_pkcs8_pem().as_bytes())?; // secret: chmod 600
    Ok(())
}
// README:end
