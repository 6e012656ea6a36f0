//! `cargo xtask vm`: the integration tests inside a cgroup-v2-only Linux guest under qemu.
//!
//! The host here is cgroup v1 (hybrid) and its cgroup mounts are not ours to change; most
//! production hosts are cgroup v2 only. `vm image` builds a small Debian bookworm guest (the
//! cloud kernel, a root of busybox, glibc, iptables, iproute2, util-linux, kmod) and the
//! emulator, all from Debian's archive; `vm run` boots it once with the host-built test
//! binaries, `warrend` and the pinned deps on a second disk, runs the chosen tests as root
//! and returns the guest's exit code.

mod console;
mod cpio;
mod image;
mod initramfs;
mod job;
mod packages;
mod qemu;
mod rootfs;
mod suite;

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::pins::Pins;

/// Bump when the image's making changes (root layout, packages' handling): the stamp
/// records it, and a fingerprint of the guest's init scripts.
pub const IMAGE_VERSION: u32 = 1;

/// Exit codes of `vm run` besides the guest's own (0, 101 = tests failed, 90 = the guest
/// could not set itself up, 124 = the guest's watchdog stopped the tests).
pub const EXIT_TIMEOUT: i32 = 124;
pub const EXIT_NO_RESULT: i32 = 125;

