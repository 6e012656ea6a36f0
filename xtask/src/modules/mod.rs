//! `cargo xtask modules [--crate NAME]... [--deny] [--follow-reexports] [--verbose]`: dependency
//! cycles between the modules of each crate under `crates/`.
//!
//! Why: two sibling modules that each use the other can be read, tested and moved only
//! together, and nothing in the compiler objects when a convenient `use` closes such a loop.
//! `cargo modules dependencies --acyclic` finds them, but cargo-modules builds rust-analyzer,
//! which is too heavy to install here; this is the same kind of check, on `syn`, that anyone
//! can run.
//!
//! What it reads: from each target's root (`src/lib.rs`, `src/main.rs`, `src/bin/*.rs`, or the
//! paths the manifest gives) it follows `mod x;` to `x.rs` or `x/mod.rs` (or a `#[path]`) and
//! into inline `mod x { .. }` blocks. An item under a `#[cfg(test)]` (a test module, a test
//! helper, a test-only `use`) is skipped with everything inside it, so what only the tests use
//! does not count. `include!`d code (warren-proto's generated bindings) is opaque.
//!
//! What counts as a reference: every leaf of a `use` tree and every path of two or more
//! segments in an expression, type, pattern or macro argument that names a module of the same
//! crate: through `crate::`, `super::`, `self::`, a child module, or a name a `use` (or a glob)
//! brought into scope. A path resolves to the deepest module it names: `crate::a::b::Item` is a
//! use of `a::b`, and `crate::Error` one of the crate root. With `--follow-reexports` an item a
//! module re-exports is followed to the module the re-export names (`crate::Error` is then a use
//! of `error` when the root says `pub use error::Error`), which also finds the cycles a
//! re-export hides.
//!
//! What is a cycle: for every module P, child A depends on child B when anything in A's subtree
//! references anything in B's subtree; each strongly connected component of more than one of
//! P's children is a cycle, printed with every edge inside it and one example reference per
//! edge (file:line and the path), so that one can see what to move. A child using its parent's
//! items (`super::X`) is normal and not a cycle; only siblings can form one.
//!
//! Limits: this reads source and does not expand macros or infer types: a method called on a
//! value of a type from another module is not a reference (the `use` or path that named the
//! type is), and paths inside macro arguments are found by their tokens.

mod collect;
mod graph;
mod load;
mod render;
#[cfg(test)]
mod tests;
mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use graph::cycles;
use load::load;
use render::{plural, render};

/// Check the crates under `crates/` (or the ones named), print their cycles and a summary,
/// and return how many cycles there are.
pub fn run(ws: &Path, only: &[String], follow_reexports: bool, verbose: bool) -> Result<usize> {
    let mut targets = targets(ws)?;
    if !only.is_empty() {
        let known: BTreeSet<&str> = targets.iter().map(|t| t.package.as_str()).collect();
        if let Some(unknown) = only.iter().find(|n| !known.contains(n.as_str())) {
            let known: Vec<&str> = known.into_iter().collect();
            bail!(
                "no crate {unknown} under crates/ (there are: {})",
                known.join(", ")
            );
        }
        targets.retain(|t| only.contains(&t.package));
    }
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    let mut per_crate: BTreeMap<&str, usize> = BTreeMap::new();
    for target in &targets {
        let mut krate = load(&target.root, &read)?;
        krate.follow_reexports = follow_reexports;
        let references = krate.references();
        let cycles = cycles(&references);
        print!(
            "{}",
            render(target, ws, &krate, references.len(), &cycles, verbose)
        );
        *per_crate.entry(target.package.as_str()).or_default() += cycles.len();
    }
    let total: usize = per_crate.values().sum();
    let with: Vec<String> = per_crate
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    let without: Vec<&str> = per_crate
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(c, _)| *c)
        .collect();
    let mut summary = format!("summary: {total} module cycle{}", plural(total));
    if !with.is_empty() {
        let _ = write!(summary, " ({})", with.join(", "));
    }
    if !without.is_empty() {
        let _ = write!(summary, "; no cycles in {}", without.join(", "));
    }
    println!("{summary}");
    Ok(total)
}

/// One crate target: a library or a binary, and its root file.
struct Target {
    package: String,
    /// `None` for the library, else the binary's name.
    bin: Option<String>,
    root: PathBuf,
}

impl Target {
    fn label(&self) -> String {
        match &self.bin {
            None => format!("{} (lib)", self.package),
            Some(bin) if *bin == self.package => format!("{} (bin)", self.package),
            Some(bin) => format!("{} (bin {bin})", self.package),
        }
    }
}

/// The library and binary targets of every package under `crates/`: the manifest's `[lib]`
/// and `[[bin]]` paths, else `src/lib.rs`, `src/main.rs`, `src/bin/*.rs`, `src/bin/*/main.rs`.
fn targets(ws: &Path) -> Result<Vec<Target>> {
    let crates = ws.join("crates");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&crates)
        .with_context(|| format!("listing {}", crates.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|d| d.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    let mut targets = Vec::new();
    for dir in dirs {
        let manifest_path = dir.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("reading {}", manifest_path.display()))?;
        let manifest: toml::Value = toml::from_str(&text)
            .with_context(|| format!("parsing {}", manifest_path.display()))?;
        let package = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
            .with_context(|| format!("{} has no package name", manifest_path.display()))?
            .to_string();
        let mut found: Vec<(Option<String>, PathBuf)> = Vec::new();
        let lib = manifest
            .get("lib")
            .and_then(|l| l.get("path"))
            .and_then(toml::Value::as_str)
            .map_or_else(|| dir.join("src/lib.rs"), |p| dir.join(p));
        if lib.is_file() {
            found.push((None, lib));
        }
        for bin in manifest
            .get("bin")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(name), Some(path)) = (
                bin.get("name").and_then(toml::Value::as_str),
                bin.get("path").and_then(toml::Value::as_str),
            ) {
                found.push((Some(name.to_string()), dir.join(path)));
            }
        }
        if dir.join("src/main.rs").is_file() {
            found.push((Some(package.clone()), dir.join("src/main.rs")));
        }
        let mut bins: Vec<PathBuf> = std::fs::read_dir(dir.join("src/bin"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        bins.sort();
        for path in bins {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            if path.extension().is_some_and(|e| e == "rs") {
                found.push((name, path));
            } else if path.join("main.rs").is_file() {
                found.push((name, path.join("main.rs")));
            }
        }
        for (bin, root) in found {
            if !targets.iter().any(|t: &Target| t.root == root) {
                targets.push(Target {
                    package: package.clone(),
                    bin,
                    root,
                });
            }
        }
    }
    Ok(targets)
}
