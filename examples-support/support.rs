// Shared by every adapter's `issue` example (included with `#[path]`): the environment
// contract, key and certificate files, error reporting and exit codes, and the summary. The
// ACME work itself is in each example, in its runtime's idiom.
#![allow(dead_code, clippy::print_stdout, clippy::print_stderr)]

use acme_crypto::{AccountFile, Algorithm, CertificateChain, KeyPair};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

/// `ACME_OUT_DIR` when it is not set.
pub(crate) const DEFAULT_OUT_DIR: &str = "out";

/// Why an example stopped. Exit code 2: the configuration (a variable, or a file or port it
/// names) is wrong, fix it and run again; 1: the run itself failed (the CA refused, the
/// network, writing the result).
#[derive(Debug)]
pub(crate) enum Failure {
    Config(String),
    Run(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Run(message)
    }
}

/// A configuration error (exit code 2).
pub(crate) fn config_error(message: impl Into<String>) -> Failure {
    Failure::Config(message.into())
}

/// Prints the failure as one line on stderr and returns its exit code.
pub(crate) fn exit(cfg: Option<&Config>, result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Run(message)) => {
            eprintln!("error: {}", with_hint(cfg, message));
            ExitCode::FAILURE
        }
    }
}

/// Adds what to check to errors whose cause is usually the configuration.
fn with_hint(cfg: Option<&Config>, message: String) -> String {
    if message.contains("UnknownIssuer") {
        let hint = match cfg.and_then(|c| c.ca_cert_path.as_deref()) {
            Some(_) => "(is ACME_CA_CERT the CA's root?)",
            None => "(a test CA: set ACME_CA_CERT to its root)",
        };
        return format!("{message} {hint}");
    }
    message
}

