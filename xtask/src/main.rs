//! Developer tasks for this workspace, run as `cargo xtask <command>` (alias in
//! `.cargo/config.toml`). `cargo xtask help` lists the commands.
//!
//! Adding a command: write `fn(&[String]) -> Result<ExitCode>` in a module and add a row to
//! [`COMMANDS`]; the help text is built from that table.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool reports on the terminal"
)]

mod bench;
mod checks;
mod ci;
mod demo;
mod fuzz;
mod pebble;
mod readme;
mod util;

use std::process::ExitCode;

use util::Result;

/// One `cargo xtask` command.
struct Command {
    name: &'static str,
    /// Arguments, as shown in the help.
    usage: &'static str,
    about: &'static str,
    run: fn(&[String]) -> Result<ExitCode>,
}

const COMMANDS: &[Command] = &[
    Command {
        name: "ci",
        usage: "[PHASE...] [--list]",
        about: "fmt, clippy, doc, purity, msrv, test, then the end-to-end phases against \
                Pebble (`ci --list` shows them all)",
        run: ci::command,
    },
    Command {
        name: "purity",
        usage: "",
        about: "fail if acme-proto's dependency tree has an I/O, runtime or OS-randomness crate",
        run: checks::purity_command,
    },
    Command {
        name: "msrv",
        usage: "",
        about: "fail if a dependency declares a rust-version newer than the workspace's",
        run: checks::msrv_command,
    },
    Command {
        name: "pebble",
        usage: "[start|stop|status|env] [PEBBLE OPTIONS]",
        about: "run a local Pebble ACME server + pebble-challtestsrv (default action: start)",
        run: pebble::command,
    },
    Command {
        name: "demo",
        usage: "[--challenge http-01|dns-01|tls-alpn-01]",
        about: "issue a certificate for demo.example.com from a local Pebble with the \
                acme-tokio `issue` example (output in out/demo); a Pebble already running is \
                used and left running",
        run: demo::command,
    },
    Command {
        name: "fuzz",
        usage: "[TARGET] [--time SECS] [--cmin] [--reproduce FILE] [--list]",
        about: fuzz::ABOUT,
        run: fuzz::command,
    },
    Command {
        name: "bench",
        usage: "[--runs N] [--offline]",
        about: "measure round trips, wall-clock (vs lego), CPU, memory, the core alone, \
                concurrency and footprint against the performance bar; writes BENCHMARKS.md \
                (--offline: footprint and the core only, nothing written)",
        run: bench::command,
    },
    Command {
        name: "help",
        usage: "",
        about: "show this text",
        run: help_command,
    },
];

fn help() -> String {
    let mut text = String::from("usage: cargo xtask <command> [arguments]\n\ncommands:\n");
    for command in COMMANDS {
        let synopsis = format!("{} {}", command.name, command.usage);
        text.push_str(&format!(
            "  {}\n      {}\n",
            synopsis.trim_end(),
            command.about
        ));
    }
    text.push_str(&pebble_help());
    text.push('\n');
    text.push_str(&ci::help());
    text
}

/// The Pebble options and environment, for `help` and `pebble --help`.
fn pebble_help() -> String {
    let mut text = format!(
        "\nPEBBLE OPTIONS (`pebble start`, `pebble env`):\n{}\n",
        pebble::PebbleOptions::FLAGS_HELP
    );
    text.push_str(
        "\n`pebble start` reuses a running instance with the same options and restarts it \
         otherwise;\n`pebble status` exits 1 when it is not running; `pebble env` prints the \
         test environment as\n`export` lines (eval \"$(cargo xtask pebble env)\"):\n",
    );
    let eab = pebble::PebbleOptions {
        eab: true,
        ..pebble::PebbleOptions::DEFAULT
    };
    for (key, value) in eab.test_env() {
        text.push_str(&format!("  {key}={value}\n"));
    }
    text.push_str("  (ACME_TEST_EAB_KID/KEY only with --eab; the key is base64url, HS256)\n");
    text
}

/// `cargo xtask COMMAND --help`.
fn command_help(command: &Command) -> String {
    match command.name {
        "demo" => demo::HELP.to_owned(),
        "ci" => format!("usage: {}", ci::help()),
        _ => {
            let synopsis = format!("cargo xtask {} {}", command.name, command.usage);
            let mut text = format!("usage: {}\n\n{}\n", synopsis.trim_end(), command.about);
            if command.name == "pebble" {
                text.push_str(&pebble_help());
            }
            text
        }
    }
}

/// Whether `args` ask for a command's help (`-h`/`--help` anywhere; not in bench's internal
/// `--measure-child PROGRAM ARGS...`, whose arguments belong to the measured program).
fn wants_help(args: &[String]) -> bool {
    args.first().map(String::as_str) != Some("--measure-child")
        && args.iter().any(|a| a == "-h" || a == "--help")
}

fn help_command(_args: &[String]) -> Result<ExitCode> {
    print!("{}", help());
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((name, rest)) = args.split_first() else {
        print!("{}", help());
        return ExitCode::SUCCESS;
    };
    let name = match name.as_str() {
        "-h" | "--help" => "help",
        other => other,
    };
    let Some(command) = COMMANDS.iter().find(|c| c.name == name) else {
        eprint!("error: unknown command `{name}`\n\n{}", help());
        return ExitCode::from(2);
    };
    if wants_help(rest) {
        print!("{}", command_help(command));
        return ExitCode::SUCCESS;
    }
    match (command.run)(rest) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_help() {
        for command in COMMANDS {
            for flag in ["--help", "-h"] {
                assert!(wants_help(&[flag.to_owned()]), "{}", command.name);
            }
            let text = command_help(command);
            assert!(text.starts_with("usage: "), "{}: {text}", command.name);
            assert!(text.contains(command.name), "{}: {text}", command.name);
        }
        let pebble = COMMANDS.iter().find(|c| c.name == "pebble").unwrap();
        assert!(command_help(pebble).contains("--nonce-reject"));
        assert!(!wants_help(&[
            "--measure-child".to_owned(),
            "-h".to_owned()
        ]));
        assert!(wants_help(&["start".to_owned(), "--help".to_owned()]));
    }
}
