//! Many certificates from one process, on one account, a fixed number in flight: the
//! concurrency figure of `cargo xtask bench`. Environment:
//! `ACME_DIRECTORY` (required), `ACME_CA_CERT`, `ACME_HTTP_PORT` (http-01 responder, default
//! 80), `BENCH_CERTIFICATES` (default 200), `BENCH_PARALLEL` (default 50), `BENCH_DOMAIN`
//! (the names are `c<i>.<BENCH_DOMAIN>`, default `concurrency.example.com`; make it unique
//! per run when the CA reuses authorizations).
//!
//! Prints `certificates=N failed=N seconds=S per_second=R` and exits 0 only when every
//! certificate was issued (the first failures go to stderr).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use acme_tokio::crypto::{Algorithm, KeyPair};
use acme_tokio::proto::flow::NewAccount;
use acme_tokio::{Client, Http01Responder, Http01Solver};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

struct Config {
    directory: String,
    ca_cert: Option<Vec<u8>>,
    http_port: u16,
    certificates: usize,
    parallel: usize,
    domain: String,
}

fn config() -> Result<Config, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    fn number<T: std::str::FromStr>(
        name: &str,
        value: Option<String>,
        default: T,
    ) -> Result<T, String> {
        match value {
            Some(v) => v
                .parse()
                .map_err(|_| format!("{name}={v:?} is not a number")),
            None => Ok(default),
        }
    }
    let ca_cert = match var("ACME_CA_CERT") {
        Some(p) => Some(std::fs::read(&p).map_err(|e| format!("ACME_CA_CERT {p}: {e}"))?),
        None => None,
    };
    Ok(Config {
        directory: var("ACME_DIRECTORY").ok_or("ACME_DIRECTORY is not set")?,
        ca_cert,
        http_port: number("ACME_HTTP_PORT", var("ACME_HTTP_PORT"), 80)?,
        certificates: number("BENCH_CERTIFICATES", var("BENCH_CERTIFICATES"), 200)?,
        parallel: number("BENCH_PARALLEL", var("BENCH_PARALLEL"), 50)?.max(1),
        domain: var("BENCH_DOMAIN").unwrap_or_else(|| "concurrency.example.com".into()),
    })
}

async fn run(cfg: Config) -> Result<bool, String> {
    let mut builder = Client::builder(&cfg.directory);
    if let Some(pem) = &cfg.ca_cert {
        builder = builder.add_root_pem(pem);
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let key = Arc::new(KeyPair::generate(Algorithm::Es256).map_err(|e| e.to_string())?);
    client
        .create_account(key, NewAccount::default().agree_to_terms_of_service(true))
        .await
        .map_err(|e| e.to_string())?;
    let responder = Http01Responder::new();
    let addr = SocketAddr::from(([0, 0, 0, 0], cfg.http_port));
    let _server = responder
        .serve(addr)
        .map_err(|e| format!("http-01 responder on {addr}: {e}"))?;
    let solver = Arc::new(Http01Solver::new(responder));

    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let issued = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for _ in 0..cfg.parallel.min(cfg.certificates) {
        let (client, solver) = (client.clone(), solver.clone());
        let (next, issued, failures) = (next.clone(), issued.clone(), failures.clone());
        let (total, domain) = (cfg.certificates, cfg.domain.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let name = format!("c{i}.{domain}");
                match client.issue(&[&name], &*solver, None).await {
                    Ok(_) => {
                        issued.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => failures
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(format!("{name}: {e}")),
                }
            }
        }));
    }
    for worker in workers {
        worker
            .await
            .map_err(|e| format!("a worker panicked: {e}"))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let issued = issued.load(Ordering::Relaxed);
    let failures = failures
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    println!(
        "certificates={issued} failed={} seconds={seconds:.3} per_second={:.1}",
        failures.len(),
        issued as f64 / seconds
    );
    for failure in failures.iter().take(5) {
        eprintln!("failed: {failure}");
    }
    Ok(failures.is_empty() && issued == cfg.certificates)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cfg = match config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match run(cfg).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
