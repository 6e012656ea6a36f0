//! The workspace's declared `rust-version` must be one the locked dependencies build with:
//! a unit test compares it with the highest `rust-version` in `Cargo.lock`'s dependency
//! graph, so a dependency update that raises the floor fails CI until the declaration says
//! so. (No older toolchain can be fetched here to build with; this is the check we can make.)

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// A Rust version as `MAJOR.MINOR[.PATCH]`, compared numerically.
type Version = (u64, u64, u64);

fn text((major, minor, patch): Version) -> String {
    format!("{major}.{minor}.{patch}")
}

fn parse(v: &str) -> Option<Version> {
    let mut parts = v.trim().split('.').map(str::parse::<u64>);
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    Some((major, minor, patch))
}

/// The highest `rust-version` among the packages `Cargo.lock` resolves to, and who asks
/// for it; and the workspace's own declaration.
fn floors(workspace: &Path) -> Result<(Version, String, Version)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let resolved: std::collections::HashSet<&str> = meta["resolve"]["nodes"]
        .as_array()
        .context("no resolve graph")?
        .iter()
        .filter_map(|n| n["id"].as_str())
        .collect();
    let members: std::collections::HashSet<&str> = meta["workspace_members"]
        .as_array()
        .context("no workspace members")?
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    let mut highest = ((0, 0, 0), String::new());
    let mut declared = None;
    for p in meta["packages"].as_array().context("no packages")? {
        let id = p["id"].as_str().unwrap_or_default();
        let Some(v) = p["rust_version"].as_str().and_then(parse) else {
            continue;
        };
        if members.contains(id) {
            declared = Some(declared.map_or(v, |d: Version| d.min(v)));
        } else if resolved.contains(id) && v > highest.0 {
            highest = (
                v,
                format!(
                    "{} {}",
                    p["name"].as_str().unwrap_or("?"),
                    p["version"].as_str().unwrap_or("?")
                ),
            );
        }
    }
    let declared = declared.context("the workspace declares no rust-version")?;
    Ok((highest.0, highest.1, declared))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_numbers() {
        assert!(parse("1.89").unwrap() > parse("1.9.5").unwrap());
        assert_eq!(parse("1.85.0"), Some((1, 85, 0)));
        assert_eq!(parse("x"), None);
    }

    #[test]
    fn the_declared_rust_version_builds_the_locked_dependencies() {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let (needed, by, declared) = floors(workspace).unwrap();
        assert!(
            declared >= needed,
            "the workspace declares rust-version {}, but {by} needs {}: \
             raise `rust-version` in the workspace's Cargo.toml",
            text(declared),
            text(needed)
        );
    }
}
