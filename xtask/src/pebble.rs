//! A local Pebble (Let's Encrypt's test ACME server) with pebble-challtestsrv as its DNS.
//!
//! Layout, all on loopback:
//!
//! | what                         | address                 |
//! |------------------------------|-------------------------|
//! | ACME directory               | `https://127.0.0.1:14000/dir` |
//! | Pebble management (roots...) | `https://127.0.0.1:15000` |
//! | challtestsrv DNS (UDP+TCP)   | `127.0.0.1:8053`, every A query → 127.0.0.1, no AAAA |
//! | challtestsrv management      | `http://127.0.0.1:8055` |
//! | http-01 / tls-alpn-01 checks | Pebble connects to ports 5002 / 5001 (our responders) |
//!
//! challtestsrv's own http-01/https-01/tls-alpn-01 responders are disabled so that the tests'
//! responders can bind 5002 and 5001.
//!
//! Everything lives in `<workspace>/.pebble/`: the listener CA (`ca.pem`, the file to trust),
//! the listener certificate and key, the generated config, the PID files, the options of the
//! running instance and the logs (`pebble.log`, `challtestsrv.log`).
//!
//! Two ways to run it:
//! * [`Pebble::start`] returns a guard that stops both processes when dropped (`ci`, `demo`);
//! * [`start_detached`] leaves them running after xtask exits (`cargo xtask pebble start`),
//!   and [`stop_recorded`] stops them by PID later.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Result, bail, find_executable, run, workspace_root};

/// The ACME directory URL.
pub(crate) const DIRECTORY_URL: &str = "https://127.0.0.1:14000/dir";
/// Pebble's management interface (`/roots/0`, `/intermediates/0`, ...), same TLS certificate.
pub(crate) const MANAGEMENT_URL: &str = "https://127.0.0.1:15000";
/// pebble-challtestsrv's management interface (`/set-txt`, `/clear-txt`, ...), plain HTTP.
pub(crate) const CHALLTESTSRV_URL: &str = "http://127.0.0.1:8055";
/// Where Pebble connects for http-01.
pub(crate) const HTTP_PORT: u16 = 5002;
/// Where Pebble connects for tls-alpn-01.
pub(crate) const TLS_PORT: u16 = 5001;

const ACME_ADDR: &str = "127.0.0.1:14000";
const MANAGEMENT_ADDR: &str = "127.0.0.1:15000";
const DNS_ADDR: &str = "127.0.0.1:8053";
const CHALLTESTSRV_MANAGEMENT_ADDR: &str = "127.0.0.1:8055";

const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// External account binding credentials of the `--eab` configuration: key ID and the HS256 MAC
/// key, base64url without padding (32 random bytes; test-only values).
pub(crate) const EAB_KEYS: [(&str, &str); 2] = [
    ("kid-1", "Eprg0UtvkCzWasVWzSc5H9jEU519aknn9vcVsAGMUc4"),
    ("kid-2", "l_mYY6HqhSUzy_inrjUAUTx92qqF9KvNd271wjZh6Dc"),
];

/// How to configure a Pebble instance. `DEFAULT` is Pebble's own behaviour (5 % of good nonces
/// rejected, random validation sleeps, real validation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PebbleOptions {
    /// Require external account binding (keys in [`EAB_KEYS`]).
    pub(crate) eab: bool,
    /// `PEBBLE_ALTERNATE_ROOTS`: number of alternate certificate chains.
    pub(crate) alt_roots: u32,
    /// `PEBBLE_WFE_NONCEREJECT`: percentage of valid nonces rejected as `badNonce`.
    pub(crate) nonce_reject: Option<u8>,
    /// `PEBBLE_VA_ALWAYS_VALID=1`: every challenge validates without being checked.
    pub(crate) always_valid: bool,
    /// `PEBBLE_VA_NOSLEEP=1`: no random sleep before validating.
    pub(crate) nosleep: bool,
    /// `PEBBLE_AUTHZREUSE`: percentage of valid authorizations reused.
    pub(crate) authz_reuse: Option<u8>,
    /// `PEBBLE_WFE_ORDERS_PER_PAGE`.
    pub(crate) orders_per_page: Option<u32>,
    /// `PEBBLE_CHAIN_LENGTH`: intermediates + 1.
    pub(crate) chain_length: Option<u32>,
}

