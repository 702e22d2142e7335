//! The README's acme-tokio snippet, compiled by `cargo build --examples` (and so by
//! `cargo test --workspace`); xtask's tests check that the README shows exactly the part
//! between the markers, byte for byte. Edit both together.
// README:start
use acme_tokio::crypto::{Algorithm, KeyPair};
use acme_tokio::proto::flow::NewAccount;
use acme_tokio::{Client, Http01Responder, Http01Solver};
use std::sync::Arc;

// Cargo.toml: acme-tokio, and tokio with the "macros" and "rt-multi-thread" features.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Let's Encrypt staging (test certificates, generous rate limits); for real ones use
    // production: https://acme-v02.api.letsencrypt.org/directory
    let directory = "https://acme-staging-v02.api.letsencrypt.org/directory";
    let client = Client::builder(directory).build()?;
    let account_key = Arc::new(KeyPair::generate(Algorithm::Es256)?);
    let terms = NewAccount::default().agree_to_terms_of_service(true);
    client.create_account(account_key, terms).await?;

    let responder = Http01Responder::new();
    let _server = responder.serve(([0, 0, 0, 0], 80).into())?; // serves until dropped
    let solver = Http01Solver::new(responder);
    let cert = client.issue(&["example.com"], &solver, None).await?;
    std::fs::write("fullchain.pem", &cert.chain_pem)?;
    std::fs::write("privkey.pem", cert.key.to_pkcs8_pem().as_bytes())?; // secret: chmod 600
    Ok(())
}
// README:end
