//! `cargo xtask bench`: what users of an ACME library feel, measured, checked against the
//! performance bar, printed as a table and written to `BENCHMARKS.md`.
//!
//! Offline first (no Pebble needed):
//! * **footprint**: release size of the blocking `issue` example; the crates of `acme-proto`'s
//!   normal dependency tree, each with what it is for;
//! * **the core alone**: `cargo bench -p acme-crypto --bench core_issuance` (divan): a full
//!   issuance through the core with real ES256 signatures, with no signature work, and the
//!   cost of one signature.
//!
//! Then against a local Pebble, started (and installed) as `cargo xtask demo` does, with
//! `--nonce-reject 0 --nosleep --authz-reuse 100` and, first, `--always-valid`:
//! * **round trips** per certificate, counted per endpoint from Pebble's log (one line per
//!   request), for a new account + 1 name, a new account + 5 names, and a stored account whose
//!   authorization is still valid (the example's second run in the same `ACME_OUT_DIR`). Each
//!   is run 3 times and the smallest count kept: another client of the same Pebble can only
//!   add lines;
//! * **wall-clock** (process start to exit), **CPU time** and **peak RSS** of the release
//!   blocking `issue` example, new account + 1 name, median of `--runs` runs, interleaved with
//!   as many runs of `lego` when it is installed (`apt-get install lego`; http-01 on port
//!   5002), then the same again with real http-01 validation (Pebble restarted without
//!   `--always-valid`);
//! * **concurrency**: 200 certificates, 50 in flight, one account, one process (the
//!   acme-tokio `concurrency` example).
//!
//! CPU time and peak RSS come from the OS accounting of the child: xtask runs itself as a
//! small parent (`bench --measure-child PROGRAM ARGS...`), which waits for the one child and
//! reads `getrusage(RUSAGE_CHILDREN)`; wall-clock is measured around that child too.
//!
//! A Pebble that `cargo xtask pebble start` left running is stopped for the measurements and
//! started again afterwards with its own options.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::pebble::{self, Pebble, PebbleOptions};
use crate::util::{Result, bail, cargo, find_executable, output, workspace_root};

/// First line of the measurement the `--measure-child` parent prints.
const MEASURE_MARKER: &str = "@@xtask-bench-measure";

/// Bars of the performance issue.
const BAR_ROUND_TRIPS_ONE: usize = 10;
const BAR_ROUND_TRIPS_FIVE: usize = 18;
const BAR_ROUND_TRIPS_STORED: usize = 6;
const BAR_WALL_VS_LEGO: f64 = 0.5;
const BAR_CPU: Duration = Duration::from_millis(15);
const BAR_RSS_KIB: u64 = 8 * 1024;
const BAR_OVERHEAD: Duration = Duration::from_micros(50);
const BAR_SIGNATURE_RATIO: f64 = 1.5;

/// Concurrency run: certificates, in flight.
const CONCURRENT_CERTIFICATES: usize = 200;
const CONCURRENT_IN_FLIGHT: usize = 50;

/// Round-trip scenarios are repeated this often; the smallest count is kept.
const ROUND_TRIP_REPEATS: usize = 3;

/// What each crate of `acme-proto`'s normal dependency tree is for.
const CRATE_PURPOSES: &[(&str, &str)] = &[
    (
        "http",
        "the Request/Response/HeaderMap/StatusCode types the core shares with every adapter",
    ),
    ("bytes", "byte buffers inside `http` (header values)"),
    ("itoa", "integer formatting for `http` and `serde_json`"),
    ("serde", "(de)serialization of every ACME object"),
    ("serde_core", "serde's traits (split out of `serde`)"),
    (
        "serde_derive",
        "`#[derive(Serialize, Deserialize)]` (compile time only)",
    ),
    (
        "proc-macro2",
        "serde_derive's token streams (compile time only)",
    ),
    (
        "quote",
        "serde_derive's code generation (compile time only)",
    ),
    ("syn", "serde_derive's Rust parser (compile time only)"),
    (
        "unicode-ident",
        "identifier rules for syn (compile time only)",
    ),
    (
        "serde_json",
        "JSON: ACME bodies, JWS headers, problem documents",
    ),
    ("memchr", "serde_json's fast scanning of strings"),
    ("zmij", "serde_json's float-to-text conversion"),
    ("ryu", "serde_json's float-to-text conversion"),
    (
        "base64ct",
        "base64url without padding (JWS, thumbprints, tokens), constant time",
    ),
    (
        "sha2",
        "SHA-256: JWK thumbprints (RFC 7638), key authorizations, dns-01 TXT values",
    ),
    ("digest", "sha2's hashing traits"),
    ("block-buffer", "sha2's block buffering"),
    ("crypto-common", "sha2's common cryptographic traits"),
    ("hybrid-array", "sha2's fixed-size arrays (typenum-sized)"),
    ("generic-array", "sha2's fixed-size arrays (typenum-sized)"),
    ("typenum", "type-level numbers for those arrays"),
    (
        "cpufeatures",
        "run-time CPU detection for sha2's SHA-NI/AVX code",
    ),
    ("cfg-if", "conditional compilation in sha2 and cpufeatures"),
    (
        "const-oid",
        "object identifiers of the hash algorithms (digest)",
    ),
    ("libc", "cpufeatures' CPU detection on some platforms"),
];

