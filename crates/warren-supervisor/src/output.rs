//! The daemon's output: forwarded line by line to `tracing` (at the level containerd gave
//! the line), appended to a log file if asked, and the last lines kept for start-up errors.
//!
//! The log file of a managed daemon is rotated: once it holds [`LOG_MAX_BYTES`] it becomes
//! `<file>.1` (the one before becomes `<file>.2`, older ones go), so a chatty or failing
//! daemon never fills the disk. Lines that cannot be written (a full disk) are dropped;
//! the daemon is never held up by its log.

use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use crate::Error;

/// How many of the daemon's last lines are kept.
const TAIL_LINES: usize = 40;

/// A managed daemon's log file is rotated once it holds this much.
pub(crate) const LOG_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// Rotated files kept besides the current one (`.1`, `.2`).
const LOG_ROTATED: usize = 2;

/// The last lines the daemon printed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    fn push(&self, line: String) {
        if let Ok(mut t) = self.0.lock() {
            if t.len() == TAIL_LINES {
                t.pop_front();
            }
            t.push_back(line);
        }
    }

    /// Forget what an earlier daemon printed.
    pub(crate) fn clear(&self) {
        if let Ok(mut t) = self.0.lock() {
            t.clear();
        }
    }

    /// The kept lines, oldest first.
    pub(crate) fn text(&self) -> String {
        self.0
            .lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// Fill from the end of a log file (for a detached daemon, whose output goes there).
    pub(crate) fn load_file(&self, path: &Path) {
        if let Ok(text) = std::fs::read_to_string(path) {
            self.clear();
            let lines: Vec<&str> = text.lines().collect();
            for l in &lines[lines.len().saturating_sub(TAIL_LINES)..] {
                self.push(l.to_string());
            }
        }
    }
}

/// Open (create) a log file for appending, mode 0600.
pub(crate) fn open_log(path: &Path) -> Result<File, Error> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("opening daemon log", path, e))
}

/// containerd's level for one of its lines (`level=warning` in its logfmt output). Lines
/// without one come from its command line front end, which prints only fatal errors.
fn level(line: &str) -> tracing::Level {
    let Some(rest) = line.split_once(" level=").map(|(_, r)| r) else {
        return if line.starts_with("containerd: ") {
            tracing::Level::ERROR
        } else {
            tracing::Level::INFO
        };
    };
    match rest.split(' ').next().unwrap_or_default() {
        "trace" => tracing::Level::TRACE,
        "debug" => tracing::Level::DEBUG,
        "info" => tracing::Level::INFO,
        "warning" | "warn" => tracing::Level::WARN,
        _ => tracing::Level::ERROR,
    }
}

fn emit(stream: &'static str, line: &str) {
    match level(line) {
        tracing::Level::TRACE => tracing::trace!(target: "containerd", stream, "{line}"),
        tracing::Level::DEBUG => tracing::debug!(target: "containerd", stream, "{line}"),
        tracing::Level::INFO => tracing::info!(target: "containerd", stream, "{line}"),
        tracing::Level::WARN => tracing::warn!(target: "containerd", stream, "{line}"),
        tracing::Level::ERROR => tracing::error!(target: "containerd", stream, "{line}"),
    }
}

/// The log file both output pipes of one daemon append to, rotated past a size.
pub(crate) struct RotatingLog {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    max: u64,
}

impl RotatingLog {
    /// The log at `path` (opened at the first line), rotated once it holds `max` bytes.
    pub(crate) fn new(path: PathBuf, max: u64) -> RotatingLog {
        RotatingLog {
            path,
            file: None,
            size: 0,
            max,
        }
    }

    /// Append one line; a line that cannot be written is dropped. Blocking (small writes
    /// to a local file).
    fn write_line(&mut self, line: &str) {
        use std::io::Write;
        if self.size >= self.max {
            self.rotate();
        }
        if self.file.is_none() {
            match open_log(&self.path) {
                Ok(f) => {
                    self.size = f.metadata().map_or(0, |m| m.len());
                    self.file = Some(f);
                }
                Err(_) => return,
            }
        }
        if let Some(f) = self.file.as_mut() {
            if f.write_all(format!("{line}\n").as_bytes()).is_ok() {
                self.size += line.len() as u64 + 1;
            }
        }
    }

    /// `<file>` → `<file>.1` → `<file>.2`, the oldest dropped; the next line opens a new
    /// file.
    fn rotate(&mut self) {
        let numbered = |n: usize| PathBuf::from(format!("{}.{n}", self.path.display()));
        for n in (1..LOG_ROTATED).rev() {
            let _ = std::fs::rename(numbered(n), numbered(n + 1));
        }
        let _ = std::fs::rename(&self.path, numbered(1));
        self.file = None;
        self.size = 0;
    }
}

/// Forward one of the child's output pipes until EOF (must be called inside a runtime),
/// appending its lines to `log` if given.
pub(crate) fn forward_std(
    pipe: impl Into<OwnedFd>,
    stream: &'static str,
    tail: Tail,
    log: Option<Arc<Mutex<RotatingLog>>>,
) {
    match tokio::net::unix::pipe::Receiver::from_owned_fd(pipe.into()) {
        Ok(reader) => forward(reader, stream, tail, log),
        Err(e) => tracing::warn!(stream, error = %e, "cannot read containerd's output"),
    }
}

fn forward<R>(reader: R, stream: &'static str, tail: Tail, log: Option<Arc<Mutex<RotatingLog>>>)
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            emit(stream, &line);
            if let Some(log) = &log {
                // A line's write to a local file: short enough not to need the blocking pool.
                if let Ok(mut log) = log.lock() {
                    log.write_line(&line);
                }
            }
            tail.push(line);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_containerd() {
        let l = |s| level(s);
        assert_eq!(
            l(r#"time="x" level=warning msg="failed to load plugin""#),
            tracing::Level::WARN
        );
        assert_eq!(
            l(r#"time="x" level=info msg="serving...""#),
            tracing::Level::INFO
        );
        assert_eq!(
            l(r#"time="x" level=fatal msg="bad""#),
            tracing::Level::ERROR
        );
        assert_eq!(
            l("containerd: failed to unmarshal TOML: (6, 1): Can't convert"),
            tracing::Level::ERROR
        );
    }

    #[test]
    fn the_log_is_rotated_past_its_size_keeping_two_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("containerd.log");
        let mut log = RotatingLog::new(path.clone(), 100);
        for i in 0..100 {
            log.write_line(&format!("line {i:04}"));
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["containerd.log", "containerd.log.1", "containerd.log.2"]
        );
        for n in &names {
            assert!(std::fs::metadata(dir.path().join(n)).unwrap().len() <= 110);
        }
        let last = std::fs::read_to_string(&path).unwrap();
        assert!(last.ends_with("line 0099\n"), "{last}");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let t = Tail::default();
        for i in 0..100 {
            t.push(i.to_string());
        }
        let text = t.text();
        assert!(text.starts_with("60\n") && text.ends_with("\n99"), "{text}");
        t.clear();
        assert!(t.text().is_empty());
    }
}
