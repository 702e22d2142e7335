//! `cargo xtask ci`: the whole pipeline as a table of phases, run in order, stopping at the
//! first failure.
//!
//! End-to-end tests are `#[ignore = "needs Pebble (cargo xtask ci)"]` tests in test targets
//! (unit tests and `tests/*.rs`, not doctests). Each `E2e` phase starts a fresh Pebble with its
//! own options and runs `cargo test --workspace --tests -- --ignored` with the environment of
//! [`PebbleOptions::test_env`]:
//! * a phase with a `marker` runs only the ignored tests whose path contains the marker, and is
//!   skipped (without starting Pebble) when there are none;
//! * the phase without a marker runs every other ignored test (`--skip` each marker).
//!
//! To test against another Pebble configuration: add a row to [`PHASES`] with a new marker,
//! and put the marker in the names of its tests (e.g. `mod pebble_eab { ... }` in a test file).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::checks;
use crate::pebble::{Pebble, PebbleOptions, shell_exports};
use crate::util::{Result, bail, cargo, format_duration, output, run, workspace_root};

/// One step of the pipeline.
struct Phase {
    name: &'static str,
    step: Step,
    /// What to do when it fails.
    hint: &'static str,
}

enum Step {
    /// `cargo ARGS...`.
    Cargo(&'static [&'static str]),
    /// A check implemented in xtask (also a command of its own), and what it checks.
    Check(fn() -> Result<()>, &'static str),
    /// Ignored tests against a fresh Pebble (see the module docs).
    E2e {
        pebble: PebbleOptions,
        marker: Option<&'static str>,
    },
    /// Replays the fuzz corpora when a `fuzz/` crate exists.
    FuzzCorpora,
}

const E2E_HINT: &str = "see the test output above and .pebble/pebble.log; reproduce with \
                        `cargo xtask pebble start [OPTIONS]`, `eval \"$(cargo xtask pebble env)\"`, \
                        `cargo test --workspace --tests -- --ignored NAME`";

/// The pipeline, in order.
const PHASES: &[Phase] = &[
    Phase {
        name: "fmt",
        step: Step::Cargo(&["fmt", "--all", "--", "--check"]),
        hint: "run `cargo fmt --all`",
    },
    Phase {
        name: "clippy",
        step: Step::Cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
        hint: "fix the clippy findings above",
    },
    Phase {
        name: "doc",
        step: Step::Cargo(&["doc", "--workspace", "--no-deps"]),
        hint: "fix the rustdoc findings above (lints: [workspace.lints.rustdoc])",
    },
    Phase {
        name: "purity",
        step: Step::Check(
            checks::purity,
            "`cargo xtask purity`: acme-proto's normal dependency tree has no I/O, runtime or \
             OS-randomness crate",
        ),
        hint: "acme-proto must stay sans-IO: move the dependency to an adapter crate",
    },
    Phase {
        name: "msrv",
        step: Step::Check(
            checks::msrv,
            "`cargo xtask msrv`: no dependency declares a rust-version newer than the workspace's",
        ),
        hint: "raise rust-version in the root Cargo.toml, or pin an older dependency",
    },
    Phase {
        name: "test",
        step: Step::Cargo(&["test", "--workspace"]),
        hint: "see the failing tests above",
    },
    Phase {
        name: "e2e",
        step: Step::E2e {
            pebble: PebbleOptions::DEFAULT,
            marker: None,
        },
        hint: E2E_HINT,
    },
    Phase {
        name: "e2e-eab",
        step: Step::E2e {
            pebble: PebbleOptions {
                eab: true,
                ..PebbleOptions::DEFAULT
            },
            marker: Some("pebble_eab"),
        },
        hint: E2E_HINT,
    },
    Phase {
        name: "e2e-alt-roots",
        step: Step::E2e {
            pebble: PebbleOptions {
                alt_roots: 2,
                ..PebbleOptions::DEFAULT
            },
            marker: Some("pebble_alt_roots"),
        },
        hint: E2E_HINT,
    },
    Phase {
        name: "e2e-nonce-reject",
        step: Step::E2e {
            pebble: PebbleOptions {
                nonce_reject: Some(50),
                ..PebbleOptions::DEFAULT
            },
            marker: Some("pebble_nonce_reject"),
        },
        hint: E2E_HINT,
    },
    Phase {
        name: "e2e-authz-reuse",
        step: Step::E2e {
            pebble: PebbleOptions {
                authz_reuse: Some(100),
                ..PebbleOptions::DEFAULT
            },
            marker: Some("pebble_authz_reuse"),
        },
        hint: E2E_HINT,
    },
    Phase {
        name: "fuzz-corpora",
        step: Step::FuzzCorpora,
        hint: "a fuzz corpus input fails: see the output above",
    },
];

