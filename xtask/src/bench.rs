//! `cargo xtask bench <what>`: benchmarks that compare us with containerd's own tools, run
//! side by side on the same machine in one run.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Result};

use crate::run::status;

/// What `cargo xtask bench` knows how to measure.
pub const BENCHES: &[&str] = &[
    "supervisor",
    "spec",
    "pull",
    "lifecycle",
    "network",
    "warrend",
    "keystroke",
    "scale",
    "health",
];

/// Repetitions per measurement when `--runs` is not given.
pub fn default_runs(what: &str) -> u32 {
    match what {
        "lifecycle" | "network" | "warrend" => 30,
        // Keystrokes per session, not whole runs.
        "keystroke" => 200,
        // Not repetitions: the number of containers.
        "scale" => 200,
        // Check execs timed one after the other (the 50-container part is fixed).
        "health" => 200,
        _ => 15,
    }
}

/// Run bench `what` against each containerd line in `lines`.
pub fn run(workspace: &Path, deps: &Path, what: &str, lines: &[String], runs: u32) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    match what {
        "supervisor" => {
            for line in lines {
                eprintln!("xtask: bench supervisor against containerd {line}");
                let bin_dir = deps.join(format!("containerd-{line}")).join("bin");
                status(
                    Command::new(&cargo)
                        .current_dir(workspace)
                        .args(["run", "--quiet", "--release", "-p", "warren-supervisor"])
                        .args(["--example", "restart_bench", "--"])
                        .arg(&bin_dir)
                        .arg(runs.to_string())
                        .env("WARREN_DEPS_DIR", deps)
                        .env("WARREN_CONTAINERD_LINE", line),
                )?;
            }
            Ok(())
        }
        "pull" | "lifecycle" | "network" => {
            for line in lines {
                eprintln!("xtask: bench {what} against containerd {line}");
                status(
                    Command::new(&cargo)
                        .current_dir(workspace)
                        .args(["run", "--quiet", "--release", "-p", "warren-tests"])
                        .args(["--example", &format!("{what}_bench"), "--"])
                        .arg(runs.to_string())
                        .env("WARREN_DEPS_DIR", deps)
                        .env("WARREN_CONTAINERD_LINE", line),
                )?;
            }
            Ok(())
        }
        "warrend" | "keystroke" | "scale" | "health" => {
            // The daemon as shipped: the release build, RSS and all. For `scale`, `runs` is
            // the number of containers; for `keystroke`, the keystrokes per session.
            status(Command::new(&cargo).current_dir(workspace).args([
                "build",
                "--quiet",
                "--release",
                "-p",
                "warrend",
            ]))?;
            let target = match std::env::var_os("CARGO_TARGET_DIR") {
                Some(dir) => workspace.join(dir),
                None => workspace.join("target"),
            };
            let warrend = target.join("release").join("warrend");
            for line in lines {
                eprintln!("xtask: bench {what} against containerd {line}");
                status(
                    Command::new(&cargo)
                        .current_dir(workspace)
                        .args(["run", "--quiet", "--release", "-p", "warren-tests"])
                        .args(["--example", &format!("{what}_bench"), "--"])
                        .arg(runs.to_string())
                        .env("WARREN_DEPS_DIR", deps)
                        .env("WARREN_CONTAINERD_LINE", line)
                        .env("WARREN_WARREND_BIN", &warrend),
                )?;
            }
            Ok(())
        }
        "spec" => status(Command::new(&cargo).current_dir(workspace).args([
            "bench",
            "-p",
            "warren-spec",
            "--bench",
            "spec",
        ])),
        other => bail!(
            "no bench named `{other}`: choose one of {}",
            BENCHES.join(", ")
        ),
    }
}
