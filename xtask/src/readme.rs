//! The README's code snippets are compiled examples: each ```` ```rust ```` block that follows
//! a `<!-- snippet: PATH -->` line must equal, byte for byte, the part of the example at PATH
//! between its `// README:start` and `// README:end` lines. `cargo build --examples` (part of
//! `cargo test --workspace`) compiles the examples; the test below keeps the README in step.

#[cfg(test)]
mod tests {
    use crate::util::workspace_root;

    const MARKER: &str = "<!-- snippet: ";

    /// (example path, snippet) for each marked block of `readme`.
    fn snippets(readme: &str) -> Vec<(String, String)> {
        let mut found = Vec::new();
        let mut lines = readme.split_inclusive('\n');
        while let Some(line) = lines.next() {
            let Some(path) = line.trim_end().strip_prefix(MARKER) else {
                continue;
            };
            let path = path
                .strip_suffix("-->")
                .unwrap_or_else(|| panic!("unterminated snippet marker: {line:?}"))
                .trim()
                .to_owned();
            let fence = lines.next().unwrap_or_default();
            assert_eq!(
                fence.trim_end(),
                "```rust",
                "the line after the marker for {path} must open a ```rust block"
            );
            let mut body = String::new();
            for line in lines.by_ref() {
                if line.trim_end() == "```" {
                    break;
                }
                body.push_str(line);
            }
            found.push((path, body));
        }
        found
    }

    /// The lines of `source` between `// README:start` and `// README:end`.
    fn marked_region(path: &str, source: &str) -> String {
        let start = source
            .find("// README:start\n")
            .unwrap_or_else(|| panic!("{path}: no `// README:start` line"));
        let rest = &source[start + "// README:start\n".len()..];
        let end = rest
            .find("// README:end")
            .unwrap_or_else(|| panic!("{path}: no `// README:end` line"));
        rest[..end].to_owned()
    }

    #[test]
    fn readme_snippets_are_the_compiled_examples() {
        let root = workspace_root();
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let snippets = snippets(&readme);
        let paths: Vec<&str> = snippets.iter().map(|(p, _)| p.as_str()).collect();
        for runtime in ["tokio", "smol", "blocking"] {
            let path = format!("acme-{runtime}/examples/readme_{runtime}.rs");
            assert!(
                paths.contains(&path.as_str()),
                "README shows no snippet of {path}"
            );
        }
        for (path, snippet) in &snippets {
            let source = std::fs::read_to_string(root.join(path))
                .unwrap_or_else(|e| panic!("{path} (named in README.md): {e}"));
            let region = marked_region(path, &source);
            assert!(
                *snippet == region,
                "README.md's snippet of {path} differs from the example's marked region; \
                 copy the region into the README.\n--- README:\n{snippet}--- {path}:\n{region}"
            );
        }
    }

    #[test]
    fn snippets_and_regions_are_read_exactly() {
        let readme = "text\n<!-- snippet: a/examples/readme.rs -->\n```rust\nfn main() {}\n\n```\n";
        assert_eq!(
            snippets(readme),
            [(
                "a/examples/readme.rs".to_owned(),
                "fn main() {}\n\n".to_owned()
            )]
        );
        let source = "//! doc\n// README:start\nfn main() {}\n\n// README:end\n";
        assert_eq!(marked_region("x", source), "fn main() {}\n\n");
    }
}
