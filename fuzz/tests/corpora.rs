//! Stable replay of the fuzz corpora: every target runs over every file of
//! `corpus/<target>/` and `regressions/<target>/` (past crash inputs), so a regression is
//! caught by `cargo test` without nightly or libFuzzer. `cargo xtask ci` runs this in its
//! `fuzz-corpora` phase.

use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut total = 0;
    for (name, target) in acme_fuzz::TARGETS {
        let files = inputs(&root.join(kind).join(name));
        for file in &files {
            let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(
                outcome.is_ok(),
                "target `{name}` fails on {}: reproduce with `cargo xtask fuzz {name} --reproduce {}`",
                file.display(),
                file.display()
            );
        }
        total += files.len();
    }
    total
}

#[test]
fn corpus_inputs_pass() {
    let n = replay("corpus");
    assert!(n > 0, "no corpus files found under fuzz/corpus");
}

#[test]
fn regression_inputs_pass() {
    replay("regressions");
}

#[test]
fn every_target_has_a_corpus_and_an_entry_point() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, _) in acme_fuzz::TARGETS {
        assert!(
            root.join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "fuzz_targets/{name}.rs is missing"
        );
        assert!(
            !inputs(&root.join("corpus").join(name)).is_empty(),
            "corpus/{name} is empty"
        );
    }
}