impl PebbleOptions {
    /// Pebble's defaults.
    pub(crate) const DEFAULT: Self = Self {
        eab: false,
        alt_roots: 0,
        nonce_reject: None,
        always_valid: false,
        nosleep: false,
        authz_reuse: None,
        orders_per_page: None,
        chain_length: None,
    };

    /// Help text for the flags [`PebbleOptions::parse_flag`] understands.
    pub(crate) const FLAGS_HELP: &str =
        "  --eab                  require external account binding (ACME_TEST_EAB_KID/KEY are set)
  --alt-roots N          PEBBLE_ALTERNATE_ROOTS=N (alternate chains)
  --nonce-reject PCT     PEBBLE_WFE_NONCEREJECT=PCT (Pebble's default is 5)
  --always-valid         PEBBLE_VA_ALWAYS_VALID=1 (challenges are not really checked)
  --nosleep              PEBBLE_VA_NOSLEEP=1 (no random delay before validation)
  --authz-reuse PCT      PEBBLE_AUTHZREUSE=PCT
  --orders-per-page N    PEBBLE_WFE_ORDERS_PER_PAGE=N
  --chain-length N       PEBBLE_CHAIN_LENGTH=N";

    /// Applies `flag` (taking its value from `rest` if it needs one). Returns `Ok(false)` if the
    /// flag is not a Pebble option.
    pub(crate) fn parse_flag(
        &mut self,
        flag: &str,
        rest: &mut impl Iterator<Item = String>,
    ) -> Result<bool> {
        fn value<T>(
            flag: &str,
            rest: &mut impl Iterator<Item = String>,
            max: Option<T>,
        ) -> Result<T>
        where
            T: std::str::FromStr + PartialOrd + std::fmt::Display,
        {
            let Some(raw) = rest.next() else {
                bail!("{flag} needs a value");
            };
            let Ok(parsed) = raw.parse::<T>() else {
                bail!("{flag}: `{raw}` is not a valid number");
            };
            if let Some(max) = max
                && parsed > max
            {
                bail!("{flag}: {raw} is more than {max}");
            }
            Ok(parsed)
        }
        match flag {
            "--eab" => self.eab = true,
            "--always-valid" => self.always_valid = true,
            "--nosleep" => self.nosleep = true,
            "--alt-roots" => self.alt_roots = value(flag, rest, None)?,
            "--nonce-reject" => self.nonce_reject = Some(value(flag, rest, Some(100))?),
            "--authz-reuse" => self.authz_reuse = Some(value(flag, rest, Some(100))?),
            "--orders-per-page" => self.orders_per_page = Some(value(flag, rest, None)?),
            "--chain-length" => self.chain_length = Some(value(flag, rest, None)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Parses a whole argument list of Pebble options.
    pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Self> {
        let mut options = Self::DEFAULT;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if !options.parse_flag(&arg, &mut args)? {
                bail!("unknown Pebble option `{arg}`");
            }
        }
        Ok(options)
    }

    /// The flags that reproduce these options (empty for the defaults); also the format of the
    /// `.pebble/options` state file.
    pub(crate) fn to_flags(self) -> Vec<String> {
        let mut flags = Vec::new();
        let mut push = |flag: &str, value: Option<String>| {
            flags.push(flag.to_owned());
            flags.extend(value);
        };
        if self.eab {
            push("--eab", None);
        }
        if self.alt_roots != 0 {
            push("--alt-roots", Some(self.alt_roots.to_string()));
        }
        if let Some(pct) = self.nonce_reject {
            push("--nonce-reject", Some(pct.to_string()));
        }
        if self.always_valid {
            push("--always-valid", None);
        }
        if self.nosleep {
            push("--nosleep", None);
        }
        if let Some(pct) = self.authz_reuse {
            push("--authz-reuse", Some(pct.to_string()));
        }
        if let Some(n) = self.orders_per_page {
            push("--orders-per-page", Some(n.to_string()));
        }
        if let Some(n) = self.chain_length {
            push("--chain-length", Some(n.to_string()));
        }
        flags
    }

    /// A one-line description for messages.
    pub(crate) fn describe(self) -> String {
        let flags = self.to_flags();
        if flags.is_empty() {
            "default configuration".to_owned()
        } else {
            flags.join(" ")
        }
    }

    /// The `PEBBLE_*` environment of the pebble process.
    fn pebble_env(self) -> Vec<(&'static str, String)> {
        let mut env = Vec::new();
        if self.alt_roots != 0 {
            env.push(("PEBBLE_ALTERNATE_ROOTS", self.alt_roots.to_string()));
        }
        if let Some(pct) = self.nonce_reject {
            env.push(("PEBBLE_WFE_NONCEREJECT", pct.to_string()));
        }
        if self.always_valid {
            env.push(("PEBBLE_VA_ALWAYS_VALID", "1".to_owned()));
        }
        if self.nosleep {
            env.push(("PEBBLE_VA_NOSLEEP", "1".to_owned()));
        }
        if let Some(pct) = self.authz_reuse {
            env.push(("PEBBLE_AUTHZREUSE", pct.to_string()));
        }
        if let Some(n) = self.orders_per_page {
            env.push(("PEBBLE_WFE_ORDERS_PER_PAGE", n.to_string()));
        }
        if let Some(n) = self.chain_length {
            env.push(("PEBBLE_CHAIN_LENGTH", n.to_string()));
        }
        env
    }

    /// The environment contract for tests run against an instance with these options.
    pub(crate) fn test_env(self) -> Vec<(&'static str, String)> {
        let files = Files::new();
        let mut env = vec![
            ("ACME_TEST_DIRECTORY", DIRECTORY_URL.to_owned()),
            (
                "ACME_TEST_CA_CERT",
                files.ca_cert.to_string_lossy().into_owned(),
            ),
            ("ACME_TEST_PEBBLE_MGMT", MANAGEMENT_URL.to_owned()),
            ("ACME_TEST_CHALLTESTSRV", CHALLTESTSRV_URL.to_owned()),
            ("ACME_TEST_HTTP_PORT", HTTP_PORT.to_string()),
            ("ACME_TEST_TLS_PORT", TLS_PORT.to_string()),
        ];
        if self.eab {
            let (kid, key) = EAB_KEYS[0];
            env.push(("ACME_TEST_EAB_KID", kid.to_owned()));
            env.push(("ACME_TEST_EAB_KEY", key.to_owned()));
        }
        env
    }
}

/// The PEM file of the CA that signs Pebble's listener certificate (`ACME_TEST_CA_CERT`).
pub(crate) fn ca_cert_path() -> PathBuf {
    Files::new().ca_cert
}

/// Pebble's log (one `METHOD /path -> calling handler()` line per request), truncated at
/// each start.
pub(crate) fn log_path() -> PathBuf {
    Files::new().pebble_log
}

/// The files under `.pebble/`.
struct Files {
    dir: PathBuf,
    ca_cert: PathBuf,
    listener_cert: PathBuf,
    listener_key: PathBuf,
    config: PathBuf,
    pebble_pid: PathBuf,
    challtestsrv_pid: PathBuf,
    options: PathBuf,
    pebble_log: PathBuf,
    challtestsrv_log: PathBuf,
}

impl Files {
    fn new() -> Self {
        let dir = workspace_root().join(".pebble");
        Self {
            ca_cert: dir.join("ca.pem"),
            listener_cert: dir.join("listener-cert.pem"),
            listener_key: dir.join("listener-key.pem"),
            config: dir.join("pebble-config.json"),
            pebble_pid: dir.join("pebble.pid"),
            challtestsrv_pid: dir.join("challtestsrv.pid"),
            options: dir.join("options"),
            pebble_log: dir.join("pebble.log"),
            challtestsrv_log: dir.join("challtestsrv.log"),
            dir,
        }
    }

    /// (PID file, program name) of both processes, challtestsrv first.
    fn processes(&self) -> [(&Path, &'static str); 2] {
        [
            (&self.challtestsrv_pid, "pebble-challtestsrv"),
            (&self.pebble_pid, "pebble"),
        ]
    }
}

/// Paths of the two Pebble programs.
struct Programs {
    pebble: PathBuf,
    challtestsrv: PathBuf,
}

/// Finds `pebble` and `pebble-challtestsrv`, installing the Debian package when running as root
/// on Debian; otherwise fails with the command to run.
fn ensure_installed() -> Result<Programs> {
    let find = || {
        Some(Programs {
            pebble: find_executable("pebble")?,
            challtestsrv: find_executable("pebble-challtestsrv")?,
        })
    };
    if let Some(programs) = find() {
        return Ok(programs);
    }
    let debian = Path::new("/etc/debian_version").exists();
    if debian && is_root() && find_executable("apt-get").is_some() {
        println!("pebble is not installed: installing Debian's `pebble` package");
        run(Command::new("apt-get")
            .args(["update", "-q"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null()))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends", "pebble"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null()))?;
        return find().ok_or_else(|| {
            "apt-get installed `pebble` but `pebble`/`pebble-challtestsrv` are still not on PATH"
                .into()
        });
    }
    bail!(
        "Pebble is not installed (`pebble` and `pebble-challtestsrv` are not on PATH). Install it with:\n\nsudo apt-get install pebble\n"
    )
}

/// Whether this process runs with effective UID 0 (read from /proc: std has no geteuid).
fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
            .unwrap_or(false)
    })
}

/// Makes the listener CA, certificate and key unless they already exist. They are kept across
/// restarts so that `ACME_TEST_CA_CERT` stays valid for a developer's shell.
fn ensure_listener_certs(files: &Files) -> Result<()> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
        ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    };

