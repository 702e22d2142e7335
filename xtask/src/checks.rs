//! Static checks of the dependency graph: `purity` (acme-proto stays sans-IO) and `msrv`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fs;
use std::process::ExitCode;

use serde_json::Value;

use crate::util::{Result, bail, cargo, output, run, workspace_root};

/// Crates that mean sockets, an async runtime, an HTTP stack or OS randomness. None of them may
/// be a normal dependency of the sans-IO core.
const IMPURE: &[&str] = &[
    "tokio",
    "mio",
    "socket2",
    "getrandom",
    "hyper",
    "reqwest",
    "ureq",
    "async-io",
    "async-std",
    "smol",
    "rand",
];

/// The package whose dependency tree must stay pure.
const CORE: &str = "acme-proto";

/// `cargo xtask purity`.
pub(crate) fn purity_command(args: &[String]) -> Result<ExitCode> {
    no_args("purity", args)?;
    purity()?;
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask msrv`.
pub(crate) fn msrv_command(args: &[String]) -> Result<ExitCode> {
    no_args("msrv", args)?;
    msrv()?;
    Ok(ExitCode::SUCCESS)
}

fn no_args(command: &str, args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("`{command}` takes no arguments (got `{arg}`)");
    }
    Ok(())
}

/// Fails if the normal dependency tree of acme-proto (all features, all target platforms)
/// contains one of [`IMPURE`], after printing how each one is reached.
pub(crate) fn purity() -> Result<()> {
    let tree_args = [
        "tree",
        "-p",
        CORE,
        "-e",
        "normal",
        "--all-features",
        "--target",
        "all",
    ];
    let tree = output(cargo().args(tree_args).args(["--prefix", "none"]))?;
    let packages = parse_tree_packages(&tree);
    let offenders: Vec<&(String, String)> = packages
        .iter()
        .filter(|(name, _)| IMPURE.contains(&name.as_str()))
        .collect();
    if offenders.is_empty() {
        println!(
            "purity: ok: the {} packages in {CORE}'s normal dependency tree include none of {}",
            packages.len(),
            IMPURE.join(", ")
        );
        return Ok(());
    }
    for (name, version) in &offenders {
        println!("\n{name} {version} reaches {CORE} through:");
        run(cargo()
            .args(tree_args)
            .args(["--invert", &format!("{name}@{version}")]))?;
    }
    let names: Vec<String> = offenders
        .iter()
        .map(|(name, version)| format!("{name} {version}"))
        .collect();
    bail!(
        "purity: {CORE} must not depend on I/O, clocks or OS randomness (its determinism \
         contract), but its tree contains: {} (paths above)",
        names.join(", ")
    )
}

/// (name, version) of every line of `cargo tree --prefix none`.
fn parse_tree_packages(tree: &str) -> BTreeSet<(String, String)> {
    tree.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let version = words.next()?.strip_prefix('v')?;
            Some((name.to_owned(), version.to_owned()))
        })
        .collect()
}

/// A `rust-version`, compared numerically (`1.9` < `1.88`); missing parts are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RustVersion([u64; 3]);

impl RustVersion {
    fn parse(text: &str) -> Option<Self> {
        let mut parts = [0; 3];
        let mut fields = text.trim().split('.');
        for part in &mut parts {
            match fields.next() {
                Some(field) => *part = field.parse().ok()?,
                None => break,
            }
        }
        if fields.next().is_some() {
            return None;
        }
        Some(Self(parts))
    }
}

impl std::fmt::Display for RustVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [major, minor, patch] = self.0;
        write!(f, "{major}.{minor}.{patch}")
    }
}

/// `rust-version` of `[workspace.package]` in the root manifest.
fn workspace_rust_version() -> Result<RustVersion> {
    let path = workspace_root().join("Cargo.toml");
    let manifest = fs::read_to_string(&path)?;
    match find_workspace_rust_version(&manifest) {
        Some(version) => Ok(version),
        None => bail!(
            "no `rust-version = \"X.Y\"` in [workspace.package] of {}",
            path.display()
        ),
    }
}

fn find_workspace_rust_version(manifest: &str) -> Option<RustVersion> {
    let mut in_section = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section && let Some(value) = line.strip_prefix("rust-version") {
            let value = value.trim_start().strip_prefix('=')?.trim();
            let value = value.split('#').next()?.trim().trim_matches('"');
            return RustVersion::parse(value);
        }
    }
    None
}