/// `cargo xtask bench [--runs N] [--offline]`.
pub(crate) fn command(args: &[String]) -> Result<ExitCode> {
    if args.first().map(String::as_str) == Some("--measure-child") {
        return measure_child(&args[1..]);
    }
    let mut runs = 10usize;
    let mut offline = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runs" => {
                let Some(n) = it.next().and_then(|v| v.parse().ok()).filter(|&n| n > 0) else {
                    bail!("--runs needs a positive number");
                };
                runs = n;
            }
            "--offline" => offline = true,
            other => bail!("unknown bench argument `{other}` (use --runs N, --offline)"),
        }
    }

    let started = Instant::now();
    let mut report = Report {
        machine: machine(),
        ..Report::default()
    };

    println!("\n==> bench: building the release examples");
    let issue_bin = build_example("acme-blocking", "issue")?;
    let concurrency_bin = if offline {
        None
    } else {
        Some(build_example("acme-tokio", "concurrency")?)
    };

    println!("\n==> bench: footprint");
    footprint(&issue_bin, &mut report)?;

    println!("\n==> bench: the core alone, in memory (cargo bench -p acme-crypto)");
    core(&mut report)?;

    if offline {
        report.notes.push(
            "`--offline`: the Pebble measurements (round trips, wall-clock, CPU and memory, \
             concurrency) were not run."
                .to_owned(),
        );
    } else if let Some(concurrency_bin) = concurrency_bin {
        against_pebble(&issue_bin, &concurrency_bin, runs, &mut report)?;
    }

    let table = report.table();
    println!("\n==> bench: results ({:.0?})\n", started.elapsed());
    print!("{table}");
    let failed = report
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .count();
    if offline {
        println!("\n(--offline: BENCHMARKS.md not written)");
    } else {
        let path = workspace_root().join("BENCHMARKS.md");
        fs::write(&path, report.markdown(runs))?;
        println!("\nwritten: {}", path.display());
    }
    if failed == 0 {
        println!("bench: every bar is met");
    } else {
        println!("bench: {failed} bar(s) not met (see the table)");
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------
// The report

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Pass,
    Fail,
    Info,
}

impl Verdict {
    fn of(pass: bool) -> Verdict {
        if pass { Verdict::Pass } else { Verdict::Fail }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Info => "",
        }
    }
}

struct Row {
    what: String,
    value: String,
    bar: String,
    verdict: Verdict,
}

#[derive(Default)]
struct Report {
    machine: Vec<(&'static str, String)>,
    rows: Vec<Row>,
    /// Markdown sections after the summary table.
    details: Vec<String>,
    notes: Vec<String>,
}

impl Report {
    fn row(
        &mut self,
        what: impl Into<String>,
        value: impl Into<String>,
        bar: &str,
        verdict: Verdict,
    ) {
        self.rows.push(Row {
            what: what.into(),
            value: value.into(),
            bar: bar.to_owned(),
            verdict,
        });
    }

