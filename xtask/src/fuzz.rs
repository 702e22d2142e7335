//! `cargo xtask fuzz`: run the cargo-fuzz targets of `fuzz/` with libFuzzer (nightly).
//!
//! Each target runs for `--time` seconds over its committed corpus (`fuzz/corpus/<target>/`,
//! which libFuzzer grows in place: minimize it with `--cmin` before committing), then a
//! summary gives executions and coverage (`cov`/`ft`) per target. A crash stops at once and
//! names the input libFuzzer saved under `fuzz/artifacts/<target>/`: fix the library, then
//! copy the input to `fuzz/regressions/<target>/`, where the stable replay test
//! (`cargo test --manifest-path fuzz/Cargo.toml`, the `fuzz-corpora` CI phase) keeps it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::util::{Result, bail, display, workspace_root};

const USAGE: &str = "cargo xtask fuzz [TARGET] [--time SECS] [--cmin] [--reproduce FILE] [--list]";

/// Longest input per target where libFuzzer's default (4096 bytes) is too short.
const MAX_LEN: &[(&str, u32)] = &[("flow", 32_768), ("pem_chain", 16_384)];

/// Seconds a single input may take before libFuzzer reports it as a hang.
const INPUT_TIMEOUT_SECS: u32 = 20;

/// Help text for the command table.
pub(crate) const ABOUT: &str = "run the fuzz targets of fuzz/ with libFuzzer (needs nightly; \
     default 60 s per target, all targets); --cmin minimizes the corpus, --reproduce FILE \
     replays one input";

struct Options {
    target: Option<String>,
    seconds: u64,
    cmin: bool,
    reproduce: Option<PathBuf>,
    list: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options {
        target: None,
        seconds: 60,
        cmin: false,
        reproduce: None,
        list: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--time" => {
                let value = args.next().ok_or("--time needs a number of seconds")?;
                options.seconds = value
                    .parse()
                    .map_err(|_| format!("--time {value}: not a number of seconds"))?;
            }
            "--cmin" => options.cmin = true,
            "--list" => options.list = true,
            "--reproduce" => {
                let file = args.next().ok_or("--reproduce needs a file")?;
                options.reproduce = Some(PathBuf::from(file));
            }
            "-h" | "--help" => bail!("usage: {USAGE}"),
            other if other.starts_with('-') => bail!("unknown option `{other}`; usage: {USAGE}"),
            other => {
                if options.target.replace(other.to_owned()).is_some() {
                    bail!("more than one target given; usage: {USAGE}");
                }
            }
        }
    }
    Ok(options)
}

/// The targets: one `fuzz/fuzz_targets/<name>.rs` each, sorted.
fn targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    let dir = fuzz_dir.join("fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    Ok(names)
}