/// How a phase that did not fail ended, with a short note for the summary.
enum Outcome {
    Passed(String),
    Skipped(String),
}

/// Help for `cargo xtask ci`.
pub(crate) fn help() -> String {
    let mut text = String::from(
        "cargo xtask ci [PHASE...] [--list]\n  runs every phase (or only the named ones) in order:\n",
    );
    for phase in PHASES {
        text.push_str(&format!(
            "    {:<18} {}\n",
            phase.name,
            describe(&phase.step)
        ));
    }
    text
}

fn describe(step: &Step) -> String {
    match step {
        Step::Cargo(args) => format!("cargo {}", args.join(" ")),
        Step::Check(_, what) => (*what).to_owned(),
        Step::E2e { pebble, marker } => {
            let tests = match marker {
                Some(marker) => format!("ignored tests matching `{marker}`"),
                None => "the other ignored tests".to_owned(),
            };
            format!("{tests} against Pebble ({})", pebble.describe())
        }
        Step::FuzzCorpora => {
            "cargo test --manifest-path fuzz/Cargo.toml (if fuzz/ exists)".to_owned()
        }
    }
}

/// `cargo xtask ci`.
pub(crate) fn command(args: &[String]) -> Result<ExitCode> {
    if args.iter().any(|a| a == "--list") {
        print!("{}", help());
        return Ok(ExitCode::SUCCESS);
    }
    for arg in args {
        if !PHASES.iter().any(|p| p.name == arg) {
            let names: Vec<&str> = PHASES.iter().map(|p| p.name).collect();
            bail!("unknown ci phase `{arg}`; phases: {}", names.join(", "));
        }
    }
    let selected: Vec<&Phase> = PHASES
        .iter()
        .filter(|p| args.is_empty() || args.iter().any(|a| a == p.name))
        .collect();

    let started = Instant::now();
    let mut summary: Vec<String> = Vec::new();
    let line = |status: &str, name: &str, elapsed: Option<Duration>, note: &str| {
        let elapsed = elapsed.map(format_duration).unwrap_or_default();
        format!("  {status:<8} {name:<18} {elapsed:>8}  {note}")
            .trim_end()
            .to_owned()
    };
    let mut failure = None;
    for (index, phase) in selected.iter().enumerate() {
        println!(
            "\n==> ci [{}/{}] {}: {}",
            index + 1,
            selected.len(),
            phase.name,
            describe(&phase.step)
        );
        let phase_started = Instant::now();
        let result = run_step(&phase.step);
        let elapsed = Some(phase_started.elapsed());
        match result {
            Ok(Outcome::Passed(note)) => summary.push(line("ok", phase.name, elapsed, &note)),
            Ok(Outcome::Skipped(note)) => {
                summary.push(line("skipped", phase.name, elapsed, &note));
            }
            Err(e) => {
                summary.push(line("FAILED", phase.name, elapsed, ""));
                for rest in &selected[index + 1..] {
                    summary.push(line("not run", rest.name, None, ""));
                }
                failure = Some((phase, e));
                break;
            }
        }
    }

    println!("\n==> ci summary");
    for entry in &summary {
        println!("{entry}");
    }
    let total = format_duration(started.elapsed());
    match failure {
        None => {
            println!("ci: all {} phase(s) succeeded in {total}", selected.len());
            Ok(ExitCode::SUCCESS)
        }
        Some((phase, e)) => {
            eprintln!("ci: phase `{}` FAILED after {total}: {e}", phase.name);
            eprintln!("ci: hint: {}", phase.hint);
            Ok(ExitCode::FAILURE)
        }
    }
}