/// Fails if any package reachable from a workspace member through normal or build
/// dependencies (all features, all target platforms) declares a `rust-version` newer than the
/// workspace's.
pub(crate) fn msrv() -> Result<()> {
    let msrv = workspace_rust_version()?;
    let metadata = output(cargo().args(["metadata", "--format-version", "1", "--all-features"]))?;
    let metadata: Value = serde_json::from_str(&metadata)?;
    let report = msrv_report(&metadata, msrv)?;
    let newest = match &report.newest {
        Some((version, names)) if names.len() > 6 => format!(
            "{version} ({} and {} more)",
            names[..6].join(", "),
            names.len() - 6
        ),
        Some((version, names)) => format!("{version} ({})", names.join(", ")),
        None => "none declared".to_owned(),
    };
    if report.offenders.is_empty() {
        println!(
            "msrv: ok: {} packages reachable from the workspace (normal+build dependencies, all \
             features and platforms); newest rust-version required: {newest}; workspace \
             rust-version: {msrv}; {} declare none",
            report.reachable, report.undeclared
        );
        return Ok(());
    }
    for offender in &report.offenders {
        println!("{offender}");
    }
    bail!(
        "msrv: {} package(s) need a newer Rust than the workspace rust-version {msrv}: raise \
         rust-version in Cargo.toml or pin older versions (`cargo update -p NAME --precise VER`)",
        report.offenders.len()
    )
}

#[derive(Debug)]
struct MsrvReport {
    reachable: usize,
    undeclared: usize,
    /// The newest rust-version among the dependencies (members excluded) and who needs it.
    newest: Option<(RustVersion, Vec<String>)>,
    /// "name version requires rust X (via a -> b -> name)".
    offenders: Vec<String>,
}

