//! The job disk: a second ext4 image (`/dev/vdb`, mounted at `/job` in the guest) holding
//! the test binaries, `warrend`, the pinned deps and `run.sh`, the batch to run. The guest
//! writes its exit code to `/job/rc`; the host reads it back with `debugfs`.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use super::image::{make_ext4, tree_size};
use super::suite::TestBinary;
use crate::run::output;

/// Room left on the job disk for what the guest writes.
const JOB_HEADROOM: u64 = 128 << 20;

/// Where the binaries are inside the guest: the host's `target/` layout under /job, so the
/// tests' own fallbacks would find them too (`guest/batch.sh` sets the same paths).
pub const GUEST_PROFILE: &str = "/job/target/debug";

/// What one boot runs.
pub struct Batch<'a> {
    pub lines: &'a [String],
    pub binaries: &'a [TestBinary],
    pub filters: &'a [String],
    pub color: bool,
    /// Guest uptime at which the guest's watchdog stops the tests.
    pub deadline_secs: u64,
}

/// Quote for sh: `'...'` with embedded quotes closed and escaped.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string()
}

/// The functions of `run.sh` (guest side).
const BATCH: &str = include_str!("guest/batch.sh");

/// `run.sh`: every binary against every line, one after the other, `--test-threads=1`;
/// `--show-output` so a test that passes by skipping says so. At `deadline_secs` of guest
/// uptime a watchdog shows what still runs and kills the test binary, so that a hang is
/// reported by the guest rather than cut short by the host.
pub fn run_script(batch: &Batch) -> String {
    let mut s = format!(
        "#!/bin/sh\n\
         # Written by `cargo xtask vm run`: the batch of test binaries of one boot.\n\
         deadline={}\n",
        batch.deadline_secs
    );
    s.push_str(BATCH);
    let color = if batch.color { "always" } else { "never" };
    for line in batch.lines {
        for b in batch.binaries {
            s.push_str(&format!(
                "run_binary {} {} {}/deps/{} --test-threads=1 --show-output --color {color}",
                sh_quote(line),
                sh_quote(&b.name),
                GUEST_PROFILE,
                sh_quote(&file_name(&b.path)),
            ));
            for f in batch.filters {
                s.push(' ');
                s.push_str(&sh_quote(f));
            }
            s.push('\n');
        }
    }
    s.push_str("finish_batch\n");
    s
}

/// Hard-link (or copy, across filesystems) `from` into `to`, recursively.
fn link_tree(from: &Path, to: &Path) -> Result<()> {
    let meta = from
        .symlink_metadata()
        .with_context(|| format!("reading {}", from.display()))?;
    if meta.is_dir() {
        std::fs::create_dir_all(to)?;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            link_tree(&e.path(), &to.join(e.file_name()))?;
        }
    } else if meta.file_type().is_symlink() {
        symlink(std::fs::read_link(from)?, to)?;
    } else if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(())
}

/// Stage the job in `stage` and write it to `image`.
pub fn write(
    stage: &Path,
    image: &Path,
    batch: &Batch,
    deps: &Path,
    programs: &[PathBuf],
) -> Result<()> {
    if stage.exists() {
        std::fs::remove_dir_all(stage)?;
    }
    let profile = stage.join("target/debug");
    std::fs::create_dir_all(profile.join("deps"))?;
    for b in batch.binaries {
        link_tree(&b.path, &profile.join("deps").join(file_name(&b.path)))?;
    }
    for program in programs {
        // target/<profile>/<name>, or target/<profile>/examples/<name> for an example.
        let in_examples = program.parent().and_then(Path::file_name) == Some("examples".as_ref());
        let dir = if in_examples {
            profile.join("examples")
        } else {
            profile.clone()
        };
        std::fs::create_dir_all(&dir)?;
        link_tree(program, &dir.join(file_name(program)))?;
    }
    let guest_deps = stage.join("target/warren-deps");
    let mut folders = vec!["tools".to_string(), "cni".to_string()];
    folders.extend(batch.lines.iter().map(|l| format!("containerd-{l}")));
    for f in folders {
        link_tree(&deps.join(&f), &guest_deps.join(&f))?;
    }
    let script = stage.join("run.sh");
    std::fs::write(&script, run_script(batch))?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    let size = tree_size(stage)? + JOB_HEADROOM;
    make_ext4(stage, image, size, "warren-job")?;
    std::fs::remove_dir_all(stage)?;
    Ok(())
}

/// The exit code the guest wrote to `/rc` on the job disk, if it got that far.
pub fn read_rc(image: &Path) -> Option<i32> {
    let text = output(Command::new("debugfs").args(["-R", "cat /rc"]).arg(image)).ok()?;
    text.trim().parse().ok()
}

/// A folder for one run's files (`runs/<seconds since the epoch>`).
pub fn run_dir(runs: &Path) -> Result<PathBuf> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dir = runs.join(format!("{secs}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn script_runs_each_binary_per_line_with_filters() {
        let bins = [TestBinary {
            name: "containers".into(),
            path: "/t/debug/deps/containers-12".into(),
        }];
        let lines = ["2.1".to_string()];
        let filters = ["oom".to_string(), "limits".to_string()];
        let s = run_script(&Batch {
            lines: &lines,
            binaries: &bins,
            filters: &filters,
            color: false,
            deadline_secs: 600,
        });
        assert!(s.contains(
            "run_binary '2.1' 'containers' /job/target/debug/deps/'containers-12' \
             --test-threads=1 --show-output --color never 'oom' 'limits'\n"
        ));
        assert!(s.contains("export WARREN_DEPS_DIR=/job/target/warren-deps\n"));
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains("\ndeadline=600\n"));
        assert!(s.ends_with("finish_batch\n"));
    }
}