    fn table(&self) -> String {
        let w =
            |f: fn(&Row) -> usize, min: usize| self.rows.iter().map(f).max().unwrap_or(0).max(min);
        let (a, b, c) = (
            w(|r| r.what.chars().count(), 4),
            w(|r| r.value.chars().count(), 8),
            w(|r| r.bar.chars().count(), 3),
        );
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<a$}  {:>b$}  {:<c$}  verdict",
            "what", "measured", "bar"
        );
        for r in &self.rows {
            let _ = writeln!(
                out,
                "{:<a$}  {:>b$}  {:<c$}  {}",
                r.what,
                r.value,
                r.bar,
                r.verdict.label()
            );
        }
        out
    }

    fn markdown(&self, runs: usize) -> String {
        let mut md = String::from(
            "# Benchmarks\n\nWritten by `cargo xtask bench` (see `xtask/src/bench.rs` for the method); \
             re-run it to refresh. Counts and ratios travel between machines; absolute times on \
             this machine are only indicative.\n\n## Machine\n\n| | |\n|---|---|\n",
        );
        for (k, v) in &self.machine {
            let _ = writeln!(md, "| {k} | {v} |");
        }
        let _ = writeln!(
            md,
            "\n## Results\n\nWall-clock, CPU and memory: median of {runs} runs unless said \
             otherwise.\n\n| what | measured | bar | verdict |\n|---|---:|---|---|"
        );
        for r in &self.rows {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                r.what,
                r.value,
                r.bar,
                match r.verdict {
                    Verdict::Pass => "pass",
                    Verdict::Fail => "**not met**",
                    Verdict::Info => "",
                }
            );
        }
        for d in &self.details {
            md.push('\n');
            md.push_str(d);
        }
        md.push_str("\n## Closing note\n\n");
        let failed: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.verdict == Verdict::Fail)
            .collect();
        if failed.is_empty() {
            md.push_str("Every bar is met.\n");
        } else {
            md.push_str("Bars not met in this run:\n\n");
            for r in failed {
                let _ = writeln!(md, "- {}: {} (bar {})", r.what, r.value, r.bar);
            }
        }
        for n in &self.notes {
            let _ = writeln!(md, "\n{n}");
        }
        md
    }
}

// ---------------------------------------------------------------------------------------
// Machine, builds, footprint

fn machine() -> Vec<(&'static str, String)> {
    let read = |p: &str| fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')))
        .map_or_else(|| "unknown".to_owned(), |(_, m)| m.trim().to_owned());
    let meminfo = read("/proc/meminfo");
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0),
        );
    let nproc = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let version = |cmd: &mut Command| {
        output(cmd.stderr(Stdio::null()))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "not installed".to_owned())
    };
    let dpkg =
        |name: &str| version(Command::new("dpkg-query").args(["-W", "-f", "${Version}", name]));
    vec![
        ("nproc", nproc.to_string()),
        ("CPU", cpu),
        ("memory", memory),
        (
            "kernel",
            read("/proc/sys/kernel/osrelease").trim().to_owned(),
        ),
        ("rustc", version(Command::new("rustc").arg("--version"))),
        ("Pebble (Debian package)", dpkg("pebble")),
        ("lego (Debian package)", dpkg("lego")),
        (
            "load average at start (1, 5, 15 min)",
            read("/proc/loadavg")
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ]
}

/// `cargo build --release -p PACKAGE --example NAME`; returns the executable.
fn build_example(package: &str, example: &str) -> Result<PathBuf> {
    println!("$ cargo build --release -p {package} --example {example}");
    let json = output(cargo().args([
        "build",
        "--release",
        "-p",
        package,
        "--example",
        example,
        "--message-format=json-render-diagnostics",
    ]))?;
    for line in json.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact"
            && msg["target"]["name"] == example
            && msg["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "example"))
            && let Some(exe) = msg["executable"].as_str()
        {
            return Ok(PathBuf::from(exe));
        }
    }
    bail!("cargo built no `{example}` example executable for {package}")
}

fn footprint(issue_bin: &Path, report: &mut Report) -> Result<()> {
    let size = fs::metadata(issue_bin)?.len();
    report.row(
        "footprint: release size of the blocking `issue` example",
        format!("{:.2} MiB", size as f64 / 1024.0 / 1024.0),
        "(reported)",
        Verdict::Info,
    );
    let tree = output(cargo().args([
        "tree",
        "-p",
        "acme-proto",
        "-e",
        "normal",
        "--prefix",
        "none",
    ]))?;
    let mut crates: BTreeMap<String, String> = BTreeMap::new();
    for line in tree.lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        if name != "acme-proto" {
            crates.insert(name.to_owned(), version.to_owned());
        }
    }
    let runtime = crates
        .keys()
        .filter(|n| !purpose(n).contains("compile time only"))
        .count();
    report.row(
        "footprint: crates in acme-proto's normal dependency tree",
        format!("{} ({runtime} linked)", crates.len()),
        "(reported)",
        Verdict::Info,
    );
    let mut md = String::from(
        "## acme-proto's dependency tree\n\n`cargo tree -p acme-proto -e normal --prefix none | sort -u`, \
         without acme-proto itself:\n\n| crate | version | what for |\n|---|---|---|\n",
    );
    for (name, version) in &crates {
        let _ = writeln!(md, "| {name} | {version} | {} |", purpose(name));
    }
    report.details.push(md);
    Ok(())
}

