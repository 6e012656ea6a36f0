//! Downloading Debian packages without installing them: a private apt configuration in
//! `target/warren-deps/.apt` that points at the mirror the host's apt already uses.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::run::{output, status};

const DEFAULT_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// A Debian archive source found in the host's apt configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Mirror {
    pub uri: String,
    pub signed_by: Option<String>,
}

/// A private apt tree (sources list, package lists, cache) under `dir`.
pub struct PrivateApt {
    dir: PathBuf,
    updated: bool,
}

impl PrivateApt {
    pub fn new(dir: PathBuf) -> PrivateApt {
        PrivateApt {
            dir,
            updated: false,
        }
    }

    fn options(&self) -> Vec<String> {
        let d = self.dir.display();
        vec![
            format!("-oDir::Etc::SourceList={d}/sources.list"),
            format!("-oDir::Etc::SourceParts={d}/sources.list.d"),
            format!("-oDir::Etc::Preferences={d}/preferences"),
            format!("-oDir::Etc::PreferencesParts={d}/preferences.d"),
            format!("-oDir::State::Lists={d}/lists"),
            format!("-oDir::Cache={d}/cache"),
            "-oAPT::Sandbox::User=root".to_string(),
            "-oAcquire::Languages=none".to_string(),
        ]
    }

    /// `program` (`apt-get`, `apt-cache`) set up to use this private tree.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(self.options());
        cmd
    }

    /// Write the sources list for `suites` and fetch their package lists (once per run).
    pub fn update(&mut self, suites: &[&str]) -> Result<()> {
        if self.updated {
            return Ok(());
        }
        let mirror = host_mirror()?;
        for sub in [
            "sources.list.d",
            "preferences.d",
            "lists/partial",
            "cache/archives/partial",
        ] {
            std::fs::create_dir_all(self.dir.join(sub))?;
        }
        let keyring = mirror
            .signed_by
            .clone()
            .unwrap_or_else(|| DEFAULT_KEYRING.to_string());
        let mut list = String::new();
        for suite in suites {
            list.push_str(&format!(
                "deb [signed-by={keyring}] {} {suite} main\n",
                mirror.uri
            ));
        }
        std::fs::write(self.dir.join("sources.list"), list)?;
        eprintln!(
            "xtask: apt-get update (private lists for {})",
            suites.join(", ")
        );
        let mut cmd = Command::new("apt-get");
        cmd.args(self.options()).args(["-q", "update"]);
        status(&mut cmd).context("apt-get update with the private sources list")?;
        self.updated = true;
        Ok(())
    }

    /// Versions of `package` the archive offers (after `update`).
    pub fn versions(&self, package: &str) -> Result<Vec<String>> {
        let mut cmd = Command::new("apt-cache");
        cmd.args(self.options()).args(["madison", package]);
        let out = output(&mut cmd)?;
        Ok(out
            .lines()
            .filter_map(|l| l.split('|').nth(1).map(|v| v.trim().to_string()))
            .collect())
    }

    /// Download `package=version` into a fresh folder under `dest` and return the .deb path.
    pub fn download(&self, package: &str, version: &str, dest: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dest)?;
        let mut cmd = Command::new("apt-get");
        cmd.current_dir(dest).args(self.options()).args([
            "-q",
            "download",
            &format!("{package}={version}"),
        ]);
        status(&mut cmd)?;
        let deb = std::fs::read_dir(dest)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"));
        match deb {
            Some(deb) => Ok(deb),
            None => bail!("apt-get download {package}={version} produced no .deb"),
        }
    }
}

/// The Debian archive the host's apt uses: a `deb` source for the host's own release.
pub fn host_mirror() -> Result<Mirror> {
    if let Some(m) = override_mirror() {
        return Ok(m);
    }
    let codename = os_codename().unwrap_or_else(|| "bookworm".to_string());
    let mut texts = Vec::new();
    for file in ["/etc/apt/sources.list"] {
        if let Ok(t) = std::fs::read_to_string(file) {
            texts.push((file.to_string(), t));
        }
    }
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<PathBuf> = dir.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let name = p.to_string_lossy().to_string();
            if name.ends_with(".list") || name.ends_with(".sources") {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    texts.push((name, t));
                }
            }
        }
    }
    for (name, text) in &texts {
        let found = if name.ends_with(".sources") {
            parse_deb822(text, &codename)
        } else {
            parse_one_line(text, &codename)
        };
        if let Some(m) = found {
            return Ok(m);
        }
    }
    bail!(
        "no Debian archive source for `{codename}` with component `main` in the host's apt \
         configuration (/etc/apt/sources.list, /etc/apt/sources.list.d); add one, or set \
         WARREN_DEBIAN_MIRROR"
    )
}

fn os_codename() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim_matches('"').to_string())
}

fn override_mirror() -> Option<Mirror> {
    std::env::var("WARREN_DEBIAN_MIRROR")
        .ok()
        .map(|uri| Mirror {
            uri,
            signed_by: None,
        })
}

/// Parse deb822 `.sources` stanzas.
pub fn parse_deb822(text: &str, codename: &str) -> Option<Mirror> {
    for stanza in text.split("\n\n") {
        let field = |key: &str| {
            stanza.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().to_string())
            })
        };
        let enabled = field("Enabled").is_none_or(|v| v != "no");
        let is_deb = field("Types").is_some_and(|t| t.split_whitespace().any(|x| x == "deb"));
        let suite_ok = field("Suites").is_some_and(|s| s.split_whitespace().any(|x| x == codename));
        let main = field("Components").is_some_and(|c| c.split_whitespace().any(|x| x == "main"));
        if enabled && is_deb && suite_ok && main {
            let uri = field("URIs")?.split_whitespace().next()?.to_string();
            return Some(Mirror {
                uri,
                signed_by: field("Signed-By").filter(|s| s.starts_with('/')),
            });
        }
    }
    None
}

/// Parse one-line `deb [opts] URI suite components...` entries.
pub fn parse_one_line(text: &str, codename: &str) -> Option<Mirror> {
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("deb ") else {
            continue;
        };
        let mut signed_by = None;
        let rest = rest.trim_start();
        let rest = if let Some(opts) = rest.strip_prefix('[') {
            let (opts, after) = opts.split_once(']')?;
            signed_by = opts
                .split_whitespace()
                .find_map(|o| o.strip_prefix("signed-by="))
                .map(str::to_string);
            after
        } else {
            rest
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        if words.len() >= 3 && words[1] == codename && words[2..].contains(&"main") {
            return Some(Mirror {
                uri: words[0].to_string(),
                signed_by,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb822_picks_the_release_not_security() {
        let text = "Types: deb\nURIs: http://sec.example/debian-security\nSuites: bookworm-security\nComponents: main\n\nTypes: deb\nURIs: http://m.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /k.gpg\n";
        let m = parse_deb822(text, "bookworm").unwrap();
        assert_eq!(m.uri, "http://m.example/debian");
        assert_eq!(m.signed_by.as_deref(), Some("/k.gpg"));
    }

    #[test]
    fn one_line_with_options() {
        let text = "# c\ndeb [arch=amd64 signed-by=/x.gpg] http://m.example/debian bookworm main contrib\n";
        let m = parse_one_line(text, "bookworm").unwrap();
        assert_eq!(m.uri, "http://m.example/debian");
        assert_eq!(m.signed_by.as_deref(), Some("/x.gpg"));
        assert!(parse_one_line(text, "trixie").is_none());
    }
}
