//! Issue a certificate with acme-blocking. Environment:
//! `ACME_DIRECTORY` (required), `ACME_CA_CERT`, `ACME_DOMAIN` (comma-separated),
//! `ACME_CHALLENGE` (`http-01` (default), `dns-01` or `tls-alpn-01`), `ACME_HTTP_PORT`
//! (http-01 responder, default 80), `ACME_TLS_PORT` (tls-alpn-01 responder, default 443),
//! `ACME_DNS_CHALLTESTSRV` (dns-01: base URL of a `pebble-challtestsrv` management API),
//! `ACME_OUT_DIR` (default `out`), `ACME_VERBOSE`.
//! Exit code 2 for a configuration error (a variable, or a file or port it names), 1 when
//! the run fails; one line on stderr says which.
//! Writes `fullchain.pem`, `privkey.pem`, `account.key` (reused when present) and
//! `account.json` (the account: the next run against the same directory restores it without
//! a request, and registers again if the CA no longer knows it).

#[path = "../../examples-support/support.rs"]
mod support;

use acme_blocking::proto::flow::NewAccount;
use acme_blocking::proto::msgs::problem::ProblemType;
use acme_blocking::{
    ChalltestsrvDns01Solver, Client, Error, Http01Responder, Http01Solver, IssuedCertificate,
    TlsAlpn01Responder, TlsAlpn01Solver,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

fn run(cfg: &support::Config, started: Instant) -> Result<(), support::Failure> {
    let mut builder = Client::builder(&cfg.directory);
    if let Some(pem) = &cfg.ca_cert {
        builder = builder.add_root_pem(pem);
    }
    let client = builder
        .build()
        .map_err(|e| support::config_error(format!("ACME_DIRECTORY {}: {e}", cfg.directory)))?;

    // An account stored by an earlier run is used as is: no request to look it up.
    let restored = match support::stored_account(cfg)? {
        Some(stored) => {
            tracing::info!("using the stored account {}", stored.account_url());
            client.set_account(stored.credentials());
            true
        }
        None => {
            register(&client, cfg)?;
            false
        }
    };
    let cert = match issue(&client, cfg)? {
        // The CA forgot the stored account (a test CA restarted): register and try again.
        Err(e) if restored && account_unknown(&e) => {
            tracing::info!("the CA does not know the stored account: registering again");
            register(&client, cfg)?;
            issue(&client, cfg)?
        }
        other => other,
    }
    .map_err(|e| e.to_string())?;
    Ok(support::finish(cfg, &cert.chain_pem, &cert.key, started)?)
}

/// Create the account of `account.key` (or find it: the CA answers with the existing one)
/// and store it in `account.json` for the next run.
fn register(client: &Client, cfg: &support::Config) -> Result<(), support::Failure> {
    let (account_key, _) = support::account_key(&cfg.out_dir)?;
    let account_key = Arc::new(account_key);
    if let Some(tos) = client.terms_of_service().map_err(|e| e.to_string())? {
        tracing::info!("agreeing to the terms of service: {tos}");
    }
    let account = client
        .create_account(
            account_key.clone(),
            NewAccount::default().agree_to_terms_of_service(true),
        )
        .map_err(|e| e.to_string())?;
    Ok(support::store_account(cfg, &account.url, account_key)?)
}

fn account_unknown(e: &Error) -> bool {
    e.acme().and_then(|e| e.problem_type()) == Some(&ProblemType::AccountDoesNotExist)
}

/// Serve the configured challenge type and issue. The outer error is the example's own
/// (a responder that cannot start), the inner one the ACME exchange's.
fn issue(
    client: &Client,
    cfg: &support::Config,
) -> Result<Result<IssuedCertificate, Error>, support::Failure> {
    let names: Vec<&str> = cfg.domains.iter().map(String::as_str).collect();
    // Each responder serves until its handle is dropped, after issuance.
    Ok(match cfg.challenge.as_str() {
        "dns-01" => {
            // config() checked that dns-01 comes with ACME_DNS_CHALLTESTSRV.
            let url = cfg.challtestsrv.as_deref().unwrap_or_default();
            client.issue(&names, &ChalltestsrvDns01Solver::new(url), None)
        }
        "tls-alpn-01" => {
            let responder = TlsAlpn01Responder::new();
            let addr = SocketAddr::from(([0, 0, 0, 0], cfg.tls_port));
            let _server = responder
                .serve(addr)
                .map_err(|e| support::responder_error("tls-alpn-01", "ACME_TLS_PORT", addr, e))?;
            client.issue(&names, &TlsAlpn01Solver::new(responder), None)
        }
        _ => {
            let responder = Http01Responder::new();
            let addr = SocketAddr::from(([0, 0, 0, 0], cfg.http_port));
            let _server = responder
                .serve(addr)
                .map_err(|e| support::responder_error("http-01", "ACME_HTTP_PORT", addr, e))?;
            client.issue(&names, &Http01Solver::new(responder), None)
        }
    })
}

fn main() -> std::process::ExitCode {
    let started = Instant::now();
    let cfg = match support::config() {
        Ok(c) => c,
        Err(e) => return support::exit(None, Err(e)),
    };
    if cfg.verbose {
        let _ = tracing::subscriber::set_global_default(support::Progress { started });
    }
    support::exit(Some(&cfg), run(&cfg, started))
}