fn purpose(name: &str) -> &'static str {
    CRATE_PURPOSES.iter().find(|(n, _)| *n == name).map_or(
        "(new: say what it is for in xtask/src/bench.rs)",
        |(_, p)| p,
    )
}

// ---------------------------------------------------------------------------------------
// The core alone

/// One divan result line: name → median.
fn parse_divan(out: &str) -> BTreeMap<String, Duration> {
    let mut medians = BTreeMap::new();
    for line in out.lines() {
        let cells: Vec<&str> = line.split('│').collect();
        if cells.len() < 4 {
            continue;
        }
        let first = cells[0].trim_start_matches(|c: char| "├╰─│ ".contains(c));
        let Some(name) = first.split_whitespace().next() else {
            continue;
        };
        if let Some(median) = parse_time(cells[2]) {
            medians.insert(name.to_owned(), median);
        }
    }
    medians
}

/// `132.3 µs` → a duration.
fn parse_time(cell: &str) -> Option<Duration> {
    let mut words = cell.split_whitespace();
    let value: f64 = words.next()?.parse().ok()?;
    let scale = match words.next()? {
        "ns" => 1e-9,
        "µs" | "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(value * scale))
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn core(report: &mut Report) -> Result<()> {
    let out = output(cargo().args([
        "bench",
        "-p",
        "acme-crypto",
        "--bench",
        "core_issuance",
        "--",
        "--sample-count",
        "300",
    ]))?;
    print!("{out}");
    let medians = parse_divan(&out);
    let get = |name: &str| {
        medians
            .get(name)
            .copied()
            .ok_or_else(|| format!("the core_issuance bench printed no `{name}`"))
    };
    let signatures: u32 = out
        .lines()
        .find_map(|l| l.strip_prefix("per issuance: "))
        .and_then(|l| l.split(", ").nth(1))
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or("the core_issuance bench did not say how many signatures an issuance makes")?;
    let signature = get("es256_signature")?;
    let replay = get("replay_only")?;
    let total = get("issuance_es256_replay")?.saturating_sub(replay);
    let overhead = get("issuance_noop_replay")?.saturating_sub(replay);
    let signing = signature * signatures;
    let ratio = total.as_secs_f64() / signing.as_secs_f64();
    report.row(
        "core: protocol overhead per issuance (no-op signer)",
        micros(overhead),
        "≤ 50 µs",
        Verdict::of(overhead <= BAR_OVERHEAD),
    );
    report.row(
        format!(
            "core: ES256 issuance ÷ its {signatures} signatures ({} + {signatures} × {})",
            micros(total),
            micros(signature)
        ),
        format!("{ratio:.2}×"),
        "≤ 1.5×",
        Verdict::of(ratio <= BAR_SIGNATURE_RATIO),
    );
    let mut md = String::from(
        "## The core alone\n\n`cargo bench -p acme-crypto --bench core_issuance` (divan, medians): \
         new account, 1 name, http-01, finalize (one poll), certificate (one poll), driven in \
         virtual time. `replay` answers from a script recorded from the fake CA (its cost, \
         `replay_only`, is subtracted above); `fake_server` includes the fake CA's own work \
         (JWS parsing, state). divan is a dev-dependency of acme-crypto only: it gives robust \
         medians with per-benchmark inputs for 8 small new crates (divan, its macros, clap without its help \
         formatting, regex-lite), where criterion would add about 40 and minutes of build on 2 cores.\n\n\
         | benchmark | median |\n|---|---:|\n",
    );
    for (name, median) in &medians {
        let _ = writeln!(md, "| {name} | {} |", micros(*median));
    }
    report.details.push(md);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Measuring a child process

/// One run of a program, as the OS accounted it.
#[derive(Clone, Debug)]
struct Measured {
    wall: Duration,
    cpu: Duration,
    max_rss_kib: u64,
    success: bool,
    stdout: String,
    stderr: String,
}

/// `bench --measure-child PROGRAM ARGS...`: run the program (inherited stdio and
/// environment), then print its wall-clock, CPU time and peak RSS.
fn measure_child(args: &[String]) -> Result<ExitCode> {
    use nix::sys::resource::{UsageWho, getrusage};
    let Some((program, rest)) = args.split_first() else {
        bail!("--measure-child needs a program");
    };
    let started = Instant::now();
    let status = Command::new(program)
        .args(rest)
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let wall = started.elapsed();
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN)?;
    let us = |tv: nix::sys::time::TimeVal| {
        u64::try_from(tv.tv_sec()).unwrap_or(0) * 1_000_000
            + u64::try_from(tv.tv_usec()).unwrap_or(0)
    };
    println!(
        "{MEASURE_MARKER} wall_us={} cpu_us={} maxrss_kib={} success={}",
        wall.as_micros(),
        us(usage.user_time()) + us(usage.system_time()),
        usage.max_rss(),
        status.success()
    );
    Ok(ExitCode::SUCCESS)
}

/// Run `program` under the `--measure-child` parent.
fn measure(program: &Path, args: &[&str], env: &[(&str, String)]) -> Result<Measured> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .args(["bench", "--measure-child"])
        .arg(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let Some((child_out, line)) = stdout.rsplit_once(MEASURE_MARKER) else {
        bail!("measuring {} failed: {stderr}", program.display());
    };
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_default()
            .to_owned()
    };
    let num = |name: &str| field(name).parse::<u64>().unwrap_or(0);
    Ok(Measured {
        wall: Duration::from_micros(num("wall_us")),
        cpu: Duration::from_micros(num("cpu_us")),
        max_rss_kib: num("maxrss_kib"),
        success: field("success") == "true",
        stdout: child_out.to_owned(),
        stderr,
    })
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    match values.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2,
    }
}

