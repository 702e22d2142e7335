//! Issue a certificate with acme-smol (runs under smol; the library also runs under async-std). Environment:
//! `ACME_DIRECTORY` (required), `ACME_CA_CERT`, `ACME_DOMAIN` (comma-separated),
//! `ACME_CHALLENGE` (`http-01` (default), `dns-01` or `tls-alpn-01`), `ACME_HTTP_PORT`
//! (http-01 responder, default 80), `ACME_TLS_PORT` (tls-alpn-01 responder, default 443),
//! `ACME_DNS_CHALLTESTSRV` (dns-01: base URL of a `pebble-challtestsrv` management API),
//! `ACME_OUT_DIR` (default `out`), `ACME_VERBOSE`.
//! Exit code 2 for a configuration error (a variable, or a file or port it names), 1 when
//! the run fails; one line on stderr says which.
//! Writes `fullchain.pem`, `privkey.pem` and (reused when present) `account.key`.

#[path = "../../examples-support/support.rs"]
mod support;

use acme_smol::proto::flow::NewAccount;
use acme_smol::{
    ChalltestsrvDns01Solver, Client, Http01Responder, Http01Solver, TlsAlpn01Responder,
    TlsAlpn01Solver,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

async fn run(cfg: &support::Config, started: Instant) -> Result<(), support::Failure> {
    let mut builder = Client::builder(&cfg.directory);
    if let Some(pem) = &cfg.ca_cert {
        builder = builder.add_root_pem(pem);
    }
    let client = builder
        .build()
        .map_err(|e| support::config_error(format!("ACME_DIRECTORY {}: {e}", cfg.directory)))?;

    let (account_key, _) = support::account_key(&cfg.out_dir)?;
    if let Some(tos) = client.terms_of_service().await.map_err(|e| e.to_string())? {
        tracing::info!("agreeing to the terms of service: {tos}");
    }
    client
        .create_account(
            Arc::new(account_key),
            NewAccount::default().agree_to_terms_of_service(true),
        )
        .await
        .map_err(|e| e.to_string())?;

    let names: Vec<&str> = cfg.domains.iter().map(String::as_str).collect();
    // Each responder serves until its handle is dropped, after issuance.
    let cert = match cfg.challenge.as_str() {
        "dns-01" => {
            // config() checked that dns-01 comes with ACME_DNS_CHALLTESTSRV.
            let url = cfg.challtestsrv.as_deref().unwrap_or_default();
            let solver = ChalltestsrvDns01Solver::new(url)
                .map_err(|e| support::config_error(format!("ACME_DNS_CHALLTESTSRV {url}: {e}")))?;
            client.issue(&names, &solver, None).await
        }
        "tls-alpn-01" => {
            let responder = TlsAlpn01Responder::new();
            let addr = SocketAddr::from(([0, 0, 0, 0], cfg.tls_port));
            let _server = responder
                .serve(addr)
                .map_err(|e| support::responder_error("tls-alpn-01", "ACME_TLS_PORT", addr, e))?;
            client
                .issue(&names, &TlsAlpn01Solver::new(responder), None)
                .await
        }
        _ => {
            let responder = Http01Responder::new();
            let addr = SocketAddr::from(([0, 0, 0, 0], cfg.http_port));
            let _server = responder
                .serve(addr)
                .map_err(|e| support::responder_error("http-01", "ACME_HTTP_PORT", addr, e))?;
            client
                .issue(&names, &Http01Solver::new(responder), None)
                .await
        }
    }
    .map_err(|e| e.to_string())?;
    Ok(support::finish(cfg, &cert.chain_pem, &cert.key, started)?)
}

fn main() -> std::process::ExitCode {
    smol::block_on(main_async())
}

async fn main_async() -> std::process::ExitCode {
    let started = Instant::now();
    let cfg = match support::config() {
        Ok(c) => c,
        Err(e) => return support::exit(None, Err(e)),
    };
    if cfg.verbose {
        let _ = tracing::subscriber::set_global_default(support::Progress { started });
    }
    support::exit(Some(&cfg), run(&cfg, started).await)
}
