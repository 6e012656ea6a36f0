//! `cargo xtask deps`: fetch the pinned binaries into `target/warren-deps/`.
//!
//! Layout: `containerd-<line>/bin/{containerd,containerd-shim-runc-v2,ctr}` per containerd
//! line and `tools/bin/{runc,docker-registry,busybox}`. Each folder has a `.pinned` stamp; a
//! folder whose stamp matches the pins is not fetched again.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::apt::PrivateApt;
use crate::pins::{Pin, Pins};
use crate::run::{output, status};

/// Where the binaries go.
pub fn deps_dir(workspace: &Path) -> PathBuf {
    match std::env::var_os("WARREN_DEPS_DIR") {
        Some(d) => PathBuf::from(d),
        None => workspace.join("target/warren-deps"),
    }
}

struct Folder {
    name: String,
    pins: Vec<Pin>,
}

impl Folder {
    fn stamp(&self) -> String {
        self.pins.iter().map(Pin::stamp).collect()
    }

    fn is_current(&self, deps: &Path) -> bool {
        let dir = deps.join(&self.name);
        let stamp_ok =
            std::fs::read_to_string(dir.join(".pinned")).is_ok_and(|s| s == self.stamp());
        stamp_ok
            && self.pins.iter().all(|p| {
                p.files
                    .iter()
                    .all(|f| dir.join("bin").join(file_name(f)).is_file())
            })
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Fetch what is missing for `lines` (plus the shared tools) and check every binary runs.
pub fn fetch(workspace: &Path, lines: &[String]) -> Result<PathBuf> {
    let pins = Pins::load(workspace)?;
    let deps = deps_dir(workspace);
    let mut folders = vec![
        Folder {
            name: "tools".into(),
            pins: pins.tools.values().cloned().collect(),
        },
        Folder {
            name: "cni".into(),
            pins: pins.cni.values().cloned().collect(),
        },
    ];
    for line in lines {
        let pin = pins.containerd.get(line).cloned().with_context(|| {
            format!(
                "containerd {line} is not pinned (offered: {})",
                pins.lines().join(", ")
            )
        })?;
        folders.push(Folder {
            name: format!("containerd-{line}"),
            pins: vec![pin],
        });
    }
    let missing: Vec<&Folder> = folders.iter().filter(|f| !f.is_current(&deps)).collect();
    if missing.is_empty() {
        eprintln!("xtask: deps cached in {}", deps.display());
    } else {
        let mut apt = PrivateApt::new(deps.join(".apt"));
        let mut suites: Vec<&str> = missing
            .iter()
            .flat_map(|f| f.pins.iter().map(|p| p.suite.as_str()))
            .collect();
        suites.sort();
        suites.dedup();
        apt.update(&suites)?;
        for folder in missing {
            install_folder(&apt, &deps, folder)?;
        }
    }
    for folder in &folders {
        check_folder(&deps.join(&folder.name))?;
    }
    crate::host::ensure()?;
    Ok(deps)
}

fn install_folder(apt: &PrivateApt, deps: &Path, folder: &Folder) -> Result<()> {
    let dir = deps.join(&folder.name);
    let bin = dir.join("bin");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&bin)?;
    for pin in &folder.pins {
        let offered = apt.versions(&pin.package)?;
        if !offered.contains(&pin.version) {
            bail!(
                "{} {} is pinned in xtask/deps.toml but Debian's archive offers only: {}",
                pin.package,
                pin.version,
                if offered.is_empty() {
                    "nothing".to_string()
                } else {
                    offered.join(", ")
                }
            );
        }
        let scratch = deps.join(".download").join(&pin.package);
        let _ = std::fs::remove_dir_all(&scratch);
        let deb = apt.download(&pin.package, &pin.version, &scratch)?;
        let unpacked = scratch.join("x");
        status(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked))?;
        for file in &pin.files {
            let from = unpacked.join(file);
            let to = bin.join(file_name(file));
            std::fs::copy(&from, &to).with_context(|| format!("{} has no {file}", pin.package))?;
        }
        std::fs::remove_dir_all(&scratch)?;
    }
    std::fs::write(dir.join(".pinned"), folder.stamp())?;
    Ok(())
}

/// Every binary in `dir/bin` must run and say its version.
fn check_folder(dir: &Path) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir.join("bin"))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    entries.sort();
    for bin in entries {
        let name = bin
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let mut command = Command::new(&bin);
        if folder_label(dir) == "cni" {
            // A CNI plugin answers the VERSION command with the spec versions it speaks.
            command.env("CNI_COMMAND", "VERSION");
        } else {
            command.arg(match name.as_str() {
                "containerd-shim-runc-v2" => "-v",
                "busybox" => "true",
                _ => "--version",
            });
        }
        let out = output(&mut command)
            .with_context(|| format!("{} does not run on this host", bin.display()))?;
        let mut lines = out.lines().map(str::trim);
        let first = match lines.clone().find(|l| l.starts_with("Version:")) {
            Some(v) => v.to_string(),
            None => lines.next().unwrap_or("runs").to_string(),
        };
        eprintln!(
            "xtask: ok {:<28} {}",
            format!("{}/{name}", folder_label(dir)),
            first
        );
    }
    Ok(())
}

fn folder_label(dir: &Path) -> String {
    dir.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string()
}