fn median_u64(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Against Pebble

/// Where runs keep their files; removed at the end.
struct Scratch {
    dir: PathBuf,
    next: usize,
    tag: String,
}

impl Scratch {
    fn new() -> Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("acme-bench-{}", std::process::id()));
        fs::create_dir_all(&dir)?;
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(Scratch {
            dir,
            next: 0,
            tag: format!("{:x}", secs % 0x10_0000),
        })
    }

    /// A fresh directory.
    fn fresh(&mut self, label: &str) -> Result<PathBuf> {
        self.next += 1;
        let d = self.dir.join(format!("{label}-{}", self.next));
        fs::create_dir_all(&d)?;
        Ok(d)
    }

    /// A name nobody asked for yet.
    fn name(&mut self, label: &str) -> String {
        self.next += 1;
        format!("{label}{}-{}.bench.example.com", self.next, self.tag)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn example_env(out_dir: &Path, names: &[String]) -> Vec<(&'static str, String)> {
    vec![
        ("ACME_DIRECTORY", pebble::DIRECTORY_URL.to_owned()),
        (
            "ACME_CA_CERT",
            pebble::ca_cert_path().to_string_lossy().into_owned(),
        ),
        ("ACME_DOMAIN", names.join(",")),
        ("ACME_HTTP_PORT", pebble::HTTP_PORT.to_string()),
        ("ACME_OUT_DIR", out_dir.to_string_lossy().into_owned()),
        ("ACME_CHALLENGE", "http-01".to_owned()),
        ("ACME_VERBOSE", "0".to_owned()),
    ]
}

fn run_example(bin: &Path, out_dir: &Path, names: &[String]) -> Result<Measured> {
    let m = measure(bin, &[], &example_env(out_dir, names))?;
    if !m.success {
        bail!(
            "the blocking `issue` example failed for {}:\n{}{}",
            names.join(","),
            m.stdout,
            m.stderr
        );
    }
    Ok(m)
}

fn run_lego(lego: &Path, path: &Path, name: &str) -> Result<Measured> {
    let port = format!(":{}", pebble::HTTP_PORT);
    let path = path.to_string_lossy().into_owned();
    let m = measure(
        lego,
        &[
            "--server",
            pebble::DIRECTORY_URL,
            "--accept-tos",
            "--email",
            "bench@example.com",
            "--domains",
            name,
            "--http",
            "--http.port",
            &port,
            "--path",
            &path,
            "run",
        ],
        &[(
            "LEGO_CA_CERTIFICATES",
            pebble::ca_cert_path().to_string_lossy().into_owned(),
        )],
    )?;
    if !m.success {
        bail!("lego failed for {name}:\n{}{}", m.stdout, m.stderr);
    }
    Ok(m)
}

/// Requests Pebble logged after byte `from` of its log: `METHOD /path` → count.
fn pebble_requests(from: u64) -> Result<(BTreeMap<String, usize>, u64)> {
    let text = fs::read(pebble::log_path())?;
    let end = text.len() as u64;
    let start = usize::try_from(from).unwrap_or(0).min(text.len());
    let mut counts = BTreeMap::new();
    for line in String::from_utf8_lossy(&text[start..]).lines() {
        let Some(head) = line.strip_suffix(" -> calling handler()") else {
            continue;
        };
        let words: Vec<&str> = head.split_whitespace().collect();
        if let [.., method, path] = words.as_slice() {
            *counts.entry(format!("{method} {path}")).or_insert(0) += 1;
        }
    }
    Ok((counts, end))
}

fn log_len() -> u64 {
    fs::metadata(pebble::log_path()).map_or(0, |m| m.len())
}

/// What each of Pebble's routes is in ACME terms.
fn acme_name(route: &str) -> &'static str {
    match route.split_whitespace().nth(1).unwrap_or_default() {
        "/dir" => "directory",
        "/nonce-plz" => "newNonce",
        "/sign-me-up" => "newAccount",
        "/order-plz" => "newOrder",
        "/authZ/" => "authorization",
        "/chalZ/" => "challenge",
        "/my-order/" => "order (poll)",
        "/finalize-order/" => "finalize",
        "/certZ/" => "certificate",
        "/my-account/" => "account",
        _ => "",
    }
}

