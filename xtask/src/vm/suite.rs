//! The host-built integration test binaries (from `cargo test -p warren-tests --no-run
//! --message-format=json`) and the `warrend` binary the end-to-end tests run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// One test executable of the integration suite.
#[derive(Debug, Clone, PartialEq)]
pub struct TestBinary {
    /// The cargo target name (`containers`, `warrend`, `warren_tests` for the lib's tests).
    pub name: String,
    pub path: PathBuf,
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The programs the tests run beside themselves: the daemon, the shim's log writer and
/// warren-runtime's example (`example.rs` runs it).
const PROGRAMS: &[&str] = &["warrend", "warren-logger", "examples/run"];

/// Build (if needed) and list the suite's test executables, and build the programs the
/// tests run (`warrend`, `warren-logger`); returns the test binaries and those programs.
pub fn build(workspace: &Path) -> Result<(Vec<TestBinary>, Vec<PathBuf>)> {
    eprintln!("xtask: cargo test -p warren-tests --no-run");
    let out = cargo()
        .current_dir(workspace)
        .args([
            "test",
            "-p",
            "warren-tests",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("could not run cargo test --no-run")?;
    if !out.status.success() {
        bail!("building the integration tests failed ({})", out.status);
    }
    let binaries = parse_artifacts(&String::from_utf8_lossy(&out.stdout));
    if binaries.is_empty() {
        bail!("cargo test -p warren-tests --no-run listed no test executables");
    }
    crate::test::build_programs(workspace)?;
    // target/<profile>/deps/<test> -> target/<profile>/<program>, where the tests look too.
    let profile = binaries[0]
        .path
        .parent()
        .and_then(Path::parent)
        .context("test executables live in target/<profile>/deps")?;
    let mut programs = Vec::new();
    for name in PROGRAMS {
        let path = profile.join(name);
        if !path.is_file() {
            bail!("{} is missing after cargo build", path.display());
        }
        programs.push(path);
    }
    Ok((binaries, programs))
}

/// Keep the binaries named in `wanted` (all when empty); unknown names are an error.
pub fn select(all: &[TestBinary], wanted: &[String]) -> Result<Vec<TestBinary>> {
    if wanted.is_empty() {
        return Ok(all.to_vec());
    }
    let mut chosen = Vec::new();
    for w in wanted {
        match all.iter().find(|b| &b.name == w) {
            Some(b) => chosen.push(b.clone()),
            None => bail!(
                "no test binary `{w}` in warren-tests; there are: {}",
                all.iter()
                    .map(|b| b.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    Ok(chosen)
}

/// Test executables in cargo's JSON messages: `compiler-artifact` lines whose profile is a
/// test one and that have an executable.
pub fn parse_artifacts(json_lines: &str) -> Vec<TestBinary> {
    let mut out: Vec<TestBinary> = Vec::new();
    for line in json_lines.lines() {
        if !line.contains("\"reason\":\"compiler-artifact\"") {
            continue;
        }
        let Some(profile) = line.find("\"profile\":{") else {
            continue;
        };
        let profile_end = line[profile..]
            .find('}')
            .map_or(line.len(), |i| profile + i);
        if !line[profile..profile_end].contains("\"test\":true") {
            continue;
        }
        let Some(target) = line.find("\"target\":{") else {
            continue;
        };
        let (Some(name), Some(exe)) = (
            string_field(&line[target..], "name"),
            string_field(line, "executable"),
        ) else {
            continue;
        };
        if !out.iter().any(|b| b.name == name) {
            out.push(TestBinary {
                name,
                path: PathBuf::from(exe),
            });
        }
    }
    out
}

/// The first `"key":"value"` in `text`, unescaped (enough of JSON for names and paths).
fn string_field(text: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":\"");
    let start = text.find(&pat)? + pat.len();
    let mut value = String::new();
    let mut chars = text[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_artifacts_only() {
        let json = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/tests#warren-tests@0.1.0","manifest_path":"/w/tests/Cargo.toml","target":{"kind":["test"],"crate_types":["bin"],"name":"containers","src_path":"/w/tests/tests/containers.rs","edition":"2021","doc":false,"doctest":false,"test":true},"profile":{"opt_level":"0","debuginfo":2,"debug_assertions":true,"overflow_checks":true,"test":true},"features":[],"filenames":["/w/target/debug/deps/containers-ab"],"executable":"/w/target/debug/deps/containers-ab","fresh":true}
{"reason":"compiler-artifact","package_id":"x","manifest_path":"/w/tests/Cargo.toml","target":{"kind":["bin"],"crate_types":["bin"],"name":"warren-build-images","src_path":"/w/b.rs","test":true},"profile":{"opt_level":"0","test":false},"features":[],"filenames":["/w/target/debug/warren-build-images"],"executable":"/w/target/debug/warren-build-images","fresh":true}
{"reason":"compiler-artifact","package_id":"y","target":{"kind":["lib"],"name":"serde","test":true},"profile":{"test":false},"executable":null}
{"reason":"build-finished","success":true}"#;
        let b = parse_artifacts(json);
        assert_eq!(
            b,
            [TestBinary {
                name: "containers".into(),
                path: "/w/target/debug/deps/containers-ab".into()
            }]
        );
        assert!(select(&b, &["nope".into()]).is_err());
        assert_eq!(select(&b, &[]).unwrap().len(), 1);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            string_field(r#"{"a":"x\"y\\z"}"#, "a").as_deref(),
            Some("x\"y\\z")
        );
    }
}