/// The examples' environment contract.
pub(crate) struct Config {
    pub(crate) directory: String,
    pub(crate) ca_cert: Option<Vec<u8>>,
    pub(crate) ca_cert_path: Option<String>,
    pub(crate) domains: Vec<String>,
    pub(crate) http_port: u16,
    pub(crate) tls_port: u16,
    pub(crate) challenge: String,
    pub(crate) challtestsrv: Option<String>,
    pub(crate) out_dir: PathBuf,
    pub(crate) verbose: bool,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Reads and checks the environment; every error here is a [`Failure::Config`].
pub(crate) fn config() -> Result<Config, Failure> {
    let directory = var("ACME_DIRECTORY")
        .ok_or("ACME_DIRECTORY is not set (the CA's directory URL)")
        .map_err(config_error)?;
    if directory
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
    {
        return Err(config_error(format!(
            "ACME_DIRECTORY={directory}: the examples refuse plain http (use the CA's https:// URL)"
        )));
    }
    // Checked here, not at the first request, so that a typo is a configuration error.
    acme_proto::http::transport::parse_url(&directory, false)
        .map_err(|e| config_error(format!("ACME_DIRECTORY={directory}: {}", e.message)))?;
    let ca_cert_path = var("ACME_CA_CERT");
    let ca_cert = match &ca_cert_path {
        Some(p) => {
            let pem =
                std::fs::read(p).map_err(|e| config_error(format!("ACME_CA_CERT {p}: {e}")))?;
            acme_crypto::tls_client::parse_root_pem(&pem)
                .map_err(|e| config_error(format!("ACME_CA_CERT {p}: {e}")))?;
            Some(pem)
        }
        None => None,
    };
    let domains: Vec<String> = var("ACME_DOMAIN")
        .ok_or("ACME_DOMAIN is not set (comma-separated names or IP addresses)")
        .map_err(config_error)?
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if domains.is_empty() {
        return Err(config_error("ACME_DOMAIN names no identifier"));
    }
    let port = |name: &str, default: u16| -> Result<u16, Failure> {
        match var(name) {
            Some(v) => v
                .parse()
                .map_err(|_| config_error(format!("{name}={v:?} is not a port number"))),
            None => Ok(default),
        }
    };
    let challenge = var("ACME_CHALLENGE").unwrap_or_else(|| "http-01".into());
    if !["http-01", "dns-01", "tls-alpn-01"].contains(&challenge.as_str()) {
        return Err(config_error(format!(
            "ACME_CHALLENGE={challenge:?}: use http-01, dns-01 or tls-alpn-01"
        )));
    }
    let challtestsrv = var("ACME_DNS_CHALLTESTSRV");
    if let Some(url) = &challtestsrv {
        // The management API is plain http on loopback (pebble-challtestsrv's own).
        acme_proto::http::transport::parse_url(url, true)
            .map_err(|e| config_error(format!("ACME_DNS_CHALLTESTSRV={url}: {}", e.message)))?;
    }
    if challenge == "dns-01" && challtestsrv.is_none() {
        return Err(config_error(
            "ACME_CHALLENGE=dns-01 needs ACME_DNS_CHALLTESTSRV (a pebble-challtestsrv \
             management API); for your own DNS servers use the adapter's dns01::Rfc2136Solver",
        ));
    }
    let out_dir = PathBuf::from(var("ACME_OUT_DIR").unwrap_or_else(|| DEFAULT_OUT_DIR.into()));
    std::fs::create_dir_all(&out_dir).map_err(|e| {
        config_error(format!(
            "ACME_OUT_DIR={}: creating the directory: {e}",
            out_dir.display()
        ))
    })?;
    Ok(Config {
        directory,
        ca_cert,
        ca_cert_path,
        domains,
        http_port: port("ACME_HTTP_PORT", 80)?,
        tls_port: port("ACME_TLS_PORT", 443)?,
        challenge,
        challtestsrv,
        out_dir,
        verbose: var("ACME_VERBOSE").is_some_and(|v| v != "0"),
    })
}

/// An error of the responder for `challenge` listening on `addr` (port from `variable`):
/// usually the port is taken or privileged, so it is a configuration error.
pub(crate) fn responder_error(
    challenge: &str,
    variable: &str,
    addr: std::net::SocketAddr,
    e: std::io::Error,
) -> Failure {
    config_error(format!(
        "{challenge} responder on {addr} ({variable}={}): {e}",
        addr.port()
    ))
}

/// An error of writing into `ACME_OUT_DIR`, naming the variable.
fn out_dir_error(out_dir: &Path, message: String) -> String {
    format!("ACME_OUT_DIR={}: {message}", out_dir.display())
}

/// The files in `ACME_OUT_DIR` this run wrote or reused, in order, for the summary.
static FILES: Mutex<Vec<(PathBuf, &'static str)>> = Mutex::new(Vec::new());

fn note_file(path: PathBuf, what: &'static str) {
    let mut files = FILES.lock().unwrap_or_else(|e| e.into_inner());
    files.retain(|(p, _)| *p != path);
    files.push((path, what));
}

/// Write `data` to `path` atomically: a temporary file in the same directory, synced, then
/// renamed over `path`, so that readers see the old file or the new one, never a part of
/// one. Mode 0600 for secrets (0644 otherwise), whatever a temporary file left behind by a
/// crash had: it is removed first and the new one created exclusively (never through a link).
pub(crate) fn write_file(path: &Path, data: &[u8], secret: bool) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", tmp.display())),
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable (best effort: not every platform can open a
        // directory).
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok::<(), std::io::Error>(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("writing {}: {e}", path.display())
    })
}

/// The account key in `out_dir/account.key`, created on first use (a configuration error
/// if it cannot be read or written: nothing was sent to the CA yet).
pub(crate) fn account_key(out_dir: &Path) -> Result<(KeyPair, bool), Failure> {
    let path = out_dir.join("account.key");
    match std::fs::read_to_string(&path) {
        Ok(pem) => {
            let key = KeyPair::from_pem(&pem).map_err(|e| {
                config_error(out_dir_error(
                    out_dir,
                    format!("reading {}: {e}", path.display()),
                ))
            })?;
            note_file(path, "(mode 0600; reused, unchanged)");
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = KeyPair::generate(Algorithm::Es256).map_err(|e| e.to_string())?;
            let pem = key.to_pkcs8_pem();
            write_file(&path, pem.as_bytes(), true)
                .map_err(|e| config_error(out_dir_error(out_dir, e)))?;
            note_file(path, "(mode 0600, new)");
            Ok((key, true))
        }
        Err(e) => Err(config_error(out_dir_error(
            out_dir,
            format!("reading {}: {e}", path.display()),
        ))),
    }
}

/// `out_dir/account.json`: the account of an earlier run (directory, account URL, key).
fn account_file(out_dir: &Path) -> PathBuf {
    out_dir.join("account.json")
}

/// The account an earlier run registered with this CA (same directory URL), if any: using it
/// costs no request (no `newAccount` lookup).
pub(crate) fn stored_account(cfg: &Config) -> Result<Option<AccountFile>, Failure> {
    let path = account_file(&cfg.out_dir);
    if !path.exists() {
        return Ok(None);
    }
    let stored = AccountFile::load(&path).map_err(|e| {
        config_error(out_dir_error(
            &cfg.out_dir,
            format!("reading {}: {e}", path.display()),
        ))
    })?;
    if stored.directory_url() != cfg.directory {
        return Ok(None);
    }
    note_file(path, "(mode 0600; reused, unchanged)");
    Ok(Some(stored))
}

/// Keep the account for the next run (`account.json`, mode 0600).
pub(crate) fn store_account(
    cfg: &Config,
    account_url: &str,
    key: std::sync::Arc<KeyPair>,
) -> Result<(), String> {
    let path = account_file(&cfg.out_dir);
    AccountFile::new(cfg.directory.as_str(), account_url, key)
        .and_then(|file| file.save(&path))
        .map_err(|e| out_dir_error(&cfg.out_dir, format!("writing {}: {e}", path.display())))?;
    note_file(path, "(mode 0600)");
    Ok(())
}

/// Write the chain and key, then print the summary.
pub(crate) fn finish(
    cfg: &Config,
    chain_pem: &str,
    key: &KeyPair,
    started: Instant,
) -> Result<(), String> {
    let chain = CertificateChain::from_pem(chain_pem.as_bytes())
        .map_err(|e| format!("the CA's chain: {e}"))?;
    let leaf = chain
        .leaf()
        .map_err(|e| format!("the CA's certificate: {e}"))?;
    let full = cfg.out_dir.join("fullchain.pem");
    let priv_path = cfg.out_dir.join("privkey.pem");
    let written = |e| out_dir_error(&cfg.out_dir, e);
    write_file(&full, chain_pem.as_bytes(), false).map_err(written)?;
    let key_pem = key.to_pkcs8_pem();
    write_file(&priv_path, key_pem.as_bytes(), true).map_err(written)?;
    let names: Vec<String> = leaf
        .subject_alt_names
        .iter()
        .map(|i| i.value.clone())
        .collect();
    let days = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    };
    println!("certificate issued in {:.2?}", started.elapsed());
    println!("  names:     {}", names.join(", "));
    println!("  issuer:    {}", leaf.issuer);
    println!(
        "  validity:  {} .. {} ({} days)",
        acme_proto::msgs::time::format_rfc3339(leaf.not_before),
        acme_proto::msgs::time::format_rfc3339(leaf.not_after),
        (days(leaf.not_after).saturating_sub(days(leaf.not_before)) + 43_199) / 86_400
    );
    println!("  chain:     {} certificates", chain.certificates().len());
    println!("  written:   {}", full.display());
    println!("             {} (mode 0600)", priv_path.display());
    let files = FILES.lock().unwrap_or_else(|e| e.into_inner());
    for (path, what) in files.iter() {
        println!("             {} {what}", path.display());
    }
    Ok(())
}

/// Minimal progress output for `ACME_VERBOSE=1`: the library's info events, with the time
/// since start. (A real program would install `tracing-subscriber`.)
pub(crate) struct Progress {
    pub(crate) started: Instant,
}

impl tracing::Subscriber for Progress {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        *m.level() <= tracing::Level::INFO
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Msg(String);
        impl tracing::field::Visit for Msg {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                } else {
                    self.0.push_str(&format!(" {}={value:?}", field.name()));
                }
            }
        }
        let mut m = Msg(String::new());
        event.record(&mut m);
        println!("[{:>7.3}s] {}", self.started.elapsed().as_secs_f64(), m.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