#[derive(Subcommand)]
pub enum VmTask {
    /// Build the guest image (kernel, initramfs, root disk) and qemu from Debian packages,
    /// or say where the cached one is.
    Image,
    /// Boot the guest once and run integration test binaries in it as root; exits with the
    /// guest's exit code.
    Run(RunArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// Which containerd line (1.6, 1.7, 2.1) or `all` (each binary runs once per line).
    #[arg(long, default_value = "2.1")]
    containerd: String,
    /// Test name substrings (libtest filters); a test runs if it matches any.
    #[arg(long, num_args = 1..)]
    filter: Vec<String>,
    /// Test binaries (cargo target names: containers, warrend, ...); default: all of
    /// warren-tests.
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    binaries: Vec<String>,
    /// Kill the guest after this many minutes (the whole suite on one line takes about an
    /// hour under TCG).
    #[arg(long, default_value_t = 120)]
    timeout_minutes: u64,
    /// Guest CPUs.
    #[arg(long, default_value_t = 2)]
    cpus: u32,
    /// Guest memory in MiB.
    #[arg(long, default_value_t = 4096)]
    memory_mib: u32,
}

/// When the guest's own watchdog stops the tests: a minute before the host kills qemu
/// (half the time for very short timeouts), so the guest can still report and power off.
fn guest_deadline(timeout: Duration) -> Duration {
    let margin = Duration::from_secs(60).min(timeout / 2);
    timeout - margin
}

/// Run a `vm` task; returns the process exit code.
pub fn main(workspace: &Path, task: VmTask) -> Result<i32> {
    match task {
        VmTask::Image => {
            image::ensure(workspace, true)?;
            Ok(0)
        }
        VmTask::Run(args) => run(workspace, &args).map(|(code, _)| code),
    }
}

/// The tests of `cargo xtask test`'s cgroup v2 lane: everything that touches cgroups
/// (limits, live updates, metrics, OOM, the container's own cgroup namespace, warrend's
/// stats), in one boot.
const LANE: &[(&str, &str)] = &[
    ("containers", "limits_are_in_the_cgroup_and_update_live"),
    (
        "containers",
        "a_memory_hog_is_oom_killed_and_the_status_says_so",
    ),
    (
        "security",
        "the_default_confinement_holds_inside_a_container",
    ),
    ("warrend", "cli_pulls_runs_inspects_stops_and_removes"),
    (
        "run_flags",
        "resources_devices_and_kernel_parameters_are_what_the_container_sees",
    ),
];

/// Run the cgroup v2 lane against containerd `line`: the test counts, and whether it passed.
pub fn lane(workspace: &Path, line: &str) -> Result<(crate::test::Counts, bool)> {
    let mut binaries: Vec<String> = LANE.iter().map(|(b, _)| b.to_string()).collect();
    binaries.dedup();
    let args = RunArgs {
        containerd: line.to_string(),
        filter: LANE.iter().map(|(_, t)| t.to_string()).collect(),
        binaries,
        timeout_minutes: 30,
        cpus: 2,
        memory_mib: 4096,
    };
    let (code, console) = run(workspace, &args)?;
    let mut counts = crate::test::Counts::default();
    for l in std::fs::read_to_string(console).unwrap_or_default().lines() {
        // The console stamps each guest line with its uptime: `[  55.78] test result: ...`.
        let l = match l.strip_prefix('[').and_then(|rest| rest.split_once("] ")) {
            Some((_, line)) => line,
            None => l,
        };
        counts.add_line(l);
    }
    Ok((counts, code == 0))
}

fn run(workspace: &Path, args: &RunArgs) -> Result<(i32, std::path::PathBuf)> {
    let lines = Pins::load(workspace)?.select(&args.containerd)?;
    let deps = crate::deps::fetch(workspace, &lines)?;
    let image = image::ensure(workspace, false)?;
    let (all, programs) = suite::build(workspace)?;
    let binaries = suite::select(&all, &args.binaries)?;

    let dir = image::VmDir::new(workspace);
    let run_dir = job::run_dir(&dir.runs())?;
    let job_img = run_dir.join("job.img");
    let t = Instant::now();
    let timeout = Duration::from_secs(args.timeout_minutes * 60);
    let batch = job::Batch {
        lines: &lines,
        binaries: &binaries,
        filters: &args.filter,
        color: std::io::stdout().is_terminal(),
        deadline_secs: guest_deadline(timeout).as_secs(),
    };
    job::write(&run_dir.join("job"), &job_img, &batch, &deps, &programs)?;
    eprintln!(
        "xtask: job disk with {} test binaries written in {:.1} s",
        binaries.len(),
        t.elapsed().as_secs_f64()
    );
    eprintln!(
        "xtask: booting the cgroup v2 guest ({} CPUs, {} MiB, TCG): {}",
        args.cpus,
        args.memory_mib,
        binaries
            .iter()
            .map(|b| b.name.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let console_log = run_dir.join("console.log");
    let outcome = qemu::boot(
        &image,
        &job_img,
        &qemu::Machine {
            cpus: args.cpus,
            memory_mib: args.memory_mib,
        },
        timeout,
        &console_log,
    )?;
    let rc = job::read_rc(&job_img);
    let _ = std::fs::remove_file(&job_img);

    let c = &outcome.console;
    println!();
    let secs = |d: Option<Duration>| match d {
        Some(d) => format!("{:.1} s", d.as_secs_f64()),
        None => "never".to_string(),
    };
    println!(
        "xtask: vm: guest ready after {}, first test after {}, qemu ran {:.1} s",
        secs(c.ready),
        secs(c.first_test),
        outcome.wall.as_secs_f64()
    );
    if !c.tests.is_empty() {
        println!("xtask: vm: wall time of each test in the guest:");
        for t in &c.tests {
            println!("  {:8.2} s  {:<13} {}", t.seconds, t.result, t.name);
        }
    }
    println!("xtask: vm: console log: {}", console_log.display());
    let code = match (rc, outcome.timed_out) {
        (_, true) => {
            println!(
                "xtask: vm: timed out after {} minutes",
                args.timeout_minutes
            );
            EXIT_TIMEOUT
        }
        (Some(rc), _) => {
            if rc == EXIT_TIMEOUT {
                println!("xtask: vm: the guest's watchdog stopped the tests at the deadline");
            }
            println!("xtask: vm: guest exit code {rc}");
            rc
        }
        (None, _) => {
            println!(
                "xtask: vm: the guest left no exit code (qemu {}; console said {:?})",
                outcome
                    .status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "killed".into()),
                c.exit_code
            );
            EXIT_NO_RESULT
        }
    };
    Ok((code, console_log))
}