    if files.ca_cert.is_file() && files.listener_cert.is_file() && files.listener_key.is_file() {
        return Ok(());
    }
    let name = |cn: &str| {
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "acme-rs xtask (testing only)");
        dn.push(DnType::CommonName, cn);
        dn
    };

    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name = name("Pebble listener test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let leaf_key = KeyPair::generate()?;
    let mut leaf_params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])?;
    leaf_params.distinguished_name = name("localhost");
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf = leaf_params.signed_by(&leaf_key, &ca)?;

    fs::create_dir_all(&files.dir)?;
    write_file(&files.listener_key, &leaf_key.serialize_pem(), 0o600)?;
    write_file(&files.listener_cert, &leaf.pem(), 0o644)?;
    // Written last: its presence means the set is complete.
    write_file(&files.ca_cert, &ca.pem(), 0o644)?;
    println!(
        "generated Pebble's listener CA {} and certificate for localhost, 127.0.0.1, ::1",
        files.ca_cert.display()
    );
    Ok(())
}

fn write_file(path: &Path, contents: &str, mode: u32) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

fn write_config(files: &Files, options: PebbleOptions) -> Result<()> {
    let mut pebble = serde_json::json!({
        "listenAddress": ACME_ADDR,
        "managementListenAddress": MANAGEMENT_ADDR,
        "certificate": files.listener_cert,
        "privateKey": files.listener_key,
        "httpPort": HTTP_PORT,
        "tlsPort": TLS_PORT,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": options.eab,
    });
    if options.eab {
        let keys: serde_json::Map<String, serde_json::Value> = EAB_KEYS
            .iter()
            .map(|(kid, key)| ((*kid).to_owned(), (*key).into()))
            .collect();
        pebble["externalAccountMACKeys"] = keys.into();
    }
    let config = serde_json::json!({ "pebble": pebble });
    write_file(
        &files.config,
        &serde_json::to_string_pretty(&config)?,
        0o644,
    )
}