/// Whether `cargo +nightly ...` works, i.e. a nightly toolchain is installed.
fn has_nightly() -> bool {
    Command::new("rustc")
        .args(["+nightly", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn has_cargo_fuzz() -> bool {
    Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `cargo +nightly fuzz ...`, run from the workspace root (cargo-fuzz finds `fuzz/` there).
/// The fuzz crate keeps its own target directory (`fuzz/target`), whatever the caller's
/// `CARGO_TARGET_DIR`.
fn cargo_fuzz(fuzz_dir: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", fuzz_dir.join("target"))
        .args(["+nightly", "fuzz"]);
    cmd
}

/// What libFuzzer reported at the end of one run.
#[derive(Default)]
struct Stats {
    executions: Option<String>,
    coverage: Option<String>,
}

/// Run `cmd`, echoing its output, and keep the final libFuzzer statistics.
fn run_fuzzer(cmd: &mut Command) -> Result<(bool, Stats)> {
    println!("$ {}", display(cmd));
    let mut child = cmd
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{}`: {e}", display(cmd)))?;
    let mut stats = Stats::default();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            eprintln!("{line}");
            if line.contains(" DONE ") || line.contains(" cov: ") {
                // `#123456 DONE cov: 842 ft: 2371 corp: 120/30Kb ...`
                if let Some(at) = line.find("cov: ") {
                    let fields: Vec<&str> = line[at..].split_whitespace().take(4).collect();
                    stats.coverage = Some(fields.join(" "));
                }
            }
            if let Some(n) = line.strip_prefix("stat::number_of_executed_units: ") {
                stats.executions = Some(n.trim().to_owned());
            }
        }
    }
    let status = child.wait()?;
    Ok((status.success(), stats))
}

/// `cargo xtask fuzz`.
pub(crate) fn command(args: &[String]) -> Result<ExitCode> {
    let options = parse(args)?;
    let fuzz_dir = workspace_root().join("fuzz");
    if !fuzz_dir.join("Cargo.toml").is_file() {
        bail!("no fuzz crate at {}", fuzz_dir.display());
    }
    let all = targets(&fuzz_dir)?;
    if options.list {
        for name in &all {
            println!("{name}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let selected: Vec<String> = match &options.target {
        Some(t) if all.contains(t) => vec![t.clone()],
        Some(t) => bail!("no fuzz target `{t}`; targets: {}", all.join(", ")),
        None => all,
    };

    if !has_nightly() {
        eprintln!(
            "fuzz: NO NIGHTLY TOOLCHAIN: libFuzzer needs nightly Rust (sanitizer coverage). \
             Install it with `rustup toolchain install nightly`. Without it, the committed \
             corpora and regression inputs still replay on stable: \
             `cargo test --manifest-path fuzz/Cargo.toml` (the `fuzz-corpora` CI phase)."
        );
        return Ok(ExitCode::FAILURE);
    }
    if !has_cargo_fuzz() {
        println!("fuzz: cargo-fuzz is not installed; installing it (`cargo install cargo-fuzz`)");
        let mut install = Command::new("cargo");
        install.args(["install", "cargo-fuzz"]);
        crate::util::run(&mut install)?;
    }

    if let Some(file) = &options.reproduce {
        let [target] = selected.as_slice() else {
            bail!("--reproduce needs the TARGET the input belongs to");
        };
        let file = std::fs::canonicalize(file)
            .map_err(|e| format!("--reproduce {}: {e}", file.display()))?;
        let mut cmd = cargo_fuzz(&fuzz_dir);
        cmd.args(["run", "--features", "libfuzzer", target])
            .arg(&file)
            .args(["--", "-runs=1"]);
        let (ok, _) = run_fuzzer(&mut cmd)?;
        println!(
            "fuzz: {target} {} on {}",
            if ok { "passes" } else { "FAILS" },
            file.display()
        );
        return Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }

    let mut summary = Vec::new();
    for target in &selected {
        let corpus = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        let mut cmd = cargo_fuzz(&fuzz_dir);
        if options.cmin {
            cmd.args(["cmin", "--features", "libfuzzer", target]);
            let (ok, _) = run_fuzzer(&mut cmd)?;
            if !ok {
                bail!("corpus minimization of `{target}` failed");
            }
            summary.push(format!("  {target:<14} corpus minimized"));
            continue;
        }
        cmd.args(["run", "--features", "libfuzzer", target])
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={}", options.seconds))
            .arg(format!("-timeout={INPUT_TIMEOUT_SECS}"))
            .arg("-print_final_stats=1");
        if let Some((_, len)) = MAX_LEN.iter().find(|(name, _)| name == target) {
            cmd.arg(format!("-max_len={len}"));
        }
        let (ok, stats) = run_fuzzer(&mut cmd)?;
        let line = format!(
            "  {target:<14} {:>10} execs  {}",
            stats.executions.as_deref().unwrap_or("?"),
            stats.coverage.as_deref().unwrap_or("no coverage reported"),
        );
        summary.push(line);
        if !ok {
            println!("\n==> fuzz summary\n{}", summary.join("\n"));
            bail!(
                "target `{target}` found a failing input (see above; libFuzzer saved it under \
                 fuzz/artifacts/{target}/). Fix the library, add the input to \
                 fuzz/regressions/{target}/ and a unit test next to the fix."
            );
        }
    }
    println!("\n==> fuzz summary ({} s per target)", options.seconds);
    for line in &summary {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arguments() {
        let args: Vec<String> = ["flow", "--time", "600"].map(String::from).to_vec();
        let o = parse(&args).unwrap();
        assert_eq!(
            (o.target.as_deref(), o.seconds, o.cmin),
            (Some("flow"), 600, false)
        );
        assert!(parse(&["--time".to_owned()]).is_err());
        assert!(parse(&["a".to_owned(), "b".to_owned()]).is_err());
        assert!(parse(&["--bogus".to_owned()]).is_err());
    }

    #[test]
    fn lists_the_fuzz_targets() {
        let names = targets(&workspace_root().join("fuzz")).unwrap();
        assert!(names.iter().any(|n| n == "flow"));
        assert!(names.windows(2).all(|w| w[0] < w[1]));
    }
}
