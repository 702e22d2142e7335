//! Small helpers shared by the commands: errors, running child processes, formatting.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

/// Every command returns this; the message of the error is printed by `main`.
pub(crate) type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// `return Err(format!(...).into())`.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err(format!($($arg)*).into())
    };
}
pub(crate) use bail;

/// The workspace root (the parent of this crate's manifest directory).
pub(crate) fn workspace_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // xtask/ always sits directly in the workspace root.
    xtask_dir.parent().unwrap_or(xtask_dir).to_path_buf()
}

/// A `cargo` command run from the workspace root, with the same cargo that runs xtask.
///
/// The environment (including `CARGO_TARGET_DIR`, if the caller set one) is inherited, so
/// nested builds share the caller's target directory.
pub(crate) fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(program);
    cmd.current_dir(workspace_root());
    cmd
}

/// How a command is shown to the user: `cargo test --workspace`.
pub(crate) fn display(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(cmd.get_program())
        .to_string_lossy()
        .into_owned();
    let mut shown = program;
    for arg in cmd.get_args() {
        shown.push(' ');
        shown.push_str(&shell_word(&arg.to_string_lossy()));
    }
    shown
}

/// Like [`display`], preceded by the variables set on `cmd` (`NAME=value ... cargo run`), so
/// that the line can be pasted into a shell.
pub(crate) fn display_with_env(cmd: &Command) -> String {
    let mut shown = String::new();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            shown.push_str(&key.to_string_lossy());
            shown.push('=');
            shown.push_str(&shell_word(&value.to_string_lossy()));
            shown.push(' ');
        }
    }
    shown.push_str(&display(cmd));
    shown
}

/// `word`, single-quoted if a shell would split or expand it.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Runs `cmd` with inherited stdio, echoing it first; fails unless it exits with status 0.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let status = run_status(cmd)?;
    if !status.success() {
        bail!("`{}` failed ({})", display(cmd), describe_status(status));
    }
    Ok(())
}

/// Runs `cmd` with inherited stdio, echoing it first, and returns its exit status.
pub(crate) fn run_status(cmd: &mut Command) -> Result<ExitStatus> {
    println!("$ {}", display(cmd));
    cmd.status()
        .map_err(|e| format!("cannot run `{}`: {e}", display(cmd)).into())
}

/// Runs `cmd` quietly and returns its standard output; standard error goes to the terminal.
pub(crate) fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", display(cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({})",
            display(cmd),
            describe_status(out.status)
        );
    }
    Ok(String::from_utf8(out.stdout)
        .map_err(|_| format!("`{}` printed invalid UTF-8", display(cmd)))?)
}

/// "exit status 1" or "killed by signal 9".
pub(crate) fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "unknown exit status".to_owned(),
    }
}

/// `0.4s`, `12.3s`, `2m05s`.
pub(crate) fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// Looks up an executable on `PATH` (then in the usual system directories, in case `PATH` is
/// minimal, as under some CI runners).
pub(crate) fn find_executable(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_what_a_shell_would_split() {
        let mut cmd = Command::new("/usr/bin/pebble-challtestsrv");
        cmd.args(["-http01", "", "-x", "a b"]);
        assert_eq!(display(&cmd), "pebble-challtestsrv -http01 '' -x 'a b'");
    }

    #[test]
    fn display_with_env_shows_a_line_a_shell_can_run() {
        let mut cmd = Command::new("cargo");
        cmd.args(["run", "-q"])
            .env("A", "https://x:1/dir")
            .env("B", "it's $HOME")
            .env_remove("C");
        assert_eq!(
            display_with_env(&cmd),
            r"A=https://x:1/dir B='it'\''s $HOME' cargo run -q"
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(Duration::from_millis(400)), "0.4s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
    }

    #[test]
    fn finds_sh() {
        assert!(find_executable("sh").is_some());
        assert!(find_executable("no-such-program-xtask").is_none());
    }
}
