//! `cargo xtask demo`: the README's main command. Today: fetch the pinned containerd builds,
//! and for each line start a private daemon through warren-supervisor and print what it
//! reports through warren-proto (`warrend probe`).

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::run::status;

pub fn run(workspace: &Path, deps: &Path, lines: &[String]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    status(
        Command::new(&cargo)
            .current_dir(workspace)
            .args(["build", "--quiet", "-p", "warrend"]),
    )?;
    let warrend = workspace.join("target/debug/warrend");
    for line in lines {
        status(
            Command::new(&warrend)
                .arg("probe")
                .arg("--containerd-bin-dir")
                .arg(deps.join(format!("containerd-{line}/bin")))
                .arg("--runc-bin-dir")
                .arg(deps.join("tools/bin")),
        )?;
    }
    Ok(())
}
