//! Long, nearly idle integration tests that run beside the others instead of after them:
//! started in the background before the first containerd line, collected after the last, so
//! they add no wall time to `cargo xtask test`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::test::Counts;

/// An ignored test of the integration suite: its test binary (the file under
/// `tests/tests/`) and the test's name.
struct Slow {
    binary: &'static str,
    test: &'static str,
}

/// The slow tests, each run on one containerd line in CI (by hand on the others).
const SLOW: &[Slow] = &[Slow {
    binary: "keepalive",
    test: "an_idle_handle_keeps_its_subscription_and_its_wait_for_six_minutes",
}];

/// The slow tests running in the background.
pub struct Running {
    line: String,
    children: Vec<(&'static str, Child, PathBuf)>,
}

/// Build the integration test binaries and start every slow test against containerd
/// `line`, each writing to a log file under `target/`.
pub fn start(workspace: &Path, deps: &Path, line: &str) -> Result<Running> {
    // The slow tests start before any line's suite has built what they run.
    crate::test::build_programs(workspace)?;
    let binaries = test_binaries(workspace)?;
    let mut children = Vec::new();
    for slow in SLOW {
        let exe = binaries
            .iter()
            .find(|(name, _)| name == slow.binary)
            .map(|(_, p)| p.clone())
            .with_context(|| format!("no test binary `{}` was built", slow.binary))?;
        let log = workspace.join(format!("target/beside-{}-{line}.log", slow.binary));
        let file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        eprintln!(
            "xtask: {} (containerd {line}) runs in the background, log: {}",
            slow.test,
            log.display()
        );
        let child = Command::new(&exe)
            .args(["--ignored", "--exact", slow.test])
            .current_dir(workspace.join("tests"))
            .env("WARREN_DEPS_DIR", deps)
            .env("WARREN_CONTAINERD_LINE", line)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        children.push((slow.test, child, log));
    }
    Ok(Running {
        line: line.to_string(),
        children,
    })
}

impl Running {
    /// Wait for every slow test, echo its output and count its results.
    pub fn finish(self) -> Result<(String, Counts, bool)> {
        let mut counts = Counts::default();
        let mut ok = true;
        for (test, mut child, log) in self.children {
            let status = child
                .wait()
                .with_context(|| format!("waiting for {test}"))?;
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            println!("--- {test} (containerd {}) ---\n{text}", self.line);
            for line in text.lines() {
                counts.add_line(line);
            }
            ok &= status.success();
        }
        Ok((format!("slow tests, containerd {}", self.line), counts, ok))
    }
}

/// The integration suite's test executables by target name, built now.
fn test_binaries(workspace: &Path) -> Result<Vec<(String, PathBuf)>> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(workspace)
        .args([
            "test",
            "-p",
            "warren-tests",
            "--no-run",
            "--message-format=json",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("could not run cargo test --no-run")?;
    if !out.status.success() {
        bail!("building the integration tests failed");
    }
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(exe), Some(name)) = (msg["executable"].as_str(), msg["target"]["name"].as_str())
        else {
            continue;
        };
        if msg["profile"]["test"] == true {
            found.push((name.to_string(), PathBuf::from(exe)));
        }
    }
    Ok(found)
}