struct RoundTrips {
    label: &'static str,
    bar: usize,
    counts: BTreeMap<String, usize>,
    all: Vec<usize>,
}

impl RoundTrips {
    fn total(&self) -> usize {
        self.counts.values().sum()
    }
}

fn round_trips(bin: &Path, scratch: &mut Scratch) -> Result<Vec<RoundTrips>> {
    let mut results = Vec::new();
    for (label, names, bar, stored) in [
        ("new account + 1 name", 1, BAR_ROUND_TRIPS_ONE, false),
        ("new account + 5 names", 5, BAR_ROUND_TRIPS_FIVE, false),
        (
            "stored account, authorization still valid",
            1,
            BAR_ROUND_TRIPS_STORED,
            true,
        ),
    ] {
        let mut best: Option<BTreeMap<String, usize>> = None;
        let mut all = Vec::new();
        for _ in 0..ROUND_TRIP_REPEATS {
            let dir = scratch.fresh("rt")?;
            let list: Vec<String> = (0..names).map(|_| scratch.name("rt")).collect();
            if stored {
                // The first run registers the account and validates the name.
                run_example(bin, &dir, &list)?;
            }
            let from = log_len();
            run_example(bin, &dir, &list)?;
            let (counts, _) = pebble_requests(from)?;
            let total: usize = counts.values().sum();
            all.push(total);
            if best.as_ref().is_none_or(|b| total < b.values().sum()) {
                best = Some(counts);
            }
        }
        let rt = RoundTrips {
            label,
            bar,
            counts: best.unwrap_or_default(),
            all,
        };
        println!("round trips, {label}: {} (runs: {:?})", rt.total(), rt.all);
        results.push(rt);
    }
    Ok(results)
}

/// Medians of one client's runs.
struct Timing {
    wall: Duration,
    cpu: Duration,
    rss_kib: u64,
    rss_max_kib: u64,
}

fn timing(runs: &[Measured]) -> Timing {
    Timing {
        wall: median(runs.iter().map(|m| m.wall).collect()),
        cpu: median(runs.iter().map(|m| m.cpu).collect()),
        rss_kib: median_u64(runs.iter().map(|m| m.max_rss_kib).collect()),
        rss_max_kib: runs.iter().map(|m| m.max_rss_kib).max().unwrap_or(0),
    }
}

/// `runs` issuances (new account + 1 name) by the example and by lego, interleaved.
fn wall_clock(
    bin: &Path,
    lego: Option<&Path>,
    runs: usize,
    scratch: &mut Scratch,
) -> Result<(Timing, Option<Timing>)> {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let dir = scratch.fresh("wall")?;
        let name = scratch.name("wall");
        ours.push(run_example(bin, &dir, &[name])?);
        if let Some(lego) = lego {
            let dir = scratch.fresh("lego")?;
            let name = scratch.name("lego");
            theirs.push(run_lego(lego, &dir, &name)?);
        }
        println!(
            "  run {}/{runs}: acme-blocking {:.0?}{}",
            i + 1,
            ours[i].wall,
            theirs
                .get(i)
                .map(|m: &Measured| format!(", lego {:.0?}", m.wall))
                .unwrap_or_default()
        );
    }
    Ok((timing(&ours), lego.map(|_| timing(&theirs))))
}