fn run_step(step: &Step) -> Result<Outcome> {
    match step {
        Step::Cargo(args) => {
            run(cargo().args(*args))?;
            Ok(Outcome::Passed(String::new()))
        }
        Step::Check(check, _) => {
            check()?;
            Ok(Outcome::Passed(String::new()))
        }
        Step::E2e { pebble, marker } => e2e(*pebble, *marker),
        Step::FuzzCorpora => fuzz_corpora(),
    }
}

/// The libtest filter arguments of an e2e phase.
fn e2e_filters(marker: Option<&str>) -> Vec<String> {
    match marker {
        Some(marker) => vec![marker.to_owned()],
        None => PHASES
            .iter()
            .filter_map(|p| match p.step {
                Step::E2e {
                    marker: Some(other),
                    ..
                } => Some(other),
                _ => None,
            })
            .flat_map(|other| ["--skip".to_owned(), other.to_owned()])
            .collect(),
    }
}

fn e2e(options: PebbleOptions, marker: Option<&str>) -> Result<Outcome> {
    let filters = e2e_filters(marker);
    let test_args = ["test", "--workspace", "--tests", "--"];
    let listing = output(
        cargo()
            .args(test_args)
            .args(["--ignored", "--list"])
            .args(&filters),
    )?;
    let count = count_listed_tests(&listing);
    println!("{count} ignored test(s) selected");
    if count == 0
        && let Some(marker) = marker
    {
        return Ok(Outcome::Skipped(format!(
            "no ignored test matches `{marker}`"
        )));
    }

    let pebble = Pebble::start(options)?;
    let env = pebble.test_env();
    print!("{}", shell_exports(&env));
    // Every failing binary is reported, not only the first: one run shows all that broke.
    let tested = run(cargo()
        .args(["test", "--workspace", "--tests", "--no-fail-fast", "--"])
        .arg("--ignored")
        .args(&filters)
        .envs(env));
    let stopped = pebble.stop();
    if tested.is_err() {
        print_log_tails();
    }
    tested?;
    stopped?;
    Ok(Outcome::Passed(format!(
        "{count} test(s), Pebble: {}",
        options.describe()
    )))
}

/// Counts `name: test` lines of libtest's `--list` output.
fn count_listed_tests(listing: &str) -> usize {
    listing
        .lines()
        .filter(|line| line.ends_with(": test"))
        .count()
}

fn print_log_tails() {
    let dir = workspace_root().join(".pebble");
    for log in ["pebble.log", "challtestsrv.log"] {
        let path = dir.join(log);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        println!("\n--- last lines of {} ---", path.display());
        for line in &lines[lines.len().saturating_sub(40)..] {
            println!("{line}");
        }
    }
}

fn fuzz_corpora() -> Result<Outcome> {
    let manifest = workspace_root().join("fuzz").join("Cargo.toml");
    if !manifest.is_file() {
        return Ok(Outcome::Skipped("no fuzz/ crate".to_owned()));
    }
    run(cargo().arg("test").arg("--manifest-path").arg(&manifest))?;
    Ok(Outcome::Passed(String::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_e2e_phase_skips_every_marker() {
        let filters = e2e_filters(None);
        assert!(filters.windows(2).any(|w| w == ["--skip", "pebble_eab"]));
        assert_eq!(e2e_filters(Some("pebble_eab")), vec!["pebble_eab"]);
    }

    #[test]
    fn phase_names_are_unique_and_markers_distinct() {
        let mut names: Vec<&str> = PHASES.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PHASES.len());
        let markers: Vec<&str> = PHASES
            .iter()
            .filter_map(|p| match p.step {
                Step::E2e { marker, .. } => marker,
                _ => None,
            })
            .collect();
        for a in &markers {
            for b in &markers {
                assert!(
                    a == b || !a.contains(b),
                    "marker {b} would select {a}'s tests"
                );
            }
        }
    }

    #[test]
    fn counts_listed_tests() {
        let listing = "a::b: test\nc: test\nd: benchmark\n\n2 tests, 1 benchmark\n";
        assert_eq!(count_listed_tests(listing), 2);
    }
}