fn msrv_report(metadata: &Value, msrv: RustVersion) -> Result<MsrvReport> {
    let str_of = |v: &Value, key: &str| -> Result<String> {
        match v.get(key).and_then(Value::as_str) {
            Some(s) => Ok(s.to_owned()),
            None => bail!("cargo metadata: missing string `{key}`"),
        }
    };
    let array_of = |v: &'_ Value, key: &str| -> Result<Vec<Value>> {
        match v.get(key).and_then(Value::as_array) {
            Some(a) => Ok(a.clone()),
            None => bail!("cargo metadata: missing array `{key}`"),
        }
    };

    // id -> (name version, rust_version)
    let mut packages: HashMap<String, (String, Option<RustVersion>)> = HashMap::new();
    for package in array_of(metadata, "packages")? {
        let id = str_of(&package, "id")?;
        let label = format!(
            "{} {}",
            str_of(&package, "name")?,
            str_of(&package, "version")?
        );
        let rust_version = package
            .get("rust_version")
            .and_then(Value::as_str)
            .and_then(RustVersion::parse);
        packages.insert(id, (label, rust_version));
    }

    // id -> ids of its normal and build dependencies
    let resolve = metadata
        .get("resolve")
        .ok_or("cargo metadata: no `resolve` (was --no-deps used?)")?;
    let mut edges: HashMap<String, Vec<String>> = HashMap::new();
    for node in array_of(resolve, "nodes")? {
        let mut deps = Vec::new();
        for dep in array_of(&node, "deps")? {
            let kinds = array_of(&dep, "dep_kinds")?;
            let runtime_or_build = kinds.iter().any(|k| match k.get("kind") {
                None | Some(Value::Null) => true,
                Some(kind) => kind.as_str() == Some("build"),
            });
            if runtime_or_build {
                deps.push(str_of(&dep, "pkg")?);
            }
        }
        edges.insert(str_of(&node, "id")?, deps);
    }

    // Breadth-first from the members, remembering how each package was first reached.
    let mut parent: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut queue = VecDeque::new();
    let mut members = BTreeSet::new();
    for member in array_of(metadata, "workspace_members")? {
        let id = member
            .as_str()
            .ok_or("cargo metadata: non-string member")?
            .to_owned();
        parent.insert(id.clone(), None);
        members.insert(id.clone());
        queue.push_back(id);
    }
    while let Some(id) = queue.pop_front() {
        for dep in edges.get(&id).into_iter().flatten() {
            if !parent.contains_key(dep) {
                parent.insert(dep.clone(), Some(id.clone()));
                queue.push_back(dep.clone());
            }
        }
    }

    let label = |id: &str| {
        packages
            .get(id)
            .map_or_else(|| id.to_owned(), |(label, _)| label.clone())
    };
    let mut report = MsrvReport {
        reachable: parent.len(),
        undeclared: 0,
        newest: None,
        offenders: Vec::new(),
    };
    for id in parent.keys() {
        let Some(rust_version) = packages.get(id).and_then(|(_, v)| *v) else {
            report.undeclared += 1;
            continue;
        };
        match &mut report.newest {
            _ if members.contains(id) => {}
            Some((newest, names)) if *newest == rust_version => names.push(label(id)),
            Some((newest, _)) if *newest > rust_version => {}
            newest => *newest = Some((rust_version, vec![label(id)])),
        }
        if rust_version > msrv {
            let mut path = vec![label(id)];
            let mut cursor = parent.get(id).cloned().flatten();
            while let Some(up) = cursor {
                path.push(label(&up));
                cursor = parent.get(&up).cloned().flatten();
            }
            path.reverse();
            report.offenders.push(format!(
                "{} requires rust {rust_version} (via {})",
                label(id),
                path.join(" -> ")
            ));
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_versions_compare_numerically() {
        let v = |s| RustVersion::parse(s).expect("valid version");
        assert!(v("1.9") < v("1.88"));
        assert_eq!(v("1.88"), v("1.88.0"));
        assert!(v("1.88.1") > v("1.88"));
        assert_eq!(RustVersion::parse("1.88.0.1"), None);
        assert_eq!(RustVersion::parse("1.x"), None);
    }

    #[test]
    fn finds_the_workspace_rust_version_only_in_its_section() {
        let manifest = "[package]\nrust-version = \"1.50\"\n\n[workspace.package]\nedition = \
                        \"2024\"\nrust-version = \"1.88\" # comment\n";
        assert_eq!(
            find_workspace_rust_version(manifest),
            RustVersion::parse("1.88")
        );
        assert_eq!(
            find_workspace_rust_version("[package]\nrust-version = \"1.2\""),
            None
        );
    }

    #[test]
    fn parses_cargo_tree_lines() {
        let tree =
            "acme-proto v0.1.0 (/w/acme-proto)\nhttp v1.5.0\nbytes v1.12.2\nhttp v1.5.0 (*)\n\n";
        let packages = parse_tree_packages(tree);
        assert_eq!(packages.len(), 3);
        assert!(packages.contains(&("bytes".to_owned(), "1.12.2".to_owned())));
    }

    #[test]
    fn msrv_follows_normal_and_build_edges_only() {
        let metadata = serde_json::json!({
            "packages": [
                {"id": "m", "name": "member", "version": "0.1.0", "rust_version": "1.88"},
                {"id": "a", "name": "a", "version": "1.0.0", "rust_version": "1.90"},
                {"id": "b", "name": "b", "version": "1.0.0", "rust_version": "1.95"},
                {"id": "c", "name": "c", "version": "1.0.0", "rust_version": null},
                {"id": "d", "name": "d", "version": "1.0.0", "rust_version": "1.60"},
            ],
            "workspace_members": ["m"],
            "resolve": {"nodes": [
                {"id": "m", "deps": [
                    {"pkg": "c", "dep_kinds": [{"kind": null, "target": null}]},
                    {"pkg": "b", "dep_kinds": [{"kind": "dev", "target": null}]},
                    {"pkg": "d", "dep_kinds": [{"kind": "build", "target": null}]},
                ]},
                {"id": "c", "deps": [{"pkg": "a", "dep_kinds": [{"kind": null, "target": "cfg(windows)"}]}]},
                {"id": "a", "deps": []},
                {"id": "b", "deps": []},
                {"id": "d", "deps": []},
            ]},
        });
        let msrv = RustVersion::parse("1.88").expect("valid version");
        let report = msrv_report(&metadata, msrv).expect("well-formed metadata");
        assert_eq!(report.reachable, 4, "b is a dev-dependency only");
        assert_eq!(report.undeclared, 1);
        let (newest, names) = report.newest.as_ref().expect("some declared");
        assert_eq!(
            (newest.to_string(), names.clone()),
            ("1.90.0".to_owned(), vec!["a 1.0.0".to_owned()])
        );
        assert_eq!(
            report.offenders,
            vec!["a 1.0.0 requires rust 1.90.0 (via member 0.1.0 -> c 1.0.0 -> a 1.0.0)"]
        );
    }
}