fn against_pebble(
    issue_bin: &Path,
    concurrency_bin: &Path,
    runs: usize,
    report: &mut Report,
) -> Result<()> {
    let previous = pebble::running_options();
    let lego = find_executable("lego");
    if lego.is_none() {
        report.notes.push(
            "lego is not installed (`apt-get install lego`): the wall-clock bars, relative to \
             lego, could not be checked."
                .to_owned(),
        );
    }
    let base = PebbleOptions {
        nonce_reject: Some(0),
        nosleep: true,
        authz_reuse: Some(100),
        ..PebbleOptions::DEFAULT
    };
    let always_valid = PebbleOptions {
        always_valid: true,
        ..base
    };
    let mut scratch = Scratch::new()?;
    let result = (|| -> Result<()> {
        println!("\n==> bench: Pebble {}", always_valid.describe());
        let pebble = Pebble::start(always_valid)?;
        let rts = round_trips(issue_bin, &mut scratch)?;
        println!("wall-clock, CPU and memory ({runs} runs, PEBBLE_VA_ALWAYS_VALID=1)");
        let fast = wall_clock(issue_bin, lego.as_deref(), runs, &mut scratch)?;
        println!(
            "concurrency: {CONCURRENT_CERTIFICATES} certificates, {CONCURRENT_IN_FLIGHT} in flight"
        );
        let concurrent = measure(
            concurrency_bin,
            &[],
            &[
                ("ACME_DIRECTORY", pebble::DIRECTORY_URL.to_owned()),
                (
                    "ACME_CA_CERT",
                    pebble::ca_cert_path().to_string_lossy().into_owned(),
                ),
                ("ACME_HTTP_PORT", pebble::HTTP_PORT.to_string()),
                ("BENCH_CERTIFICATES", CONCURRENT_CERTIFICATES.to_string()),
                ("BENCH_PARALLEL", CONCURRENT_IN_FLIGHT.to_string()),
                ("BENCH_DOMAIN", format!("{}.bench.example.com", scratch.tag)),
            ],
        )?;
        print!("{}{}", concurrent.stdout, concurrent.stderr);
        pebble.stop()?;

        println!(
            "\n==> bench: Pebble {} (real http-01 validation)",
            base.describe()
        );
        let pebble = Pebble::start(base)?;
        println!("wall-clock, CPU and memory ({runs} runs, real http-01 validation)");
        let real = wall_clock(issue_bin, lego.as_deref(), runs, &mut scratch)?;
        pebble.stop()?;

        record_round_trips(&rts, report);
        record_timings("PEBBLE_VA_ALWAYS_VALID=1", &fast, report);
        record_timings("real http-01 validation", &real, report);
        record_concurrency(&concurrent, report);
        Ok(())
    })();
    if let Some(previous) = previous {
        println!(
            "\n==> bench: restarting the Pebble that was running ({})",
            previous.describe()
        );
        if let Err(e) = pebble::start_detached(previous) {
            eprintln!("warning: restarting Pebble: {e}");
        }
    }
    result
}

