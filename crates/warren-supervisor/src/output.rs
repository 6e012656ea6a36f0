//! The daemon's output: forwarded line by line to `tracing` (at the level containerd gave
//! the line), appended to a log file if asked, and the last lines kept for start-up errors.

use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};

use crate::Error;

/// How many of the daemon's last lines are kept.
const TAIL_LINES: usize = 40;

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
    pub fn clear(&self) {
        if let Ok(mut t) = self.0.lock() {
            t.clear();
        }
    }

    /// The kept lines, oldest first.
    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// Fill from the end of a log file (for a detached daemon, whose output goes there).
    pub fn load_file(&self, path: &Path) {
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

/// Forward one of the child's output pipes until EOF (must be called inside a runtime).
pub(crate) fn forward_std(
    pipe: impl Into<OwnedFd>,
    stream: &'static str,
    tail: Tail,
    log_file: Option<PathBuf>,
) {
    match tokio::net::unix::pipe::Receiver::from_owned_fd(pipe.into()) {
        Ok(reader) => forward(reader, stream, tail, log_file),
        Err(e) => tracing::warn!(stream, error = %e, "cannot read containerd's output"),
    }
}

fn forward<R>(reader: R, stream: &'static str, tail: Tail, log_file: Option<PathBuf>)
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut file = match log_file.as_deref().map(open_log) {
            Some(Ok(f)) => Some(tokio::fs::File::from_std(f)),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "containerd's output goes to tracing only");
                None
            }
            None => None,
        };
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            emit(stream, &line);
            if let Some(f) = file.as_mut() {
                let _ = f.write_all(format!("{line}\n").as_bytes()).await;
            }
            tail.push(line);
        }
        if let Some(f) = file.as_mut() {
            let _ = f.flush().await;
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
