//! `cargo xtask demo`: issue a certificate from a local Pebble with the acme-tokio `issue`
//! example, with real challenge validation.

use std::process::ExitCode;

use crate::pebble::{self, Pebble, PebbleOptions};
use crate::util::{Result, bail, cargo, describe_status, run_status, workspace_root};

const CHALLENGES: [&str; 3] = ["http-01", "dns-01", "tls-alpn-01"];

/// The name the demo asks a certificate for; challtestsrv resolves every name to 127.0.0.1.
const DOMAIN: &str = "demo.example.com";

/// `cargo xtask demo [--challenge http-01|dns-01|tls-alpn-01]`.
pub(crate) fn command(args: &[String]) -> Result<ExitCode> {
    let mut challenge = "http-01".to_owned();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--challenge" {
            let Some(value) = args.next() else {
                bail!("--challenge needs a value: {}", CHALLENGES.join(", "));
            };
            challenge.clone_from(value);
        } else if let Some(value) = arg.strip_prefix("--challenge=") {
            value.clone_into(&mut challenge);
        } else {
            bail!("unknown demo argument `{arg}`");
        }
    }
    if !CHALLENGES.contains(&challenge.as_str()) {
        bail!(
            "unknown challenge `{challenge}`; choose one of {}",
            CHALLENGES.join(", ")
        );
    }

    let out_dir = workspace_root().join("out").join("demo");
    std::fs::create_dir_all(&out_dir)?;
    let pebble = Pebble::start(PebbleOptions::DEFAULT)?;
    let status = run_status(
        cargo()
            .args(["run", "-q", "-p", "acme-tokio", "--example", "issue"])
            .env("ACME_DIRECTORY", pebble::DIRECTORY_URL)
            .env("ACME_CA_CERT", pebble::ca_cert_path())
            .env("ACME_DOMAIN", DOMAIN)
            .env("ACME_HTTP_PORT", pebble::HTTP_PORT.to_string())
            .env("ACME_TLS_PORT", pebble::TLS_PORT.to_string())
            .env("ACME_DNS_CHALLTESTSRV", pebble::CHALLTESTSRV_URL)
            .env("ACME_CHALLENGE", &challenge)
            .env("ACME_OUT_DIR", &out_dir)
            .env("ACME_VERBOSE", "1"),
    );
    if let Err(e) = pebble.stop() {
        eprintln!("warning: stopping Pebble: {e}");
    }
    let status = status?;
    if status.success() {
        println!("demo: done; output in {}", out_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "demo: the example failed ({}); Pebble's log: {}",
        describe_status(status),
        workspace_root().join(".pebble/pebble.log").display()
    );
    // Propagate the example's exit code (1 if it died from a signal).
    let code = status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .filter(|&c| c != 0)
        .unwrap_or(1);
    Ok(ExitCode::from(code))
}
