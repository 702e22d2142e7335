//! `cargo xtask demo`: issue a certificate from a local Pebble with the acme-tokio `issue`
//! example, with real challenge validation. A Pebble started earlier with
//! `cargo xtask pebble start` is used and left running; otherwise the demo starts one and
//! stops it at the end.

use std::process::{Command, ExitCode};

use crate::pebble::{self, Pebble, PebbleOptions};
use crate::util::{Result, bail, cargo, describe_status, display_with_env, run, workspace_root};

const CHALLENGES: [&str; 3] = ["http-01", "dns-01", "tls-alpn-01"];

/// The name the demo asks a certificate for; challtestsrv resolves every name to 127.0.0.1.
const DOMAIN: &str = "demo.example.com";

/// `cargo xtask demo --help`.
pub(crate) const HELP: &str = "\
usage: cargo xtask demo [--challenge http-01|dns-01|tls-alpn-01]

Builds the acme-tokio `issue` example, then runs it against a local Pebble to issue a
certificate for demo.example.com with real validation of the chosen challenge (default
http-01). Output: out/demo/fullchain.pem, privkey.pem, account.key.

A Pebble already running (`cargo xtask pebble start`; see `cargo xtask pebble status`) is
used and left running; otherwise the demo starts one and stops it when done.
The example's command line, with its ACME_* environment, is printed so that you can run
it again by hand (with Pebble running).
";

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
            bail!("unknown demo argument `{arg}` (see `cargo xtask demo --help`)");
        }
    }
    if !CHALLENGES.contains(&challenge.as_str()) {
        bail!(
            "unknown challenge `{challenge}`; choose one of {}",
            CHALLENGES.join(", ")
        );
    }

    // Built first, with cargo's progress: the first run compiles the whole dependency tree.
    println!(
        "demo: building the example (nothing to do once built; a first build takes a few minutes)"
    );
    run(cargo().args(["build", "-p", "acme-tokio", "--example", "issue"]))?;

    let out_dir = workspace_root().join("out").join("demo");
    std::fs::create_dir_all(&out_dir)?;

    // Only what the demo starts, it stops.
    let started = match pebble::running_options() {
        Some(options) if pebble::listeners_up() => {
            if options.eab {
                bail!(
                    "the running Pebble requires external account binding (--eab), which the \
                     example does not do: `cargo xtask pebble start` (without --eab) restarts it"
                );
            }
            println!(
                "demo: using the Pebble that is already running ({}); it stays running",
                options.describe()
            );
            None
        }
        _ => {
            println!("demo: starting Pebble (stopped again at the end)");
            Some(Pebble::start(PebbleOptions::DEFAULT)?)
        }
    };

    let mut example = example_command(&challenge, &out_dir);
    println!("$ {}", display_with_env(&example));
    let status = example.status();
    if let Some(pebble) = started
        && let Err(e) = pebble.stop()
    {
        eprintln!("warning: stopping Pebble: {e}");
    }
    let status = status.map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        println!("demo: done; output in {}", out_dir.display());
        println!(
            "demo: to run the example again by hand, start Pebble (`cargo xtask pebble start`) \
             and run the command above"
        );
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "demo: the example failed ({}); Pebble's log: {}",
        describe_status(status),
        pebble::log_path().display()
    );
    // Propagate the example's exit code (1 if it died from a signal).
    let code = status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .filter(|&c| c != 0)
        .unwrap_or(1);
    Ok(ExitCode::from(code))
}

/// `cargo run -q -p acme-tokio --example issue` with the example's environment for Pebble.
fn example_command(challenge: &str, out_dir: &std::path::Path) -> Command {
    let mut cmd = cargo();
    cmd.args(["run", "-q", "-p", "acme-tokio", "--example", "issue"])
        .env("ACME_DIRECTORY", pebble::DIRECTORY_URL)
        .env("ACME_CA_CERT", pebble::ca_cert_path())
        .env("ACME_DOMAIN", DOMAIN)
        .env("ACME_HTTP_PORT", pebble::HTTP_PORT.to_string())
        .env("ACME_TLS_PORT", pebble::TLS_PORT.to_string())
        .env("ACME_DNS_CHALLTESTSRV", pebble::CHALLTESTSRV_URL)
        .env("ACME_CHALLENGE", challenge)
        .env("ACME_OUT_DIR", out_dir)
        .env("ACME_VERBOSE", "1");
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_echoed_command_carries_the_whole_environment() {
        let shown = display_with_env(&example_command("dns-01", std::path::Path::new("o d")));
        for key in [
            "ACME_DIRECTORY=https://127.0.0.1:14000/dir",
            "ACME_CA_CERT=",
            "ACME_DOMAIN=demo.example.com",
            "ACME_HTTP_PORT=5002",
            "ACME_TLS_PORT=5001",
            "ACME_DNS_CHALLTESTSRV=http://127.0.0.1:8055",
            "ACME_CHALLENGE=dns-01",
            "ACME_OUT_DIR='o d'",
            "ACME_VERBOSE=1",
        ] {
            assert!(shown.contains(key), "{key} missing from {shown}");
        }
        assert!(
            shown.ends_with(" cargo run -q -p acme-tokio --example issue"),
            "{shown}"
        );
    }
}