/// A running Pebble + challtestsrv pair, stopped when dropped.
#[must_use = "Pebble stops when this guard is dropped"]
pub(crate) struct Pebble {
    options: PebbleOptions,
    files: Files,
    /// challtestsrv, then pebble; `None` once stopped or detached.
    children: Option<[Child; 2]>,
}

impl Pebble {
    /// Starts a fresh instance (stopping any instance recorded in `.pebble/` first) and waits
    /// until it answers. Both processes stay in xtask's process group, so Ctrl-C stops them too.
    pub(crate) fn start(options: PebbleOptions) -> Result<Self> {
        Self::launch(options, false)
    }

    fn launch(options: PebbleOptions, detached: bool) -> Result<Self> {
        let programs = ensure_installed()?;
        let files = Files::new();
        if stop_recorded()? {
            println!("stopped the Pebble that was already running");
        }
        ensure_ports_free()?;
        fs::create_dir_all(&files.dir)?;
        ensure_listener_certs(&files)?;
        write_config(&files, options)?;

        let spawn = |cmd: &mut Command, log: &Path| -> Result<Child> {
            let log_file = fs::File::create(log)?;
            cmd.stdin(Stdio::null())
                .stdout(log_file.try_clone()?)
                .stderr(log_file)
                .current_dir(&files.dir);
            // Pebble reads its knobs from PEBBLE_* variables: only ours must reach it.
            for (key, _) in std::env::vars_os() {
                if key.to_string_lossy().starts_with("PEBBLE_") {
                    cmd.env_remove(key);
                }
            }
            if detached {
                // Own process group: a Ctrl-C in the terminal that ran `pebble start` must not
                // reach it later.
                cmd.process_group(0);
            }
            cmd.spawn()
                .map_err(|e| format!("cannot start {}: {e}", cmd.get_program().display()).into())
        };

        let mut challtestsrv = spawn(
            Command::new(&programs.challtestsrv).args([
                "-dns01",
                DNS_ADDR,
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-management",
                CHALLTESTSRV_MANAGEMENT_ADDR,
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
            ]),
            &files.challtestsrv_log,
        )?;
        let pebble = spawn(
            Command::new(&programs.pebble)
                .arg("-config")
                .arg(&files.config)
                .args(["-dnsserver", DNS_ADDR])
                .envs(options.pebble_env()),
            &files.pebble_log,
        );
        let pebble = match pebble {
            Ok(pebble) => pebble,
            Err(e) => {
                let _ = challtestsrv.kill();
                let _ = challtestsrv.wait();
                return Err(e);
            }
        };
        let mut guard = Self {
            options,
            children: Some([challtestsrv, pebble]),
            files,
        };
        // From here on, dropping `guard` on an error stops both.
        guard.record()?;
        guard.wait_ready()?;
        Ok(guard)
    }

