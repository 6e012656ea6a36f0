//! `cargo xtask`: Warren's project tasks.

#![forbid(unsafe_code)]

mod api_snapshot;
mod apt;
mod bench;
mod beside;
mod demo;
mod deps;
mod host;
mod modules;
#[cfg(test)]
mod msrv;
mod pins;
mod run;
mod test;
mod vm;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Warren's project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Fetch the pinned containerd, runc, registry and busybox builds into target/warren-deps.
    Deps {
        /// Which containerd line: 1.6, 1.7, 2.1 or all.
        #[arg(long, default_value = "all")]
        containerd: String,
    },
    /// Everything CI runs: fmt, clippy, unit tests, integration tests on every containerd line.
    Test {
        /// Limit the integration tests to one containerd line (default: all).
        #[arg(long, default_value = "all")]
        containerd: String,
    },
    /// The integration tests against one containerd line (or all).
    Integration {
        #[arg(long, default_value = "all")]
        containerd: String,
    },
    /// The main job in one step: fetch containerd, start warrend with a managed containerd in
    /// a temporary directory, import busybox, run a limited container, show ps/logs/stats,
    /// stop and remove it, shut down.
    Demo {
        /// Which containerd line: 1.6, 1.7, 2.1, or all (the demo uses the newest selected).
        #[arg(long, default_value = "all")]
        containerd: String,
    },
    /// Benchmarks, ours beside containerd's own tools in the same run: supervisor, spec, pull,
    /// lifecycle, network, warrend, keystroke, scale, health, or all. Each ends with one
    /// `summary:` line per figure (ours, ctr's, the ratio, the goal, ok or MISSED).
    Bench {
        /// Which bench, or `all`: warrend, lifecycle, pull, keystroke, scale and health, one
        /// after the other, then every summary line again.
        what: String,
        /// Which containerd line: 1.6, 1.7, 2.1 or all.
        #[arg(long, default_value = "all")]
        containerd: String,
        /// Repetitions per measurement (default: 30 for lifecycle, network and warrend, 15
        /// for pull and supervisor); for keystroke the keystrokes per session (default 200),
        /// for scale the number of containers (default 200), for health the check execs
        /// timed (default 200). With `all`, it applies to each bench in its own sense.
        #[arg(long)]
        runs: Option<u32>,
    },
    /// Write the node API's snapshot (crates/warren-proto/api/warren.node.v1.txt) from the
    /// protos as they are, and print its fingerprint and the CHANGELOG.md line it needs.
    ApiSnapshot,
    /// Dependency cycles between the modules of each crate under crates/: sibling modules
    /// that each use the other (or each other's descendants), with one example per edge.
    Modules {
        /// Check only this crate (repeatable; default: all of them).
        #[arg(long = "crate", value_name = "NAME")]
        crates: Vec<String>,
        /// Exit with status 1 when there is a cycle.
        #[arg(long)]
        deny: bool,
        /// Count `a::Item`, where `a` re-exports `Item`, as a use of the module `a` takes it
        /// from (`crate::Error` as one of `error`), not of `a` as written.
        #[arg(long)]
        follow_reexports: bool,
        /// List every reference behind each edge, not one example.
        #[arg(long)]
        verbose: bool,
    },
    /// The integration tests inside a cgroup-v2-only Linux guest under qemu (this host is
    /// cgroup v1): `vm image` builds the guest, `vm run` boots it and runs tests.
    Vm {
        #[command(subcommand)]
        task: vm::VmTask,
    },
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let ws = workspace();
    match cli.task {
        Task::Deps { containerd } => {
            let lines = pins::Pins::load(&ws)?.select(&containerd)?;
            deps::fetch(&ws, &lines)?;
        }
        Task::Test { containerd } => {
            let lines = pins::Pins::load(&ws)?.select(&containerd)?;
            let deps = deps::fetch(&ws, &lines)?;
            test::lint(&ws)?;
            let mut rows = vec![("unit tests".to_string(), test::unit(&ws, &deps)?, true)];
            // The slow, idle tests run on the newest selected line beside the others.
            let newest = lines.last().context("no containerd line selected")?;
            let slow = beside::start(&ws, &deps, newest)?;
            for line in &lines {
                let (counts, ok) = test::integration(&ws, &deps, line)?;
                rows.push((format!("containerd {line}"), counts, ok));
            }
            rows.push(slow.finish()?);
            // The tests that touch cgroups again, in a cgroup-v2-only guest.
            eprintln!("xtask: the cgroup v2 lane (containerd {newest}, in a guest)");
            let (counts, ok) = vm::lane(&ws, newest)?;
            rows.push((format!("cgroup v2 guest, containerd {newest}"), counts, ok));
            test::report(&rows)?;
        }
        Task::Integration { containerd } => {
            let lines = pins::Pins::load(&ws)?.select(&containerd)?;
            let deps = deps::fetch(&ws, &lines)?;
            let mut rows = Vec::new();
            for line in &lines {
                let (counts, ok) = test::integration(&ws, &deps, line)?;
                rows.push((format!("containerd {line}"), counts, ok));
            }
            test::report(&rows)?;
        }
        Task::Demo { containerd } => {
            let lines = pins::Pins::load(&ws)?.select(&containerd)?;
            let deps = deps::fetch(&ws, &lines)?;
            demo::run(&ws, &deps, &lines)?;
        }
        Task::Bench {
            what,
            containerd,
            runs,
        } => {
            let lines = pins::Pins::load(&ws)?.select(&containerd)?;
            let deps = deps::fetch(&ws, &lines)?;
            bench::run(&ws, &deps, &what, &lines, runs)?;
        }
        Task::ApiSnapshot => api_snapshot::run(&ws)?,
        Task::Modules {
            crates,
            deny,
            follow_reexports,
            verbose,
        } => {
            let cycles = modules::run(&ws, &crates, follow_reexports, verbose)?;
            if deny && cycles > 0 {
                std::process::exit(1);
            }
        }
        Task::Vm { task } => {
            let code = vm::main(&ws, task)?;
            if code != 0 {
                std::process::exit(code);
            }
        }
    }
    Ok(())
}
