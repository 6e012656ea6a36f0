//! The pinned package list (`xtask/deps.toml`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// One Debian package and the files we take out of it.
#[derive(Debug, Clone, Deserialize)]
pub struct Pin {
    pub suite: String,
    pub package: String,
    pub version: String,
    pub files: Vec<String>,
}

impl Pin {
    /// What the cache stamp of a folder records, so a changed pin is fetched again.
    pub fn stamp(&self) -> String {
        format!("{}={} ({})\n", self.package, self.version, self.suite)
    }
}

/// Everything `deps.toml` pins: containerd per line, the shared tools, and the CNI plugins
/// (kept in a folder of their own: it is the CNI plugin directory the tests hand over).
#[derive(Debug, Deserialize)]
pub struct Pins {
    pub containerd: BTreeMap<String, Pin>,
    pub tools: BTreeMap<String, Pin>,
    #[serde(default)]
    pub cni: BTreeMap<String, Pin>,
}

impl Pins {
    pub fn load(workspace: &Path) -> Result<Pins> {
        let path = workspace.join("xtask/deps.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// The containerd lines the suite offers, oldest first.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.containerd.keys().cloned().collect();
        lines.sort_by_key(|l| version_key(l));
        lines
    }

    /// Resolve `--containerd` (`1.6`, `2.1`, `all`) into lines, or say which exist.
    pub fn select(&self, wanted: &str) -> Result<Vec<String>> {
        if wanted == "all" {
            return Ok(self.lines());
        }
        if self.containerd.contains_key(wanted) {
            return Ok(vec![wanted.to_string()]);
        }
        bail!(
            "containerd {wanted} is not pinned: this suite offers {} (or `all`); \
             pins live in xtask/deps.toml",
            self.lines().join(", ")
        )
    }
}

fn version_key(line: &str) -> Vec<u32> {
    line.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}