    fn record(&self) -> Result<()> {
        let Some([challtestsrv, pebble]) = &self.children else {
            return Ok(());
        };
        write_file(
            &self.files.challtestsrv_pid,
            &format!("{}\n", challtestsrv.id()),
            0o644,
        )?;
        write_file(&self.files.pebble_pid, &format!("{}\n", pebble.id()), 0o644)?;
        write_file(
            &self.files.options,
            &format!("{}\n", self.options.to_flags().join(" ")),
            0o644,
        )
    }

    /// Waits until every listener accepts connections, or a process dies, or the timeout.
    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut pending: Vec<SocketAddr> = [
            ACME_ADDR,
            MANAGEMENT_ADDR,
            DNS_ADDR,
            CHALLTESTSRV_MANAGEMENT_ADDR,
        ]
        .iter()
        .map(|a| a.parse().expect("constant socket address"))
        .collect();
        loop {
            if let Some(children) = &mut self.children {
                for (child, (_, name)) in children.iter_mut().zip(self.files.processes()) {
                    if let Some(status) = child.try_wait()? {
                        let log = if name == "pebble" {
                            &self.files.pebble_log
                        } else {
                            &self.files.challtestsrv_log
                        };
                        bail!(
                            "{name} exited during startup ({}); end of {}:\n{}",
                            crate::util::describe_status(status),
                            log.display(),
                            log_tail(log)
                        );
                    }
                }
            }
            // Probe each listener until it answers once (every probe of a TLS port costs a
            // "TLS handshake error ... EOF" line in Pebble's log).
            pending.retain(|addr| {
                TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_err()
            });
            if pending.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "Pebble did not come up within {}s (nothing listening on {pending:?}); see {} and {}",
                    START_TIMEOUT.as_secs(),
                    self.files.pebble_log.display(),
                    self.files.challtestsrv_log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The environment contract for tests run against this instance.
    pub(crate) fn test_env(&self) -> Vec<(&'static str, String)> {
        self.options.test_env()
    }

    /// Stops both processes and removes the PID files.
    pub(crate) fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        let Some(children) = self.children.take() else {
            return Ok(());
        };
        let mut errors = Vec::new();
        // Pebble first, then its DNS.
        for (mut child, (pid_file, name)) in children.into_iter().zip(self.files.processes()).rev()
        {
            if let Err(e) = terminate(child.id(), name, Some(&mut child)) {
                errors.push(e.to_string());
            }
            let _ = fs::remove_file(pid_file);
        }
        let _ = fs::remove_file(&self.files.options);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; ").into())
        }
    }

    /// Leaves the processes running after this guard is gone (they were started in their own
    /// process group); `stop_recorded` stops them later.
    fn detach(mut self) {
        self.children = None;
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            eprintln!("warning: stopping Pebble: {e}");
        }
    }
}

/// Starts Pebble and leaves it running after xtask exits. If an instance with the same options
/// is already running and answering, it is reused; otherwise it is restarted.
pub(crate) fn start_detached(options: PebbleOptions) -> Result<()> {
    if let Some(running) = running_options()
        && running == options
        && listeners_up()
    {
        println!(
            "Pebble is already running ({}): reusing it",
            options.describe()
        );
        return Ok(());
    }
    let pebble = Pebble::launch(options, true)?;
    pebble.detach();
    println!(
        "Pebble is running ({}); logs in {}",
        options.describe(),
        Files::new().dir.display()
    );
    Ok(())
}

