//! The layering the crates cannot express: within a crate, no two modules
//! import each other (a cycle makes two modules one, in two files). The
//! crates themselves are kept in order by Cargo: `rollcall-domain` depends
//! on no other crate of the workspace, the console cannot reach the
//! commands.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: &[&str] = &[
    "crates/domain/src",
    "crates/client/src",
    "crates/console/src",
    "crates/sandbox/src",
    "src",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `tui/app` for `src/tui/app.rs`, `tui` for `src/tui/mod.rs`.
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(root).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The module paths a file names (`crate::a::b`, `super::c`), outside
/// comments and its tests.
fn references(module: &[String], text: &str) -> BTreeSet<Vec<String>> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut found = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        for (prefix, base) in [("crate::", Vec::new()), ("super::", parent(module))] {
            let mut rest = line;
            while let Some(at) = rest.find(prefix) {
                let after = &rest[at + prefix.len()..];
                let names: Vec<String> = after
                    .split("::")
                    .map(|p| {
                        p.chars()
                            .take_while(|c| {
                                c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit()
                            })
                            .collect::<String>()
                    })
                    .take_while(|p| !p.is_empty())
                    .collect();
                let mut path = base.clone();
                path.extend(names);
                found.insert(path);
                rest = after;
            }
        }
    }
    found
}

fn parent(module: &[String]) -> Vec<String> {
    module[..module.len().saturating_sub(1)].to_vec()
}

#[test]
fn no_two_modules_import_each_other() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cycles = Vec::new();
    for krate in CRATES {
        let root = workspace.join(krate);
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        let modules: BTreeMap<Vec<String>, PathBuf> = files
            .iter()
            .filter(|f| !f.to_string_lossy().ends_with("tests.rs"))
            .map(|f| (module_of(&root, f), f.clone()))
            .collect();
        // The longest known module a path names (`tui/app` for
        // `tui::app::App`).
        let resolve = |path: &Vec<String>| -> Option<Vec<String>> {
            (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|candidate| modules.contains_key(candidate))
        };
        let mut edges: BTreeSet<(Vec<String>, Vec<String>)> = BTreeSet::new();
        for (module, file) in &modules {
            let text = std::fs::read_to_string(file).expect("a readable source file");
            for target in references(module, &text).iter().filter_map(resolve) {
                let related = target.starts_with(module) || module.starts_with(&target);
                if !related {
                    edges.insert((module.clone(), target));
                }
            }
        }
        for (a, b) in &edges {
            if a < b && edges.contains(&(b.clone(), a.clone())) {
                cycles.push(format!("{krate}: {} <-> {}", a.join("/"), b.join("/")));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules that import each other:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_domain_crate_depends_on_no_other_crate_of_the_workspace() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/domain/Cargo.toml");
    let text = std::fs::read_to_string(manifest).expect("the domain manifest");
    let workspace_deps: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("rollcall"))
        .collect();
    assert!(workspace_deps.is_empty(), "{workspace_deps:?}");
    let console = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/console/Cargo.toml");
    let text = std::fs::read_to_string(console).expect("the console manifest");
    assert!(
        !text.contains("rollcall = ") && !text.contains("path = \"../..\""),
        "the console must not depend on the commands: {text}"
    );
}