fn record_round_trips(rts: &[RoundTrips], report: &mut Report) {
    let mut md = String::from(
        "## Round trips per certificate\n\nCounted from Pebble's log (one line per request), \
         Pebble with `PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
         PEBBLE_AUTHZREUSE=100`, the blocking `issue` example, smallest of 3 runs.\n\n",
    );
    let routes: std::collections::BTreeSet<&String> =
        rts.iter().flat_map(|r| r.counts.keys()).collect();
    md.push_str("| request | ACME resource |");
    for r in rts {
        let _ = write!(md, " {} |", r.label);
    }
    md.push_str("\n|---|---|");
    for _ in rts {
        md.push_str("---:|");
    }
    md.push('\n');
    for route in routes {
        let _ = write!(md, "| `{route}` | {} |", acme_name(route));
        for r in rts {
            let _ = write!(md, " {} |", r.counts.get(route).copied().unwrap_or(0));
        }
        md.push('\n');
    }
    md.push_str("| **total** | |");
    for r in rts {
        let _ = write!(md, " **{}** |", r.total());
    }
    md.push_str(
        "\n\nFor reference (the issue's measurements against Pebble 2.4): lego 4.9 needs 11 for \
         one name, 24 for five and 8 with valid authorizations; certbot 2.1 10 and 23; \
         instant-acme 0.8 12 for one name; uacme 1.7 15.\n",
    );
    report.details.push(md);
    for r in rts {
        let total = r.total();
        report.row(
            format!("round trips: {}", r.label),
            total.to_string(),
            &format!("≤ {}", r.bar),
            Verdict::of(total <= r.bar),
        );
    }
}

fn record_timings(setting: &str, (ours, lego): &(Timing, Option<Timing>), report: &mut Report) {
    match lego {
        Some(lego) => {
            let ratio = ours.wall.as_secs_f64() / lego.wall.as_secs_f64();
            report.row(
                format!(
                    "wall-clock per issuance, {setting}: acme-blocking {} vs lego {}",
                    millis(ours.wall),
                    millis(lego.wall)
                ),
                format!("{ratio:.2}× lego"),
                "≤ 0.5× lego",
                Verdict::of(ratio <= BAR_WALL_VS_LEGO),
            );
        }
        None => report.row(
            format!("wall-clock per issuance, {setting} (lego not installed)"),
            millis(ours.wall),
            "≤ 0.5× lego",
            Verdict::Info,
        ),
    }
    report.row(
        format!("client CPU per issuance, {setting}"),
        millis(ours.cpu),
        "≤ 15 ms",
        Verdict::of(ours.cpu <= BAR_CPU),
    );
    report.row(
        format!(
            "client peak RSS per issuance, {setting} (largest run {:.1} MiB)",
            ours.rss_max_kib as f64 / 1024.0
        ),
        format!("{:.1} MiB", ours.rss_kib as f64 / 1024.0),
        "≤ 8 MiB",
        Verdict::of(ours.rss_kib <= BAR_RSS_KIB),
    );
    if let Some(lego) = lego {
        report.row(
            format!("lego, for reference, {setting}: CPU and peak RSS"),
            format!(
                "{} / {:.1} MiB",
                millis(lego.cpu),
                lego.rss_kib as f64 / 1024.0
            ),
            "",
            Verdict::Info,
        );
    }
}

fn record_concurrency(m: &Measured, report: &mut Report) {
    let field = |name: &str| {
        m.stdout
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let issued = field("certificates").unwrap_or(0.0);
    let failed = field("failed").unwrap_or(f64::NAN);
    let per_second = field("per_second").unwrap_or(0.0);
    let all = m.success && failed == 0.0 && issued as usize == CONCURRENT_CERTIFICATES;
    report.row(
        format!(
            "concurrency: {CONCURRENT_CERTIFICATES} certificates, {CONCURRENT_IN_FLIGHT} in flight, one account (acme-tokio)"
        ),
        format!("{issued:.0} issued, {failed:.0} failed"),
        "all succeed",
        Verdict::of(all),
    );
    report.row(
        "concurrency: certificates per second",
        format!("{per_second:.1}/s"),
        "(reported)",
        Verdict::Info,
    );
    let per_cert = if issued > 0.0 {
        m.cpu.div_f64(issued)
    } else {
        Duration::ZERO
    };
    report.row(
        "concurrency: client CPU per certificate (whole process ÷ certificates)",
        millis(per_cert),
        "(reported)",
        Verdict::Info,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divan_tables_are_read() {
        let out = "per issuance: 10 requests, 8 signatures\n\
core_issuance                        fastest       │ slowest       │ median        │ mean          │ samples │ iters\n\
├─ es256_signature                   125.7 µs      │ 14.69 ms      │ 132.3 µs      │ 525.3 µs      │ 100     │ 100\n\
╰─ replay_only                       1.381 µs      │ 28.18 µs      │ 1.612 µs      │ 2.047 µs      │ 100     │ 100\n";
        let m = parse_divan(out);
        assert_eq!(m.len(), 2);
        assert_eq!(m["es256_signature"], Duration::from_nanos(132_300));
        assert_eq!(m["replay_only"], Duration::from_nanos(1_612));
    }

    #[test]
    fn medians() {
        let ms = Duration::from_millis;
        assert_eq!(median(vec![ms(3), ms(1), ms(2)]), ms(2));
        assert_eq!(
            median(vec![ms(4), ms(1), ms(2), ms(3)]),
            Duration::from_micros(2500)
        );
    }

    #[test]
    fn every_current_dependency_has_a_purpose() {
        for name in ["http", "serde_json", "sha2", "typenum", "zmij", "syn"] {
            assert!(!purpose(name).starts_with("(new"), "{name}");
        }
    }

    #[test]
    fn pebble_routes_have_acme_names() {
        assert_eq!(acme_name("POST /finalize-order/"), "finalize");
        assert_eq!(acme_name("HEAD /nonce-plz"), "newNonce");
    }
}