/// Stops the instance recorded in `.pebble/` (if any). Returns whether something was stopped.
pub(crate) fn stop_recorded() -> Result<bool> {
    let files = Files::new();
    let mut stopped = false;
    let mut errors = Vec::new();
    for (pid_file, name) in files.processes().into_iter().rev() {
        if let Some(pid) = read_pid(pid_file) {
            if process_matches(pid, name) {
                match terminate(pid, name, None) {
                    Ok(()) => stopped = true,
                    Err(e) => errors.push(e.to_string()),
                }
            }
            let _ = fs::remove_file(pid_file);
        }
    }
    let _ = fs::remove_file(&files.options);
    if errors.is_empty() {
        Ok(stopped)
    } else {
        Err(errors.join("; ").into())
    }
}

/// The options of the recorded instance, if both of its processes are alive.
pub(crate) fn running_options() -> Option<PebbleOptions> {
    let files = Files::new();
    let all_alive = files
        .processes()
        .iter()
        .all(|(pid_file, name)| read_pid(pid_file).is_some_and(|pid| process_matches(pid, name)));
    if !all_alive {
        return None;
    }
    let flags = fs::read_to_string(&files.options).ok()?;
    PebbleOptions::parse(flags.split_whitespace().map(str::to_owned)).ok()
}

/// Whether every listener of Pebble and challtestsrv accepts connections.
pub(crate) fn listeners_up() -> bool {
    [
        ACME_ADDR,
        MANAGEMENT_ADDR,
        DNS_ADDR,
        CHALLTESTSRV_MANAGEMENT_ADDR,
    ]
    .iter()
    .all(|addr| {
        let addr: SocketAddr = addr.parse().expect("constant socket address");
        TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
    })
}

/// Fails with a clear message if another program holds one of our addresses.
fn ensure_ports_free() -> Result<()> {
    let mut busy = Vec::new();
    for addr in [
        ACME_ADDR,
        MANAGEMENT_ADDR,
        DNS_ADDR,
        CHALLTESTSRV_MANAGEMENT_ADDR,
    ] {
        if TcpListener::bind(addr).is_err() {
            busy.push(format!("{addr}/tcp"));
        }
    }
    if UdpSocket::bind(DNS_ADDR).is_err() {
        busy.push(format!("{DNS_ADDR}/udp"));
    }
    if !busy.is_empty() {
        bail!(
            "cannot start Pebble: {} already in use by a process xtask did not record \
             (a Pebble started by hand? `ss -ltnup` shows the owner)",
            busy.join(", ")
        );
    }
    Ok(())
}

fn read_pid(pid_file: &Path) -> Option<u32> {
    fs::read_to_string(pid_file).ok()?.trim().parse().ok()
}

/// Whether `pid` is a live (not zombie) process running the program `name`.
fn process_matches(pid: u32, name: &str) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let argv0 = cmdline.split(|&b| b == 0).next().unwrap_or_default();
    let argv0 = String::from_utf8_lossy(argv0);
    Path::new(argv0.as_ref())
        .file_name()
        .is_some_and(|f| f == name)
        && is_alive(pid)
}

/// Whether `pid` exists and is not a zombie.
fn is_alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name, which may itself contain ')'.
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, None | Some("Z" | "X" | "x"))
}

