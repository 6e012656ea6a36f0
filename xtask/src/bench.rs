//! `cargo xtask bench <what>`: benchmarks that compare us with containerd's own tools, run
//! side by side on the same machine in one run.
//!
//! Every bench of the tests crate ends with one `summary:` line per figure (the format is in
//! `warren_tests::bench_summary`); `cargo xtask bench all` runs the main ones one after the
//! other and prints all their summary lines again at the end.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::run::status;

/// What `cargo xtask bench` knows how to measure (and `all`, see [`ALL`]).
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

/// What `cargo xtask bench all` runs, in this order, one at a time.
pub const ALL: &[&str] = &[
    "warrend",
    "lifecycle",
    "pull",
    "keystroke",
    "scale",
    "health",
];

/// What the benches' summary lines start with.
const SUMMARY: &str = "summary:";

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

/// Run bench `what` (or every bench of [`ALL`] for `all`) against each containerd line in
/// `lines`, `runs` times (each bench's own default if `None`).
pub fn run(
    workspace: &Path,
    deps: &Path,
    what: &str,
    lines: &[String],
    runs: Option<u32>,
) -> Result<()> {
    if what != "all" {
        let runs = runs.unwrap_or_else(|| default_runs(what));
        return one(workspace, deps, what, lines, runs, &mut Vec::new());
    }
    let mut summaries = Vec::new();
    let mut failed = Vec::new();
    for bench in ALL {
        let runs = runs.unwrap_or_else(|| default_runs(bench));
        eprintln!("xtask: bench all: {bench} (runs {runs})");
        // A failing bench does not stop the others; the whole fails at the end.
        if let Err(e) = one(workspace, deps, bench, lines, runs, &mut summaries) {
            eprintln!("xtask: bench {bench} failed: {e:#}");
            failed.push(*bench);
        }
    }
    println!();
    println!("xtask: bench all: every summary line");
    for line in &summaries {
        println!("{line}");
    }
    let missed = summaries.iter().filter(|l| l.ends_with(" MISSED")).count();
    let goals = missed + summaries.iter().filter(|l| l.ends_with(" ok")).count();
    println!(
        "xtask: bench all: {} of {goals} goals met{}",
        goals - missed,
        if failed.is_empty() {
            String::new()
        } else {
            format!("; failed: {}", failed.join(", "))
        }
    );
    if !failed.is_empty() {
        bail!("bench failed: {}", failed.join(", "));
    }
    Ok(())
}

/// The release `warrend`, built now: the daemon as shipped, RSS and all.
fn build_warrend(workspace: &Path, cargo: &str) -> Result<PathBuf> {
    status(Command::new(cargo).current_dir(workspace).args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "warrend",
    ]))?;
    Ok(target_dir(workspace).join("release").join("warrend"))
}

fn target_dir(workspace: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}

/// Run one bench against each line; the `summary:` lines it prints are added to
/// `summaries`.
fn one(
    workspace: &Path,
    deps: &Path,
    what: &str,
    lines: &[String],
    runs: u32,
    summaries: &mut Vec<String>,
) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let example = |line: &str| {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(workspace)
            .args(["run", "--quiet", "--release", "-p", "warren-tests"])
            .args(["--example", &format!("{what}_bench"), "--"])
            .arg(runs.to_string())
            .env("WARREN_DEPS_DIR", deps)
            .env("WARREN_CONTAINERD_LINE", line);
        cmd
    };
    match what {
        "supervisor" => {
            for line in lines {
                eprintln!("xtask: bench supervisor against containerd {line}");
                let bin_dir = deps.join(format!("containerd-{line}")).join("bin");
                capture(
                    Command::new(&cargo)
                        .current_dir(workspace)
                        .args(["run", "--quiet", "--release", "-p", "warren-supervisor"])
                        .args(["--example", "restart_bench", "--"])
                        .arg(&bin_dir)
                        .arg(runs.to_string())
                        .env("WARREN_DEPS_DIR", deps)
                        .env("WARREN_CONTAINERD_LINE", line),
                    summaries,
                )?;
            }
            Ok(())
        }
        "pull" | "lifecycle" | "network" => {
            if what == "lifecycle" {
                // Containers log through the shim's logger, as by default where it is
                // installed: the example finds it in target/release.
                status(Command::new(&cargo).current_dir(workspace).args([
                    "build",
                    "--quiet",
                    "--release",
                    "-p",
                    "warren-runtime",
                    "--bins",
                ]))?;
            }
            for line in lines {
                eprintln!("xtask: bench {what} against containerd {line}");
                capture(&mut example(line), summaries)?;
            }
            Ok(())
        }
        "warrend" | "keystroke" | "scale" | "health" => {
            // For `scale`, `runs` is the number of containers; for `keystroke`, the
            // keystrokes per session.
            let warrend = build_warrend(workspace, &cargo)?;
            for line in lines {
                eprintln!("xtask: bench {what} against containerd {line}");
                capture(example(line).env("WARREN_WARREND_BIN", &warrend), summaries)?;
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
            "no bench named `{other}`: choose one of {} or all",
            BENCHES.join(", ")
        ),
    }
}

/// Run `cmd` with its stdout echoed line by line as it comes (stderr inherited), keeping
/// the lines that start with `summary:`; fail unless it exits 0.
fn capture(cmd: &mut Command, summaries: &mut Vec<String>) -> Result<()> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not run {what}"))?;
    let stdout = child.stdout.take().context("the child's stdout")?;
    let mut out = std::io::stdout();
    for line in BufReader::new(stdout).split(b'\n') {
        let line = line.with_context(|| format!("reading the output of {what}"))?;
        let line = String::from_utf8_lossy(&line).into_owned();
        writeln!(out, "{line}")?;
        out.flush()?;
        if line.starts_with(SUMMARY) {
            summaries.push(line);
        }
    }
    let st = child
        .wait()
        .with_context(|| format!("waiting for {what}"))?;
    if !st.success() {
        bail!("{what} failed ({st})");
    }
    Ok(())
}
