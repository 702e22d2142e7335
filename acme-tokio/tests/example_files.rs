//! The files the examples write (`examples-support/support.rs`, shared by every adapter's
//! example): they appear whole or not at all, and keys are readable by their owner only.
#![cfg(unix)]

#[path = "../../examples-support/support.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh directory under the system temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "acme-example-files-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn keys_are_0600_and_certificates_not_group_or_world_writable() {
    let dir = TempDir::new();
    let key = dir.0.join("privkey.pem");
    let chain = dir.0.join("fullchain.pem");
    support::write_file(&key, b"KEY", true).unwrap();
    support::write_file(&chain, b"CHAIN", false).unwrap();
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&chain) & 0o622, 0o600, "{:o}", mode(&chain));
    assert_eq!(std::fs::read(&key).unwrap(), b"KEY");
    assert_eq!(names(&dir.0), ["fullchain.pem", "privkey.pem"]);
}

#[test]
fn replacing_a_file_leaves_no_temporary_file_and_tightens_a_loose_key() {
    let dir = TempDir::new();
    let key = dir.0.join("privkey.pem");
    std::fs::write(&key, b"OLD").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    support::write_file(&key, b"NEW", true).unwrap();
    assert_eq!(std::fs::read(&key).unwrap(), b"NEW");
    assert_eq!(mode(&key), 0o600);
    assert_eq!(names(&dir.0), ["privkey.pem"]);
}

#[test]
fn a_stale_temporary_file_or_link_is_not_reused() {
    let dir = TempDir::new();
    let key = dir.0.join("privkey.pem");
    // Left by a crash, world-readable.
    let tmp = dir.0.join(".privkey.pem.tmp");
    std::fs::write(&tmp, b"stale").unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
    support::write_file(&key, b"KEY", true).unwrap();
    assert_eq!(mode(&key), 0o600);
    assert_eq!(std::fs::read(&key).unwrap(), b"KEY");

    // A link planted where the temporary file goes is not followed.
    let victim = dir.0.join("victim");
    std::fs::write(&victim, b"untouched").unwrap();
    std::os::unix::fs::symlink(&victim, &tmp).unwrap();
    support::write_file(&key, b"KEY2", true).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"untouched");
    assert_eq!(std::fs::read(&key).unwrap(), b"KEY2");
    assert_eq!(names(&dir.0), ["privkey.pem", "victim"]);
}

#[test]
fn a_failed_write_leaves_the_old_file_whole() {
    let dir = TempDir::new();
    let key = dir.0.join("privkey.pem");
    support::write_file(&key, b"OLD KEY", true).unwrap();
    // The temporary file cannot be created (a directory is in the way).
    std::fs::create_dir(dir.0.join(".privkey.pem.tmp")).unwrap();
    std::fs::write(dir.0.join(".privkey.pem.tmp/x"), b"x").unwrap();
    let err = support::write_file(&key, b"NEW KEY", true).unwrap_err();
    assert!(err.contains(".privkey.pem.tmp"), "{err}");
    assert_eq!(std::fs::read(&key).unwrap(), b"OLD KEY");
    assert_eq!(mode(&key), 0o600);

    // The rename fails (the target is a directory): no temporary file is left behind.
    let target = dir.0.join("fullchain.pem");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("x"), b"x").unwrap();
    let err = support::write_file(&target, b"CHAIN", false).unwrap_err();
    assert!(err.starts_with("writing "), "{err}");
    assert!(!dir.0.join(".fullchain.pem.tmp").exists());
}

#[test]
fn the_account_key_is_created_once_0600_then_reused() {
    let dir = TempDir::new();
    let (first, created) = support::account_key(&dir.0).unwrap();
    assert!(created);
    assert_eq!(mode(&dir.0.join("account.key")), 0o600);
    let (again, created) = support::account_key(&dir.0).unwrap();
    assert!(!created);
    assert_eq!(again.thumbprint(), first.thumbprint());
    assert_eq!(names(&dir.0), ["account.key"]);
}