/// Sends SIGTERM, waits up to `STOP_TIMEOUT`, then SIGKILL. `child` is given when `pid` is our
/// child, so that it is reaped.
fn terminate(pid: u32, name: &str, mut child: Option<&mut Child>) -> Result<()> {
    let exited = |child: &mut Option<&mut Child>| match child {
        Some(child) => child.try_wait().map(|s| s.is_some()).unwrap_or(true),
        None => !is_alive(pid),
    };
    if exited(&mut child) {
        return Ok(());
    }
    send_signal(pid, "TERM")?;
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if exited(&mut child) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    eprintln!("{name} (pid {pid}) ignored SIGTERM for {STOP_TIMEOUT:?}: sending SIGKILL");
    send_signal(pid, "KILL")?;
    match child {
        Some(child) => {
            child.wait()?;
        }
        None => {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while is_alive(pid) {
                if Instant::now() >= deadline {
                    bail!("{name} (pid {pid}) survived SIGKILL");
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        }
    }
    Ok(())
}

/// `kill -s SIG PID` through the shell's builtin (std cannot signal arbitrary PIDs, and the
/// workspace forbids `unsafe`; `/bin/sh` exists everywhere, unlike procps' `kill`).
fn send_signal(pid: u32, signal: &str) -> Result<()> {
    let status = Command::new("sh")
        .args(["-c", "kill -s \"$1\" \"$2\" 2>/dev/null", "sh", signal])
        .arg(pid.to_string())
        .status()?;
    // A failure here means the process is already gone, which is what we want.
    let _ = status;
    Ok(())
}

fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// `cargo xtask pebble status`: returns whether the recorded instance is up.
pub(crate) fn status() -> bool {
    let files = Files::new();
    let mut all_alive = true;
    for (pid_file, name) in files.processes() {
        match read_pid(pid_file) {
            Some(pid) if process_matches(pid, name) => println!("{name}: running (pid {pid})"),
            Some(pid) => {
                all_alive = false;
                println!(
                    "{name}: not running (stale pid {pid} in {})",
                    pid_file.display()
                );
            }
            None => {
                all_alive = false;
                println!("{name}: not running");
            }
        }
    }
    if !all_alive {
        return false;
    }
    if let Some(options) = running_options() {
        println!("options: {}", options.describe());
    }
    let up = listeners_up();
    println!(
        "listeners ({ACME_ADDR}, {MANAGEMENT_ADDR}, {DNS_ADDR}, {CHALLTESTSRV_MANAGEMENT_ADDR}): {}",
        if up { "up" } else { "NOT all answering" }
    );
    println!("directory: {DIRECTORY_URL}");
    println!(
        "logs: {} {}",
        files.pebble_log.display(),
        files.challtestsrv_log.display()
    );
    up
}

/// `export NAME='value'` lines for a POSIX shell.
pub(crate) fn shell_exports(env: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (key, value) in env {
        let _ = writeln!(out, "export {key}='{}'", value.replace('\'', r"'\''"));
    }
    out
}

/// `cargo xtask pebble [start|stop|status|env] [options]`.
pub(crate) fn command(args: &[String]) -> Result<ExitCode> {
    let mut args = args.iter().cloned().peekable();
    let action = match args.peek().map(String::as_str) {
        Some("start" | "stop" | "status" | "env") => args.next().unwrap_or_default(),
        _ => "start".to_owned(),
    };
    let given: Vec<String> = args.collect();
    let options = PebbleOptions::parse(given.iter().cloned())?;
    match action.as_str() {
        "start" => {
            start_detached(options)?;
            println!("test environment: eval \"$(cargo xtask pebble env)\"");
        }
        "stop" => {
            if !given.is_empty() {
                bail!("`pebble stop` takes no options");
            }
            if stop_recorded()? {
                println!("Pebble stopped");
            } else {
                println!("Pebble was not running");
            }
        }
        "status" => {
            if !given.is_empty() {
                bail!("`pebble status` takes no options");
            }
            if !status() {
                return Ok(ExitCode::FAILURE);
            }
        }
        "env" => {
            // Explicit options win; otherwise describe the running instance.
            let options = if given.is_empty() {
                running_options().unwrap_or(options)
            } else {
                options
            };
            print!("{}", shell_exports(&options.test_env()));
        }
        _ => unreachable!("action is one of the four matched above"),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn options_round_trip_through_flags() {
        let options = PebbleOptions::parse(args("--eab --alt-roots 2 --nonce-reject 50 --nosleep"))
            .expect("valid flags");
        assert!(options.eab && options.nosleep && !options.always_valid);
        assert_eq!(options.alt_roots, 2);
        assert_eq!(options.nonce_reject, Some(50));
        assert_eq!(PebbleOptions::parse(options.to_flags()).ok(), Some(options));
        assert_eq!(PebbleOptions::DEFAULT.describe(), "default configuration");
    }

    #[test]
    fn bad_options_are_rejected() {
        assert!(PebbleOptions::parse(args("--nonce-reject 101")).is_err());
        assert!(PebbleOptions::parse(args("--alt-roots")).is_err());
        assert!(PebbleOptions::parse(args("--alt-roots x")).is_err());
        assert!(PebbleOptions::parse(args("--bogus")).is_err());
    }

    #[test]
    fn pebble_env_matches_options() {
        let options =
            PebbleOptions::parse(args("--always-valid --authz-reuse 100")).expect("valid flags");
        assert_eq!(
            options.pebble_env(),
            vec![
                ("PEBBLE_VA_ALWAYS_VALID", "1".to_owned()),
                ("PEBBLE_AUTHZREUSE", "100".to_owned()),
            ]
        );
    }

    #[test]
    fn eab_credentials_only_in_eab_env() {
        let has_eab =
            |o: PebbleOptions| o.test_env().iter().any(|(k, _)| *k == "ACME_TEST_EAB_KID");
        assert!(!has_eab(PebbleOptions::DEFAULT));
        assert!(has_eab(PebbleOptions {
            eab: true,
            ..PebbleOptions::DEFAULT
        }));
    }

    #[test]
    fn exports_are_shell_quoted() {
        assert_eq!(
            shell_exports(&[("A", "it's".to_owned())]),
            "export A='it'\\''s'\n"
        );
    }

    /// `host:port` of an `http(s)://host:port/...` URL.
    fn authority(url: &str) -> &str {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        rest.split('/').next().unwrap_or(rest)
    }

    /// Skips a (possibly compressed) DNS name starting at `pos`.
    fn skip_name(msg: &[u8], mut pos: usize) -> usize {
        loop {
            let len = usize::from(msg[pos]);
            if len == 0 {
                return pos + 1;
            }
            if len & 0xC0 == 0xC0 {
                return pos + 2;
            }
            pos += 1 + len;
        }
    }

    /// The RDATA of the answers to one query sent to challtestsrv's DNS server.
    fn dns_answers(name: &str, qtype: u16) -> Vec<Vec<u8>> {
        let mut query = vec![0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            query.push(u8::try_from(label.len()).expect("short label"));
            query.extend_from_slice(label.as_bytes());
        }
        query.push(0);
        query.extend_from_slice(&qtype.to_be_bytes());
        query.extend_from_slice(&1u16.to_be_bytes());
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket");
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("set timeout");
        socket.send_to(&query, DNS_ADDR).expect("send DNS query");
        let mut buf = [0u8; 1500];
        let len = socket.recv(&mut buf).expect("DNS answer within 5 s");
        let msg = &buf[..len];
        assert_eq!(msg[..2], [0x42, 0x42], "answer to our query");
        let answers = u16::from_be_bytes([msg[6], msg[7]]);
        let mut pos = skip_name(msg, 12) + 4;
        let mut rdata = Vec::new();
        for _ in 0..answers {
            pos = skip_name(msg, pos) + 8;
            let rdlen = usize::from(u16::from_be_bytes([msg[pos], msg[pos + 1]]));
            rdata.push(msg[pos + 2..pos + 2 + rdlen].to_vec());
            pos += 2 + rdlen;
        }
        rdata
    }

    #[test]
    fn authority_of_urls() {
        assert_eq!(authority(DIRECTORY_URL), "127.0.0.1:14000");
        assert_eq!(authority(CHALLTESTSRV_URL), "127.0.0.1:8055");
    }

    /// The environment contract, checked against the instance `cargo xtask ci` starts.
    #[test]
    #[ignore = "needs Pebble (cargo xtask ci)"]
    fn pebble_environment_contract_holds() {
        let var = |key: &str| std::env::var(key).unwrap_or_else(|_| panic!("{key} is not set"));
        assert_eq!(var("ACME_TEST_DIRECTORY"), DIRECTORY_URL);
        let ca = fs::read_to_string(var("ACME_TEST_CA_CERT")).expect("ACME_TEST_CA_CERT readable");
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        for key in [
            "ACME_TEST_DIRECTORY",
            "ACME_TEST_PEBBLE_MGMT",
            "ACME_TEST_CHALLTESTSRV",
        ] {
            let addr: SocketAddr = authority(&var(key)).parse().expect("IP:port URL");
            TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("{key}: cannot connect to {addr}: {e}"));
        }
        // Every name resolves to 127.0.0.1, and only over IPv4.
        assert_eq!(dns_answers("demo.example.com", 1), vec![vec![127, 0, 0, 1]]);
        assert_eq!(dns_answers("demo.example.com", 28), Vec::<Vec<u8>>::new());
        // challtestsrv's own responders are off: the tests' responders can bind these ports.
        for key in ["ACME_TEST_HTTP_PORT", "ACME_TEST_TLS_PORT"] {
            let port: u16 = var(key).parse().expect("a port number");
            TcpListener::bind(("127.0.0.1", port))
                .unwrap_or_else(|e| panic!("{key}: port {port} is taken: {e}"));
        }
    }

    #[test]
    fn this_process_is_alive_and_not_pebble() {
        let me = std::process::id();
        assert!(is_alive(me));
        assert!(!process_matches(me, "pebble"));
    }
}
