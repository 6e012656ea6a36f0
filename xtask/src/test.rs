//! `cargo xtask test` and `cargo xtask integration`: lints, unit tests, then the integration
//! tests once per containerd line, with a count per line.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::run::status;

/// Passed/failed/ignored counts summed over `cargo test`'s `test result:` lines.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

impl Counts {
    /// Add one `test result: ok. 3 passed; 0 failed; 1 ignored; ...` line, if it is one.
    pub fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let words: Vec<&str> = part.split_whitespace().collect();
            let (Some(n), Some(what)) = (words.iter().rev().nth(1), words.last()) else {
                continue;
            };
            let Ok(n) = n.parse::<u64>() else { continue };
            match *what {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Run `cargo test ARGS`, echoing its output, and count the results.
fn cargo_test(workspace: &Path, args: &[&str], envs: &[(&str, String)]) -> Result<(Counts, bool)> {
    let mut cmd = cargo();
    cmd.current_dir(workspace)
        .arg("test")
        .args(args)
        .stdout(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().context("could not run cargo test")?;
    let stdout = child.stdout.take().context("cargo test stdout")?;
    let mut counts = Counts::default();
    let mut out = std::io::stdout();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        counts.add_line(&line);
        writeln!(out, "{line}")?;
    }
    let ok = child.wait()?.success();
    Ok((counts, ok))
}

fn envs(deps: &Path, line: Option<&str>) -> Vec<(&'static str, String)> {
    let mut v = vec![("WARREN_DEPS_DIR", deps.display().to_string())];
    if let Some(line) = line {
        v.push(("WARREN_CONTAINERD_LINE", line.to_string()));
    }
    v
}

/// Lints: `cargo fmt --check`, clippy with warnings denied, and no module cycles.
pub fn lint(workspace: &Path) -> Result<()> {
    eprintln!("xtask: modules (no dependency cycles between sibling modules)");
    let cycles = crate::modules::run(workspace, &[], false, false)?;
    if cycles > 0 {
        bail!(
            "{cycles} module cycle(s): move what both sides use into a leaf module \
             (`cargo xtask modules --verbose` lists every reference)"
        );
    }
    eprintln!("xtask: cargo fmt --check");
    status(
        cargo()
            .current_dir(workspace)
            .args(["fmt", "--all", "--", "--check"]),
    )?;
    eprintln!("xtask: cargo clippy");
    status(cargo().current_dir(workspace).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The library crates must package (README, metadata, proto files included).
    eprintln!("xtask: cargo package (library crates)");
    status(cargo().current_dir(workspace).args([
        "package",
        "--quiet",
        "--no-verify",
        "--allow-dirty",
        "-p",
        "warren-proto",
        "-p",
        "warren-spec",
        "-p",
        "warren-supervisor",
        "-p",
        "warren-runtime",
        "-p",
        "warren-client",
    ]))
}

/// Unit tests and doctests of every crate but the integration suite.
pub fn unit(workspace: &Path, deps: &Path) -> Result<Counts> {
    let (counts, ok) = cargo_test(
        workspace,
        &["--workspace", "--exclude", "warren-tests", "--no-fail-fast"],
        &envs(deps, None),
    )?;
    if !ok {
        bail!("unit tests failed ({} failed)", counts.failed);
    }
    Ok(counts)
}

/// Build the programs the integration tests run: the warrend tests run target/debug/warrend
/// as a daemon and as its CLI, the shim runs target/debug/warren-logger for every
/// container the tests make, and one test runs warren-runtime's example.
pub fn build_programs(workspace: &Path) -> Result<()> {
    status(cargo().current_dir(workspace).args([
        "build",
        "--quiet",
        "-p",
        "warrend",
        "-p",
        "warren-runtime",
        "--bins",
        "--examples",
    ]))
}

/// The integration suite against one containerd line.
pub fn integration(workspace: &Path, deps: &Path, line: &str) -> Result<(Counts, bool)> {
    eprintln!("xtask: integration tests against containerd {line}");
    build_programs(workspace)?;
    let start = Instant::now();
    let result = cargo_test(
        workspace,
        &["-p", "warren-tests", "--no-fail-fast"],
        &envs(deps, Some(line)),
    );
    eprintln!(
        "xtask: containerd {line} took {:.1} s",
        start.elapsed().as_secs_f64()
    );
    result
}

/// Print one summary line per phase and a closing total; fail if anything failed.
pub fn report(rows: &[(String, Counts, bool)]) -> Result<()> {
    let mut total = Counts::default();
    println!();
    for (name, c, ok) in rows {
        println!(
            "xtask: {name}: {} passed, {} failed, {} ignored{}",
            c.passed,
            c.failed,
            c.ignored,
            if *ok { "" } else { " (cargo test failed)" }
        );
        total.passed += c.passed;
        total.failed += c.failed;
        total.ignored += c.ignored;
    }
    println!("total: {} passed, {} failed", total.passed, total.failed);
    if rows.iter().any(|(_, c, ok)| !ok || c.failed > 0) {
        bail!("tests failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sum_result_lines() {
        let mut c = Counts::default();
        c.add_line("test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        c.add_line(
            "test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
        );
        c.add_line("running 3 tests");
        assert_eq!(
            c,
            Counts {
                passed: 4,
                failed: 2,
                ignored: 1
            }
        );
    }
}
